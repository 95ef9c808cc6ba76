"""lrlib.plateau.ReduceLROnPlateau against torch's, on recorded metric sequences."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lrlib.plateau import ReduceLROnPlateau


def torch_plateau_rates(metrics, lr, **kwargs):
    """Rate after each metric, from torch.optim.lr_scheduler.ReduceLROnPlateau."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    rates = []
    for m in metrics:
        opt.step()
        scheduler.step(m)
        rates.append(opt.param_groups[0]["lr"])
    return np.array(rates)


def lrlib_rates(metrics, lr, **kwargs):
    plateau = ReduceLROnPlateau(lr=lr, **kwargs)
    return np.array([plateau.step(m) for m in metrics])


FLAT = [1.0] * 30
SLOW = [1.0 - 1e-5 * i for i in range(30)]  # improvements smaller than rel 1e-4
STAIRS = [1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7] * 3
NOISY = list(1 / np.sqrt(np.arange(1, 60)) + 0.05 * np.sin(np.arange(59) * 1.3))
ACC = [0.1, 0.3, 0.5, 0.5, 0.5, 0.51, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6] * 2
NEGATIVE = [-1.0, -1.05, -1.0, -0.99, -1.2, -1.2, -1.1, -1.3] * 3

SEQUENCES = [
    ("flat-default", FLAT, 0.1, {}),
    ("flat-patience0", FLAT, 0.1, {"patience": 0}),
    ("flat-patience2-factor-half", FLAT, 0.1, {"patience": 2, "factor": 0.5}),
    ("slow-rel-inside-threshold", SLOW, 0.1, {"patience": 3}),
    ("slow-abs", SLOW, 0.1, {"patience": 3, "threshold_mode": "abs", "threshold": 1e-6}),
    ("stairs-cooldown", STAIRS, 1.0, {"patience": 1, "cooldown": 2, "factor": 0.5}),
    ("stairs-cooldown-long", STAIRS, 1.0, {"patience": 0, "cooldown": 5}),
    ("flat-min-lr", FLAT, 1.0, {"patience": 0, "factor": 0.5, "min_lr": 0.1}),
    ("flat-eps", FLAT, 1e-7, {"patience": 0, "factor": 0.5}),
    ("flat-eps-big", FLAT, 1.0, {"patience": 0, "factor": 0.9, "eps": 0.05}),
    ("noisy-default", NOISY, 0.1, {"patience": 3}),
    ("noisy-abs", NOISY, 0.1, {"patience": 2, "threshold_mode": "abs", "threshold": 0.01}),
    ("acc-max-rel", ACC, 0.1, {"mode": "max", "patience": 2}),
    ("acc-max-abs", ACC, 0.1, {"mode": "max", "patience": 1, "threshold_mode": "abs",
                               "threshold": 0.02, "cooldown": 1}),
    ("negative-rel", NEGATIVE, 0.1, {"patience": 1, "threshold": 0.1}),
    ("negative-abs", NEGATIVE, 0.1, {"patience": 1, "threshold_mode": "abs", "threshold": 0.1}),
    ("negative-max-rel", NEGATIVE, 0.1, {"mode": "max", "patience": 1, "threshold": 0.1}),
]


@pytest.mark.parametrize(("metrics", "lr", "kwargs"), [s[1:] for s in SEQUENCES],
                         ids=[s[0] for s in SEQUENCES])
def test_matches_torch_on_recorded_sequences(metrics, lr, kwargs):
    expected = torch_plateau_rates(metrics, lr, **kwargs)
    got = lrlib_rates(metrics, lr, **kwargs)
    np.testing.assert_array_equal(got, expected)
    # every sequence but one makes the rate drop; in slow-abs each 1e-5 step down beats
    # the absolute threshold 1e-6, so it counts as an improvement and the rate stays
    assert (len(set(got)) == 1) == (kwargs.get("threshold") == 1e-6)


def test_reduces_after_patience_plus_one_bad_steps():
    plateau = ReduceLROnPlateau(lr=1.0, factor=0.5, patience=3)
    rates = [plateau.step(1.0) for _ in range(5)]
    # step 1 sets best; steps 2-4 are 3 bad steps (= patience); step 5 is the 4th
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5]


def test_eps_stops_tiny_reductions():
    plateau = ReduceLROnPlateau(lr=1e-7, factor=0.5, patience=0)
    rates = [plateau.step(1.0) for _ in range(10)]
    assert min(rates) == pytest.approx(1.25e-8)  # the next halving would be < eps = 1e-8


@settings(max_examples=300, deadline=None)
@given(
    metrics=st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=60),
    mode=st.sampled_from(["min", "max"]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    threshold=st.sampled_from([0.0, 1e-4, 0.01, 0.3]),
    factor=st.sampled_from([0.1, 0.5, 0.9]),
    patience=st.integers(0, 4),
    cooldown=st.integers(0, 3),
    min_lr=st.sampled_from([0.0, 1e-3]),
)
def test_matches_torch_on_random_sequences(metrics, **kwargs):
    # coarse metric values make ties and near-ties common
    metrics = [round(m, 1) for m in metrics]
    np.testing.assert_array_equal(lrlib_rates(metrics, 0.1, **kwargs),
                                  torch_plateau_rates(metrics, 0.1, **kwargs))


@pytest.mark.parametrize("k", [0, 1, 7, 19, 33])
def test_resume_gives_the_identical_remaining_sequence(k):
    kwargs = {"patience": 2, "cooldown": 1, "factor": 0.5}
    metrics = NOISY
    full = lrlib_rates(metrics, 0.1, **kwargs)
    plateau = ReduceLROnPlateau(lr=0.1, **kwargs)
    for m in metrics[:k]:
        plateau.step(m)
    state = copy.deepcopy(plateau.state_dict())
    fresh = ReduceLROnPlateau(lr=0.1, **kwargs)
    fresh.load_state_dict(state)
    rest = [fresh.step(m) for m in metrics[k:]]
    np.testing.assert_array_equal(rest, full[k:])


def test_torch_metric_and_numpy_scalars_are_accepted():
    plateau = ReduceLROnPlateau(lr=0.1)
    plateau.step(torch.tensor(0.5))
    plateau.step(np.float32(0.4))
    assert plateau.best == pytest.approx(0.4)


NAN = float("nan")
BAD = [
    (lambda: ReduceLROnPlateau(lr=-1.0), "ReduceLROnPlateau: lr must be a finite number >= 0, "
                                         "got lr=-1.0"),
    (lambda: ReduceLROnPlateau(lr=NAN), "ReduceLROnPlateau: lr must be .* got lr=nan"),
    (lambda: ReduceLROnPlateau(0.1, mode="minimum"),
     "ReduceLROnPlateau: mode must be one of 'min', 'max', got mode='minimum'"),
    (lambda: ReduceLROnPlateau(0.1, factor=1.0),
     r"ReduceLROnPlateau: factor must be a finite number in \(0, 1\), got factor=1.0"),
    (lambda: ReduceLROnPlateau(0.1, factor=0.0), "ReduceLROnPlateau: factor must be"),
    (lambda: ReduceLROnPlateau(0.1, patience=-1),
     "ReduceLROnPlateau: patience must be a non-negative int, got patience=-1"),
    (lambda: ReduceLROnPlateau(0.1, patience=2.5), "ReduceLROnPlateau: patience must be"),
    (lambda: ReduceLROnPlateau(0.1, threshold=-1e-4), "ReduceLROnPlateau: threshold must be"),
    (lambda: ReduceLROnPlateau(0.1, threshold_mode="relative"),
     "ReduceLROnPlateau: threshold_mode must be one of 'rel', 'abs'"),
    (lambda: ReduceLROnPlateau(0.1, cooldown=-2), "ReduceLROnPlateau: cooldown must be"),
    (lambda: ReduceLROnPlateau(0.1, min_lr=NAN), "ReduceLROnPlateau: min_lr must be"),
    (lambda: ReduceLROnPlateau(0.1, eps=-1.0), "ReduceLROnPlateau: eps must be"),
    (lambda: ReduceLROnPlateau(0.1).step(NAN),
     "ReduceLROnPlateau.step: metric must be a finite number, got metric=nan"),
    (lambda: ReduceLROnPlateau(0.1).step(float("inf")),
     "ReduceLROnPlateau.step: metric must be a finite number, got metric=inf"),
    (lambda: ReduceLROnPlateau(0.1).step("0.5x"), "ReduceLROnPlateau.step: metric must be"),
    (lambda: ReduceLROnPlateau(0.1).step(None), "ReduceLROnPlateau.step: metric must be"),
    (lambda: ReduceLROnPlateau(0.1).load_state_dict({"lr": 0.1}),
     "ReduceLROnPlateau: state_dict must be a dict with keys"),
]


@pytest.mark.parametrize(("make", "message"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        make()
