"""Tests for lrlib.problems: data, costs, gradients, Hessians and trajectories."""

from __future__ import annotations

import numpy as np
import pytest

from lrlib import problems as P


def central_diff(f, x, h=1e-5):
    """Central-difference gradient of a scalar function of a float vector."""
    x = np.asarray(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = h * max(1.0, abs(x.flat[i]))
        g.flat[i] = (f(x + e) - f(x - e)) / (2 * e.flat[i])
    return g


POINTS = [np.array([0.3, -1.2]), np.array([-2.0, 0.7]), np.array([1.5, 2.5])]


# ---------------------------------------------------------------------------
# House prices and the MSE cost
# ---------------------------------------------------------------------------


def test_house_prices_are_exactly_linear():
    x, y = P.house_prices()
    np.testing.assert_array_equal(x, [1000, 1500, 2000, 2500])
    np.testing.assert_array_equal(y, [250, 350, 450, 550])
    np.testing.assert_allclose(y, 0.2 * x + 50)
    assert x.dtype == y.dtype == np.float64


def test_mse_cost_by_hand():
    x, y = P.house_prices()
    # J(0, 0) = (250^2 + 350^2 + 450^2 + 550^2) / 8
    assert P.mse_cost(0.0, 0.0, x, y) == pytest.approx(690_000 / 8)
    assert P.mse_cost(0.2, 50.0, x, y) == pytest.approx(0.0, abs=1e-20)
    # J(0.2, 0) = 50^2 / 2: every prediction is 50 short
    assert P.mse_cost(0.2, 0.0, x, y) == pytest.approx(1250.0)
    assert isinstance(P.mse_cost(0.1, 1.0, x, y), float)


def test_mse_cost_broadcasts_over_a_grid():
    x, y = P.noisy_line()
    w, b = np.meshgrid(np.linspace(0, 5, 7), np.linspace(-1, 3, 5))
    grid = P.mse_cost(w, b, x, y)
    assert grid.shape == (5, 7)
    assert grid[2, 3] == pytest.approx(P.mse_cost(w[2, 3], b[2, 3], x, y))


@pytest.mark.parametrize("wb", [(0.0, 0.0), (0.3, 40.0), (-1.0, 7.0)])
def test_mse_grad_matches_finite_differences(wb):
    x, y = P.house_prices()
    z, _, _ = P.standardize(x)
    for xs in (x / 1000.0, z):
        numeric = central_diff(lambda t, xs=xs: P.mse_cost(t[0], t[1], xs, y), np.array(wb))
        analytic = np.array(P.mse_grad(wb[0], wb[1], xs, y))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6)


def test_mse_grad_by_hand():
    x, y = P.house_prices()
    dw, db = P.mse_grad(0.0, 0.0, x, y)
    assert dw == pytest.approx(-np.mean(x * y))
    assert db == pytest.approx(-400.0)
    np.testing.assert_allclose(P.mse_grad(0.2, 50.0, x, y), [0.0, 0.0], atol=1e-9)


def test_house_price_hessian_raw_vs_standardized():
    x, y = P.house_prices()
    h = P.mse_hessian(x)
    np.testing.assert_allclose(h, [[3.375e6, 1750.0], [1750.0, 1.0]])
    # two ways: numpy's eigenvalues and the closed form of a symmetric 2x2 matrix
    lam = np.linalg.eigvalsh(h)
    tr, det = np.trace(h), np.linalg.det(h)
    closed = np.array([tr - np.sqrt(tr**2 - 4 * det), tr + np.sqrt(tr**2 - 4 * det)]) / 2
    np.testing.assert_allclose(lam[1], closed[1], rtol=1e-12)
    assert lam[1] == pytest.approx(np.mean(x**2), rel=1e-6)  # order 4e6
    assert 2 / lam[1] < 1e-6  # the largest stable rate on raw sizes is tiny

    z, mean, std = P.standardize(x)
    np.testing.assert_allclose(P.mse_hessian(z), np.eye(2), atol=1e-12)
    assert mean == 1750.0
    assert std == pytest.approx(np.sqrt(312_500))
    np.testing.assert_allclose(z.mean(), 0.0, atol=1e-12)
    np.testing.assert_allclose(z.std(), 1.0)
    scaled = P.LinearRegression(z, y)
    assert scaled.max_stable_lr == pytest.approx(2.0)
    assert scaled.max_stable_lr / P.LinearRegression(x, y).max_stable_lr > 1e6


def test_hessian_matches_finite_differences_of_the_gradient():
    x, y = P.noisy_line(seed=3)
    prob = P.LinearRegression(x, y)
    theta = np.array([0.5, -0.3])
    cols = [central_diff(lambda t, i=i: prob.grad(t)[i], theta) for i in range(2)]
    np.testing.assert_allclose(np.array(cols), prob.hessian(), rtol=1e-6)


def test_gradient_descent_diverges_raw_and_converges_standardized():
    x, y = P.house_prices()
    raw = P.LinearRegression(x, y)
    theta = np.zeros(2)
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(50):
            theta = theta - 1.01 * raw.max_stable_lr * raw.grad(theta)
    assert not raw.loss(theta) < raw.loss(np.zeros(2))
    z, _, _ = P.standardize(x)
    scaled = P.LinearRegression(z, y)
    theta = np.zeros(2)
    for _ in range(100):
        theta = theta - 0.5 * scaled.grad(theta)
    np.testing.assert_allclose(theta, scaled.minimum, rtol=1e-9)


def test_linear_regression_problem():
    x, y = P.house_prices()
    prob = P.LinearRegression(x, y)
    np.testing.assert_allclose(prob.minimum, [0.2, 50.0], rtol=1e-9)
    thetas = np.array([[0.0, 0.0], [0.2, 50.0], [1.0, -3.0]])
    losses = prob.loss(thetas)
    assert losses.shape == (3,)
    for t, loss in zip(thetas, losses, strict=True):
        assert loss == pytest.approx(P.mse_cost(t[0], t[1], x, y))
        np.testing.assert_allclose(prob.grad(t), P.mse_grad(t[0], t[1], x, y))
    assert prob.grad(thetas).shape == (3, 2)
    np.testing.assert_allclose(prob.curvatures, np.linalg.eigvalsh(P.mse_hessian(x)))
    with pytest.raises(ValueError):
        prob.x[0] = 1.0  # read-only: the problem is frozen


# ---------------------------------------------------------------------------
# Noisy line
# ---------------------------------------------------------------------------


def test_noisy_line_is_reproducible_and_seed_dependent():
    x0, y0 = P.noisy_line(seed=0)
    x1, y1 = P.noisy_line(seed=0)
    np.testing.assert_array_equal(x0, x1)
    np.testing.assert_array_equal(y0, y1)
    x2, y2 = P.noisy_line(seed=1)
    assert not np.allclose(x0, x2)
    assert not np.allclose(y0, y2)


def test_noisy_line_statistics():
    x, y = P.noisy_line()
    assert x.shape == y.shape == (100,)
    assert x.min() >= 0 and x.max() < 1
    w, b = np.polyfit(x, y, 1)
    assert w == pytest.approx(3.0, abs=0.6)
    assert b == pytest.approx(2.0, abs=0.3)
    residual = y - (3 * x + 2)
    assert residual.std() == pytest.approx(0.5, rel=0.2)
    # noise=0 gives the exact line; the fit of LinearRegression is the least squares one
    xe, ye = P.noisy_line(n=10, noise=0.0, seed=5)
    np.testing.assert_allclose(ye, 3 * xe + 2)
    np.testing.assert_allclose(P.LinearRegression(x, y).minimum, [w, b], rtol=1e-9)


def test_noisy_line_leaves_global_rng_alone():
    state = np.random.get_state()
    P.noisy_line(seed=7)
    after = np.random.get_state()
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]


# ---------------------------------------------------------------------------
# Quadratic, ravine, Rosenbrock
# ---------------------------------------------------------------------------


def test_quadratic1d_gd_recursion():
    q = P.Quadratic1D(L=4.0)
    for lr, factor in [(0.1, 0.6), (0.25, 0.0), (0.4, -0.6), (0.6, -1.4)]:
        x = 1.0
        for t in range(1, 6):
            x = x - lr * q.grad(x)
            assert x == pytest.approx(factor**t, abs=1e-12)
    assert q.max_stable_lr == 0.5
    assert q.loss(2.0) == 8.0 and isinstance(q.loss(2.0), float)
    np.testing.assert_allclose(q.loss(np.array([1.0, -1.0])), [2.0, 2.0])
    assert q.grad(np.array([1.0, 2.0])).tolist() == [4.0, 8.0]


@pytest.mark.parametrize("angle", [0.0, 30.0, 90.0, -45.0])
def test_ravine_eigenvalues_and_gradient(angle):
    r = P.Ravine(mu=2.0, L=50.0, angle=angle)
    h = r.hessian()
    np.testing.assert_allclose(h, h.T)
    np.testing.assert_allclose(np.linalg.eigvalsh(h), [2.0, 50.0])
    np.testing.assert_allclose(r.curvatures, [2.0, 50.0])
    assert r.condition_number == 25.0 and r.lipschitz == 50.0
    assert r.max_stable_lr == pytest.approx(0.04)
    for x in POINTS:
        np.testing.assert_allclose(r.grad(x), central_diff(r.loss, x), rtol=1e-6)
        assert r.loss(x) == pytest.approx(0.5 * x @ h @ x)
    assert r.loss(r.minimum) == 0.0


def test_ravine_rotation_direction():
    r = P.Ravine(mu=1.0, L=25.0, angle=90.0)
    # rotated by 90 degrees, the floor (small curvature) runs along x2
    assert r.loss([0.0, 1.0]) == pytest.approx(0.5)
    assert r.loss([1.0, 0.0]) == pytest.approx(12.5)


@pytest.mark.parametrize("problem", [P.Ravine(angle=20.0), P.Rosenbrock(),
                                     P.LinearRegression(*P.noisy_line())],
                         ids=["ravine", "rosenbrock", "linreg"])
def test_batched_loss_and_grad(problem):
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 4), np.linspace(-1, 3, 3)), axis=-1)
    losses = problem.loss(grid)
    grads = problem.grad(grid)
    assert losses.shape == (3, 4) and grads.shape == (3, 4, 2)
    for i in range(3):
        for j in range(4):
            assert losses[i, j] == pytest.approx(problem.loss(grid[i, j]), rel=1e-12)
            np.testing.assert_allclose(grads[i, j], problem.grad(grid[i, j]), rtol=1e-12)
    assert isinstance(problem.loss(grid[0, 0]), float)


def test_rosenbrock_values_gradient_hessian():
    rosen = P.Rosenbrock()
    np.testing.assert_array_equal(rosen.minimum, [1.0, 1.0])
    assert rosen.loss(rosen.minimum) == 0.0
    np.testing.assert_array_equal(rosen.grad(rosen.minimum), [0.0, 0.0])
    assert rosen.loss([0.0, 0.0]) == 1.0
    assert rosen.loss([-1.0, 1.0]) == 4.0
    for x in POINTS:
        np.testing.assert_allclose(rosen.grad(x), central_diff(rosen.loss, x), rtol=1e-6)
        cols = [central_diff(lambda p, i=i: rosen.grad(p)[i], x) for i in range(2)]
        np.testing.assert_allclose(rosen.hessian(x), np.array(cols), rtol=1e-6)
    np.testing.assert_allclose(rosen.hessian([1.0, 1.0]), [[802.0, -400.0], [-400.0, 200.0]])
    shifted = P.Rosenbrock(a=2.0, b=10.0)
    np.testing.assert_array_equal(shifted.minimum, [2.0, 4.0])
    assert shifted.loss(shifted.minimum) == 0.0


# ---------------------------------------------------------------------------
# trajectory
# ---------------------------------------------------------------------------


class PlainGD:
    """The optimizer interface trajectory expects: step([g]) updates in place."""

    def __init__(self, params, lr):
        self.params, self.lr = params, lr

    def step(self, grads):
        for p, g in zip(self.params, grads, strict=True):
            p -= self.lr * g


def test_trajectory_with_a_minimal_optimizer():
    q = P.Quadratic1D(L=1.0)
    path = P.trajectory(q, lambda ps: PlainGD(ps, 0.5), 8.0, 4)
    np.testing.assert_allclose(path, [8, 4, 2, 1, 0.5])
    r = P.Ravine(mu=1.0, L=10.0)
    x0 = np.array([1.0, 1.0])
    path = P.trajectory(r, lambda ps: PlainGD(ps, 0.1), x0, 3)
    assert path.shape == (4, 2)
    np.testing.assert_allclose(path[:, 0], 0.9 ** np.arange(4))
    np.testing.assert_allclose(path[1:, 1], 0.0, atol=1e-15)  # 1 - 0.1 * 10 = 0
    np.testing.assert_array_equal(x0, [1.0, 1.0])  # not modified


def test_trajectory_keeps_diverging_iterates():
    q = P.Quadratic1D(L=1.0)
    path = P.trajectory(q, lambda ps: PlainGD(ps, 1e200), 1e200, 3)
    assert path.shape == (4,)
    assert not np.all(np.isfinite(path))


def test_trajectory_with_lrlib_optim():
    optim = pytest.importorskip("lrlib.optim")
    r = P.Ravine(mu=1.0, L=25.0, angle=30.0)
    x0 = np.array([-4.0, 1.0])
    path = P.trajectory(r, lambda ps: optim.SGD(ps, lr=0.07), x0, 200)
    assert path.shape == (201, 2)
    expected = x0.copy()
    for _ in range(5):
        expected = expected - 0.07 * r.grad(expected)
    np.testing.assert_allclose(path[5], expected, rtol=1e-12)
    assert r.loss(path[-1]) < 1e-6 * r.loss(x0)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

NAN = float("nan")
X4 = np.array([1.0, 2.0, 3.0, 4.0])

BAD = [
    (lambda: P.noisy_line(n=0), "noisy_line: n must be a positive int, got n=0"),
    (lambda: P.noisy_line(n=10.0), "noisy_line: n must be a positive int"),
    (lambda: P.noisy_line(noise=-0.1), "noisy_line: noise must be a finite number >= 0"),
    (lambda: P.noisy_line(noise=NAN), "noisy_line: noise must be"),
    (lambda: P.noisy_line(seed=NAN), "noisy_line: seed must be a non-negative int"),
    (lambda: P.noisy_line(seed=True), "noisy_line: seed must be a non-negative int"),
    (lambda: P.noisy_line(seed=-1), "noisy_line: seed must be a non-negative int"),
    (lambda: P.standardize([3.0, 3.0]), "standardize: x must be an array whose values"),
    (lambda: P.standardize([]), "standardize: x must be a non-empty 1-D array"),
    (lambda: P.standardize([1.0, NAN]), "standardize: x must be a non-empty 1-D array"),
    (lambda: P.standardize([[1.0, 2.0]]), "standardize: x must be a non-empty 1-D array"),
    (lambda: P.standardize(["a", "b"]), "standardize: x must be"),
    (lambda: P.mse_cost(0, 0, X4, X4[:3]), r"mse_cost: y must be the same length as x \(4\)"),
    (lambda: P.mse_grad(0, 0, [NAN], [1.0]), "mse_grad: x must be"),
    (lambda: P.mse_hessian(np.ones((2, 2))), "mse_hessian: x must be"),
    (lambda: P.LinearRegression([1.0], [2.0]), "LinearRegression: x must be at least two"),
    (lambda: P.LinearRegression(X4, [1.0]), "LinearRegression: y must be the same length"),
    (lambda: P.LinearRegression(X4, X4).loss([1.0, 2.0, 3.0]),
     r"LinearRegression.loss: x must be an array of shape \(2,\)"),
    (lambda: P.LinearRegression(X4, X4).grad(1.0), "LinearRegression.grad: x must be"),
    (lambda: P.Quadratic1D(L=0.0), "Quadratic1D: L must be a finite number > 0, got L=0.0"),
    (lambda: P.Quadratic1D(L=NAN), "Quadratic1D: L must be a finite number > 0"),
    (lambda: P.Quadratic1D(L=True), "Quadratic1D: L must be a finite number > 0"),
    (lambda: P.Ravine(mu=0.0), "Ravine: mu must be a finite number > 0"),
    (lambda: P.Ravine(mu=2.0, L=1.0), "Ravine: L must be a finite number >= 2, got L=1.0"),
    (lambda: P.Ravine(L=float("inf")), "Ravine: L must be a finite number"),
    (lambda: P.Ravine(angle=NAN), "Ravine: angle must be a finite number, got angle=nan"),
    (lambda: P.Ravine().loss(np.zeros(3)), r"Ravine.loss: x must be an array of shape \(2,\)"),
    (lambda: P.Ravine().grad(np.zeros((4, 3))), "Ravine.grad: x must be"),
    (lambda: P.Rosenbrock(b=0.0), "Rosenbrock: b must be a finite number > 0"),
    (lambda: P.Rosenbrock(a=NAN), "Rosenbrock: a must be a finite number"),
    (lambda: P.Rosenbrock().loss(1.0), "Rosenbrock.loss: x must be"),
    (lambda: P.Rosenbrock().hessian(np.zeros((2, 2))),
     r"Rosenbrock.hessian: x must be an array of shape \(2,\)"),
    (lambda: P.trajectory(object(), PlainGD, 0.0, 1), "trajectory: problem must be an object"),
    (lambda: P.trajectory(P.Ravine(), 0.1, [0.0, 0.0], 1), "trajectory: optimizer must be"),
    (lambda: P.trajectory(P.Ravine(), lambda ps: None, [0.0, 0.0], 1),
     "trajectory: optimizer must be a factory whose result has a step method"),
    (lambda: P.trajectory(P.Ravine(), PlainGD, [0.0, NAN], 1), "trajectory: x0 must be"),
    (lambda: P.trajectory(P.Ravine(), PlainGD, [0.0, 0.0], -1),
     "trajectory: num_steps must be a non-negative int, got num_steps=-1"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                     for i, (_, m) in enumerate(BAD)])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
