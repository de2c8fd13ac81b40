"""Freeze TensorFlow checkpoints into ``.pb`` graphs without TensorFlow.

>>> from freezer import freeze
>>> result = freeze("model_dir/", auto_outputs=True, output_path="frozen.pb")  # doctest: +SKIP
>>> result.outputs, result.validation.ok  # doctest: +SKIP
"""

from __future__ import annotations

from freezer.api import FreezeResult, freeze

__all__ = ("FreezeResult", "freeze")
