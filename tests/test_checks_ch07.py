"""The exercise checks of chapter 7: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from lrlib import checks
from lrlib import schedules as S
from lrlib.checks import ch07
from lrlib.data import load_mnist1d
from lrlib.models import mlp
from lrlib.torch_bridge import ScheduleLR
from lrlib.train import steps_per_epoch, train


def test_module_docstring_example_runs():
    result = doctest.testmod(ch07, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch07 is ch07
    assert "ch07" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


# --- Exercise 7.1: one-cycle rates by hand ---------------------------------------------

REFERENCE_RATES = {0: 0.05, 2: 0.275, 4: 0.5, 9: 0.37525, 14: 0.12575, 19: 0.001}
REFERENCE_MOMENTA = {2: 0.9, 9: 0.875}


def test_by_hand_reference_passes(capsys):
    ch07.one_cycle_by_hand(lambda: (REFERENCE_RATES, REFERENCE_MOMENTA))
    assert capsys.readouterr().out.startswith("✓ Exercise 7.1 passed")


def test_by_hand_reference_is_torchs_one_cycle():
    p = ch07.BY_HAND
    weight = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([weight], lr=0.0, momentum=0.9)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=p["max_lr"], total_steps=p["total_steps"], pct_start=p["pct_start"],
        div_factor=p["div_factor"], final_div_factor=p["final_div_factor"])
    lrs, moms = [], []
    for _ in range(p["total_steps"]):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    for t, value in REFERENCE_RATES.items():
        assert lrs[t] == pytest.approx(value, rel=1e-12)
    for t, value in REFERENCE_MOMENTA.items():
        assert moms[t] == pytest.approx(value, rel=1e-12)


def test_by_hand_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch07.one_cycle_by_hand(todo)


@pytest.mark.parametrize(("rates", "momenta", "message"), [
    ({**REFERENCE_RATES, 4: 0.457031}, REFERENCE_MOMENTA,
     r"step 4: expected rate = 0.5, got 0.457031\.\nHint: the phases end at pct_start"),
    ({**REFERENCE_RATES, 19: 0.01}, REFERENCE_MOMENTA,
     r"step 19: expected rate = 0.001, got 0.01\.\nHint: the final rate is initial_lr"),
    ({**REFERENCE_RATES, 9: 0.5 - 0.499 / 3}, REFERENCE_MOMENTA,
     r"step 9: expected rate = 0.37525.*\nHint: that is linear annealing"),
    (REFERENCE_RATES, {2: 0.9, 9: 0.925},
     r"step 9: expected momentum = 0.875, got 0.925\.\nHint: the momentum moves opposite"),
    ({**REFERENCE_RATES, 0: 0.5}, REFERENCE_MOMENTA,
     r"step 0: expected rate = 0.05, got 0.5\.\nHint: each phase goes from its start"),
    ({**REFERENCE_RATES, 4: 0.45}, REFERENCE_MOMENTA,
     r"step 4: expected rate = 0.5, got 0.45\.\nHint: step 4 = 0.25 \* 20 - 1"),
    ({**REFERENCE_RATES, 14: 0.2}, REFERENCE_MOMENTA,
     r"step 14: expected rate = 0.12575, got 0.2\.\nHint: find the phase"),
])
def test_by_hand_typical_mistakes_get_their_hint(rates, momenta, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch07.one_cycle_by_hand(lambda: (rates, momenta))


@pytest.mark.parametrize(("answer", "message"), [
    (REFERENCE_RATES, r"return two dicts"),
    (([0.05, 0.275], REFERENCE_MOMENTA), r"rates should be a dict"),
    (({0: 0.05}, REFERENCE_MOMENTA), r"missing \[2, 4, 9, 14, 19\]"),
    (({**REFERENCE_RATES, 9: "0.37525"}, REFERENCE_MOMENTA), r"rates\[9\] should be a number"),
    ((REFERENCE_RATES, {2: 0.9, 9: float("nan")}), r"momenta\[9\] should be a finite"),
])
def test_by_hand_rejects_malformed_answers(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch07.one_cycle_by_hand(lambda: answer)


# --- Exercise 7.2: the two-phase cosine one-cycle --------------------------------------

def cos_anneal(start, end, u):
    return end + (start - end) / 2 * (1 + math.cos(math.pi * u))


def reference_point(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                    final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95):
    initial = max_lr / div_factor
    final = initial / final_div_factor
    end1, end2 = pct_start * total_steps - 1, total_steps - 1
    if step <= end1:
        u = step / end1
        return cos_anneal(initial, max_lr, u), cos_anneal(max_momentum, base_momentum, u)
    u = (step - end1) / (end2 - end1)
    return cos_anneal(max_lr, final, u), cos_anneal(base_momentum, max_momentum, u)


def test_point_reference_passes(capsys):
    ch07.one_cycle_point(reference_point)
    assert capsys.readouterr().out.startswith("✓ Exercise 7.2 passed")


def test_point_reference_matches_lrlib_on_a_long_cycle():
    sched = S.one_cycle(max_lr=0.4, total_steps=333, pct_start=0.27)
    for t in range(333):
        lr, mom = reference_point(t, 0.4, 333, pct_start=0.27)
        assert lr == pytest.approx(sched(t), rel=1e-12)
        assert mom == pytest.approx(sched.momentum(t), rel=1e-12)


def test_point_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch07.one_cycle_point(todo)


def no_minus_one(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95):
    initial, end1 = max_lr / div_factor, pct_start * total_steps
    final, end2 = initial / final_div_factor, total_steps
    if step <= end1:
        u = step / end1
        return cos_anneal(initial, max_lr, u), cos_anneal(max_momentum, base_momentum, u)
    u = (step - end1) / (end2 - end1)
    return cos_anneal(max_lr, final, u), cos_anneal(base_momentum, max_momentum, u)


def min_from_max(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                 final_div_factor=1e4, **kwargs):
    lr, mom = reference_point(step, max_lr, total_steps, pct_start, div_factor,
                              final_div_factor, **kwargs)
    end1 = pct_start * total_steps - 1
    if step > end1:   # the same fall, to max_lr / final_div_factor
        u = (step - end1) / (total_steps - 1 - end1)
        lr = cos_anneal(max_lr, max_lr / final_div_factor, u)
    return lr, mom


def linear(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
           final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95):
    initial = max_lr / div_factor
    final = initial / final_div_factor
    end1, end2 = pct_start * total_steps - 1, total_steps - 1
    if step <= end1:
        u = step / end1
        return initial + (max_lr - initial) * u, max_momentum + (base_momentum - max_momentum) * u
    u = (step - end1) / (end2 - end1)
    return max_lr + (final - max_lr) * u, base_momentum + (max_momentum - base_momentum) * u


def momentum_with_rate(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                       final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95):
    return reference_point(step, max_lr, total_steps, pct_start, div_factor,
                           final_div_factor, max_momentum, base_momentum)


def reversed_anneal(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                    final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95):
    def wrong(start, end, u):
        return start + (end - start) / 2 * (1 + math.cos(math.pi * u))

    initial = max_lr / div_factor
    final = initial / final_div_factor
    end1, end2 = pct_start * total_steps - 1, total_steps - 1
    if step <= end1:
        u = step / end1
        return wrong(initial, max_lr, u), wrong(max_momentum, base_momentum, u)
    u = (step - end1) / (end2 - end1)
    return wrong(max_lr, final, u), wrong(base_momentum, max_momentum, u)


def strict_phase_end(step, max_lr, total_steps, pct_start=0.3, **kwargs):
    # t < end instead of t <= end: identical values (u = 0 of phase 2 is the peak too)
    return reference_point(step, max_lr, total_steps, pct_start, **kwargs)


def rate_only(step, max_lr, total_steps, **kwargs):
    return reference_point(step, max_lr, total_steps, **kwargs)[0]


def ceil_phase_end(step, max_lr, total_steps, pct_start=0.3, div_factor=25.0,
                   final_div_factor=1e4, base_momentum=0.85, max_momentum=0.95):
    # rounds the phase end up to a whole step: wrong when pct_start * N - 1 is fractional
    initial = max_lr / div_factor
    final = initial / final_div_factor
    end1, end2 = math.ceil(pct_start * total_steps - 1), total_steps - 1
    if step <= end1:
        u = step / end1
        return cos_anneal(initial, max_lr, u), cos_anneal(max_momentum, base_momentum, u)
    u = (step - end1) / (end2 - end1)
    return cos_anneal(max_lr, final, u), cos_anneal(base_momentum, max_momentum, u)


@pytest.mark.parametrize(("func", "message"), [
    (no_minus_one, r"worked example.*step 1: expected lr = 0.325, got .*\n"
                   r"Hint: the phases end at pct_start"),
    (min_from_max, r"step 4: expected lr = 0.93308, got 0.933683\.\n"
                   r"Hint: the final rate is initial_lr"),
    (linear, r"step 1: expected lr = 0.325, got 0.4\.\nHint: that is linear annealing"),
    (momentum_with_rate, r"step 0: expected momentum = 0.95, got 0.85\.\n"
                         r"Hint: the momentum moves opposite"),
    (reversed_anneal, r"step 0: expected lr = 0.1, got 1\.\nHint: each phase goes"),
    (ceil_phase_end, r"between two steps\): step 1: expected lr = 0.775, got .*\n"
                     r"Hint: find the phase"),
    (rate_only, r"step 0: return the pair \(lr, momentum\)"),
])
def test_point_typical_mistakes_get_their_hint(func, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch07.one_cycle_point(func)


def test_point_accepts_the_strict_inequality_at_a_phase_end(capsys):
    ch07.one_cycle_point(strict_phase_end)
    assert "passed" in capsys.readouterr().out


# --- Exercise 7.3: with and without momentum cycling -----------------------------------

def reference_train(seed, cycle_momentum, epochs=4):
    mnist = load_mnist1d()
    sched = S.one_cycle(max_lr=0.5, total_steps=epochs * steps_per_epoch(mnist, 64))
    model = mlp(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=sched(0), momentum=0.9)
    scheduler = ScheduleLR(opt, sched, momentum=sched.momentum if cycle_momentum else None)
    return train(model, mnist, opt, epochs=epochs, batch_size=64, scheduler=scheduler,
                 seed=seed)


@pytest.fixture(scope="module")
def measured():
    """The results of Exercise 7.3 and their verdict, measured once for the module."""
    torch.set_num_threads(1)
    results = {name: [float(reference_train(seed, flag).test_acc[-1]) for seed in (0, 1, 2)]
               for name, flag in (("cycled", True), ("constant", False))}
    means = {k: np.mean(v) for k, v in results.items()}
    margin = max(np.std(v) for v in results.values())
    diff = means["cycled"] - means["constant"]
    verdict = "tie" if abs(diff) <= margin else ("cycled" if diff > 0 else "constant")
    return results, verdict


def test_cycling_reference_passes(measured, capsys):
    results, verdict = measured
    ch07.momentum_cycling(reference_train, results, verdict)
    assert capsys.readouterr().out.startswith("✓ Exercise 7.3 passed")


def test_cycling_stub_fails_with_not_written_yet(measured):
    results, verdict = measured
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch07.momentum_cycling(todo, results, verdict)


def no_momentum_schedule(seed, cycle_momentum, epochs=4):
    return reference_train(seed, False, epochs)


def plain_sgd_when_constant(seed, cycle_momentum, epochs=4):
    if cycle_momentum:
        return reference_train(seed, True, epochs)
    mnist = load_mnist1d()
    sched = S.one_cycle(max_lr=0.5, total_steps=epochs * steps_per_epoch(mnist, 64))
    model = mlp(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=sched(0))
    return train(model, mnist, opt, epochs=epochs, batch_size=64,
                 scheduler=ScheduleLR(opt, sched), seed=seed)


def floor_steps(seed, cycle_momentum, epochs=4):
    mnist = load_mnist1d()
    sched = S.one_cycle(max_lr=0.5, total_steps=epochs * (4000 // 64))  # 62, not 63
    model = mlp(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=sched(0), momentum=0.9)
    scheduler = ScheduleLR(opt, sched, momentum=sched.momentum if cycle_momentum else None)
    return train(model, mnist, opt, epochs=epochs, batch_size=64, scheduler=scheduler,
                 seed=seed)


def no_scheduler(seed, cycle_momentum, epochs=4):
    mnist = load_mnist1d()
    model = mlp(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    return train(model, mnist, opt, epochs=epochs, batch_size=64, seed=seed)


def returns_accuracy(seed, cycle_momentum, epochs=4):
    return float(reference_train(seed, cycle_momentum, epochs).test_acc[-1])


@pytest.mark.parametrize(("func", "message"), [
    (no_momentum_schedule, r"cycle_momentum=True.*step 0: expected momentum = 0.95, got 0.9\."
                           r"\nHint: the momentum did not cycle"),
    (plain_sgd_when_constant, r"cycle_momentum=False.*expected momentum = 0.9, got 0\.\n"
                              r"Hint: SGD's momentum defaults to 0"),
    (floor_steps, r"step 1: expected lr = .*\nHint: the schedule counts updates"),
    (no_scheduler, r"step 1: expected lr = .*, got 0.02\.\nHint: the rate never changed"),
    (returns_accuracy, r"should return the History"),
])
def test_cycling_typical_mistakes_get_their_hint(measured, func, message):
    results, verdict = measured
    with pytest.raises(checks.CheckFailed, match=message):
        ch07.momentum_cycling(func, results, verdict)


def test_cycling_catches_numbers_not_from_the_runs(measured):
    results, _ = measured
    fudged = {"cycled": [0.6, 0.61, 0.62], "constant": results["constant"]}
    with pytest.raises(checks.CheckFailed, match=r"results\['cycled'\]\[0\] = 0.6, but"):
        ch07.momentum_cycling(reference_train, fudged, "cycled")


def test_cycling_wrong_verdict_fails(measured):
    results, verdict = measured
    wrong = "tie" if verdict != "tie" else "cycled"
    with pytest.raises(checks.CheckFailed, match=r"so the verdict is"):
        ch07.momentum_cycling(reference_train, results, wrong)


@pytest.mark.parametrize(("results", "message"), [
    ({"cycled": [0.5, 0.6, 0.7]}, r"keys 'cycled' and 'constant'"),
    ({"cycled": [0.5, 0.6], "constant": [0.4, 0.5, 0.45]}, r"has 2 accuracies"),
    ({"cycled": [49.0, 50.0, 51.0], "constant": [0.4, 0.5, 0.45]}, r"fractions in \[0, 1\]"),
    ({"cycled": [0.5, 0.5, 0.5], "constant": [0.4, 0.5, 0.45]}, r"same accuracy"),
    ({"cycled": "0.5", "constant": [0.4, 0.5, 0.45]}, r"should be a list"),
])
def test_cycling_rejects_malformed_results(measured, results, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch07.momentum_cycling(reference_train, results, "tie")

