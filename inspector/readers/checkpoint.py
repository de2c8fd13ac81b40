"""One interface over both checkpoint formats: ``open_checkpoint(prefix) -> CheckpointReader``.

V2 bundles (``<prefix>.index`` + ``.data-*``) and V1 tables (the prefix itself, or
``<prefix>-?????-of-NNNNN`` shards) list the same way and read to the same numpy arrays, so the
rest of the project never asks which format it has — except the freezer, which uses
:meth:`CheckpointReader.location` to copy bytes file-to-file when the format allows it.
"""

from __future__ import annotations

from pathlib import Path

from inspector.errors import UnreadableInputError
from inspector.readers.base import (
    DEFAULT_CHUNK,
    CheckpointReader,
    TensorMeta,
    checkpoint_format,
    v1_files,
)
from inspector.readers.bundle import BundleReader
from inspector.readers.v1 import V1Reader

__all__ = ["DEFAULT_CHUNK", "CheckpointReader", "TensorMeta", "checkpoint_format", "open_checkpoint",
           "v1_files"]


def open_checkpoint(prefix: str | Path) -> CheckpointReader:
    """Open the checkpoint named by ``prefix`` (no extension) in whichever format it is."""
    prefix = str(prefix)
    fmt = checkpoint_format(prefix)
    if fmt == "V2":
        return BundleReader(prefix)
    if fmt == "V1":
        return V1Reader(prefix)
    raise UnreadableInputError(
        f"no checkpoint found: neither {Path(prefix).name}.index (V2) nor a V1 checkpoint file exists",
        path=prefix, fix="Pass the checkpoint prefix (e.g. model.ckpt-300) or its folder")
