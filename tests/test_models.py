"""Tests for lrlib.models: shapes, sizes and seeded construction."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lrlib import models as M

BUILDERS = {"logistic_regression": M.logistic_regression, "mlp": M.mlp, "cnn": M.cnn}


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    pa, pb = list(a.parameters()), list(b.parameters())
    return len(pa) == len(pb) and all(torch.equal(x, y) for x, y in zip(pa, pb, strict=True))


@pytest.mark.parametrize("name", BUILDERS)
def test_output_shape(name):
    model = BUILDERS[name](seed=0)
    x = torch.randn(7, 40, generator=torch.Generator().manual_seed(0))
    assert model(x).shape == (7, 10)


@pytest.mark.parametrize("name, count", [("logistic_regression", 410), ("mlp", 15_210),
                                         ("cnn", 5_210)])
def test_parameter_counts_are_small(name, count):
    assert M.num_parameters(BUILDERS[name]()) == count


@pytest.mark.parametrize("name", BUILDERS)
def test_same_seed_same_weights_other_seed_other_weights(name):
    build = BUILDERS[name]
    assert same_weights(build(seed=3), build(seed=3))
    assert not same_weights(build(seed=3), build(seed=4))


@pytest.mark.parametrize("name", BUILDERS)
def test_global_torch_rng_untouched(name):
    torch.manual_seed(11)
    expected = torch.rand(3)
    torch.manual_seed(11)
    BUILDERS[name](seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_weights_equal_manual_seed_then_build():
    torch.manual_seed(2)
    reference = nn.Sequential(nn.Linear(40, 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                              nn.Linear(100, 10))
    assert same_weights(M.mlp(seed=2), reference)


def test_architecture_details():
    net = M.mlp(hidden=32)
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [32, 32, 10]
    assert sum(isinstance(m, nn.ReLU) for m in net) == 2
    conv = M.cnn(channels=8)
    assert [(c.kernel_size, c.stride, c.padding) for c in (conv.conv1, conv.conv2, conv.conv3)] \
        == [((5,), (2,), (1,)), ((3,), (2,), (1,)), ((3,), (2,), (1,))]
    assert conv.conv1.in_channels == 1 and conv.conv3.out_channels == 8
    assert conv.linear.in_features == 8 * 5  # 40 -> 19 -> 10 -> 5
    other = M.cnn(in_features=64, num_classes=3)
    assert other(torch.zeros(2, 64)).shape == (2, 3)
    assert M.logistic_regression(in_features=5, num_classes=2)(torch.zeros(1, 5)).shape == (1, 2)


def test_cnn_accepts_channel_dimension_inputs():
    net = M.cnn(seed=0)
    x = torch.randn(4, 40, generator=torch.Generator().manual_seed(1))
    assert torch.equal(net(x), net(x.unsqueeze(1)))


NAN = float("nan")
BAD = [
    (lambda: M.mlp(hidden=0), "mlp: hidden must be a positive int, got hidden=0"),
    (lambda: M.mlp(hidden=10.0), "mlp: hidden must be a positive int"),
    (lambda: M.mlp(seed=-1), "mlp: seed must be a non-negative int, got seed=-1"),
    (lambda: M.mlp(seed=NAN), "mlp: seed must be a non-negative int"),
    (lambda: M.mlp(num_classes=1), "mlp: num_classes must be an int >= 2"),
    (lambda: M.cnn(channels=0), "cnn: channels must be a positive int"),
    (lambda: M.cnn(channels=True), "cnn: channels must be a positive int"),
    (lambda: M.cnn(in_features=2), "cnn: in_features must be an int >= 3, got in_features=2"),
    (lambda: M.cnn(seed=1.5), "cnn: seed must be a non-negative int"),
    (lambda: M.logistic_regression(in_features=0), "logistic_regression: in_features must be"),
    (lambda: M.logistic_regression(seed=NAN), "logistic_regression: seed must be"),
    (lambda: M.num_parameters("mlp"), "num_parameters: model must be a torch.nn.Module"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                     for i, (_, m) in enumerate(BAD)])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
