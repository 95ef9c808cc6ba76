r"""Checks for the exercises of chapter 5, warm-up, large batches and scaling out.

One function per exercise; each calls the learner's function, compares the result with
the reference on several inputs and either prints one confirmation line or raises
:class:`lrlib.checks.CheckFailed` saying which input or step is wrong, what was expected
and what came back, with a hint at the usual mistake.

* :func:`warmup_cosine_values` (Exercise 5.1, by hand): seven rates of a linear warm-up
  into a cosine decay, worked out on paper.
* :func:`exponential_warmup` (Exercise 5.2, implement): an exponential (geometric)
  warm-up in front of any schedule.
* :func:`stable_warmup` (Exercise 5.3, experiment): the peak-loss ratio of one epoch of
  Adam on MNIST-1D behind a warm-up, and the search for the shortest warm-up in a list
  that keeps a high rate stable.

The reference values come from :func:`lrlib.schedules.warmup` and
:func:`lrlib.train.train`, never typed in.

Notes
-----
With :math:`W` warm-up steps, start factor :math:`f` and the schedule :math:`S` that
follows, the warm-up rates for :math:`t < W` are

.. math::

    \eta_t = S(0)\bigl(f + (1 - f)\,t/W\bigr) \ \text{(linear)}, \qquad
    \eta_t = S(0)\, f^{\,1 - t/W} \ \text{(exponential)},

and :math:`\eta_t = S(t - W)` from :math:`t = W` on: the schedule starts at its own
step 0 when the warm-up ends.

Examples
--------
>>> from lrlib import checks
>>> def my_values():
...     return 0.0, 0.08, 0.18, 0.2, 0.15, 0.1, 0.0
>>> checks.ch05.warmup_cosine_values(my_values)
✓ Exercise 5.1 passed: t = 0, 4, 9, 10, 40, 55, 100 give 0, 0.08, 0.18, 0.2, 0.15, 0.1, 0.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from lrlib import schedules as S
from lrlib.checks._core import CheckFailed, call, fail, fmt, number, passed

__all__ = ["STABLE_WARMUP_RECIPE", "WARMUP_COSINE_PROBLEM", "exponential_warmup",
           "reference_peak_ratio", "stable_warmup", "warmup_cosine_values"]


def _near(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


# ---------------------------------------------------------------------------
# Exercise 5.1
# ---------------------------------------------------------------------------

WARMUP_COSINE_PROBLEM = {"lr": 0.2, "T_max": 90, "warmup_steps": 10, "start_factor": 0.0,
                         "steps": (0, 4, 9, 10, 40, 55, 100)}
"""The schedule ``warmup(cosine(lr=0.2, T_max=90), 10)`` and the steps of Exercise 5.1."""


def _half_cosine(lr: float, t: float, T: float) -> float:
    return lr * (1 + math.cos(math.pi * t / T)) / 2


def _cosine_slips(t: int) -> dict[float, str]:
    """Values that typical mistakes give at step ``t``, each with its hint."""
    p = WARMUP_COSINE_PROBLEM
    lr, T, W = p["lr"], p["T_max"], p["warmup_steps"]
    slips: dict[float, str] = {}
    if t < W:
        slips[lr * t / (W - 1)] = (
            "the ramp reaches the peak at step W = 10, not at step 9: at step t < 10 the "
            "rate is 0.2 * t / 10.")
        slips[lr * (1 / 3 + (2 / 3) * t / W)] = (
            "the start factor here is 0 (torch's LinearLR defaults to 1/3 and cannot "
            "start at 0): the ramp is 0.2 * t / 10.")
        slips[lr * (t + 1) / W] = (
            "one step ahead: step t of the warm-up uses 0.2 * t / 10, so step 0 uses 0.")
    else:
        slips[_half_cosine(lr, t, T)] = (
            "the cosine starts at its own step 0 when the warm-up ends: use S(t - 10), "
            "not S(t).")
        slips[_half_cosine(lr, t - W, T - W)] = (
            "T_max = 90 is the length of the cosine itself, after the warm-up; do not "
            "subtract the warm-up from it.")
        slips[2 * _half_cosine(lr, t - W, T)] = (
            "the cosine is 0.2 * (1 + cos(pi * s / 90)) / 2: do not forget the 1/2.")
        slips[lr * math.cos(math.pi * (t - W) / (2 * T))] = (
            "cosine annealing is (1 + cos(pi * s / T_max)) / 2, half a period of a cosine "
            "shifted up, not cos(pi * s / (2 T_max)).")
    return slips


def warmup_cosine_values(func: Callable[[], Any]) -> None:
    r"""Check Exercise 5.1: seven rates of a linear warm-up into a cosine, by hand.

    Parameters
    ----------
    func : callable
        Takes no argument and returns the rates at steps 0, 4, 9, 10, 40, 55 and 100 (in
        that order) of ``warmup(cosine(lr=0.2, T_max=90), warmup_steps=10,
        start_factor=0.0)`` (see :data:`WARMUP_COSINE_PROBLEM`).

    Raises
    ------
    CheckFailed
        Naming the first wrong rate, expected versus got, with a hint when the value
        matches a typical slip: a ramp that peaks one step early, torch's default start
        factor of 1/3, the cosine evaluated at ``t`` instead of ``t - W``, a cosine
        shortened by the warm-up, or a missing factor 1/2.
    """
    ex = "5.1"
    p = WARMUP_COSINE_PROBLEM
    steps = p["steps"]
    got = call(ex, func, what="warmup_cosine_by_hand")
    if not isinstance(got, (tuple, list, np.ndarray)) or len(got) != len(steps):
        fail(ex, f"return {len(steps)} rates, one for each of t = "
                 f"{', '.join(map(str, steps))}, got {fmt(got)}.")
    sched = S.warmup(S.cosine(lr=p["lr"], T_max=p["T_max"]), warmup_steps=p["warmup_steps"],
                     start_factor=p["start_factor"])
    for t, value in zip(steps, got, strict=True):
        value = number(ex, f"the rate at t = {t}", value)
        ref = sched(t)
        hint = next((h for v, h in _cosine_slips(t).items()
                     if not _near(v, ref) and _near(value, v)),
                    "below step 10 the rate is 0.2 * t / 10; from step 10 on it is "
                    "0.2 * (1 + cos(pi * (t - 10) / 90)) / 2.")
        if not math.isclose(value, ref, rel_tol=1e-6, abs_tol=1e-9):
            fail(ex, f"t = {t}: expected the rate {fmt(ref)}, got {fmt(value)}.", hint)
    values = ", ".join(fmt(sched(t)) for t in steps)
    passed(ex, f"t = {', '.join(map(str, steps))} give {values}.")


# ---------------------------------------------------------------------------
# Exercise 5.2
# ---------------------------------------------------------------------------

_EXP_CASES = [
    # label, schedule, warmup_steps, start_factor, steps
    ("cosine(lr=0.1, T_max=50), warmup_steps=10, start_factor=0.01",
     S.cosine(lr=0.1, T_max=50), 10, 0.01, range(41)),
    ("step(lr=1.0, step_size=3, gamma=0.5), warmup_steps=5, start_factor=0.1",
     S.step(lr=1.0, step_size=3, gamma=0.5), 5, 0.1, range(21)),
    ("constant(lr=0.3), warmup_steps=1, start_factor=0.5",
     S.constant(lr=0.3), 1, 0.5, range(4)),
    ("cosine(lr=0.2, T_max=10), warmup_steps=3, start_factor=1.0 (no ramp at all)",
     S.cosine(lr=0.2, T_max=10), 3, 1.0, range(16)),
]


def _exp_slips(sched: S.Schedule, W: int, f: float, t: int) -> dict[float, str]:
    """Values that typical mistakes give at step ``t``, each with its hint."""
    s0, st = sched(0), sched(t)
    slips: dict[float, str] = {}
    if t < W:
        slips[s0 * (f + (1 - f) * t / W)] = (
            "that is a linear ramp. An exponential warm-up multiplies the rate by the "
            "same factor every step: S(0) * f ** (1 - t / W).")
        slips[s0 * f ** (t / W)] = (
            "the exponent is reversed: the ramp starts at f * S(0) (t = 0) and reaches "
            "S(0) at t = W, so the exponent is 1 - t / W.")
        if W > 1:
            slips[s0 * f ** (1 - t / (W - 1))] = (
                "the ramp reaches S(0) one step early: divide by W, not W - 1 (step W is "
                "the first step of the schedule itself).")
        slips[st * f ** (1 - t / W)] = (
            "ramp towards S(0), the rate the schedule starts with, not S(t).")
        slips[s0 * f] = (
            "the rate stays at f * S(0): t / W must be a true division (t // W is 0 for "
            "every t < W, which gives a constant warm-up).")
        slips[f ** (1 - t / W)] = (
            "that is the factor alone: multiply it by S(0), the schedule's first rate.")
    else:
        slips[st] = ("after the warm-up the schedule starts at its own step 0: return "
                     "S(t - W), not S(t).")
        if t - W - 1 >= 0:
            slips[sched(t - W - 1)] = ("one step late: at t = W the rate is S(0), so at "
                                       "step t it is S(t - W).")
    return slips


def exponential_warmup(func: Callable[..., Any]) -> None:
    r"""Check Exercise 5.2: ``exponential_warmup(schedule, warmup_steps, start_factor)``.

    Parameters
    ----------
    func : callable
        The learner's function. Given an lrlib schedule :math:`S`, a number of warm-up
        steps :math:`W \ge 1` and a start factor :math:`f \in (0, 1]`, it returns a
        function of the step ``t`` (an int >= 0) giving :math:`S(0) f^{1 - t/W}` for
        :math:`t < W` and :math:`S(t - W)` from then on.

    Raises
    ------
    CheckFailed
        On the first case and step that differ from
        ``lrlib.schedules.warmup(..., mode='exponential')``, with a hint when the value
        matches a typical slip: a linear ramp, a reversed exponent, a ramp that ends one
        step early, a ramp towards :math:`S(t)`, the factor without :math:`S(0)`, or the
        schedule evaluated at ``t`` instead of ``t - W``. The cases include a schedule
        that changes from its first steps on, ``warmup_steps=1`` and ``start_factor=1``.
    """
    ex = "5.2"
    for label, sched, W, f, steps in _EXP_CASES:
        lr_fn = call(ex, func, sched, W, f, what="exponential_warmup")
        if not callable(lr_fn):
            fail(ex, f"{label}: exponential_warmup should return a function of the step, "
                     f"got {type(lr_fn).__name__} {fmt(lr_fn)}.",
                 "define an inner function lr(t) and return it (without calling it).")
        reference = S.warmup(sched, warmup_steps=W, start_factor=f, mode="exponential")
        for t in steps:
            got = call(ex, lr_fn, t, what=f"the returned function (case {label})")
            value = number(ex, f"the rate at t = {t} ({label})", got)
            ref = reference(t)
            if not math.isclose(value, ref, rel_tol=1e-9, abs_tol=1e-15):
                hint = next((h for v, h in _exp_slips(sched, W, f, t).items()
                             if not _near(v, ref) and _near(value, v)),
                            "for t < W the rate is S(0) * f ** (1 - t / W); from t = W on "
                            "it is S(t - W).")
                fail(ex, f"{label}: t = {t}: expected the rate {fmt(ref)}, got "
                         f"{fmt(value)}.", hint)
    passed(ex, f"{len(_EXP_CASES)} cases agree with lrlib's warmup(mode='exponential') at "
               "every step (including warmup_steps=1 and start_factor=1).")


# ---------------------------------------------------------------------------
# Exercise 5.3
# ---------------------------------------------------------------------------

STABLE_WARMUP_RECIPE = {"seed": 0, "batch_size": 64, "epochs": 1, "threshold": 1.2,
                        "peak_lr": 0.1, "candidates": (0, 4, 8, 16, 32, 48)}
"""The run of Exercise 5.3 (``mlp(seed=0)``, Adam, one epoch of batches of 64, ``seed=0``),
stable when its largest minibatch loss is at most ``threshold`` times its first."""


@functools.lru_cache(maxsize=64)
def reference_peak_ratio(peak_lr: float, warmup_steps: int) -> float:
    """The largest minibatch loss of the run of Exercise 5.3 divided by its first.

    Parameters
    ----------
    peak_lr : float
        Adam's rate after the warm-up, held constant.
    warmup_steps : int
        Length of the linear warm-up from 0; 0 means no warm-up.

    Returns
    -------
    float
        ``max(history.loss) / history.loss[0]`` of :func:`lrlib.train.train` on
        ``mlp(seed=0)`` with ``torch.optim.Adam``, one epoch of MNIST-1D in batches of 64
        with ``seed=0``, the rate set by ``ScheduleLR`` (see
        :data:`STABLE_WARMUP_RECIPE`). Cached: each pair is trained once per process.
    """
    import torch

    from lrlib.data import load_mnist1d
    from lrlib.models import mlp
    from lrlib.torch_bridge import ScheduleLR
    from lrlib.train import train

    r = STABLE_WARMUP_RECIPE
    model = mlp(seed=r["seed"])
    optimizer = torch.optim.Adam(model.parameters(), lr=peak_lr)
    sched = S.constant(lr=peak_lr)
    if warmup_steps > 0:
        sched = S.warmup(sched, warmup_steps=warmup_steps)
    hist = train(model, load_mnist1d(), optimizer, epochs=r["epochs"],
                 batch_size=r["batch_size"], scheduler=ScheduleLR(optimizer, sched),
                 seed=r["seed"])
    return float(hist.loss.max() / hist.loss[0])


_SEARCH_CASES = [
    # label, ratios by warm-up length, threshold, expected answer
    ("no warm-up needed (ratios 1.05, 1.1, 1.0 for W = 0, 4, 8)",
     {0: 1.05, 4: 1.1, 8: 1.0}, 1.2, 0),
    ("ratios 6.0, 1.5, 1.1, 1.3, 1.0 for W = 0, 4, 8, 16, 32 (not monotone)",
     {0: 6.0, 4: 1.5, 8: 1.1, 16: 1.3, 32: 1.0}, 1.2, 8),
    ("no candidate is stable (ratios 3.0, 2.0)", {0: 3.0, 4: 2.0}, 1.2, None),
    ("a ratio equal to the threshold (ratios 1.3, 1.2, 1.1, 0.9 for W = 0, 5, 10, 15)",
     {0: 1.3, 5: 1.2, 10: 1.1, 15: 0.9}, 1.2, 5),
    ("threshold=1.05 (ratios 1.1, 1.04)", {0: 1.1, 3: 1.04}, 1.05, 3),
]


def _search_hint(got: Any, expected: Any, ratios: dict[int, float], threshold: float) -> str:
    stable = [w for w, r in ratios.items() if r <= threshold]
    strictly = [w for w, r in ratios.items() if r < threshold]
    if expected is None:
        return "return None when no candidate is stable (not a length, not -1)."
    if got == min(ratios, key=ratios.get):
        return ("that is the candidate with the smallest ratio; the task asks for the "
                "first (shortest) stable one, scanning the candidates in order.")
    if expected == 0:
        return ("0 (no warm-up) is a valid answer. A test such as `if not best:` or "
                "`if result:` treats 0 like 'nothing found'; compare with None instead.")
    if strictly and got == strictly[0]:
        return "stable means ratio <= threshold: a ratio equal to the threshold is stable."
    if stable and got == stable[-1]:
        return "that is the last stable candidate: return the first one."
    if threshold != STABLE_WARMUP_RECIPE["threshold"]:
        return "use the threshold argument instead of a fixed 1.2."
    return ("scan the candidates in the given order and return the first W with "
            "ratio_fn(peak_lr, W) <= threshold; a bisection assumes the ratio falls "
            "monotonically with W, and it does not have to.")


def _answer(ex: str, label: str, got: Any) -> int | None:
    if got is None:
        return None
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, numbers.Integral):
        fail(ex, f"{label}: return a warm-up length (an int from the candidates) or None, "
                 f"got {type(got).__name__} {fmt(got)}.")
    return int(got)


def stable_warmup(peak_ratio: Callable[..., Any],
                  smallest_stable_warmup: Callable[..., Any]) -> None:
    r"""Check Exercise 5.3: the peak-loss ratio and the shortest stable warm-up.

    Parameters
    ----------
    peak_ratio : callable
        ``peak_ratio(peak_lr, warmup_steps)``: the largest minibatch loss of one epoch
        divided by the first, for the run of :data:`STABLE_WARMUP_RECIPE` (Adam at
        ``peak_lr`` behind a linear warm-up from 0 of ``warmup_steps`` steps, none when
        it is 0).
    smallest_stable_warmup : callable
        ``smallest_stable_warmup(peak_lr, candidates, ratio_fn, threshold=1.2)``: the
        first ``W`` of ``candidates`` with ``ratio_fn(peak_lr, W) <= threshold``, or None.

    Raises
    ------
    CheckFailed
        If ``peak_ratio`` differs from :func:`reference_peak_ratio` at ``W = 0`` (where
        lrlib's ``warmup`` refuses 0 steps: no warm-up means the constant schedule
        itself) or at ``W = 8``; or if the search gives a wrong answer on made-up ratios
        (0 as the answer, ratios that are not monotone, no stable candidate, a ratio
        equal to the threshold, another threshold) or on the real runs at the rate of
        :data:`STABLE_WARMUP_RECIPE`.
    """
    ex = "5.3"
    r = STABLE_WARMUP_RECIPE
    peak = r["peak_lr"]
    for W in (0, 8):
        label = f"peak_ratio({peak}, {W})"
        try:
            got = call(ex, peak_ratio, peak, W, what="peak_ratio")
        except CheckFailed as error:
            hint = None
            if W == 0 and "warmup_steps" in str(error):
                hint = ("warmup_steps = 0 means no warm-up: train with the constant rate "
                        "itself (lrlib's warmup needs at least one step).")
            fail(ex, str(error).split(": ", 1)[1], hint)
        ref = reference_peak_ratio(peak, W)
        value = number(ex, label, got)
        if not math.isclose(value, ref, rel_tol=1e-6):
            hint = ("follow the recipe exactly: mlp(seed=0), torch.optim.Adam, the rate "
                    "from ScheduleLR (a constant behind a linear warm-up from 0), "
                    "train(..., epochs=1, batch_size=64, seed=0), then "
                    "max(hist.loss) / hist.loss[0].")
            if value > 1.5 * ref and W > 0:
                hint = ("that looks like a run without warm-up: wrap the constant schedule "
                        "in lrlib's warmup(..., warmup_steps=W).")
            elif math.isclose(value, 1.0 / ref, rel_tol=1e-6):
                hint = "the ratio is the largest loss divided by the first, not the inverse."
            fail(ex, f"expected {label} = {fmt(ref)}, got {fmt(value)}.", hint)

    for label, ratios, threshold, expected in _SEARCH_CASES:
        def fake(peak_lr, warmup_steps, _ratios=ratios):
            return _ratios[warmup_steps]
        got = call(ex, smallest_stable_warmup, peak, list(ratios), fake, threshold=threshold,
                   what="smallest_stable_warmup")
        value = _answer(ex, label, got)
        if value != expected:
            fail(ex, f"{label}: expected {expected}, got {value}.",
                 _search_hint(value, expected, ratios, threshold))

    candidates = list(r["candidates"])
    expected = next((w for w in candidates if reference_peak_ratio(peak, w) <= r["threshold"]),
                    None)
    got = call(ex, smallest_stable_warmup, peak, candidates, reference_peak_ratio,
               threshold=r["threshold"], what="smallest_stable_warmup")
    value = _answer(ex, f"peak_lr={peak}", got)
    if value != expected:
        fail(ex, f"the real runs at peak_lr={peak}, candidates {candidates}: expected "
                 f"{expected}, got {value}.",
             "scan the candidates in order and stop at the first stable one.")
    if expected is None:
        found = f"no candidate among {candidates} is stable"
    else:
        found = (f"the shortest stable warm-up among {candidates} is {expected} steps "
                 f"(ratio {reference_peak_ratio(peak, expected):.3f} <= {r['threshold']})")
    passed(ex, f"peak_ratio agrees with the reference; at peak_lr={peak} {found}.")
