"""The shared machinery of the exercise checks: failing clearly, passing briefly.

Chapter check modules use these helpers so that every message has the same shape::

    Exercise 1.2: step 3: expected x = 0.512, got x = 0.64.
    Hint: did you update x before computing the gradient?
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np


class CheckFailed(AssertionError):
    """An exercise check found a mistake; the message says what and where."""


def fail(exercise: str, message: str, hint: str | None = None) -> None:
    """Raise :class:`CheckFailed` for ``exercise`` with a message and an optional hint."""
    text = f"Exercise {exercise}: {message}"
    if hint:
        text += f"\nHint: {hint}"
    raise CheckFailed(text)


def passed(exercise: str, message: str) -> None:
    """Print the one-line confirmation of a passed check."""
    print(f"✓ Exercise {exercise} passed: {message}")


def fmt(value: Any) -> str:
    """A short, readable rendering of a number, an array or anything else."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.size <= 8:
        return "[" + ", ".join(f"{float(v):.6g}" for v in value.ravel()) + "]"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def number(exercise: str, name: str, got: Any) -> float:
    """``float(got)`` if it is a finite real number, else fail saying what it is."""
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (numbers.Real, np.ndarray)):
        fail(exercise, f"{name} should be a number, got {type(got).__name__} {fmt(got)}.")
    arr = np.asarray(got)
    if arr.size != 1:
        fail(exercise, f"{name} should be a single number, got an array of shape {arr.shape}.")
    value = float(arr.reshape(()))
    if not math.isfinite(value):
        fail(exercise, f"{name} should be a finite number, got {value}.",
             "a nan or inf usually means the iteration diverged or divided by zero.")
    return value


def close(exercise: str, name: str, got: Any, expected: float, *, rtol: float = 1e-6,
          atol: float = 0.0, hint: str | None = None) -> float:
    """Check one number against the reference; return it as a float."""
    value = number(exercise, name, got)
    if not math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
        fail(exercise, f"expected {name} = {fmt(expected)}, got {name} = {fmt(value)}.", hint)
    return value


def array(exercise: str, name: str, got: Any, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """``got`` as a float array (of the given shape), or fail saying why not."""
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        fail(exercise, f"{name} should be an array of numbers, got {type(got).__name__} "
                       f"{fmt(got)}.")
    if shape is not None and arr.shape != tuple(shape):
        fail(exercise, f"{name} should have shape {tuple(shape)}, got shape {arr.shape}.")
    return arr


def sequence(exercise: str, name: str, got: Any, expected: Any, *, rtol: float = 1e-6,
             atol: float = 0.0, index_name: str = "step",
             hint: Callable[[int, float, float], str | None] | str | None = None) -> np.ndarray:
    """Check a sequence element by element; report the first element that differs.

    ``hint`` may be a string or a function ``hint(index, got, expected)`` that
    recognises a typical mistake from the first wrong value.
    """
    expected = np.asarray(expected, dtype=float)
    arr = array(exercise, name, got)
    if arr.shape != expected.shape:
        fail(exercise, f"{name} should have shape {expected.shape} (one value per "
                       f"{index_name}), got shape {arr.shape}.")
    bad = ~np.isclose(arr, expected, rtol=rtol, atol=atol, equal_nan=False)
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        where = np.unravel_index(i, arr.shape)
        pos = where[0] if len(where) == 1 else where
        g, e = float(arr.ravel()[i]), float(expected.ravel()[i])
        text = hint(int(i), g, e) if callable(hint) else hint
        fail(exercise, f"{index_name} {pos}: expected {name} = {fmt(e)}, got {fmt(g)}.", text)
    return arr


def call(exercise: str, func: Any, *args: Any, what: str | None = None, **kwargs: Any) -> Any:
    """Call the learner's function; turn a missing solution or a crash into a clear failure."""
    label = what or getattr(func, "__name__", "your function")
    if not callable(func):
        fail(exercise, f"expected a function, got {type(func).__name__} {fmt(func)}.")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        fail(exercise, f"{label} is not written yet: replace the `raise NotImplementedError` "
                       "with your solution.")
    except Exception as error:  # the learner's code failed: say how, don't crash the check
        fail(exercise, f"{label}({_arguments(args, kwargs)}) raised "
                       f"{type(error).__name__}: {error}")


def _arguments(args, kwargs) -> str:
    parts = [fmt(a) for a in args] + [f"{k}={fmt(v)}" for k, v in kwargs.items()]
    text = ", ".join(parts)
    return text if len(text) <= 100 else text[:97] + "..."
