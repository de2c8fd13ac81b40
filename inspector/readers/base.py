"""What every checkpoint reader shares, and how to tell the formats apart by their files.

:class:`CheckpointReader` (the interface), :class:`TensorMeta` (one listed tensor) and the file
tests :func:`checkpoint_format` / :func:`v1_files`. The format readers (:mod:`.bundle`, :mod:`.v1`)
build on this module and :mod:`.checkpoint` chooses between them, so none of them imports another.
"""

from __future__ import annotations

import glob
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from inspector.errors import UnreadableInputError
from inspector.readers.placeholders import special_file_problem

if TYPE_CHECKING:  # numpy loads only when a tensor is read: listings stay light
    import numpy as np

DEFAULT_CHUNK = 1 << 20
_V1_SHARD = re.compile(r"-\d{5}-of-\d{5}$|-\?{5}-of-\d{5}$")


@dataclass(frozen=True)
class TensorMeta:
    """What a listing shows for one checkpoint key, known without touching tensor data.

    ``dtype`` is the numpy-style name (``float32``, ``bfloat16``, ``string``); ``nbytes`` is
    elements × item size for fixed-size types and the bytes stored on disk for strings/variants;
    ``partitioned`` says the tensor was saved in slices and is reassembled on read.
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    partitioned: bool = False

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)


class CheckpointReader:
    """Base class of the format readers; see ARCHITECTURE.md "Readers" for the contract."""

    #: file -> (device, inode, size, mtime in ns) when the reader opened it: see :meth:`changed_files`
    _identities: dict[str, tuple[int, int, int, int]]

    def _remember(self, path: str, fd: int) -> None:
        """Note which file ``path`` was when the reader opened it (``fd``), to tell later whether
        it was replaced or rewritten while the reader used it."""
        if not hasattr(self, "_identities"):
            self._identities = {}
        self._identities[path] = _identity(os.fstat(fd))

    def changed_files(self) -> list[tuple[str, str]]:
        """(file, what happened) for each file the reader opened that was since replaced, deleted,
        resized or rewritten: the values read from it may not be the checkpoint on disk now (a
        trainer saving the same prefix again while it was read)."""
        changed = []
        for path, then in getattr(self, "_identities", {}).items():
            try:
                now = _identity(os.stat(path))
            except OSError:
                changed.append((path, "was deleted"))
                continue
            if now[:2] != then[:2]:
                changed.append((path, "was replaced by another file"))
            elif now[2] != then[2]:
                changed.append((path, f"changed size from {then[2]} to {now[2]} bytes"))
            elif now[3] != then[3]:
                changed.append((path, "was modified (its modification time changed)"))
        return changed

    format: str = ""
    prefix: str = ""
    tensors: dict[str, TensorMeta]

    def read(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def raw_chunks(self, name: str, chunk_size: int = DEFAULT_CHUNK) -> Iterator[bytes]:
        raise NotImplementedError

    def location(self, name: str, verify: bool = True) -> tuple[str, int, int] | None:
        """(data file, offset, size) of an unsliced little-endian numeric tensor, else None.

        ``verify`` checks the stored CRC first; a caller that verifies while copying passes False.
        """
        self.meta(name)
        return None

    def close(self) -> None:
        """Release file handles and maps (arrays already returned stay valid)."""

    def meta(self, name: str) -> TensorMeta:
        try:
            return self.tensors[name]
        except KeyError:
            raise UnreadableInputError(
                f"the checkpoint has no tensor named {name!r}", path=self.prefix,
                fix="List the checkpoint's tensors with `inspect` and use one of those names") from None

    def __contains__(self, name: str) -> bool:
        return name in self.tensors

    def __enter__(self) -> CheckpointReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _identity(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def checkpoint_format(prefix: str | Path) -> str | None:
    """'V2' when ``<prefix>.index`` exists, 'V1' when the prefix (or its shard pattern) exists."""
    prefix = str(prefix)
    index = prefix + ".index"
    # os.path.isfile: False (not OSError) for a name the OS refuses; a named pipe: the reader says so
    if os.path.isfile(index) or special_file_problem(index):
        return "V2"
    if v1_files(prefix):
        return "V1"
    return None


def v1_files(prefix: str) -> list[str]:
    """Files of a V1 checkpoint: the prefix itself, a glob it spells, or its numbered shards."""
    if "\0" in prefix:  # no file system path holds a NUL byte (a damaged state file can name one)
        return []
    if any(c in prefix for c in "?*["):
        return sorted(glob.glob(glob.escape(str(Path(prefix).parent)) + "/" + Path(prefix).name))
    if os.path.isfile(prefix) or special_file_problem(prefix):  # the reader refuses a named pipe
        return [prefix]
    return sorted(glob.glob(glob.escape(prefix) + "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]"))
