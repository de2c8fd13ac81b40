"""Temporary files for atomic writes (``freeze``'s output, ``inspect --html/--dot``), named so that a
later run recognises the ones a killed run left behind.

An output is written to ``.<name>.ckpt2pb-<host>-<pid>-<random>.tmp`` beside it and renamed over
it when complete; an error or Ctrl-C removes it. Only ``kill -9`` (or a crash of the machine)
leaves it, up to the output's full size. Every later write into the same folder removes such
files whose process, on this host, no longer exists, and says so: a file of another host (a
shared folder) or of a live process (a freeze still running) is never touched.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import tempfile
from pathlib import Path

LOG = logging.getLogger("ckpt2pb")
MARK = "ckpt2pb"
_STALE = re.compile(rf"^\..+\.{MARK}-(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-[^.]+\.tmp$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname()) or "host"


def create_temp(target: str | os.PathLike) -> tuple[int, str]:
    """``(fd, path)`` of a new temporary file beside ``target`` (mode 0600, as ``mkstemp``), after
    removing the stale ones killed runs left in that folder. Raises OSError like ``mkstemp``."""
    target = Path(target)
    folder = target.parent
    remove_stale(folder)
    return tempfile.mkstemp(prefix=f".{target.name}.{MARK}-{_host()}-{os.getpid()}-", suffix=".tmp",
                            dir=folder)


def remove_stale(folder: str | os.PathLike) -> list[Path]:
    """Remove this host's temporary files in ``folder`` whose process is gone; the removed paths."""
    host = _host()
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _STALE.match(entry.name)
        if not match or match["host"] != host or _alive(int(match["pid"])):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            size = entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.path)
        except OSError:  # gone already (another run cleaned it), or not ours to remove
            continue
        removed.append(Path(entry.path))
        LOG.warning("removed %s (%s bytes), a temporary file left by an earlier run that was killed "
                    "(process %s)", entry.path, f"{size:,}", match["pid"])
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):  # exists (another user's), or cannot tell: keep
        return True
    return True
