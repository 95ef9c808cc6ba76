"""Tests for lrlib.plotting: labels, titles, legends, returned axes, bad input."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lrlib import problems as P
from lrlib import schedules as S
from lrlib.plotting import plot_history, plot_schedule, plot_trajectories
from lrlib.train import History


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    legend = ax.get_legend()
    return [] if legend is None else [t.get_text() for t in legend.get_texts()]


def make_history(n_epochs=3, spe=4, lr=0.1, diverged=False):
    n = n_epochs * spe
    loss = np.linspace(2.3, 0.5, n)
    if diverged:
        loss[-1] = np.nan
    return History(lr=np.full(n, lr), momentum=np.full(n, 0.9), loss=loss,
                   epoch_train_loss=np.linspace(2.0, 0.6, n_epochs),
                   test_loss=np.linspace(2.1, 0.7, n_epochs),
                   test_acc=np.linspace(0.2, 0.6, n_epochs), val_loss=None, val_acc=None,
                   steps_per_epoch=spe, wall_time=0.1, diverged=diverged)


# ---------------------------------------------------------------------------
# plot_schedule
# ---------------------------------------------------------------------------


def test_plot_schedule_draws_the_schedule():
    sched = S.cosine(lr=0.1, T_max=50)
    ax = plot_schedule(sched, steps=60)
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    assert ax.get_title() == "Learning-rate schedule"
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_xdata(), np.arange(60))
    np.testing.assert_allclose(line.get_ydata(), sched(np.arange(60)))
    assert ax.get_legend() is None  # nothing labelled


def test_plot_schedule_several_on_one_axes_with_legend():
    fig, ax = plt.subplots()
    out = plot_schedule(S.step(lr=0.1, step_size=10), steps=np.arange(0, 40, 2), ax=ax,
                        label="step")
    assert out is ax
    plot_schedule(S.exponential(lr=0.1, gamma=0.95), steps=40, ax=ax, label="exponential",
                  title="Two decays")
    assert legend_texts(ax) == ["step", "exponential"]
    assert ax.get_title() == "Two decays"
    assert len(ax.get_lines()) == 2 and len(fig.axes) == 1


def test_plot_schedule_values_and_momentum():
    ax = plot_schedule([0.1, 0.2, 0.3], label="values")
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [0, 1, 2])
    sched = S.one_cycle(max_lr=1.0, total_steps=100)
    ax = plot_schedule(sched, steps=100, label="one-cycle", momentum=True)
    twin = ax.lrlib_momentum_ax
    assert twin.get_ylabel() == "momentum"
    np.testing.assert_allclose(twin.get_lines()[0].get_ydata(), sched.momentum(np.arange(100)))
    assert legend_texts(ax) == ["one-cycle", "one-cycle (momentum)"]


# ---------------------------------------------------------------------------
# plot_history
# ---------------------------------------------------------------------------


def test_plot_history_single():
    axes = plot_history(make_history())
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["Learning rate", "Training loss",
                                               "Test accuracy"]
    assert [ax.get_ylabel() for ax in axes] == ["learning rate", "training loss",
                                                "test accuracy"]
    assert all(ax.get_xlabel() == "epoch" for ax in axes)
    assert axes[1].get_yscale() == "log"
    assert all(ax.get_legend() is None for ax in axes)


def test_plot_history_dict_has_legends():
    hists = {"lr=0.1": make_history(lr=0.1), "lr=1": make_history(lr=1.0, diverged=True)}
    axes = plot_history(hists, title="Two runs")
    for ax in axes:
        assert legend_texts(ax) == ["lr=0.1", "lr=1"]
    assert axes[0].figure.get_suptitle() == "Two runs"
    acc_line = axes[2].get_lines()[0]
    np.testing.assert_array_equal(acc_line.get_xdata(), [1, 2, 3])
    # the NaN loss of the diverged run is not drawn
    assert all(np.all(np.isfinite(line.get_ydata())) for line in axes[1].get_lines())


def test_plot_history_list_with_labels_on_given_axes():
    _, axes = plt.subplots(3, 1)
    out = plot_history([make_history(), make_history(lr=0.3)], labels=["a", "b"], axes=axes)
    assert list(out) == list(axes)
    assert legend_texts(axes[0]) == ["a", "b"]


# ---------------------------------------------------------------------------
# plot_trajectories
# ---------------------------------------------------------------------------


def gd_path(problem, x0, lr, n):
    path = [np.asarray(x0, dtype=float)]
    for _ in range(n):
        path.append(path[-1] - lr * problem.grad(path[-1]))
    return np.array(path)


def test_plot_trajectories_ravine():
    ravine = P.Ravine(mu=1.0, L=25.0, angle=20.0)
    paths = {"lr=0.02": gd_path(ravine, [-4, 1], 0.02, 50),
             "lr=0.07": gd_path(ravine, [-4, 1], 0.07, 50)}
    ax = plot_trajectories(ravine, paths)
    assert ax.get_title() == "Trajectories on Ravine"
    assert ax.get_xlabel() == "$x_1$" and ax.get_ylabel() == "$x_2$"
    assert legend_texts(ax) == ["minimum", "lr=0.02", "lr=0.07"]
    assert ax.collections  # contours drawn
    x0, x1 = ax.get_xlim()
    assert x0 < -4 and x1 > 0


def test_plot_trajectories_drops_non_finite_tail_and_respects_limits():
    rosen = P.Rosenbrock()
    path = np.array([[-1.0, 2.0], [0.0, 1.0], [np.inf, np.nan], [1.0, 1.0]])
    _, ax = plt.subplots()
    out = plot_trajectories(rosen, {"diverged": path}, ax=ax, xlim=(-2, 2), ylim=(-1, 3),
                            levels=[1, 10, 100], title="Rosenbrock")
    assert out is ax and ax.get_title() == "Rosenbrock"
    line = next(ln for ln in ax.get_lines() if ln.get_label() == "diverged")
    assert len(line.get_xdata()) == 2
    assert ax.get_xlim() == (-2.0, 2.0) and ax.get_ylim() == (-1.0, 3.0)
    assert ax.get_xlabel() == "$x$" and ax.get_ylabel() == "$y$"


def test_plot_trajectories_linear_regression_axes():
    x, y = P.house_prices()
    z, _, _ = P.standardize(x)
    prob = P.LinearRegression(z, y)
    ax = plot_trajectories(prob, {"GD": gd_path(prob, [0, 0], 0.5, 20)}, levels=8)
    assert ax.get_xlabel() == "$w$" and ax.get_ylabel() == "$b$"


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

RAVINE = P.Ravine()
PATHS = {"gd": np.zeros((3, 2))}
SCHED = S.constant(lr=0.1)

BAD = [
    (lambda: plot_schedule(SCHED), "plot_schedule: steps must be given"),
    (lambda: plot_schedule(SCHED, steps=0), "plot_schedule: steps must be a positive int"),
    (lambda: plot_schedule(SCHED, steps=True), "plot_schedule: steps must be a positive int"),
    (lambda: plot_schedule(SCHED, steps=[0.5, 1.5]), "plot_schedule: steps must be"),
    (lambda: plot_schedule(SCHED, steps=5, momentum=True),
     "plot_schedule: momentum must be False for a schedule without a momentum method"),
    (lambda: plot_schedule(SCHED, steps=5, momentum="yes"), "plot_schedule: momentum must "
     "be a bool"),
    (lambda: plot_schedule([[0.1, 0.2]]), "plot_schedule: schedule_or_values must be"),
    (lambda: plot_schedule([]), "plot_schedule: schedule_or_values must be"),
    (lambda: plot_schedule([0.1, 0.2], steps=[0, 1, 2]), r"plot_schedule: steps must be one "
     r"step per value \(2\)"),
    (lambda: plot_schedule([0.1], momentum=True), "plot_schedule: momentum must be False "
     "when plotting values"),
    (lambda: plot_schedule(SCHED, steps=5, ax="ax"), "plot_schedule: ax must be None or"),
    (lambda: plot_schedule(SCHED, steps=5, label=3), "plot_schedule: label must be None"),
    (lambda: plot_history([]), "plot_history: histories must be a History"),
    (lambda: plot_history({"a": 1}), "plot_history: histories must be a History"),
    (lambda: plot_history(make_history(), labels=["a", "b"]),
     r"plot_history: labels must be None or a list of 1 str"),
    (lambda: plot_history(make_history(), axes=[None]), "plot_history: axes must be None"),
    (lambda: plot_trajectories(object(), PATHS), "plot_trajectories: problem must be a 2-D"),
    (lambda: plot_trajectories(P.Quadratic1D(), PATHS), "plot_trajectories: problem must be"),
    (lambda: plot_trajectories(RAVINE, [np.zeros((3, 2))]), "plot_trajectories: paths must be"),
    (lambda: plot_trajectories(RAVINE, {"gd": np.zeros((3, 3))}),
     "plot_trajectories: paths must be a dict of str label"),
    (lambda: plot_trajectories(RAVINE, {"gd": np.zeros((0, 2))}), "plot_trajectories: paths"),
    (lambda: plot_trajectories(RAVINE, PATHS, levels=1),
     "plot_trajectories: levels must be an int >= 2"),
    (lambda: plot_trajectories(RAVINE, PATHS, levels=[3.0, 1.0]),
     "plot_trajectories: levels must be an int >= 2 or an increasing sequence"),
    (lambda: plot_trajectories(RAVINE, PATHS, xlim=(1, 0)), "plot_trajectories: xlim must be"),
    (lambda: plot_trajectories(RAVINE, PATHS, ylim=(0, float("nan"))),
     r"plot_trajectories: ylim\[1\] must be a finite number"),
    (lambda: plot_trajectories(RAVINE, PATHS, resolution=5),
     "plot_trajectories: resolution must be an int >= 10"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                     for i, (_, m) in enumerate(BAD)])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def range_result():
    from lrlib.finder import range_test

    state = {"x": 0.0, "t": 0}

    def step(lr):  # SGD on 2 (x - a)^2 with a = +-1 alternating: blows up near lr = 0.5
        a = 1.0 if state["t"] % 2 == 0 else -1.0
        state["t"] += 1
        loss = 2.0 * (state["x"] - a) ** 2 + 1.0 / (1.0 + 1e3 * lr)  # falls, then explodes
        state["x"] -= lr * 4.0 * (state["x"] - a)
        return loss

    return range_test(step, 1e-5, 10.0, 200)


def test_plot_range_test_marks_each_rule_on_a_log_axis():
    from lrlib.plotting import plot_range_test

    result = range_result()
    ax = plot_range_test(result)
    assert ax.get_xscale() == "log"
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "learning rate", "training loss", "LR range test")
    texts = legend_texts(ax)
    assert texts[:2] == ["raw loss", "smoothed loss"]
    for rule, lr in result.suggestions.items():
        assert f"{rule}: {lr:.2g}" in texts
    # the smoothed curve is drawn with every step of the run
    np.testing.assert_array_equal(ax.get_lines()[1].get_xdata(), result.lrs)
    _, high = ax.get_ylim()
    assert high < np.nanmax(result.smoothed)  # the explosion is clipped off
    ax2 = plot_range_test(result, rules=["valley"], raw=False, label="run 2", title=None)
    assert legend_texts(ax2) == ["run 2", f"valley: {result.suggestions['valley']:.2g}"]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"result": 3}, "plot_range_test: result must be an lrlib.finder.RangeTestResult"),
    ({"rules": ["fastest"]}, "plot_range_test: rules must be a sequence of rule names"),
    ({"rules": "valley"}, "plot_range_test: rules must be a sequence of rule names"),
    ({"raw": 1}, "plot_range_test: raw must be a bool"),
    ({"ax": "left"}, "plot_range_test: ax must be None or a matplotlib Axes"),
])
def test_plot_range_test_bad_input(kwargs, message):
    from lrlib.plotting import plot_range_test

    args = {"result": range_result(), **kwargs}
    with pytest.raises(ValueError, match=message):
        plot_range_test(**args)
