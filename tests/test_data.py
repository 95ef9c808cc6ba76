"""Tests for lrlib.data: MNIST-1D generation, caching, splits and batches."""

from __future__ import annotations

import random
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lrlib import data as D

ARRAYS = ("x_train", "y_train", "x_test", "y_test")


@pytest.fixture(scope="module")
def fresh():
    """MNIST-1D straight from mnist1d's generator (the reference for everything else)."""
    from mnist1d.data import get_dataset_args, make_dataset

    np_state, py_state = np.random.get_state(), random.getstate()
    raw = make_dataset(get_dataset_args())
    np.random.set_state(np_state)
    random.setstate(py_state)
    return D.Dataset(raw["x"].astype(np.float32), raw["y"], raw["x_test"].astype(np.float32),
                     raw["y_test"])


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """One real load through an empty cache directory, then one from the file.

    Records the global random states around the generating load and what is left in
    the directory, so the tests below share a single (1.5 s) generation.
    """
    directory = tmp_path_factory.mktemp("lrlib-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LRLIB_CACHE", str(directory))
        D.load_mnist1d.cache_clear()
        np.random.seed(123)
        random.seed(123)
        before = (np.random.get_state(), random.getstate())
        first = D.load_mnist1d()
        after = (np.random.get_state(), random.getstate())
        again = D.load_mnist1d()
        files = sorted(p.name for p in directory.iterdir())

        def no_generation(args):
            raise AssertionError("the disk cache should have been used")

        mp.setattr(D, "_generate", no_generation)
        D.load_mnist1d.cache_clear()
        from_disk = D.load_mnist1d()
        D.load_mnist1d.cache_clear()
    return SimpleNamespace(first=first, again=again, from_disk=from_disk, before=before,
                           after=after, files=files)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """An empty cache directory and an empty in-process cache."""
    monkeypatch.setenv("LRLIB_CACHE", str(tmp_path))
    D.load_mnist1d.cache_clear()
    yield tmp_path
    D.load_mnist1d.cache_clear()


@pytest.fixture
def fake_generate(fresh, monkeypatch):
    """Replace the slow generator by copies of ``fresh``; count the calls."""
    calls = []

    def generate(args):
        calls.append(args["seed"])
        return {name: np.array(getattr(fresh, name)) for name in ARRAYS}

    monkeypatch.setattr(D, "_generate", generate)
    return calls


def assert_same(a: D.Dataset, b: D.Dataset) -> None:
    for name in ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == getattr(b, name).dtype


def test_shapes_dtypes_and_classes(loaded):
    data = loaded.first
    assert data.x_train.shape == (4000, 40) and data.x_train.dtype == np.float32
    assert data.y_train.shape == (4000,) and data.y_train.dtype == np.int64
    assert data.x_test.shape == (1000, 40) and data.x_test.dtype == np.float32
    assert data.y_test.shape == (1000,) and data.y_test.dtype == np.int64
    assert data.num_classes == 10 and not data.has_validation
    # 500 examples per class in total, shuffled before the split
    counts = np.bincount(data.y_train, minlength=10) + np.bincount(data.y_test, minlength=10)
    np.testing.assert_array_equal(counts, 500)
    assert np.bincount(data.y_train).min() > 350
    # the generator standardizes the whole set
    x = np.concatenate([data.x_train, data.x_test]).astype(np.float64)
    assert abs(x.mean()) < 1e-5 and x.std() == pytest.approx(1.0, abs=1e-5)
    assert not data.x_train.flags.writeable


def test_generated_equals_mnist1d_reference(loaded, fresh):
    assert_same(loaded.first, fresh)


def test_global_rng_untouched(loaded):
    (np_before, py_before), (np_after, py_after) = loaded.before, loaded.after
    np.testing.assert_array_equal(np_before[1], np_after[1])
    assert np_before[2:] == np_after[2:]
    assert py_before == py_after


def test_cache_dir_is_honoured_and_cached_equals_fresh(loaded, fresh):
    assert len(loaded.files) == 1 and loaded.files[0].startswith("mnist1d-")
    assert loaded.files[0].endswith(".npz")  # and no temporary file is left behind
    assert loaded.again is loaded.first  # in-process cache
    assert loaded.from_disk is not loaded.first  # read back from the file ...
    assert_same(loaded.from_disk, fresh)  # ... equal to freshly generated data
    assert not loaded.from_disk.x_train.flags.writeable


def test_no_cache_generates_and_writes_nothing(tmp_cache, fresh, fake_generate):
    data = D.load_mnist1d(cache=False)
    D.load_mnist1d(cache=False)
    assert fake_generate == [42, 42]
    assert list(tmp_cache.iterdir()) == []
    assert_same(data, fresh)


def test_other_arguments_use_another_file(tmp_cache, fake_generate):
    D.load_mnist1d(seed=42)
    D.load_mnist1d(seed=7)
    D.load_mnist1d(seed=42)
    assert fake_generate == [42, 7]
    assert len(list(tmp_cache.glob("mnist1d-*.npz"))) == 2
    assert D._cache_key(D._dataset_args(42)) != D._cache_key(D._dataset_args(7))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "wrong-key"])
def test_corrupt_cache_is_regenerated(tmp_cache, fresh, fake_generate, damage):
    D.load_mnist1d()
    (path,) = tmp_cache.glob("mnist1d-*.npz")
    good = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not an npz file")
    elif damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    else:
        np.savez(path, key=np.array("someone else's"), x_train=np.zeros(3))
    D.load_mnist1d.cache_clear()
    assert_same(D.load_mnist1d(), fresh)
    assert len(fake_generate) == 2
    # the file was replaced by a good one
    D.load_mnist1d.cache_clear()
    assert_same(D.load_mnist1d(), fresh)
    assert len(fake_generate) == 2


def test_unwritable_cache_warns_but_returns_data(tmp_path, monkeypatch, fresh, fake_generate):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    monkeypatch.setenv("LRLIB_CACHE", str(blocker / "sub"))
    D.load_mnist1d.cache_clear()
    with pytest.warns(UserWarning, match="cannot write the cache"):
        data = D.load_mnist1d()
    D.load_mnist1d.cache_clear()
    assert_same(data, fresh)


def test_split_validation(loaded):
    fresh = loaded.first
    split = D.split_validation(fresh, n_val=500, seed=0)
    assert split.x_train.shape == (3500, 40) and split.x_val.shape == (500, 40)
    assert split.y_val.shape == (500,) and split.has_validation
    assert split.x_test is fresh.x_test
    # a partition of the original training set
    rows = np.concatenate([split.x_train, split.x_val])
    order = np.lexsort(rows.T)
    orig = fresh.x_train[np.lexsort(fresh.x_train.T)]
    np.testing.assert_array_equal(rows[order], orig)
    again = D.split_validation(fresh, n_val=500, seed=0)
    np.testing.assert_array_equal(again.y_val, split.y_val)
    other = D.split_validation(fresh, n_val=500, seed=1)
    assert not np.array_equal(other.y_val, split.y_val)
    assert not split.x_val.flags.writeable


def test_to_tensors_and_batches(loaded):
    fresh = loaded.first
    t = D.to_tensors(D.split_validation(fresh, 100))
    assert t.x_train.dtype == torch.float32 and t.y_train.dtype == torch.int64
    assert tuple(t.x_val.shape) == (100, 40)
    np.testing.assert_array_equal(t.x_test.numpy(), fresh.x_test)
    sizes = [len(yb) for _, yb in D.batches(t.x_train, t.y_train, 128)]
    assert sizes == [128] * 30 + [60]
    assert len(list(D.batches(t.x_train, t.y_train, 128, drop_last=True))) == 30

    def epoch(gen):
        return torch.cat([yb for _, yb in D.batches(t.x_train, t.y_train, 64, generator=gen)])

    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    e1, e2 = epoch(g1), epoch(g2)
    assert torch.equal(e1, e2)  # same seed, same order
    assert not torch.equal(e1, t.y_train)  # shuffled
    assert torch.equal(torch.sort(e1).values, torch.sort(t.y_train).values)
    assert not torch.equal(epoch(g1), e1)  # a new order each epoch


def test_import_does_not_need_torch():
    import subprocess
    import sys

    code = "import sys, lrlib.data; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

SMALL = D.Dataset(np.zeros((10, 2)), np.arange(10) % 3, np.zeros((2, 2)), np.array([0, 1]))
TX, TY = torch.zeros(5, 2), torch.zeros(5, dtype=torch.int64)

BAD = [
    (lambda: D.load_mnist1d(seed=-1), "load_mnist1d: seed must be a non-negative int"),
    (lambda: D.load_mnist1d(seed=float("nan")), "load_mnist1d: seed must be"),
    (lambda: D.load_mnist1d(seed=1.0), "load_mnist1d: seed must be"),
    (lambda: D.load_mnist1d(cache=1), "load_mnist1d: cache must be a bool, got cache=1"),
    (lambda: D.split_validation("data", 5), "split_validation: data must be an lrlib"),
    (lambda: D.split_validation(SMALL, 0), "split_validation: n_val must be a positive int"),
    (lambda: D.split_validation(SMALL, 10), r"split_validation: n_val must be < the number "
     r"of training examples \(10\), got n_val=10"),
    (lambda: D.split_validation(SMALL, 2.5), "split_validation: n_val must be"),
    (lambda: D.split_validation(SMALL, 2, seed=float("nan")), "split_validation: seed"),
    (lambda: D.split_validation(D.split_validation(SMALL, 2), 2),
     "split_validation: data must be a Dataset without a validation split"),
    (lambda: D.Dataset(np.zeros((3, 2)), np.zeros(4), np.zeros((1, 2)), np.zeros(1)),
     r"Dataset: y_train must be a 1-D array with one label per row of x_train \(3\)"),
    (lambda: D.Dataset(np.zeros((3, 2)), np.zeros(3), np.zeros((1, 2)), np.zeros(1),
                       x_val=np.zeros((1, 2))), "Dataset: y_val must be given if and only if"),
    (lambda: D.Dataset([1, 2], np.zeros(2), np.zeros((1, 2)), np.zeros(1)),
     "Dataset: x_train must be a numpy array or torch tensor"),
    (lambda: D.to_tensors({"x": 1}), "to_tensors: data must be an lrlib.data.Dataset"),
    (lambda: D.batches(TX, TY, 0), "batches: batch_size must be a positive int"),
    (lambda: D.batches(TX, TY, True), "batches: batch_size must be a positive int"),
    (lambda: D.batches(TX, TY[:3], 2), r"batches: y must be a torch.Tensor with the same "
     r"length as x \(5\)"),
    (lambda: D.batches(TX.numpy(), TY, 2), "batches: x must be a torch.Tensor"),
    (lambda: D.batches(TX, TY, 2, generator=0), "batches: generator must be None or"),
    (lambda: D.batches(TX, TY, 2, drop_last="yes"), "batches: drop_last must be a bool"),
]


@pytest.mark.parametrize("call, message", BAD, ids=[m.split(":")[0] + f"-{i}"
                                                     for i, (_, m) in enumerate(BAD)])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
