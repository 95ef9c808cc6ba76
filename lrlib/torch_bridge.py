"""Drive any torch optimizer with lrlib schedules.

:class:`ScheduleLR` is a real :class:`torch.optim.lr_scheduler.LRScheduler`: it
works wherever a torch scheduler does (checkpoints, ``get_last_lr``, the usual
``optimizer.step(); scheduler.step()`` loop) but its rates come from pure lrlib
schedules, so they are exactly ``schedule(t)`` at update ``t`` with no drift
and no dependence on what happened to ``group["lr"]`` before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler

from lrlib import _validation as V
from lrlib.schedules import Schedule

__all__ = ["ScheduleLR", "scheduler_values"]

_NAME = "ScheduleLR"
_CHUNK = 4096  # steps evaluated at once and kept, so that step() costs a list lookup


def _per_group(name: str, value, n_groups: int, *, allow_none: bool) -> list:
    """One entry per param group: a single value is shared by every group."""
    if value is None and allow_none:
        return [None] * n_groups
    if isinstance(value, (list, tuple)):
        if len(value) != n_groups:
            V.fail(_NAME, name, f"one entry per param group ({n_groups})", value)
        items = list(value)
    else:
        items = [value] * n_groups
    for item in items:
        if item is None and allow_none:
            continue
        if name == "schedule" and not isinstance(item, Schedule):
            V.fail(_NAME, name, "an lrlib schedule or a list of them", value)
        if name == "momentum" and not callable(item):
            V.fail(_NAME, name, "a momentum schedule (a callable of the step) or a list "
                   "of them", value)
    return items


class ScheduleLR(LRScheduler):
    """A torch LR scheduler whose rates come from lrlib schedules.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer to drive. Its own ``lr`` is overwritten with ``schedule(0)`` at
        construction, as torch's ``CyclicLR`` and ``OneCycleLR`` do.
    schedule : lrlib.schedules.Schedule or list of lrlib.schedules.Schedule
        One schedule for every param group, or a list with one per group.
    momentum : callable or list of callable, optional
        Momentum schedules (for example ``sched.momentum`` of :func:`~lrlib.schedules.cyclic`
        or :func:`~lrlib.schedules.one_cycle`), one for all groups or one per group
        (``None`` entries leave a group's momentum alone). They are written to
        ``group["momentum"]`` (SGD, RMSprop) or to ``group["betas"][0]`` (Adam, AdamW).
        Like schedules, they must accept an array of steps.
    last_epoch : int, default=-1
        As in torch: -1 starts a new schedule. To resume, prefer
        :meth:`load_state_dict`.

    Notes
    -----
    After construction and after the ``t``-th call to ``step()``, every group's
    ``lr`` is ``schedule(t)`` (``t = last_epoch``), so update number ``t`` uses
    ``schedule(t)`` when the loop calls ``optimizer.step()`` then ``scheduler.step()``.
    The state is just the step counter (plus the schedules' reprs, to catch loading a
    checkpoint into a different schedule): :meth:`load_state_dict` restores the counter
    and re-applies the rate and momentum of that step, so a resumed run continues
    with the identical sequence.

    Examples
    --------
    >>> import torch
    >>> from lrlib.schedules import cosine, warmup
    >>> from lrlib.torch_bridge import ScheduleLR
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> opt = torch.optim.SGD([w], lr=123.0)
    >>> scheduler = ScheduleLR(opt, warmup(cosine(lr=0.1, T_max=8), warmup_steps=2))
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(opt.param_groups[0]["lr"])
    ...     opt.step()
    ...     scheduler.step()
    >>> print([f"{v:.3f}" for v in lrs])
    ['0.000', '0.050', '0.100', '0.096']
    """

    def __init__(self, optimizer: torch.optim.Optimizer,
                 schedule: Schedule | Sequence[Schedule],
                 momentum: Callable[[Any], Any] | Sequence[Callable | None] | None = None,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            V.fail(_NAME, "optimizer", "a torch.optim.Optimizer", optimizer)
        n_groups = len(optimizer.param_groups)
        self.schedules = _per_group("schedule", schedule, n_groups, allow_none=False)
        self.momentums = _per_group("momentum", momentum, n_groups, allow_none=True)
        for group, mom in zip(optimizer.param_groups, self.momentums, strict=True):
            if mom is not None and "momentum" not in group and "betas" not in group:
                V.fail(_NAME, "momentum", "None for an optimizer without momentum or betas",
                       mom)
        last_epoch = V.integer(_NAME, "last_epoch", last_epoch, low=-1)
        self._has_momentum = any(m is not None for m in self.momentums)
        self._chunk_start = -(2**62)  # no chunk cached yet
        self._lr_chunk: list[list[float]] = []
        self._momentum_chunk: list[list[float] | None] = []
        if last_epoch >= 0:
            for group, sched in zip(optimizer.param_groups, self.schedules, strict=True):
                group.setdefault("initial_lr", float(sched(0)))
        super().__init__(optimizer, last_epoch)

    def _refill(self, t: int) -> int:
        """Cache the values of steps ``t .. t + _CHUNK - 1``; return the index of ``t``.

        Schedules are pure, so their values can be computed ahead, a chunk of steps
        at a time, with one vectorized call: ``step()`` then costs a list lookup.
        """
        steps = np.arange(t, t + _CHUNK)
        self._chunk_start = t
        self._lr_chunk = [s(steps).tolist() for s in self.schedules]
        self._momentum_chunk = [None if m is None else np.asarray(m(steps), float).tolist()
                                for m in self.momentums]
        return 0

    def get_lr(self) -> list[float]:
        """The rates for step ``last_epoch``; also sets that step's momentum, if any.

        Called by ``step()`` (as in torch's ``CyclicLR``, the momentum is written
        as a side effect).
        """
        k = self.last_epoch - self._chunk_start
        if not 0 <= k < _CHUNK:
            k = self._refill(self.last_epoch)
        if self._has_momentum:
            self._apply_momentum(k)
        return [chunk[k] for chunk in self._lr_chunk]

    _get_closed_form_lr = get_lr

    def _apply_momentum(self, k: int) -> None:
        for group, chunk in zip(self.optimizer.param_groups, self._momentum_chunk,
                                strict=True):
            if chunk is None:
                continue
            if "betas" in group:
                group["betas"] = (chunk[k], *group["betas"][1:])
            else:
                group["momentum"] = chunk[k]

    def state_dict(self) -> dict[str, Any]:
        """The step counter and the schedules that produced it."""
        return {"last_epoch": self.last_epoch, "_step_count": self._step_count,
                "schedules": [repr(s) for s in self.schedules]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the counter and re-apply that step's rate and momentum."""
        saved = state_dict.get("schedules")
        mine = [repr(s) for s in self.schedules]
        if saved is not None and saved != mine:
            V.fail(_NAME, "state_dict", f"saved from the same schedules {mine}", saved)
        self.last_epoch = V.integer(_NAME, "state_dict['last_epoch']",
                                    state_dict["last_epoch"], low=0)
        self._step_count = int(state_dict.get("_step_count", self.last_epoch + 1))
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]


def scheduler_values(scheduler: Any, num_steps: int, *, lr: float = 0.1,
                     momentum: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """The rate (and momentum) each of ``num_steps`` updates uses under a torch scheduler.

    Parameters
    ----------
    scheduler : torch.optim.lr_scheduler.LRScheduler or callable
        A scheduler, stepped from its current state; or a factory
        ``make(optimizer) -> scheduler``, which is given a fresh SGD optimizer over one
        dummy parameter, with ``lr`` and ``momentum``.
    num_steps : int
        Number of updates to record, >= 0.
    lr, momentum : float, default=0.1, 0.0
        The settings of the dummy optimizer a factory receives.

    Returns
    -------
    lrs, momenta : ndarray of shape (num_steps,)
        ``param_groups[0]``'s rate and momentum (Adam's ``beta1``; NaN if the optimizer
        has neither) seen by each update.

    Notes
    -----
    Each step reads the values, then calls ``optimizer.step()`` and
    ``scheduler.step()``, in that order: the loop of a correct training run, so update
    ``t`` sees what lrlib's schedules call ``schedule(t)``. No gradient exists, so the
    dummy parameter never moves.

    Examples
    --------
    >>> from torch.optim.lr_scheduler import StepLR
    >>> from lrlib.torch_bridge import scheduler_values
    >>> lrs, _ = scheduler_values(lambda opt: StepLR(opt, step_size=2, gamma=0.5), 5, lr=1.0)
    >>> print(lrs.tolist())
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """
    num_steps = V.integer("scheduler_values", "num_steps", num_steps, low=0)
    if not isinstance(scheduler, LRScheduler):
        if not callable(scheduler):
            V.fail("scheduler_values", "scheduler", "a torch LRScheduler or a factory "
                   "make(optimizer) -> scheduler", scheduler)
        lr = V.nonnegative("scheduler_values", "lr", lr)
        momentum = V.nonnegative("scheduler_values", "momentum", momentum)
        dummy = torch.nn.Parameter(torch.zeros(1))
        scheduler = scheduler(torch.optim.SGD([dummy], lr=lr, momentum=momentum))
        if not isinstance(scheduler, LRScheduler):
            V.fail("scheduler_values", "scheduler", "a factory that returns a torch "
                   "LRScheduler", scheduler)
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        V.fail("scheduler_values", "scheduler", "a scheduler whose step() takes no metric "
               "(ReduceLROnPlateau needs one per step)", scheduler)
    optimizer = scheduler.optimizer
    lrs, momenta = np.empty(num_steps), np.empty(num_steps)
    for t in range(num_steps):
        group = optimizer.param_groups[0]
        lrs[t] = float(group["lr"])
        momenta[t] = (float(group["betas"][0]) if "betas" in group
                      else float(group.get("momentum", float("nan"))))
        optimizer.step()
        scheduler.step()
    return lrs, momenta
