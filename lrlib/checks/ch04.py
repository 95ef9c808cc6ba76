r"""Checks for the exercises of chapter 4, cyclic learning rates and the LR range test.

One function per exercise; each calls the learner's function, compares the result with
the reference on several inputs and either prints one confirmation line or raises
:class:`lrlib.checks.CheckFailed` saying which input or step is wrong, what was expected
and what came back, with a hint at the usual mistake.

* :func:`triangular2_values` (Exercise 4.1, by hand): five rates of a triangular2
  schedule, worked out on paper.
* :func:`triangular` (Exercise 4.2, implement): the triangular policy as a function of
  the iteration, with an optional asymmetric descent (``step_size_down``).
* :func:`range_test_batch_size` (Exercise 4.3, experiment): an LR range test of the
  MNIST-1D MLP for a given batch size, following the recipe of the exercise, and the
  medians over three seeds of two suggestions, which must grow with the batch size, and
  of the lowest smoothed loss, which must fall.

The reference values come from :func:`lrlib.schedules.cyclic` and
:func:`lrlib.finder.lr_range_test_torch`, never typed in.

Notes
-----
With :math:`S = s_{up} + s_{down}`, the cycle :math:`c = \lfloor 1 + t/S \rfloor`, the
position :math:`x = 1 + t/S - c` and :math:`r = s_{up}/S`, the height of the triangle is
:math:`h = x/r` while climbing (:math:`x \le r`) and :math:`(1 - x)/(1 - r)` while
descending, and

.. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h\, \text{scale},

with scale 1 (triangular) or :math:`2^{-(c - 1)}` (triangular2).

Examples
--------
>>> from lrlib import checks
>>> def my_triangular2_values():
...     return 0.58, 0.9, 0.34, 0.5, 0.22
>>> checks.ch04.triangular2_values(my_triangular2_values)
✓ Exercise 4.1 passed: t = 3, 5, 13, 15, 27 give 0.58, 0.9, 0.34, 0.5, 0.22.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lrlib import schedules as S
from lrlib.checks._core import call, close, fail, fmt, number, passed

__all__ = ["RANGE_TEST_RECIPE", "TRIANGULAR2_PROBLEM", "range_test_batch_size",
           "triangular", "triangular2_values"]


def _near(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12)


# ---------------------------------------------------------------------------
# Exercise 4.1
# ---------------------------------------------------------------------------

TRIANGULAR2_PROBLEM = {"base_lr": 0.1, "max_lr": 0.9, "step_size_up": 5,
                       "steps": (3, 5, 13, 15, 27)}
"""The schedule and the iterations of Exercise 4.1 (a cycle of 10 iterations)."""


def _triangle(t: int, base: float, top: float, up: int, halve: str = "cycle") -> float:
    """A symmetric triangular(2) value written out; ``halve`` selects a variant or a slip."""
    total = 2 * up
    cycle = math.floor(1 + t / total)
    x = 1 + t / total - cycle
    ratio = up / total
    h = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
    amplitude = top - base
    if halve == "none":
        return base + amplitude * h
    if halve == "cycle":
        return base + amplitude * h * 0.5 ** (cycle - 1)
    if halve == "cycle+1":
        return base + amplitude * h * 0.5**cycle
    if halve == "rate":
        return (base + amplitude * h) * 0.5 ** (cycle - 1)
    raise ValueError(halve)


def triangular2_values(func: Callable[[], Any]) -> None:
    r"""Check Exercise 4.1: five rates of a triangular2 schedule, by hand.

    Parameters
    ----------
    func : callable
        Takes no argument and returns the rates at iterations 3, 5, 13, 15 and 27 (in
        that order) of the triangular2 schedule with ``base_lr=0.1``, ``max_lr=0.9``
        and ``step_size_up=5`` (see :data:`TRIANGULAR2_PROBLEM`).

    Raises
    ------
    CheckFailed
        Naming the first wrong rate, expected versus got, with a hint when the value
        matches a typical slip: no halving (triangular), halving from the first cycle
        on, halving ``base_lr`` too, or counting the iterations from 1.
    """
    ex = "4.1"
    p = TRIANGULAR2_PROBLEM
    base, top, up, steps = p["base_lr"], p["max_lr"], p["step_size_up"], p["steps"]
    got = call(ex, func, what="triangular2_by_hand")
    if not isinstance(got, (tuple, list, np.ndarray)) or len(got) != len(steps):
        fail(ex, f"return {len(steps)} rates, one for each of t = "
                 f"{', '.join(map(str, steps))}, got {fmt(got)}.")
    sched = S.cyclic(base_lr=base, max_lr=top, step_size_up=up, mode="triangular2")
    for t, value in zip(steps, got, strict=True):
        value = number(ex, f"the rate at t = {t}", value)
        ref = sched(t)
        slips = {
            _triangle(t, base, top, up, halve="none"):
                "that is the triangular value: triangular2 halves the height of the "
                "triangle at the start of every new cycle (a cycle is 2 * 5 = 10 "
                "iterations).",
            _triangle(t, base, top, up, halve="cycle+1"):
                "halved once too often: the first cycle (c = 1) has the full height, "
                "the scale is 2^-(c - 1).",
            _triangle(t, base, top, up, halve="rate"):
                "only the height above base_lr is halved: base_lr + (max_lr - base_lr) "
                "* h * 2^-(c - 1), and the rate never drops below base_lr.",
            sched(t - 1):
                "that is the rate of the iteration before: t counts from 0, and "
                "t = 0 is at base_lr.",
            sched(t + 1):
                "that is the rate of the iteration after: t counts from 0, and t = 0 "
                "is at base_lr.",
        }
        hint = next((h for v, h in slips.items() if not _near(v, ref) and _near(value, v)),
                    "find the cycle c = floor(1 + t/10), the position x = 1 + t/10 - c, "
                    "the height h (x/0.5 climbing, (1 - x)/0.5 descending), then "
                    "0.1 + 0.8 * h * 2^-(c - 1).")
        if not math.isclose(value, ref, rel_tol=1e-6, abs_tol=1e-12):
            fail(ex, f"t = {t}: expected the rate {fmt(ref)}, got {fmt(value)}.", hint)
    values = ", ".join(fmt(sched(t)) for t in steps)
    passed(ex, f"t = {', '.join(map(str, steps))} give {values}.")


# ---------------------------------------------------------------------------
# Exercise 4.2
# ---------------------------------------------------------------------------

_TRIANGULAR_CASES = [
    # label, base_lr, max_lr, step_size_up, step_size_down, steps
    ("base_lr=0.1, max_lr=0.5, step_size_up=4", 0.1, 0.5, 4, None, list(range(21))),
    ("Smith's CIFAR-10 bounds: base_lr=0.001, max_lr=0.006, step_size_up=2000", 0.001,
     0.006, 2000, None, [0, 1, 1000, 1999, 2000, 2001, 3000, 4000, 10_500, 123_456]),
    ("asymmetric: base_lr=0.2, max_lr=1.0, step_size_up=3, step_size_down=7", 0.2, 1.0, 3,
     7, list(range(26))),
    ("base_lr = max_lr = 0.05, step_size_up=3", 0.05, 0.05, 3, None, list(range(8))),
]


def _triangular_slips(base: float, top: float, up: int, down: int | None,
                      steps: list[int]) -> list[tuple[np.ndarray, str]]:
    """The sequences that typical mistakes produce on a case, each with its hint."""
    down_ = up if down is None else down
    total = up + down_
    t = np.asarray(steps)
    ref = S.cyclic(base_lr=base, max_lr=top, step_size_up=up, step_size_down=down)
    slips = [
        (top + base - ref(t), "the cycle starts at base_lr: the rate climbs from base_lr at "
                              "t = 0 to max_lr at t = step_size_up."),
        (S.cyclic(base_lr=base, max_lr=top, step_size_up=up)(t),
         "that is the symmetric triangle: the descent takes step_size_down iterations (it "
         "defaults to step_size_up only when None)."),
        (S.cyclic(base_lr=base, max_lr=top, step_size_up=max(up // 2, 1),
                  step_size_down=max(down_ // 2, 1))(t),
         "step_size_up is half a cycle, not the whole cycle: the rate needs step_size_up "
         "iterations to climb from base_lr to max_lr."),
        (ref(t + 1), "that is the rate one iteration later: t counts from 0, at base_lr."),
        (ref(t - 1), "that is the rate one iteration earlier: t counts from 0, at base_lr."),
        (np.full(t.shape, base),
         "the rate never leaves base_lr. In Smith's form x = |t/s - 2c + 1| the cycle "
         "number starts at 1, c = floor(1 + t/(2s)); with c = floor(t/(2s)) the height "
         "max(0, 1 - x) is always 0."),
        (np.where(t >= total, base, ref(t)),
         "after the first cycle the rate stays at base_lr: the cycle number is "
         "floor(1 + t / (step_size_up + step_size_down)), and the position inside it "
         "restarts every cycle."),
    ]
    return [(values, hint) for values, hint in slips if not np.allclose(values, ref(t))]


_TRIANGULAR_GENERIC = ("compute the cycle c = floor(1 + t/S) with S = step_size_up + "
                       "step_size_down, x = 1 + t/S - c, then the height h = x/r while "
                       "x <= r = step_size_up/S and (1 - x)/(1 - r) after, and "
                       "base_lr + (max_lr - base_lr) * h.")


def triangular(func: Callable[..., Any]) -> None:
    r"""Check Exercise 4.2: the triangular policy ``triangular(step, base_lr, ...)``.

    Parameters
    ----------
    func : callable
        The learner's function. For an int ``step`` (the iteration, from 0) it returns
        the rate of the triangular policy: ``base_lr`` at step 0, ``max_lr`` after
        ``step_size_up`` steps, back at ``base_lr`` after ``step_size_down`` more (the
        same as ``step_size_up`` when None), and so on forever.

    Raises
    ------
    CheckFailed
        On the first case and step that differ from :func:`lrlib.schedules.cyclic`, with
        a hint when the whole sequence of the case matches a typical mistake (starting
        at ``max_lr``, ignoring ``step_size_down``, taking the step size for the whole
        cycle, counting from 1, stopping after one cycle). The cases: a short symmetric
        cycle over five half-cycles, Smith's CIFAR-10 bounds at large steps, an
        asymmetric cycle (``step_size_down`` given), and a degenerate cycle with
        ``base_lr == max_lr``.
    """
    ex = "4.2"
    for label, base, top, up, down, steps in _TRIANGULAR_CASES:
        ref = S.cyclic(base_lr=base, max_lr=top, step_size_up=up, step_size_down=down)
        values = []
        for t in steps:
            args = (t, base, top, up) if down is None else (t, base, top, up, down)
            got = call(ex, func, *args, what="triangular")
            values.append(number(ex, f"{label}: the rate at step {t}", got))
        values = np.array(values)
        expected = ref(np.asarray(steps))
        bad = ~np.isclose(values, expected, rtol=1e-9, atol=1e-15)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            hint = next((h for seq, h in _triangular_slips(base, top, up, down, steps)
                         if np.allclose(values, seq, rtol=1e-6, atol=1e-12)),
                        _TRIANGULAR_GENERIC)
            fail(ex, f"{label}: step {steps[i]}: expected {fmt(expected[i])}, got "
                     f"{fmt(values[i])}.", hint)
    passed(ex, f"{len(_TRIANGULAR_CASES)} cases agree with lrlib's cyclic schedule "
               "(symmetric, large steps, asymmetric, base_lr = max_lr).")


# ---------------------------------------------------------------------------
# Exercise 4.3
# ---------------------------------------------------------------------------

RANGE_TEST_RECIPE = {"start_lr": 1e-3, "end_lr": 10.0, "num_iter": 200, "momentum": 0.9}
"""The settings of Exercise 4.3: the sweep and SGD's momentum."""

_RANGE_CASES = ((16, 0), (256, 1))  # (batch_size, seed)
_MEDIAN_SIZES = (16, 256)
_MEDIAN_SEEDS = (0, 1, 2)
_MEDIAN_RULES = ("minimum/10", "valley")
_MEDIAN_KEYS = (*_MEDIAN_RULES, "lowest loss")


@functools.lru_cache(maxsize=16)
def _reference_range_test(batch_size: int, seed: int):
    import torch

    from lrlib.data import batches, load_mnist1d, to_tensors
    from lrlib.finder import lr_range_test_torch
    from lrlib.models import mlp

    tensors = to_tensors(load_mnist1d())
    model = mlp(seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=RANGE_TEST_RECIPE["momentum"])
    order = torch.Generator().manual_seed(seed)
    stream = list(batches(tensors.x_train, tensors.y_train, batch_size, generator=order))
    result = lr_range_test_torch(model, torch.nn.CrossEntropyLoss(), stream, opt,
                                 start_lr=RANGE_TEST_RECIPE["start_lr"],
                                 end_lr=RANGE_TEST_RECIPE["end_lr"],
                                 num_iter=RANGE_TEST_RECIPE["num_iter"])
    first_losses = {}
    for size in {batch_size, 64}:
        order = torch.Generator().manual_seed(seed)
        xb, yb = next(iter(batches(tensors.x_train, tensors.y_train, size, generator=order)))
        with torch.no_grad():
            first_losses[size] = float(torch.nn.functional.cross_entropy(mlp(seed=seed)(xb), yb))
    return result, first_losses


def _value(result, key: str) -> float:
    return float(result.smoothed.min()) if key == "lowest loss" else result.suggestions[key]


def _reference_medians(batch_size: int) -> tuple[dict[str, float], dict[str, list]]:
    """The medians over the seeds, and the values typical slips give, with their hints."""
    results = [_reference_range_test(batch_size, seed)[0] for seed in _MEDIAN_SEEDS]
    medians = {key: float(np.median([_value(r, key) for r in results])) for key in _MEDIAN_KEYS}
    slips: dict[str, list[tuple[float, str]]] = {}
    for key in _MEDIAN_KEYS:
        values = [_value(r, key) for r in results]
        slips[key] = [
            (float(np.mean(values)), "that is the mean over the seeds: take the median "
                                     "(np.median)."),
            (float(values[0]), "that is the value of seed 0 alone: run seeds 0, 1 and 2 "
                               "and take the median of the three."),
        ]
        if key in _MEDIAN_RULES:
            other = next(r for r in _MEDIAN_RULES if r != key)
            slips[key].append((medians[other], f"that is the median of the {other!r} rule: "
                                               "the two keys are swapped."))
        if key == "minimum/10":
            slips[key].append((float(np.median([r.best_lr for r in results])),
                               "that is the rate at the minimum itself; the rule takes a "
                               "tenth of it: read result.suggestions['minimum/10']."))
        if key == "lowest loss":
            slips[key].append((float(np.median([np.min(r.losses) for r in results])),
                               "that is the lowest raw minibatch loss: take the minimum of "
                               "the smoothed curve, result.smoothed.min()."))
    return medians, slips


def _check_medians(ex: str, medians_func: Callable[..., Any]) -> dict[int, dict[str, float]]:
    """Call ``median_suggestions`` for each batch size; check the trend, then the values."""
    keys = ", ".join(repr(k) for k in _MEDIAN_KEYS)
    got: dict[int, dict[str, float]] = {}
    for size in _MEDIAN_SIZES:
        answer = call(ex, medians_func, size, what="median_suggestions")
        if not isinstance(answer, dict) or not all(key in answer for key in _MEDIAN_KEYS):
            fail(ex, f"median_suggestions({size}): expected a dict with the keys {keys}, got "
                     f"{fmt(answer)}.",
                 "return {key: median, ...}: the two rules with the keys of "
                 "result.suggestions, and 'lowest loss'.")
        got[size] = {key: number(ex, f"median_suggestions({size})[{key!r}]", answer[key])
                     for key in _MEDIAN_KEYS}
    reference = {size: _reference_medians(size) for size in _MEDIAN_SIZES}
    sizes = ", ".join(map(str, _MEDIAN_SIZES))
    for key in _MEDIAN_KEYS:  # the experiment: how do they move with the batch size?
        values = [got[size][key] for size in _MEDIAN_SIZES]
        rising = key in _MEDIAN_RULES
        if not all(a < b if rising else a > b for a, b in itertools.pairwise(values)):
            expected = [reference[size][0][key] for size in _MEDIAN_SIZES]
            what = (f"the median {key} suggestion should grow" if rising
                    else "the median lowest smoothed loss should fall")
            fail(ex, f"{what} with the batch size ({sizes}): expected "
                     f"{fmt(np.array(expected))}, got {fmt(np.array(values))}.",
                 "pass batch_size on to range_test_for_batch_size, and take the median over "
                 "seeds 0, 1 and 2.")
    for size in _MEDIAN_SIZES:
        medians, slips = reference[size]
        for key in _MEDIAN_KEYS:
            value, ref = got[size][key], medians[key]
            hint = next((h for v, h in slips[key] if not _near(v, ref) and _near(value, v)),
                        "run range_test_for_batch_size(batch_size, seed) for seeds 0, 1 and "
                        "2 and take np.median over them of result.suggestions[rule] (and of "
                        "result.smoothed.min() for 'lowest loss').")
            close(ex, f"median_suggestions({size})[{key!r}]", value, ref, rtol=1e-5,
                  hint=hint)
    return got


def range_test_batch_size(func: Callable[..., Any], medians_func: Callable[..., Any]) -> None:
    r"""Check Exercise 4.3: ``range_test_for_batch_size`` and ``median_suggestions``.

    Parameters
    ----------
    func : callable
        The learner's ``range_test_for_batch_size(batch_size, seed)``. It returns the
        :class:`~lrlib.finder.RangeTestResult` of ``lr_range_test_torch`` on
        ``mlp(seed=seed)`` with ``torch.optim.SGD(..., momentum=0.9)``, the
        cross-entropy loss, and the MNIST-1D training set in minibatches of
        ``batch_size`` from ``lrlib.data.batches`` shuffled once by
        ``torch.Generator().manual_seed(seed)``; the sweep of
        :data:`RANGE_TEST_RECIPE` (1e-3 to 10 in 200 iterations).
    medians_func : callable
        The learner's ``median_suggestions(batch_size)``: a dict with the median over
        seeds 0, 1 and 2 of the ``"minimum/10"`` and the ``"valley"`` suggestion and of
        the lowest smoothed loss (``"lowest loss"``).

    Raises
    ------
    CheckFailed
        For a result that is not a range test, a different sweep, a different first
        minibatch loss (model, batch order or batch size differ; ignoring
        ``batch_size`` is recognised), a different later loss (the optimizer differs)
        or suggestions that differ from the reference run; then, for batch sizes 16
        and 256, for medians that are not a dict of the three keys, suggestions that do
        not grow with the batch size or a lowest loss that does not fall (the findings
        of the experiment), or values that differ from the reference (the mean instead
        of the median, seed 0 alone, swapped rules, the rate at the minimum and the raw
        loss are recognised).
    """
    from lrlib.finder import RangeTestResult, sweep_rates

    ex = "4.3"
    recipe = RANGE_TEST_RECIPE
    rates = sweep_rates(recipe["start_lr"], recipe["end_lr"], recipe["num_iter"])
    for batch_size, seed in _RANGE_CASES:
        label = f"batch_size={batch_size}, seed={seed}"
        got = call(ex, func, batch_size, seed, what="range_test_for_batch_size")
        if not isinstance(got, RangeTestResult):
            fail(ex, f"{label}: expected the RangeTestResult of lr_range_test_torch, got "
                     f"{type(got).__name__} {fmt(got)}.",
                 "return what lr_range_test_torch(...) returns.")
        n = len(got.lrs)
        if not (2 <= n <= len(rates)) or not np.allclose(got.lrs, rates[:n], rtol=1e-9):
            fail(ex, f"{label}: the rates should sweep from {fmt(recipe['start_lr'])} to "
                     f"{fmt(recipe['end_lr'])} in {recipe['num_iter']} iterations; got "
                     f"{n} rates starting {fmt(np.asarray(got.lrs[:3]))}.",
                 "pass start_lr=1e-3, end_lr=10.0, num_iter=200 to lr_range_test_torch.")
        ref, first = _reference_range_test(batch_size, seed)
        if not _near(float(got.losses[0]), float(ref.losses[0])):
            if batch_size != 64 and _near(float(got.losses[0]), first[64]):
                hint = ("that is the loss of a batch of 64: pass batch_size to "
                        "lrlib.data.batches instead of a fixed size.")
            else:
                hint = ("the first loss is the untrained mlp(seed=seed) on the first "
                        "minibatch: build the model with that seed and shuffle with "
                        "torch.Generator().manual_seed(seed), once.")
            fail(ex, f"{label}: first minibatch loss: expected {fmt(float(ref.losses[0]))}, "
                     f"got {fmt(float(got.losses[0]))}.", hint)
        m = min(n, len(ref.losses))
        bad = ~np.isclose(got.losses[:m], ref.losses[:m], rtol=1e-5, atol=1e-7)
        if not bad.any() and n != len(ref.losses):
            fail(ex, f"{label}: the test ran {n} iterations, the reference {len(ref.losses)}.",
                 "keep the default stopping rule of lr_range_test_torch.")
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            fail(ex, f"{label}: iteration {i}: expected loss {fmt(float(ref.losses[i]))}, got "
                     f"{fmt(float(got.losses[i]))} (the first loss matches, so the model and "
                     "the data do).",
                 "use torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) and the "
                 "cross-entropy loss; the range test sets the rate itself.")
        for rule in ("minimum/10", "valley"):
            close(ex, f"the {rule} suggestion for {label}", got.suggestions[rule],
                  ref.suggestions[rule], rtol=1e-5,
                  hint="read the suggestion from the result: result.suggestions[rule].")
    medians = _check_medians(ex, medians_func)
    trend = "; ".join(f"{key} " + " -> ".join(f"{medians[size][key]:.3g}"
                                              for size in _MEDIAN_SIZES)
                      for key in _MEDIAN_KEYS)
    passed(ex, "the range tests match the reference; from batch "
               f"{' to '.join(map(str, _MEDIAN_SIZES))} the median suggestions grow and the "
               f"lowest loss falls ({trend}).")
