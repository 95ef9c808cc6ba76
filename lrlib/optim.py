r"""Numpy optimizers with exactly ``torch.optim``'s update rules.

Each algorithm comes twice:

* a functional core, e.g. :func:`adam_update`, that applies one update to one float
  array and its ``state`` dict in place, with keyword-only hyperparameters;
* a thin class, e.g. :class:`Adam`, that registers a list of arrays, checks its
  arguments once, looks up the learning rate of each update (a float or an lrlib
  schedule) and counts the steps. The shared logic lives in :class:`Optimizer`.

The arithmetic follows the single-tensor path of ``torch.optim`` (``foreach=False``,
the default on CPU) operation by operation, so in float64 the trajectories agree
with torch to about 1e-15 relative, often bit for bit. (torch's compiled kernels
fuse some multiply-adds, which numpy cannot, so the last bit may differ.) The state uses torch's key
names (``momentum_buffer``, ``sum``, ``square_avg``, ``grad_avg``, ``exp_avg``,
``exp_avg_sq``, ``max_exp_avg_sq``, ``step``) and is kept in ``opt.state``, one
dict per parameter, so it can be plotted.

>>> import numpy as np
>>> from lrlib.optim import Adam
>>> from lrlib.schedules import cosine
>>> w = np.array([1.0, 1.0])
>>> opt = Adam(w, lr=cosine(lr=0.1, T_max=100))
>>> print(f"rate of the first step: {opt.lr:.3f}")
rate of the first step: 0.100
>>> for _ in range(100):
...     opt.step(np.array([1.0, 25.0]) * w)  # gradient of 0.5 * (x**2 + 25 * y**2)
>>> print(f"w = ({w[0]:.4f}, {w[1]:.4f}) after {opt.steps_done} steps")
w = (-0.0085, -0.0085) after 100 steps
>>> v = opt.state[0]["exp_avg_sq"]
>>> print(f"second moments: {v[0]:.4f} and {v[1]:.4f}")
second moments: 0.0043 and 2.6919

Adam's step does not depend on the scale of each coordinate, so both coordinates of
``w`` move alike although their curvatures differ 25-fold.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from lrlib import _validation as V

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "adagrad_update",
    "adam_update",
    "rmsprop_update",
    "sgd_update",
]

LR = float | Callable[[int], float]
"""A learning rate: a float, or a schedule (any callable ``int step -> float``)."""


# ---------------------------------------------------------------------------
# Functional cores
#
# Each one updates ``param`` and ``state`` in place. Hyperparameters are not
# checked here (the classes check them once, at construction). ``grad`` is
# never modified, but it must not share memory with ``param``. Missing state
# entries are created on first use, so ``state = {}`` is a valid start.
# The order of the floating-point operations is torch's (see the comments).
# ---------------------------------------------------------------------------


def _buffer(state: dict, key: str, param: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``state[key]``, created as an array like ``param`` filled with ``fill`` if missing."""
    if state.get(key) is None:
        state[key] = np.full_like(param, fill)
    return state[key]


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight * (end - start)``, in the form ``torch.lerp`` uses.

    torch anchors the formula at ``start`` for ``|weight| < 0.5`` and at ``end``
    otherwise (better rounding). Its compiled kernel evaluates the second form with a
    fused multiply-add, which numpy cannot do, so that branch can differ from torch
    in the last bit.
    """
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1.0 - weight)


def sgd_update(param: np.ndarray, grad: np.ndarray, state: dict, *, lr: float,
               momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
               nesterov: bool = False) -> None:
    r"""Apply one SGD update to ``param`` and ``state`` in place.

    Parameters
    ----------
    param : ndarray
        Float array, updated in place.
    grad : ndarray
        Gradient at ``param``, same shape; not modified.
    state : dict
        ``{"momentum_buffer": ndarray}`` (created by the first update when
        ``momentum != 0``; ``None`` or missing means "no update yet").
    lr, momentum, dampening, weight_decay, nesterov
        As in :class:`SGD` (not checked here).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import sgd_update
    >>> w, state = np.array([1.0, -2.0]), {}
    >>> sgd_update(w, np.array([0.5, 0.5]), state, lr=0.1, momentum=0.9)
    >>> print(f"{w[0]:.2f} {w[1]:.2f} {state['momentum_buffer'][0]:.2f}")
    0.95 -2.05 0.50
    """
    if weight_decay != 0:
        grad = grad + weight_decay * param
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:  # first update: the buffer is the gradient, without dampening
            buf = state["momentum_buffer"] = np.array(grad, copy=True)
        else:
            buf *= momentum
            buf += (1 - dampening) * grad
        grad = grad + momentum * buf if nesterov else buf
    param -= lr * grad


def adagrad_update(param: np.ndarray, grad: np.ndarray, state: dict, *, lr: float,
                   lr_decay: float = 0.0, weight_decay: float = 0.0, eps: float = 1e-10,
                   initial_accumulator_value: float = 0.0) -> None:
    r"""Apply one Adagrad update to ``param`` and ``state`` in place.

    Parameters
    ----------
    param : ndarray
        Float array, updated in place.
    grad : ndarray
        Gradient at ``param``, same shape; not modified.
    state : dict
        ``{"step": int, "sum": ndarray}``; a missing ``sum`` starts at
        ``initial_accumulator_value``.
    lr, lr_decay, weight_decay, eps, initial_accumulator_value
        As in :class:`Adagrad` (not checked here).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import adagrad_update
    >>> w, state = np.array([1.0, -2.0]), {}
    >>> adagrad_update(w, np.array([0.5, -4.0]), state, lr=0.1)
    >>> print(f"{w[0]:.2f} {w[1]:.2f} {state['sum'][1]:.1f} {state['step']}")
    0.90 -1.90 16.0 1
    """
    state["step"] = t = state.get("step", 0) + 1
    if weight_decay != 0:
        grad = grad + weight_decay * param
    clr = lr / (1 + (t - 1) * lr_decay)
    total = _buffer(state, "sum", param, initial_accumulator_value)
    total += grad * grad
    std = np.sqrt(total) + eps
    param += (-clr * grad) / std  # torch's addcdiv: p + (value * g) / std


def rmsprop_update(param: np.ndarray, grad: np.ndarray, state: dict, *, lr: float,
                   alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                   momentum: float = 0.0, centered: bool = False) -> None:
    r"""Apply one RMSprop update to ``param`` and ``state`` in place.

    Parameters
    ----------
    param : ndarray
        Float array, updated in place.
    grad : ndarray
        Gradient at ``param``, same shape; not modified.
    state : dict
        ``{"step": int, "square_avg": ndarray}``, plus ``"grad_avg"`` when
        ``centered`` and ``"momentum_buffer"`` when ``momentum > 0``; missing
        arrays start at zero.
    lr, alpha, eps, weight_decay, momentum, centered
        As in :class:`RMSprop` (not checked here).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import rmsprop_update
    >>> w, state = np.array([1.0, -2.0]), {}
    >>> rmsprop_update(w, np.array([0.5, -4.0]), state, lr=0.01)
    >>> print(f"{w[0]:.4f} {w[1]:.4f}")  # the first step is lr / sqrt(1 - alpha)
    0.9000 -1.9000
    """
    state["step"] = state.get("step", 0) + 1
    if weight_decay != 0:
        grad = grad + weight_decay * param
    square_avg = _buffer(state, "square_avg", param)
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    if centered:
        grad_avg = _buffer(state, "grad_avg", param)
        grad_avg[...] = _lerp(grad_avg, grad, 1 - alpha)
        avg = np.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg += eps
    if momentum > 0:
        buf = _buffer(state, "momentum_buffer", param)
        buf *= momentum
        buf += grad / avg
        param -= lr * buf
    else:
        param += (-lr * grad) / avg


def adam_update(param: np.ndarray, grad: np.ndarray, state: dict, *, lr: float,
                beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                weight_decay: float = 0.0, amsgrad: bool = False,
                decoupled_weight_decay: bool = False) -> None:
    r"""Apply one Adam (or, with ``decoupled_weight_decay``, AdamW) update in place.

    Parameters
    ----------
    param : ndarray
        Float array, updated in place.
    grad : ndarray
        Gradient at ``param``, same shape; not modified.
    state : dict
        ``{"step": int, "exp_avg": ndarray, "exp_avg_sq": ndarray}``, plus
        ``"max_exp_avg_sq"`` when ``amsgrad``; missing arrays start at zero.
    lr, eps, weight_decay, amsgrad
        As in :class:`Adam` (not checked here).
    beta1, beta2 : float
        ``betas[0]`` and ``betas[1]`` of :class:`Adam`.
    decoupled_weight_decay : bool, default=False
        False: L2 penalty added to the gradient (:class:`Adam`). True: the parameter
        is shrunk by ``1 - lr * weight_decay`` before the update (:class:`AdamW`).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import adam_update
    >>> w, state = np.array([1.0, -2.0]), {}
    >>> adam_update(w, np.array([0.5, -4.0]), state, lr=0.1)
    >>> print(f"{w[0]:.4f} {w[1]:.4f} {state['exp_avg'][1]:.2f}")  # first step: lr * sign(g)
    0.9000 -1.9000 -0.40
    """
    state["step"] = t = state.get("step", 0) + 1
    if weight_decay != 0:
        if decoupled_weight_decay:
            param *= 1 - lr * weight_decay
        else:
            grad = grad + weight_decay * param
    exp_avg = _buffer(state, "exp_avg", param)
    exp_avg_sq = _buffer(state, "exp_avg_sq", param)
    exp_avg[...] = _lerp(exp_avg, grad, 1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += (1 - beta2) * grad * grad
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = lr / bias_correction1
    second = exp_avg_sq
    if amsgrad:  # the running max of the raw (not bias-corrected) second moment
        second = _buffer(state, "max_exp_avg_sq", param)
        np.maximum(second, exp_avg_sq, out=second)
    denom = np.sqrt(second) / bias_correction2**0.5 + eps
    param += (-step_size * exp_avg) / denom


# ---------------------------------------------------------------------------
# Classes
# ---------------------------------------------------------------------------


def _check_params(func: str, params: Any) -> list[np.ndarray]:
    rule = "a float numpy array or a non-empty list of them"
    if isinstance(params, np.ndarray):
        items = [params]
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes, Mapping)):
        items = list(params)
    else:
        V.fail(func, "params", rule, params)
    if not items:
        V.fail(func, "params", rule, params)
    for i, p in enumerate(items):
        # Integer arrays are refused: the in-place float updates would be truncated.
        ok = isinstance(p, np.ndarray) and p.dtype.kind == "f" and p.flags.writeable
        V.check(ok, func, f"params[{i}]", "a writeable numpy array of floats", p)
    for i, p in enumerate(items):
        for j in range(i):
            V.check(not np.may_share_memory(items[j], p), func, f"params[{i}]",
                    f"an array that shares no memory with params[{j}]", p)
    return items


def _check_lr(func: str, name: str, value: Any) -> float | Callable[[int], float]:
    if callable(value):
        return value
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and math.isfinite(value) and value >= 0)
    V.check(ok, func, name, "a finite number >= 0 or a schedule", value)
    return float(value)


def _check_betas(func: str, betas: Any) -> tuple[float, float]:
    V.check(isinstance(betas, (tuple, list)) and len(betas) == 2, func, "betas",
            "a pair (beta1, beta2)", betas)
    return tuple(V.real(func, f"betas[{i}]", b, low=0.0, high=1.0, high_open=True)
                 for i, b in enumerate(betas))


class Optimizer:
    """Base class of the numpy optimizers: parameters, step counter, rate and state.

    Subclasses check their hyperparameters, pass them to ``__init__`` and define
    ``_init_state(param)`` (the state before the first step) and
    ``_update(param, grad, state, lr)`` (one call of their functional core).

    Parameters
    ----------
    params : ndarray or iterable of ndarray
        The float arrays to optimize; they are updated in place.
    lr : float or Schedule
        A fixed rate >= 0, or a schedule: any callable ``int -> float`` such as an
        :mod:`lrlib.schedules` schedule. Update number ``t`` (0-based) uses
        ``lr(t)``.
    **hyperparams
        The subclass's checked hyperparameters.

    Attributes
    ----------
    params : list of ndarray
        The registered arrays (the caller's own arrays, not copies).
    state : list of dict
        One dict per parameter, with torch's key names.
    steps_done : int
        Number of :meth:`step` calls so far; the next step is update number
        ``steps_done``.
    hyperparams : mapping
        The hyperparameters, read-only; ``hyperparams["lr"]`` is ``lr`` as given.
    """

    _decoupled: ClassVar[bool] = False

    def __init__(self, params: np.ndarray | Iterable[np.ndarray], lr: LR,
                 **hyperparams: Any) -> None:
        name = type(self).__name__
        self._hyperparams = {"lr": _check_lr(name, "lr", lr), **hyperparams}
        self.params = _check_params(name, params)
        self.state = [self._init_state(p) for p in self.params]
        self.steps_done = 0

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyperparams.items())
        return f"{type(self).__name__}({args})"

    @property
    def hyperparams(self) -> Mapping[str, Any]:
        """The checked hyperparameters (a read-only view); ``"lr"`` is ``lr`` as given."""
        return MappingProxyType(self._hyperparams)

    @property
    def lr(self) -> float:
        """The learning rate the next :meth:`step` will use."""
        return self.lr_at(self.steps_done)

    def lr_at(self, step: int) -> float:
        """The learning rate of update number ``step`` (0-based)."""
        lr = self._hyperparams["lr"]
        if not callable(lr):
            return lr
        value = lr(step)
        ok = isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0
        V.check(ok, type(self).__name__, f"lr({step})", "a finite number >= 0", value)
        return float(value)

    def step(self, grads: np.ndarray | Iterable[np.ndarray]) -> None:
        """Update every parameter in place, given the gradients at the current values.

        Parameters
        ----------
        grads : ndarray or sequence of ndarray
            One gradient per parameter, in order and with the parameter's shape (a
            single array is accepted when there is a single parameter). NaN and inf
            are not rejected: they propagate, as in torch.
        """
        grads = self._check_grads(grads)
        lr = self.lr
        for param, grad, state in zip(self.params, grads, self.state, strict=True):
            self._update(param, grad, state, lr)
        self.steps_done += 1

    def _check_grads(self, grads: Any) -> list[np.ndarray]:
        name = type(self).__name__
        if isinstance(grads, np.ndarray) or not isinstance(grads, Iterable):
            grads = [grads]
        grads = list(grads)
        n = len(self.params)
        V.check(len(grads) == n, name, "len(grads)",
                f"{n} (one gradient per parameter)", len(grads))
        out = []
        for i, (g, p) in enumerate(zip(grads, self.params, strict=True)):
            g = np.asarray(g)
            V.check(g.dtype.kind in "iuf", name, f"grads[{i}].dtype", "a real number type",
                    g.dtype)
            V.check(g.shape == p.shape, name, f"grads[{i}].shape",
                    f"{p.shape} (the shape of params[{i}])", g.shape)
            out.append(np.array(g, dtype=p.dtype, copy=True))  # never alias the caller's
        return out

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of the step counter and the per-parameter state.

        Returns
        -------
        dict
            ``{"steps_done": int, "state": [dict, ...]}``; the arrays are copies.
        """
        return {"steps_done": self.steps_done, "state": [_copy(s) for s in self.state]}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`, so that training resumes where it stopped.

        The optimizer must have been built with the same hyperparameters, over arrays
        of the same shapes (holding the values they had when the state was saved).
        The arrays are copied in.
        """
        name = type(self).__name__
        V.check(isinstance(state_dict, Mapping) and {"steps_done", "state"} <= set(state_dict),
                name, "state_dict", "a dict with keys 'steps_done' and 'state'", state_dict)
        steps = V.integer(name, "state_dict['steps_done']", state_dict["steps_done"], low=0)
        saved = state_dict["state"]
        V.check(isinstance(saved, (list, tuple)), name, "state_dict['state']",
                "a list of dicts, one per parameter", saved)
        n = len(self.params)
        V.check(len(saved) == n, name, "len(state_dict['state'])",
                f"{n} (one entry per parameter)", len(saved))
        self.state = [self._load_one(i, entry) for i, entry in enumerate(saved)]
        self.steps_done = steps

    def _load_one(self, i: int, entry: Any) -> dict:
        name = type(self).__name__
        param = self.params[i]
        where = f"state_dict['state'][{i}]"
        fresh = self._init_state(param)
        V.check(isinstance(entry, Mapping), name, where, "a dict", entry)
        V.check(set(entry) == set(fresh), name, f"sorted({where})", str(sorted(fresh)),
                sorted(entry))
        out = {}
        for key, default in fresh.items():
            value = entry[key]
            if key == "step":
                out[key] = V.integer(name, f"{where}[{key!r}]", value, low=0)
            elif value is None and default is None:  # SGD's buffer before the first step
                out[key] = None
            else:
                V.check(isinstance(value, np.ndarray), name, f"{where}[{key!r}]",
                        "a numpy array", value)
                V.check(value.shape == param.shape, name, f"{where}[{key!r}].shape",
                        f"{param.shape} (the shape of params[{i}])", value.shape)
                out[key] = np.array(value, dtype=param.dtype, copy=True)
        return out

    def _init_state(self, param: np.ndarray) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _update(self, param, grad, state, lr) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def _copy(state: dict) -> dict:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional momentum, Nesterov and L2 decay.

    Parameters
    ----------
    params : ndarray or iterable of ndarray
        Float arrays to optimize, updated in place by :meth:`~Optimizer.step`.
    lr : float or Schedule, default=1e-3
        Learning rate >= 0, or a schedule: update ``t`` (0-based) uses ``lr(t)``.
    momentum : float, default=0.0
        Momentum factor :math:`\mu`, >= 0.
    dampening : float, default=0.0
        Dampening :math:`\tau` of the momentum, in [0, 1].
    weight_decay : float, default=0.0
        L2 penalty :math:`\lambda` (coupled: added to the gradient), >= 0.
    nesterov : bool, default=False
        Nesterov momentum; needs ``momentum > 0`` and ``dampening == 0``.

    Notes
    -----
    Update :math:`t = 1, 2, \dots` with rate :math:`\eta_t` (``lr(t - 1)``):

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        b_t &= \begin{cases} g_t & t = 1 \\ \mu\,b_{t-1} + (1 - \tau)\,g_t & t > 1
               \end{cases} \\
        d_t &= \begin{cases} g_t + \mu\,b_t & \text{nesterov} \\ b_t & \text{otherwise}
               \end{cases} \quad (d_t = g_t \text{ if } \mu = 0) \\
        \theta_t &= \theta_{t-1} - \eta_t\,d_t

    As in ``torch.optim.SGD``: the first buffer is the gradient itself (no
    dampening), and the rate stays outside the buffer, so a change of rate rescales the
    whole step at once (Keras puts the rate inside). State:
    ``momentum_buffer`` (``None`` before the first step; absent when ``momentum=0``).

    References
    ----------
    Polyak, B. T. (1964). Some methods of speeding up the convergence of iteration
    methods. USSR Computational Mathematics and Mathematical Physics, 4(5), 1-17.

    Sutskever, I., Martens, J., Dahl, G. and Hinton, G. (2013). On the importance of
    initialization and momentum in deep learning. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import SGD
    >>> def grad(w):
    ...     return np.array([1.0, 25.0]) * w  # gradient of 0.5 * (x**2 + 25 * y**2)
    >>> for momentum in [0.0, 0.9]:
    ...     w = np.array([1.0, 1.0])
    ...     opt = SGD(w, lr=0.02, momentum=momentum)
    ...     for _ in range(100):
    ...         opt.step(grad(w))
    ...     print(f"momentum={momentum}: x = {w[0]:.4f} after {opt.steps_done} steps")
    momentum=0.0: x = 0.1326 after 100 steps
    momentum=0.9: x = 0.0042 after 100 steps
    >>> buf = opt.state[0]["momentum_buffer"]
    >>> print(f"momentum_buffer = ({buf[0]:.4f}, {buf[1]:.4f})")
    momentum_buffer = (0.0333, -0.1944)
    """

    def __init__(self, params: np.ndarray | Iterable[np.ndarray], lr: LR = 1e-3,
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        f = type(self).__name__
        momentum = V.nonnegative(f, "momentum", momentum)
        dampening = V.real(f, "dampening", dampening, low=0.0, high=1.0)
        nesterov = V.boolean(f, "nesterov", nesterov)
        V.check(not nesterov or (momentum > 0 and dampening == 0), f, "nesterov",
                f"False when momentum={momentum!r} and dampening={dampening!r} "
                "(Nesterov needs momentum > 0 and dampening == 0)", nesterov)
        super().__init__(params, lr, momentum=momentum, dampening=dampening,
                         weight_decay=V.nonnegative(f, "weight_decay", weight_decay),
                         nesterov=nesterov)

    def _init_state(self, param):
        return {"momentum_buffer": None} if self._hyperparams["momentum"] != 0 else {}

    def _update(self, param, grad, state, lr):
        h = self._hyperparams
        sgd_update(param, grad, state, lr=lr, momentum=h["momentum"],
                   dampening=h["dampening"], weight_decay=h["weight_decay"],
                   nesterov=h["nesterov"])


class Adagrad(Optimizer):
    r"""Adagrad: per-coordinate rates that shrink with the accumulated squared gradients.

    Parameters
    ----------
    params : ndarray or iterable of ndarray
        Float arrays to optimize, updated in place by :meth:`~Optimizer.step`.
    lr : float or Schedule, default=1e-2
        Learning rate >= 0, or a schedule: update ``t`` (0-based) uses ``lr(t)``.
    lr_decay : float, default=0.0
        Inverse-time decay :math:`\delta` of the rate, per step, >= 0.
    weight_decay : float, default=0.0
        L2 penalty :math:`\lambda` (coupled: added to the gradient), >= 0.
    initial_accumulator_value : float, default=0.0
        Starting value :math:`s_0` of the sum of squares, >= 0.
    eps : float, default=1e-10
        Added to the square root, outside it, >= 0.

    Notes
    -----
    Update :math:`t = 1, 2, \dots` with rate :math:`\eta_t` (``lr(t - 1)``):

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        s_t &= s_{t-1} + g_t^2 \\
        \theta_t &= \theta_{t-1} - \frac{\eta_t}{1 + (t - 1)\,\delta}\,
                    \frac{g_t}{\sqrt{s_t} + \epsilon}

    As in ``torch.optim.Adagrad``; Keras instead puts :math:`\epsilon` inside the root,
    starts at :math:`s_0 = 0.1` and has no ``lr_decay``. State: ``step``, ``sum``
    (created at construction, filled with ``initial_accumulator_value``).

    References
    ----------
    Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods for online
    learning and stochastic optimization. JMLR, 12, 2121-2159.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import Adagrad
    >>> w = np.array([1.0, 1.0])
    >>> opt = Adagrad(w, lr=0.5)
    >>> for _ in range(10):
    ...     opt.step(np.array([1.0, 25.0]) * w)  # gradient of 0.5 * (x**2 + 25 * y**2)
    >>> s = opt.state[0]["sum"]
    >>> print(f"w = ({w[0]:.4f}, {w[1]:.4f}), sum = ({s[0]:.2f}, {s[1]:.2f})")
    w = (0.0031, 0.0031), sum = (1.36, 851.64)
    """

    def __init__(self, params: np.ndarray | Iterable[np.ndarray], lr: LR = 1e-2,
                 lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10) -> None:
        f = type(self).__name__
        super().__init__(
            params, lr, lr_decay=V.nonnegative(f, "lr_decay", lr_decay),
            weight_decay=V.nonnegative(f, "weight_decay", weight_decay),
            initial_accumulator_value=V.nonnegative(f, "initial_accumulator_value",
                                                    initial_accumulator_value),
            eps=V.nonnegative(f, "eps", eps))

    def _init_state(self, param):
        return {"step": 0,
                "sum": np.full_like(param, self._hyperparams["initial_accumulator_value"])}

    def _update(self, param, grad, state, lr):
        h = self._hyperparams
        adagrad_update(param, grad, state, lr=lr, lr_decay=h["lr_decay"],
                       weight_decay=h["weight_decay"], eps=h["eps"],
                       initial_accumulator_value=h["initial_accumulator_value"])


class RMSprop(Optimizer):
    r"""RMSprop: divide the gradient by a running root mean square of past gradients.

    Parameters
    ----------
    params : ndarray or iterable of ndarray
        Float arrays to optimize, updated in place by :meth:`~Optimizer.step`.
    lr : float or Schedule, default=1e-2
        Learning rate >= 0, or a schedule: update ``t`` (0-based) uses ``lr(t)``.
    alpha : float, default=0.99
        Smoothing constant :math:`\alpha` of the running averages, in [0, 1].
    eps : float, default=1e-8
        Added to the square root, outside it, >= 0.
    weight_decay : float, default=0.0
        L2 penalty :math:`\lambda` (coupled: added to the gradient), >= 0.
    momentum : float, default=0.0
        Momentum factor :math:`\mu` applied to the normalized step, >= 0.
    centered : bool, default=False
        If True, divide by an estimate of the gradient's standard deviation
        (subtract the squared running mean :math:`\bar g_t^2`).

    Notes
    -----
    Update :math:`t = 1, 2, \dots` with rate :math:`\eta_t` (``lr(t - 1)``), all
    averages starting at zero:

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        v_t &= \alpha\,v_{t-1} + (1 - \alpha)\,g_t^2 \\
        \bar g_t &= \alpha\,\bar g_{t-1} + (1 - \alpha)\,g_t \quad \text{(centered)} \\
        d_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \text{ (centered)}, \quad
               \sqrt{v_t} + \epsilon \text{ (otherwise)} \\
        b_t &= \mu\,b_{t-1} + g_t / d_t, \quad
               \theta_t = \theta_{t-1} - \eta_t\,b_t \quad (\mu > 0) \\
        \theta_t &= \theta_{t-1} - \eta_t\,g_t / d_t \quad (\mu = 0)

    As in ``torch.optim.RMSprop``. There is no bias correction, so the first step is
    about :math:`\eta / \sqrt{1 - \alpha}` per coordinate (10 times the rate for
    :math:`\alpha = 0.99`). Keras puts :math:`\epsilon` inside the root and the rate
    inside the momentum buffer. State: ``step``, ``square_avg``, ``grad_avg``
    (centered), ``momentum_buffer`` (``momentum > 0``).

    References
    ----------
    Tieleman, T. and Hinton, G. (2012). Lecture 6.5, RMSprop: divide the gradient by a
    running average of its recent magnitude. Coursera: Neural Networks for Machine
    Learning.

    Graves, A. (2013). Generating sequences with recurrent neural networks.
    arXiv:1308.0850 (the centered variant).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import RMSprop
    >>> w = np.array([1.0, 1.0])
    >>> opt = RMSprop(w, lr=0.01)
    >>> opt.step(np.array([1.0, 25.0]) * w)  # gradient of 0.5 * (x**2 + 25 * y**2)
    >>> print(f"w = ({w[0]:.4f}, {w[1]:.4f}), square_avg[1] = {opt.state[0]['square_avg'][1]:.2f}")
    w = (0.9000, 0.9000), square_avg[1] = 6.25
    """

    def __init__(self, params: np.ndarray | Iterable[np.ndarray], lr: LR = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False) -> None:
        f = type(self).__name__
        super().__init__(params, lr, alpha=V.real(f, "alpha", alpha, low=0.0, high=1.0),
                         eps=V.nonnegative(f, "eps", eps),
                         weight_decay=V.nonnegative(f, "weight_decay", weight_decay),
                         momentum=V.nonnegative(f, "momentum", momentum),
                         centered=V.boolean(f, "centered", centered))

    def _init_state(self, param):
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if self._hyperparams["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        if self._hyperparams["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, lr):
        h = self._hyperparams
        rmsprop_update(param, grad, state, lr=lr, alpha=h["alpha"], eps=h["eps"],
                       weight_decay=h["weight_decay"], momentum=h["momentum"],
                       centered=h["centered"])


class Adam(Optimizer):
    r"""Adam: steps from bias-corrected running moments of the gradient.

    Parameters
    ----------
    params : ndarray or iterable of ndarray
        Float arrays to optimize, updated in place by :meth:`~Optimizer.step`.
    lr : float or Schedule, default=1e-3
        Learning rate >= 0, or a schedule: update ``t`` (0-based) uses ``lr(t)``.
    betas : (float, float), default=(0.9, 0.999)
        Decay rates :math:`(\beta_1, \beta_2)` of the first and second moments, each
        in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected square root, >= 0.
    weight_decay : float, default=0.0
        L2 penalty :math:`\lambda`, coupled: added to the gradient, so it is rescaled
        by the adaptive denominator (:class:`AdamW` decouples it), >= 0.
    amsgrad : bool, default=False
        Use the running maximum of the second moment (AMSGrad).

    Notes
    -----
    Update :math:`t = 1, 2, \dots` with rate :math:`\eta_t` (``lr(t - 1)``), moments
    starting at zero:

    .. math::

        g_t &= \nabla f(\theta_{t-1}) + \lambda\,\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1)\,g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2)\,g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \text{ (amsgrad)}, \quad v_t
                    \text{ (otherwise)} \\
        \theta_t &= \theta_{t-1} - \frac{\eta_t}{1 - \beta_1^t}\,
                    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    As in ``torch.optim.Adam``: the counter is incremented before the bias
    corrections, :math:`\epsilon` is added to the *bias-corrected* root (Keras adds it
    to the raw one), and AMSGrad keeps the maximum of the raw :math:`v_t`. The first
    step is about :math:`\eta` per coordinate. State: ``step``, ``exp_avg``,
    ``exp_avg_sq``, ``max_exp_avg_sq`` (amsgrad).

    References
    ----------
    Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization. ICLR.

    Reddi, S. J., Kale, S. and Kumar, S. (2018). On the convergence of Adam and beyond.
    ICLR (AMSGrad).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import Adam
    >>> w, b = np.array([1.0, 1.0]), np.zeros(1)
    >>> opt = Adam([w, b], lr=0.1)
    >>> for _ in range(50):
    ...     opt.step([np.array([1.0, 25.0]) * w, b - 1.0])
    >>> print(f"w = ({w[0]:.4f}, {w[1]:.4f}), b = {b[0]:.4f}, next lr = {opt.lr}")
    w = (-0.0048, -0.0048), b = 1.0048, next lr = 0.1
    """

    def __init__(self, params: np.ndarray | Iterable[np.ndarray], lr: LR = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        f = type(self).__name__
        super().__init__(params, lr, betas=_check_betas(f, betas),
                         eps=V.nonnegative(f, "eps", eps),
                         weight_decay=V.nonnegative(f, "weight_decay", weight_decay),
                         amsgrad=V.boolean(f, "amsgrad", amsgrad))

    def _init_state(self, param):
        state = {"step": 0, "exp_avg": np.zeros_like(param),
                 "exp_avg_sq": np.zeros_like(param)}
        if self._hyperparams["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, lr):
        h = self._hyperparams
        beta1, beta2 = h["betas"]
        adam_update(param, grad, state, lr=lr, beta1=beta1, beta2=beta2, eps=h["eps"],
                    weight_decay=h["weight_decay"], amsgrad=h["amsgrad"],
                    decoupled_weight_decay=self._decoupled)


class AdamW(Adam):
    r"""Adam with decoupled weight decay.

    Parameters
    ----------
    params : ndarray or iterable of ndarray
        Float arrays to optimize, updated in place by :meth:`~Optimizer.step`.
    lr : float or Schedule, default=1e-3
        Learning rate >= 0, or a schedule: update ``t`` (0-based) uses ``lr(t)``.
    betas : (float, float), default=(0.9, 0.999)
        Decay rates :math:`(\beta_1, \beta_2)` of the moments, each in [0, 1).
    eps : float, default=1e-8
        Added to the bias-corrected square root, >= 0.
    weight_decay : float, default=1e-2
        Decoupled decay :math:`\lambda`, >= 0. Note the nonzero default.
    amsgrad : bool, default=False
        Use the running maximum of the second moment (AMSGrad).

    Notes
    -----
    Update :math:`t = 1, 2, \dots` with rate :math:`\eta_t` (``lr(t - 1)``) first
    shrinks the parameter, then takes the :class:`Adam` step (without the L2 term),
    using the gradient :math:`g_t = \nabla f(\theta_{t-1})` taken before the
    shrinking:

    .. math::

        \theta' &= (1 - \eta_t \lambda)\,\theta_{t-1} \\
        \theta_t &= \theta' - \frac{\eta_t}{1 - \beta_1^t}\,
                    \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon}

    As in ``torch.optim.AdamW``: the decay uses the current (scheduled) rate, so a
    schedule scales the decay too. Keras's AdamW defaults to ``weight_decay=0.004``.
    State as in :class:`Adam`.

    References
    ----------
    Loshchilov, I. and Hutter, F. (2019). Decoupled weight decay regularization. ICLR.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.optim import AdamW
    >>> w = np.array([1.0, 1.0])
    >>> opt = AdamW(w, lr=0.1, weight_decay=0.5)
    >>> opt.step(np.zeros(2))  # no gradient: only the decay acts
    >>> print(f"w = ({w[0]:.3f}, {w[1]:.3f})")
    w = (0.950, 0.950)
    """

    _decoupled: ClassVar[bool] = True

    def __init__(self, params: np.ndarray | Iterable[np.ndarray], lr: LR = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False) -> None:
        super().__init__(params, lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)
