"""Checks for the exercises of chapter 2 (annealing).

Exercise 2.1 (by hand)
    :func:`step_decay_table`: the rates of a step-decay schedule, once as PyTorch's
    ``StepLR`` gives them and once as Keras's ``PiecewiseConstantDecay`` does, where
    the off-by-one between the two hides.
Exercise 2.2 (implement)
    :func:`decay_functions`: exponential and 1/t (inverse-time) decay as functions of
    the step, with ``decay_steps`` and ``staircase``, compared with
    :func:`lrlib.schedules.exponential` and :func:`lrlib.schedules.inverse_time`.
Exercise 2.3 (experiment)
    :func:`milestone_choice`: a step-decay milestone for MNIST-1D, chosen from a
    measurement over several candidates and seeds; the message says which alternatives
    the choice is clearly ahead of and which it is tied with.

Each check calls the learner's function, compares the result with the reference on
several inputs (including the edge a careless solution misses) and either prints one
``✓`` line or raises :class:`~lrlib.checks.CheckFailed` naming the input, the expected
and the obtained value, and the usual mistake behind it.

Examples
--------
>>> from lrlib import checks
>>> def step_decay_rates():
...     return ([0.3] * 4 + [0.03] * 4 + [0.003] * 2,
...             [0.3] * 5 + [0.03] * 4 + [0.003])
>>> checks.ch02.step_decay_table(step_decay_rates)
✓ Exercise 2.1 passed: StepLR drops at epochs 4 and 8, PiecewiseConstantDecay one epoch later.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lrlib import schedules as S
from lrlib.checks._core import CheckFailed, call, fail, fmt, passed, sequence

__all__ = ["decay_functions", "milestone_choice", "step_decay_table"]


# ---------------------------------------------------------------------------
# Exercise 2.1: a step-decay table by hand
# ---------------------------------------------------------------------------

#: The schedule of Exercise 2.1: lr 0.3, a drop by 10 every 4 epochs, epochs 0..9.
TABLE_LR, TABLE_STEP, TABLE_GAMMA, TABLE_EPOCHS = 0.3, 4, 0.1, 10


def _table_reference() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(TABLE_EPOCHS)
    torch_rates = S.step(TABLE_LR, TABLE_STEP, TABLE_GAMMA)(t)
    # Keras PiecewiseConstantDecay(boundaries=[4, 8], values=[0.3, 0.03, 0.003]):
    # values[i] while t <= boundary_i, so each change comes one step after StepLR's.
    keras_rates = S.multistep(TABLE_LR, [TABLE_STEP + 1, 2 * TABLE_STEP + 1], TABLE_GAMMA)(t)
    return torch_rates, keras_rates


def _table_hint(which: str) -> Callable[[int, float, float], str | None]:
    t = np.arange(TABLE_EPOCHS)
    late = TABLE_LR * TABLE_GAMMA ** (np.maximum(t - 1, 0) // TABLE_STEP)
    early = TABLE_LR * TABLE_GAMMA ** ((t + 1) // TABLE_STEP)
    smooth = TABLE_LR * TABLE_GAMMA ** (t / TABLE_STEP)
    torch_rates, _ = _table_reference()

    def hint(i: int, got: float, expected: float) -> str | None:
        if which == "torch_rates" and math.isclose(got, late[i], rel_tol=1e-6):
            return ("StepLR drops AT epoch step_size: epoch 4 already uses the lower rate "
                    "(floor(4 / 4) = 1). Dropping one epoch late is Keras's convention.")
        if which == "keras_rates" and math.isclose(got, torch_rates[i], rel_tol=1e-6):
            return ("PiecewiseConstantDecay keeps values[i] while t <= boundaries[i], so "
                    "the rate changes one step AFTER the boundary (at t = 5, not 4).")
        if math.isclose(got, early[i], rel_tol=1e-6):
            return "you dropped one epoch too early: epochs 0, 1, 2 and 3 all use 0.3."
        if math.isclose(got, smooth[i], rel_tol=1e-6):
            return ("step decay holds the rate constant between drops: the exponent is "
                    "floor(t / step_size), not t / step_size.")
        if math.isclose(got, TABLE_LR - TABLE_GAMMA * (i // TABLE_STEP), rel_tol=1e-6):
            return "gamma multiplies the rate; it is not subtracted from it."
        return None

    return hint


def step_decay_table(step_decay_rates: Callable[[], Any]) -> None:
    """Check Exercise 2.1: StepLR and PiecewiseConstantDecay rates written by hand.

    Parameters
    ----------
    step_decay_rates : callable
        ``step_decay_rates()`` returns ``(torch_rates, keras_rates)``: ten rates each,
        for epochs 0..9 of ``StepLR(step_size=4, gamma=0.1)`` from lr 0.3 (stepped once
        per epoch) and of Keras's ``PiecewiseConstantDecay(boundaries=[4, 8],
        values=[0.3, 0.03, 0.003])`` evaluated at the same epoch counts.
    """
    ex = "2.1"
    out = call(ex, step_decay_rates, what="step_decay_rates")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        fail(ex, f"step_decay_rates() should return two lists (torch_rates, keras_rates), "
                 f"got {fmt(out)}.")
    torch_ref, keras_ref = _table_reference()
    for name, got, ref in (("torch_rates", out[0], torch_ref),
                           ("keras_rates", out[1], keras_ref)):
        sequence(ex, name, got, ref, rtol=1e-6, atol=1e-12, index_name="epoch",
                 hint=_table_hint(name))
    passed(ex, "StepLR drops at epochs 4 and 8, PiecewiseConstantDecay one epoch later.")


# ---------------------------------------------------------------------------
# Exercise 2.2: exponential and 1/t decay as functions of the step
# ---------------------------------------------------------------------------

_T = np.array([0, 1, 2, 3, 4, 5, 7, 8, 9, 99, 100, 101, 1000])

_EXP_CASES = [  # lr, gamma, decay_steps, staircase
    (0.1, 0.5, 1, False),
    (0.1, 0.5, 4, False),
    (0.1, 0.5, 4, True),
    (1.0, 0.96, 100, True),
    (2.0, 1.0, 3, False),
]
_INV_CASES = [  # lr, decay, decay_steps, staircase
    (0.01, 0.0025, 1, False),
    (0.01, 0.5, 4, False),
    (0.01, 0.5, 4, True),
    (0.5, 1.0, 100, True),
    (0.3, 0.0, 7, False),
]


def _exp_mistakes(lr, gamma, t, d, staircase) -> list[tuple[np.ndarray, str]]:
    t = t.astype(float)
    e = np.floor(t / d) if staircase else t / d
    return [
        (lr * gamma ** np.floor(t / d) if not staircase else lr * gamma ** (t / d),
         "staircase=True uses the exponent floor(t / decay_steps), staircase=False the "
         "plain ratio t / decay_steps: check which branch you took."),
        (lr * gamma ** t, "the exponent is t / decay_steps: gamma is the factor per "
                          "decay_steps steps, not per step."),
        (lr * gamma ** (t * d), "divide t by decay_steps; do not multiply."),
        (lr * gamma ** np.ceil(t / d), "round the exponent down (floor), not up."),
        (lr * gamma ** np.round(t / d), "round the exponent down (floor), not to nearest."),
        (lr * gamma ** (e + 1), "step 0 must use lr itself: gamma**0 = 1."),
        (lr * gamma ** np.maximum(e - 1, 0), "the first factor applies at t = decay_steps, "
                                             "not one step later."),
        (lr * np.exp(-gamma * e), "gamma is a factor (gamma**t); e**(-k t) is the same "
                                  "family with gamma = e**(-k), so k = -ln(gamma)."),
    ]


def _inv_mistakes(lr, decay, t, d, staircase) -> list[tuple[np.ndarray, str]]:
    t = t.astype(float)
    e = np.floor(t / d) if staircase else t / d
    with np.errstate(divide="ignore"):
        no_one = lr / (decay * e)
    return [
        (lr / (1 + decay * (np.floor(t / d) if not staircase else t / d)),
         "staircase=True uses floor(t / decay_steps), staircase=False the plain ratio: "
         "check which branch you took."),
        (lr / (1 + decay * t), "time is t / decay_steps: decay_steps stretches the clock."),
        (lr / (1 + decay * t * d), "divide t by decay_steps; do not multiply."),
        (lr / (1 + decay * np.ceil(t / d)), "round the time down (floor), not up."),
        (lr / (1 + decay) ** e, "that is exponential decay with gamma = 1/(1 + decay): "
                                "1/t decay divides by (1 + decay * t), a sum, not a power."),
        (lr * (1 - decay * e), "that is a linear decay: 1/t decay divides by "
                               "(1 + decay * t)."),
        (no_one, "the denominator is 1 + decay * t; without the 1, step 0 divides by 0."),
        (lr / (1 + decay * (e + 1)), "step 0 must use lr itself: 1 + decay * 0 = 1."),
    ]


def _matching_hint(got: Any, expected: np.ndarray, mistakes) -> str | None:
    """The hint of the first typical mistake that reproduces every step of ``got``."""
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return None
    if arr.shape != expected.shape:
        return None
    for values, text in mistakes:
        values = np.asarray(values, dtype=float)
        if not np.allclose(values, expected, rtol=1e-9, atol=0.0, equal_nan=True) and \
                np.allclose(arr, values, rtol=1e-9, atol=0.0, equal_nan=True):
            return text
    return None


def _decay_call(ex: str, func, name: str, *args, **kwargs):
    try:
        return call(ex, func, *args, what=name, **kwargs)
    except CheckFailed as error:
        if "TypeError" in str(error) and "\nHint:" not in str(error):
            raise CheckFailed(f"{error}\nHint: the step t may be a numpy array: use "
                              "t // decay_steps or np.floor, not math.floor or an if on t."
                              ) from None
        raise


def _check_decay(ex: str, func, name: str, arg: str, cases, reference, mistakes) -> None:
    for lr, rate, d, staircase in cases:
        label = (f"{name}(lr={lr:g}, {arg}={rate:g}, t, decay_steps={d}, "
                 f"staircase={staircase})")
        expected = reference(lr, rate, d, staircase)(_T)
        got = _decay_call(ex, func, name, lr, rate, _T.copy(), decay_steps=d,
                          staircase=staircase)
        if np.ndim(got) == 0 and np.size(got) == 1:
            fail(ex, f"{label} returned one number for an array of {_T.size} steps.",
                 "compute with numpy so that an array of steps gives an array of rates.")
        with np.errstate(all="ignore"):
            hint = _matching_hint(got, expected, mistakes(lr, rate, _T, d, staircase))
        sequence(ex, label, got, expected, rtol=1e-9, atol=0.0, hint=hint)
    lr, rate, d, staircase = cases[2]
    value = _decay_call(ex, func, name, lr, rate, 9, decay_steps=d, staircase=staircase)
    expected = float(reference(lr, rate, d, staircase)(9))
    if np.size(value) != 1 or not isinstance(np.asarray(value).reshape(-1)[0].item(),
                                             numbers.Real):
        fail(ex, f"{name}(..., t=9, ...) should return one number, got {fmt(value)}.")
    got = float(np.asarray(value).reshape(-1)[0])
    if not math.isclose(got, expected, rel_tol=1e-9):
        fail(ex, f"{name}(lr={lr:g}, {arg}={rate:g}, t=9, decay_steps={d}, "
                 f"staircase={staircase}): expected {fmt(expected)}, got {fmt(got)}.",
             "an int step should give the same rate as that step inside an array.")


def decay_functions(exponential_decay: Callable[..., Any],
                    inverse_time_decay: Callable[..., Any]) -> None:
    """Check Exercise 2.2: exponential and 1/t decay as functions of the step.

    Parameters
    ----------
    exponential_decay : callable
        ``exponential_decay(lr, gamma, t, decay_steps=1, staircase=False)``:
        ``lr * gamma ** (t / decay_steps)``, with ``floor`` of the exponent when
        ``staircase``.
    inverse_time_decay : callable
        ``inverse_time_decay(lr, decay, t, decay_steps=1, staircase=False)``:
        ``lr / (1 + decay * t / decay_steps)``, with ``floor`` of ``t / decay_steps``
        when ``staircase``.

    Notes
    -----
    Both are called with ``t`` a numpy array of steps (0 to 1000, around the
    ``decay_steps`` boundaries) and with a plain int, and compared with
    :func:`lrlib.schedules.exponential` and :func:`lrlib.schedules.inverse_time`
    (relative tolerance 1e-9).
    """
    ex = "2.2"
    _check_decay(ex, exponential_decay, "exponential_decay", "gamma", _EXP_CASES,
                 lambda lr, g, d, s: S.exponential(lr, gamma=g, decay_steps=d, staircase=s),
                 _exp_mistakes)
    _check_decay(ex, inverse_time_decay, "inverse_time_decay", "decay", _INV_CASES,
                 lambda lr, k, d, s: S.inverse_time(lr, k, decay_steps=d, staircase=s),
                 _inv_mistakes)
    passed(ex, f"both decays match lrlib on {len(_EXP_CASES) + len(_INV_CASES)} settings "
               f"x {_T.size} steps, with and without staircase.")


# ---------------------------------------------------------------------------
# Exercise 2.3: choose a step-decay milestone and defend it
# ---------------------------------------------------------------------------

MIN_CANDIDATES = 3
MIN_SEEDS = 3


def _accuracies(ex: str, milestone, values) -> np.ndarray:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        fail(ex, f"results[{milestone!r}] should be a list of accuracies (one per "
                 f"seed), got {fmt(values)}.")
    try:
        acc = np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        fail(ex, f"results[{milestone!r}] should hold numbers, got {fmt(values)}.")
    if acc.size < MIN_SEEDS:
        fail(ex, f"results[{milestone!r}] has {acc.size} accuracies; measure at least "
                 f"{MIN_SEEDS} seeds per milestone.",
             "one seed cannot tell a better milestone from a lucky initialization.")
    if not np.all(np.isfinite(acc)):
        fail(ex, f"results[{milestone!r}] contains a non-finite accuracy: {fmt(acc)}.")
    if np.any(acc > 1) and np.all(acc <= 100):
        fail(ex, f"results[{milestone!r}] = {fmt(acc)} looks like percentages.",
             "report accuracies as fractions in [0, 1], as History.val_acc and test_acc do.")
    if np.any((acc < 0) | (acc > 1)):
        fail(ex, f"results[{milestone!r}] = {fmt(acc)}: accuracies must lie in [0, 1].")
    if acc.size > 1 and np.all(acc == acc[0]):
        fail(ex, f"results[{milestone!r}] has the same accuracy {fmt(acc[0])} for every "
                 "seed.", "pass the seed to both the model (mlp(seed=...)) and "
                          "train(..., seed=...), or the runs are copies of one another.")
    return acc


def milestone_choice(milestone_study: Callable[[], Any], *, epochs: int) -> None:
    """Check Exercise 2.3: a step-decay milestone chosen by a measurement.

    Parameters
    ----------
    milestone_study : callable
        ``milestone_study()`` returns ``(milestone, results)``: the chosen milestone
        (an epoch) and a dict mapping each candidate milestone (an epoch in
        ``1 .. epochs - 1``) to the final (validation) accuracies of at least three
        seeds.
    epochs : int
        The training budget in epochs.

    Notes
    -----
    The choice passes if it is one of at least three measured candidates, its mean
    accuracy is within one standard deviation (over seeds) of the best candidate's
    mean, and no candidate is ahead of it beyond the seed spread (a gap of the means
    larger than the two standard deviations added, the book's rule). A tie may be
    broken by any stated reason; the message names the candidates the choice is
    clearly ahead of and those it is tied with, so that the learner's comment can say
    which. The check cannot re-run the training; it checks that the numbers are a
    complete, plausible measurement and that the choice follows from them.
    """
    ex = "2.3"
    out = call(ex, milestone_study, what="milestone_study")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        fail(ex, f"milestone_study() should return (milestone, results), got {fmt(out)}.")
    choice, results = out
    if not isinstance(results, Mapping):
        fail(ex, f"results should be a dict {{milestone: [accuracy per seed]}}, got "
                 f"{type(results).__name__} {fmt(results)}.")
    if len(results) < MIN_CANDIDATES:
        fail(ex, f"results has {len(results)} milestone(s) {sorted(results)}; compare at "
                 f"least {MIN_CANDIDATES} (your choice and alternatives on both sides).")
    for m in results:
        if isinstance(m, bool) or not isinstance(m, numbers.Integral):
            fail(ex, f"milestone {m!r} should be an int number of epochs.")
        if not 1 <= int(m) <= epochs - 1:
            hint = ("a milestone is an epoch here; convert to steps only when you build "
                    "the schedule (milestone * steps_per_epoch).") if m >= epochs else \
                   ("a milestone at epoch 0 drops the rate before the first update, and "
                    f"one at epoch {epochs} or later never fires.")
            fail(ex, f"milestone {m} is outside 1 .. {epochs - 1} for a {epochs}-epoch "
                     "budget.", hint)
    acc = {int(m): _accuracies(ex, m, v) for m, v in results.items()}
    if isinstance(choice, bool) or not isinstance(choice, numbers.Integral):
        fail(ex, f"the chosen milestone should be an int epoch, got {fmt(choice)}.")
    choice = int(choice)
    if choice not in acc:
        fail(ex, f"you chose milestone {choice} but measured only {sorted(acc)}.",
             "defend the choice with a measurement of that very milestone.")
    means = {m: float(a.mean()) for m, a in acc.items()}
    stds = {m: float(a.std()) for m, a in acc.items()}
    best = max(means, key=means.get)
    favours = ("your own measurement favours another milestone: choose it, or measure "
               "more seeds if you doubt it.")
    if means[choice] < means[best] - stds[best]:
        fail(ex, f"milestone {choice} has mean accuracy {means[choice]:.4f}, but "
                 f"milestone {best} has {means[best]:.4f} (spread over seeds "
                 f"{stds[best]:.4f}).", favours)
    others = sorted(m for m in acc if m != choice)
    gap = {m: means[choice] - means[m] for m in others}
    summed = {m: stds[choice] + stds[m] for m in others}
    ahead_of_choice = [m for m in others if -gap[m] > summed[m]]
    if ahead_of_choice:
        m = ahead_of_choice[-1]
        fail(ex, f"milestone {m} ({means[m]:.4f} ± {stds[m]:.4f}) is ahead of your choice "
                 f"{choice} ({means[choice]:.4f} ± {stds[choice]:.4f}) by more than the two "
                 "standard deviations added.", favours)
    table = ", ".join(f"{m}: {means[m]:.3f} ± {stds[m]:.3f}" for m in sorted(acc))
    clearly = [m for m in others if gap[m] > summed[m]]
    tied = [m for m in others if abs(gap[m]) <= summed[m]]
    parts = []
    if clearly:
        parts.append(f"clearly ahead of {_listing(clearly)}")
    if tied:
        parts.append(f"tied with {_listing(tied)} within the seed spread")
    message = f"milestone {choice} is {', and '.join(parts)} ({table})."
    if tied:
        message += (" The measurement does not settle a tie: say so in your comment, and "
                    "what you would measure to break it.")
    passed(ex, message)


def _listing(items: list[int]) -> str:
    """``[3]`` -> ``"3"``, ``[3, 5]`` -> ``"3 and 5"``, ``[3, 5, 7]`` -> ``"3, 5 and 7"``."""
    words = [str(m) for m in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
