"""A small torch training loop that records the rate, the loss and the accuracy.

:func:`train` is plain minibatch training, written out so a reader can follow every
line: shuffle, forward, ``zero_grad``, ``backward``, ``optimizer.step()``, then
``scheduler.step()``. What it adds is bookkeeping: the learning rate and momentum
used by every update, the minibatch loss of every step, and train/test (and
validation) loss and accuracy after every epoch, returned as a frozen
:class:`History`. A run whose loss becomes NaN or infinite stops and says so
(``History.diverged``) instead of raising, because chapters show divergence on
purpose.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

from lrlib import _validation as V
from lrlib.data import Dataset, _batches, to_tensors

__all__ = ["History", "evaluate", "steps_per_epoch", "train"]


@dataclass(frozen=True, eq=False)
class History:
    """What :func:`train` recorded: per-step rates and losses, per-epoch metrics.

    Attributes
    ----------
    lr : ndarray of shape (num_steps,)
        Rate of the first param group used by each update.
    momentum : ndarray of shape (num_steps,)
        Momentum (SGD, RMSprop) or :math:`\\beta_1` (Adam, AdamW) of the first param
        group at each update; NaN for optimizers with neither (Adagrad).
    loss : ndarray of shape (num_steps,)
        Training minibatch loss computed just before each update.
    epoch_train_loss : ndarray of shape (num_epochs,)
        Loss on the whole training set after each epoch (evaluation mode).
    test_loss, test_acc : ndarray of shape (num_epochs,)
        Test loss and accuracy (a fraction in [0, 1]) after each epoch.
    val_loss, val_acc : ndarray of shape (num_epochs,) or None
        The same on the validation split, if the data set has one.
    steps_per_epoch : int
        Updates per full epoch.
    wall_time : float
        Seconds spent in :func:`train`.
    diverged : bool
        Whether the run stopped because a loss was NaN or infinite.

    Notes
    -----
    The arrays are read-only. Entry ``e`` of the per-epoch arrays is measured after
    epoch ``e + 1``. When a run diverges, the step arrays end with the step whose loss
    was not finite (no update was made with it) and the per-epoch arrays end with an
    evaluation of the model at that point (its losses are usually NaN).
    """

    lr: np.ndarray
    momentum: np.ndarray
    loss: np.ndarray
    epoch_train_loss: np.ndarray
    test_loss: np.ndarray
    test_acc: np.ndarray
    val_loss: np.ndarray | None
    val_acc: np.ndarray | None
    steps_per_epoch: int
    wall_time: float
    diverged: bool

    def __repr__(self) -> str:
        acc = f"{self.test_acc[-1]:.3f}" if len(self.test_acc) else "n/a"
        return (f"History(num_steps={self.num_steps}, num_epochs={self.num_epochs}, "
                f"final test_acc={acc}, diverged={self.diverged})")

    @property
    def num_steps(self) -> int:
        """Number of recorded steps."""
        return len(self.lr)

    @property
    def num_epochs(self) -> int:
        """Number of per-epoch records (a diverged run's last epoch may be partial)."""
        return len(self.test_acc)

    @property
    def step_epoch(self) -> np.ndarray:
        """Each step's position in epochs, ``t / steps_per_epoch``: an x-axis for plots."""
        return np.arange(self.num_steps) / self.steps_per_epoch

    @property
    def epoch(self) -> np.ndarray:
        """``1, 2, ..., num_epochs``: the x-axis of the per-epoch arrays."""
        return np.arange(1, self.num_epochs + 1)


def steps_per_epoch(data: Dataset, batch_size: int) -> int:
    r"""Return the number of updates :func:`train` makes per epoch.

    Parameters
    ----------
    data : Dataset
        The training data.
    batch_size : int
        Minibatch size, >= 1.

    Returns
    -------
    int
        :math:`\lceil n_{train} / B \rceil` (the last batch may be smaller).

    Notes
    -----
    A per-batch schedule for ``epochs`` epochs needs ``epochs * steps_per_epoch``
    steps, for example ``one_cycle(max_lr, total_steps=epochs * steps_per_epoch(...))``.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.data import Dataset
    >>> from lrlib.train import steps_per_epoch
    >>> d = Dataset(np.zeros((4000, 40)), np.zeros(4000, int), np.zeros((1, 40)),
    ...             np.zeros(1, int))
    >>> print(f"{steps_per_epoch(d, 64)} {steps_per_epoch(d, 32)}")
    63 125
    """
    f = "steps_per_epoch"
    V.check(isinstance(data, Dataset), f, "data", "an lrlib.data.Dataset", data)
    batch_size = V.integer(f, "batch_size", batch_size, low=1)
    return -(-int(data.x_train.shape[0]) // batch_size)


def _input_dtype(model: nn.Module) -> torch.dtype:
    """The floating type of the model's parameters (float32 if it has none)."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _tensor(x: Any, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype)
    return torch.tensor(np.asarray(x), dtype=dtype)


def _evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
              loss_fn) -> tuple[float, float]:
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(x)
            loss = float(loss_fn(logits, y))
            acc = float((logits.argmax(dim=1) == y).double().mean())
    finally:
        model.train(was_training)
    return loss, acc


def evaluate(model: nn.Module, x: Any, y: Any, *, loss_fn=None) -> tuple[float, float]:
    """Return the loss and accuracy of a classifier on ``(x, y)``.

    Parameters
    ----------
    model : torch.nn.Module
        Maps inputs to class logits.
    x : ndarray or torch.Tensor
        Inputs (converted to the floating type of the model's parameters).
    y : ndarray or torch.Tensor of shape (n,)
        Integer labels (converted to int64).
    loss_fn : callable, optional
        ``loss_fn(logits, y)`` giving the mean loss; default
        ``torch.nn.CrossEntropyLoss()``.

    Returns
    -------
    loss : float
        Mean loss over all examples.
    accuracy : float
        Fraction of examples whose largest logit is the label.

    Notes
    -----
    One full-batch forward pass in evaluation mode under ``torch.no_grad()``; the
    model's training/evaluation mode is restored afterwards.

    Examples
    --------
    >>> import torch
    >>> from lrlib.train import evaluate
    >>> model = torch.nn.Linear(2, 2, bias=False)
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.eye(2))
    >>> loss, acc = evaluate(model, torch.tensor([[2.0, 0.0], [0.0, 2.0]]), torch.tensor([0, 0]))
    >>> print(f"loss={loss:.4f} acc={acc:.2f}")
    loss=1.1269 acc=0.50
    """
    f = "evaluate"
    V.check(isinstance(model, nn.Module), f, "model", "a torch.nn.Module", model)
    loss_fn = _loss_fn(f, loss_fn)
    xt, yt = _tensor(x, _input_dtype(model)), _tensor(y, torch.int64)
    V.check(yt.ndim == 1 and len(yt) == len(xt), f, "y",
            f"a 1-D array with one label per row of x ({len(xt)})", tuple(yt.shape))
    return _evaluate(model, xt, yt, loss_fn)


def _loss_fn(func: str, loss_fn):
    if loss_fn is None:
        return nn.CrossEntropyLoss()
    V.check(callable(loss_fn), func, "loss_fn", "None or a callable loss_fn(logits, y)",
            loss_fn)
    return loss_fn


def _rate_and_momentum(optimizer: torch.optim.Optimizer) -> tuple[float, float]:
    group = optimizer.param_groups[0]
    if "betas" in group:
        momentum = group["betas"][0]
    else:
        momentum = group.get("momentum", math.nan)
    return float(group["lr"]), float(momentum)


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def _check_plateau(func: str, plateau, optimizer) -> None:
    if plateau is None:
        return
    if isinstance(plateau, ReduceLROnPlateau):
        V.check(plateau.optimizer is optimizer, func, "plateau",
                "a ReduceLROnPlateau built on the same optimizer", plateau)
        return
    V.check(callable(getattr(plateau, "step", None)) and hasattr(plateau, "lr"), func,
            "plateau", "None, a torch ReduceLROnPlateau or an lrlib ReduceLROnPlateau",
            plateau)


def _check_args(model, data, optimizer, epochs, batch_size, scheduler, plateau, seed,
                progress) -> tuple[int, int, int, bool]:
    f = "train"
    V.check(isinstance(model, nn.Module), f, "model", "a torch.nn.Module", model)
    V.check(isinstance(data, Dataset), f, "data", "an lrlib.data.Dataset", data)
    V.check(isinstance(optimizer, torch.optim.Optimizer), f, "optimizer",
            "a torch.optim.Optimizer", optimizer)
    own = {id(p) for p in model.parameters()}
    V.check(all(id(p) in own for g in optimizer.param_groups for p in g["params"]), f,
            "optimizer", "an optimizer over this model's parameters (was the model "
            "rebuilt after the optimizer?)", optimizer)
    epochs = V.integer(f, "epochs", epochs, low=1)
    batch_size = V.integer(f, "batch_size", batch_size, low=1)
    if scheduler is not None:
        V.check(not isinstance(scheduler, ReduceLROnPlateau), f, "scheduler",
                "a per-batch scheduler (pass ReduceLROnPlateau as plateau=, it is "
                "stepped once per epoch with a metric)", scheduler)
        V.check(isinstance(scheduler, LRScheduler), f, "scheduler",
                "None or a torch LRScheduler (for example lrlib's ScheduleLR)", scheduler)
        V.check(scheduler.optimizer is optimizer, f, "scheduler",
                "a scheduler built on the same optimizer", scheduler)
    _check_plateau(f, plateau, optimizer)
    V.check(scheduler is None or plateau is None, f, "plateau",
            "None when a per-batch scheduler is given (the scheduler would overwrite the "
            "plateau's reductions at the next batch)", plateau)
    seed = V.integer(f, "seed", seed, low=0)
    progress = V.boolean(f, "progress", progress)
    return epochs, batch_size, seed, progress


def train(model: nn.Module, data: Dataset, optimizer: torch.optim.Optimizer, *,
          epochs: int, batch_size: int, scheduler: LRScheduler | None = None,
          plateau: Any = None, loss_fn=None, seed: int = 0,
          progress: bool = False) -> History:
    """Train a classifier with minibatches and record rates, losses and accuracies.

    Parameters
    ----------
    model : torch.nn.Module
        The classifier, trained in place.
    data : Dataset
        Numpy arrays or tensors (see :mod:`lrlib.data`); the validation split is
        used when present.
    optimizer : torch.optim.Optimizer
        Over ``model``'s parameters; updated in place.
    epochs : int
        Passes over the training set, >= 1.
    batch_size : int
        Examples per update, >= 1; the last batch of an epoch may be smaller.
    scheduler : torch.optim.lr_scheduler.LRScheduler, optional
        A per-batch scheduler on ``optimizer`` (for example
        :class:`lrlib.torch_bridge.ScheduleLR`), stepped after every
        ``optimizer.step()``. Size its schedule with :func:`steps_per_epoch`.
    plateau : ReduceLROnPlateau, optional
        Stepped once per epoch with the validation loss if ``data`` has a validation
        split, else with the test loss. Either torch's
        ``torch.optim.lr_scheduler.ReduceLROnPlateau`` on ``optimizer`` or
        :class:`lrlib.plateau.ReduceLROnPlateau`, whose ``lr`` is written into every
        param group at the start and after each epoch.
    loss_fn : callable, optional
        ``loss_fn(logits, y)`` giving the mean loss; default
        ``torch.nn.CrossEntropyLoss()``.
    seed : int, default=0
        Seeds the shuffling (a private ``torch.Generator``) and, while training runs,
        torch's global generator (for dropout and the like; the caller's global state
        is restored afterwards), >= 0. Model weights are seeded where the model is
        built (:mod:`lrlib.models`).
    progress : bool, default=False
        Show a tqdm progress bar over epochs.

    Returns
    -------
    History
        Per-step ``lr``, ``momentum`` and ``loss``; per-epoch train, test (and
        validation) loss and accuracy; ``wall_time`` and ``diverged``.

    Notes
    -----
    Every step does, in order::

        lr, momentum = optimizer.param_groups[0][...]     # recorded
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)                     # recorded
        loss.backward()
        optimizer.step()
        scheduler.step()                                  # if given

    and every epoch ends with evaluations on the whole training, test and validation
    sets (evaluation mode, no gradients), then ``plateau.step(metric)``. The
    recorded rate is therefore the one used by that update, so ``History.lr`` equals
    ``schedule(np.arange(num_steps))`` for a ``ScheduleLR``-driven run.

    If a minibatch loss or an epoch's training loss is NaN or infinite, training
    stops and ``diverged`` is True; nothing raises. With the same model weights,
    optimizer settings and ``seed`` two runs give identical histories (on the same
    machine and thread count). The thread count is left as the caller set it.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from lrlib.data import Dataset
    >>> from lrlib.train import train
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(32, 2)).astype(np.float32)
    >>> y = (x[:, 0] > 0).astype(np.int64)
    >>> model = torch.nn.Linear(2, 2)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.5)
    >>> hist = train(model, Dataset(x, y, x, y), opt, epochs=3, batch_size=8)
    >>> print(f"{hist.num_steps} steps, {hist.num_epochs} epochs, lr={hist.lr[0]}")
    12 steps, 3 epochs, lr=0.5
    """
    epochs, batch_size, seed, progress = _check_args(
        model, data, optimizer, epochs, batch_size, scheduler, plateau, seed, progress)
    loss_fn = _loss_fn("train", loss_fn)
    start = time.perf_counter()
    tensors = to_tensors(data, dtype=_input_dtype(model))
    with torch.random.fork_rng(devices=[]):
        torch.random.default_generator.manual_seed(seed)
        record = _loop(model, tensors, optimizer, epochs, batch_size, scheduler, plateau,
                       loss_fn, seed, progress)
    has_val = tensors.has_validation
    return History(
        lr=_frozen_array(record["lr"]),
        momentum=_frozen_array(record["momentum"]),
        loss=_frozen_array(record["loss"]),
        epoch_train_loss=_frozen_array(record["train_loss"]),
        test_loss=_frozen_array(record["test_loss"]),
        test_acc=_frozen_array(record["test_acc"]),
        val_loss=_frozen_array(record["val_loss"]) if has_val else None,
        val_acc=_frozen_array(record["val_acc"]) if has_val else None,
        steps_per_epoch=steps_per_epoch(data, batch_size),
        wall_time=time.perf_counter() - start,
        diverged=record["diverged"])


def _frozen_array(values: list[float]) -> np.ndarray:
    arr = np.array(values, dtype=np.float64)
    arr.setflags(write=False)
    return arr


def _loop(model, data: Dataset, optimizer, epochs, batch_size, scheduler, plateau,
          loss_fn, seed, progress) -> dict[str, Any]:
    record: dict[str, Any] = {key: [] for key in (
        "lr", "momentum", "loss", "train_loss", "test_loss", "test_acc", "val_loss",
        "val_acc")}
    record["diverged"] = False
    lrlib_plateau = plateau is not None and not isinstance(plateau, ReduceLROnPlateau)
    if lrlib_plateau:
        _set_lr(optimizer, float(plateau.lr))
    generator = torch.Generator().manual_seed(seed)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=epochs, desc="train", unit="epoch")
    model.train()
    try:
        for _ in range(epochs):
            for xb, yb in _batches(data.x_train, data.y_train, batch_size, generator,
                                   False):
                lr, momentum = _rate_and_momentum(optimizer)
                optimizer.zero_grad()
                loss = loss_fn(model(xb), yb)
                value = loss.item()
                record["lr"].append(lr)
                record["momentum"].append(momentum)
                record["loss"].append(value)
                if not math.isfinite(value):
                    record["diverged"] = True
                    break
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            metric = _end_of_epoch(model, data, loss_fn, record)
            if record["diverged"] or not math.isfinite(record["train_loss"][-1]):
                record["diverged"] = True
                break
            if plateau is not None and math.isfinite(metric):
                new_lr = plateau.step(metric)
                if lrlib_plateau:
                    _set_lr(optimizer, float(new_lr))
            if bar is not None:
                bar.set_postfix(loss=f"{record['train_loss'][-1]:.3f}",
                                acc=f"{record['test_acc'][-1]:.3f}")
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return record


def _end_of_epoch(model, data: Dataset, loss_fn, record: dict[str, Any]) -> float:
    """Evaluate on every split; return the metric for the plateau scheduler."""
    train_loss, _ = _evaluate(model, data.x_train, data.y_train, loss_fn)
    test_loss, test_acc = _evaluate(model, data.x_test, data.y_test, loss_fn)
    record["train_loss"].append(train_loss)
    record["test_loss"].append(test_loss)
    record["test_acc"].append(test_acc)
    if not data.has_validation:
        return test_loss
    val_loss, val_acc = _evaluate(model, data.x_val, data.y_val, loss_fn)
    record["val_loss"].append(val_loss)
    record["val_acc"].append(val_acc)
    return val_loss
