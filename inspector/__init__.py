"""ckpt2pb's inspector: read TensorFlow checkpoints, graphs and SavedModels without TensorFlow.

Public API (loaded lazily, so that ``inspect --help`` starts fast)::

    from inspector import inspect_path, Ckpt2pbError
    report = inspect_path("runs/mnist/model.ckpt-300")   # the `inspect --json` object
"""

from __future__ import annotations

__all__ = ["Ckpt2pbError", "UnreadableInputError", "UsageError", "inspect_path"]


def __getattr__(name: str):
    """Everything loads on first use: the console scripts import this package before their first
    statement runs, and Ctrl-C is handled only from there (inspector/interrupts.py)."""
    if name == "inspect_path":
        from inspector.report import inspect_path

        return inspect_path
    if name in __all__:
        from inspector import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'inspector' has no attribute {name!r}")
