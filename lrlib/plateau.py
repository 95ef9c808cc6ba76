r"""Reduce the learning rate when a metric stops improving.

:class:`ReduceLROnPlateau` is lrlib's one stateful schedule: its rate depends on
the metric values it has been shown, not on the step alone. It copies
``torch.optim.lr_scheduler.ReduceLROnPlateau`` rule for rule, so the two give
the same rates on the same metric sequence, but it holds a plain float rate
instead of an optimizer and has an explicit, small state.
"""

from __future__ import annotations

import math
from typing import Any

from lrlib import _validation as V

__all__ = ["ReduceLROnPlateau"]

_NAME = "ReduceLROnPlateau"


class ReduceLROnPlateau:
    r"""Multiply the rate by ``factor`` after ``patience + 1`` steps without improvement.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    mode : {'min', 'max'}, default='min'
        Whether the metric should go down (a loss) or up (an accuracy).
    factor : float, default=0.1
        Multiplier of a reduction, in (0, 1).
    patience : int, default=10
        Number of non-improving steps tolerated; the rate drops on the
        ``patience + 1``-th in a row. ``patience=0`` drops at the first bad step.
    threshold : float, default=1e-4
        Least improvement that counts, >= 0.
    threshold_mode : {'rel', 'abs'}, default='rel'
        ``rel``: in min mode a value improves on ``best`` if it is below
        ``best * (1 - threshold)``; ``abs``: below ``best - threshold``. (Max mode
        mirrors this.)
    cooldown : int, default=0
        Steps after a reduction during which bad steps are not counted, >= 0.
    min_lr : float, default=0.0
        The rate never goes below this, >= 0.
    eps : float, default=1e-8
        A reduction smaller than ``eps`` is skipped (the counters still reset), >= 0.

    Attributes
    ----------
    lr : float
        The rate for the next training step.
    best : float
        The best metric so far (``inf`` in min mode before the first step).
    num_bad_epochs : int
        Non-improving steps in a row (after the cooldown).
    cooldown_counter : int
        Cooldown steps left.
    last_epoch : int
        Number of :meth:`step` calls so far.

    Notes
    -----
    Each :meth:`step` does, in this order: compare the metric with ``best`` (an
    improvement resets the bad count, anything else adds one); during a cooldown,
    count the cooldown down and zero the bad count; if the bad count exceeds
    ``patience``, set :math:`\eta \leftarrow \max(\eta \cdot \text{factor},
    \eta_{\min})` (only if that lowers :math:`\eta` by more than ``eps``), start the
    cooldown and zero the bad count. The first metric always improves on ``best``.

    This is PyTorch's rule. Two differences: a NaN or infinite metric raises
    ``ValueError`` here (torch counts NaN as a bad step), and ``factor`` must be
    > 0. Keras's callback differs more: it reduces when ``wait >= patience`` (one
    step earlier), its ``min_delta`` is absolute, and its cooldown is handled before
    the improvement test. In ``rel`` mode with negative metrics the threshold works
    the wrong way round (``best * (1 - threshold)`` lies above ``best``), as in torch;
    use ``threshold_mode='abs'`` for metrics that can be negative.

    Examples
    --------
    >>> from lrlib.plateau import ReduceLROnPlateau
    >>> plateau = ReduceLROnPlateau(lr=0.1, factor=0.5, patience=1)
    >>> rates = [plateau.step(loss) for loss in [1.0, 0.9, 0.95, 0.92, 0.91, 0.8]]
    >>> print([f"{r:.3f}" for r in rates])
    ['0.100', '0.100', '0.100', '0.050', '0.050', '0.050']
    """

    def __init__(self, lr: float, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4,
                 threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0,
                 eps: float = 1e-8) -> None:
        self.lr = V.nonnegative(_NAME, "lr", lr)
        self.mode = V.one_of(_NAME, "mode", mode, ("min", "max"))
        self.factor = V.real(_NAME, "factor", factor, low=0.0, high=1.0, low_open=True,
                             high_open=True)
        self.patience = V.integer(_NAME, "patience", patience, low=0)
        self.threshold = V.nonnegative(_NAME, "threshold", threshold)
        self.threshold_mode = V.one_of(_NAME, "threshold_mode", threshold_mode, ("rel", "abs"))
        self.cooldown = V.integer(_NAME, "cooldown", cooldown, low=0)
        self.min_lr = V.nonnegative(_NAME, "min_lr", min_lr)
        self.eps = V.nonnegative(_NAME, "eps", eps)
        self.best = math.inf if self.mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0

    def __repr__(self) -> str:
        return (f"ReduceLROnPlateau(lr={self.lr!r}, mode={self.mode!r}, "
                f"factor={self.factor!r}, patience={self.patience!r}, "
                f"threshold={self.threshold!r}, threshold_mode={self.threshold_mode!r}, "
                f"cooldown={self.cooldown!r}, min_lr={self.min_lr!r}, eps={self.eps!r})")

    def is_better(self, value: float, best: float) -> bool:
        """Whether ``value`` counts as an improvement on ``best``."""
        if self.mode == "min":
            if self.threshold_mode == "rel":
                return value < best * (1.0 - self.threshold)
            return value < best - self.threshold
        if self.threshold_mode == "rel":
            return value > best * (self.threshold + 1.0)
        return value > best + self.threshold

    def step(self, metric: Any) -> float:
        """Take one metric value (per epoch, usually) and return the rate to use next."""
        value = _finite_metric(metric)
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        return self.lr

    _STATE = ("lr", "best", "num_bad_epochs", "cooldown_counter", "last_epoch")

    def state_dict(self) -> dict[str, Any]:
        """The mutable state (the settings are the constructor's arguments)."""
        return {key: getattr(self, key) for key in self._STATE}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state from :meth:`state_dict`."""
        missing = [key for key in self._STATE if key not in state_dict]
        if missing:
            V.fail(_NAME, "state_dict", f"a dict with keys {list(self._STATE)}",
                   state_dict)
        self.lr = V.nonnegative(_NAME, "state_dict['lr']", state_dict["lr"])
        best = state_dict["best"]
        if not isinstance(best, (int, float)) or math.isnan(best):
            V.fail(_NAME, "state_dict['best']", "a number or +-inf", best)
        self.best = float(best)
        self.num_bad_epochs = V.integer(_NAME, "state_dict['num_bad_epochs']",
                                        state_dict["num_bad_epochs"], low=0)
        self.cooldown_counter = V.integer(_NAME, "state_dict['cooldown_counter']",
                                          state_dict["cooldown_counter"], low=0)
        self.last_epoch = V.integer(_NAME, "state_dict['last_epoch']",
                                    state_dict["last_epoch"], low=0)


def _finite_metric(metric: Any) -> float:
    if isinstance(metric, bool):
        V.fail(f"{_NAME}.step", "metric", "a finite number", metric)
    try:
        value = float(metric)
    except (TypeError, ValueError):
        V.fail(f"{_NAME}.step", "metric", "a finite number", metric)
    if not math.isfinite(value):
        V.fail(f"{_NAME}.step", "metric", "a finite number", metric)
    return value
