r"""Checks for the exercises of chapter 6, learning-rate schedulers in PyTorch.

One function per exercise; each calls the learner's function, compares the result
with the reference and either prints one confirmation line or raises
:class:`lrlib.checks.CheckFailed` naming the epoch, step or input that is wrong,
expected versus got, and a hint at the usual mistake.

* :func:`plateau_by_hand` (Exercise 6.1, by hand): the rate ``ReduceLROnPlateau``
  leaves in force for each epoch of a given sequence of validation accuracies.
* :func:`sgdr` (Exercise 6.2, implement): cosine annealing with warm restarts (SGDR)
  as a function of the step, compared with :class:`lrlib.schedules.cosine_restarts`,
  restart boundaries included.
* :func:`restart_study` (Exercise 6.3, experiment): cosine annealing with and without
  warm restarts on MNIST-1D at an equal budget, several seeds, and the verdict the
  measurement supports.

The reference answers come from :class:`lrlib.plateau.ReduceLROnPlateau` and
:mod:`lrlib.schedules` (both tested step for step against PyTorch), never typed in.

Examples
--------
>>> from lrlib import checks
>>> def my_rates():
...     return [0.2] * 4 + [0.1] * 5 + [0.05] * 4 + [0.03]
>>> checks.ch06.plateau_by_hand(my_rates)
✓ Exercise 6.1 passed: the rate drops after epochs 4, 9 and 13 (0.2 -> 0.1 -> 0.05 -> 0.03).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lrlib import schedules as S
from lrlib.checks._core import call, fail, fmt, number, passed, sequence
from lrlib.plateau import ReduceLROnPlateau

__all__ = ["PLATEAU_EXERCISE", "PLATEAU_METRICS", "RESTART_STUDY", "plateau_by_hand",
           "restart_study", "sgdr"]


# ---------------------------------------------------------------------------
# Exercise 6.1: when does ReduceLROnPlateau fire?
# ---------------------------------------------------------------------------

PLATEAU_EXERCISE = {"lr": 0.2, "mode": "max", "factor": 0.5, "patience": 1,
                    "threshold": 0.01, "threshold_mode": "abs", "cooldown": 1,
                    "min_lr": 0.03}
"""The settings of Exercise 6.1 (torch's argument names)."""

PLATEAU_METRICS = (0.50, 0.60, 0.608, 0.58, 0.59, 0.57, 0.62, 0.625, 0.615, 0.61, 0.64,
                   0.63, 0.62, 0.61)
"""The validation accuracies of Exercise 6.1, one per epoch (epochs 1 to 14)."""


def _plateau_reference() -> np.ndarray:
    """The rate used to train each epoch: lrlib's (= torch's) rule, stepped after it."""
    plateau = ReduceLROnPlateau(**PLATEAU_EXERCISE)
    used = []
    for metric in PLATEAU_METRICS:
        used.append(plateau.lr)
        plateau.step(metric)
    return np.array(used)


def _plateau_variant(*, fires_at_patience: bool = False, no_cooldown: bool = False,
                     no_threshold: bool = False, relative: bool = False,
                     no_min_lr: bool = False, same_epoch: bool = False,
                     mode: str = "max") -> np.ndarray:
    """The rates a typical slip produces (a plain re-implementation with the slip in)."""
    p = PLATEAU_EXERCISE
    lr, best, bad, cool = p["lr"], -math.inf if mode == "max" else math.inf, 0, 0
    thr = 0.0 if no_threshold else p["threshold"]

    def better(a: float, b: float) -> bool:
        if mode == "max":
            return a > (b * (1 + thr) if relative else b + thr)
        return a < (b * (1 - thr) if relative else b - thr)

    used = []
    for metric in PLATEAU_METRICS:
        used.append(lr)
        if better(metric, best):
            best, bad = metric, 0
        else:
            bad += 1
        if cool > 0 and not no_cooldown:
            cool, bad = cool - 1, 0
        if (bad >= p["patience"]) if fires_at_patience else (bad > p["patience"]):
            new = lr * p["factor"] if no_min_lr else max(lr * p["factor"], p["min_lr"])
            if lr - new > 1e-8:
                lr = new
            cool, bad = p["cooldown"], 0
    if same_epoch:
        used = [*used[1:], lr]
    return np.array(used)


_PLATEAU_SLIPS = (
    ({"fires_at_patience": True},
     "the rate drops after patience + 1 = 2 epochs without improvement in a row (torch "
     "tests num_bad_epochs > patience). Dropping after `patience` bad epochs is the "
     "Keras callback's rule."),
    ({"no_cooldown": True},
     "after a drop, cooldown = 1 epoch is not counted as bad: the cooldown sets the bad "
     "count back to 0 for that epoch."),
    ({"no_threshold": True},
     "with threshold = 0.01 in 'abs' mode an accuracy must beat the best by MORE than "
     "0.01 to count as an improvement (0.608 does not improve on 0.60)."),
    ({"relative": True},
     "the first drop comes one epoch late: epochs 3 and 4 are already two bad epochs in a "
     "row, because with threshold_mode = 'abs' the bar after 0.60 is best + 0.01 = 0.61, "
     "not best * (1 + 0.01) = 0.606, so 0.608 is no improvement."),
    ({"no_min_lr": True},
     "min_lr = 0.03 is a floor: a drop from 0.05 gives max(0.05 * 0.5, 0.03) = 0.03."),
    ({"same_epoch": True},
     "the metric of epoch k is known only after epoch k has been trained: a drop "
     "triggered by it changes the rate of epoch k + 1, not of epoch k."),
    ({"mode": "min"},
     "mode = 'max': an accuracy improves by going UP."),
)


def _drops(rates: np.ndarray) -> list[int]:
    """Epochs (1-based) after which the rate changed."""
    return [k + 1 for k in np.flatnonzero(np.diff(rates) != 0)]


def plateau_by_hand(func: Callable[[], Any]) -> None:
    r"""Check Exercise 6.1: the rates of a ReduceLROnPlateau, epoch by epoch, by hand.

    Parameters
    ----------
    func : callable
        Takes no argument and returns the 14 learning rates used to train epochs 1 to
        14, when ``ReduceLROnPlateau(optimizer, **PLATEAU_EXERCISE)`` (an optimizer
        starting at 0.2) is stepped after every epoch with that epoch's validation
        accuracy from :data:`PLATEAU_METRICS`.

    Raises
    ------
    CheckFailed
        At the first wrong epoch (counted from 1), with a hint when the whole answer
        matches a typical slip: firing one epoch early (Keras's ``>=``), forgetting the
        cooldown, the threshold or ``min_lr``, a relative threshold, the new rate
        applied one epoch too soon, or the wrong mode. Otherwise the hint says whether
        the rate drops too late (or never) or too early at that epoch.
    """
    ex = "6.1"
    expected = _plateau_reference()
    got = call(ex, func, what="your function")
    if isinstance(got, (str, bytes)) or not isinstance(got, (Sequence, np.ndarray)):
        fail(ex, f"return a list of {len(expected)} rates (one per epoch), got {fmt(got)}.")
    try:
        arr = np.asarray(got, dtype=float).ravel()
    except (TypeError, ValueError):
        fail(ex, f"return a list of {len(expected)} numbers, got {fmt(got)}.")
    if arr.size != expected.size:
        hint = None
        if arr.size == expected.size - 1:
            hint = ("epoch 1 trains at the starting rate 0.2, before any metric is known: "
                    "start the list with it.")
        elif arr.size == expected.size + 1:
            hint = "one rate per epoch: 14 epochs, 14 rates (no rate after the last epoch)."
        fail(ex, f"expected {expected.size} rates (epochs 1 to {expected.size}), got "
                 f"{arr.size}.", hint)
    slip = None
    for flags, text in _PLATEAU_SLIPS:
        variant = _plateau_variant(**flags)
        if not np.allclose(variant, expected) and np.allclose(arr, variant, rtol=1e-6):
            slip = text
            break

    bad = ~np.isclose(arr, expected, rtol=1e-6, atol=1e-12)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])           # 0-based; reported as epoch i + 1
        g, e = float(arr[i]), float(expected[i])
        hint = slip
        if hint is None and i > 0 and math.isclose(g, expected[i - 1], rel_tol=1e-6) \
                and e < expected[i - 1]:
            hint = ("the rate should already have dropped here: it drops after patience + 1 "
                    "= 2 bad epochs in a row (an accuracy that does not beat the best by more "
                    "than the threshold is bad; a cooldown epoch is not counted), and the "
                    "new rate is used from the very next epoch.")
        elif hint is None and g < e:
            hint = ("the rate drops too early here: it needs patience + 1 = 2 bad epochs in "
                    "a row (a cooldown epoch is not counted), and a drop triggered by the "
                    "accuracy of epoch k changes the rate of epoch k + 1, not of epoch k.")
        fail(ex, f"epoch {i + 1}: expected the rate = {fmt(e)}, got {fmt(g)}.", hint)
    rates = arr
    drops = _drops(rates)
    path = " -> ".join(fmt(v) for v in [expected[0], *expected[np.array(drops)]])
    passed(ex, f"the rate drops after epochs {', '.join(map(str, drops[:-1]))} and "
               f"{drops[-1]} ({path}).")


# ---------------------------------------------------------------------------
# Exercise 6.2: cosine annealing with warm restarts as a function of the step
# ---------------------------------------------------------------------------

_SGDR_CASES = (  # lr, T_0, T_mult, eta_min, steps
    (0.1, 10, 1, 0.0, tuple(range(45))),
    (1.0, 2, 2, 0.0, tuple(range(40))),
    (0.5, 3, 2, 0.05, tuple(range(50))),
    (0.5, 1, 3, 0.01, tuple(range(130))),
    (1.0, 5, 3, 0.0, (0, 4, 5, 19, 20, 64, 65, 199, 200, 604, 605, 606)),
    (1.0, 1, 10, 0.0, (0, 1, 10, 11, 110, 111, 112)),
)


def _sgdr_float_log(lr, T_0, T_mult, eta_min, t):
    """The closed form with a floating-point logarithm (torch's CAWR.step(epoch))."""
    if T_mult == 1:
        t_cur, t_i = t % T_0, T_0
    else:
        n = int(math.log(t / T_0 * (T_mult - 1) + 1, T_mult))
        t_cur, t_i = t - T_0 * (T_mult**n - 1) // (T_mult - 1), T_0 * T_mult**n
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def _sgdr_loop(lr, T_0, T_mult, eta_min, t, *, strict=False, no_growth=False):
    t_cur, t_i = t, T_0
    while (t_cur > t_i) if strict else (t_cur >= t_i):
        t_cur -= t_i
        t_i = t_i if no_growth else t_i * T_mult
    return eta_min + (lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


def _sgdr_slips(lr, T_0, T_mult, eta_min, steps) -> list[tuple[np.ndarray, str]]:
    ref = S.cosine_restarts(lr, T_0, T_mult, eta_min)
    t = np.array(steps)
    frac = (ref(t) - eta_min) / (lr - eta_min)
    return [
        (np.array([_sgdr_float_log(lr, T_0, T_mult, eta_min, k) for k in steps]),
         "a floating-point logarithm puts this restart in the wrong period (log base "
         f"{T_mult} of an exact power comes out as 4.999...). Find the period with exact "
         "integer arithmetic: subtract the period lengths T_0, T_0*T_mult, ... in a loop."),
        (np.array([_sgdr_loop(lr, T_0, T_mult, eta_min, k, no_growth=True) for k in steps]),
         "each period is T_mult times longer than the one before: after a restart, "
         "T_i becomes T_i * T_mult (t % T_0 is right only for T_mult = 1)."),
        (np.array([_sgdr_loop(lr, T_0, T_mult, eta_min, k, strict=True) for k in steps]),
         "the restart happens when T_cur REACHES T_i: at that step the rate is back at "
         "lr (test T_cur >= T_i, not >)."),
        (eta_min + (lr - eta_min) * (1 - frac),
         "each period starts at lr and falls: (1 + cos(pi * T_cur / T_i)) / 2 is 1 at "
         "T_cur = 0."),
        (lr * eta_min + (lr - lr * eta_min) * frac,
         "eta_min is an absolute rate (as in torch), not a fraction of lr."),
        (lr * frac,
         "the rate falls to eta_min, not to 0: eta_min + (lr - eta_min) * (1 + cos) / 2."),
    ]


def sgdr(func: Callable[..., Any]) -> None:
    r"""Check Exercise 6.2: ``sgdr_lr(step, lr, T_0, T_mult=1, eta_min=0.0)``.

    Parameters
    ----------
    func : callable
        The learner's function: the rate of update ``step`` (an int >= 0) under cosine
        annealing with warm restarts, ``torch.optim.lr_scheduler.
        CosineAnnealingWarmRestarts`` stepped once per update.

    Raises
    ------
    CheckFailed
        At the first wrong step of the first wrong setting. The settings: a fixed
        period (``T_mult = 1``), doubling periods, a nonzero ``eta_min``, and periods
        growing by 3 and 10 checked at the steps where a floating-point logarithm
        puts a restart in the wrong period (121, 605, 111).
    """
    ex = "6.2"
    for lr, T_0, T_mult, eta_min, steps in _SGDR_CASES:
        label = f"sgdr_lr(step, lr={lr:g}, T_0={T_0}, T_mult={T_mult}, eta_min={eta_min:g})"
        expected = S.cosine_restarts(lr, T_0, T_mult, eta_min)(np.array(steps))
        got = np.array([number(ex, f"{label} at step {k}",
                               call(ex, func, k, lr, T_0, T_mult=T_mult, eta_min=eta_min,
                                    what="sgdr_lr"))
                        for k in steps])
        bad = ~np.isclose(got, expected, rtol=1e-9, atol=1e-12)
        if not bad.any():
            continue
        i = int(np.flatnonzero(bad)[0])
        hint = None
        for values, text in _sgdr_slips(lr, T_0, T_mult, eta_min, steps):
            if not np.allclose(values, expected, rtol=1e-9, atol=1e-12) and \
                    np.allclose(got, values, rtol=1e-9, atol=1e-12):
                hint = text
                break
        fail(ex, f"{label}: step {steps[i]}: expected {fmt(expected[i])}, got "
                 f"{fmt(got[i])}.", hint)
    count = sum(len(c[-1]) for c in _SGDR_CASES)
    passed(ex, f"{len(_SGDR_CASES)} settings, {count} steps agree with lrlib's "
               "cosine_restarts (= torch's CosineAnnealingWarmRestarts), restarts at "
               "steps 121, 605 and 111 included.")


# ---------------------------------------------------------------------------
# Exercise 6.3: cosine with and without warm restarts at an equal budget
# ---------------------------------------------------------------------------

RESTART_STUDY = {"epochs": 12, "cycle_epochs": 4, "lr": 1.0, "batch_size": 64,
                 "n_val": 500, "seeds": (0, 1, 2)}
"""The set-up of Exercise 6.3: MNIST-1D with a 500-example validation split (3500
training examples, so 55 updates per epoch at batch size 64), SGD at peak rate 1.0."""

_SPE = -(-(4000 - RESTART_STUDY["n_val"]) // RESTART_STUDY["batch_size"])
_TOTAL = RESTART_STUDY["epochs"] * _SPE
_CYCLE = RESTART_STUDY["cycle_epochs"] * _SPE
_RUNS = ("cosine", "restarts")
_VERDICTS = ("cosine", "restarts", "tie")


def _rate_slips(name: str) -> list[tuple[np.ndarray, str]]:
    t = np.arange(_TOTAL)
    lr, epochs, cycle = RESTART_STUDY["lr"], RESTART_STUDY["epochs"], RESTART_STUDY[
        "cycle_epochs"]
    epoch_of = t // _SPE
    if name == "cosine":
        return [
            (S.cosine(lr, epochs)(t), "T_max counts scheduler.step() calls: stepped per "
             f"batch, T_max is the number of updates ({epochs} x {_SPE} = {_TOTAL}), not "
             "of epochs."),
            (S.cosine(lr, epochs)(epoch_of), "the rate is constant within each epoch: "
             "train() steps its scheduler after every update, so give it a per-batch "
             f"schedule (T_max = {_TOTAL})."),
            (S.cosine(lr, _TOTAL)(epoch_of), "the rate hardly moves: a per-batch T_max "
             "stepped once per epoch."),
            (S.cosine(lr, _CYCLE)(t), "this run has restarts-like behaviour: T_max is "
             "one cycle, so the cosine climbs back up after it. Without restarts, "
             f"T_max = {_TOTAL} (the whole budget)."),
        ]
    return [
        (S.cosine_restarts(lr, cycle)(t), f"T_0 counts updates: {cycle} epochs are "
         f"{cycle} x {_SPE} = {_CYCLE} steps."),
        (S.cosine_restarts(lr, cycle)(epoch_of), "the rate is constant within each "
         f"epoch: step per batch with T_0 = {_CYCLE}."),
        (S.cosine_restarts(lr, _CYCLE, 2)(t), "T_mult = 1 here: three equal cycles of "
         f"{cycle} epochs (with T_mult = 2 the second cycle is already 8 epochs long)."),
        (S.cosine(lr, _CYCLE)(t), "CosineAnnealingLR with T_max = one cycle is not a "
         "restart: past T_max it climbs back slowly along the cosine. Use "
         "CosineAnnealingWarmRestarts, which jumps back to the peak."),
    ]


def _accuracies(ex: str, name: str, values: Any) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        fail(ex, f"results[{name!r}] should be a list of final test accuracies (one per "
                 f"seed), got {fmt(values)}.")
    try:
        acc = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        fail(ex, f"results[{name!r}] should hold numbers, got {fmt(values)}.")
    seeds = len(RESTART_STUDY["seeds"])
    if acc.size < seeds:
        fail(ex, f"results[{name!r}] has {acc.size} accuracies; train seeds 0, 1 and 2.",
             "one seed cannot tell a better schedule from a lucky initialization.")
    if not np.all(np.isfinite(acc)):
        fail(ex, f"results[{name!r}] contains a non-finite accuracy: {fmt(acc)}.")
    if np.any(acc > 1) and np.all(acc <= 100):
        fail(ex, f"results[{name!r}] = {fmt(acc)} looks like percentages.",
             "report accuracies as fractions in [0, 1], as History.test_acc does.")
    if np.any((acc < 0) | (acc > 1)):
        fail(ex, f"results[{name!r}] = {fmt(acc)}: accuracies must lie in [0, 1].")
    if np.all(acc == acc[0]):
        fail(ex, f"results[{name!r}] has the same accuracy {fmt(acc[0])} for every seed.",
             "pass the seed to both the model (mlp(seed=...)) and train(..., seed=...), "
             "or the runs are copies of one another.")
    return acc


def _rates(ex: str, name: str, values: Any) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        fail(ex, f"rates[{name!r}] should be the per-update rates History.lr, got "
                 f"{fmt(values)}.")
    if arr.size != _TOTAL:
        hint = (f"equal budget: both runs make {RESTART_STUDY['epochs']} epochs x {_SPE} "
                f"updates = {_TOTAL} updates.")
        if arr.size == RESTART_STUDY["epochs"]:
            hint = "pass History.lr, which has one rate per update, not one per epoch."
        fail(ex, f"rates[{name!r}] has {arr.size} entries, expected {_TOTAL} (one per "
                 "update).", hint)
    expected = _rate_reference(name)
    hint = None
    for values_, text in _rate_slips(name):
        if np.allclose(arr, values_, rtol=1e-9, atol=1e-12):
            hint = text
            break
    sequence(ex, f"rates[{name!r}]", arr, expected, rtol=1e-9, atol=1e-12, hint=hint)
    return arr


def _rate_reference(name: str) -> np.ndarray:
    t = np.arange(_TOTAL)
    if name == "cosine":
        return S.cosine(RESTART_STUDY["lr"], _TOTAL)(t)
    return S.cosine_restarts(RESTART_STUDY["lr"], _CYCLE)(t)


def _verdict(acc: Mapping[str, np.ndarray]) -> str:
    gap = float(acc["restarts"].mean() - acc["cosine"].mean())
    spread = max(float(acc["cosine"].std()), float(acc["restarts"].std()))
    if abs(gap) <= spread:
        return "tie"
    return "restarts" if gap > 0 else "cosine"


def restart_study(func: Callable[[], Any]) -> None:
    r"""Check Exercise 6.3: cosine with and without warm restarts at an equal budget.

    Parameters
    ----------
    func : callable
        ``func()`` trains and returns ``(results, rates, verdict)``:

        * ``results``: ``{"cosine": [...], "restarts": [...]}``, the final test
          accuracy of each of the seeds 0, 1, 2;
        * ``rates``: ``{"cosine": hist.lr, "restarts": hist.lr}``, the per-update rates
          of one run of each (``History.lr``);
        * ``verdict``: ``"cosine"``, ``"restarts"`` or ``"tie"``.

    Notes
    -----
    The rates must be exactly those of :data:`RESTART_STUDY`: 12 epochs of 55 updates,
    ``CosineAnnealingLR(T_max=660)`` for ``"cosine"`` and
    ``CosineAnnealingWarmRestarts(T_0=220, T_mult=1)`` for ``"restarts"``, both stepped
    per update from the rate 1.0 (relative tolerance 1e-9). The check cannot re-run the
    training; it checks that the runs used the prescribed schedules, that the numbers
    are a complete, plausible measurement, and that the verdict follows from them: a
    difference of the means no larger than the larger of the two standard deviations
    (over seeds, ``np.std``) is a ``"tie"``.
    """
    ex = "6.3"
    out = call(ex, func, what="restart_study")
    if not (isinstance(out, (tuple, list)) and len(out) == 3):
        fail(ex, f"restart_study() should return (results, rates, verdict), got {fmt(out)}.")
    results, rates, verdict = out
    for what, value in (("results", results), ("rates", rates)):
        if not isinstance(value, Mapping) or set(value) != set(_RUNS):
            fail(ex, f"{what} should be a dict with the keys 'cosine' and 'restarts', got "
                     f"{fmt(value)}.")
    for name in _RUNS:
        _rates(ex, name, rates[name])
    acc = {name: _accuracies(ex, name, results[name]) for name in _RUNS}
    if not isinstance(verdict, str) or verdict not in _VERDICTS:
        fail(ex, f"verdict should be one of {list(_VERDICTS)}, got {fmt(verdict)}.")
    right = _verdict(acc)
    table = ", ".join(f"{name} {acc[name].mean():.3f} ± {acc[name].std():.3f}"
                      for name in _RUNS)
    if verdict != right:
        gap = acc["restarts"].mean() - acc["cosine"].mean()
        spread = max(acc["cosine"].std(), acc["restarts"].std())
        fail(ex, f"your numbers ({table}) support the verdict {right!r}, not {verdict!r}.",
             f"the means differ by {gap:+.4f} and the larger spread is {spread:.4f}: a "
             "difference within the spread is a tie, a larger one names the better "
             "schedule.")
    passed(ex, f"{table} over {len(acc['cosine'])} seeds: {verdict}.")
