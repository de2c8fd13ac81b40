"""Stand-ins for the real file: LFS pointers, BFG stubs, and files that are no regular file."""

from __future__ import annotations

import os
import socket

import pytest

from inspector.errors import UnreadableInputError
from inspector.readers.placeholders import placeholder_problem, refuse_special_file, special_file_problem
from tests.inspector.readers.builders import without_blocking


def test_a_named_pipe_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "model.ckpt-1.index"
    os.mkfifo(fifo)
    problem = without_blocking(lambda: placeholder_problem(fifo), [fifo])
    assert isinstance(problem, UnreadableInputError)
    assert str(problem) == (f"{fifo}: is a named pipe (FIFO), not a regular file: reading it could wait "
                            "for a writer forever or never end. Pass the file itself (save what the pipe "
                            "or device delivers to a regular file first).")
    with pytest.raises(UnreadableInputError, match="named pipe"):
        refuse_special_file(fifo)


def test_devices_and_sockets_are_refused_and_files_folders_and_absent_paths_are_not(tmp_path):
    assert "character device" in str(special_file_problem("/dev/null"))
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s"))
        assert "a socket" in str(special_file_problem(tmp_path / "s"))
    (tmp_path / "f").write_bytes(b"x")
    os.symlink(tmp_path / "f", tmp_path / "link")
    for path in (tmp_path / "f", tmp_path / "link", tmp_path, tmp_path / "absent"):
        assert special_file_problem(path) is None
        refuse_special_file(path)
