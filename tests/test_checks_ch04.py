"""The exercise checks of chapter 4: the reference passes, stubs and typical mistakes fail."""

from __future__ import annotations

import doctest
import functools
import math

import numpy as np
import pytest
import torch
from torch import nn

from lrlib import checks
from lrlib import schedules as S
from lrlib.checks import ch04
from lrlib.data import batches, load_mnist1d, to_tensors
from lrlib.finder import lr_range_test_torch
from lrlib.models import mlp


def test_module_docstring_example_runs():
    result = doctest.testmod(ch04, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_lazy_attribute_finds_the_module():
    assert checks.ch04 is ch04
    assert "ch04" in checks.chapters()


def todo(*args, **kwargs):
    raise NotImplementedError


# --- Exercise 4.1: triangular2 by hand ------------------------------------------------

REFERENCE_VALUES = (0.58, 0.9, 0.34, 0.5, 0.22)


def test_triangular2_reference_passes(capsys):
    ch04.triangular2_values(lambda: REFERENCE_VALUES)
    assert capsys.readouterr().out.startswith("✓ Exercise 4.1 passed")


def test_triangular2_reference_is_the_lrlib_schedule():
    p = ch04.TRIANGULAR2_PROBLEM
    sched = S.cyclic(base_lr=p["base_lr"], max_lr=p["max_lr"],
                     step_size_up=p["step_size_up"], mode="triangular2")
    assert sched(np.array(p["steps"])) == pytest.approx(REFERENCE_VALUES)


def test_triangular2_accepts_arrays_and_the_arithmetic():
    ch04.triangular2_values(lambda: np.array([0.1 + 0.8 * 0.6, 0.9, 0.1 + 0.8 * 0.6 / 2,
                                              0.5, 0.1 + 0.8 * 0.6 / 4]))


def test_triangular2_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="not written yet"):
        ch04.triangular2_values(todo)


@pytest.mark.parametrize(("answer", "message"), [
    ((0.58, 0.9, 0.58, 0.9, 0.58), r"t = 13: expected the rate 0.34, got 0.58\.\n"
                                   r"Hint: that is the triangular value"),
    ((0.34, 0.5, 0.22, 0.3, 0.16), r"t = 3: expected the rate 0.58, got 0.34\.\n"
                                   r"Hint: halved once too often"),
    ((0.58, 0.9, 0.29, 0.45, 0.145), r"t = 13: .* got 0.29\.\nHint: only the height "
                                     r"above base_lr is halved"),
    ((0.42, 0.74, 0.26, 0.42, 0.26), r"t = 3: expected the rate 0.58, got 0.42\.\n"
                                     r"Hint: that is the rate of the iteration before"),
    ((0.58, 0.9, 0.34, 0.5, 0.3), r"t = 27: expected the rate 0.22, got 0.3\.\n"
                                  r"Hint: find the cycle"),
])
def test_triangular2_typical_mistakes_get_their_hint(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch04.triangular2_values(lambda: answer)


@pytest.mark.parametrize(("answer", "message"), [
    ((0.58, 0.9, 0.34, 0.5), r"return 5 rates"),
    (0.58, r"return 5 rates"),
    ((0.58, "0.9", 0.34, 0.5, 0.22), r"the rate at t = 5 should be a number"),
    ((0.58, 0.9, float("nan"), 0.5, 0.22), r"the rate at t = 13 should be a finite number"),
])
def test_triangular2_rejects_malformed_answers(answer, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch04.triangular2_values(lambda: answer)


# --- Exercise 4.2: the triangular policy ------------------------------------------------

def reference_triangular(step, base_lr, max_lr, step_size_up, step_size_down=None):
    down = step_size_up if step_size_down is None else step_size_down
    total = step_size_up + down
    cycle = math.floor(1 + step / total)
    x = 1 + step / total - cycle
    ratio = step_size_up / total
    height = x / ratio if x <= ratio else (1 - x) / (1 - ratio)
    return base_lr + (max_lr - base_lr) * height


def test_triangular_reference_passes(capsys):
    ch04.triangular(reference_triangular)
    assert capsys.readouterr().out.startswith("✓ Exercise 4.2 passed")


def test_triangular_reference_matches_torch_convention_on_its_own():
    sched = S.cyclic(base_lr=0.2, max_lr=1.0, step_size_up=3, step_size_down=7)
    got = [reference_triangular(t, 0.2, 1.0, 3, 7) for t in range(40)]
    np.testing.assert_allclose(got, sched(np.arange(40)), rtol=1e-12)


def test_triangular_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="triangular is not written yet"):
        ch04.triangular(todo)


def starts_at_the_top(step, base_lr, max_lr, step_size_up, step_size_down=None):
    return max_lr + base_lr - reference_triangular(step, base_lr, max_lr, step_size_up,
                                                   step_size_down)


def always_symmetric(step, base_lr, max_lr, step_size_up, step_size_down=None):
    return reference_triangular(step, base_lr, max_lr, step_size_up)


def counts_from_one(step, base_lr, max_lr, step_size_up, step_size_down=None):
    return reference_triangular(step + 1, base_lr, max_lr, step_size_up, step_size_down)


def whole_cycle(step, base_lr, max_lr, step_size_up, step_size_down=None):
    half = max(step_size_up // 2, 1)
    down = None if step_size_down is None else max(step_size_down // 2, 1)
    return reference_triangular(step, base_lr, max_lr, half, down)


def smith_cycle_from_zero(step, base_lr, max_lr, step_size_up, step_size_down=None):
    cycle = math.floor(step / (2 * step_size_up))        # should be floor(1 + ...)
    x = abs(step / step_size_up - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


def smith_formula_everywhere(step, base_lr, max_lr, step_size_up, step_size_down=None):
    cycle = math.floor(1 + step / (2 * step_size_up))
    x = abs(step / step_size_up - 2 * cycle + 1)
    return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)


def returns_a_list(step, base_lr, max_lr, step_size_up, step_size_down=None):
    return [reference_triangular(step, base_lr, max_lr, step_size_up, step_size_down)] * 2


@pytest.mark.parametrize(("func", "message"), [
    (starts_at_the_top, r"step_size_up=4: step 0: expected 0.1, got 0.5\.\n"
                        r"Hint: the cycle starts at base_lr"),
    (always_symmetric, r"asymmetric.*step 4: expected 0.885714, got 0.733333\.\n"
                       r"Hint: that is the symmetric triangle"),
    (counts_from_one, r"step_size_up=4: step 0: expected 0.1, got 0.2\.\n"
                      r"Hint: that is the rate one iteration later"),
    (whole_cycle, r"step_size_up=4: step 1: expected 0.2, got 0.3\.\n"
                  r"Hint: step_size_up is half a cycle"),
    (smith_cycle_from_zero, r"step_size_up=4: step 1: expected 0.2, got 0.1\.\n"
                            r"Hint: the rate never leaves base_lr"),
    (smith_formula_everywhere, r"asymmetric.*step 4: .*\nHint: that is the symmetric triangle"),
    (returns_a_list, r"step_size_up=4: the rate at step 0 should be a number, got list"),
])
def test_triangular_typical_mistakes_get_their_hint(func, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch04.triangular(func)


def test_triangular_stuck_at_base_after_one_cycle_gets_its_hint():
    def one_cycle_only(step, base_lr, max_lr, step_size_up, step_size_down=None):
        down = step_size_up if step_size_down is None else step_size_down
        if step >= step_size_up + down:
            return base_lr
        return reference_triangular(step, base_lr, max_lr, step_size_up, step_size_down)

    with pytest.raises(checks.CheckFailed, match=r"step 9: expected 0.2, got 0.1\.\n"
                                                 r"Hint: after the first cycle"):
        ch04.triangular(one_cycle_only)


# --- Exercise 4.3: the range test and the batch size ------------------------------------

def reference_range_test(batch_size, seed):
    tensors = to_tensors(load_mnist1d())
    model = mlp(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    order = torch.Generator().manual_seed(seed)
    stream = list(batches(tensors.x_train, tensors.y_train, batch_size, generator=order))
    return lr_range_test_torch(model, nn.CrossEntropyLoss(), stream, optimizer,
                               start_lr=1e-3, end_lr=10.0, num_iter=200)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=16)
def cached_range_test(batch_size, seed):
    return reference_range_test(batch_size, seed)


def suggestion(result, key):
    return float(result.smoothed.min()) if key == "lowest loss" else result.suggestions[key]


def reference_medians(batch_size):
    results = [cached_range_test(batch_size, seed) for seed in (0, 1, 2)]
    return {key: float(np.median([suggestion(r, key) for r in results]))
            for key in ("minimum/10", "valley", "lowest loss")}


def test_range_test_reference_passes(capsys):
    ch04.range_test_batch_size(reference_range_test, reference_medians)
    out = capsys.readouterr().out
    assert out.startswith("✓ Exercise 4.3 passed")
    assert "from batch 16 to 256 the median suggestions grow and the lowest loss falls" in out


def test_range_test_reference_medians_move_with_the_batch_size():
    # the findings the check confirms must hold for the reference itself
    medians = [reference_medians(size) for size in (16, 64, 256)]
    for rule in ("minimum/10", "valley"):
        assert medians[0][rule] < medians[1][rule] < medians[2][rule]
    assert medians[0]["lowest loss"] > medians[1]["lowest loss"] > medians[2]["lowest loss"]


def test_range_test_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="range_test_for_batch_size is not written yet"):
        ch04.range_test_batch_size(todo, todo)


def test_range_test_medians_stub_fails_with_not_written_yet():
    with pytest.raises(checks.CheckFailed, match="median_suggestions is not written yet"):
        ch04.range_test_batch_size(reference_range_test, todo)


def medians_with(statistic, value=suggestion, seeds=(0, 1, 2), size_used=None,
                 keys=("minimum/10", "valley", "lowest loss")):
    def medians(batch_size):
        results = [cached_range_test(size_used or batch_size, seed) for seed in seeds]
        return {key: float(statistic([value(r, name) for r in results]))
                for key, name in zip(keys, ("minimum/10", "valley", "lowest loss"), strict=True)}
    return medians


def rate_at_minimum(result, key):
    return result.best_lr if key == "minimum/10" else suggestion(result, key)


def raw_lowest_loss(result, key):
    return float(np.min(result.losses)) if key == "lowest loss" else suggestion(result, key)


@pytest.mark.parametrize(("medians", "message"), [
    (medians_with(np.mean), r"median_suggestions\(16\)\['minimum/10'\] = .*\n"
                            r"Hint: that is the mean over the seeds"),
    (medians_with(np.median, seeds=(0,)), r"median_suggestions\(256\)\['minimum/10'\] = .*\n"
                                          r"Hint: that is the value of seed 0 alone"),
    (medians_with(np.median, keys=("valley", "minimum/10", "lowest loss")),
     r"median_suggestions\(16\)\['minimum/10'\] = .*\nHint: that is the median of the "
     r"'valley' rule"),
    (medians_with(np.median, value=rate_at_minimum),
     r"median_suggestions\(16\)\['minimum/10'\] = .*\nHint: that is the rate at the minimum"),
    (medians_with(np.median, value=raw_lowest_loss),
     r"median_suggestions\(16\)\['lowest loss'\] = .*\nHint: that is the lowest raw minibatch"),
    (medians_with(np.median, size_used=64),
     r"the median minimum/10 suggestion should grow with the batch size \(16, 256\): "
     r"expected .*, got .*\nHint: pass batch_size on to range_test_for_batch_size"),
    (lambda batch_size: {**reference_medians(batch_size), "lowest loss": 2.0},
     r"the median lowest smoothed loss should fall with the batch size \(16, 256\): "
     r"expected .*, got \[2, 2\]\.\nHint: pass batch_size on"),
    (lambda batch_size: [0.03, 0.02], r"median_suggestions\(16\): expected a dict with the "
                                      r"keys 'minimum/10', 'valley', 'lowest loss'"),
    (lambda batch_size: {"minimum/10": 0.03, "valley": 0.02}, r"expected a dict with the keys"),
    (lambda batch_size: {"minimum/10": "0.03", "valley": 0.02, "lowest loss": 2.0},
     r"median_suggestions\(16\)\['minimum/10'\] should be a number"),
])
def test_range_test_medians_typical_mistakes_get_their_hint(medians, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch04.range_test_batch_size(reference_range_test, medians)


def ignores_batch_size(batch_size, seed):
    return reference_range_test(64, seed)


def wrong_sweep(batch_size, seed):
    tensors = to_tensors(load_mnist1d())
    model = mlp(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    order = torch.Generator().manual_seed(seed)
    stream = list(batches(tensors.x_train, tensors.y_train, batch_size, generator=order))
    return lr_range_test_torch(model, nn.CrossEntropyLoss(), stream, optimizer,
                               num_iter=100)   # the defaults: 1e-7 to 10


def no_momentum(batch_size, seed):
    tensors = to_tensors(load_mnist1d())
    model = mlp(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    order = torch.Generator().manual_seed(seed)
    stream = list(batches(tensors.x_train, tensors.y_train, batch_size, generator=order))
    return lr_range_test_torch(model, nn.CrossEntropyLoss(), stream, optimizer,
                               start_lr=1e-3, end_lr=10.0, num_iter=200)


def unshuffled(batch_size, seed):
    tensors = to_tensors(load_mnist1d())
    model = mlp(seed=seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    stream = list(batches(tensors.x_train, tensors.y_train, batch_size))
    return lr_range_test_torch(model, nn.CrossEntropyLoss(), stream, optimizer,
                               start_lr=1e-3, end_lr=10.0, num_iter=200)


@pytest.mark.parametrize(("func", "message"), [
    (lambda batch_size, seed: reference_range_test(batch_size, seed).suggestions,
     r"batch_size=16, seed=0: expected the RangeTestResult"),
    (wrong_sweep, r"the rates should sweep from 0.001 to 10 in 200 iterations.*\n"
                  r"Hint: pass start_lr=1e-3"),
    (ignores_batch_size, r"batch_size=16, seed=0: first minibatch loss: .*\n"
                         r"Hint: that is the loss of a batch of 64"),
    (unshuffled, r"first minibatch loss: .*\nHint: the first loss is the untrained"),
    (no_momentum, r"batch_size=16, seed=0: iteration 2: .*the first loss matches.*\n"
                  r"Hint: use torch.optim.SGD\(model.parameters\(\), lr=0.1, momentum=0.9\)"),
])
def test_range_test_typical_mistakes_get_their_hint(func, message):
    with pytest.raises(checks.CheckFailed, match=message):
        ch04.range_test_batch_size(func, reference_medians)


def test_triangular_unrecognised_mistake_gets_the_recipe():
    def sine(step, base_lr, max_lr, step_size_up, step_size_down=None):
        return base_lr + (max_lr - base_lr) * math.sin(math.pi * step / (2 * step_size_up)) ** 2

    with pytest.raises(checks.CheckFailed, match=r"step 1: expected 0.2, got 0.158579\.\n"
                                                 r"Hint: compute the cycle c = floor"):
        ch04.triangular(sine)
