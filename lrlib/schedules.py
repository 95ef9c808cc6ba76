r"""Pure, vectorized learning-rate schedules.

A schedule is a small frozen object that maps a step to a learning rate::

    >>> from lrlib import schedules as S
    >>> sched = S.cosine(lr=0.1, T_max=100)
    >>> print(f"{sched(0):.4f} {sched(50):.4f} {sched(100):.4f}")
    0.1000 0.0500 0.0000

Conventions shared by every schedule here:

* ``sched(t)`` is the rate used by update number ``t`` (0-based): the value of
  ``optimizer.param_groups[0]["lr"]`` just before the ``t``-th
  ``optimizer.step()`` when the matching :mod:`torch.optim.lr_scheduler` class
  is stepped after every ``optimizer.step()``.
* Arguments carry PyTorch's names (``step_size``, ``gamma``, ``milestones``,
  ``T_max``, ``eta_min``, ``T_0``, ``T_mult``, ``base_lr``, ``max_lr``, ...);
  ``lr`` is the starting rate.
* Pure: the same step always gives the same value and nothing is stored
  between calls. An ``int`` gives a ``float``; an array of ints gives a
  ``float64`` array of the same shape. Steps before 0 are treated as step 0;
  steps past the nominal end are defined for every schedule (see each
  docstring).
* Arguments are checked when the schedule is built; a bad one raises
  ``ValueError`` naming the argument, the rule and the value.
* Schedules compose with :func:`join` and :func:`warmup`.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lrlib import _validation as V

__all__ = [
    "Schedule",
    "constant",
    "cosine",
    "cosine_restarts",
    "cyclic",
    "exponential",
    "inverse_time",
    "join",
    "linear",
    "multistep",
    "one_cycle",
    "polynomial",
    "step",
    "warmup",
]


def _as_steps(step, where: str) -> tuple[np.ndarray, bool]:
    """Return (int64 array of steps clipped at 0, whether the input was a scalar)."""
    if isinstance(step, (bool, np.bool_)):
        V.fail(where, "step", "an int or an array of ints", step)
    if isinstance(step, numbers.Integral):
        # a 1-element array, not a 0-d one: numpy's scalar arithmetic can round
        # differently from its array arithmetic, and sched(t) must equal sched([t])[0]
        return np.array([max(int(step), 0)], dtype=np.int64), True
    arr = np.asarray(step)
    if arr.dtype.kind not in "iu":
        V.fail(where, "step", "an int or an array of ints", step)
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:  # clip only when needed: this path is hot
        arr = np.maximum(arr, 0)
    return arr, False


@dataclass(frozen=True)
class Schedule:
    """Base class: subclasses define ``_at`` on an int64 array of steps >= 0."""

    _name: ClassVar[str] = "schedule"

    def __call__(self, step):
        """Learning rate at ``step`` (an int or an array of ints)."""
        t, scalar = _as_steps(step, self._name)
        out = np.asarray(self._at(t), dtype=np.float64)
        if scalar:
            return float(out[0])
        return np.broadcast_to(out, t.shape).copy() if out.shape != t.shape else out

    def _at(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _set(self, **values) -> None:
        """Store checked, normalised values on the frozen instance."""
        for key, value in values.items():
            object.__setattr__(self, key, value)


def _lr(func: str, value, name: str = "lr") -> float:
    return V.nonnegative(func, name, value)


# ---------------------------------------------------------------------------
# Simple decays
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class constant(Schedule):
    r"""A constant rate, optionally scaled by ``factor`` for the first steps.

    Parameters
    ----------
    lr : float
        The rate, >= 0.
    factor : float, default=1.0
        Multiplier applied while ``step < total_iters``, >= 0.
    total_iters : int, default=0
        Number of steps that use ``factor * lr``.

    Notes
    -----
    .. math::

        \eta_t = \begin{cases} \text{factor}\cdot\eta_0 & t < T \\
                 \eta_0 & t \ge T \end{cases}

    With ``factor`` and ``total_iters`` this is ``torch.optim.lr_scheduler.ConstantLR``
    (whose defaults are ``factor=1/3, total_iters=5``; here the defaults give a plain
    constant). One difference: with ``total_iters=0`` torch's recursive update keeps
    ``factor * lr`` forever, whereas this schedule gives ``lr`` (torch's own closed form).

    Examples
    --------
    >>> from lrlib.schedules import constant
    >>> print(constant(lr=0.1)(1000))
    0.1
    >>> print([f"{v:.2f}" for v in constant(lr=0.1, factor=0.5, total_iters=2)([0, 1, 2])])
    ['0.05', '0.05', '0.10']
    """

    lr: float
    factor: float = 1.0
    total_iters: int = 0
    _name: ClassVar[str] = "constant"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr), factor=V.nonnegative(f, "factor", self.factor),
                  total_iters=V.integer(f, "total_iters", self.total_iters, low=0))

    def _at(self, t):
        if self.total_iters == 0:
            return np.full(t.shape, self.lr)
        return np.where(t < self.total_iters, self.lr * self.factor, self.lr)


@dataclass(frozen=True)
class step(Schedule):
    r"""Step decay: multiply the rate by ``gamma`` every ``step_size`` steps.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    step_size : int
        Steps between two drops, >= 1.
    gamma : float, default=0.1
        Factor applied at each drop, in (0, 1].

    Notes
    -----
    .. math:: \eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}

    The first drop happens at ``t = step_size``: steps ``0 .. step_size-1`` use
    ``lr``. Matches ``torch.optim.lr_scheduler.StepLR``; with ``step_size=1`` it is
    :func:`exponential`.

    Examples
    --------
    >>> from lrlib.schedules import step
    >>> sched = step(lr=0.1, step_size=3, gamma=0.5)
    >>> print([f"{v:.4f}" for v in sched(range(7))])
    ['0.1000', '0.1000', '0.1000', '0.0500', '0.0500', '0.0500', '0.0250']
    """

    lr: float
    step_size: int
    gamma: float = 0.1
    _name: ClassVar[str] = "step"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr), step_size=V.integer(f, "step_size", self.step_size, low=1),
                  gamma=V.real(f, "gamma", self.gamma, low=0.0, high=1.0, low_open=True))

    def _at(self, t):
        return self.lr * self.gamma ** (t // self.step_size)


@dataclass(frozen=True)
class multistep(Schedule):
    r"""Multiply the rate by ``gamma`` at each milestone.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    milestones : sequence of int
        Strictly increasing steps >= 0 at which the rate drops.
    gamma : float, default=0.1
        Factor applied at each milestone, in (0, 1].

    Notes
    -----
    .. math:: \eta_t = \eta_0\,\gamma^{\#\{m \in M : m \le t\}}

    The drop happens *at* the milestone (step ``m`` already uses the lower rate), as in
    ``torch.optim.lr_scheduler.MultiStepLR``. Keras's ``PiecewiseConstantDecay``
    changes one step later (at ``b + 1``). torch also accepts unsorted or repeated
    milestones (a repeat applies ``gamma`` twice); here they are rejected.

    Examples
    --------
    >>> from lrlib.schedules import multistep
    >>> sched = multistep(lr=1.0, milestones=[2, 4], gamma=0.1)
    >>> print([f"{v:.2f}" for v in sched(range(6))])
    ['1.00', '1.00', '0.10', '0.10', '0.01', '0.01']
    """

    lr: float
    milestones: tuple[int, ...]
    gamma: float = 0.1
    _name: ClassVar[str] = "multistep"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr), milestones=V.int_sequence(f, "milestones", self.milestones),
                  gamma=V.real(f, "gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        if len(self.milestones) == 0:
            V.fail(f, "milestones", "a non-empty sequence", self.milestones)

    def _at(self, t):
        drops = np.searchsorted(np.asarray(self.milestones), t, side="right")
        return self.lr * self.gamma ** drops


@dataclass(frozen=True)
class exponential(Schedule):
    r"""Exponential decay, as a factor per step or as :math:`e^{-kt}`.

    Give exactly one of ``gamma`` and ``k``.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    gamma : float, optional
        Factor per ``decay_steps`` steps, in (0, 1].
    k : float, optional
        Decay constant, >= 0: the same family with :math:`\gamma = e^{-k}`.
    decay_steps : int, default=1
        Number of steps over which the rate falls by one factor ``gamma``.
    staircase : bool, default=False
        If True, the exponent is :math:`\lfloor t / \mathrm{decay\_steps} \rfloor`, so the
        rate drops in steps.

    Notes
    -----
    .. math::

        \eta_t = \eta_0\,\gamma^{t / D} = \eta_0\,e^{-k t / D}

    With ``decay_steps=1`` this is ``torch.optim.lr_scheduler.ExponentialLR`` (one
    factor per ``scheduler.step()`` call). With ``decay_steps=D`` it is Keras's
    ``ExponentialDecay(lr, D, gamma, staircase)``; ``staircase=True`` equals
    :func:`step` with ``step_size=D``.

    Examples
    --------
    >>> import math
    >>> from lrlib.schedules import exponential
    >>> print(f"{exponential(lr=0.1, gamma=0.5)(3):.4f}")
    0.0125
    >>> print(f"{exponential(lr=0.1, k=math.log(2))(3):.4f}")
    0.0125
    """

    lr: float
    gamma: float | None = None
    k: float | None = None
    decay_steps: int = 1
    staircase: bool = False
    _name: ClassVar[str] = "exponential"

    def __post_init__(self):
        f = self._name
        if (self.gamma is None) == (self.k is None):
            V.fail(f, "gamma", "given if and only if k is not given (pass exactly one)",
                   self.gamma)
        self._set(lr=_lr(f, self.lr),
                  decay_steps=V.integer(f, "decay_steps", self.decay_steps, low=1),
                  staircase=V.boolean(f, "staircase", self.staircase))
        if self.gamma is not None:
            self._set(gamma=V.real(f, "gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        else:
            self._set(k=V.nonnegative(f, "k", self.k))

    def _at(self, t):
        e = t // self.decay_steps if self.staircase else t / self.decay_steps
        if self.gamma is not None:
            return self.lr * self.gamma ** e
        return self.lr * np.exp(-self.k * e)


@dataclass(frozen=True)
class inverse_time(Schedule):
    r"""1/t (time-based) decay.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    decay : float
        Decay rate, >= 0.
    decay_steps : int, default=1
        Steps per unit of "time".
    staircase : bool, default=False
        If True, time advances in whole units of ``decay_steps``.

    Notes
    -----
    .. math:: \eta_t = \frac{\eta_0}{1 + \text{decay}\cdot t / D}

    ``decay_steps=1`` is the rule behind the old Keras ``SGD(lr, decay=...)`` argument,
    which advanced once per *batch* (optimizer update), not per epoch. With
    ``decay_steps=D`` it is Keras's ``InverseTimeDecay(lr, D, decay, staircase)``.
    PyTorch has no class for it: ``LambdaLR(opt, lambda t: 1 / (1 + decay * t))``
    stepped per batch is the same schedule.

    Examples
    --------
    >>> from lrlib.schedules import inverse_time
    >>> sched = inverse_time(lr=0.01, decay=0.1 / 40)
    >>> print(f"{sched(4000):.5f}")
    0.00091
    """

    lr: float
    decay: float
    decay_steps: int = 1
    staircase: bool = False
    _name: ClassVar[str] = "inverse_time"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr), decay=V.nonnegative(f, "decay", self.decay),
                  decay_steps=V.integer(f, "decay_steps", self.decay_steps, low=1),
                  staircase=V.boolean(f, "staircase", self.staircase))

    def _at(self, t):
        e = t // self.decay_steps if self.staircase else t / self.decay_steps
        return self.lr / (1.0 + self.decay * e)


@dataclass(frozen=True)
class polynomial(Schedule):
    r"""Polynomial decay to zero over ``total_iters`` steps.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    total_iters : int, default=5
        Steps to reach zero, >= 1.
    power : float, default=1.0
        Exponent of the decay, > 0.

    Notes
    -----
    .. math:: \eta_t = \eta_0\,\bigl(1 - \min(t, T)/T\bigr)^{p}

    The rate is 0 from ``t = total_iters`` on. Matches
    ``torch.optim.lr_scheduler.PolynomialLR``. Keras's ``PolynomialDecay`` ends at
    ``end_learning_rate`` (default 1e-4) instead of 0.

    Examples
    --------
    >>> from lrlib.schedules import polynomial
    >>> print([f"{v:.3f}" for v in polynomial(lr=1.0, total_iters=4, power=2.0)(range(6))])
    ['1.000', '0.562', '0.250', '0.062', '0.000', '0.000']
    """

    lr: float
    total_iters: int = 5
    power: float = 1.0
    _name: ClassVar[str] = "polynomial"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr),
                  total_iters=V.integer(f, "total_iters", self.total_iters, low=1),
                  power=V.positive(f, "power", self.power))

    def _at(self, t):
        frac = np.minimum(t, self.total_iters) / self.total_iters
        return self.lr * (1.0 - frac) ** self.power


@dataclass(frozen=True)
class linear(Schedule):
    r"""Linear change of the rate's factor from ``start_factor`` to ``end_factor``.

    Parameters
    ----------
    lr : float
        Base rate, >= 0.
    start_factor : float
        Factor at step 0, >= 0 (default 1/3, as in torch).
    end_factor : float, default=1.0
        Factor from step ``total_iters`` on, >= 0.
    total_iters : int, default=5
        Steps of the ramp, >= 1.

    Notes
    -----
    .. math::

        \eta_t = \eta_0\Bigl(f_s + (f_e - f_s)\,\frac{\min(t, T)}{T}\Bigr)

    Matches ``torch.optim.lr_scheduler.LinearLR``. torch requires
    ``0 < start_factor <= 1`` and ``0 <= end_factor <= 1``; here any factors >= 0 are
    allowed, so a warm-up may start at exactly 0 (as Keras allows).

    Examples
    --------
    >>> from lrlib.schedules import linear
    >>> print([f"{v:.3f}" for v in linear(lr=0.3, start_factor=0.0, total_iters=3)(range(5))])
    ['0.000', '0.100', '0.200', '0.300', '0.300']
    """

    lr: float
    start_factor: float = 1.0 / 3.0
    end_factor: float = 1.0
    total_iters: int = 5
    _name: ClassVar[str] = "linear"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr),
                  start_factor=V.nonnegative(f, "start_factor", self.start_factor),
                  end_factor=V.nonnegative(f, "end_factor", self.end_factor),
                  total_iters=V.integer(f, "total_iters", self.total_iters, low=1))

    def _at(self, t):
        frac = np.minimum(t, self.total_iters) / self.total_iters
        return self.lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


# ---------------------------------------------------------------------------
# Cosine
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class cosine(Schedule):
    r"""Cosine annealing from ``lr`` to ``eta_min`` over ``T_max`` steps.

    Parameters
    ----------
    lr : float
        Starting rate, >= 0.
    T_max : int
        Steps from ``lr`` down to ``eta_min`` (half a cosine period), >= 1.
    eta_min : float, default=0.0
        Lowest rate, an absolute value (not a fraction of ``lr``), >= 0.
    clamp : bool, default=False
        What happens after ``T_max``. False (the default) follows PyTorch: the cosine
        goes on, so the rate climbs back to ``lr`` at ``2 * T_max`` (period
        ``2 * T_max``). True holds ``eta_min`` forever, as Keras's ``CosineDecay`` does.

    Notes
    -----
    .. math::

        \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
                 \bigl(1 + \cos(\pi t / T_{\max})\bigr)

    With ``clamp=False`` it matches ``torch.optim.lr_scheduler.CosineAnnealingLR`` at
    every step, past ``T_max`` included. Keras expresses the floor as a fraction
    ``alpha`` of the starting rate: ``eta_min = alpha * lr``.

    References
    ----------
    Loshchilov, I. and Hutter, F. (2017). SGDR: Stochastic gradient descent with warm
    restarts. ICLR.

    Examples
    --------
    >>> from lrlib.schedules import cosine
    >>> sched = cosine(lr=1.0, T_max=4)
    >>> print([f"{v:.3f}" for v in sched(range(7))])
    ['1.000', '0.854', '0.500', '0.146', '0.000', '0.146', '0.500']
    >>> print([f"{v:.3f}" for v in cosine(lr=1.0, T_max=4, clamp=True)([4, 5, 6])])
    ['0.000', '0.000', '0.000']
    """

    lr: float
    T_max: int
    eta_min: float = 0.0
    clamp: bool = False
    _name: ClassVar[str] = "cosine"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr), T_max=V.integer(f, "T_max", self.T_max, low=1),
                  eta_min=V.nonnegative(f, "eta_min", self.eta_min),
                  clamp=V.boolean(f, "clamp", self.clamp))

    def _at(self, t):
        if self.clamp:
            t = np.minimum(t, self.T_max)
        return self.eta_min + (self.lr - self.eta_min) * (1 + np.cos(np.pi * t / self.T_max)) / 2


@dataclass(frozen=True)
class cosine_restarts(Schedule):
    r"""Cosine annealing with warm restarts (SGDR).

    Parameters
    ----------
    lr : float
        Rate at the start of every period, >= 0.
    T_0 : int
        Length of the first period, >= 1.
    T_mult : int, default=1
        Each period is ``T_mult`` times longer than the one before, >= 1.
    eta_min : float, default=0.0
        Lowest rate (absolute), >= 0.

    Notes
    -----
    Period :math:`i` lasts :math:`T_i = T_0 T_{\text{mult}}^i` steps. With
    :math:`T_{cur}` the steps since the last restart,

    .. math::

        \eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})
                 \bigl(1 + \cos(\pi T_{cur} / T_i)\bigr)

    Matches ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` stepped with
    ``scheduler.step()``. The period is found with exact integer arithmetic, so the
    restart boundaries are never misplaced (torch's ``step(epoch)`` path, which its
    docstring suggests for fractional epochs and which uses a floating-point logarithm,
    misplaces some, e.g. ``T_0=1, T_mult=3`` at step 121). ``eta_min`` is approached but
    never used exactly: at the end of a period the rate jumps back to ``lr``. Keras's
    ``CosineDecayRestarts`` differs (float ``t_mul``, default 2; an amplitude decay
    ``m_mul``; ``alpha`` relative).

    References
    ----------
    Loshchilov, I. and Hutter, F. (2017). SGDR: Stochastic gradient descent with warm
    restarts. ICLR.

    Examples
    --------
    >>> from lrlib.schedules import cosine_restarts
    >>> sched = cosine_restarts(lr=1.0, T_0=2, T_mult=2)
    >>> print([f"{v:.2f}" for v in sched(range(8))])
    ['1.00', '0.50', '1.00', '0.85', '0.50', '0.15', '1.00', '0.96']
    """

    lr: float
    T_0: int
    T_mult: int = 1
    eta_min: float = 0.0
    _name: ClassVar[str] = "cosine_restarts"

    def __post_init__(self):
        f = self._name
        self._set(lr=_lr(f, self.lr), T_0=V.integer(f, "T_0", self.T_0, low=1),
                  T_mult=V.integer(f, "T_mult", self.T_mult, low=1),
                  eta_min=V.nonnegative(f, "eta_min", self.eta_min))

    def position(self, step):
        """Return ``(T_cur, T_i)``: steps since the last restart and the period length."""
        t, scalar = _as_steps(step, self._name)
        t_cur, t_i = self._position(t)
        if scalar:
            return int(t_cur[0]), int(t_i[0])
        return t_cur, t_i

    def _position(self, t):
        T0, m = self.T_0, self.T_mult
        if m == 1:
            return t % T0, np.full_like(t, T0)
        # Period n starts at T0 (m^n - 1) / (m - 1). Estimate n with a logarithm, then
        # correct it with exact integer arithmetic where the estimate is off by one.
        n = np.floor(np.log1p(t * ((m - 1) / T0)) / math.log(m)).astype(np.int64)
        np.maximum(n, 0, out=n)
        length = T0 * m**n  # length of period n
        start = (length - T0) // (m - 1)
        late = start > t  # the estimate overshot: step back one period
        if late.any():
            length[late] //= m
            start[late] = (length[late] - T0) // (m - 1)
        early = start + length <= t  # the estimate undershot: step forward one period
        if early.any():
            start[early] += length[early]
            length[early] *= m
        return t - start, length

    def _at(self, t):
        t_cur, t_i = self._position(t)
        return self.eta_min + (self.lr - self.eta_min) * (1 + np.cos(np.pi * t_cur / t_i)) / 2


# ---------------------------------------------------------------------------
# Cyclic and one-cycle (with their momentum schedules)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class cyclic(Schedule):
    r"""Cyclical learning rate (CLR): triangular, triangular2 or exp_range.

    Parameters
    ----------
    base_lr : float
        Lower bound of the cycle, >= 0.
    max_lr : float
        Upper bound of the cycle, >= ``base_lr``.
    step_size_up : int, default=2000
        Steps from ``base_lr`` up to ``max_lr``, >= 1.
    step_size_down : int, optional
        Steps back down; defaults to ``step_size_up``. 0 gives a sawtooth.
    mode : {'triangular', 'triangular2', 'exp_range'}, default='triangular'
        ``triangular``: the same triangle every cycle. ``triangular2``: the amplitude
        halves every cycle. ``exp_range``: the amplitude is scaled by
        :math:`\gamma^t` at every *step* ``t`` (not every cycle).
    gamma : float, default=1.0
        Factor of ``exp_range``, in (0, 1].
    base_momentum, max_momentum : float, default=0.8, 0.9
        Bounds of the matching momentum cycle (see :meth:`momentum`), in [0, 1),
        ``base_momentum <= max_momentum``.

    Notes
    -----
    With :math:`S = s_{up} + s_{down}`, cycle :math:`c = \lfloor 1 + t/S \rfloor` and
    :math:`x = 1 + t/S - c \in [0, 1)`, the position in the triangle is
    :math:`h = x / r` for :math:`x \le r` and :math:`h = (x - 1)/(r - 1)` otherwise,
    with :math:`r = s_{up}/S`. Then

    .. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\,h\,\text{scale}

    where scale is 1, :math:`2^{-(c-1)}` or :math:`\gamma^t`. Matches
    ``torch.optim.lr_scheduler.CyclicLR`` (same floating-point expression). torch's
    custom ``scale_fn``/``scale_mode`` are not offered. Smith suggests a step size of
    2 to 10 epochs' worth of iterations.

    References
    ----------
    Smith, L. N. (2017). Cyclical learning rates for training neural networks. WACV.

    Examples
    --------
    >>> from lrlib.schedules import cyclic
    >>> sched = cyclic(base_lr=0.1, max_lr=0.5, step_size_up=2, mode="triangular2")
    >>> print([f"{v:.2f}" for v in sched(range(9))])
    ['0.10', '0.30', '0.50', '0.30', '0.10', '0.20', '0.30', '0.20', '0.10']
    >>> print([f"{v:.3f}" for v in sched.momentum(range(3))])
    ['0.900', '0.850', '0.800']
    """

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    base_momentum: float = 0.8
    max_momentum: float = 0.9
    _name: ClassVar[str] = "cyclic"

    def __post_init__(self):
        f = self._name
        base_lr = V.nonnegative(f, "base_lr", self.base_lr)
        max_lr = V.real(f, "max_lr", self.max_lr, low=base_lr)  # also rejects NaN
        down = self.step_size_up if self.step_size_down is None else self.step_size_down
        self._set(base_lr=base_lr, max_lr=max_lr,
                  step_size_up=V.integer(f, "step_size_up", self.step_size_up, low=1),
                  step_size_down=V.integer(f, "step_size_down", down, low=0),
                  mode=V.one_of(f, "mode", self.mode, ("triangular", "triangular2", "exp_range")),
                  gamma=V.real(f, "gamma", self.gamma, low=0.0, high=1.0, low_open=True))
        base_m = V.real(f, "base_momentum", self.base_momentum, low=0.0, high=1.0,
                        high_open=True)
        max_m = V.real(f, "max_momentum", self.max_momentum, low=base_m, high=1.0,
                       high_open=True)
        self._set(base_momentum=base_m, max_momentum=max_m)

    def _height_and_scale(self, t):
        total = float(self.step_size_up) + float(self.step_size_down)
        ratio = float(self.step_size_up) / total
        cycle = np.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
        if self.mode == "triangular":
            scale = 1.0
        elif self.mode == "triangular2":
            scale = 0.5 ** (cycle - 1)  # = 1 / 2**(cycle - 1) exactly, without overflow
        else:
            scale = self.gamma ** t
        return h, scale

    def _at(self, t):
        h, scale = self._height_and_scale(t)
        return self.base_lr + (self.max_lr - self.base_lr) * h * scale

    def momentum(self, step):
        r"""The momentum cycle, opposite to the rate: ``max_momentum`` at ``base_lr``.

        .. math:: m_t = m_{max} - (m_{max} - m_{base})\,h\,\text{scale}

        This is what ``CyclicLR(cycle_momentum=True)`` writes into the optimizer's
        ``momentum`` (or Adam's ``beta1``). Pass it to
        :class:`lrlib.torch_bridge.ScheduleLR` as ``momentum=sched.momentum``.
        """
        t, scalar = _as_steps(step, self._name)
        h, scale = self._height_and_scale(t)
        out = self.max_momentum - (self.max_momentum - self.base_momentum) * h * scale
        out = np.broadcast_to(np.asarray(out, dtype=np.float64), t.shape)
        return float(out[0]) if scalar else out.copy()


@dataclass(frozen=True)
class one_cycle(Schedule):
    r"""The one-cycle policy: warm up to ``max_lr``, then anneal far below the start.

    Parameters
    ----------
    max_lr : float
        Peak rate, >= 0.
    total_steps : int
        Length of the cycle in steps, >= 2.
    pct_start : float, default=0.3
        Fraction of the steps spent rising, in (0, 1).
    anneal_strategy : {'cos', 'linear'}, default='cos'
        Shape of every phase.
    div_factor : float, default=25.0
        Starting rate is ``max_lr / div_factor``; > 0.
    final_div_factor : float, default=1e4
        Final rate is ``max_lr / div_factor / final_div_factor`` (relative to the
        *starting* rate, not to ``max_lr``); > 0.
    three_phase : bool, default=False
        If True: rise, fall back to the starting rate symmetrically, then anneal to the
        final rate (the shape of Smith's original policy).
    base_momentum, max_momentum : float, default=0.85, 0.95
        Bounds of the momentum cycle (see :meth:`momentum`), in [0, 1),
        ``base_momentum <= max_momentum``.

    Notes
    -----
    The phases end at steps :math:`p N - 1` and :math:`N - 1` (two-phase) or
    :math:`p N - 1`, :math:`2 p N - 2` and :math:`N - 1` (three-phase); the ``-1`` is
    PyTorch's. Within a phase from step :math:`a` to :math:`b`, with
    :math:`u = (t - a)/(b - a)`, cos annealing from :math:`\eta_s` to :math:`\eta_e`
    gives :math:`\eta_e + \tfrac12(\eta_s - \eta_e)(1 + \cos \pi u)` and linear gives
    :math:`\eta_s + (\eta_e - \eta_s) u`.

    Matches ``torch.optim.lr_scheduler.OneCycleLR`` for steps ``0 .. total_steps-1``.
    torch raises after ``total_steps`` steps; here later steps hold the final rate.
    The arguments must give every phase at least one step
    (``pct_start * total_steps > 1``; three-phase also needs the second phase to end
    before the last step); torch raises ``ZeroDivisionError`` or silently misbehaves
    there. Defaults are PyTorch's. fastai's ``fit_one_cycle`` uses ``pct_start=0.25``,
    ``div=25`` and ``div_final=1e5``, but divides the *peak* by ``div_final``; in these
    arguments that is ``div_factor=25, final_div_factor=4000``, with momenta 0.85-0.95.

    References
    ----------
    Smith, L. N. and Topin, N. (2019). Super-convergence: very fast training of neural
    networks using large learning rates. SPIE.

    Examples
    --------
    >>> from lrlib.schedules import one_cycle
    >>> sched = one_cycle(max_lr=1.0, total_steps=10, pct_start=0.3, anneal_strategy="linear")
    >>> print([f"{v:.3f}" for v in sched([0, 1, 2, 9])])
    ['0.040', '0.520', '1.000', '0.000']
    >>> print([f"{v:.3f}" for v in sched.momentum([0, 1, 2, 9])])
    ['0.950', '0.900', '0.850', '0.950']
    """

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    _name: ClassVar[str] = "one_cycle"

    def __post_init__(self):
        f = self._name
        total = V.integer(f, "total_steps", self.total_steps, low=2)
        pct = V.real(f, "pct_start", self.pct_start, low=0.0, high=1.0, low_open=True,
                     high_open=True)
        self._set(max_lr=_lr(f, self.max_lr, "max_lr"), total_steps=total, pct_start=pct,
                  anneal_strategy=V.one_of(f, "anneal_strategy", self.anneal_strategy,
                                           ("cos", "linear")),
                  div_factor=V.positive(f, "div_factor", self.div_factor),
                  final_div_factor=V.positive(f, "final_div_factor", self.final_div_factor),
                  three_phase=V.boolean(f, "three_phase", self.three_phase))
        base_m = V.real(f, "base_momentum", self.base_momentum, low=0.0, high=1.0,
                        high_open=True)
        max_m = V.real(f, "max_momentum", self.max_momentum, low=base_m, high=1.0,
                       high_open=True)
        self._set(base_momentum=base_m, max_momentum=max_m)
        ends = [end for end, *_ in self._phases()]
        if not ends[0] > 0:
            V.fail(f, "pct_start", f"> 1/total_steps = {1 / total:.4g} so that the rise "
                   "lasts at least one step", self.pct_start)
        if any(not b > a for a, b in itertools.pairwise(ends)):
            V.fail(f, "pct_start", f"< (total_steps + 1) / (2 total_steps) = "
                   f"{(total + 1) / (2 * total):.4g} with three_phase=True so that the "
                   "phases do not overlap", self.pct_start)

    @property
    def initial_lr(self) -> float:
        """The starting rate, ``max_lr / div_factor``."""
        return self.max_lr / self.div_factor

    @property
    def min_lr(self) -> float:
        """The final rate, ``initial_lr / final_div_factor``."""
        return self.initial_lr / self.final_div_factor

    def _phases(self):
        """(end step, start lr, end lr, start momentum, end momentum) of each phase."""
        n, p = self.total_steps, self.pct_start
        lo, hi = self.base_momentum, self.max_momentum
        init, peak, final = self.initial_lr, self.max_lr, self.min_lr
        if self.three_phase:
            return [(float(p * n) - 1, init, peak, hi, lo),
                    (float(2 * p * n) - 2, peak, init, lo, hi),
                    (n - 1, init, final, hi, hi)]
        return [(float(p * n) - 1, init, peak, hi, lo), (n - 1, peak, final, lo, hi)]

    def _anneal(self, start, end, u):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (np.cos(np.pi * u) + 1)
        return (end - start) * u + start

    def _evaluate(self, t, momentum: bool):
        t = np.minimum(t, self.total_steps - 1)
        phases = self._phases()
        out = np.zeros(t.shape, dtype=np.float64)
        done = np.zeros(t.shape, dtype=bool)
        begin = 0.0
        for i, (end, lr_a, lr_b, m_a, m_b) in enumerate(phases):
            here = ~done if i == len(phases) - 1 else (~done & (t <= end))
            u = (t - begin) / (end - begin)
            value = self._anneal(m_a, m_b, u) if momentum else self._anneal(lr_a, lr_b, u)
            out = np.where(here, value, out)
            done |= here
            begin = end
        return out

    def _at(self, t):
        return self._evaluate(t, momentum=False)

    def momentum(self, step):
        """The momentum cycle: ``max_momentum`` down to ``base_momentum`` and back.

        This is what ``OneCycleLR(cycle_momentum=True)`` writes into the optimizer's
        ``momentum`` (or Adam's ``beta1``). Pass it to
        :class:`lrlib.torch_bridge.ScheduleLR` as ``momentum=sched.momentum``.
        """
        t, scalar = _as_steps(step, self._name)
        out = self._evaluate(t, momentum=True)
        return float(out[0]) if scalar else out


# ---------------------------------------------------------------------------
# Composition
# ---------------------------------------------------------------------------


def _check_schedule(func: str, name: str, value) -> Schedule:
    if not isinstance(value, Schedule):
        V.fail(func, name, "an lrlib schedule", value)
    return value


@dataclass(frozen=True)
class join(Schedule):
    r"""Run schedules one after another, switching at the boundaries.

    Parameters
    ----------
    schedules : sequence of Schedule
        The pieces, at least one.
    boundaries : sequence of int
        ``len(schedules) - 1`` strictly increasing steps >= 1 at which the next piece
        starts.

    Notes
    -----
    .. math:: \eta_t = S_k(t - b_k), \quad k = \#\{i : b_i \le t\},\ b_0 = 0

    Each piece sees its own step count, restarting at 0 at its boundary, so the rate
    can jump there. This is ``torch.optim.lr_scheduler.SequentialLR`` with
    ``milestones=boundaries`` (and optax's ``join_schedules``).

    Examples
    --------
    >>> from lrlib.schedules import constant, join
    >>> sched = join([constant(lr=0.1), constant(lr=0.01)], boundaries=[3])
    >>> print([f"{v:.2f}" for v in sched(range(5))])
    ['0.10', '0.10', '0.10', '0.01', '0.01']
    """

    schedules: tuple[Schedule, ...]
    boundaries: tuple[int, ...]
    _name: ClassVar[str] = "join"

    def __post_init__(self):
        f = self._name
        if isinstance(self.schedules, Schedule) or not hasattr(self.schedules, "__len__"):
            V.fail(f, "schedules", "a non-empty sequence of lrlib schedules", self.schedules)
        pieces = tuple(_check_schedule(f, "schedules", s) for s in self.schedules)
        if not pieces:
            V.fail(f, "schedules", "a non-empty sequence of lrlib schedules", self.schedules)
        bounds = V.int_sequence(f, "boundaries", self.boundaries, low=1)
        if len(bounds) != len(pieces) - 1:
            V.fail(f, "boundaries", f"of length len(schedules) - 1 = {len(pieces) - 1}",
                   self.boundaries)
        self._set(schedules=pieces, boundaries=bounds)

    def _at(self, t):
        out = self.schedules[0]._at(t)
        for boundary, piece in zip(self.boundaries, self.schedules[1:], strict=True):
            out = np.where(t < boundary, out, piece._at(np.maximum(t - boundary, 0)))
        return out


@dataclass(frozen=True)
class warmup(Schedule):
    r"""Put a warm-up of ``warmup_steps`` steps in front of any schedule.

    Parameters
    ----------
    schedule : Schedule
        The schedule to run after the warm-up; it starts at its own step 0.
    warmup_steps : int
        Length of the warm-up, >= 1.
    start_factor : float, default=0.0
        The warm-up starts at ``start_factor * schedule(0)``, in [0, 1] (in (0, 1] for
        ``mode='exponential'``).
    mode : {'linear', 'exponential', 'constant'}, default='linear'
        ``linear``: a straight ramp to ``schedule(0)``. ``exponential``: a geometric
        ramp (equal ratios per step). ``constant``: hold ``start_factor * schedule(0)``
        (the "constant warm-up" of He et al. and Goyal et al.).

    Notes
    -----
    With :math:`W` warm-up steps, :math:`f` the start factor and :math:`\eta^* = S(0)`,

    .. math::

        \eta_t = \begin{cases}
            \eta^*\bigl(f + (1 - f)\,t/W\bigr) & \text{linear} \\
            \eta^*\,f^{\,1 - t/W} & \text{exponential} \\
            \eta^* f & \text{constant}
        \end{cases} \quad (t < W), \qquad \eta_t = S(t - W) \quad (t \ge W).

    A linear warm-up equals ``SequentialLR([LinearLR(start_factor=f, total_iters=W),
    S], milestones=[W])`` in PyTorch (where ``f`` must be > 0) and a constant one
    ``ConstantLR(factor=f, total_iters=W)`` in place of ``LinearLR``.

    References
    ----------
    Goyal, P. et al. (2017). Accurate, large minibatch SGD: training ImageNet in 1 hour.

    Examples
    --------
    >>> from lrlib.schedules import cosine, warmup
    >>> sched = warmup(cosine(lr=0.1, T_max=10), warmup_steps=4)
    >>> print([f"{v:.3f}" for v in sched(range(6))])
    ['0.000', '0.025', '0.050', '0.075', '0.100', '0.098']
    """

    schedule: Schedule
    warmup_steps: int
    start_factor: float = 0.0
    mode: str = "linear"
    _name: ClassVar[str] = "warmup"

    def __post_init__(self):
        f = self._name
        _check_schedule(f, "schedule", self.schedule)
        mode = V.one_of(f, "mode", self.mode, ("linear", "exponential", "constant"))
        if mode == "exponential":
            start = V.real(f, "start_factor", self.start_factor, low=0.0, high=1.0,
                           low_open=True)
        else:
            start = V.real(f, "start_factor", self.start_factor, low=0.0, high=1.0)
        self._set(mode=mode, start_factor=start,
                  warmup_steps=V.integer(f, "warmup_steps", self.warmup_steps, low=1))

    def _at(self, t):
        target = float(np.asarray(self.schedule._at(np.zeros(1, dtype=np.int64)))[0])
        W, f = self.warmup_steps, self.start_factor
        frac = np.minimum(t, W) / W
        if self.mode == "linear":
            ramp = target * (f + (1.0 - f) * frac)
        elif self.mode == "exponential":
            ramp = target * f ** (1.0 - frac)
        else:
            ramp = np.full(t.shape, target * f)
        return np.where(t < W, ramp, self.schedule._at(np.maximum(t - W, 0)))
