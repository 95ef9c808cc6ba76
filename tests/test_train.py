"""Tests for lrlib.train: recording, determinism, divergence and schedulers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lrlib import schedules as S
from lrlib.data import Dataset, load_mnist1d, split_validation
from lrlib.models import cnn, logistic_regression, mlp
from lrlib.torch_bridge import ScheduleLR
from lrlib.train import History, evaluate, steps_per_epoch, train


@pytest.fixture(scope="module")
def data():
    return load_mnist1d()


@pytest.fixture(scope="module")
def small(data):
    """The first 512 training examples: enough for bookkeeping tests, and fast."""
    return Dataset(data.x_train[:512], data.y_train[:512], data.x_test[:256],
                   data.y_test[:256])


def assert_same_history(a: History, b: History) -> None:
    for name in ("lr", "momentum", "loss", "epoch_train_loss", "test_loss", "test_acc"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.diverged == b.diverged and a.steps_per_epoch == b.steps_per_epoch


def test_same_seed_gives_identical_history(data):
    def run(seed):
        model = mlp(seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return train(model, data, opt, epochs=2, batch_size=128, seed=seed)

    first, second = run(0), run(0)
    assert_same_history(first, second)
    other = run(1)  # another shuffling order
    assert not np.array_equal(first.loss, other.loss)


def test_short_mlp_run_learns(data):
    model = mlp(seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    hist = train(model, data, opt, epochs=3, batch_size=64, seed=0)
    # chance is 10%; this run reaches about 53% (the full-length MLP baseline is ~68%)
    assert hist.test_acc[-1] > 0.45
    assert hist.epoch_train_loss[-1] < hist.epoch_train_loss[0] < np.log(10)
    assert not hist.diverged
    loss, acc = evaluate(model, data.x_test, data.y_test)
    assert acc == hist.test_acc[-1] and loss == pytest.approx(hist.test_loss[-1])


def test_lengths_and_axes(small):
    model = logistic_regression(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    hist = train(model, small, opt, epochs=3, batch_size=100)
    assert hist.steps_per_epoch == 6 == steps_per_epoch(small, 100)
    assert hist.num_steps == 18 and hist.lr.shape == hist.loss.shape == (18,)
    assert hist.num_epochs == 3 and hist.test_acc.shape == hist.epoch_train_loss.shape == (3,)
    np.testing.assert_array_equal(hist.epoch, [1, 2, 3])
    np.testing.assert_allclose(hist.step_epoch[[0, 6, 17]], [0.0, 1.0, 17 / 6])
    assert hist.val_loss is None and hist.val_acc is None
    np.testing.assert_array_equal(hist.momentum, 0.0)  # SGD without momentum
    assert np.all((hist.test_acc >= 0) & (hist.test_acc <= 1))
    assert hist.wall_time > 0
    assert "num_steps=18" in repr(hist)


def test_recorded_lr_equals_schedule_values(small):
    model = mlp(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=123.0, momentum=0.9)
    n = 3 * steps_per_epoch(small, 64)
    sched = S.one_cycle(max_lr=0.1, total_steps=n)
    hist = train(model, small, opt, epochs=3, batch_size=64,
                 scheduler=ScheduleLR(opt, sched, momentum=sched.momentum))
    assert hist.num_steps == n == 24
    np.testing.assert_array_equal(hist.lr, sched(np.arange(n)))
    np.testing.assert_array_equal(hist.momentum, sched.momentum(np.arange(n)))


def test_adam_beta1_is_recorded_as_momentum(small):
    model = logistic_regression(seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    hist = train(model, small, opt, epochs=1, batch_size=128)
    np.testing.assert_array_equal(hist.momentum, 0.8)
    opt = torch.optim.Adagrad(model.parameters(), lr=1e-2)
    assert np.all(np.isnan(train(model, small, opt, epochs=1, batch_size=128).momentum))


def test_warmup_cosine_via_schedule_lr(small):
    model = logistic_regression(seed=0)
    opt = torch.optim.Adam(model.parameters())
    n = 2 * steps_per_epoch(small, 32)
    sched = S.warmup(S.cosine(lr=0.01, T_max=n - 4), warmup_steps=4)
    hist = train(model, small, opt, epochs=2, batch_size=32, scheduler=ScheduleLR(opt, sched))
    np.testing.assert_array_equal(hist.lr, sched(np.arange(n)))


def test_absurd_rate_diverges_without_raising(small):
    model = mlp(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=1e6)
    hist = train(model, small, opt, epochs=5, batch_size=64)
    assert hist.diverged
    assert not np.isfinite(hist.loss[-1])
    assert np.all(np.isfinite(hist.loss[:-1]))
    assert hist.num_steps < 5 * hist.steps_per_epoch  # stopped early
    assert hist.lr.shape == hist.loss.shape == hist.momentum.shape
    assert hist.num_epochs == 1 + (hist.num_steps - 1) // hist.steps_per_epoch


def test_moderate_rate_does_not_flag_divergence(small):
    model = logistic_regression(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    assert not train(model, small, opt, epochs=2, batch_size=64).diverged


@pytest.mark.parametrize("kind", ["torch", "lrlib"])
def test_plateau_reduces_once_per_epoch(small, kind):
    model = logistic_regression(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    # threshold=0.5: only a halving of the metric counts as an improvement, so every
    # epoch after the first is bad and, with patience=0, the rate halves each time
    if kind == "torch":
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0,
                                                             threshold=0.5)
    else:
        from lrlib.plateau import ReduceLROnPlateau

        plateau = ReduceLROnPlateau(lr=0.1, factor=0.5, patience=0, threshold=0.5)
    hist = train(model, small, opt, epochs=4, batch_size=128, plateau=plateau)
    per_epoch = hist.lr.reshape(4, hist.steps_per_epoch)
    np.testing.assert_allclose(per_epoch[:, 0], [0.1, 0.1, 0.05, 0.025])
    assert np.all(per_epoch == per_epoch[:, :1])  # constant within an epoch


class RecordingPlateau:
    """An lrlib-style plateau object that records the metrics it is given."""

    def __init__(self, lr):
        self.lr, self.metrics = lr, []

    def step(self, metric):
        self.metrics.append(metric)
        return self.lr


def test_plateau_metric_is_validation_loss_else_test_loss(small):
    with_val = split_validation(small, 128, seed=0)
    for dataset, key in ((with_val, "val_loss"), (small, "test_loss")):
        model = logistic_regression(seed=0)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        plateau = RecordingPlateau(lr=0.2)
        hist = train(model, dataset, opt, epochs=3, batch_size=64, plateau=plateau)
        np.testing.assert_array_equal(plateau.metrics, getattr(hist, key))
        np.testing.assert_array_equal(hist.lr, 0.2)  # the plateau's rate is applied
    assert hist.val_loss is None
    model = logistic_regression(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    hist = train(model, with_val, opt, epochs=2, batch_size=64)
    assert hist.val_loss.shape == hist.val_acc.shape == (2,)


def test_dropout_is_deterministic_and_global_rng_untouched(small):
    def run():
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = nn.Sequential(nn.Linear(40, 32), nn.ReLU(), nn.Dropout(0.5),
                                  nn.Linear(32, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        return train(model, small, opt, epochs=2, batch_size=64, seed=3)

    torch.manual_seed(99)
    expected = torch.rand(2)
    torch.manual_seed(99)
    first, second = run(), run()  # no reseeding in between: train seeds dropout itself
    assert_same_history(first, second)
    assert torch.equal(torch.rand(2), expected)  # and leaves the global stream as it was


def test_cnn_trains(small):
    model = cnn(seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    hist = train(model, small, opt, epochs=2, batch_size=64)
    assert hist.epoch_train_loss[-1] < np.log(10)


def test_progress_bar(small, capsys):
    model = logistic_regression(seed=0)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    train(model, small, opt, epochs=2, batch_size=256, progress=True)
    assert "2/2" in capsys.readouterr().err
    train(model, small, opt, epochs=1, batch_size=256)
    assert capsys.readouterr().err == ""


def test_evaluate_by_hand():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = np.array([[2.0, 0.0], [0.0, 2.0], [1.0, 0.0]], dtype=np.float32)
    y = np.array([0, 0, 0])
    loss, acc = evaluate(model, x, y)
    expected = np.mean([np.log1p(np.exp(-2.0)), np.log1p(np.exp(2.0)), np.log1p(np.exp(-1.0))])
    assert loss == pytest.approx(expected, rel=1e-6)
    assert acc == pytest.approx(2 / 3)
    model.train()
    evaluate(model, x, y)
    assert model.training  # mode restored


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

TINY = Dataset(np.zeros((8, 40), np.float32), np.arange(8) % 2, np.zeros((2, 40), np.float32),
               np.array([0, 1]))
NET = logistic_regression()
OPT = torch.optim.SGD(NET.parameters(), lr=0.1)
OTHER_OPT = torch.optim.SGD(logistic_regression().parameters(), lr=0.1)
NAN = float("nan")


def call_train(**overrides):
    kwargs = {"epochs": 1, "batch_size": 4}
    kwargs.update(overrides)
    model = kwargs.pop("model", NET)
    data = kwargs.pop("data", TINY)
    opt = kwargs.pop("optimizer", OPT)
    return lambda: train(model, data, opt, **kwargs)


BAD = [
    (call_train(epochs=0), "train: epochs must be a positive int, got epochs=0"),
    (call_train(epochs=-1), "train: epochs must be a positive int"),
    (call_train(epochs=2.0), "train: epochs must be a positive int"),
    (call_train(batch_size=0), "train: batch_size must be a positive int, got batch_size=0"),
    (call_train(batch_size=True), "train: batch_size must be a positive int"),
    (call_train(seed=NAN), "train: seed must be a non-negative int, got seed=nan"),
    (call_train(seed=-3), "train: seed must be a non-negative int"),
    (call_train(progress=1), "train: progress must be a bool"),
    (call_train(model="mlp"), "train: model must be a torch.nn.Module"),
    (call_train(data=(1, 2)), "train: data must be an lrlib.data.Dataset"),
    (call_train(optimizer="sgd"), "train: optimizer must be a torch.optim.Optimizer"),
    (call_train(optimizer=OTHER_OPT), "train: optimizer must be an optimizer over this "
     "model's parameters"),
    (call_train(scheduler=torch.optim.lr_scheduler.ReduceLROnPlateau(OPT)),
     "train: scheduler must be a per-batch scheduler \\(pass ReduceLROnPlateau as plateau="),
    (call_train(scheduler=S.cosine(lr=0.1, T_max=10)),
     "train: scheduler must be None or a torch LRScheduler"),
    (call_train(scheduler=ScheduleLR(OTHER_OPT, S.constant(lr=0.1))),
     "train: scheduler must be a scheduler built on the same optimizer"),
    (call_train(plateau=torch.optim.lr_scheduler.ReduceLROnPlateau(OTHER_OPT)),
     "train: plateau must be a ReduceLROnPlateau built on the same optimizer"),
    (call_train(plateau="min"), "train: plateau must be None, a torch ReduceLROnPlateau or"),
    (call_train(loss_fn="ce"), "train: loss_fn must be None or a callable"),
    (lambda: (lambda opt: train(NET, TINY, opt, epochs=1, batch_size=4,
                                scheduler=ScheduleLR(opt, S.constant(lr=0.1)),
                                plateau=torch.optim.lr_scheduler.ReduceLROnPlateau(opt)))(
        torch.optim.SGD(NET.parameters(), lr=0.1)),
     "train: plateau must be None when a per-batch scheduler is given"),
    (lambda: evaluate("model", TINY.x_test, TINY.y_test), "evaluate: model must be"),
    (lambda: evaluate(NET, TINY.x_test, TINY.y_train), r"evaluate: y must be a 1-D array "
     r"with one label per row of x \(2\)"),
    (lambda: evaluate(NET, TINY.x_test, TINY.y_test, loss_fn=3), "evaluate: loss_fn must be"),
    (lambda: steps_per_epoch(TINY, 0), "steps_per_epoch: batch_size must be a positive int"),
    (lambda: steps_per_epoch("data", 4), "steps_per_epoch: data must be an lrlib"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                     for i, (_, m) in enumerate(BAD)])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_float64_models_get_float64_inputs(small):
    # the inputs follow the model's floating type: a float64 model trains in float64
    model64 = logistic_regression(seed=3).double()
    model32 = logistic_regression(seed=3)
    hist64 = train(model64, small, torch.optim.SGD(model64.parameters(), lr=0.1), epochs=2,
                   batch_size=64)
    hist32 = train(model32, small, torch.optim.SGD(model32.parameters(), lr=0.1), epochs=2,
                   batch_size=64)
    assert next(model64.parameters()).dtype == torch.float64
    np.testing.assert_allclose(hist64.loss, hist32.loss, rtol=1e-5)
    assert not np.array_equal(hist64.loss, hist32.loss)  # but computed in float64
    loss64, _ = evaluate(model64, small.x_test, small.y_test)
    loss32, _ = evaluate(model32, small.x_test, small.y_test)
    assert loss64 == pytest.approx(loss32, rel=1e-5)
