"""The ``>>>`` examples in ganaug's docstrings run; those that need a trained model or files are marked +SKIP."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ganaug

MODULES = sorted(m.name for m in pkgutil.walk_packages(ganaug.__path__, "ganaug.") if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed"


def test_examples_are_found():
    modules = ("ganaug.downstream.classifier",)
    counts = [doctest.testmod(importlib.import_module(n), verbose=False).attempted for n in modules]
    assert counts[0] >= 1  # the examples above are collected, not silently empty
