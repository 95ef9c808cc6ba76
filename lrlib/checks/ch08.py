r"""Checks for the exercises of chapter 8, choosing a schedule.

One function per exercise; each takes the learner's function, runs it and either
prints one confirmation line or raises :class:`lrlib.checks.CheckFailed` saying what
is wrong, what was expected and what came back, with a hint at the usual mistake.

* :func:`read_the_table` (Exercise 8.1, by hand): three questions answered by reading
  the measured table (:data:`QUESTIONS`); the answers are recomputed from the
  committed full grid, ``bench/results/grid.json``.
* :func:`valid_schedule` (Exercise 8.2, implement): a schedule of the learner's design,
  ``my_schedule(lr, total_steps)``, checked for what the comparison needs of any
  schedule: a number for an int step (numpy ints included), the same values for an
  array of steps, pure, finite and non-negative at every step (past the end too),
  and a peak equal to ``lr``.
* :func:`add_to_comparison` (Exercise 8.3, experiment): that schedule run through the
  protocol (:func:`lrlib.compare.run_config` for the MLP with SGD), and a verdict
  against the best method of the table, with the chapter's tie rule
  (:func:`lrlib.compare.tie_margin`).

Examples
--------
>>> import numpy as np
>>> from lrlib import checks
>>> def my_schedule(lr, total_steps):
...     return lambda t: lr * np.clip(1.0 - np.asarray(t) / total_steps, 0.0, 1.0)
>>> checks.ch08.valid_schedule(my_schedule)
✓ Exercise 8.2 passed: vectorized, pure, finite and non-negative, peak = lr on 4 horizons.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lrlib import compare as C
from lrlib.checks._core import call, fail, fmt, passed

__all__ = ["QUESTIONS", "add_to_comparison", "answers", "read_the_table", "valid_schedule",
           "verdict"]

QUESTIONS = {
    "a": "CNN with SGD + momentum: the highest mean final test accuracy.",
    "b": "MLP with AdamW: every seed must reach the target; the fewest epochs to it "
         "(mean over the seeds).",
    "c": "CNN with AdamW: the smallest loss of accuracy when the rate is twice the chosen "
         "one (the 'drop at 2x' column).",
}
"""The three questions of Exercise 8.1, each answered by one method of the table."""


# ---------------------------------------------------------------------------
# Exercise 8.1: reading the table
# ---------------------------------------------------------------------------


def _rows(results: Mapping[str, Any], model: str, optimizer: str) -> dict[str, dict]:
    return {c["method"]: C.config_summary(c) for c in results["configs"]
            if c["model"] == model and c["optimizer"] == optimizer}


def _best_accuracy(rows: Mapping[str, dict]) -> str:
    return max(rows, key=lambda m: rows[m]["acc_mean"])


def _fastest_everywhere(rows: Mapping[str, dict]) -> str:
    full = [m for m in rows if rows[m]["reached"] == len(rows[m]["acc"])]
    return min(full, key=lambda m: (rows[m]["epochs_to_target"], -rows[m]["acc_mean"]))


def _smallest_drop(rows: Mapping[str, dict], key: str) -> str:
    measured = [m for m in rows if rows[m][key] is not None]
    return min(measured, key=lambda m: rows[m][key])


def answers(results: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Return the answers to :data:`QUESTIONS` read from a results file.

    Parameters
    ----------
    results : dict, optional
        Default: :func:`lrlib.compare.load_results` (the committed full grid).

    Returns
    -------
    dict
        Question key -> method name (a key of :data:`lrlib.compare.METHODS`). Ties are
        broken as the table is sorted: by mean accuracy.
    """
    results = C.load_results() if results is None else results
    return {"a": _best_accuracy(_rows(results, "cnn", "sgd")),
            "b": _fastest_everywhere(_rows(results, "mlp", "adamw")),
            "c": _smallest_drop(_rows(results, "cnn", "adamw"), "drop_double")}


def _method(ex: str, key: str, got: Any) -> str:
    """The method named by ``got`` (a key or a label, any case), or fail."""
    if isinstance(got, str):
        text = got.strip().lower()
        for m in C.METHODS:
            if text in (m, C.METHOD_LABELS[m].lower()):
                return m
    names = ", ".join(repr(m) for m in C.METHODS)
    fail(ex, f"answer {key!r} should name a method, one of {names}; got {fmt(got)}.",
         "copy the method's key from the table (the first column).")
    return ""  # pragma: no cover


def _hint_a(got: str, results, rows) -> str | None:
    names = {"sgd": "SGD", "adamw": "AdamW"}
    others = {f"{m.upper()} + {names[o]}": _best_accuracy(_rows(results, m, o))
              for m in C.MODELS for o in C.OPTIMIZERS if (m, o) != ("cnn", "sgd")}
    best_seed = max(rows, key=lambda m: max(rows[m]["acc"]))
    if got == best_seed:
        return ("that method has the best single seed; rank by the mean over the seeds.")
    for block, method in others.items():
        if got == method:
            return f"that is the best of the {block} rows; question (a) asks about CNN + SGD."
    return "sort the CNN + SGD rows by the mean final test accuracy."


def _hint_b(got: str, rows) -> str | None:
    row = rows[got]
    if row["reached"] < len(row["acc"]):
        return (f"{got} reached the target in only {row['reached']} of {len(row['acc'])} "
                "seeds; the question asks for every seed.")
    if got == _best_accuracy(rows):
        return ("that is the most accurate method; the question asks for the fewest "
                "epochs to the target.")
    return "among the rows where every seed reached the target, take the fewest epochs."


def _hint_c(got: str, rows) -> str | None:
    if rows[got]["drop_half"] is not None and got == _smallest_drop(rows, "drop_half"):
        return "that is the smallest drop at HALF the rate; read the 'drop 2x' column."
    measured = [m for m in rows if rows[m]["drop_double"] is not None]
    if got == max(measured, key=lambda m: rows[m]["drop_double"]):
        return "that is the largest drop; the question asks for the smallest."
    return "read the 'drop 2x' column of the CNN + AdamW rows and take the smallest."


def read_the_table(read_answers: Callable[[], Any]) -> None:
    """Check Exercise 8.1: three answers read from the measured table.

    Parameters
    ----------
    read_answers : callable
        ``read_answers()`` returns ``{"a": method, "b": method, "c": method}`` for the
        questions of :data:`QUESTIONS`; a method is a key such as ``"cosine"`` or a
        label such as ``"cosine restarts"``.
    """
    ex = "8.1"
    got = call(ex, read_answers, what="read_the_table")
    if not isinstance(got, Mapping) or set(got) != set(QUESTIONS):
        fail(ex, f"read_the_table() should return a dict with the keys 'a', 'b' and 'c', "
                 f"got {fmt(got)}.")
    results = C.load_results()
    expected = answers(results)
    blocks = {"a": ("cnn", "sgd"), "b": ("mlp", "adamw"), "c": ("cnn", "adamw")}
    for key in ("a", "b", "c"):
        method = _method(ex, key, got[key])
        if method == expected[key]:
            continue
        rows = _rows(results, *blocks[key])
        hint = (_hint_a(method, results, rows) if key == "a" else
                _hint_b(method, rows) if key == "b" else _hint_c(method, rows))
        fail(ex, f"question ({key}) {QUESTIONS[key]} Expected {expected[key]!r}, got "
                 f"{method!r}.", hint)
    passed(ex, f"(a) {expected['a']}, (b) {expected['b']}, (c) {expected['c']}.")


# ---------------------------------------------------------------------------
# Exercise 8.2: a valid schedule of your own
# ---------------------------------------------------------------------------

#: (lr, total_steps) pairs the schedule is tried on: the protocol's MLP horizon, a
#: horizon longer than ScheduleLR's look-ahead of 4096 steps, and two short ones.
HORIZONS = ((0.1, 825), (2.0, 5000), (0.01, 40), (0.5, 10))


def _scalar(ex: str, label: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        fail(ex, f"{label} should be a number, got {type(value).__name__} {fmt(value)}.",
             "return a float (or a numpy number) for an int step.")
    arr = np.asarray(value, dtype=float)
    if arr.size != 1:
        fail(ex, f"{label} should be one number, got an array of shape {arr.shape}.",
             "for a single step, return a single rate.")
    return float(arr.reshape(()))


def _rates(ex: str, sched: Callable, steps: np.ndarray, label: str) -> np.ndarray:
    out = call(ex, sched, steps, what=f"{label}(steps)")
    try:
        arr = np.asarray(out, dtype=float)
    except (TypeError, ValueError):
        fail(ex, f"{label}(an array of {steps.size} steps) should return an array of rates, "
                 f"got {type(out).__name__} {fmt(out)}.")
    if arr.shape != steps.shape:
        hint = None
        if arr.size == 1:
            hint = ("the result is one number for a whole array of steps: use numpy "
                    "operations (np.where, np.minimum, np.clip, np.cos) that work "
                    "element by element.")
        fail(ex, f"{label}(an array of shape {steps.shape}) returned shape {arr.shape}.", hint)
    return arr


def _vector_hint(error_text: str) -> str:
    return ("ScheduleLR evaluates a schedule on an array of thousands of steps at once: "
            "replace Python `if`/`min`/`math.*` on the step by np.where, np.minimum, "
            "np.clip and np.cos. (" + error_text + ")")


def valid_schedule(my_schedule: Callable[[float, int], Any]) -> None:
    """Check Exercise 8.2: a schedule the comparison can use.

    Parameters
    ----------
    my_schedule : callable
        ``my_schedule(lr, total_steps)`` returns ``sched``, a function of the step:
        ``sched(t)`` for an int ``t`` (a Python or numpy int) is the rate of update
        ``t``, and ``sched(steps)`` for an int array returns the array of rates.

    Notes
    -----
    On each of :data:`HORIZONS` the check requires: a single number for an int step,
    numpy ints included; the same values for an array of steps ``0 .. 2T - 1`` as step
    by step; the same values when called again, in reverse order (no hidden state);
    finite, non-negative rates everywhere, including past ``total_steps``; rates never
    above ``lr``; and a largest rate over the run equal to ``lr`` (within 0.1%), since
    the sweep sets every method's peak rate.
    """
    ex = "8.2"
    for lr, T in HORIZONS:
        where = f"my_schedule(lr={lr}, total_steps={T})"
        sched = call(ex, my_schedule, lr, T, what="my_schedule")
        if not callable(sched):
            fail(ex, f"{where} should return a function of the step, got "
                     f"{type(sched).__name__} {fmt(sched)}.",
                 "return the inner function (a closure or a lambda), not its value.")
        probe = sorted({0, 1, T // 2, T - 1, T, 2 * T - 1})
        singles = []
        for t in probe:
            singles.append(_scalar(ex, f"{where}: sched({t})",
                                   call(ex, sched, t, what="sched")))
        value = call(ex, sched, np.int64(probe[-2]), what="sched")
        if not math.isclose(_scalar(ex, f"{where}: sched(np.int64({probe[-2]}))", value),
                            singles[-2], rel_tol=1e-9, abs_tol=1e-15):
            fail(ex, f"{where}: sched(np.int64({probe[-2]})) differs from "
                     f"sched({probe[-2]}).",
                 "numpy ints are ints too: do not test isinstance(t, int).")
        steps = np.arange(2 * T)
        try:
            rates = np.asarray(sched(steps), dtype=float)
        except (TypeError, ValueError) as error:
            fail(ex, f"{where}: sched(np.arange({2 * T})) raised "
                     f"{type(error).__name__}.", _vector_hint(str(error)))
        rates = _rates(ex, sched, steps, "sched")
        for t, single in zip(probe, singles, strict=True):
            if not math.isclose(rates[t], single, rel_tol=1e-9, abs_tol=1e-15):
                fail(ex, f"{where}: step {t}: sched({t}) = {fmt(single)} but "
                         f"sched(np.arange({2 * T}))[{t}] = {fmt(rates[t])}.",
                     "a scalar and an array of steps must give the same rates.")
        again = _rates(ex, sched, steps[::-1].copy(), "sched")[::-1]
        if not np.allclose(again, rates, rtol=1e-12, atol=0.0):
            t = int(np.flatnonzero(~np.isclose(again, rates, rtol=1e-12, atol=0.0))[0])
            fail(ex, f"{where}: step {t}: a second call gives {fmt(again[t])}, the first "
                     f"gave {fmt(rates[t])}.",
                 "the rate must depend on the step only: no counter or list that "
                 "changes between calls.")
        bad = ~np.isfinite(rates) | (rates < 0)
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            hint = ("past total_steps too: clip the progress t / total_steps to [0, 1] "
                    "(np.clip), so a decay stops at zero instead of going negative."
                    if t >= T else "check the formula at that step (a division by zero?).")
            fail(ex, f"{where}: step {t}: the rate is {fmt(rates[t])}; every rate must be "
                     "finite and >= 0.", hint)
        if rates.max() > lr * (1 + 1e-9):
            t = int(np.argmax(rates))
            fail(ex, f"{where}: step {t}: the rate {fmt(rates[t])} is above lr = {lr}.",
                 "lr is the peak: the sweep scales every method by it, so no step may "
                 "exceed it (a restart or a bump must stay at or below lr).")
        peak = rates[:T].max()
        if not math.isclose(peak, lr, rel_tol=1e-3):
            fail(ex, f"{where}: the largest rate over the run is {fmt(peak)}, expected "
                     f"lr = {lr}.",
                 "reach lr at least once (for example at the end of a warm-up): then "
                 "the swept rate means the same for your schedule as for the others.")
    passed(ex, f"vectorized, pure, finite and non-negative, peak = lr on {len(HORIZONS)} "
               "horizons.")


# ---------------------------------------------------------------------------
# Exercise 8.3: add it to the comparison
# ---------------------------------------------------------------------------


def verdict(acc: Any, results: Mapping[str, Any] | None = None) -> tuple[str, str, float,
                                                                         float]:
    """Return the verdict of Exercise 8.3 for per-seed accuracies ``acc``.

    The new schedule is ``'better'`` (``'worse'``) than the best method of the
    MLP + SGD rows of the table if its mean final test accuracy is higher (lower) by more
    than the tie margin of section 8.3, ``lrlib.compare.tie_margin(acc, best_acc)``
    (two standard errors of the difference of the means); else ``'tie'``.

    Returns
    -------
    tuple
        ``(verdict, best_method, difference of the means, margin)``.
    """
    results = C.load_results() if results is None else results
    rows = _rows(results, "mlp", "sgd")
    best = _best_accuracy(rows)
    acc = np.asarray(acc, dtype=float)
    diff = float(acc.mean()) - rows[best]["acc_mean"]
    margin = C.tie_margin(acc, rows[best]["acc"])
    text = "tie" if abs(diff) <= margin else "better" if diff > 0 else "worse"
    return text, best, diff, margin


def _old_rule(acc: Any, results: Mapping[str, Any]) -> str:
    """The verdict with the larger of the two standard deviations as the margin."""
    rows = _rows(results, "mlp", "sgd")
    best = rows[_best_accuracy(rows)]
    acc = np.asarray(acc, dtype=float)
    diff = float(acc.mean()) - best["acc_mean"]
    return "tie" if abs(diff) <= max(acc.std(), best["acc_std"]) else (
        "better" if diff > 0 else "worse")


def add_to_comparison(add: Callable[[], Any]) -> None:
    """Check Exercise 8.3: a new schedule through the protocol, and a verdict.

    Parameters
    ----------
    add : callable
        ``add()`` returns ``(config, verdict)``: ``config`` is
        ``lrlib.compare.run_config("mlp", "sgd", my_schedule, sensitivity=False)``
        (the bracket sweep of the rate, then the protocol's seeds; the sensitivity
        runs are optional) and ``verdict`` is ``'better'``,
        ``'worse'`` or ``'tie'`` against the best MLP + SGD method of the table
        (:func:`verdict`).

    Notes
    -----
    The check verifies that the sweep followed the protocol's rule, that every seed
    ran the full budget at the chosen rate, and re-runs seed 1 (about a second) to
    confirm the reported accuracy.
    """
    ex = "8.3"
    out = call(ex, add, what="add_to_comparison")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        fail(ex, f"add_to_comparison() should return (config, verdict), got {fmt(out)}.")
    config, said = out
    keys = {"model", "optimizer", "method", "sweep", "chosen_lr", "runs"}
    if not isinstance(config, Mapping) or not keys <= set(config):
        fail(ex, f"config should be the dict returned by compare.run_config, got "
                 f"{fmt(config)}.",
             "config = compare.run_config('mlp', 'sgd', my_schedule, sensitivity=False)")
    if (config["model"], config["optimizer"]) != ("mlp", "sgd"):
        fail(ex, f"config is for {config['model']} / {config['optimizer']}; the verdict "
                 "compares with the MLP + SGD rows.",
             "compare like with like: run_config('mlp', 'sgd', my_schedule).")
    if isinstance(config["method"], str):
        fail(ex, f"config['method'] is the built-in method {config['method']!r}.",
             "pass your own schedule (the function my_schedule of Exercise 8.2).")
    cells = config["sweep"]["cells"]
    rates = [c["lr"] for c in cells]
    scores = [c["final_val_acc"] for c in cells]
    if (C.choose_rate(rates, scores) != config["chosen_lr"]
            or C.next_sweep_rate(rates, scores) is not None):
        fail(ex, f"the sweep tried {fmt(np.array(rates))} and chose {config['chosen_lr']}, "
                 "which is not the protocol's bracket rule.",
             "let compare.run_config do the sweep: every method gets the same rule.")
    seeds = [r["seed"] for r in config["runs"]]
    if seeds != C.PROTOCOL["seeds"]:
        fail(ex, f"the runs have the seeds {seeds}, expected {C.PROTOCOL['seeds']}.",
             "at least three seeds, the same as the table's, so the spread compares.")
    for run in config["runs"]:
        if run["lr"] != config["chosen_lr"] or run["epochs"] != C.PROTOCOL["epochs"]:
            fail(ex, f"seed {run['seed']} ran {run['epochs']} epochs at lr {run['lr']}; "
                     f"expected {C.PROTOCOL['epochs']} epochs at {config['chosen_lr']}.",
                 "every method gets the same budget at its chosen rate.")
    rerun = call(ex, C.run_cell, "mlp", "sgd", config["method"], config["chosen_lr"],
                 C.PROTOCOL["seeds"][1], what="compare.run_cell")
    stored = config["runs"][1]["final_test_acc"]
    if not math.isclose(rerun["final_test_acc"], stored, abs_tol=1e-9):
        fail(ex, f"seed {C.PROTOCOL['seeds'][1]} re-run gives a final test accuracy of "
                 f"{fmt(rerun['final_test_acc'])}, the config says {fmt(stored)}.",
             "report the runs themselves, unchanged.")
    acc = [r["final_test_acc"] for r in config["runs"]]
    results = C.load_results()
    expected, best, diff, margin = verdict(acc, results)
    if said not in ("better", "worse", "tie"):
        fail(ex, f"verdict should be 'better', 'worse' or 'tie', got {fmt(said)}.")
    if said != expected:
        if said == _old_rule(acc, results):
            hint = ("that is the rule 'larger than the larger standard deviation'; the "
                    "chapter's rule is the tie margin, compare.tie_margin(yours, best): "
                    "two standard errors of the difference of the means.")
        elif expected == "tie":
            hint = "the difference is within the tie margin: call it a tie."
        elif said == "tie":
            hint = "the difference is larger than the tie margin: the numbers show a winner."
        else:
            hint = "the higher mean wins; check the sign."
        fail(ex, f"your mean is {np.mean(acc):.4f}, the best of the table ({best}) "
                 f"{np.mean(acc) - diff:.4f}: difference {diff:+.4f}, tie margin "
                 f"{margin:.4f}, so the verdict is {expected!r}, got {said!r}.", hint)
    passed(ex, f"rate {config['chosen_lr']:g} chosen by the sweep, {np.mean(acc):.3f} ± "
               f"{np.std(acc):.3f} against {best}: {said!r}.")
