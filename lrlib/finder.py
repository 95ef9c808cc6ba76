r"""The learning-rate range test ("LR finder") and its suggestion rules.

The test trains for a short while with a rate that grows at every step, from far
too small to far too large, and records the loss. Read on a log axis, the loss
first stays flat (the rate is too small to matter), then falls (useful rates),
then turns and explodes (too large). A good rate lies on the falling stretch.

The core, :func:`range_test`, is a loop over a *step function* ``step(lr) ->
loss`` that performs one training update at the given rate; it knows nothing of
torch or numpy models. :func:`lr_range_test_torch` and :func:`lr_range_test_numpy`
build that step function for a torch model or a numpy problem and restore the
starting parameters (and optimizer state) afterwards.

References
----------
Smith, L. N. (2017). Cyclical learning rates for training neural networks. WACV.
Howard, J. and Gugger, S. (2020). Fastai: a layered API for deep learning.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from lrlib import _validation as V

__all__ = [
    "RULES",
    "RangeTestResult",
    "lr_range_test_numpy",
    "lr_range_test_torch",
    "range_test",
    "suggest",
    "sweep_rates",
]

RULES = ("steepest", "minimum/10", "valley")
"""The suggestion rules, in the order they are reported."""


@dataclass(frozen=True)
class RangeTestResult:
    """What a range test measured, and the rates its rules suggest.

    Attributes
    ----------
    lrs : numpy.ndarray
        The rate of every step that ran.
    losses : numpy.ndarray
        The raw training loss of every step (the last one may be inf or nan).
    smoothed : numpy.ndarray
        The bias-corrected exponential moving average of ``losses``.
    suggestions : Mapping[str, float]
        The suggested rate of each rule in :data:`RULES` (``nan`` when the run was too
        short for a rule).
    indices : Mapping[str, int]
        The step each suggestion was read at (``-1`` when unavailable).
    diverged : bool
        Whether the run stopped because the loss exploded.
    rule : str
        The rule behind ``suggested_lr``.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestions: MappingProxyType = field(repr=False)
    indices: MappingProxyType = field(repr=False)
    diverged: bool
    rule: str = "valley"

    @property
    def suggested_lr(self) -> float:
        """The rate suggested by the rule named in ``rule``."""
        return self.suggestions[self.rule]

    @property
    def stop_lr(self) -> float:
        """The last rate tried (where the loss exploded, if it did)."""
        return float(self.lrs[-1])

    @property
    def best_lr(self) -> float:
        """The rate at the lowest smoothed loss."""
        return float(self.lrs[int(np.argmin(self.smoothed))])


def sweep_rates(start_lr: float, end_lr: float, num_iter: int, mode: str = "exp") -> np.ndarray:
    r"""The rates of a range test: ``num_iter`` values from ``start_lr`` to ``end_lr``.

    Parameters
    ----------
    start_lr, end_lr : float
        First and last rate, ``0 < start_lr < end_lr``.
    num_iter : int
        Number of steps, >= 2.
    mode : {'exp', 'linear'}, default='exp'
        ``exp``: equal ratios, :math:`\eta_i = \eta_s (\eta_e/\eta_s)^{i/(n-1)}`;
        ``linear``: equal differences.

    Examples
    --------
    >>> from lrlib.finder import sweep_rates
    >>> print([f"{v:g}" for v in sweep_rates(1e-3, 1.0, 4)])
    ['0.001', '0.01', '0.1', '1']
    """
    start_lr, end_lr, num_iter, mode = _check_sweep("sweep_rates", start_lr, end_lr, num_iter,
                                                    mode)
    i = np.arange(num_iter)
    if mode == "exp":
        return start_lr * (end_lr / start_lr) ** (i / (num_iter - 1))
    return start_lr + (end_lr - start_lr) * i / (num_iter - 1)


def _check_sweep(func, start_lr, end_lr, num_iter, mode):
    start_lr = V.positive(func, "start_lr", start_lr)
    end_lr = V.real(func, "end_lr", end_lr, low=start_lr, low_open=True)
    num_iter = V.integer(func, "num_iter", num_iter, low=2)
    mode = V.one_of(func, "mode", mode, ("exp", "linear"))
    return start_lr, end_lr, num_iter, mode


def suggest(lrs: Any, smoothed: Any, *, skip_start: int = 10,
            skip_end: int = 5) -> tuple[dict[str, float], dict[str, int]]:
    r"""Apply every rule in :data:`RULES` to a (smoothed) range-test curve.

    Parameters
    ----------
    lrs, smoothed : array_like
        Rates (increasing) and smoothed losses of the same length.
    skip_start, skip_end : int, default=10, 5
        Steps ignored at each end: the start is dominated by the smoothing's
        warm-up and the end by the explosion.

    Returns
    -------
    suggestions : dict
        Rule name to suggested rate (``nan`` if the trimmed curve has fewer than 3
        points).
    indices : dict
        Rule name to the step the suggestion was read at (``-1`` if unavailable).

    Notes
    -----
    Within the trimmed window:

    ``steepest``
        The rate where the smoothed loss falls fastest per unit of
        :math:`\log \eta`: the minimum of :math:`d\tilde\ell / d\log\eta`
        (central differences). This is Smith's original reading of the plot.
    ``minimum/10``
        One tenth of the rate at the lowest smoothed loss: the minimum sits close to
        where training starts to become unstable, so back off an order of magnitude.
    ``valley``
        The middle of the longest *valley*: the longest run of steps, not
        necessarily consecutive, along which the smoothed loss only decreases (the
        longest decreasing subsequence). It is less sensitive to a single steep
        blip than ``steepest`` and less aggressive than the minimum. The idea is
        fastai's ``valley`` rule.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.finder import suggest
    >>> lrs = np.geomspace(1e-4, 1.0, 41)
    >>> loss = 1 / (1 + np.exp(-(np.log10(lrs) + 2) * 3))  # falls, then ...
    >>> loss = 1 - loss + 5 * (lrs > 0.3)                    # ... explodes
    >>> s, idx = suggest(lrs, loss, skip_start=0, skip_end=0)
    >>> print(f"steepest {s['steepest']:.2g}, minimum/10 {s['minimum/10']:.2g}")
    steepest 0.01, minimum/10 0.025
    """
    lrs = np.asarray(lrs, dtype=float)
    smoothed = np.asarray(smoothed, dtype=float)
    if lrs.shape != smoothed.shape or lrs.ndim != 1:
        V.fail("suggest", "smoothed", f"a 1-D array of the same shape as lrs {lrs.shape}",
               smoothed)
    skip_start = V.integer("suggest", "skip_start", skip_start, low=0)
    skip_end = V.integer("suggest", "skip_end", skip_end, low=0)
    nan = {rule: math.nan for rule in RULES}
    none = dict.fromkeys(RULES, -1)
    stop = len(lrs) - skip_end
    finite = np.isfinite(smoothed[skip_start:stop])
    if stop - skip_start < 3 or not finite.all():
        # trim at the first non-finite value, then retry
        if stop - skip_start >= 3 and finite.any() and finite[:3].all():
            stop = skip_start + int(np.argmin(finite))
        if stop - skip_start < 3:
            return nan, none
    window_lr = lrs[skip_start:stop]
    window = smoothed[skip_start:stop]
    slope = np.gradient(window, np.log(window_lr))
    i_steep = int(np.argmin(slope))
    i_min = int(np.argmin(window))
    lo, hi = _longest_decreasing_run(window)
    i_valley = (lo + hi) // 2
    suggestions = {"steepest": float(window_lr[i_steep]),
                   "minimum/10": float(window_lr[i_min]) / 10,
                   "valley": float(window_lr[i_valley])}
    indices = {"steepest": skip_start + i_steep, "minimum/10": skip_start + i_min,
               "valley": skip_start + i_valley}
    return suggestions, indices


def _longest_decreasing_run(values: np.ndarray) -> tuple[int, int]:
    """First and last index of a longest strictly decreasing subsequence."""
    n = len(values)
    length = np.ones(n, dtype=int)  # length of the best subsequence ending at i
    for i in range(1, n):
        earlier = values[:i] > values[i]
        if earlier.any():
            length[i] = length[:i][earlier].max() + 1
    end = int(np.argmax(length))
    start, need, current = end, length[end] - 1, values[end]
    for j in range(end - 1, -1, -1):  # walk back to the first element of that chain
        if need == 0:
            break
        if length[j] == need and values[j] > current:
            start, need, current = j, need - 1, values[j]
    return start, end


def range_test(step: Callable[[float], float], start_lr: float = 1e-7, end_lr: float = 10.0,
               num_iter: int = 100, *, mode: str = "exp", smooth: float = 0.98,
               diverge_factor: float = 4.0, skip_start: int = 10, skip_end: int = 5,
               rule: str = "valley") -> RangeTestResult:
    r"""Run a range test with any training step.

    Parameters
    ----------
    step : callable
        ``step(lr) -> loss``: performs one training update at rate ``lr`` and returns
        the training loss of that update (a float).
    start_lr, end_lr : float, default=1e-7, 10.0
        The sweep's first and last rate, ``0 < start_lr < end_lr``.
    num_iter : int, default=100
        Maximum number of steps, >= 2.
    mode : {'exp', 'linear'}, default='exp'
        How the rate grows (see :func:`sweep_rates`).
    smooth : float, default=0.98
        Factor of the exponential moving average of the loss, in [0, 1); 0 turns
        smoothing off.
    diverge_factor : float, default=4.0
        Stop as soon as the smoothed loss exceeds ``diverge_factor`` times its
        minimum so far (or the loss is not finite); > 1.
    skip_start, skip_end : int, default=10, 5
        Steps the suggestion rules ignore at each end (see :func:`suggest`).
    rule : {'valley', 'steepest', 'minimum/10'}, default='valley'
        The rule behind :attr:`RangeTestResult.suggested_lr`.

    Returns
    -------
    RangeTestResult

    Notes
    -----
    The smoothed loss is the bias-corrected moving average

    .. math::

        a_i = \beta a_{i-1} + (1 - \beta)\,\ell_i, \qquad
        \tilde\ell_i = a_i / (1 - \beta^{i+1}), \qquad a_{-1} = 0,

    so that the first values are not pulled towards 0.

    Where the test stops depends on the noise. With minibatches the loss sits on a
    noise floor and explodes soon after the rate passes the stability limit (the
    smoothing adds a lag of a few sweep steps). On a deterministic, full-batch
    problem the iterate first converges so well along the sharpest direction that
    the instability needs many steps to grow from rounding-level error, and the
    test stops well past the limit.

    Examples
    --------
    Stochastic gradient descent on :math:`2(x - a)^2` with the target :math:`a`
    alternating between +1 and -1 (curvature 4) is stable for rates below
    2/4 = 0.5; the loss explodes as the sweep reaches that limit:

    >>> from lrlib.finder import range_test
    >>> state = {"x": 0.0, "t": 0}
    >>> def step(lr):
    ...     a = 1.0 if state["t"] % 2 == 0 else -1.0
    ...     state["t"] += 1
    ...     loss = 2.0 * (state["x"] - a) ** 2
    ...     state["x"] -= lr * 4.0 * (state["x"] - a)
    ...     return loss
    >>> result = range_test(step, start_lr=1e-3, end_lr=10.0, num_iter=200)
    >>> print(f"diverged: {result.diverged}, stopped at lr = {result.stop_lr:.2f}")
    diverged: True, stopped at lr = 0.47
    """
    start_lr, end_lr, num_iter, mode = _check_sweep("range_test", start_lr, end_lr, num_iter,
                                                    mode)
    if not callable(step):
        V.fail("range_test", "step", "a callable step(lr) -> loss", step)
    smooth = V.real("range_test", "smooth", smooth, low=0.0, high=1.0, high_open=True)
    diverge_factor = V.real("range_test", "diverge_factor", diverge_factor, low=1.0,
                            low_open=True)
    V.integer("range_test", "skip_start", skip_start, low=0)
    V.integer("range_test", "skip_end", skip_end, low=0)
    rule = V.one_of("range_test", "rule", rule, RULES)
    rates = sweep_rates(start_lr, end_lr, num_iter, mode)
    losses, smoothed = [], []
    average, best, diverged = 0.0, math.inf, False
    for i, lr in enumerate(rates):
        loss = float(step(float(lr)))
        losses.append(loss)
        average = smooth * average + (1 - smooth) * loss
        value = average / (1 - smooth ** (i + 1))
        smoothed.append(value)
        if not math.isfinite(value) or (i > 0 and value > diverge_factor * best):
            diverged = True
            break
        best = min(best, value)
    lrs = rates[: len(losses)]
    suggestions, indices = suggest(lrs, smoothed, skip_start=skip_start, skip_end=skip_end)
    return RangeTestResult(lrs=lrs, losses=np.array(losses), smoothed=np.array(smoothed),
                           suggestions=MappingProxyType(suggestions),
                           indices=MappingProxyType(indices), diverged=diverged, rule=rule)


def lr_range_test_numpy(loss_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
                        x0: Any, optimizer: Callable | None = None, **kwargs) -> RangeTestResult:
    r"""Range test on a numpy problem, with any lrlib optimizer.

    Parameters
    ----------
    loss_and_grad : callable
        ``loss_and_grad(x) -> (loss, grad)`` for a parameter array ``x`` (close over a
        batch iterator to make it stochastic).
    x0 : array_like
        Starting parameters; copied, never modified.
    optimizer : callable, optional
        ``optimizer(params, lr)`` returning an :mod:`lrlib.optim` optimizer over
        ``params`` with rate ``lr`` (a callable of the step); by default plain
        gradient descent, ``lambda params, lr: SGD(params, lr=lr)``.
    **kwargs
        Passed to :func:`range_test` (``start_lr``, ``end_lr``, ``num_iter``, ...).

    Returns
    -------
    RangeTestResult

    Examples
    --------
    Least squares on four points, one point per step (stochastic gradient descent):

    >>> import numpy as np
    >>> from lrlib.finder import lr_range_test_numpy
    >>> X = np.array([[1.0, 0.0], [0.0, 3.0], [1.0, 1.0], [2.0, -1.0]])
    >>> y = np.array([1.0, -1.0, 2.0, 0.5])
    >>> seen = [0]
    >>> def loss_and_grad(w):
    ...     i = seen[0] % 4
    ...     seen[0] += 1
    ...     r = X[i] @ w - y[i]
    ...     return 0.5 * r**2, r * X[i]
    >>> res = lr_range_test_numpy(loss_and_grad, np.zeros(2), start_lr=1e-4, end_lr=10.0,
    ...                           num_iter=300)
    >>> print(f"diverged: {res.diverged}, stopped at lr = {res.stop_lr:.2f}")
    diverged: True, stopped at lr = 0.50
    """
    from lrlib.optim import SGD

    if not callable(loss_and_grad):
        V.fail("lr_range_test_numpy", "loss_and_grad", "a callable x -> (loss, grad)",
               loss_and_grad)
    x = np.array(x0, dtype=float, copy=True)
    if x.size == 0 or not np.all(np.isfinite(x)):
        V.fail("lr_range_test_numpy", "x0", "a non-empty finite array", x0)
    make = optimizer if optimizer is not None else (lambda params, lr: SGD(params, lr=lr))
    if not callable(make):
        V.fail("lr_range_test_numpy", "optimizer", "a callable (params, lr) -> optimizer",
               optimizer)
    current = {"lr": 0.0}
    opt = make(x, lambda t: current["lr"])

    def step(lr: float) -> float:
        current["lr"] = lr
        loss, grad = loss_and_grad(x)
        if np.all(np.isfinite(grad)):
            opt.step(np.asarray(grad, dtype=float))
        return loss

    with np.errstate(over="ignore", invalid="ignore"):
        return range_test(step, **kwargs)


def lr_range_test_torch(model, loss_fn: Callable, batches: Iterable, optimizer,
                        **kwargs) -> RangeTestResult:
    r"""Range test on a torch model; the model and optimizer are restored afterwards.

    Parameters
    ----------
    model : torch.nn.Module
        The model to train. Its parameters and buffers are saved first and restored
        when the test ends (also on error).
    loss_fn : callable
        ``loss_fn(model(x), y) -> loss`` (a scalar tensor).
    batches : iterable of (x, y)
        Training batches; cycled if the test needs more steps than one pass has. A
        DataLoader, a list, or :func:`lrlib.data.batches` all work.
    optimizer : torch.optim.Optimizer
        The optimizer over ``model``'s parameters, with the settings (momentum,
        weight decay, ...) to be used in training; its ``lr`` is overwritten during
        the test and its state restored afterwards.
    **kwargs
        Passed to :func:`range_test` (``start_lr``, ``end_lr``, ``num_iter``,
        ``smooth``, ``diverge_factor``, ``mode``, ``skip_start``, ``skip_end``, ``rule``).

    Returns
    -------
    RangeTestResult
    """
    import torch

    if not isinstance(model, torch.nn.Module):
        V.fail("lr_range_test_torch", "model", "a torch.nn.Module", model)
    if not isinstance(optimizer, torch.optim.Optimizer):
        V.fail("lr_range_test_torch", "optimizer", "a torch.optim.Optimizer", optimizer)
    if not callable(loss_fn):
        V.fail("lr_range_test_torch", "loss_fn", "a callable (output, target) -> loss",
               loss_fn)
    try:
        stream = itertools.cycle(batches)
    except TypeError:
        V.fail("lr_range_test_torch", "batches", "an iterable of (x, y) batches", batches)
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    was_training = model.training

    def step(lr: float) -> float:
        x, y = next(stream)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        value = float(loss.detach())
        if math.isfinite(value):
            loss.backward()
            optimizer.step()
        return value

    model.train()
    try:
        return range_test(step, **kwargs)
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
        model.train(was_training)
