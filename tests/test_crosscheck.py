"""lrlib.crosscheck.torch_trajectory: torch's optimizers on lrlib's problems."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lrlib.crosscheck import torch_trajectory
from lrlib.optim import SGD, Adagrad, Adam, AdamW, RMSprop
from lrlib.problems import Quadratic1D, Ravine, Rosenbrock, trajectory

PAIRS = {
    "sgd-nesterov": (lambda p: SGD(p, lr=1e-3, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=1e-3, momentum=0.9, nesterov=True)),
    "adagrad": (lambda p: Adagrad(p, lr=0.1),
                lambda p: torch.optim.Adagrad(p, lr=0.1)),
    "rmsprop-centered": (lambda p: RMSprop(p, lr=0.01, centered=True, momentum=0.5),
                         lambda p: torch.optim.RMSprop(p, lr=0.01, centered=True,
                                                       momentum=0.5)),
    "adam-amsgrad": (lambda p: Adam(p, lr=0.05, amsgrad=True),
                     lambda p: torch.optim.Adam(p, lr=0.05, amsgrad=True)),
    "adamw": (lambda p: AdamW(p, lr=0.05, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
@pytest.mark.parametrize("problem", [Ravine(angle=30.0), Rosenbrock()], ids=repr)
def test_matches_lrlib_trajectory(name, problem):
    ours, theirs = PAIRS[name]
    x0 = [-1.5, 2.0]
    a = trajectory(problem, ours, x0, 100)
    b = torch_trajectory(problem, theirs, x0, 100)
    assert b.shape == (101, 2)
    np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-13)


def test_scalar_start_and_first_row():
    x0 = np.array(8.0)
    path = torch_trajectory(Quadratic1D(L=1.0), lambda p: torch.optim.SGD(p, lr=0.5), x0, 3)
    np.testing.assert_array_equal(path, [8.0, 4.0, 2.0, 1.0])
    assert x0 == 8.0  # not modified
    assert torch_trajectory(Ravine(), lambda p: torch.optim.SGD(p, lr=0.1), [1.0, 1.0],
                            0).shape == (1, 2)


def test_divergence_is_not_stopped():
    path = torch_trajectory(Quadratic1D(L=1.0), lambda p: torch.optim.SGD(p, lr=3.0), 1.0, 2000)
    assert path.shape == (2001,)
    assert not np.all(np.isfinite(path))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"problem": object()}, "torch_trajectory: problem must be an object with a grad"),
    ({"optimizer": 3}, "torch_trajectory: optimizer must be a callable"),
    ({"optimizer": lambda p: None}, "optimizer must be a factory whose result is a torch"),
    ({"x0": [1.0, float("nan")]}, "x0 must be a finite number or array"),
    ({"x0": "a"}, "x0 must be a finite number or array"),
    ({"num_steps": -1}, "num_steps must be a non-negative int, got num_steps=-1"),
    ({"num_steps": 2.0}, "num_steps must be a non-negative int"),
])
def test_bad_arguments(kwargs, message):
    args = {"problem": Ravine(), "optimizer": lambda p: torch.optim.SGD(p, lr=0.1),
            "x0": [1.0, 1.0], "num_steps": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        torch_trajectory(**args)
