"""lrlib.schedules against torch.optim.lr_scheduler, properties and bad input."""

from __future__ import annotations

import math
import pickle
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from schedule_cases import CASES, MOMENTUM_IDS, torch_rates
from torch.optim import lr_scheduler as L

from lrlib import schedules as S

CASE_IDS = [c[0] for c in CASES]
BY_ID = {c[0]: c for c in CASES}


def test_every_family_has_six_torch_cases():
    prefixes = ["constant", "step", "multi", "exp", "inv", "poly", "linear", "cos-", "sgdr",
                "cyc", "1cyc", "warmup", "join"]
    counts = {p: sum(c[0].startswith(p) for c in CASES) for p in prefixes}
    counts["warmup+join"] = counts.pop("warmup") + counts.pop("join")
    assert min(counts.values()) >= 6, counts
    assert min(c[4] for c in CASES) >= 300


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_matches_torch_step_for_step(case_id):
    _, sched, factory, lr, n = BY_ID[case_id]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reference loop itself must be warning-free
        expected, _ = torch_rates(factory, lr, n)
    got = sched(np.arange(n))
    # rtol is the bar; atol (1e-12 of the base rate) only matters where torch's
    # recursive updates leave ~1e-17 where the exact value is 0 (cosine minima).
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12 * lr)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("case_id", MOMENTUM_IDS)
def test_momentum_cycle_matches_torch(case_id, optimizer):
    _, sched, factory, lr, n = BY_ID[case_id]
    _, expected = torch_rates(factory, lr, n, optimizer=optimizer)
    np.testing.assert_allclose(sched.momentum(np.arange(n)), expected, rtol=1e-12)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_scalar_calls_agree_with_array_calls(case_id):
    sched = BY_ID[case_id][1]
    steps = np.array([0, 1, 2, 5, 49, 50, 51, 99, 100, 121, 299, 300, 399, 10_000])
    values = sched(steps)
    assert isinstance(values, np.ndarray) and values.dtype == np.float64
    assert values.shape == steps.shape
    for t, v in zip(steps, values, strict=True):
        scalar = sched(int(t))
        assert type(scalar) is float
        assert scalar == v
    # a 2-D array keeps its shape; numpy integer scalars are scalars
    assert sched(steps.reshape(2, 7)).shape == (2, 7)
    assert type(sched(np.int32(3))) is float


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_negative_steps_use_step_zero(case_id):
    sched = BY_ID[case_id][1]
    assert sched(-1) == sched(0)
    np.testing.assert_array_equal(sched(np.array([-100, -1, 0])), sched(0))


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_pickle_and_repr_round_trip(case_id):
    sched = BY_ID[case_id][1]
    again = pickle.loads(pickle.dumps(sched))
    assert again == sched
    np.testing.assert_array_equal(again(np.arange(50)), sched(np.arange(50)))
    rebuilt = eval(repr(sched), {**vars(S)})  # the repr is a valid constructor call
    assert rebuilt == sched


# --- behaviour past the nominal end and documented choices ----------------------------


def test_cosine_past_t_max_is_periodic_or_clamped():
    periodic = S.cosine(lr=1.0, T_max=10, eta_min=0.1)
    k = np.arange(11)
    np.testing.assert_allclose(periodic(10 + k), periodic(10 - k), rtol=1e-14)
    assert periodic(20) == pytest.approx(1.0)
    clamped = S.cosine(lr=1.0, T_max=10, eta_min=0.1, clamp=True)
    np.testing.assert_array_equal(clamped(np.arange(10, 100)), 0.1)
    np.testing.assert_array_equal(clamped(np.arange(11)), periodic(np.arange(11)))


def test_one_cycle_holds_final_rate_after_total_steps():
    sched = S.one_cycle(max_lr=0.5, total_steps=100)
    assert sched(99) == pytest.approx(sched.min_lr, rel=1e-12)
    np.testing.assert_array_equal(sched(np.arange(99, 500)), sched(99))
    assert sched.initial_lr == 0.5 / 25 and sched.min_lr == 0.5 / 25 / 1e4


def test_one_cycle_peak_and_ends():
    sched = S.one_cycle(max_lr=2.0, total_steps=1000, pct_start=0.25)
    assert sched(249) == 2.0  # pct_start * total_steps - 1
    assert sched(0) == pytest.approx(2.0 / 25, rel=1e-14)  # cos(0)-based: 1 ulp off, as torch
    assert sched.momentum(249) == 0.85 and sched.momentum(0) == 0.95 == sched.momentum(999)


@pytest.mark.parametrize(("T_0", "T_mult", "step", "t_cur", "t_i"), [
    (1, 3, 121, 0, 243), (1, 3, 120, 80, 81), (1, 10, 111, 0, 1000), (2, 3, 242, 0, 486),
    (5, 3, 605, 0, 1215), (10, 1, 35, 5, 10), (3, 2, 0, 0, 3), (3, 2, 9, 0, 12),
])
def test_restart_positions_are_exact(T_0, T_mult, step, t_cur, t_i):
    # the boundaries where torch's step(epoch) logarithm goes wrong
    sched = S.cosine_restarts(lr=1.0, T_0=T_0, T_mult=T_mult)
    assert sched.position(step) == (t_cur, t_i)
    if t_cur == 0:
        assert sched(step) == 1.0


def test_restarts_large_steps_match_a_direct_loop():
    sched = S.cosine_restarts(lr=1.0, T_0=3, T_mult=2)
    steps = np.arange(0, 200_000, 997)
    t_cur, t_i = sched.position(steps)
    for t, c, i in zip(steps, t_cur, t_i, strict=True):
        period, cur = 3, int(t)
        while cur >= period:
            cur -= period
            period *= 2
        assert (c, i) == (cur, period)


def test_warmup_reaches_the_schedule_start_and_hands_over():
    main = S.cosine(lr=0.1, T_max=100)
    for mode, start in [("linear", 0.0), ("exponential", 0.01), ("constant", 0.1)]:
        sched = S.warmup(main, warmup_steps=10, start_factor=start, mode=mode)
        assert sched(0) == pytest.approx(0.1 * start, rel=1e-15)
        np.testing.assert_array_equal(sched(10 + np.arange(100)), main(np.arange(100)))
    expo = S.warmup(main, warmup_steps=4, start_factor=1e-3, mode="exponential")
    ratios = expo(np.arange(1, 5)) / expo(np.arange(0, 4))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)  # geometric ramp


def test_exponential_forms_are_one_family():
    k = 0.05
    np.testing.assert_allclose(S.exponential(1.0, k=k)(np.arange(500)),
                               S.exponential(1.0, gamma=math.exp(-k))(np.arange(500)), rtol=1e-12)
    # half-life: ln 2 / k steps
    assert S.exponential(1.0, k=k)(round(math.log(2) / k * 1000) // 1000) == pytest.approx(
        0.5, rel=k)


def test_keras_forms_by_formula():
    # ExponentialDecay(0.1, decay_steps=100, decay_rate=0.96) and InverseTimeDecay
    t = np.arange(1000)
    np.testing.assert_allclose(S.exponential(0.1, 0.96, decay_steps=100)(t),
                               0.1 * 0.96 ** (t / 100), rtol=1e-15)
    np.testing.assert_allclose(S.exponential(0.1, 0.96, decay_steps=100, staircase=True)(t),
                               0.1 * 0.96 ** (t // 100), rtol=1e-15)
    np.testing.assert_allclose(S.inverse_time(0.1, 0.5, decay_steps=100, staircase=True)(t),
                               0.1 / (1 + 0.5 * (t // 100)), rtol=1e-15)


def test_documented_torch_quirk_constantlr_total_iters_zero():
    # lrlib.constant documents that torch's recursive ConstantLR keeps factor*lr forever
    # when total_iters=0, while lrlib (and torch's closed form) gives lr.
    expected, _ = torch_rates(lambda o: L.ConstantLR(o, 0.5, 0), 1.0, 5)
    np.testing.assert_array_equal(expected, 0.5)
    np.testing.assert_array_equal(S.constant(1.0, 0.5, 0)(np.arange(5)), 1.0)


def test_join_and_sequentiallr_jump_at_the_milestone():
    sched = S.warmup(S.cosine(lr=1.0, T_max=10), warmup_steps=5, start_factor=0.2)
    assert sched(4) == pytest.approx(0.84) and sched(5) == 1.0


# --- properties -----------------------------------------------------------------------

rates = st.floats(min_value=0.0, max_value=10.0)
factors = st.floats(min_value=1e-6, max_value=1.0)
sizes = st.integers(min_value=1, max_value=5000)
steps_st = st.lists(st.integers(min_value=-10, max_value=10**7), min_size=1, max_size=50)


@st.composite
def any_schedule(draw):
    kind = draw(st.sampled_from(["constant", "step", "multistep", "exponential", "expk",
                                 "inverse_time", "polynomial", "linear", "cosine",
                                 "cosine_restarts", "cyclic", "one_cycle"]))
    lr = draw(rates)
    if kind == "constant":
        return S.constant(lr, draw(st.floats(0.0, 10.0)), draw(st.integers(0, 1000)))
    if kind == "step":
        return S.step(lr, draw(sizes), draw(factors))
    if kind == "multistep":
        ms = sorted(set(draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=10))))
        return S.multistep(lr, ms, draw(factors))
    if kind == "exponential":
        return S.exponential(lr, draw(factors), decay_steps=draw(sizes),
                             staircase=draw(st.booleans()))
    if kind == "expk":
        return S.exponential(lr, k=draw(st.floats(0.0, 50.0)))
    if kind == "inverse_time":
        return S.inverse_time(lr, draw(st.floats(0.0, 1e6)), draw(sizes), draw(st.booleans()))
    if kind == "polynomial":
        return S.polynomial(lr, draw(sizes), draw(st.floats(1e-3, 10.0)))
    if kind == "linear":
        return S.linear(lr, draw(st.floats(0.0, 10.0)), draw(st.floats(0.0, 10.0)), draw(sizes))
    if kind == "cosine":
        return S.cosine(lr, draw(sizes), draw(rates), draw(st.booleans()))
    if kind == "cosine_restarts":
        return S.cosine_restarts(lr, draw(sizes), draw(st.integers(1, 5)), draw(rates))
    if kind == "cyclic":
        base = draw(rates)
        return S.cyclic(base, base + draw(rates), draw(sizes), draw(st.integers(0, 5000)),
                        draw(st.sampled_from(["triangular", "triangular2", "exp_range"])),
                        draw(factors))
    total = draw(st.integers(10, 100_000))
    pct = draw(st.floats(0.2, 0.45))
    return S.one_cycle(lr, total, pct, draw(st.sampled_from(["cos", "linear"])),
                       draw(st.floats(1.0, 1e3)), draw(st.floats(1.0, 1e5)),
                       draw(st.booleans()))


@settings(max_examples=400, deadline=None)
@given(any_schedule(), steps_st)
def test_valid_schedules_give_finite_nonnegative_rates(sched, steps):
    values = sched(np.array(steps))
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    again = sched(np.array(steps))
    np.testing.assert_array_equal(values, again)  # pure


@settings(max_examples=200, deadline=None)
@given(any_schedule(), any_schedule(), st.integers(1, 1000), steps_st)
def test_composition_stays_finite_and_nonnegative(a, b, boundary, steps):
    for sched in (S.join([a, b], [boundary]), S.warmup(b, boundary, 0.0),
                  S.warmup(a, boundary, 0.5, "exponential")):
        values = sched(np.array(steps))
        assert np.all(np.isfinite(values)) and np.all(values >= 0)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["step", "multistep", "exponential", "inverse_time", "polynomial",
                        "cosine-clamped"]), rates, st.integers(1, 500))
def test_decays_never_increase(kind, lr, size):
    sched = {"step": S.step(lr, size, 0.5), "multistep": S.multistep(lr, [size, 2 * size]),
             "exponential": S.exponential(lr, 0.9), "inverse_time": S.inverse_time(lr, 0.1),
             "polynomial": S.polynomial(lr, size, 2.0),
             "cosine-clamped": S.cosine(lr, size, clamp=True)}[kind]
    values = sched(np.arange(3 * size + 10))
    assert np.all(np.diff(values) <= 1e-15 * max(lr, 1e-300))


# --- bad input --------------------------------------------------------------------------

NAN = float("nan")
BAD = [
    (lambda: S.constant(lr=-0.1), "constant: lr must be a finite number >= 0, got lr=-0.1"),
    (lambda: S.constant(lr=NAN), "constant: lr must be a finite number >= 0, got lr=nan"),
    (lambda: S.constant(lr=True), "constant: lr must be a finite number >= 0, got lr=True"),
    (lambda: S.constant(lr="0.1"), "constant: lr must be a finite number >= 0, got lr='0.1'"),
    (lambda: S.constant(0.1, factor=-1.0), "constant: factor must be a finite number >= 0"),
    (lambda: S.constant(0.1, total_iters=-1), "constant: total_iters must be a non-negative int"),
    (lambda: S.step(0.1, step_size=0), "step: step_size must be a positive int, got step_size=0"),
    (lambda: S.step(0.1, step_size=2.0), "step: step_size must be a positive int, got "
                                         "step_size=2.0"),
    (lambda: S.step(0.1, 10, gamma=1.5), r"step: gamma must be a finite number in \(0, 1\], "
                                         "got gamma=1.5"),
    (lambda: S.step(0.1, 10, gamma=0.0), r"step: gamma must be a finite number in \(0, 1\]"),
    (lambda: S.step(0.1, 10, gamma=NAN), r"step: gamma must be .* got gamma=nan"),
    (lambda: S.multistep(0.1, [30, 10]), r"multistep: milestones must be a strictly increasing "
                                         r"sequence of ints >= 0, got milestones=\[30, 10\]"),
    (lambda: S.multistep(0.1, [10, 10]), "multistep: milestones must be a strictly increasing"),
    (lambda: S.multistep(0.1, [-1, 10]), "multistep: milestones must be"),
    (lambda: S.multistep(0.1, []), "multistep: milestones must be a non-empty sequence"),
    (lambda: S.multistep(0.1, 10), "multistep: milestones must be"),
    (lambda: S.exponential(0.1), "exponential: gamma must be given if and only if k"),
    (lambda: S.exponential(0.1, 0.9, k=0.1), "exponential: gamma must be given if and only if"),
    (lambda: S.exponential(0.1, gamma=-0.5), r"exponential: gamma must be a finite number in "
                                             r"\(0, 1\], got gamma=-0.5"),
    (lambda: S.exponential(0.1, k=-1.0), "exponential: k must be a finite number >= 0"),
    (lambda: S.exponential(0.1, 0.9, decay_steps=0), "exponential: decay_steps must be a "
                                                     "positive int"),
    (lambda: S.exponential(0.1, 0.9, staircase=1), "exponential: staircase must be a bool, "
                                                   "got staircase=1"),
    (lambda: S.inverse_time(0.1, decay=-0.1), "inverse_time: decay must be a finite number >= 0"),
    (lambda: S.inverse_time(0.1, decay=math.inf), "inverse_time: decay must be .* got "
                                                  "decay=inf"),
    (lambda: S.polynomial(0.1, total_iters=0), "polynomial: total_iters must be a positive int"),
    (lambda: S.polynomial(0.1, 10, power=0.0), "polynomial: power must be a finite number > 0"),
    (lambda: S.linear(0.1, start_factor=-0.1), "linear: start_factor must be a finite number"),
    (lambda: S.linear(0.1, end_factor=NAN), "linear: end_factor must be"),
    (lambda: S.linear(0.1, total_iters=0), "linear: total_iters must be a positive int"),
    (lambda: S.cosine(lr=0.1, T_max=0), "cosine: T_max must be a positive int, got T_max=0"),
    (lambda: S.cosine(0.1, 10, eta_min=-1e-3), "cosine: eta_min must be a finite number >= 0"),
    (lambda: S.cosine(0.1, 10, clamp="yes"), "cosine: clamp must be a bool"),
    (lambda: S.cosine_restarts(0.1, T_0=0), "cosine_restarts: T_0 must be a positive int"),
    (lambda: S.cosine_restarts(0.1, 10, T_mult=0), "cosine_restarts: T_mult must be a positive"),
    (lambda: S.cosine_restarts(0.1, 10, T_mult=1.5), "cosine_restarts: T_mult must be a "
                                                     "positive int, got T_mult=1.5"),
    (lambda: S.cyclic(0.1, 0.01), r"cyclic: max_lr must be a finite number >= 0.1, "
                                  r"got max_lr=0.01"),
    (lambda: S.cyclic(0.1, NAN), "cyclic: max_lr must be"),
    (lambda: S.cyclic(-0.1, 1.0), "cyclic: base_lr must be a finite number >= 0"),
    (lambda: S.cyclic(0.1, 1.0, step_size_up=0), "cyclic: step_size_up must be a positive int"),
    (lambda: S.cyclic(0.1, 1.0, 10, -1), "cyclic: step_size_down must be a non-negative int"),
    (lambda: S.cyclic(0.1, 1.0, mode="triangle"), "cyclic: mode must be one of 'triangular', "
                                                  "'triangular2', 'exp_range', got "
                                                  "mode='triangle'"),
    (lambda: S.cyclic(0.1, 1.0, mode="exp_range", gamma=1.1), "cyclic: gamma must be"),
    (lambda: S.cyclic(0.1, 1.0, base_momentum=0.95, max_momentum=0.9),
     "cyclic: max_momentum must be a finite number in .0.95, 1.. got max_momentum=0.9"),
    (lambda: S.cyclic(0.1, 1.0, max_momentum=1.0), "cyclic: max_momentum must be"),
    (lambda: S.one_cycle(0.1, 100, pct_start=1.0), r"one_cycle: pct_start must be a finite "
                                                   r"number in \(0, 1\), got pct_start=1.0"),
    (lambda: S.one_cycle(0.1, 100, pct_start=0.0), "one_cycle: pct_start must be"),
    (lambda: S.one_cycle(0.1, 10, pct_start=0.1), r"one_cycle: pct_start must be > "
                                                  r"1/total_steps"),
    (lambda: S.one_cycle(0.1, 100, 0.6, three_phase=True),
     r"one_cycle: pct_start must be < \(total_steps \+ 1\) / \(2 total_steps\)"),
    (lambda: S.one_cycle(0.1, 1), "one_cycle: total_steps must be an int >= 2"),
    (lambda: S.one_cycle(-1.0, 100), "one_cycle: max_lr must be a finite number >= 0"),
    (lambda: S.one_cycle(0.1, 100, anneal_strategy="cosine"), "one_cycle: anneal_strategy must "
                                                              "be one of 'cos', 'linear'"),
    (lambda: S.one_cycle(0.1, 100, div_factor=0), "one_cycle: div_factor must be a finite "
                                                  "number > 0"),
    (lambda: S.one_cycle(0.1, 100, final_div_factor=NAN), "one_cycle: final_div_factor must"),
    (lambda: S.join([S.constant(0.1), S.constant(0.2)], [10, 20]),
     r"join: boundaries must be of length len\(schedules\) - 1 = 1, got boundaries=\[10, 20\]"),
    (lambda: S.join([S.constant(0.1), S.constant(0.2), S.constant(0.3)], [20, 10]),
     "join: boundaries must be a strictly increasing sequence of ints >= 1"),
    (lambda: S.join([S.constant(0.1), S.constant(0.2)], [0]), "join: boundaries must be"),
    (lambda: S.join([], []), "join: schedules must be a non-empty sequence"),
    (lambda: S.join([S.constant(0.1), lambda t: 0.1], [5]), "join: schedules must be an lrlib "
                                                            "schedule"),
    (lambda: S.join(S.constant(0.1), []), "join: schedules must be a non-empty sequence"),
    (lambda: S.warmup(lambda t: 0.1, 10), "warmup: schedule must be an lrlib schedule"),
    (lambda: S.warmup(S.constant(0.1), 0), "warmup: warmup_steps must be a positive int"),
    (lambda: S.warmup(S.constant(0.1), 10, start_factor=1.5), "warmup: start_factor must be"),
    (lambda: S.warmup(S.constant(0.1), 10, 0.0, mode="exponential"),
     r"warmup: start_factor must be a finite number in \(0, 1\], got start_factor=0.0"),
    (lambda: S.warmup(S.constant(0.1), 10, mode="cosine"), "warmup: mode must be one of"),
    (lambda: S.constant(0.1)(1.5), "constant: step must be an int or an array of ints, "
                                   "got step=1.5"),
    (lambda: S.cosine(0.1, 10)(np.array([0.0, 1.0])), "cosine: step must be an int or an "
                                                      "array of ints"),
    (lambda: S.step(0.1, 10)(True), "step: step must be an int or an array of ints, "
                                    "got step=True"),
    (lambda: S.one_cycle(0.1, 100).momentum(NAN), "one_cycle: step must be an int"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input_raises_value_error_naming_argument_rule_and_value(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_torch_itself_does_not_validate_what_lrlib_rejects():
    # The reason for lrlib's checks: torch accepts these silently or fails late.
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    L.MultiStepLR(opt, milestones=[30, 10])  # unsorted: accepted
    opt = torch.optim.SGD([p], lr=0.1)
    L.CyclicLR(opt, base_lr=0.1, max_lr=0.01)  # max_lr < base_lr: accepted
    opt = torch.optim.SGD([p], lr=0.1)
    sched = L.StepLR(opt, step_size=0)  # fails only at the first step
    opt.step()
    with pytest.raises(ZeroDivisionError):
        sched.step()
