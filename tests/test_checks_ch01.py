"""The exercise checks of chapter 1: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

from lrlib import checks
from lrlib.checks import ch01
from lrlib.optim import SGD
from lrlib.problems import trajectory


def test_module_docstring_example_runs():
    result = doctest.testmod(ch01, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch01 is ch01
    assert "ch01" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


# --- Exercise 1.1: one step by hand --------------------------------------------------

REFERENCE_STEP = (20.5, -17.5, -6.0, 0.875, 0.3)


def test_first_step_reference_passes(capsys):
    ch01.first_step(lambda: REFERENCE_STEP)
    assert capsys.readouterr().out.startswith("✓ Exercise 1.1 passed")


def test_first_step_reference_is_the_arithmetic_of_the_exercise():
    x = np.array(ch01.FIRST_STEP_PROBLEM["x"])
    y = np.array(ch01.FIRST_STEP_PROBLEM["y"])
    r = 0.0 * x + 0.0 - y
    j0 = np.sum(r**2) / (2 * len(x))
    dw, db = np.mean(r * x), np.mean(r)
    assert REFERENCE_STEP == pytest.approx((j0, dw, db, -0.05 * dw, -0.05 * db))


def test_first_step_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch01.first_step(todo)


@pytest.mark.parametrize(("answer", "message"), [
    ((41.0, -17.5, -6.0, 0.875, 0.3), r"expected J0 = 20.5, got J0 = 41\.\nHint: .*1/2"),
    ((164.0, -17.5, -6.0, 0.875, 0.3), r"J0 = 164\.\nHint: .*plain sum"),
    ((82.0, -17.5, -6.0, 0.875, 0.3), r"J0 = 82\.\nHint: .*not by m"),
    ((20.5, 17.5, -6.0, 0.875, 0.3), r"dJ_dw = -17.5, got dJ_dw = 17.5\.\nHint: .*residual"),
    ((20.5, -35.0, -6.0, 0.875, 0.3), r"dJ_dw = -35\.\nHint: .*no factor 2"),
    ((20.5, -70.0, -6.0, 0.875, 0.3), r"dJ_dw = -70\.\nHint: .*divide by m"),
    ((20.5, -6.0, -17.5, 0.875, 0.3), r"dJ_dw = -6\.\nHint: .*swapped"),
    ((20.5, -17.5, 6.0, 0.875, 0.3), r"dJ_db = 6\.\nHint: .*prediction minus target"),
    ((20.5, -17.5, -6.0, -0.875, 0.3), r"w1 = -0.875\.\nHint: .*subtracts"),
    ((20.5, -17.5, -6.0, 17.5, 0.3), r"w1 = 17.5\.\nHint: .*learning rate"),
    ((20.5, -17.5, -6.0, 0.875, -0.3), r"b1 = -0.3\.\nHint: .*subtracts"),
    ((20.5, -17.5, -6.0, 0.875, 0.0), r"b1 = 0\.\nHint: .*did not move"),
])
def test_first_step_typical_mistakes_get_their_hint(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch01.first_step(lambda: answer)


@pytest.mark.parametrize(("answer", "message"), [
    ((20.5, -17.5, -6.0, 0.875), r"return five numbers"),
    ((20.5, "-17.5", -6.0, 0.875, 0.3), r"dJ_dw should be a number"),
    ((20.5, -17.5, -6.0, float("nan"), 0.3), r"w1 should be a finite number"),
])
def test_first_step_rejects_malformed_answers(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch01.first_step(lambda: answer)


# --- Exercise 1.2: the gradient descent loop ------------------------------------------

def reference_gd(grad, x0, lr, num_steps):
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    for _ in range(num_steps):
        x = x - lr * np.asarray(grad(x))
        path.append(x.copy())
    return np.array(path)


def test_gradient_descent_reference_passes(capsys):
    ch01.gradient_descent(reference_gd)
    assert capsys.readouterr().out.startswith("✓ Exercise 1.2 passed")


def test_gradient_descent_reference_matches_lrlib_trajectory():
    from lrlib.problems import Ravine

    ravine = Ravine(mu=1.0, L=25.0, angle=30.0)
    expected = trajectory(ravine, lambda p: SGD(p, lr=0.07), [-4.0, 1.0], 25)
    np.testing.assert_allclose(reference_gd(ravine.grad, [-4.0, 1.0], 0.07, 25), expected,
                               rtol=1e-12)


def test_gradient_descent_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch01.gradient_descent(todo)


def no_start_row(grad, x0, lr, num_steps):
    return reference_gd(grad, x0, lr, num_steps)[1:]


def aliased_rows(grad, x0, lr, num_steps):
    x = np.array(x0, dtype=float)
    path = [x]
    for _ in range(num_steps):
        x -= lr * np.asarray(grad(x))
        path.append(x)
    return np.array(path)


def uphill(grad, x0, lr, num_steps):
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    for _ in range(num_steps):
        x = x + lr * np.asarray(grad(x))
        path.append(x.copy())
    return np.array(path)


def no_rate(grad, x0, lr, num_steps):
    return reference_gd(grad, x0, 1.0, num_steps)


def int_in_place(grad, x0, lr, num_steps):
    x = np.array(x0)
    path = [x.copy()]
    for _ in range(num_steps):
        x -= lr * np.asarray(grad(x))
        path.append(x.copy())
    return np.array(path)


def mutates_start(grad, x0, lr, num_steps):
    x = np.asarray(x0, dtype=float)
    path = [x.copy()]
    for _ in range(num_steps):
        x -= lr * np.asarray(grad(x))
        path.append(x.copy())
    return np.array(path)


def stops_when_growing(grad, x0, lr, num_steps):
    x = np.array(x0, dtype=float)
    path = [x.copy()]
    for _ in range(num_steps):
        new = x - lr * np.asarray(grad(x))
        if np.linalg.norm(new) > 2 * np.linalg.norm(path[0]):
            break
        x = new
        path.append(x.copy())
    return np.array(path)


def one_too_many(grad, x0, lr, num_steps):
    return reference_gd(grad, x0, lr, num_steps + 1)


@pytest.mark.parametrize(("func", "message"), [
    (no_start_row, r"shape \(7,\) \(num_steps \+ 1 numbers\), got shape \(6,\)\.\n"
                   r"Hint: include the starting point"),
    (one_too_many, r"got shape \(8,\)\.\nHint: one update too many"),
    (aliased_rows, r"1-D quadratic.*row 0: expected 1, got 0.262144\.\n"
                   r"Hint: every row is the same"),
    (uphill, r"1-D quadratic.*row 1: expected -0.8, got 2.8\.\nHint: .*uphill"),
    (no_rate, r"row 1: expected -0.8, got -3\.\nHint: .*ignores the rate"),
    (int_in_place, r"list of ints.*raised .*\nHint: an int array cannot be updated"),
    (mutates_start, r"ravine.*changed the caller's x0.*\nHint: copy the start"),
    (stops_when_growing, r"diverging.*shape \(13,\) .*got shape \(3,\)\.\n"
                         r"Hint: return every iterate"),
])
def test_gradient_descent_typical_mistakes_get_their_hint(func, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch01.gradient_descent(func)


# --- Exercise 1.3: the largest stable rate -------------------------------------------

def reference_stable_rate(problem, x0, lr_high, num_steps=200, tol=1e-4):
    start = np.linalg.norm(np.asarray(x0, dtype=float) - problem.minimum)

    def stable(lr):
        path = trajectory(problem, lambda p: SGD(p, lr=lr), x0, num_steps)
        with np.errstate(over="ignore", invalid="ignore"):
            dist = np.linalg.norm(path[-1] - problem.minimum)
        return bool(np.isfinite(dist) and dist <= start)

    lo, hi = 0.0, lr_high
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if stable(mid) else (lo, mid)
    return lo


def nan_blind(problem, x0, lr_high, num_steps=200, tol=1e-4):
    start = np.linalg.norm(np.asarray(x0, dtype=float) - problem.minimum)
    lo, hi = 0.0, lr_high
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        path = trajectory(problem, lambda p, mid=mid: SGD(p, lr=mid), x0, num_steps)
        with np.errstate(over="ignore", invalid="ignore"):
            diverged = np.linalg.norm(path[-1] - problem.minimum) > start  # False for nan
        lo, hi = (lo, mid) if diverged else (mid, hi)
    return lo


def sign_test(problem, x0, lr_high, num_steps=200, tol=1e-4):
    lo, hi = 0.0, lr_high
    while hi - lo > tol * hi:
        mid = 0.5 * (lo + hi)
        path = trajectory(problem, lambda p, mid=mid: SGD(p, lr=mid), x0, num_steps)
        d = path - problem.minimum
        flips = np.any(np.sum(d[1:] * d[:-1], axis=-1) < 0) if d.ndim > 1 else np.any(
            d[1:] * d[:-1] < 0)
        lo, hi = (lo, mid) if flips or not np.all(np.isfinite(d)) else (mid, hi)
    return lo


def few_steps(problem, x0, lr_high):
    return reference_stable_rate(problem, x0, lr_high, num_steps=2)


def halving(problem, x0, lr_high, num_steps=200):
    start = np.linalg.norm(np.asarray(x0, dtype=float) - problem.minimum)
    lr = lr_high
    while True:
        path = trajectory(problem, lambda p, lr=lr: SGD(p, lr=lr), x0, num_steps)
        with np.errstate(over="ignore", invalid="ignore"):
            dist = np.linalg.norm(path[-1] - problem.minimum)
        if np.isfinite(dist) and dist <= start:
            return lr
        lr /= 2


def test_largest_stable_rate_reference_passes(capsys):
    ch01.largest_stable_rate(reference_stable_rate)
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 1.3 passed") and "0.08" in out


def test_largest_stable_rate_reference_is_close_to_the_theory():
    for _, problem, x0, lr_high in ch01._stable_rate_cases():
        found = reference_stable_rate(problem, x0, lr_high)
        assert found == pytest.approx(problem.max_stable_lr, rel=0.005)


def test_largest_stable_rate_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch01.largest_stable_rate(todo)


@pytest.mark.parametrize(("func", "message"), [
    (nan_blind, r"ravine.*expected about 0.08 .*\nHint: your search never saw a divergence"),
    (sign_test, r"1-D quadratic.*expected about 0.5 .*got 0.25.*\nHint: that is 1/lambda_max"),
    (few_steps, r"ravine.*expected about 0.08 .*\nHint: too large: just above the limit"),
    (halving, r"ravine.*expected about 0.08 .*got 0.078125\.\nHint: too small"),
])
def test_largest_stable_rate_typical_mistakes_get_their_hint(func, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch01.largest_stable_rate(func)


def test_largest_stable_rate_rejects_a_non_number():
    with pytest.raises(checks.CheckFailed, match="should be a number"):
        ch01.largest_stable_rate(lambda problem, x0, lr_high: "0.5")
