"""Shared test configuration: repo root on sys.path, TensorFlow and corpus markers."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

HAVE_TF = importlib.util.find_spec("tensorflow") is not None


def pytest_collection_modifyitems(config, items):
    skip_tf = pytest.mark.skip(reason="TensorFlow is not installed (pip install -e '.[tf]')")
    for item in items:
        if "tf" in item.keywords and not HAVE_TF:
            item.add_marker(skip_tf)


@pytest.fixture
def data_dir() -> Path:
    return ROOT / "fixtures" / "data"
