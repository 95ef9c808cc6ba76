r"""Checks for the exercises of chapter 3, adaptive learning rates.

One function per exercise; each takes the learner's function, runs it on several
inputs and either prints one confirmation line or raises
:class:`lrlib.checks.CheckFailed` saying which input or step is wrong, what was
expected and what came back, with a hint at the usual mistake.

* :func:`adam_two_steps` (Exercise 3.1, by hand): the parameter after each of two
  Adam steps with given gradients (:data:`ADAM_TWO_STEPS`).
* :func:`rmsprop_step` (Exercise 3.2, implement): one RMSprop update in PyTorch's
  form, returning the new parameter and the new running average.
* :func:`beta2_sweep` (Exercise 3.3, experiment): the mean and the standard deviation
  over seeds of Adam's final cost on the noisy ravine (:data:`NOISY_RAVINE`,
  :func:`noisy_final_cost`, which the notebook imports as ``final_cost``), for several
  :math:`\beta_2`.

The reference answers are computed here with :mod:`lrlib.optim` and
:mod:`lrlib.problems`, never typed in.

Notes
-----
RMSprop in PyTorch's form (no bias correction, :math:`\epsilon` outside the root):

.. math::

    v_t = \alpha\, v_{t-1} + (1 - \alpha)\, g_t^2, \qquad
    \theta_t = \theta_{t-1} - \frac{\eta\, g_t}{\sqrt{v_t} + \epsilon}.

Examples
--------
>>> from lrlib import checks
>>> def my_adam_two_steps():
...     return 0.9, 0.8734
>>> checks.ch03.adam_two_steps(my_adam_two_steps)
✓ Exercise 3.1 passed: theta1 = 0.9, theta2 = 0.873366 (to 4 decimals).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lrlib.checks._core import array, call, close, fail, fmt, number, passed
from lrlib.optim import Adam, adam_update, rmsprop_update
from lrlib.problems import Ravine

__all__ = ["ADAM_TWO_STEPS", "NOISY_RAVINE", "adam_two_steps", "beta2_sweep",
           "noisy_final_cost", "rmsprop_step"]

ADAM_TWO_STEPS = {"theta0": 1.0, "lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                  "grads": (2.0, -1.0)}
"""The start, hyperparameters and given gradients of Exercise 3.1."""

NOISY_RAVINE = {"x0": (-4.0, 1.0), "lr": 0.05, "beta1": 0.9, "sigma": 2.0,
                "num_steps": 500, "last": 100}
"""The protocol of Exercise 3.3 (see :func:`noisy_final_cost`)."""


# ---------------------------------------------------------------------------
# Exercise 3.1
# ---------------------------------------------------------------------------


def _adam_steps(grads, *, correct_m=True, correct_v=True, t_offset=0, carry_m=True,
                carry_v=True) -> list[float]:
    """The signed changes of theta made by Adam's steps, optionally with a typical slip."""
    p = ADAM_TWO_STEPS
    b1, b2, lr, eps = p["beta1"], p["beta2"], p["lr"], p["eps"]
    m, v, out = 0.0, 0.0, []
    for t, g in enumerate(grads, start=1):
        m = (b1 * m if carry_m else 0.0) + (1 - b1) * g
        v = (b2 * v if carry_v else 0.0) + (1 - b2) * g * g
        k = max(t - t_offset, 1)
        m_hat = m / (1 - b1**k) if correct_m else m
        v_hat = v / (1 - b2**k) if correct_v else v
        out.append(-lr * m_hat / (math.sqrt(v_hat) + eps))
    return out


def adam_two_steps(func: Callable[[], Any]) -> None:
    r"""Check Exercise 3.1: two Adam steps by hand.

    Parameters
    ----------
    func : callable
        Takes no argument and returns ``(theta1, theta2)``: the parameter after the
        first and after the second Adam step, for the start, hyperparameters and
        gradients of :data:`ADAM_TWO_STEPS` (:math:`\theta_0 = 1`, :math:`\eta = 0.1`,
        :math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`, gradients 2 and -1).
        Four decimals are enough.

    Raises
    ------
    CheckFailed
        Naming the first wrong value, expected versus got, with a hint when the value
        matches a typical slip (no bias correction, only one of the two corrections,
        the step counter not advanced, the moments restarted, the sign of a step).
    """
    ex = "3.1"
    tol = 5e-4
    got = call(ex, func, what="adam_two_steps")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(ex, f"return two numbers (theta1, theta2), got {fmt(got)}.")
    theta1, theta2 = (number(ex, name, v) for name, v in zip(("theta1", "theta2"), got,
                                                              strict=True))
    grads = ADAM_TWO_STEPS["grads"]
    state, theta = {}, np.array([ADAM_TWO_STEPS["theta0"]])
    ref = []
    for g in grads:
        adam_update(theta, np.array([g]), state, lr=ADAM_TWO_STEPS["lr"],
                    beta1=ADAM_TWO_STEPS["beta1"], beta2=ADAM_TWO_STEPS["beta2"],
                    eps=ADAM_TWO_STEPS["eps"])
        ref.append(float(theta[0]))

    lr, theta0 = ADAM_TWO_STEPS["lr"], ADAM_TWO_STEPS["theta0"]
    slips1 = {
        theta0 + _adam_steps(grads, correct_m=False, correct_v=False)[0]:
            "that is the step without bias correction: divide m by 1 - beta1**t and v by "
            "1 - beta2**t (t = 1 here), so the first step is lr * sign(g).",
        theta0 + _adam_steps(grads, correct_v=False)[0]:
            "you corrected m but not v: v_hat = v / (1 - beta2**t).",
        theta0 + _adam_steps(grads, correct_m=False)[0]:
            "you corrected v but not m: m_hat = m / (1 - beta1**t).",
        2 * theta0 - ref[0]: "the step went uphill: theta <- theta - lr * m_hat / "
                             "(sqrt(v_hat) + eps).",
        theta0 - lr * grads[0]: "that is a plain SGD step: Adam divides m_hat by "
                                "sqrt(v_hat).",
    }
    hint = next((h for v, h in slips1.items() if abs(theta1 - v) < tol),
                "m1 = (1 - beta1) g1, v1 = (1 - beta2) g1**2; correct both, then "
                "theta1 = theta0 - lr * m_hat / (sqrt(v_hat) + eps).")
    close(ex, "theta1", theta1, ref[0], atol=tol, rtol=0.0, hint=hint)

    # second-step slips, each applied to the correct theta1
    slips2 = {
        ref[0] + _adam_steps(grads, t_offset=1)[1]:
            "you used the bias corrections of step 1 again: at step 2 divide by "
            "1 - beta1**2 and 1 - beta2**2.",
        ref[0] + _adam_steps(grads, correct_m=False, correct_v=False)[1]:
            "the second step needs the bias corrections too (with t = 2).",
        ref[0] + _adam_steps((grads[0], -grads[1]))[1]:
            "check the sign of the second gradient: g2 = -1.",
        ref[0] + _adam_steps(grads, carry_m=False, carry_v=False, t_offset=1)[1]:
            "step 2 is not a fresh start: m and v carry over from step 1 and t = 2.",
        ref[0] + _adam_steps(grads, carry_m=False)[1]:
            "m must carry over: m2 = beta1 * m1 + (1 - beta1) * g2, not (1 - beta1) * g2 "
            "alone.",
        ref[0] + _adam_steps(grads, carry_v=False)[1]:
            "v must carry over: v2 = beta2 * v1 + (1 - beta2) * g2**2.",
        theta0 + (ref[1] - ref[0]):
            "theta2 is theta1 minus the second step, not theta0 minus it.",
        2 * ref[0] - ref[1]: "the second step moves theta down too (m2 is still "
                             "positive), so subtract it.",
    }
    hint = next((h for v, h in slips2.items() if abs(theta2 - v) < tol),
                "m2 = 0.9 m1 + 0.1 g2, v2 = 0.999 v1 + 0.001 g2**2, divide by "
                "1 - 0.9**2 and 1 - 0.999**2, then take the step from theta1.")
    close(ex, "theta2", theta2, ref[1], atol=tol, rtol=0.0, hint=hint)
    passed(ex, f"theta1 = {fmt(round(ref[0], 6))}, theta2 = {fmt(round(ref[1], 6))} "
               "(to 4 decimals).")


# ---------------------------------------------------------------------------
# Exercise 3.2
# ---------------------------------------------------------------------------


def _rms_variants(param, grad, v, lr, alpha, eps) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The new (param, square_avg) of typical slips, keyed by their hint."""
    out = {}
    v_no_weight = alpha * v + grad**2
    out["the new squared gradient is weighted by (1 - alpha): "
        "v = alpha * v + (1 - alpha) * g**2."] = (
        param - lr * grad / (np.sqrt(v_no_weight) + eps), v_no_weight)
    v_swapped = (1 - alpha) * v + alpha * grad**2
    out["alpha is the weight of the OLD average: v = alpha * v + (1 - alpha) * g**2."] = (
        param - lr * grad / (np.sqrt(v_swapped) + eps), v_swapped)
    v_new = alpha * v + (1 - alpha) * grad**2
    out["PyTorch adds eps outside the square root: sqrt(v) + eps (Keras puts it "
        "inside)."] = (param - lr * grad / np.sqrt(v_new + eps), v_new)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["update square_avg first, then divide by the root of the NEW average."] = (
            param - lr * grad / (np.sqrt(v) + eps), v_new)
    out["divide by the square ROOT of the average: sqrt(v) + eps."] = (
        param - lr * grad / (v_new + eps), v_new)
    out["the step goes against the gradient: param - lr * g / (sqrt(v) + eps)."] = (
        param + lr * grad / (np.sqrt(v_new) + eps), v_new)
    return out


def _gap(got: np.ndarray, expected: np.ndarray) -> str:
    """A note with the largest difference, when it is too small to see in the values."""
    diff = float(np.max(np.abs(got - expected)))
    return f" (largest difference {diff:.2e})" if diff < 1e-3 else ""


def _rms_cases(rng: np.random.Generator) -> list[tuple[str, list[tuple]]]:
    """Cases: (label, [(param, grad, square_avg, lr, alpha, eps), ...] step by step)."""
    cases = [("first step from square_avg = 0 (alpha = 0.99, lr = 0.01)",
              [(np.array([1.0, -2.0]), np.array([0.5, -4.0]), np.zeros(2), 0.01, 0.99,
                1e-8)]),
             ("tiny gradients 1e-7 (where eps matters), alpha = 0.99, lr = 0.01",
              [(np.array([1.0, 1.0]), np.array([1e-7, -1e-7]), np.zeros(2), 0.01, 0.99,
                1e-8)]),
             ("alpha = 0 (the average is the latest g**2), lr = 0.1",
              [(np.array([0.3, -0.2, 5.0]), np.array([2.0, -0.01, 30.0]),
                np.array([1.0, 1.0, 1.0]), 0.1, 0.0, 1e-8)]),
             ("a 2x3 parameter with a non-zero average, alpha = 0.9, eps = 1e-3",
              [(rng.normal(size=(2, 3)), rng.normal(size=(2, 3)),
                rng.uniform(0.1, 2.0, size=(2, 3)), 0.05, 0.9, 1e-3)])]
    steps = [(rng.normal(size=3), 0.02, 0.9, 1e-8) for _ in range(5)]
    cases.append(("five steps in a row (alpha = 0.9, lr = 0.02), step k fed the "
                  "reference state", [(None, g, None, lr, a, e) for g, lr, a, e in steps]))
    return cases


def rmsprop_step(func: Callable[..., Any]) -> None:
    r"""Check Exercise 3.2: ``rmsprop_step(param, grad, square_avg, lr, alpha, eps)``.

    Parameters
    ----------
    func : callable
        The learner's function, called as
        ``func(param, grad, square_avg, lr=..., alpha=..., eps=...)`` with float
        arrays (copies; it may change them in place). It must return
        ``(new_param, new_square_avg)`` as in ``torch.optim.RMSprop`` without
        momentum, centering or weight decay (see the module's Notes).

    Raises
    ------
    CheckFailed
        On the first case that fails. The cases: a first step from a zero average;
        gradients of 1e-7, where the place of ``eps`` decides the step; ``alpha = 0``;
        a 2x3 parameter with a non-zero average and a large ``eps``; five steps in a
        row, each started from the reference state, so that an error is reported at
        the step where it happens.
    """
    ex = "3.2"
    rng = np.random.default_rng(3)
    for label, steps in _rms_cases(rng):
        param, v = np.array([0.5, -1.0, 2.0]), np.zeros(3)
        for k, (p0, grad, v0, lr, alpha, eps) in enumerate(steps, start=1):
            if p0 is not None:
                param, v = p0, v0
            where = label if len(steps) == 1 else f"{label}: step {k}"
            state = {"square_avg": v.copy()}
            ref_param = param.copy()
            rmsprop_update(ref_param, grad, state, lr=lr, alpha=alpha, eps=eps)
            ref_v = state["square_avg"]
            got = call(ex, func, param.copy(), grad.copy(), v.copy(), lr=lr, alpha=alpha,
                       eps=eps, what="rmsprop_step")
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                fail(ex, f"{where}: return a pair (new_param, new_square_avg), got "
                         f"{fmt(got)}.")
            new_param = array(ex, "new_param", got[0], shape=param.shape)
            new_v = array(ex, "new_square_avg", got[1], shape=param.shape)
            if not (np.allclose(new_param, ref_param, rtol=1e-9, atol=1e-15)
                    and np.allclose(new_v, ref_v, rtol=1e-9, atol=1e-30)):
                if (np.allclose(new_param, ref_v, rtol=1e-9, atol=1e-30)
                        and np.allclose(new_v, ref_param, rtol=1e-9, atol=1e-15)):
                    fail(ex, f"{where}: the two results are swapped.",
                         "return (new_param, new_square_avg), in that order.")
                hint = next((h for h, (vp, vv) in _rms_variants(param, grad, v, lr, alpha,
                                                                eps).items()
                             if np.allclose(new_param, vp, rtol=1e-9, atol=1e-15)
                             and np.allclose(new_v, vv, rtol=1e-9, atol=1e-30)), None)
                if not np.allclose(new_v, ref_v, rtol=1e-9, atol=1e-30):
                    fail(ex, f"{where}: expected new_square_avg = {fmt(ref_v)}, got "
                             f"{fmt(new_v)}{_gap(new_v, ref_v)}.",
                         hint or "v = alpha * square_avg + (1 - alpha) * grad**2.")
                fail(ex, f"{where}: expected new_param = {fmt(ref_param)}, got "
                         f"{fmt(new_param)}{_gap(new_param, ref_param)}.",
                     hint or "param - lr * grad / (sqrt(v) + eps), with the NEW v.")
            param, v = ref_param, ref_v
    passed(ex, "rmsprop_step matches torch.optim.RMSprop's update on 5 cases "
               "(first step, tiny gradients, alpha = 0, a matrix, five steps in a row).")


# ---------------------------------------------------------------------------
# Exercise 3.3
# ---------------------------------------------------------------------------


def noisy_final_cost(beta2: float, seed: int, *, num_steps: int = NOISY_RAVINE["num_steps"],
                     last: int = NOISY_RAVINE["last"]) -> float:
    r"""Return the result of one run of the protocol of Exercise 3.3.

    Parameters
    ----------
    beta2 : float
        Adam's :math:`\beta_2`, in [0, 1).
    seed : int
        Seed of the noise generator, >= 0.
    num_steps : int, default=500
        Number of Adam steps, >= 1.
    last : int, default=100
        Number of final steps whose costs are averaged, from 1 to ``num_steps``.

    Returns
    -------
    float
        The mean cost over the last ``last`` of ``num_steps`` Adam steps.

    Raises
    ------
    ValueError
        If ``last`` is not between 1 and ``num_steps``.

    Notes
    -----
    Adam (``lr = 0.05``, ``betas = (0.9, beta2)``) starts at :math:`(-4, 1)` on
    ``Ravine()``. Each step adds ``2.0 * rng.normal(size=2)`` to the exact gradient,
    with ``rng = np.random.default_rng(seed)`` made once per run, so a seed gives the
    same noise for every ``beta2``; the cost is recorded after each step. The notebook
    imports this function as ``final_cost``; the check of Exercise 3.3 uses the
    defaults (:data:`NOISY_RAVINE`).

    Examples
    --------
    >>> from lrlib.checks.ch03 import noisy_final_cost
    >>> print(f"{noisy_final_cost(0.999, 0):.4f}")
    0.0293
    """
    if not 1 <= last <= num_steps:
        raise ValueError(f"noisy_final_cost: last must be between 1 and num_steps "
                         f"({num_steps}), got {last}")
    p = NOISY_RAVINE
    ravine = Ravine()
    noise = np.random.default_rng(seed)
    x = np.array(p["x0"])
    opt = Adam(x, lr=p["lr"], betas=(p["beta1"], beta2))
    costs = []
    for _ in range(num_steps):
        opt.step(ravine.grad(x) + p["sigma"] * noise.normal(size=2))
        costs.append(ravine.loss(x))
    return float(np.mean(costs[-last:]))


def beta2_sweep(func: Callable[..., Any]) -> None:
    r"""Check Exercise 3.3: ``beta2_sweep(beta2_values, seeds)``.

    Parameters
    ----------
    func : callable
        The learner's function. For a sequence of :math:`\beta_2` values and a
        sequence (or range) of seeds it must return ``(means, stds)``: two arrays with
        one number per :math:`\beta_2`, the mean and the standard deviation
        (``np.std``, ``ddof=0``) over the seeds of :func:`noisy_final_cost` (the
        notebook's ``final_cost``).

    Raises
    ------
    CheckFailed
        On the first case that fails. The cases: two values over two seeds, one value
        over a single seed given as a ``range`` (its spread is 0), and three values
        given as a tuple over seeds that do not start at 0.
    """
    ex = "3.3"
    cases = [([0.5, 0.999], [0, 1]), ([0.9], range(3, 4)), ((0.99, 0.9, 0.9999), [2, 5])]
    for betas, seeds in cases:
        label = f"beta2_values = {list(betas)}, seeds = {list(seeds)}"
        table = np.array([[noisy_final_cost(b, s) for s in seeds] for b in betas])
        mean, std = table.mean(axis=1), table.std(axis=1)
        got = call(ex, func, betas, seeds, what="beta2_sweep")
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail(ex, f"{label}: return a pair (means, stds), got {fmt(got)}.")
        means = array(ex, "means", got[0])
        stds = array(ex, "stds", got[1])
        for name, arr in (("means", means), ("stds", stds)):
            if arr.shape != mean.shape:
                fail(ex, f"{label}: expected {name} with one value per beta2 (shape "
                         f"{mean.shape}), got shape {arr.shape}.",
                     "average over the seeds: one number per beta2, e.g. "
                     "np.mean(table, axis=1)." if arr.shape == table.shape else None)
        if np.allclose(means, std, rtol=1e-9) and np.allclose(stds, mean, rtol=1e-9) \
                and not np.allclose(mean, std, rtol=1e-9):
            fail(ex, f"{label}: means and stds are swapped.", "return (means, stds).")
        if not np.allclose(means, mean, rtol=1e-9, atol=0.0):
            hint = None
            if np.allclose(means, table.sum(axis=1), rtol=1e-9):
                hint = "that is the sum over the seeds: divide by the number of seeds."
            elif np.allclose(means, table[:, 0], rtol=1e-9):
                hint = "only the first seed was used: average over every seed."
            elif np.allclose(np.sort(means), np.sort(mean), rtol=1e-9):
                hint = "the values are in the wrong order: one per beta2, in the given order."
            fail(ex, f"{label}: expected means = {fmt(mean)}, got {fmt(means)}.",
                 hint or "call final_cost(beta2, seed) for every seed (unchanged) and "
                         "average.")
        if not np.allclose(stds, std, rtol=1e-9, atol=1e-15):
            hint = None
            if table.shape[1] > 1 and np.allclose(stds, table.std(axis=1, ddof=1),
                                                  rtol=1e-9):
                hint = "use np.std's default ddof=0 (the spread of these seeds)."
            elif np.allclose(stds, table.var(axis=1), rtol=1e-9):
                hint = "that is the variance: take its square root (np.std)."
            fail(ex, f"{label}: expected stds = {fmt(std)}, got {fmt(stds)}.",
                 hint or "the standard deviation over the seeds, np.std(..., axis=1).")
    passed(ex, "beta2_sweep gives the mean and spread of final_cost over the seeds on "
               "3 cases.")
