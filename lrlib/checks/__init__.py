"""Checks for the book's exercises.

Each chapter has a module here (``lrlib.checks.ch01``, ...) with one check per
exercise. A check compares a learner's function or result with the reference on
several inputs, including the edge a careless solution misses, and

* passes quietly except for one confirmation line (``✓ Exercise 1.2 passed: ...``), or
* raises ``AssertionError`` saying what is wrong in terms a learner can act on: which
  input or step, expected versus got, and a hint at the usual mistake.

In a notebook::

    from lrlib import checks
    checks.ch01.gradient_descent(my_gradient_descent)

The shared machinery is in ``lrlib.checks._core``.
"""

from __future__ import annotations

import importlib
import pkgutil

from lrlib.checks._core import CheckFailed

__all__ = ["CheckFailed"]


def __getattr__(name: str):
    """Import chapter modules on first use (``checks.ch01`` after ``from lrlib import checks``)."""
    if name.startswith("ch") and name[2:].isdigit():
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def chapters() -> list[str]:
    """Names of the chapter check modules that exist (``['ch01', ...]``)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch"))
