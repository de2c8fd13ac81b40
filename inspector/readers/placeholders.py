"""Files that stand in for the real one: a Git LFS pointer or a BFG ``.REMOVED.git-id`` stub.

Every reader asks before it reports a file as corrupt (a pointer is never a damaged checkpoint or
graph, it is the wrong file), so this module depends on no other reader: they all import it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from inspector.errors import UnreadableInputError

LFS_MAGIC = b"version https://git-lfs"
REMOVED_SUFFIX = ".REMOVED.git-id"


def placeholder_problem(path: str | Path) -> UnreadableInputError | None:
    """An explanation when ``path`` is a Git LFS pointer or a BFG ``.REMOVED.git-id`` stub."""
    path = str(path)
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
    except OSError:
        return None
    if head.startswith(LFS_MAGIC):
        size = re.search(rb"\nsize (\d+)", head)
        real = f" of {int(size.group(1)):,} bytes" if size else ""
        return UnreadableInputError(
            f"is a Git LFS pointer ({os.path.getsize(path)} bytes), not the real file{real}", path=path,
            fix="Run `git lfs pull` in the repository it came from, then try again")
    return None
