"""The ``checkpoint`` state file: which checkpoints a folder holds and which is newest (FORMATS.md §2).

It is a text-format ``CheckpointState``. TF1's Saver writes *absolute* paths, so a folder copied
from another machine (or from Windows) names prefixes that do not exist here; we then look for
the same file name inside the folder the state file sits in, and say so in a warning.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from inspector.errors import UnreadableInputError
from inspector.proto import pb
from inspector.readers.base import checkpoint_format, v1_files
from inspector.readers.placeholders import placeholder_problem, refuse_special_file

_MAX_STATE_BYTES = 16 << 20
_WINDOWS_ABS = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_STEP = re.compile(r"-(\d+)$")
_SHARD_SUFFIX = re.compile(r"-(?:\d{5}|\?{5})-of-\d{5}$")


@dataclass(frozen=True)
class SavedCheckpoint:
    """One checkpoint the state file lists, with its path resolved on this machine."""

    recorded: str          # the path as written in the state file
    prefix: str            # where it is on this machine (may not exist)
    step: int | None
    exists: bool           # a checkpoint is there (not merely some file of that name)
    timestamp: float | None = None
    problem: str | None = None   # why it cannot be used, when it cannot: "does not exist", …


@dataclass
class CheckpointStateInfo:
    path: str
    state: object                          # pb.CheckpointState
    latest: SavedCheckpoint | None
    saved: list[SavedCheckpoint] = field(default_factory=list)   # oldest first, latest included
    warnings: list[str] = field(default_factory=list)


def step_of(prefix: str) -> int | None:
    """Global step encoded in a prefix (``model.ckpt-300`` -> 300); shard suffixes are ignored."""
    match = _STEP.search(_SHARD_SUFFIX.sub("", prefix.replace("\\", "/").rsplit("/", 1)[-1]))
    return int(match.group(1)) if match else None


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path)[-1]


def _is_absolute(path: str) -> bool:
    return os.path.isabs(path) or bool(_WINDOWS_ABS.match(path))


def read_state(path: str | Path) -> object:
    """Parse a state file into ``pb.CheckpointState``; raises UnreadableInputError with the reason."""
    path = str(path)
    refuse_special_file(path)
    try:
        size = os.path.getsize(path)
        if size > _MAX_STATE_BYTES:
            raise UnreadableInputError(f"is {size} bytes, far too large for a checkpoint state file",
                                       path=path, fix="Point ckpt2pb at the checkpoint prefix instead")
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableInputError(f"cannot read the checkpoint state file ({exc.strerror})", path=path,
                                   fix="Check that the file exists and is readable") from None
    state = pb.CheckpointState()
    try:
        text_format.Parse(raw.decode("utf-8"), state)
    except (UnicodeDecodeError, text_format.ParseError) as exc:
        problem = placeholder_problem(path)
        if problem is not None:
            raise problem from None
        detail = str(exc).splitlines()[0] if str(exc) else "not UTF-8 text"
        raise UnreadableInputError(
            f"is not a valid checkpoint state file ({detail})", path=path,
            fix="Pass the checkpoint prefix (e.g. model.ckpt-300) instead of the folder") from None
    return state


_TABLE_MAGIC = bytes.fromhex("57fb808b247547db")


def is_table(path: str) -> bool:
    """Whether ``path`` is a file ending in an SSTable footer (a V2 ``.index`` or a V1 checkpoint)."""
    try:
        size = os.path.getsize(path)
        if size < 48:
            return False
        with open(path, "rb") as fh:
            fh.seek(size - 8)
            return fh.read(8) == _TABLE_MAGIC
    except OSError:
        return False


def checkpoint_problem(prefix: str) -> str | None:
    """Why ``prefix`` names no checkpoint, or None when it does: its ``.index`` (V2) or its file (V1)
    must be a checkpoint table. A state file may name any file at all (``/etc/passwd``, ``../x``):
    checkpoint_format() only sees that a file of that name exists. A Git LFS pointer or BFG stub
    counts as a checkpoint here: its reader names the stub, which says more than a fallback would."""
    fmt = checkpoint_format(prefix)
    if fmt is None:
        return "does not exist"
    path = prefix + ".index" if fmt == "V2" else (v1_files(prefix) or [prefix])[0]
    if is_table(path) or placeholder_problem(path) is not None:
        return None
    if fmt == "V2":
        return "is not a checkpoint (its .index is no checkpoint index)"
    return "is not a checkpoint (no .index beside it, and no V1 checkpoint file)"


def locate(recorded: str, folder: str) -> tuple[str, str | None]:
    """Where a recorded prefix is on this machine, plus a warning when it had to be relocated.

    Relative entries are joined onto the state file's folder, as TF does. An entry that does not
    exist there (an absolute path from another machine, or a Windows ``..\\x``) is looked up by
    its file name inside the folder.
    """
    native = recorded if _is_absolute(recorded) else os.path.join(folder, recorded.replace("\\", os.sep))
    if checkpoint_problem(native) is None:
        if os.path.realpath(os.path.dirname(native)) != os.path.realpath(folder):
            # A copied training folder whose state file still names the original: say which is read.
            local = os.path.join(folder, _basename(recorded))
            here = (" (this folder has its own copy; pass its prefix to use it)"
                    if checkpoint_problem(local) is None else "")
            return native, (f"the checkpoint state file points outside its folder, at {native}; "
                            f"reading that{here}")
        return native, None
    local = os.path.join(folder, _basename(recorded))
    if local != native and checkpoint_problem(local) is None:
        return local, (f"the checkpoint state file records {recorded!r}, which does not exist here; "
                       f"using {_basename(recorded)} from {folder}")
    return native, None


def resolve_state(path: str | Path) -> CheckpointStateInfo:
    """Read a state file and resolve every checkpoint it lists relative to its folder."""
    path = str(path)
    folder = os.path.dirname(path) or "."
    state = read_state(path)
    info = CheckpointStateInfo(path=path, state=state, latest=None)
    stamps = list(state.all_model_checkpoint_timestamps)
    recorded = list(state.all_model_checkpoint_paths)
    if state.model_checkpoint_path and state.model_checkpoint_path not in recorded:
        recorded.append(state.model_checkpoint_path)
    warned = set()
    for i, rec in enumerate(recorded):
        prefix, warning = locate(rec, folder)
        if warning and rec not in warned:
            warned.add(rec)
            info.warnings.append(warning)
        problem = checkpoint_problem(prefix)
        saved = SavedCheckpoint(rec, prefix, step_of(rec), problem is None,
                                stamps[i] if i < len(stamps) else None, problem)
        info.saved.append(saved)
        if rec == state.model_checkpoint_path:
            info.latest = saved
    if not state.model_checkpoint_path:
        info.warnings.append("the checkpoint state file names no model_checkpoint_path")
    return info
