"""The Examples in lrlib's docstrings run and print what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import lrlib

MODULES = sorted(m.name for m in pkgutil.walk_packages(lrlib.__path__, "lrlib.")
                 if not m.name.split(".")[-1].startswith("_"))


def test_every_module_is_covered():
    for name in ["schedules", "plateau", "torch_bridge", "optim", "finder", "checks",
                 "coursework"]:
        assert f"lrlib.{name}" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


@pytest.mark.parametrize("name", MODULES)
def test_public_names_have_docstrings(name):
    module = importlib.import_module(name)
    assert module.__doc__
    for public in getattr(module, "__all__", []):
        assert getattr(module, public).__doc__, f"{name}.{public} has no docstring"
