"""The LR range test: the sweep, smoothing, stopping, suggestion rules, restoring state."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrlib import finder as F
from lrlib.optim import SGD


def alternating_quadratic(curvature: float):
    """SGD on (L/2)(x - a)^2 with a = +1, -1, +1, ...: stable iff lr < 2/L."""
    state = {"x": 0.0, "t": 0}

    def step(lr):
        a = 1.0 if state["t"] % 2 == 0 else -1.0
        state["t"] += 1
        loss = 0.5 * curvature * (state["x"] - a) ** 2
        state["x"] -= lr * curvature * (state["x"] - a)
        return loss

    return step


def test_sweep_rates_exp_and_linear():
    rates = F.sweep_rates(1e-6, 1.0, 61)
    assert rates[0] == 1e-6 and rates[-1] == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(rates[1:] / rates[:-1], 10 ** 0.1, rtol=1e-12)
    lin = F.sweep_rates(0.1, 1.0, 10, "linear")
    np.testing.assert_allclose(np.diff(lin), 0.1, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 200.0))
def test_blow_up_lies_near_the_stability_limit(curvature):
    result = F.range_test(alternating_quadratic(curvature), start_lr=1e-5, end_lr=100.0,
                          num_iter=300)
    limit = 2.0 / curvature
    assert result.diverged
    # the iteration factor |1 - lr L| passes 1 at the limit; the loss, already growing
    # as the limit nears, crosses 4x its best within a few percent of it
    assert 0.8 * limit < result.stop_lr < 1.2 * limit


def test_smoothing_is_a_bias_corrected_moving_average():
    losses = iter(np.linspace(3.0, 1.0, 50))
    result = F.range_test(lambda lr: next(losses), 1e-3, 1.0, 50, smooth=0.9)
    expected, average = [], 0.0
    for i, loss in enumerate(result.losses):
        average = 0.9 * average + 0.1 * loss
        expected.append(average / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(result.smoothed, expected, rtol=1e-12)
    assert result.smoothed[0] == result.losses[0]  # no pull towards 0 at the start
    constant = F.range_test(lambda lr: 2.5, 1e-3, 1.0, 30)
    np.testing.assert_allclose(constant.smoothed, 2.5, rtol=1e-12)
    raw = F.range_test(lambda lr: lr, 1e-3, 1.0, 30, smooth=0.0, diverge_factor=1e9)
    np.testing.assert_array_equal(raw.smoothed, raw.losses)


def test_stops_at_the_first_non_finite_loss_or_explosion():
    losses = [1.0] * 20 + [math.inf] + [1.0] * 20
    it = iter(losses)
    result = F.range_test(lambda lr: next(it), 1e-3, 1.0, 41)
    assert result.diverged and len(result.losses) == 21 and math.isinf(result.losses[-1])
    it = iter([1.0] * 10 + [50.0] * 10)
    result = F.range_test(lambda lr: next(it), 1e-3, 1.0, 20, smooth=0.0)
    assert result.diverged and len(result.lrs) == 11  # 50 > 4 x 1 at once
    calm = F.range_test(lambda lr: 1.0, 1e-3, 1.0, 25)
    assert not calm.diverged and len(calm.lrs) == 25


def synthetic_curve():
    """A range-test-like curve: flat, falling fastest at lr=1e-2, minimum, explosion."""
    lrs = np.geomspace(1e-5, 10.0, 121)
    u = np.log10(lrs)
    fall = 1.0 / (1.0 + np.exp(3.0 * (u + 2.0)))   # steepest descent at u = -2
    rise = np.exp(4.0 * (u - 0.0))                  # takes over near lr = 1
    return lrs, 1.0 + fall + 0.05 * rise


def test_suggestion_rules_on_a_known_curve():
    lrs, loss = synthetic_curve()
    s, idx = F.suggest(lrs, loss, skip_start=0, skip_end=0)
    assert s["steepest"] == pytest.approx(1e-2, rel=0.07)  # one sweep step is 6%
    i_min = int(np.argmin(loss))
    assert s["minimum/10"] == pytest.approx(lrs[i_min] / 10) and idx["minimum/10"] == i_min
    # the loss falls all the way from the first point to the minimum, so that is the
    # longest valley and the rule takes its middle step
    assert idx["valley"] == i_min // 2 and s["valley"] == lrs[i_min // 2]
    assert set(s) == set(F.RULES)


def test_longest_decreasing_run():
    values = np.array([5.0, 9.0, 4.0, 3.5, 8.0, 3.0, 2.0, 7.0, 1.0, 6.0])
    start, end = F._longest_decreasing_run(values)
    # 9, 4, 3.5, 3, 2, 1 (or 5, 4, ...): six values, ending at index 8
    assert end == 8 and values[start] in (5.0, 9.0)
    assert F._longest_decreasing_run(np.arange(5.0)) == (0, 0)


def test_skips_and_short_runs():
    lrs, loss = synthetic_curve()
    s, idx = F.suggest(lrs, loss, skip_start=100, skip_end=19)
    assert all(math.isnan(v) for v in s.values()) and set(idx.values()) == {-1}
    s, idx = F.suggest(lrs, loss, skip_start=50, skip_end=0)
    assert min(idx.values()) >= 50


def test_result_fields_and_default_rule():
    result = F.range_test(alternating_quadratic(4.0), 1e-4, 10.0, 200, rule="steepest")
    assert result.suggested_lr == result.suggestions["steepest"]
    assert result.best_lr == result.lrs[np.argmin(result.smoothed)]
    assert result.stop_lr == result.lrs[-1]
    with pytest.raises(AttributeError):
        result.diverged = False  # frozen


def test_numpy_range_test_leaves_x0_alone_and_uses_the_optimizer():
    curv = np.array([1.0, 10.0])
    x0 = np.array([1.0, 1.0])
    seen = []

    def loss_and_grad(x):
        seen.append(x.copy())
        return 0.5 * float(np.sum(curv * x**2)), curv * x

    def momentum_sgd(params, lr):
        return SGD(params, lr=lr, momentum=0.9)

    res = F.lr_range_test_numpy(loss_and_grad, x0, optimizer=momentum_sgd, start_lr=1e-4,
                                end_lr=1.0, num_iter=50)
    np.testing.assert_array_equal(x0, [1.0, 1.0])
    # replay the first two updates by hand: SGD with momentum 0.9 at the sweep's rates
    lr0, lr1 = res.lrs[:2]
    x1 = x0 - lr0 * curv * x0
    buf = 0.9 * (curv * x0) + curv * x1
    np.testing.assert_allclose(seen[1], x1, rtol=1e-14)
    np.testing.assert_allclose(seen[2], x1 - lr1 * buf, rtol=1e-14)


def torch_regression(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 5, generator=g, dtype=torch.float64) * torch.tensor(
        [1.0, 2.0, 0.5, 3.0, 1.0], dtype=torch.float64)
    y = X @ torch.tensor([1.0, -2.0, 0.5, 1.0, 0.0], dtype=torch.float64) + 0.1 * torch.randn(
        n, generator=g, dtype=torch.float64)
    return X, y.unsqueeze(1)


def test_torch_range_test_blows_up_near_two_over_lambda_max_and_restores_everything():
    X, y = torch_regression(256)
    batches = [(X[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    model = torch.nn.Linear(5, 1, bias=False).double()
    torch.nn.init.zeros_(model.weight)
    opt = torch.optim.SGD(model.parameters(), lr=0.123, momentum=0.0)
    before_model = copy.deepcopy(model.state_dict())
    before_opt = copy.deepcopy(opt.state_dict())
    model.eval()
    # mean squared error: Hessian 2 X^T X / n, so gradient descent is stable iff
    # lr < 2/lambda_max. The smoothed loss lags the raw one by a few sweep steps, so the
    # test stops somewhat past the limit (measured: 1.9x-2.1x here), never before it.
    limit = 2 / float(torch.linalg.eigvalsh(2 * X.T @ X / len(X)).max())
    res = F.lr_range_test_torch(model, torch.nn.functional.mse_loss, batches, opt,
                                start_lr=1e-5, end_lr=10.0, num_iter=300)
    assert res.diverged
    assert limit < res.stop_lr < 3 * limit
    for key, value in model.state_dict().items():
        assert torch.equal(value, before_model[key])
    assert opt.state_dict() == before_opt and opt.param_groups[0]["lr"] == 0.123
    assert not model.training


def test_torch_range_test_restores_on_error_and_restores_momentum_buffers():
    X, y = torch_regression()
    model = torch.nn.Linear(5, 1).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(3):  # build momentum buffers first
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    before_model = copy.deepcopy(model.state_dict())
    before_buf = [opt.state[p]["momentum_buffer"].clone() for p in model.parameters()]
    calls = []

    def failing_loss(out, target):
        calls.append(1)
        if len(calls) == 5:
            raise RuntimeError("boom")
        return torch.nn.functional.mse_loss(out, target)

    with pytest.raises(RuntimeError, match="boom"):
        F.lr_range_test_torch(model, failing_loss, [(X, y)], opt, num_iter=20)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before_model[key])
    for p, buf in zip(model.parameters(), before_buf, strict=True):
        assert torch.equal(opt.state[p]["momentum_buffer"], buf)


NAN = float("nan")
BAD = [
    (lambda: F.sweep_rates(0.0, 1.0, 10), "sweep_rates: start_lr must be a finite number > 0, "
                                          "got start_lr=0.0"),
    (lambda: F.sweep_rates(1.0, 0.1, 10), "sweep_rates: end_lr must be a finite number > 1, "
                                          "got end_lr=0.1"),
    (lambda: F.sweep_rates(1e-3, NAN, 10), "sweep_rates: end_lr must be"),
    (lambda: F.sweep_rates(1e-3, 1.0, 1), "sweep_rates: num_iter must be an int >= 2"),
    (lambda: F.sweep_rates(1e-3, 1.0, 10, "log"), "sweep_rates: mode must be one of 'exp', "
                                                  "'linear', got mode='log'"),
    (lambda: F.range_test(1.0), "range_test: step must be a callable"),
    (lambda: F.range_test(lambda lr: 1.0, smooth=1.0), r"range_test: smooth must be a finite "
                                                       r"number in \[0, 1\), got smooth=1.0"),
    (lambda: F.range_test(lambda lr: 1.0, diverge_factor=1.0),
     "range_test: diverge_factor must be a finite number > 1"),
    (lambda: F.range_test(lambda lr: 1.0, skip_start=-1), "range_test: skip_start must be a "
                                                          "non-negative int"),
    (lambda: F.range_test(lambda lr: 1.0, rule="steep"), "range_test: rule must be one of "
                                                         "'steepest', 'minimum/10', 'valley'"),
    (lambda: F.range_test(lambda lr: 1.0, num_iter=10.0), "range_test: num_iter must be an int"),
    (lambda: F.suggest([1.0, 2.0], [1.0]), "suggest: smoothed must be a 1-D array of the same "
                                           "shape as lrs"),
    (lambda: F.lr_range_test_numpy(None, [1.0]), "lr_range_test_numpy: loss_and_grad must be"),
    (lambda: F.lr_range_test_numpy(lambda x: (0.0, x), []), "lr_range_test_numpy: x0 must be a "
                                                            "non-empty finite array"),
    (lambda: F.lr_range_test_numpy(lambda x: (0.0, x), [NAN]), "lr_range_test_numpy: x0 must"),
    (lambda: F.lr_range_test_numpy(lambda x: (0.0, x), [1.0], optimizer="sgd"),
     "lr_range_test_numpy: optimizer must be a callable"),
    (lambda: F.lr_range_test_torch("model", torch.nn.functional.mse_loss, [], None),
     "lr_range_test_torch: model must be a torch.nn.Module"),
    (lambda: F.lr_range_test_torch(torch.nn.Linear(1, 1), torch.nn.functional.mse_loss, [],
                                   "sgd"), "lr_range_test_torch: optimizer must be a torch"),
    (lambda: F.lr_range_test_torch(torch.nn.Linear(1, 1), None, [], torch.optim.SGD(
        torch.nn.Linear(1, 1).parameters(), lr=0.1)), "lr_range_test_torch: loss_fn must be"),
    (lambda: F.lr_range_test_torch(torch.nn.Linear(1, 1), torch.nn.functional.mse_loss, 5,
                                   torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)),
     "lr_range_test_torch: batches must be an iterable"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()
