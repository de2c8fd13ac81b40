"""ckpt2pb's inspector: read TensorFlow checkpoints, graphs and SavedModels without TensorFlow.

Public API (loaded lazily, so that ``inspect --help`` starts fast)::

    from inspector import inspect_path, Ckpt2pbError
    report = inspect_path("runs/mnist/model.ckpt-300")   # the `inspect --json` object
"""

from __future__ import annotations

from typing import Any

from inspector.errors import Ckpt2pbError, UnreadableInputError, UsageError

__all__ = ["Ckpt2pbError", "UnreadableInputError", "UsageError", "inspect_path"]


def __getattr__(name: str) -> Any:
    if name == "inspect_path":
        from inspector.report import inspect_path

        return inspect_path
    raise AttributeError(f"module 'inspector' has no attribute {name!r}")
