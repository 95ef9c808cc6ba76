"""Argument checks shared by every public lrlib function.

Every check raises ``ValueError`` with one message shape::

    "{func}: {name} must be {rule}, got {name}={value!r}"

and is written so that NaN fails it (``not (x > 0)`` rather than ``x <= 0``).
The helpers return the value converted to a plain Python ``float`` or ``int``,
so that frozen dataclasses hold clean values and print clean reprs.
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Iterable, Sequence
from typing import Any


def fail(func: str, name: str, rule: str, value: Any) -> None:
    """Raise the standard ``ValueError`` for argument ``name`` of ``func``."""
    raise ValueError(f"{func}: {name} must be {rule}, got {name}={value!r}")


def check(ok: bool, func: str, name: str, rule: str, value: Any) -> None:
    """Raise the standard ``ValueError`` unless ``ok``."""
    if not ok:
        fail(func, name, rule, value)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def real(func: str, name: str, value: Any, *, low: float | None = None,
         high: float | None = None, low_open: bool = False,
         high_open: bool = False) -> float:
    """Return ``float(value)`` if it is a finite real number in the given interval.

    ``low``/``high`` bound the interval (``None`` means unbounded);
    ``low_open``/``high_open`` exclude the bound itself.
    """
    rule = _interval_rule("a finite number", low, high, low_open, high_open)
    if not _is_real(value) or not math.isfinite(float(value)):
        fail(func, name, rule, value)
    x = float(value)
    if low is not None and not (x > low if low_open else x >= low):
        fail(func, name, rule, value)
    if high is not None and not (x < high if high_open else x <= high):
        fail(func, name, rule, value)
    return x


def positive(func: str, name: str, value: Any) -> float:
    """A finite number > 0."""
    return real(func, name, value, low=0.0, low_open=True)


def nonnegative(func: str, name: str, value: Any) -> float:
    """A finite number >= 0."""
    return real(func, name, value, low=0.0)


def integer(func: str, name: str, value: Any, *, low: int | None = None) -> int:
    """Return ``int(value)`` if it is an integer (not a bool, not a float) >= low."""
    if low is None:
        rule = "an int"
    elif low == 1:
        rule = "a positive int"
    elif low == 0:
        rule = "a non-negative int"
    else:
        rule = f"an int >= {low}"
    if not _is_int(value) or (low is not None and not value >= low):
        fail(func, name, rule, value)
    return int(value)


def boolean(func: str, name: str, value: Any) -> bool:
    """A real ``bool`` (``0``/``1`` are refused: they hide typos such as ``True``→``1.0``)."""
    if not isinstance(value, bool):
        fail(func, name, "a bool", value)
    return value


def one_of(func: str, name: str, value: Any, options: Iterable[str]) -> str:
    """One of the given strings."""
    options = tuple(options)
    if not isinstance(value, str) or value not in options:
        fail(func, name, "one of " + ", ".join(repr(o) for o in options), value)
    return value


def int_sequence(func: str, name: str, value: Any, *, low: int = 0,
                 strictly_increasing: bool = True) -> tuple[int, ...]:
    """A sequence of ints >= ``low``, strictly increasing when asked, as a tuple."""
    rule = f"a sequence of ints >= {low}"
    if strictly_increasing:
        rule = f"a strictly increasing sequence of ints >= {low}"
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, _np_ndarray())):
        fail(func, name, rule, value)
    items = list(value)
    if not all(_is_int(v) and v >= low for v in items):
        fail(func, name, rule, value)
    if strictly_increasing and any(b <= a for a, b in itertools.pairwise(items)):
        fail(func, name, rule, value)
    return tuple(int(v) for v in items)


def _np_ndarray() -> type:
    import numpy as np

    return np.ndarray


def _interval_rule(kind: str, low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return kind
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"{kind} in {left}{low:g}, {high:g}{right}"
    if low is not None:
        if low == 0 and low_open:
            return f"{kind} > 0"
        return f"{kind} {'>' if low_open else '>='} {low:g}"
    return f"{kind} {'<' if high_open else '<='} {high:g}"
