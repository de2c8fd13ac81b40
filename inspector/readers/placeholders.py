"""Files that stand in for the real one: a Git LFS pointer or a BFG ``.REMOVED.git-id`` stub, or
something that is no regular file at all (a named pipe, a socket, a device).

Every reader asks before it reports a file as corrupt (a pointer is never a damaged checkpoint or
graph, it is the wrong file), so this module depends on no other reader: they all import it.
Readers also refuse non-regular files before opening them (:func:`refuse_special_file`): opening
a FIFO for reading waits for a writer, and a device such as /dev/zero never ends.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from inspector.errors import UnreadableInputError

LFS_MAGIC = b"version https://git-lfs"
REMOVED_SUFFIX = ".REMOVED.git-id"


_SPECIAL_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                  (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def special_file_problem(path: str | Path) -> UnreadableInputError | None:
    """An explanation when ``path`` exists but is neither a regular file nor a folder (checked with
    ``stat``, following symlinks, without opening it)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")
    return UnreadableInputError(
        f"is {kind}, not a regular file: reading it could wait for a writer forever or never end",
        path=str(path), fix="Pass the file itself (save what the pipe or device delivers to a regular "
        "file first)")


def refuse_special_file(path: str | Path) -> None:
    """Raise :func:`special_file_problem`'s error, if any: call it before opening ``path``."""
    problem = special_file_problem(path)
    if problem is not None:
        raise problem


def placeholder_problem(path: str | Path) -> UnreadableInputError | None:
    """An explanation when ``path`` is a Git LFS pointer or a BFG ``.REMOVED.git-id`` stub, or no
    regular file (never opened then)."""
    path = str(path)
    special = special_file_problem(path)
    if special is not None:
        return special
    stub = path if path.endswith(REMOVED_SUFFIX) else path + REMOVED_SUFFIX
    if os.path.isfile(stub) and (path == stub or not os.path.exists(path)):
        real = Path(stub).name[:-len(REMOVED_SUFFIX)]
        return UnreadableInputError(
            f"{real} was removed from the repository it came from (BFG left only the "
            f"{Path(stub).name} stub, which holds a Git object id, not the file)", path=stub,
            fix="Get the real file from the original author or an older clone")
    try:
        with open(path, "rb") as fh:
            head = fh.read(200)
    except (OSError, ValueError):  # ValueError: a NUL byte in the path (a damaged state file)
        return None
    if head.startswith(LFS_MAGIC):
        size = re.search(rb"\nsize (\d+)", head)
        real = f" of {int(size.group(1)):,} bytes" if size else ""
        return UnreadableInputError(
            f"is a Git LFS pointer ({os.path.getsize(path)} bytes), not the real file{real}", path=path,
            fix="Run `git lfs pull` in the repository it came from, then try again")
    return None
