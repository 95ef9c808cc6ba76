r"""Checks for the exercises of chapter 1, the fixed learning rate.

One function per exercise; each takes the learner's function, runs it on several
inputs and either prints one confirmation line or raises
:class:`lrlib.checks.CheckFailed` saying which input or step is wrong, what was
expected and what came back, with a hint at the usual mistake.

* :func:`first_step` (Exercise 1.1, by hand): the cost, both gradients and the
  updated parameters of one gradient-descent step on a four-point regression.
* :func:`gradient_descent` (Exercise 1.2, implement): a fixed-rate gradient descent
  loop that returns every iterate.
* :func:`largest_stable_rate` (Exercise 1.3, experiment): the largest stable rate of a
  quadratic found by bisection, compared with :math:`2 / \lambda_{\max}`.

The reference answers are computed here with :mod:`lrlib.problems` and
:mod:`lrlib.optim`, never typed in.

Notes
-----
The cost follows the book's convention

.. math:: J(w, b) = \frac{1}{2m} \sum_{i=1}^{m} (w x_i + b - y_i)^2 ,

so :math:`\partial J / \partial w = \frac1m \sum_i (w x_i + b - y_i)\, x_i` (the
:math:`\tfrac12` cancels the 2 of the derivative).

Examples
--------
>>> from lrlib import checks
>>> def my_first_step():
...     return 20.5, -17.5, -6.0, 0.875, 0.3
>>> checks.ch01.first_step(my_first_step)
✓ Exercise 1.1 passed: J0 = 20.5, dJ/dw = -17.5, dJ/db = -6, w1 = 0.875, b1 = 0.3.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lrlib.checks._core import array, call, close, fail, fmt, number, passed
from lrlib.optim import SGD
from lrlib.problems import (
    LinearRegression,
    Quadratic1D,
    Ravine,
    mse_cost,
    mse_grad,
    noisy_line,
    trajectory,
)

__all__ = ["FIRST_STEP_PROBLEM", "first_step", "gradient_descent", "largest_stable_rate"]

FIRST_STEP_PROBLEM = {"x": (1.0, 2.0, 3.0, 4.0), "y": (3.0, 5.0, 7.0, 9.0),
                      "w0": 0.0, "b0": 0.0, "lr": 0.05}
"""The data, start and rate of Exercise 1.1 (the prices lie on ``y = 2x + 1``)."""


def _near(value: float, target: float) -> bool:
    return math.isclose(value, target, rel_tol=1e-6, abs_tol=1e-12)


# ---------------------------------------------------------------------------
# Exercise 1.1
# ---------------------------------------------------------------------------


def first_step(func: Callable[[], Any]) -> None:
    r"""Check Exercise 1.1: one gradient-descent step on a four-point regression, by hand.

    Parameters
    ----------
    func : callable
        Takes no argument and returns ``(J0, dJ_dw, dJ_db, w1, b1)``: the cost at the
        start, the two partial derivatives there, and the parameters after one step,
        for the problem :data:`FIRST_STEP_PROBLEM` (``x = 1, 2, 3, 4``,
        ``y = 3, 5, 7, 9``, ``w = b = 0``, rate 0.05).

    Raises
    ------
    CheckFailed
        Naming the first wrong number, expected versus got, with a hint when the
        value matches a typical slip (no :math:`\tfrac12`, a sum instead of a mean,
        the sign of the residual, adding the gradient instead of subtracting it).
    """
    ex = "1.1"
    p = FIRST_STEP_PROBLEM
    x, y = np.array(p["x"]), np.array(p["y"])
    w0, b0, lr = p["w0"], p["b0"], p["lr"]
    m = x.size
    got = call(ex, func, what="your function")
    if not isinstance(got, (tuple, list)) or len(got) != 5:
        fail(ex, f"return five numbers (J0, dJ_dw, dJ_db, w1, b1), got {fmt(got)}.")
    j0, dw, db, w1, b1 = (number(ex, name, v) for name, v in
                          zip(("J0", "dJ_dw", "dJ_db", "w1", "b1"), got, strict=True))

    cost = float(mse_cost(w0, b0, x, y))
    gw, gb = (float(g) for g in mse_grad(w0, b0, x, y))
    slips = {2 * cost: "that is twice the cost: J = 1/(2m) * sum of squared residuals "
                       "has a 1/2 in front.",
             2 * m * cost: "that is the plain sum of squared residuals: divide by 2m.",
             m * cost: "you divided by 2 but not by m = 4 (J is an average).",
             cost / 2: "you halved twice: J = 1/(2m) * sum, and no further 1/2."}
    hint = next((h for v, h in slips.items() if _near(j0, v)),
                "the predictions are all 0, so the residuals are -y; square, sum, "
                "divide by 2m.")
    close(ex, "J0", j0, cost, hint=hint)

    for name, value, ref, partner in (("dJ_dw", dw, gw, gb), ("dJ_db", db, gb, gw)):
        slips = {-ref: "the residual is prediction minus target (w x + b - y); with "
                       "predictions below the targets the gradient is negative.",
                 2 * ref: "with the 1/(2m) convention the 2 of the derivative cancels "
                          "the 1/2: no factor 2.",
                 m * ref: "that is a sum over the four houses: J averages, so divide "
                          "by m = 4.",
                 partner: "you swapped the two derivatives: dJ/dw multiplies each "
                          "residual by its x_i, dJ/db does not."}
        hint = next((h for v, h in slips.items() if _near(value, v)), None)
        close(ex, name, value, ref, hint=hint)

    for name, value, start, grad in (("w1", w1, w0, gw), ("b1", b1, b0, gb)):
        ref = start - lr * grad
        slips = {start + lr * grad: "gradient DEscent subtracts: new = old - lr * gradient.",
                 start - grad: "multiply the gradient by the learning rate 0.05.",
                 start: "the parameter did not move: new = old - lr * gradient."}
        hint = next((h for v, h in slips.items() if _near(value, v)), None)
        close(ex, name, value, ref, hint=hint)
    passed(ex, f"J0 = {fmt(cost)}, dJ/dw = {fmt(gw)}, dJ/db = {fmt(gb)}, "
               f"w1 = {fmt(w0 - lr * gw)}, b1 = {fmt(b0 - lr * gb)}.")


# ---------------------------------------------------------------------------
# Exercise 1.2
# ---------------------------------------------------------------------------


def _reference_path(problem: Any, x0: Any, lr: float, num_steps: int) -> np.ndarray:
    return trajectory(problem, lambda params: SGD(params, lr=lr), x0, num_steps)


def _path_hint(got: np.ndarray, expected: np.ndarray, x0: np.ndarray, lr: float,
               problem: Any) -> str | None:
    """Recognise the usual mistakes from a wrong path (same shape as expected)."""
    if len(got) > 2 and np.allclose(got, got[-1]) and not np.allclose(expected, expected[-1]):
        return ("every row is the same: you stored the same array object at every step "
                "(an in-place update changes all of them). Store a copy, e.g. "
                "path.append(x.copy()).")
    g0 = np.asarray(problem.grad(x0), dtype=float)
    if len(got) > 1 and np.allclose(got[1], x0 + lr * g0):
        return "the first step went uphill: subtract lr * gradient, do not add it."
    if len(got) > 1 and np.allclose(got[1], x0 - g0):
        return "the first step ignores the rate: x <- x - lr * grad(x)."
    if len(got) > 2 and np.allclose(got[:-1], expected[1:]):
        return "row 0 must be the start x0, row t the iterate after t updates."
    return ("row t + 1 is x_t - lr * grad(x_t), with the gradient taken at the current "
            "iterate x_t.")


def gradient_descent(func: Callable[..., Any]) -> None:
    r"""Check Exercise 1.2: ``gradient_descent(grad, x0, lr, num_steps)``.

    Parameters
    ----------
    func : callable
        The learner's function. It must return every iterate as an array of shape
        ``(num_steps + 1, *np.shape(x0))``: row 0 is ``x0``, row ``t`` the point
        after ``t`` updates :math:`x_{t+1} = x_t - \eta\, \nabla f(x_t)`.

    Raises
    ------
    CheckFailed
        On the first case that fails. The cases: a 1-D quadratic with an oscillating
        rate (scalar start), a rotated ravine (array start), zero steps, a start
        given as a list of ints, a diverging rate (the loop must not stop early),
        and a start array that must come back unchanged.
    """
    ex = "1.2"
    quad, ravine = Quadratic1D(L=4.0), Ravine(mu=1.0, L=25.0, angle=30.0)
    cases = [
        ("1-D quadratic f = 2x^2, x0 = 1.0, lr = 0.45, 6 steps", quad, 1.0, 0.45, 6),
        ("ravine (mu=1, L=25, angle=30), x0 = [-4.0, 1.0], lr = 0.07, 25 steps", ravine,
         np.array([-4.0, 1.0]), 0.07, 25),
        ("ravine, x0 = [-4.0, 1.0], num_steps = 0", ravine, np.array([-4.0, 1.0]), 0.07, 0),
        ("ravine, x0 = [-4, 1] given as a list of ints, lr = 0.05, 10 steps", ravine,
         [-4, 1], 0.05, 10),
        ("1-D quadratic f = 2x^2, x0 = 1.0, lr = 0.6 (diverging), 12 steps", quad, 1.0,
         0.6, 12),
    ]
    for label, problem, x0, lr, n in cases:
        x0_before = np.array(x0, dtype=float)
        given = x0.copy() if isinstance(x0, np.ndarray) else list(x0) if isinstance(
            x0, list) else x0
        try:
            got = call(ex, func, problem.grad, given, lr, n, what="gradient_descent")
        except AssertionError as error:
            hint = None
            if isinstance(x0, list):
                hint = ("an int array cannot be updated in place with floats: start from "
                        "x = np.array(x0, dtype=float).")
            fail(ex, f"{label}: {str(error).split(': ', 1)[1]}", hint)
        expected = _reference_path(problem, x0, lr, n)
        arr = array(ex, "the returned path", got)
        if arr.shape != expected.shape:
            hint = None
            if arr.shape[:1] == (n,) and n > 0:
                hint = "include the starting point: row 0 is x0, so there are num_steps + 1 rows."
            elif arr.shape[:1] == (n + 2,):
                hint = "one update too many: num_steps updates give num_steps + 1 rows."
            elif 0 < arr.shape[0] < n and arr.shape[1:] == expected.shape[1:]:
                hint = ("return every iterate, even when the run diverges: do not stop "
                        "early (the values may grow to inf, and that is the answer).")
            rows = ("numbers" if x0_before.ndim == 0
                    else f"rows of shape {x0_before.shape}")
            fail(ex, f"{label}: expected a path of shape {expected.shape} (num_steps + 1 "
                     f"{rows}), got shape {arr.shape}.", hint)
        bad = ~np.isclose(arr, expected, rtol=1e-9, atol=1e-12)
        if bad.any():
            t = int(np.flatnonzero(bad.reshape(len(arr), -1).any(axis=1))[0])
            fail(ex, f"{label}: row {t}: expected {fmt(expected[t])}, got {fmt(arr[t])}.",
                 _path_hint(arr, expected, x0_before, lr, problem))
        if isinstance(given, np.ndarray) and not np.array_equal(given, x0_before):
            fail(ex, f"{label}: your function changed the caller's x0 to {fmt(given)}.",
                 "copy the start before updating it: x = np.array(x0, dtype=float).")
    passed(ex, f"{len(cases)} cases agree with lrlib (scalar and array starts, 0 steps, "
               "int start, a diverging rate).")


# ---------------------------------------------------------------------------
# Exercise 1.3
# ---------------------------------------------------------------------------


def _stable_rate_cases() -> list[tuple[str, Any, Any, float]]:
    x, y = noisy_line(seed=0)
    return [
        ("1-D quadratic f = 2x^2 (L = 4), x0 = 1.0, lr_high = 2.0", Quadratic1D(L=4.0), 1.0,
         2.0),
        ("ravine (mu=1, L=25, angle=30), x0 = [1.0, 1.0], lr_high = 10.0",
         Ravine(mu=1.0, L=25.0, angle=30.0), np.array([1.0, 1.0]), 10.0),
        ("noisy-line regression (seed 0), x0 = [0.0, 0.0], lr_high = 100.0",
         LinearRegression(x, y), np.array([0.0, 0.0]), 100.0),
    ]


def largest_stable_rate(func: Callable[..., Any], *, rtol: float = 0.02) -> None:
    r"""Check Exercise 1.3: ``largest_stable_rate(problem, x0, lr_high)`` by bisection.

    Parameters
    ----------
    func : callable
        The learner's function. Given a problem of :mod:`lrlib.problems` (with
        ``grad`` and ``minimum``), a start ``x0`` and a rate ``lr_high`` at which
        gradient descent diverges, it returns the largest rate at which gradient
        descent from ``x0`` does not diverge, found by running it.
    rtol : float, default=0.02
        Allowed relative distance from the theory, :math:`2 / \lambda_{\max}`.

    Raises
    ------
    CheckFailed
        On the first problem whose answer is off. The problems: a 1-D quadratic, a
        rotated ravine where the runs at large rates overflow to ``inf`` and ``nan``
        (a test like ``dist > dist0`` is False for ``nan``, the usual slip), and the
        noisy-line regression, whose :math:`w` and :math:`b` are coupled.
    """
    ex = "1.3"
    results = []
    for label, problem, x0, lr_high in _stable_rate_cases():
        got = call(ex, func, problem, x0, lr_high, what="largest_stable_rate")
        value = number(ex, f"the rate for {label}", got)
        theory = problem.max_stable_lr
        if math.isclose(value, theory, rel_tol=rtol):
            results.append(f"{value:.4g} vs {theory:.4g}")
            continue
        if value >= 0.9 * lr_high:
            hint = ("your search never saw a divergence. A run that blows up ends in inf "
                    "or nan, and every comparison with nan is False: count a run as "
                    "diverged unless its final distance is finite (np.isfinite) and no "
                    "larger than at the start.")
        elif math.isclose(value, theory / 2, rel_tol=rtol):
            hint = ("that is 1/lambda_max, where the iterates start to change sign. "
                    "Oscillating runs still converge while |1 - lr * lambda| < 1: test "
                    "whether the distance to the minimum grows, not its sign.")
        elif value < theory:
            hint = ("too small: keep the lower end of the bracket at a rate that converged "
                    "and the upper end at one that diverged, and bisect until they are close.")
        else:
            hint = ("too large: just above the limit a run grows only slowly. Run enough "
                    "steps (a few hundred) and compare the final distance with the start.")
        fail(ex, f"{label}: expected about {fmt(theory)} (2 / lambda_max, within "
                 f"{rtol:.0%}), got {fmt(value)}.", hint)
    passed(ex, "empirical vs theory: " + "; ".join(results) + ".")
