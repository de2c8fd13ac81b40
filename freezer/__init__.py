"""Freeze TensorFlow checkpoints into ``.pb`` graphs without TensorFlow.

>>> from freezer import freeze
>>> result = freeze("model_dir/", auto_outputs=True, output_path="frozen.pb")  # doctest: +SKIP
>>> result.outputs, result.validation.ok  # doctest: +SKIP
"""

from __future__ import annotations

__all__ = ("FreezeResult", "freeze")


def __getattr__(name: str):
    """``freeze`` and ``FreezeResult`` load on first use: the ``freeze`` command imports this
    package before its first statement runs, and must start fast (inspector/interrupts.py)."""
    if name in __all__:
        from freezer import api

        return getattr(api, name)
    raise AttributeError(f"module 'freezer' has no attribute {name!r}")
