r"""Checks for the exercises of chapter 7, the one-cycle policy.

One function per exercise; each takes the learner's function (and, for the
experiment, its measurements), runs it on several inputs and either prints one
confirmation line or raises :class:`lrlib.checks.CheckFailed` saying which input or
step is wrong, what was expected and what came back, with a hint at the usual mistake.

* :func:`one_cycle_by_hand` (Exercise 7.1, by hand): the rates at six steps and the
  momenta at two steps of a 20-step one-cycle (:data:`BY_HAND`).
* :func:`one_cycle_point` (Exercise 7.2, implement): the rate and momentum of the
  two-phase cosine one-cycle at any step, compared with
  :class:`lrlib.schedules.one_cycle` on several configurations, one of them with a
  phase end between two steps.
* :func:`momentum_cycling` (Exercise 7.3, experiment): a one-cycle run of the MLP with
  and without momentum cycling (:data:`CYCLING`), the final test accuracies of three
  seeds for each, and a verdict that follows from them.

The reference answers come from :class:`lrlib.schedules.one_cycle` (which matches
``torch.optim.lr_scheduler.OneCycleLR``), never typed in.

Notes
-----
PyTorch's two-phase cosine one-cycle over :math:`N` steps with
:math:`a = pN - 1`, :math:`\eta_0 = \eta_{\max}/d` and :math:`\eta_{\min} = \eta_0/f`:

.. math::

    \eta_t = \begin{cases}
    \eta_{\max} + \tfrac12(\eta_0 - \eta_{\max})(1 + \cos \pi t/a) & t \le a \\
    \eta_{\min} + \tfrac12(\eta_{\max} - \eta_{\min})
        \bigl(1 + \cos \pi \tfrac{t - a}{N - 1 - a}\bigr) & t > a
    \end{cases}

and the momentum moves from :math:`\beta_{\max}` to :math:`\beta_{\text{base}}` and
back along the same phases.

Examples
--------
>>> from lrlib import checks
>>> def my_one_cycle_by_hand():
...     rates = {0: 0.05, 2: 0.275, 4: 0.5, 9: 0.37525, 14: 0.12575, 19: 0.001}
...     return rates, {2: 0.9, 9: 0.875}
>>> checks.ch07.one_cycle_by_hand(my_one_cycle_by_hand)
✓ Exercise 7.1 passed: rates 0.05, 0.275, 0.5, 0.37525, 0.12575, 0.001; momenta 0.9, 0.875.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lrlib import schedules as S
from lrlib.checks._core import call, fail, fmt, number, passed

__all__ = ["BY_HAND", "CYCLING", "momentum_cycling", "one_cycle_by_hand", "one_cycle_point"]

BY_HAND = {"max_lr": 0.5, "total_steps": 20, "pct_start": 0.25, "div_factor": 10.0,
           "final_div_factor": 50.0, "rate_steps": (0, 2, 4, 9, 14, 19),
           "momentum_steps": (2, 9)}
"""The schedule and the steps of Exercise 7.1 (momenta 0.85 and 0.95, cosine)."""

CYCLING = {"max_lr": 0.5, "momentum": 0.9, "batch_size": 64, "epochs": 4,
           "seeds": (0, 1, 2)}
"""The protocol of Exercise 7.3: MLP on MNIST-1D, SGD, one-cycle with ``max_lr`` 0.5;
the constant-momentum runs use ``momentum`` throughout."""


def _close(a: float, b: float, rtol: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)


# ---------------------------------------------------------------------------
# Variants with the usual mistakes (used to recognise them)
# ---------------------------------------------------------------------------


def _variant(step: int, max_lr: float, total: int, pct: float, div: float, fdiv: float,
             m_lo: float, m_hi: float, *, no_minus_one: bool = False,
             no_minus_one_first: bool = False, min_from_max: bool = False,
             linear: bool = False, momentum_with_rate: bool = False,
             reversed_anneal: bool = False) -> tuple[float, float]:
    """A two-phase one-cycle with optional typical mistakes; (lr, momentum) at ``step``."""
    initial = max_lr / div
    final = (max_lr if min_from_max else initial) / fdiv
    end1 = pct * total if (no_minus_one or no_minus_one_first) else pct * total - 1
    end2 = total if no_minus_one else total - 1

    def anneal(s, e, u):
        if linear:
            return s + (e - s) * u
        if reversed_anneal:
            return s + (e - s) / 2 * (1 + math.cos(math.pi * u))
        return e + (s - e) / 2 * (1 + math.cos(math.pi * u))

    ms, mp = (m_lo, m_hi) if momentum_with_rate else (m_hi, m_lo)
    if step <= end1:
        u = step / end1
        return anneal(initial, max_lr, u), anneal(ms, mp, u)
    u = (step - end1) / (end2 - end1)
    return anneal(max_lr, final, u), anneal(mp, ms, u)


_NO_MINUS_ONE = ("the phases end at pct_start * total_steps - 1 and total_steps - 1 "
                 "(PyTorch's -1: the first update is step 0), not at pct_start * "
                 "total_steps and total_steps.")

_MISTAKES = {
    "no_minus_one": _NO_MINUS_ONE,
    "no_minus_one_first": _NO_MINUS_ONE,
    "min_from_max": ("the final rate is initial_lr / final_div_factor = max_lr / "
                     "div_factor / final_div_factor, not max_lr / final_div_factor."),
    "linear": ("that is linear annealing: the default 'cos' follows a half cosine, "
               "end + (start - end) / 2 * (1 + cos(pi * u))."),
    "momentum_with_rate": ("the momentum moves opposite to the rate: from max_momentum "
                           "down to base_momentum while the rate rises, then back up."),
    "reversed_anneal": ("each phase goes from its start value (u = 0) to its end value "
                        "(u = 1): end + (start - end) / 2 * (1 + cos(pi * u)) is start "
                        "at u = 0."),
}


def _which_mistake(got: Sequence[float], steps: Sequence[int], args: tuple,
                   index: int) -> str | None:
    """The hint of the first typical mistake that reproduces every value in ``got``."""
    for flag, hint in _MISTAKES.items():
        values = [_variant(t, *args, **{flag: True})[index] for t in steps]
        if all(_close(g, v, 1e-4) for g, v in zip(got, values, strict=True)):
            return hint
    return None


# ---------------------------------------------------------------------------
# Exercise 7.1
# ---------------------------------------------------------------------------


def _step_dict(ex: str, name: str, got: Any, steps: Sequence[int]) -> dict[int, float]:
    if not isinstance(got, Mapping):
        fail(ex, f"{name} should be a dict {{step: value}}, got {type(got).__name__} "
                 f"{fmt(got)}.")
    keys = {int(k) for k in got if isinstance(k, numbers.Integral)}
    missing = [t for t in steps if t not in keys]
    if missing:
        fail(ex, f"{name} should have the steps {list(steps)} as keys; missing "
                 f"{missing}, got keys {list(got)}.")
    return {t: number(ex, f"{name}[{t}]", got[t]) for t in steps}


def one_cycle_by_hand(func: Callable[[], Any]) -> None:
    r"""Check Exercise 7.1: one-cycle rates and momenta at given steps, by hand.

    Parameters
    ----------
    func : callable
        Takes no argument and returns ``(rates, momenta)``: a dict mapping each step
        of ``BY_HAND["rate_steps"]`` to the rate there, and one mapping each step of
        ``BY_HAND["momentum_steps"]`` to the momentum, for the schedule
        :data:`BY_HAND` (``max_lr = 0.5``, 20 steps, ``pct_start = 0.25``,
        ``div_factor = 10``, ``final_div_factor = 50``, cosine, momenta 0.85-0.95).

    Raises
    ------
    CheckFailed
        Naming the first wrong step, expected versus got, with a hint when the value
        matches a typical slip (no -1 at the phase end, ``max_lr / final_div_factor``,
        linear annealing, momentum moving with the rate, a reversed phase).
    """
    ex = "7.1"
    p = BY_HAND
    sched = S.one_cycle(max_lr=p["max_lr"], total_steps=p["total_steps"],
                        pct_start=p["pct_start"], div_factor=p["div_factor"],
                        final_div_factor=p["final_div_factor"])
    args = (p["max_lr"], p["total_steps"], p["pct_start"], p["div_factor"],
            p["final_div_factor"], 0.85, 0.95)
    got = call(ex, func, what="one_cycle_by_hand")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(ex, f"return two dicts (rates, momenta), got {fmt(got)}.")
    rates = _step_dict(ex, "rates", got[0], p["rate_steps"])
    momenta = _step_dict(ex, "momenta", got[1], p["momentum_steps"])
    for name, values, index, reference in (("rate", rates, 0, sched),
                                           ("momentum", momenta, 1, sched.momentum)):
        for t, value in values.items():
            expected = float(reference(t))
            if _close(value, expected, 1e-4):
                continue
            hint = None
            for flag, text in _MISTAKES.items():
                if _close(value, _variant(t, *args, **{flag: True})[index], 1e-4):
                    hint = text
                    break
            if hint is None and name == "rate" and t == 4:
                hint = ("step 4 = 0.25 * 20 - 1 is the end of phase 1: the peak, max_lr.")
            fail(ex, f"step {t}: expected {name} = {fmt(expected)}, got {fmt(value)}.",
                 hint or "find the phase of the step (ends 4 and 19), its position u in "
                         "the phase, then end + (start - end) / 2 * (1 + cos(pi * u)).")
    passed(ex, "rates "
               + ", ".join(fmt(sched(t)) for t in p["rate_steps"]) + "; momenta "
               + ", ".join(fmt(sched.momentum(t)) for t in p["momentum_steps"]) + ".")


# ---------------------------------------------------------------------------
# Exercise 7.2
# ---------------------------------------------------------------------------

_POINT_CASES = [
    ("max_lr=1.0, total_steps=10, pct_start=0.4, div_factor=10, final_div_factor=100 "
     "(the worked example: peak exactly at step 3)",
     dict(max_lr=1.0, total_steps=10, pct_start=0.4, div_factor=10.0,
          final_div_factor=100.0)),
    ("max_lr=1.0, total_steps=10, pct_start=0.25, div_factor=10, final_div_factor=100 "
     "(phase 1 ends at 1.5, between two steps)",
     dict(max_lr=1.0, total_steps=10, pct_start=0.25, div_factor=10.0,
          final_div_factor=100.0)),
    ("max_lr=0.1, total_steps=100 and PyTorch's defaults",
     dict(max_lr=0.1, total_steps=100)),
    ("max_lr=0.3, total_steps=7, pct_start=0.5, div_factor=4, final_div_factor=10, "
     "base_momentum=0.8, max_momentum=0.99 (phase 1 ends at 2.5)",
     dict(max_lr=0.3, total_steps=7, pct_start=0.5, div_factor=4.0, final_div_factor=10.0,
          base_momentum=0.8, max_momentum=0.99)),
]


def one_cycle_point(func: Callable[..., Any]) -> None:
    r"""Check Exercise 7.2: ``one_cycle_point(step, max_lr, total_steps, ...)``.

    Parameters
    ----------
    func : callable
        The learner's function. Called as ``func(step, max_lr=..., total_steps=...,
        pct_start=..., ...)`` (keyword arguments, defaults left out when a case uses
        PyTorch's) for every step of a case, it must return ``(lr, momentum)`` of the
        two-phase cosine one-cycle.

    Raises
    ------
    CheckFailed
        On the first case and step that fails. The cases: the worked example of
        section 7.2 (a phase end on a step), the same with the phase end at 1.5,
        PyTorch's defaults over 100 steps, and a 7-step cycle with other momenta and a
        phase end at 2.5. The hint names the usual mistake when the learner's values
        reproduce it.
    """
    ex = "7.2"
    for label, kwargs in _POINT_CASES:
        sched = S.one_cycle(**kwargs)
        n = kwargs["total_steps"]
        full = {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4,
                "base_momentum": 0.85, "max_momentum": 0.95, **kwargs}
        args = (full["max_lr"], n, full["pct_start"], full["div_factor"],
                full["final_div_factor"], full["base_momentum"], full["max_momentum"])
        got_lr, got_mom = [], []
        for t in range(n):
            out = call(ex, func, t, what="one_cycle_point", **kwargs)
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                fail(ex, f"{label}: step {t}: return the pair (lr, momentum), got "
                         f"{fmt(out)}.")
            got_lr.append(number(ex, f"the rate at step {t}", out[0]))
            got_mom.append(number(ex, f"the momentum at step {t}", out[1]))
        for name, got, index, reference in (("lr", got_lr, 0, sched),
                                            ("momentum", got_mom, 1, sched.momentum)):
            expected = [float(reference(t)) for t in range(n)]
            bad = [t for t in range(n) if not _close(got[t], expected[t], 1e-9)]
            if not bad:
                continue
            t = bad[0]
            hint = _which_mistake(got, range(n), args, index)
            if hint is None and name == "lr" and t == n - 1:
                hint = ("the last step, total_steps - 1, is the end of phase 2: the rate "
                        "there is exactly initial_lr / final_div_factor.")
            fail(ex, f"{label}: step {t}: expected {name} = {fmt(expected[t])}, got "
                     f"{fmt(got[t])}.",
                 hint or "find the phase whose end is >= step (ends pct_start * "
                         "total_steps - 1 and total_steps - 1), then u = (step - "
                         "previous end) / (end - previous end), with previous end 0 in "
                         "phase 1.")
    passed(ex, f"{len(_POINT_CASES)} configurations agree with lrlib (and so with "
               "PyTorch's OneCycleLR) at every step, including phase ends between steps.")


# ---------------------------------------------------------------------------
# Exercise 7.3
# ---------------------------------------------------------------------------


def _history(ex: str, got: Any, label: str):
    from lrlib.train import History

    if not isinstance(got, History):
        fail(ex, f"{label}: train_one_cycle should return the History of train(...), "
                 f"got {type(got).__name__} {fmt(got)}.")
    if got.diverged:
        fail(ex, f"{label}: the run diverged.", "max_lr is 0.5; check the schedule.")
    return got


def _accuracies(ex: str, results: Any) -> dict[str, np.ndarray]:
    if not isinstance(results, Mapping) or set(results) != {"cycled", "constant"}:
        fail(ex, "results should be a dict with the keys 'cycled' and 'constant', got "
                 f"{fmt(results)}.")
    out = {}
    n_seeds = len(CYCLING["seeds"])
    for key in ("cycled", "constant"):
        values = results[key]
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            fail(ex, f"results[{key!r}] should be a list of test accuracies (one per seed), "
                     f"got {fmt(values)}.")
        try:
            acc = np.asarray(values, dtype=float).ravel()
        except (TypeError, ValueError):
            fail(ex, f"results[{key!r}] should hold numbers, got {fmt(values)}.")
        if acc.size != n_seeds:
            fail(ex, f"results[{key!r}] has {acc.size} accuracies; measure the seeds "
                     f"{list(CYCLING['seeds'])}, one accuracy each.",
                 "one seed cannot tell a real difference from a lucky initialization.")
        if not np.all(np.isfinite(acc)) or np.any((acc < 0) | (acc > 1)):
            hint = ("report accuracies as fractions in [0, 1], as History.test_acc does."
                    if np.all(np.isfinite(acc)) and np.all(acc <= 100) else None)
            fail(ex, f"results[{key!r}] = {fmt(acc)}: accuracies must lie in [0, 1].", hint)
        if np.all(acc == acc[0]):
            fail(ex, f"results[{key!r}] has the same accuracy {fmt(acc[0])} for every seed.",
                 "pass the seed to both the model (mlp(seed=...)) and train(..., "
                 "seed=...), or the runs are copies of one another.")
        out[key] = acc
    return out


def momentum_cycling(train_one_cycle: Callable[..., Any], results: Any, verdict: Any) -> None:
    r"""Check Exercise 7.3: one-cycle with and without momentum cycling.

    Parameters
    ----------
    train_one_cycle : callable
        ``train_one_cycle(seed, cycle_momentum, epochs=4)`` returning the
        :class:`lrlib.train.History` of the MLP trained on MNIST-1D with SGD and a
        one-cycle schedule (``max_lr = 0.5``, PyTorch's other defaults) sized to
        ``epochs`` epochs of minibatches of 64; the momentum follows the cycle when
        ``cycle_momentum`` is True and stays at 0.9 otherwise.
    results : dict
        ``{"cycled": [...], "constant": [...]}``: the final test accuracies of seeds 0,
        1 and 2 after 4 epochs.
    verdict : str
        ``"cycled"`` or ``"constant"`` if that setting's mean accuracy is higher by more
        than the larger of the two standard deviations (``np.std``), else ``"tie"``.

    Raises
    ------
    CheckFailed
        If a one-epoch run of either setting does not record the one-cycle rates, the
        cycled momenta or the constant momentum 0.9 (the usual slips: no
        ``momentum=sched.momentum``, ``SGD`` without momentum, a schedule sized in
        epochs); if the results are not three plausible accuracies per setting; if
        seed 0's cycled accuracy is not what ``train_one_cycle(0, True)`` gives; or if
        the verdict does not follow from the numbers.

    Notes
    -----
    The check trains the MLP three times (two runs of one epoch and one of four), a
    second or two.
    """
    ex = "7.3"
    p = CYCLING
    for flag in (True, False):
        label = f"train_one_cycle(0, cycle_momentum={flag}, epochs=1)"
        hist = _history(ex, call(ex, train_one_cycle, 0, flag, epochs=1,
                                 what="train_one_cycle"), label)
        t = np.arange(hist.num_steps)
        sched = S.one_cycle(max_lr=p["max_lr"], total_steps=hist.steps_per_epoch)
        if hist.num_steps != hist.steps_per_epoch:
            fail(ex, f"{label}: expected one epoch of {hist.steps_per_epoch} updates, got "
                     f"{hist.num_steps}.", "pass epochs to train(..., epochs=epochs).")
        if not np.allclose(hist.lr, sched(t), rtol=1e-9, atol=1e-15):
            i = int(np.flatnonzero(~np.isclose(hist.lr, sched(t), rtol=1e-9, atol=1e-15))[0])
            hint = ("the schedule counts updates: total_steps = epochs * "
                    "steps_per_epoch(data, 64), and ScheduleLR steps once per batch.")
            if np.allclose(hist.lr, hist.lr[0]):
                hint = ("the rate never changed: pass scheduler=ScheduleLR(opt, sched) to "
                        "train.")
            fail(ex, f"{label}: step {i}: expected lr = {fmt(float(sched(i)))} (one-cycle, "
                     f"max_lr {p['max_lr']}), got {fmt(float(hist.lr[i]))}.", hint)
        expected = sched.momentum(t) if flag else np.full(t.shape, p["momentum"])
        if not np.allclose(hist.momentum, expected, rtol=1e-9, atol=1e-12):
            i = int(np.flatnonzero(~np.isclose(hist.momentum, expected, rtol=1e-9,
                                               atol=1e-12))[0])
            got_m = float(hist.momentum[i])
            if flag and np.allclose(hist.momentum, hist.momentum[0]):
                hint = ("the momentum did not cycle: pass momentum=sched.momentum to "
                        "ScheduleLR.")
            elif not flag and np.allclose(hist.momentum, 0.0):
                hint = ("SGD's momentum defaults to 0: build the optimizer with "
                        "momentum=0.9 so that only the cycling differs.")
            elif not flag:
                hint = ("without cycling the momentum must stay at 0.9: build SGD with "
                        "momentum=0.9 and give ScheduleLR no momentum schedule.")
            else:
                hint = "the cycled momentum is sched.momentum(t) of the same one-cycle."
            fail(ex, f"{label}: step {i}: expected momentum = {fmt(float(expected[i]))}, "
                     f"got {fmt(got_m)}.", hint)
    acc = _accuracies(ex, results)
    rerun = _history(ex, call(ex, train_one_cycle, 0, True, epochs=p["epochs"],
                              what="train_one_cycle"),
                     f"train_one_cycle(0, True, epochs={p['epochs']})")
    if not math.isclose(float(rerun.test_acc[-1]), float(acc["cycled"][0]), abs_tol=1e-9):
        fail(ex, f"results['cycled'][0] = {fmt(float(acc['cycled'][0]))}, but "
                 f"train_one_cycle(0, True) gives a final test accuracy of "
                 f"{fmt(float(rerun.test_acc[-1]))}.",
             "fill results from the runs themselves (History.test_acc[-1] after "
             f"{p['epochs']} epochs, seeds in the order {list(p['seeds'])}).")
    means = {k: float(v.mean()) for k, v in acc.items()}
    margin = max(float(v.std()) for v in acc.values())
    diff = means["cycled"] - means["constant"]
    expected_verdict = ("tie" if abs(diff) <= margin
                        else "cycled" if diff > 0 else "constant")
    if verdict not in ("cycled", "constant", "tie"):
        fail(ex, f"verdict should be 'cycled', 'constant' or 'tie', got {fmt(verdict)}.")
    if verdict != expected_verdict:
        if expected_verdict == "tie":
            hint = ("the difference of the means is within the seed-to-seed spread: "
                    "these seeds cannot tell the two settings apart, so call it a tie.")
        elif verdict == "tie":
            hint = ("the difference is larger than the spread of either setting: your "
                    "numbers do show a winner.")
        else:
            hint = "the higher mean wins; check which is which."
        fail(ex, f"the means are cycled {means['cycled']:.4f} and constant "
                 f"{means['constant']:.4f} (difference {diff:+.4f}, larger standard "
                 f"deviation {margin:.4f}), so the verdict is {expected_verdict!r}, "
                 f"got {verdict!r}.", hint)
    passed(ex, f"cycled {means['cycled']:.3f} ± {acc['cycled'].std():.3f}, constant "
               f"{means['constant']:.3f} ± {acc['constant'].std():.3f}: verdict "
               f"{verdict!r}.")
