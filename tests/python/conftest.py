"""Shared fixtures: the build's lamella package is on sys.path (ctest sets PYTHONPATH to it)."""

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture
def bin_dir() -> Path:
    """The build directory holding `bootstrap` and `lamella` (set by ctest)."""
    value = os.environ.get("LAMELLA_BIN_DIR")
    if not value:
        pytest.fail("LAMELLA_BIN_DIR is not set: run these tests through ctest")
    return Path(value)


@pytest.fixture
def fresh_modules():
    """Forgets modules a test imported from its temporary directory."""
    before = set(sys.modules)
    path_before = list(sys.path)
    yield
    for name in set(sys.modules) - before:
        del sys.modules[name]
    sys.path[:] = path_before
