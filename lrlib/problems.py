r"""The hand-sized standard experiments: house prices, a noisy line, a ravine, Rosenbrock.

Everything here is plain numpy, small enough to check by hand:

* :func:`house_prices` -- four houses whose price is exactly ``0.2 * size + 50``;
  with :func:`mse_cost`, :func:`mse_grad` and :func:`mse_hessian` it is the
  linear regression of chapter 1, where raw sizes make gradient descent diverge
  and :func:`standardize`-d sizes make it converge.
* :func:`noisy_line` -- ``y = 3x + 2 + noise``, 100 points from a seeded generator.
* :class:`Quadratic1D`, :class:`Ravine`, :class:`Rosenbrock` and
  :class:`LinearRegression` -- objects with ``loss``, ``grad`` and ``minimum``,
  for optimizer trajectories (:func:`trajectory`) and contour plots
  (:func:`lrlib.plotting.plot_trajectories`).

``loss`` and ``grad`` of the 2-D problems take a point of shape ``(2,)`` or a whole
batch of shape ``(..., 2)``: a single point gives a ``float`` loss, a batch gives an
array of shape ``(...)``, which is what a contour plot needs.

>>> from lrlib.problems import Ravine
>>> ravine = Ravine(mu=1.0, L=25.0)
>>> print(f"{ravine.loss([1.0, 1.0]):.1f} {ravine.max_stable_lr:.2f}")
13.0 0.08
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lrlib import _validation as V

__all__ = [
    "LinearRegression",
    "Quadratic1D",
    "Ravine",
    "Rosenbrock",
    "house_prices",
    "mse_cost",
    "mse_grad",
    "mse_hessian",
    "noisy_line",
    "standardize",
    "trajectory",
]


# ---------------------------------------------------------------------------
# Argument helpers
# ---------------------------------------------------------------------------


def _data_vector(func: str, name: str, value: Any) -> np.ndarray:
    """A non-empty, finite, 1-D float64 array (read-only copy)."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        V.fail(func, name, "a non-empty 1-D array of finite numbers", value)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        V.fail(func, name, "a non-empty 1-D array of finite numbers", value)
    arr.setflags(write=False)
    return arr


def _xy(func: str, x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _data_vector(func, "x", x)
    y = _data_vector(func, "y", y)
    V.check(y.shape == x.shape, func, "y", f"the same length as x ({x.size})", y)
    return x, y


def _points(func: str, value: Any, dim: int = 2) -> np.ndarray:
    """A float64 array whose last axis has length ``dim`` (non-finite entries allowed)."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        V.fail(func, "x", f"an array of shape ({dim},) or (..., {dim})", value)
    if arr.ndim == 0 or arr.shape[-1] != dim:
        V.fail(func, "x", f"an array of shape ({dim},) or (..., {dim})", value)
    return arr


def _out(value: np.ndarray) -> float | np.ndarray:
    """A 0-d result as a ``float``, anything else as an array."""
    return float(value) if np.ndim(value) == 0 else value


# ---------------------------------------------------------------------------
# Data sets
# ---------------------------------------------------------------------------


def house_prices() -> tuple[np.ndarray, np.ndarray]:
    r"""Return the four-house data set: sizes in square feet and prices in thousands of dollars.

    Returns
    -------
    x : ndarray of shape (4,)
        Sizes ``[1000, 1500, 2000, 2500]`` (sq ft), float64.
    y : ndarray of shape (4,)
        Prices ``[250, 350, 450, 550]`` (k$), float64.

    Notes
    -----
    The prices lie exactly on the line :math:`y = 0.2\,x + 50`, so the least-squares
    fit is :math:`(w, b) = (0.2, 50)` with zero cost. The sizes are large numbers, so
    the cost is very curved along :math:`w` (see :func:`mse_hessian`): gradient descent
    on raw sizes needs a rate below about :math:`6 \times 10^{-7}`, while on
    :func:`standardize`-d sizes any rate below 2 converges.

    Examples
    --------
    >>> from lrlib.problems import house_prices
    >>> x, y = house_prices()
    >>> print(f"{x[0]:.0f} sq ft costs {y[0]:.0f} k$")
    1000 sq ft costs 250 k$
    """
    x = np.array([1000.0, 1500.0, 2000.0, 2500.0])
    y = np.array([250.0, 350.0, 450.0, 550.0])
    return x, y


def noisy_line(n: int = 100, *, noise: float = 0.5,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""Return ``n`` noisy points of the line ``y = 3x + 2``.

    Parameters
    ----------
    n : int, default=100
        Number of points, >= 1.
    noise : float, default=0.5
        Standard deviation of the Gaussian noise, >= 0.
    seed : int, default=0
        Seed of the ``numpy.random.default_rng`` generator, >= 0. The global numpy
        random state is neither used nor changed.

    Returns
    -------
    x : ndarray of shape (n,)
        Inputs drawn uniformly from :math:`[0, 1)`, float64.
    y : ndarray of shape (n,)
        Targets, float64.

    Notes
    -----
    .. math:: x_i \sim \mathcal U(0, 1), \qquad
              y_i = 3 x_i + 2 + \varepsilon_i, \qquad
              \varepsilon_i \sim \mathcal N(0, \sigma^2), \ \sigma = 0.5

    ``x`` is drawn first, then the noise, from ``np.random.default_rng(seed)``.
    Because :math:`x` is not centred, :math:`w` and :math:`b` are coupled in the
    cost (its Hessian has condition number about 19), which makes a mild ravine.

    Examples
    --------
    >>> from lrlib.problems import noisy_line
    >>> x, y = noisy_line(seed=0)
    >>> print(f"{x.shape} {x.min() >= 0} {x.max() < 1}")
    (100,) True True
    """
    f = "noisy_line"
    n = V.integer(f, "n", n, low=1)
    noise = V.nonnegative(f, "noise", noise)
    seed = V.integer(f, "seed", seed, low=0)
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=n)
    y = 3.0 * x + 2.0 + rng.normal(0.0, noise, size=n)
    return x, y


def standardize(x: Any) -> tuple[np.ndarray, float, float]:
    r"""Shift and scale ``x`` to mean 0 and standard deviation 1.

    Parameters
    ----------
    x : array_like of shape (m,)
        Finite values, not all equal.

    Returns
    -------
    z : ndarray of shape (m,)
        The standardized values.
    mean : float
        The mean that was subtracted.
    std : float
        The (population, ``ddof=0``) standard deviation that was divided by.

    Notes
    -----
    .. math:: z_i = \frac{x_i - \bar x}{s}, \qquad
              s = \sqrt{\tfrac1m \textstyle\sum_i (x_i - \bar x)^2}

    A model fitted on ``z`` predicts for a new ``x`` from ``(x - mean) / std``.

    Examples
    --------
    >>> from lrlib.problems import house_prices, standardize
    >>> x, _ = house_prices()
    >>> z, mean, std = standardize(x)
    >>> print(f"mean={mean:.0f} std={std:.1f} z={[f'{v:.3f}' for v in z]}")
    mean=1750 std=559.0 z=['-1.342', '-0.447', '0.447', '1.342']
    """
    f = "standardize"
    x = _data_vector(f, "x", x)
    mean = float(x.mean())
    std = float(x.std())
    V.check(std > 0, f, "x", "an array whose values are not all equal", x)
    return (x - mean) / std, mean, std


# ---------------------------------------------------------------------------
# Linear regression with the mean-squared-error cost
# ---------------------------------------------------------------------------


def _residuals(w: Any, b: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = np.asarray(w, dtype=np.float64)[..., None]
    b = np.asarray(b, dtype=np.float64)[..., None]
    return w * x + b - y


def mse_cost(w: Any, b: Any, x: Any, y: Any) -> float | np.ndarray:
    r"""Mean-squared-error cost of the line ``w * x + b``, with the 1/(2m) convention.

    Parameters
    ----------
    w, b : float or array_like
        Slope and intercept. Arrays of one shape (for example a grid) give one cost
        per entry.
    x, y : array_like of shape (m,)
        Inputs and targets.

    Returns
    -------
    float or ndarray
        :math:`J(w, b)`; a ``float`` when ``w`` and ``b`` are scalars.

    Notes
    -----
    .. math:: J(w, b) = \frac{1}{2m} \sum_{i=1}^{m} (w x_i + b - y_i)^2

    The factor :math:`\tfrac12` cancels the 2 of the derivative (:func:`mse_grad`);
    PyTorch's ``MSELoss`` has no :math:`\tfrac12`, so its values and gradients are
    twice these.

    Examples
    --------
    >>> from lrlib.problems import house_prices, mse_cost
    >>> x, y = house_prices()
    >>> print(f"{mse_cost(0.0, 0.0, x, y):.1f} {mse_cost(0.2, 50.0, x, y):.1f}")
    86250.0 0.0
    """
    x, y = _xy("mse_cost", x, y)
    r = _residuals(w, b, x, y)
    return _out(0.5 * np.mean(r * r, axis=-1))


def mse_grad(w: Any, b: Any, x: Any, y: Any) -> tuple[Any, Any]:
    r"""Gradient of :func:`mse_cost` with respect to ``w`` and ``b``.

    Parameters
    ----------
    w, b : float or array_like
        Slope and intercept (arrays of one shape give one gradient per entry).
    x, y : array_like of shape (m,)
        Inputs and targets.

    Returns
    -------
    dw, db : float or ndarray
        :math:`\partial J / \partial w` and :math:`\partial J / \partial b`.

    Notes
    -----
    .. math:: \frac{\partial J}{\partial w} = \frac1m \sum_i (w x_i + b - y_i)\,x_i,
              \qquad
              \frac{\partial J}{\partial b} = \frac1m \sum_i (w x_i + b - y_i)

    Examples
    --------
    >>> from lrlib.problems import house_prices, mse_grad
    >>> x, y = house_prices()
    >>> dw, db = mse_grad(0.0, 0.0, x, y)
    >>> print(f"dJ/dw={dw:.0f} dJ/db={db:.0f}")
    dJ/dw=-762500 dJ/db=-400
    """
    x, y = _xy("mse_grad", x, y)
    r = _residuals(w, b, x, y)
    return _out(np.mean(r * x, axis=-1)), _out(np.mean(r, axis=-1))


def mse_hessian(x: Any) -> np.ndarray:
    r"""Hessian of :func:`mse_cost` in ``(w, b)``: a constant 2x2 matrix.

    Parameters
    ----------
    x : array_like of shape (m,)
        Inputs (the targets do not enter the Hessian).

    Returns
    -------
    ndarray of shape (2, 2)

    Notes
    -----
    .. math:: H = \begin{pmatrix} \overline{x^2} & \bar x \\ \bar x & 1 \end{pmatrix},
              \qquad \overline{x^2} = \tfrac1m \textstyle\sum_i x_i^2

    The cost is quadratic, so gradient descent with a fixed rate :math:`\eta`
    converges from every start if and only if :math:`\eta < 2 / \lambda_{\max}(H)`.
    For the raw house sizes :math:`\lambda_{\max} \approx \overline{x^2} = 3.375
    \times 10^6`; for standardized sizes :math:`H` is the identity.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.problems import house_prices, mse_hessian
    >>> x, _ = house_prices()
    >>> lam_max = np.linalg.eigvalsh(mse_hessian(x))[-1]
    >>> print(f"lambda_max={lam_max:.4g}, largest stable rate={2 / lam_max:.3g}")
    lambda_max=3.375e+06, largest stable rate=5.93e-07
    """
    x = _data_vector("mse_hessian", "x", x)
    mean = float(x.mean())
    return np.array([[float(np.mean(x * x)), mean], [mean, 1.0]])


@dataclass(frozen=True, eq=False)
class LinearRegression:
    r"""The cost :math:`J(w, b)` of fitting a line, as a 2-D problem in :math:`\theta = (w, b)`.

    Parameters
    ----------
    x, y : array_like of shape (m,)
        Inputs and targets (stored as read-only float64 copies).

    Attributes
    ----------
    minimum : ndarray of shape (2,)
        The least-squares solution :math:`(w^*, b^*)`.
    curvatures : ndarray of shape (2,)
        Eigenvalues of the Hessian, ascending.
    lipschitz : float
        The largest eigenvalue :math:`\lambda_{\max}`: the gradient's Lipschitz constant.
    max_stable_lr : float
        :math:`2 / \lambda_{\max}`, the largest rate for which gradient descent converges.

    Notes
    -----
    ``loss(theta)`` is :func:`mse_cost` (the :math:`\tfrac{1}{2m}` convention) with
    ``w, b = theta[..., 0], theta[..., 1]``; ``grad`` and ``hessian`` follow.

    Examples
    --------
    >>> from lrlib.problems import LinearRegression, house_prices, standardize
    >>> x, y = house_prices()
    >>> raw = LinearRegression(x, y)
    >>> scaled = LinearRegression(standardize(x)[0], y)
    >>> print(f"raw: {raw.max_stable_lr:.3g}, standardized: {scaled.max_stable_lr:.3g}")
    raw: 5.93e-07, standardized: 2
    >>> print([f"{v:.1f}" for v in raw.minimum])
    ['0.2', '50.0']
    """

    x: np.ndarray
    y: np.ndarray
    axis_labels: ClassVar[tuple[str, str]] = ("$w$", "$b$")

    def __post_init__(self):
        x, y = _xy("LinearRegression", self.x, self.y)
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        V.check(x.size >= 2 and float(x.std()) > 0, "LinearRegression", "x",
                "at least two distinct values (so that the minimum is unique)", self.x)

    def __repr__(self) -> str:
        return f"LinearRegression(m={self.x.size})"

    def loss(self, theta: Any) -> float | np.ndarray:
        """Cost at ``theta = (w, b)`` (shape ``(2,)``) or at a batch of shape ``(..., 2)``."""
        t = _points("LinearRegression.loss", theta)
        r = _residuals(t[..., 0], t[..., 1], self.x, self.y)
        return _out(0.5 * np.mean(r * r, axis=-1))

    def grad(self, theta: Any) -> np.ndarray:
        """Gradient ``(dJ/dw, dJ/db)`` at ``theta``, shape like ``theta``."""
        t = _points("LinearRegression.grad", theta)
        r = _residuals(t[..., 0], t[..., 1], self.x, self.y)
        return np.stack([np.mean(r * self.x, axis=-1), np.mean(r, axis=-1)], axis=-1)

    def hessian(self) -> np.ndarray:
        """The constant 2x2 Hessian (:func:`mse_hessian`)."""
        return mse_hessian(self.x)

    @property
    def minimum(self) -> np.ndarray:
        """The least-squares ``(w, b)``."""
        rhs = np.array([np.mean(self.x * self.y), np.mean(self.y)])
        return np.linalg.solve(self.hessian(), rhs)

    @property
    def curvatures(self) -> np.ndarray:
        """Eigenvalues of the Hessian, ascending."""
        return np.linalg.eigvalsh(self.hessian())

    @property
    def lipschitz(self) -> float:
        """The largest Hessian eigenvalue."""
        return float(self.curvatures[-1])

    @property
    def max_stable_lr(self) -> float:
        """``2 / lipschitz``."""
        return 2.0 / self.lipschitz


# ---------------------------------------------------------------------------
# Test functions for optimizers
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Quadratic1D:
    r"""The one-dimensional quadratic :math:`f(x) = \tfrac12 L x^2`.

    Parameters
    ----------
    L : float, default=1.0
        Curvature, > 0.

    Notes
    -----
    Gradient descent gives :math:`x_{t+1} = x_t - \eta L x_t = (1 - \eta L)\,x_t`, so
    :math:`x_t = (1 - \eta L)^t x_0`: it converges monotonically for
    :math:`\eta < 1/L`, in one step at :math:`\eta = 1/L`, with oscillation for
    :math:`1/L < \eta < 2/L`, and diverges for :math:`\eta > 2/L`.

    Examples
    --------
    >>> from lrlib.problems import Quadratic1D
    >>> q = Quadratic1D(L=4.0)
    >>> x, lr = 1.0, 0.4
    >>> for _ in range(3):
    ...     x = x - lr * q.grad(x)
    ...     print(f"x={x:+.3f} f={q.loss(x):.4f}")
    x=-0.600 f=0.7200
    x=+0.360 f=0.2592
    x=-0.216 f=0.0933
    >>> print(f"{q.max_stable_lr}")
    0.5
    """

    L: float = 1.0
    minimum: ClassVar[float] = 0.0

    def __post_init__(self):
        object.__setattr__(self, "L", V.positive("Quadratic1D", "L", self.L))

    def loss(self, x: Any) -> float | np.ndarray:
        """:math:`\\tfrac12 L x^2`, elementwise; a float for a scalar ``x``."""
        x = np.asarray(x, dtype=np.float64)
        return _out(0.5 * self.L * x * x)

    def grad(self, x: Any) -> float | np.ndarray:
        """:math:`L x`, elementwise; a float for a scalar ``x``."""
        return _out(self.L * np.asarray(x, dtype=np.float64))

    def hessian(self) -> np.ndarray:
        """The 1x1 Hessian ``[[L]]``."""
        return np.array([[self.L]])

    @property
    def curvatures(self) -> np.ndarray:
        """``[L]``."""
        return np.array([self.L])

    @property
    def lipschitz(self) -> float:
        """``L``."""
        return self.L

    @property
    def max_stable_lr(self) -> float:
        """``2 / L``."""
        return 2.0 / self.L


@dataclass(frozen=True)
class Ravine:
    r"""An ill-conditioned 2-D quadratic :math:`f(x) = \tfrac12 x^\top A x`.

    Parameters
    ----------
    mu : float, default=1.0
        The small curvature (along the floor of the ravine), > 0.
    L : float, default=25.0
        The large curvature (across the ravine), >= ``mu``.
    angle : float, default=0.0
        Rotation of the ravine in degrees, finite. At 0 the floor runs along
        :math:`x_1` (coordinate-aligned, the best case for per-parameter rates such as
        Adam's); at 45 it runs along the diagonal.

    Attributes
    ----------
    minimum : ndarray of shape (2,)
        The origin.
    curvatures : ndarray of shape (2,)
        ``[mu, L]``, the eigenvalues of :math:`A`.
    lipschitz : float
        ``L``.
    condition_number : float
        ``L / mu``.
    max_stable_lr : float
        ``2 / L``: gradient descent diverges above it.

    Notes
    -----
    .. math:: A = R(\alpha) \begin{pmatrix} \mu & 0 \\ 0 & L \end{pmatrix}
              R(\alpha)^\top, \qquad \nabla f(x) = A x

    where :math:`R(\alpha)` rotates by ``angle``. Gradient descent with rate
    :math:`\eta` multiplies the error along each eigenvector by :math:`1 - \eta\mu`
    and :math:`1 - \eta L`; the best fixed rate :math:`2/(\mu + L)` still shrinks it
    only by :math:`(\kappa - 1)/(\kappa + 1)` per step, :math:`\kappa = L/\mu`.

    Examples
    --------
    >>> from lrlib.problems import Ravine
    >>> ravine = Ravine(mu=1.0, L=25.0, angle=30.0)
    >>> print(f"kappa={ravine.condition_number:.0f} f(1,0)={ravine.loss([1.0, 0.0]):.2f}")
    kappa=25 f(1,0)=3.50
    >>> print([f"{g:.3f}" for g in ravine.grad([1.0, 0.0])])
    ['7.000', '-10.392']
    """

    mu: float = 1.0
    L: float = 25.0
    angle: float = 0.0
    axis_labels: ClassVar[tuple[str, str]] = ("$x_1$", "$x_2$")

    def __post_init__(self):
        f = "Ravine"
        mu = V.positive(f, "mu", self.mu)
        L = V.real(f, "L", self.L, low=mu)
        object.__setattr__(self, "mu", mu)
        object.__setattr__(self, "L", L)
        object.__setattr__(self, "angle", V.real(f, "angle", self.angle))

    def hessian(self) -> np.ndarray:
        """The matrix :math:`A` (a fresh copy)."""
        a = math.radians(self.angle)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        return rot @ np.diag([self.mu, self.L]) @ rot.T

    def loss(self, x: Any) -> float | np.ndarray:
        """:math:`\\tfrac12 x^\\top A x` at a point ``(2,)`` or a batch ``(..., 2)``."""
        x = _points("Ravine.loss", x)
        return _out(0.5 * np.einsum("...i,ij,...j->...", x, self.hessian(), x))

    def grad(self, x: Any) -> np.ndarray:
        """:math:`A x`, shape like ``x``."""
        x = _points("Ravine.grad", x)
        return x @ self.hessian().T

    @property
    def minimum(self) -> np.ndarray:
        """The origin."""
        return np.zeros(2)

    @property
    def curvatures(self) -> np.ndarray:
        """``[mu, L]``."""
        return np.array([self.mu, self.L])

    @property
    def lipschitz(self) -> float:
        """``L``."""
        return self.L

    @property
    def condition_number(self) -> float:
        """``L / mu``."""
        return self.L / self.mu

    @property
    def max_stable_lr(self) -> float:
        """``2 / L``."""
        return 2.0 / self.L


@dataclass(frozen=True)
class Rosenbrock:
    r"""The Rosenbrock function, a curved valley with its minimum at :math:`(a, a^2)`.

    Parameters
    ----------
    a : float, default=1.0
        Position of the minimum, finite.
    b : float, default=100.0
        Steepness of the valley walls, > 0.

    Attributes
    ----------
    minimum : ndarray of shape (2,)
        :math:`(a, a^2)`, where the loss is 0.

    Notes
    -----
    .. math::

        f(x, y) = (a - x)^2 + b\,(y - x^2)^2, \qquad
        \nabla f = \begin{pmatrix} -2(a - x) - 4 b x (y - x^2) \\ 2 b (y - x^2)
                   \end{pmatrix}

    The valley floor :math:`y = x^2` is easy to reach and slow to follow: the
    curvature across it is about :math:`2b(1 + 4x^2)`, along it about 2 near the
    minimum. Not convex, so there is no single stable rate.

    Examples
    --------
    >>> from lrlib.problems import Rosenbrock
    >>> rosen = Rosenbrock()
    >>> print(f"{rosen.loss([0.0, 0.0]):.1f} {rosen.loss(rosen.minimum):.1f}")
    1.0 0.0
    >>> print([f"{g:.1f}" for g in rosen.grad([-1.0, 1.0])])
    ['-4.0', '0.0']
    """

    a: float = 1.0
    b: float = 100.0
    axis_labels: ClassVar[tuple[str, str]] = ("$x$", "$y$")

    def __post_init__(self):
        object.__setattr__(self, "a", V.real("Rosenbrock", "a", self.a))
        object.__setattr__(self, "b", V.positive("Rosenbrock", "b", self.b))

    def loss(self, x: Any) -> float | np.ndarray:
        """:math:`f` at a point ``(2,)`` or a batch ``(..., 2)``."""
        p = _points("Rosenbrock.loss", x)
        u, v = p[..., 0], p[..., 1]
        return _out((self.a - u) ** 2 + self.b * (v - u * u) ** 2)

    def grad(self, x: Any) -> np.ndarray:
        """:math:`\\nabla f`, shape like ``x``."""
        p = _points("Rosenbrock.grad", x)
        u, v = p[..., 0], p[..., 1]
        inner = v - u * u
        return np.stack([-2.0 * (self.a - u) - 4.0 * self.b * u * inner,
                         2.0 * self.b * inner], axis=-1)

    def hessian(self, x: Any) -> np.ndarray:
        """The 2x2 Hessian at the point ``x`` (shape ``(2,)``)."""
        p = _points("Rosenbrock.hessian", x)
        V.check(p.shape == (2,), "Rosenbrock.hessian", "x", "an array of shape (2,)", x)
        u, v = float(p[0]), float(p[1])
        off = -4.0 * self.b * u
        return np.array([[2.0 - 4.0 * self.b * (v - 3.0 * u * u), off], [off, 2.0 * self.b]])

    @property
    def minimum(self) -> np.ndarray:
        """:math:`(a, a^2)`."""
        return np.array([self.a, self.a * self.a])


# ---------------------------------------------------------------------------
# Running an optimizer
# ---------------------------------------------------------------------------


def _trajectory_args(f: str, problem, optimizer, x0, num_steps,
                     what: str) -> tuple[int, np.ndarray]:
    """Check the arguments shared by the trajectory functions; return the step count
    and a float64 copy of ``x0``."""
    V.check(callable(getattr(problem, "grad", None)), f, "problem",
            "an object with a grad method", problem)
    V.check(callable(optimizer), f, "optimizer",
            f"a callable that builds {what} from a parameter list", optimizer)
    num_steps = V.integer(f, "num_steps", num_steps, low=0)
    rule = "a finite number or array of finite numbers"
    try:
        x = np.array(x0, dtype=np.float64)
    except (TypeError, ValueError):
        V.fail(f, "x0", rule, x0)
    V.check(bool(np.all(np.isfinite(x))), f, "x0", rule, x0)
    return num_steps, x


def trajectory(problem: Any, optimizer: Callable[[list[np.ndarray]], Any], x0: Any,
               num_steps: int) -> np.ndarray:
    r"""Run an lrlib optimizer on a problem and return every iterate.

    Parameters
    ----------
    problem : object with ``grad``
        For example :class:`Ravine`, :class:`Rosenbrock`, :class:`LinearRegression`
        or :class:`Quadratic1D`.
    optimizer : callable
        A factory that takes the parameter list ``[x]`` and returns an optimizer whose
        ``step([g])`` updates ``x`` in place, for example
        ``lambda params: SGD(params, lr=0.01)`` with :mod:`lrlib.optim`.
    x0 : float or array_like
        Starting point (copied; not modified).
    num_steps : int
        Number of updates, >= 0.

    Returns
    -------
    ndarray of shape (num_steps + 1, *x0.shape)
        Row ``t`` is the iterate after ``t`` updates; row 0 is ``x0``. A diverging run
        is not stopped: its rows become ``inf`` or ``nan`` (overflow warnings are
        silenced), and :func:`lrlib.plotting.plot_trajectories` draws only the finite
        part.

    Notes
    -----
    Update ``t`` evaluates ``g = problem.grad(x_t)`` and calls ``opt.step([g])``.

    Examples
    --------
    >>> from lrlib.problems import Quadratic1D, trajectory
    >>> class HalfStep:  # any object with step([g]) updating the params in place
    ...     def __init__(self, params):
    ...         self.params = params
    ...     def step(self, grads):
    ...         for p, g in zip(self.params, grads):
    ...             p -= 0.5 * g
    >>> path = trajectory(Quadratic1D(L=1.0), HalfStep, x0=8.0, num_steps=3)
    >>> print(path)
    [8. 4. 2. 1.]
    """
    f = "trajectory"
    num_steps, x = _trajectory_args(f, problem, optimizer, x0, num_steps, "an optimizer")
    opt = optimizer([x])
    V.check(callable(getattr(opt, "step", None)), f, "optimizer",
            "a factory whose result has a step method", optimizer)
    path = np.empty((num_steps + 1, *x.shape))
    path[0] = x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(num_steps):
            opt.step([np.asarray(problem.grad(x), dtype=np.float64)])
            path[t + 1] = x
    return path
