"""Schedule, training-history and trajectory plots in one style.

Every helper takes ``ax=None`` (or ``axes=None``) and creates a figure only when none
is given, labels its axes, sets a title, adds a legend when there is something to
tell apart, returns the axes and never calls ``plt.show()``. Nothing here changes
matplotlib's global ``rcParams``.

>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from lrlib.plotting import plot_schedule
>>> from lrlib.schedules import cosine
>>> ax = plot_schedule(cosine(lr=0.1, T_max=100), steps=100)
>>> print(f"{ax.get_xlabel()} / {ax.get_ylabel()}")
step / learning rate
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lrlib import _validation as V

__all__ = ["plot_history", "plot_range_test", "plot_schedule", "plot_trajectories"]

# One look for every figure: sizes, line widths and the colour cycle's default.
_FIGSIZE = (6.0, 3.6)
_LINEWIDTH = 1.8


def _new_axes(ax, figsize=_FIGSIZE):
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize, constrained_layout=True)
    return ax


def _check_ax(func: str, ax) -> None:
    from matplotlib.axes import Axes

    V.check(ax is None or isinstance(ax, Axes), func, "ax", "None or a matplotlib Axes", ax)


def _check_label(func: str, name: str, label) -> None:
    V.check(label is None or isinstance(label, str), func, name, "None or a str", label)


def plot_schedule(schedule_or_values: Any, steps: Any = None, *, ax=None,
                  label: str | None = None, title: str | None = "Learning-rate schedule",
                  momentum: bool = False):
    """Plot a learning rate against the step.

    Parameters
    ----------
    schedule_or_values : callable or array_like
        An lrlib schedule (any callable of an int array of steps) or the rates
        themselves, one per step.
    steps : int or array_like of int, optional
        For a schedule: the number of steps (plots ``0 .. steps-1``) or the steps
        themselves; required. For values: their steps (default ``0, 1, ...``).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None. Call again with the same ``ax`` and a
        ``label`` to compare schedules.
    label : str, optional
        Legend entry; a legend is drawn when given.
    title : str or None, default='Learning-rate schedule'
        Axes title (None keeps the current one).
    momentum : bool, default=False
        Also draw ``schedule.momentum(steps)`` (dashed, on a second y-axis labelled
        "momentum"), for cyclic and one-cycle schedules.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with the rate (the momentum axis is ``ax.lrlib_momentum_ax``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lrlib.plotting import plot_schedule
    >>> from lrlib.schedules import one_cycle, step
    >>> ax = plot_schedule(step(lr=0.1, step_size=30), steps=100, label="step")
    >>> ax = plot_schedule(one_cycle(max_lr=0.1, total_steps=100), steps=100, ax=ax,
    ...                    label="one-cycle", momentum=True)
    >>> print([t.get_text() for t in ax.get_legend().get_texts()])
    ['step', 'one-cycle', 'one-cycle (momentum)']
    """
    f = "plot_schedule"
    _check_ax(f, ax)
    _check_label(f, "label", label)
    _check_label(f, "title", title)
    momentum = V.boolean(f, "momentum", momentum)
    if callable(schedule_or_values):
        V.check(steps is not None, f, "steps", "given (a number of steps or an array of "
                "steps) when plotting a schedule", steps)
        t = _steps(f, steps)
        values = np.asarray(schedule_or_values(t), dtype=np.float64)
    else:
        V.check(not momentum, f, "momentum", "False when plotting values (only a schedule "
                "with a momentum method has a momentum)", momentum)
        try:
            values = np.asarray(schedule_or_values, dtype=np.float64)
        except (TypeError, ValueError):
            V.fail(f, "schedule_or_values", "a schedule or a 1-D array of rates",
                   schedule_or_values)
        V.check(values.ndim == 1 and values.size > 0, f, "schedule_or_values",
                "a schedule or a non-empty 1-D array of rates", schedule_or_values)
        t = np.arange(values.size) if steps is None else _steps(f, steps)
        V.check(t.shape == values.shape, f, "steps",
                f"one step per value ({values.size})", steps)
    if momentum:
        V.check(callable(getattr(schedule_or_values, "momentum", None)), f, "momentum",
                "False for a schedule without a momentum method", momentum)
    ax = _new_axes(ax)
    (line,) = ax.plot(t, values, lw=_LINEWIDTH, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if title is not None:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if momentum:
        mom_ax = getattr(ax, "lrlib_momentum_ax", None)
        if mom_ax is None:
            mom_ax = ax.twinx()
            mom_ax.set_ylabel("momentum")
            ax.lrlib_momentum_ax = mom_ax
        mom_label = f"{label} (momentum)" if label else "momentum"
        mom_ax.plot(t, schedule_or_values.momentum(t), lw=_LINEWIDTH, ls="--",
                    color=line.get_color(), label=mom_label)
    _legend(ax)
    return ax


def _steps(func: str, steps: Any) -> np.ndarray:
    rule = "a positive int or a non-empty 1-D array of int steps"
    if isinstance(steps, (bool, np.bool_)):
        V.fail(func, "steps", rule, steps)
    if isinstance(steps, (int, np.integer)):
        V.check(steps >= 1, func, "steps", rule, steps)
        return np.arange(int(steps))
    arr = np.asarray(steps)
    V.check(arr.ndim == 1 and arr.size > 0 and arr.dtype.kind in "iu", func, "steps", rule,
            steps)
    return arr


def _legend(ax) -> None:
    """One legend for ``ax`` and its momentum twin, if anything is labelled."""
    handles, labels = ax.get_legend_handles_labels()
    twin = getattr(ax, "lrlib_momentum_ax", None)
    if twin is not None:
        more_h, more_l = twin.get_legend_handles_labels()
        handles, labels = handles + more_h, labels + more_l
    if handles:
        ax.legend(handles, labels)


def _as_histories(func: str, histories, labels) -> tuple[list, list]:
    from lrlib.train import History

    if isinstance(histories, History):
        items, default = [histories], [None]
    elif isinstance(histories, Mapping):
        items, default = list(histories.values()), [str(k) for k in histories]
    elif isinstance(histories, Sequence) and not isinstance(histories, str):
        items, default = list(histories), [None] * len(histories)
    else:
        items, default = [], []
    V.check(len(items) > 0 and all(isinstance(h, History) for h in items), func,
            "histories", "a History, or a non-empty list or dict of them", histories)
    if labels is None:
        return items, default
    V.check(isinstance(labels, Sequence) and not isinstance(labels, str)
            and len(labels) == len(items) and all(isinstance(s, str) for s in labels),
            func, "labels", f"None or a list of {len(items)} str", labels)
    return items, list(labels)


def plot_history(histories: Any, *, labels: Sequence[str] | None = None, axes=None,
                 title: str | None = None):
    """Plot learning rate, training loss and test accuracy of one or more runs.

    Parameters
    ----------
    histories : History, list of History or dict of str to History
        Results of :func:`lrlib.train.train`; a dict's keys are the labels.
    labels : list of str, optional
        One legend entry per history (overrides a dict's keys).
    axes : sequence of 3 matplotlib Axes, optional
        Where to draw; a new 1x3 figure if None.
    title : str, optional
        Figure title (``suptitle``) when the figure is created here.

    Returns
    -------
    ndarray of 3 matplotlib Axes
        Learning rate per step, training loss (log scale), test accuracy per epoch.
        The x-axis of all three is the epoch, so the panels line up.

    Notes
    -----
    The loss panel draws each run's per-epoch loss on the whole training set as a
    line with markers, over its per-step minibatch losses in the same colour, faint.
    A run that diverged is marked with an ``x`` at its last finite minibatch loss.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from lrlib.plotting import plot_history
    >>> from lrlib.train import History
    >>> h = History(lr=np.full(4, 0.1), momentum=np.zeros(4), loss=np.array([2.3, 2.0, 1.8, 1.7]),
    ...             epoch_train_loss=np.array([2.0, 1.7]), test_loss=np.array([2.1, 1.8]),
    ...             test_acc=np.array([0.3, 0.4]), val_loss=None, val_acc=None,
    ...             steps_per_epoch=2, wall_time=0.0, diverged=False)
    >>> axes = plot_history({"SGD": h})
    >>> print([ax.get_title() for ax in axes])
    ['Learning rate', 'Training loss', 'Test accuracy']
    """
    import matplotlib.pyplot as plt

    f = "plot_history"
    items, names = _as_histories(f, histories, labels)
    _check_label(f, "title", title)
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(13.0, 3.6), constrained_layout=True)
        if title is not None:
            fig.suptitle(title)
    else:
        from matplotlib.axes import Axes

        axes = np.asarray(axes, dtype=object).ravel()
        V.check(axes.size == 3 and all(isinstance(a, Axes) for a in axes), f, "axes",
                "None or a sequence of 3 matplotlib Axes", axes)
    ax_lr, ax_loss, ax_acc = axes
    for hist, name in zip(items, names, strict=True):
        (line,) = ax_lr.plot(hist.step_epoch, hist.lr, lw=_LINEWIDTH, label=name)
        color = line.get_color()
        finite = np.isfinite(hist.loss)
        ax_loss.plot(hist.step_epoch[finite], hist.loss[finite], lw=0.8, alpha=0.25,
                     color=color)
        ax_loss.plot(hist.epoch, hist.epoch_train_loss, lw=_LINEWIDTH, marker="o", ms=3,
                     color=color, label=name)
        if hist.diverged and finite.any():
            last = np.flatnonzero(finite)[-1]
            ax_loss.plot(hist.step_epoch[last], hist.loss[last], "x", ms=9, mew=2,
                         color=color)
        ax_acc.plot(hist.epoch, hist.test_acc, lw=_LINEWIDTH, marker="o", ms=3,
                    color=color, label=name)
    for ax, ylabel, ttl in ((ax_lr, "learning rate", "Learning rate"),
                            (ax_loss, "training loss", "Training loss"),
                            (ax_acc, "test accuracy", "Test accuracy")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(ttl)
        ax.grid(True, alpha=0.3)
        if any(name is not None for name in names):
            ax.legend()
    ax_loss.set_yscale("log")
    return axes


def _finite_prefix(path: np.ndarray) -> np.ndarray:
    """The rows of ``path`` before its first non-finite row."""
    bad = ~np.all(np.isfinite(path), axis=1)
    return path[: np.argmax(bad)] if bad.any() else path


def _limits(points: np.ndarray, margin: float = 0.15) -> tuple[tuple, tuple]:
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, np.maximum(np.abs(hi), 1.0))
    lo, hi = lo - margin * span, hi + margin * span
    return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))


def _check_lim(func: str, name: str, value) -> tuple[float, float] | None:
    if value is None:
        return None
    ok = isinstance(value, Sequence) and len(value) == 2
    if ok:
        lo = V.real(func, f"{name}[0]", value[0])
        hi = V.real(func, f"{name}[1]", value[1])
        ok = lo < hi
    V.check(ok, func, name, "None or a pair (low, high) of finite numbers with low < high",
            value)
    return float(value[0]), float(value[1])


def plot_trajectories(problem: Any, paths: Mapping[str, Any], *, ax=None,
                      levels: int | Sequence[float] = 20, xlim=None, ylim=None,
                      title: str | None = None, resolution: int = 200):
    """Draw optimizer paths over the contours of a 2-D problem.

    Parameters
    ----------
    problem : object
        A 2-D problem of :mod:`lrlib.problems` (``Ravine``, ``Rosenbrock``,
        ``LinearRegression``): ``loss`` taking an array of shape ``(..., 2)``, and
        ``minimum``.
    paths : dict of str to array_like of shape (n, 2)
        Iterates per label, for example from :func:`lrlib.problems.trajectory`. Only
        the part before the first non-finite row is drawn.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None.
    levels : int or sequence of float, default=20
        Number of contour levels, log-spaced between the smallest positive and the
        largest loss on the grid, or the levels themselves.
    xlim, ylim : (float, float), optional
        Plotted region; by default the paths and the minimum with a 15% margin.
    title : str, optional
        Axes title; default ``"Trajectories on <problem name>"``.
    resolution : int, default=200
        Grid points per axis for the contours, >= 10.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from lrlib.plotting import plot_trajectories
    >>> from lrlib.problems import Ravine
    >>> ravine = Ravine(mu=1.0, L=25.0)
    >>> path = [np.array([-4.0, 1.0])]
    >>> for _ in range(30):
    ...     path.append(path[-1] - 0.07 * ravine.grad(path[-1]))
    >>> ax = plot_trajectories(ravine, {"GD, lr=0.07": np.array(path)})
    >>> print(ax.get_title(), "|", [t.get_text() for t in ax.get_legend().get_texts()])
    Trajectories on Ravine | ['minimum', 'GD, lr=0.07']
    """
    f = "plot_trajectories"
    V.check(callable(getattr(problem, "loss", None)) and hasattr(problem, "minimum"), f,
            "problem", "a 2-D problem with loss and minimum (Ravine, Rosenbrock, "
            "LinearRegression)", problem)
    minimum = np.asarray(problem.minimum, dtype=np.float64)
    V.check(minimum.shape == (2,), f, "problem", "a 2-D problem (its minimum has shape "
            "(2,))", problem)
    _check_ax(f, ax)
    _check_label(f, "title", title)
    V.check(isinstance(paths, Mapping), f, "paths", "a dict of label -> (n, 2) array",
            paths)
    drawn = {}
    for name, path in paths.items():
        try:
            arr = np.asarray(path, dtype=np.float64)
        except (TypeError, ValueError):
            arr = np.empty(0)
        V.check(isinstance(name, str) and arr.ndim == 2 and arr.shape[1] == 2
                and arr.shape[0] >= 1, f, "paths", "a dict of str label -> (n, 2) array "
                "(n >= 1)", paths)
        drawn[name] = _finite_prefix(arr)
    xlim = _check_lim(f, "xlim", xlim)
    ylim = _check_lim(f, "ylim", ylim)
    resolution = V.integer(f, "resolution", resolution, low=10)
    levels = _check_levels(f, levels)

    points = np.vstack([minimum[None, :], *[p for p in drawn.values() if len(p)]])
    auto_x, auto_y = _limits(points)
    xlim, ylim = xlim or auto_x, ylim or auto_y
    gx, gy = np.meshgrid(np.linspace(*xlim, resolution), np.linspace(*ylim, resolution))
    z = np.asarray(problem.loss(np.stack([gx, gy], axis=-1)), dtype=np.float64)
    if isinstance(levels, int):
        positive = z[np.isfinite(z) & (z > 0)]
        top = positive.max() if positive.size else 1.0
        bottom = max(positive.min(), top * 1e-8) if positive.size else 1e-8
        levels = np.geomspace(bottom, top, levels) if top > bottom else [top]

    ax = _new_axes(ax, figsize=(5.5, 4.5))
    ax.contour(gx, gy, z, levels=levels, cmap="viridis", linewidths=0.8, alpha=0.8)
    ax.plot(*minimum, marker="*", ms=14, color="black", ls="none", label="minimum")
    for name, path in drawn.items():
        if len(path) == 0:
            continue
        (line,) = ax.plot(path[:, 0], path[:, 1], marker="o", ms=2.5, lw=1.2, label=name)
        ax.plot(*path[0], marker="s", ms=6, color=line.get_color(), ls="none")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    xlabel, ylabel = getattr(problem, "axis_labels", ("$x_1$", "$x_2$"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else f"Trajectories on {type(problem).__name__}")
    ax.legend(loc="best")
    return ax


def _check_levels(func: str, levels):
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        return V.integer(func, "levels", int(levels), low=2)
    try:
        arr = np.asarray(levels, dtype=np.float64)
    except (TypeError, ValueError):
        arr = np.empty(0)
    V.check(arr.ndim == 1 and arr.size >= 1 and bool(np.all(np.isfinite(arr)))
            and bool(np.all(np.diff(arr) > 0)), func, "levels",
            "an int >= 2 or an increasing sequence of finite levels", levels)
    return arr


_RULE_MARKERS = {"steepest": "v", "minimum/10": "s", "valley": "o"}


def plot_range_test(result: Any, *, ax=None, rules: Sequence[str] | None = None,
                    raw: bool = True, label: str | None = None,
                    title: str | None = "LR range test"):
    """Plot a range test's loss against the rate (log axis) with its suggestions.

    Parameters
    ----------
    result : lrlib.finder.RangeTestResult
        What :func:`lrlib.finder.range_test` (or one of its wrappers) returned.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure if None. Draw several results on one ``ax`` (with
        ``label``) to compare runs.
    rules : sequence of str, optional
        Which suggestions to mark (default: all of :data:`lrlib.finder.RULES`); each
        is a marker on the smoothed curve with its rate in the legend.
    raw : bool, default=True
        Also draw the raw losses, faintly, behind the smoothed curve.
    label : str, optional
        Legend entry of the smoothed curve (default "smoothed loss").
    title : str or None, default='LR range test'
        Axes title (None keeps the current one).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The y-axis is clipped a little above the starting loss so that the explosion at
    the end does not flatten the interesting part of the curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from lrlib.finder import range_test
    >>> from lrlib.plotting import plot_range_test
    >>> state = {"x": 3.0}
    >>> def step(lr):
    ...     loss = state["x"] ** 2
    ...     state["x"] -= lr * 2 * state["x"]
    ...     return loss
    >>> ax = plot_range_test(range_test(step, 1e-4, 10.0, 100), rules=["steepest"])
    >>> print(ax.get_xscale(), "|", ax.get_xlabel(), "|", ax.get_ylabel())
    log | learning rate | training loss
    """
    from lrlib.finder import RULES, RangeTestResult

    f = "plot_range_test"
    V.check(isinstance(result, RangeTestResult), f, "result",
            "an lrlib.finder.RangeTestResult", result)
    _check_ax(f, ax)
    _check_label(f, "label", label)
    _check_label(f, "title", title)
    raw = V.boolean(f, "raw", raw)
    if rules is None:
        rules = RULES
    V.check(not isinstance(rules, str) and all(r in RULES for r in rules), f, "rules",
            f"a sequence of rule names from {list(RULES)}", rules)
    ax = _new_axes(ax)
    if raw:
        ax.plot(result.lrs, result.losses, lw=0.8, alpha=0.35, color="0.4",
                label="raw loss" if label is None else f"{label} (raw)")
    (line,) = ax.plot(result.lrs, result.smoothed, lw=_LINEWIDTH,
                      label="smoothed loss" if label is None else label)
    for rule in rules:
        i = result.indices[rule]
        if i < 0:
            continue
        lr = result.suggestions[rule]
        ax.plot([lr], [result.smoothed[i]], _RULE_MARKERS[rule], ms=8, mfc="none",
                mew=1.8, color=line.get_color(), label=f"{rule}: {lr:.2g}")
    finite = result.smoothed[np.isfinite(result.smoothed)]
    if finite.size:
        low, start = float(finite.min()), float(finite[0])
        span = max(start - low, 1e-12 * max(abs(start), 1.0))
        ax.set_ylim(low - 0.1 * span, max(start, low) + 0.5 * span)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    if title is not None:
        ax.set_title(title)
    _legend(ax)
    return ax
