"""MNIST-1D, generated locally and cached, plus minibatch helpers.

:func:`load_mnist1d` builds MNIST-1D (Greydanus, 2020) with the ``mnist1d`` package's
own generator, ``make_dataset(get_dataset_args())`` -- never its download path -- and
caches the arrays in memory and on disk, so eight chapters do not regenerate them.
:func:`split_validation` carves a validation set out of the training set;
:func:`to_tensors` and :func:`batches` feed the arrays to torch (imported only inside
those two functions, so the numpy path works without importing torch).

>>> from lrlib.data import load_mnist1d
>>> data = load_mnist1d()
>>> print(f"{data.x_train.shape} {data.x_test.shape} {data.num_classes} classes")
(4000, 40) (1000, 40) 10 classes

References
----------
Greydanus, S. (2020). Scaling down deep learning. arXiv:2011.14439.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from lrlib import _validation as V

__all__ = [
    "Dataset",
    "batches",
    "cache_dir",
    "load_mnist1d",
    "split_validation",
    "to_tensors",
]

# Bump when the cached file layout changes, so old files are never read.
_CACHE_FORMAT = 1
_SPLITS = ("train", "test", "val")


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification data set: inputs and integer labels for train, test and validation.

    Parameters
    ----------
    x_train, y_train : ndarray or torch.Tensor
        Training inputs, shape ``(n_train, ...)``, and labels, shape ``(n_train,)``.
    x_test, y_test : ndarray or torch.Tensor
        Test inputs and labels.
    x_val, y_val : ndarray or torch.Tensor, optional
        Validation inputs and labels; both or neither (see :func:`split_validation`).

    Attributes
    ----------
    has_validation : bool
        Whether ``x_val``/``y_val`` are set.
    num_classes : int
        ``1 + max`` label over all splits.

    Notes
    -----
    :func:`load_mnist1d` fills it with read-only numpy arrays (``x`` float32, ``y``
    int64); :func:`to_tensors` returns the same container holding torch tensors.
    Read-only arrays protect the in-memory cache: every caller shares them, so
    copy (``x.copy()``) before changing one.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.data import Dataset
    >>> d = Dataset(np.zeros((6, 3)), np.array([0, 1, 2, 0, 1, 2]), np.zeros((2, 3)),
    ...             np.array([0, 2]))
    >>> print(f"{len(d.y_train)} train, {d.num_classes} classes, val: {d.has_validation}")
    6 train, 3 classes, val: False
    """

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    x_val: Any = None
    y_val: Any = None

    def __post_init__(self):
        f = "Dataset"
        V.check((self.x_val is None) == (self.y_val is None), f, "y_val",
                "given if and only if x_val is given", self.y_val)
        for split in _SPLITS:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x is None:
                continue
            for name, arr in ((f"x_{split}", x), (f"y_{split}", y)):
                V.check(hasattr(arr, "shape") and len(arr.shape) >= 1, f, name,
                        "a numpy array or torch tensor with at least one axis", arr)
            V.check(len(y.shape) == 1 and y.shape[0] == x.shape[0], f, f"y_{split}",
                    f"a 1-D array with one label per row of x_{split} ({x.shape[0]})",
                    tuple(y.shape))

    def __repr__(self) -> str:
        parts = [f"{s}={tuple(getattr(self, f'x_{s}').shape)}" for s in _SPLITS
                 if getattr(self, f"x_{s}") is not None]
        return f"Dataset({', '.join(parts)})"

    @property
    def has_validation(self) -> bool:
        """Whether a validation split is present."""
        return self.x_val is not None

    @property
    def num_classes(self) -> int:
        """``1 +`` the largest label in any split."""
        return 1 + max(int(getattr(self, f"y_{s}").max()) for s in _SPLITS
                       if getattr(self, f"y_{s}") is not None)


# ---------------------------------------------------------------------------
# MNIST-1D
# ---------------------------------------------------------------------------


def _dataset_args(seed: int) -> dict[str, Any]:
    """mnist1d's default arguments with our seed, minus the download URL."""
    from mnist1d.data import get_dataset_args

    args = get_dataset_args(as_dict=True)
    args = {k: v for k, v in args.items() if k != "url"}
    args["seed"] = seed
    return args


def _cache_key(args: dict[str, Any]) -> str:
    """A hash of everything that determines the arrays."""
    from importlib.metadata import version

    payload = {"args": args, "mnist1d": version("mnist1d"), "format": _CACHE_FORMAT}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _generate(args: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run mnist1d's generator, leaving the global ``random``/``np.random`` state as it was."""
    from mnist1d.data import make_dataset
    from mnist1d.utils import ObjectView

    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        raw = make_dataset(ObjectView(dict(args)))
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {"x_train": raw["x"].astype(np.float32), "y_train": raw["y"].astype(np.int64),
            "x_test": raw["x_test"].astype(np.float32),
            "y_test": raw["y_test"].astype(np.int64)}


def _valid_arrays(arrays: dict[str, np.ndarray], args: dict[str, Any]) -> bool:
    n_train = int(args["num_samples"] // 10 * 10 * args["train_split"])
    length = args["final_seq_length"]
    return (arrays["x_train"].shape == (n_train, length)
            and arrays["y_train"].shape == (n_train,)
            and arrays["x_test"].ndim == 2 and arrays["x_test"].shape[1] == length
            and arrays["y_test"].shape == (arrays["x_test"].shape[0],)
            and arrays["x_train"].dtype == np.float32 and arrays["y_train"].dtype == np.int64)


def _read(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays stored at ``path``, or None if missing, unreadable or not ours."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            if str(npz["key"]) != key:
                return None
            return {name: np.array(npz[name]) for name in
                    ("x_train", "y_train", "x_test", "y_test")}
    except Exception:  # any unreadable file just means "regenerate"
        return None


def _write(path: Path, key: str, arrays: dict[str, np.ndarray]) -> None:
    """Write atomically: a temporary file in the same directory, then ``os.replace``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    except OSError as err:
        warnings.warn(f"load_mnist1d: cannot write the cache in {path.parent} ({err}); "
                      "the data set will be regenerated next time", stacklevel=3)
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, key=np.array(key), **arrays)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache is a plain file
        os.replace(tmp, path)
    except OSError as err:
        warnings.warn(f"load_mnist1d: cannot write {path} ({err})", stacklevel=3)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def cache_dir() -> Path:
    """Return the directory of lrlib's on-disk cache.

    Returns
    -------
    pathlib.Path
        ``$LRLIB_CACHE`` if that environment variable is set and not empty, else
        ``~/.cache/lrlib``. Read at every call, so changing the variable takes effect
        at once.

    Examples
    --------
    >>> import os
    >>> from pathlib import Path
    >>> from lrlib.data import cache_dir
    >>> expected = os.environ.get("LRLIB_CACHE") or Path.home() / ".cache" / "lrlib"
    >>> print(cache_dir() == Path(expected).expanduser())
    True
    """
    env = os.environ.get("LRLIB_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lrlib"


@functools.lru_cache(maxsize=8)
def _load_cached(seed: int, directory: str) -> Dataset:
    args = _dataset_args(seed)
    key = _cache_key(args)
    path = Path(directory) / f"mnist1d-{key}.npz"
    arrays = _read(path, key)
    if arrays is None or not _valid_arrays(arrays, args):
        arrays = _generate(args)
        _write(path, key, arrays)
    return _frozen(arrays)


def _frozen(arrays: dict[str, np.ndarray]) -> Dataset:
    for arr in arrays.values():
        arr.setflags(write=False)
    return Dataset(**arrays)


def load_mnist1d(seed: int = 42, *, cache: bool = True) -> Dataset:
    """Return MNIST-1D: 4000 training and 1000 test sequences of length 40, 10 classes.

    Parameters
    ----------
    seed : int, default=42
        Seed of the generator, >= 0. 42 is the ``mnist1d`` default, the data set of
        the paper.
    cache : bool, default=True
        If True, reuse the arrays already built in this process, else those stored
        in :func:`cache_dir` (a ``.npz`` file named by a hash of the generator's
        arguments and the ``mnist1d`` version), else generate and store them. If
        False, generate afresh and touch no cache.

    Returns
    -------
    Dataset
        ``x_train`` float32 ``(4000, 40)``, ``y_train`` int64 ``(4000,)``, ``x_test``
        float32 ``(1000, 40)``, ``y_test`` int64 ``(1000,)``; read-only arrays. The
        inputs are standardized over the whole set (mean 0, std 1).

    Notes
    -----
    The arrays come from ``mnist1d.data.make_dataset(get_dataset_args())`` (with
    ``seed`` replaced); nothing is downloaded. ``make_dataset`` seeds Python's
    ``random`` and ``numpy.random`` globally; this function saves and restores both
    states, so loading the data leaves the caller's random streams untouched. The
    inputs are stored as float32 (the generator gives float64) because torch trains
    faster in float32.

    The cache file is written to a temporary file and renamed, so two processes
    loading at once never see a half-written file; a file that cannot be read, or
    was written for other arguments, is regenerated and replaced. If the cache
    directory is not writable, a warning is issued and the data are still returned.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.data import load_mnist1d
    >>> data = load_mnist1d()
    >>> print(f"{data.x_train.dtype} {data.y_train.dtype} {np.bincount(data.y_test)[:3]}")
    float32 int64 [102 104  89]
    """
    f = "load_mnist1d"
    seed = V.integer(f, "seed", seed, low=0)
    cache = V.boolean(f, "cache", cache)
    if not cache:
        return _frozen(_generate(_dataset_args(seed)))
    return _load_cached(seed, str(cache_dir()))


load_mnist1d.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


def split_validation(data: Dataset, n_val: int, *, seed: int = 0) -> Dataset:
    """Move ``n_val`` random training examples into a validation split.

    Parameters
    ----------
    data : Dataset
        A data set without a validation split.
    n_val : int
        Number of validation examples, in ``[1, n_train - 1]``.
    seed : int, default=0
        Seed of the ``numpy.random.default_rng`` permutation, >= 0.

    Returns
    -------
    Dataset
        A new data set: ``n_train - n_val`` training examples, the same test set, and
        ``n_val`` validation examples. The training examples keep their order.

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.data import Dataset, split_validation
    >>> d = Dataset(np.arange(10.0)[:, None], np.arange(10) % 2, np.zeros((2, 1)),
    ...             np.array([0, 1]))
    >>> s = split_validation(d, n_val=3, seed=0)
    >>> print(f"{len(s.x_train)} train + {len(s.x_val)} val")
    7 train + 3 val
    """
    f = "split_validation"
    V.check(isinstance(data, Dataset), f, "data", "an lrlib.data.Dataset", data)
    V.check(not data.has_validation, f, "data", "a Dataset without a validation split",
            data)
    n_train = int(data.x_train.shape[0])
    n_val = V.integer(f, "n_val", n_val, low=1)
    V.check(n_val < n_train, f, "n_val", f"< the number of training examples ({n_train})",
            n_val)
    seed = V.integer(f, "seed", seed, low=0)
    perm = np.random.default_rng(seed).permutation(n_train)
    val_idx, train_idx = perm[:n_val], np.sort(perm[n_val:])

    def take(arr, idx):
        if isinstance(arr, np.ndarray):
            out = arr[idx]
            out.setflags(write=arr.flags.writeable)
            return out
        return arr[idx]

    return replace(data, x_train=take(data.x_train, train_idx),
                   y_train=take(data.y_train, train_idx),
                   x_val=take(data.x_train, val_idx), y_val=take(data.y_train, val_idx))


# ---------------------------------------------------------------------------
# torch
# ---------------------------------------------------------------------------


def to_tensors(data: Dataset, dtype: Any = None) -> Dataset:
    """Return the same data set holding torch tensors (``x`` float32 by default, ``y`` int64).

    Parameters
    ----------
    data : Dataset
        Numpy arrays or tensors.
    dtype : torch.dtype, optional
        Floating type of the inputs ``x``: ``torch.float32`` (the default) or
        ``torch.float64`` (for float64 models).

    Returns
    -------
    Dataset
        New CPU tensors (copies; the read-only numpy arrays are not shared).

    Examples
    --------
    >>> import numpy as np
    >>> from lrlib.data import Dataset, to_tensors
    >>> d = to_tensors(Dataset(np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.zeros((2, 2)),
    ...                        np.array([1, 0])))
    >>> print(f"{d.x_train.dtype} {d.y_train.dtype} {tuple(d.x_test.shape)}")
    torch.float32 torch.int64 (2, 2)
    """
    import torch

    V.check(isinstance(data, Dataset), "to_tensors", "data", "an lrlib.data.Dataset", data)
    x_dtype = torch.float32 if dtype is None else dtype
    V.check(x_dtype in (torch.float32, torch.float64), "to_tensors", "dtype",
            "None, torch.float32 or torch.float64", dtype)
    out = {}
    for field in fields(Dataset):
        value = getattr(data, field.name)
        if value is None:
            out[field.name] = None
            continue
        kind = x_dtype if field.name.startswith("x") else torch.int64
        if isinstance(value, torch.Tensor):
            out[field.name] = value.to(dtype=kind)
        else:
            out[field.name] = torch.tensor(np.asarray(value), dtype=kind)
    return Dataset(**out)


def batches(x: Any, y: Any, batch_size: int, *, generator: Any = None,
            drop_last: bool = False) -> Iterator[tuple[Any, Any]]:
    """Iterate once over ``(x, y)`` in minibatches, shuffled by a torch generator.

    Parameters
    ----------
    x, y : torch.Tensor
        Inputs and labels with the same first dimension.
    batch_size : int
        Examples per batch, >= 1.
    generator : torch.Generator, optional
        Source of the shuffling permutation (one ``torch.randperm`` per call). Keep
        one generator for a whole run so that every epoch has a new, reproducible
        order. If None, the batches follow the stored order.
    drop_last : bool, default=False
        Whether to skip a last, smaller batch.

    Yields
    ------
    xb, yb : torch.Tensor
        One minibatch (indexed copies).

    Notes
    -----
    This is plain tensor indexing with a permutation: for a data set as small as
    MNIST-1D it is several times faster than ``torch.utils.data.DataLoader``, which
    collates every example separately. An epoch has
    :math:`\\lceil n / B \\rceil` batches (:math:`\\lfloor n / B \\rfloor` with
    ``drop_last``).

    Examples
    --------
    >>> import torch
    >>> from lrlib.data import batches
    >>> x, y = torch.arange(10.0), torch.arange(10)
    >>> print([len(yb) for _, yb in batches(x, y, batch_size=4)])
    [4, 4, 2]
    >>> gen = torch.Generator().manual_seed(0)
    >>> print(sorted(int(v) for _, yb in batches(x, y, 4, generator=gen) for v in yb))
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    import torch

    f = "batches"
    V.check(isinstance(x, torch.Tensor), f, "x", "a torch.Tensor", type(x).__name__)
    V.check(isinstance(y, torch.Tensor) and len(y) == len(x), f, "y",
            f"a torch.Tensor with the same length as x ({len(x)})", getattr(y, "shape", y))
    batch_size = V.integer(f, "batch_size", batch_size, low=1)
    drop_last = V.boolean(f, "drop_last", drop_last)
    V.check(generator is None or isinstance(generator, torch.Generator), f, "generator",
            "None or a torch.Generator", generator)
    return _batches(x, y, batch_size, generator, drop_last)


def _batches(x, y, batch_size, generator, drop_last):
    import torch

    n = len(x)
    order = None if generator is None else torch.randperm(n, generator=generator)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            yield x[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            yield x[idx], y[idx]
