"""The exercise checks of chapter 5: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest
import math

import pytest
import torch

from lrlib import checks
from lrlib import schedules as S
from lrlib.checks import ch05
from lrlib.data import load_mnist1d
from lrlib.models import mlp
from lrlib.torch_bridge import ScheduleLR
from lrlib.train import train


def test_module_docstring_example_runs():
    result = doctest.testmod(ch05, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch05 is ch05
    assert "ch05" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


# --- Exercise 5.1: a linear warm-up into a cosine, by hand ----------------------------

REFERENCE_VALUES = (0.0, 0.08, 0.18, 0.2, 0.15, 0.1, 0.0)


def half_cosine(s, T=90):
    return 0.2 * (1 + math.cos(math.pi * s / T)) / 2


def test_reference_values_are_the_arithmetic_of_the_exercise():
    ramp = [0.2 * t / 10 for t in (0, 4, 9)]
    decay = [half_cosine(t - 10) for t in (10, 40, 55, 100)]
    assert REFERENCE_VALUES == pytest.approx(ramp + decay, abs=1e-15)


def test_warmup_cosine_reference_passes(capsys):
    ch05.warmup_cosine_values(lambda: REFERENCE_VALUES)
    assert capsys.readouterr().out.startswith("✓ Exercise 5.1 passed")


def test_warmup_cosine_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch05.warmup_cosine_values(todo)


def with_value(position, value):
    values = list(REFERENCE_VALUES)
    values[position] = value
    return tuple(values)


@pytest.mark.parametrize(("answer", "message"), [
    (with_value(1, 0.2 * 4 / 9), r"t = 4: expected the rate 0.08, got 0.0888889\.\nHint: .*"
                                 r"step W = 10, not at step 9"),
    (with_value(0, 0.2 / 3), r"t = 0: expected the rate 0, got 0.0666667\.\nHint: .*1/3"),
    (with_value(1, 0.2 * 5 / 10), r"t = 4: .*\nHint: one step ahead"),
    (with_value(3, half_cosine(10)), r"t = 10: expected the rate 0.2, got 0.193969\.\n"
                                     r"Hint: .*S\(t - 10\), not S\(t\)"),
    (with_value(4, half_cosine(30, T=80)), r"t = 40: .*\nHint: T_max = 90 is the length of "
                                           r"the cosine itself"),
    (with_value(5, 2 * half_cosine(45)), r"t = 55: expected the rate 0.1, got 0.2\.\nHint: "
                                         r".*the 1/2"),
    (with_value(4, 0.2 * math.cos(math.pi * 30 / 180)), r"t = 40: .*\nHint: .*half a period"),
    (with_value(6, 0.05),
     r"t = 100: expected the rate 0, got 0.05\.\nHint: below step 10 .*from step 10 on"),
])
def test_warmup_cosine_typical_mistakes_get_their_hint(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch05.warmup_cosine_values(lambda: answer)


@pytest.mark.parametrize(("answer", "message"), [
    (REFERENCE_VALUES[:6], r"return 7 rates, one for each of t = 0, 4, 9, 10, 40, 55, 100"),
    ({0: 0.0}, r"return 7 rates"),
    (with_value(2, "0.18"), r"the rate at t = 9 should be a number"),
    (with_value(2, float("nan")), r"the rate at t = 9 should be a finite number"),
])
def test_warmup_cosine_rejects_malformed_answers(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch05.warmup_cosine_values(lambda: answer)


# --- Exercise 5.2: an exponential warm-up ---------------------------------------------

def exponential_warmup(schedule, warmup_steps, start_factor):
    peak = schedule(0)

    def lr(t):
        if t < warmup_steps:
            return peak * start_factor ** (1 - t / warmup_steps)
        return schedule(t - warmup_steps)

    return lr


def variant(ramp=None, after=None):
    """The reference with its ramp or its tail replaced by a typical mistake."""
    def factory(schedule, W, f):
        def lr(t):
            if t < W:
                return ramp(schedule, W, f, t) if ramp else schedule(0) * f ** (1 - t / W)
            return after(schedule, W, t) if after else schedule(t - W)
        return lr
    return factory


def test_exponential_warmup_reference_passes(capsys):
    ch05.exponential_warmup(exponential_warmup)
    assert capsys.readouterr().out.startswith("✓ Exercise 5.2 passed")


def test_exponential_warmup_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch05.exponential_warmup(todo)


def test_exponential_warmup_stub_inside_the_returned_function_fails_too():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch05.exponential_warmup(lambda schedule, W, f: todo)


@pytest.mark.parametrize(("factory", "message"), [
    (variant(ramp=lambda s, W, f, t: s(0) * (f + (1 - f) * t / W)),
     r"t = 1: expected the rate 0.00158489, got 0.0109\.\nHint: that is a linear ramp"),
    (variant(ramp=lambda s, W, f, t: s(0) * f ** (t / W)),
     r"t = 0: expected the rate 0.001, got 0.1\.\nHint: the exponent is reversed"),
    (variant(ramp=lambda s, W, f, t: s(0) * f ** (1 - t / (W - 1))),
     r"t = 1: .*\nHint: the ramp reaches S\(0\) one step early"),
    (variant(ramp=lambda s, W, f, t: s(t) * f ** (1 - t / W)),
     r"t = 1: expected the rate 0.00158489, got 0.00158333\.\nHint: ramp towards S\(0\)"),
    (variant(ramp=lambda s, W, f, t: f ** (1 - t / W)),
     r"t = 0: expected the rate 0.001, got 0.01\.\nHint: that is the factor alone"),
    (variant(after=lambda s, W, t: s(t)),
     r"t = 10: expected the rate 0.1, got 0.0904508\.\nHint: .*S\(t - W\), not S\(t\)"),
    (variant(after=lambda s, W, t: s(max(t - W - 1, 0))),
     r"t = 11: .*\nHint: one step late"),
])
def test_exponential_warmup_typical_mistakes_get_their_hint(factory, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch05.exponential_warmup(factory)


def test_exponential_warmup_must_return_a_function():
    with pytest.raises(checks.CheckFailed, match=r"should return a function of the step"):
        ch05.exponential_warmup(lambda schedule, W, f: schedule(0) * f)


def test_exponential_warmup_integer_division_gets_its_hint():
    factory = variant(ramp=lambda s, W, f, t: s(0) * f ** (1 - t // W))
    with pytest.raises(checks.CheckFailed, match=r"t = 1: .*\nHint: .*true division"):
        ch05.exponential_warmup(factory)


# --- Exercise 5.3: the shortest warm-up that keeps a high rate stable -----------------

def peak_ratio(peak_lr, warmup_steps):
    model = mlp(seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=peak_lr)
    sched = S.constant(lr=peak_lr)
    if warmup_steps > 0:
        sched = S.warmup(sched, warmup_steps=warmup_steps)
    hist = train(model, load_mnist1d(), opt, epochs=1, batch_size=64,
                 scheduler=ScheduleLR(opt, sched), seed=0)
    return float(hist.loss.max() / hist.loss[0])


def smallest_stable_warmup(peak_lr, candidates, ratio_fn, threshold=1.2):
    for w in candidates:
        if ratio_fn(peak_lr, w) <= threshold:
            return w
    return None


def test_stable_warmup_reference_passes(capsys):
    torch.set_num_threads(1)
    ch05.stable_warmup(peak_ratio, smallest_stable_warmup)
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 5.3 passed") and "shortest stable warm-up" in out


def test_the_high_rate_needs_a_warmup_and_one_in_the_list_suffices():
    r = ch05.STABLE_WARMUP_RECIPE
    assert ch05.reference_peak_ratio(r["peak_lr"], 0) > 2 * r["threshold"]
    answer = smallest_stable_warmup(r["peak_lr"], r["candidates"], ch05.reference_peak_ratio)
    assert answer is not None and answer > 0


def test_stable_warmup_stubs_fail_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch05.stable_warmup(todo, smallest_stable_warmup)
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch05.stable_warmup(ch05.reference_peak_ratio, todo)


def strict_lrlib_warmup(peak_lr, warmup_steps):
    S.warmup(S.constant(lr=peak_lr), warmup_steps=warmup_steps)  # raises for 0
    return ch05.reference_peak_ratio(peak_lr, warmup_steps)


def falsy_zero(peak_lr, candidates, ratio_fn, threshold=1.2):
    best = None
    for w in candidates:
        if not best and ratio_fn(peak_lr, w) <= threshold:
            best = w
    return best


def smallest_ratio(peak_lr, candidates, ratio_fn, threshold=1.2):
    ratios = {w: ratio_fn(peak_lr, w) for w in candidates}
    best = min(ratios, key=ratios.get)
    return best if ratios[best] <= threshold else None


def strict_below(peak_lr, candidates, ratio_fn, threshold=1.2):
    return next((w for w in candidates if ratio_fn(peak_lr, w) < threshold), None)


def fixed_threshold(peak_lr, candidates, ratio_fn, threshold=1.2):
    return smallest_stable_warmup(peak_lr, candidates, ratio_fn)


def minus_one(peak_lr, candidates, ratio_fn, threshold=1.2):
    found = smallest_stable_warmup(peak_lr, candidates, ratio_fn, threshold)
    return -1 if found is None else found


@pytest.mark.parametrize(("ratio_fn", "search", "message"), [
    (strict_lrlib_warmup, smallest_stable_warmup,
     r"peak_ratio\(0.1, 0\) raised ValueError[\s\S]*Hint: warmup_steps = 0 means no warm-up"),
    (lambda p, w: ch05.reference_peak_ratio(p, 0), smallest_stable_warmup,
     r"expected peak_ratio\(0.1, 8\) = .*\nHint: that looks like a run without warm-up"),
    (lambda p, w: 1 / ch05.reference_peak_ratio(p, w), smallest_stable_warmup,
     r"expected peak_ratio\(0.1, 0\) = .*\nHint: the ratio is the largest loss divided by"),
    (lambda p, w: ch05.reference_peak_ratio(p, w) * 1.01, smallest_stable_warmup,
     r"expected peak_ratio\(0.1, 0\) = .*\nHint: follow the recipe exactly"),
    (ch05.reference_peak_ratio, falsy_zero,
     r"no warm-up needed .*: expected 0, got 4\.\nHint: 0 \(no warm-up\) is a valid answer"),
    (ch05.reference_peak_ratio, smallest_ratio,
     r"no warm-up needed .*: expected 0, got 8\.\nHint: that is the candidate with the "
     r"smallest ratio"),
    (ch05.reference_peak_ratio, minus_one,
     r"no candidate is stable .*: expected None, got -1\.\nHint: return None"),
    (ch05.reference_peak_ratio, strict_below,
     r"equal to the threshold .*: expected 5, got 10\.\nHint: stable means ratio <= threshold"),
    (ch05.reference_peak_ratio, fixed_threshold,
     r"threshold=1.05 .*: expected 3, got 0\.\nHint: use the threshold argument"),
    (ch05.reference_peak_ratio, lambda p, c, f, threshold=1.2: float(c[-1]),
     r"return a warm-up length \(an int from the candidates\) or None, got float"),
])
def test_stable_warmup_typical_mistakes_get_their_hint(ratio_fn, search, message):
    torch.set_num_threads(1)
    with pytest.raises(checks.CheckFailed, match=message):
        ch05.stable_warmup(ratio_fn, search)
