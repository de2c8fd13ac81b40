"""Temporary files of atomic writes: what a killed run leaves is removed by the next one, with a note."""

from __future__ import annotations

import signal
import subprocess
import sys

from fixtures.registry import DATA
from inspector import tempfiles

CNN = DATA / "checkpoints" / "cnn_bn_momentum"

_WRITER = """
import sys, time
from freezer.writer import AtomicOutput
out = AtomicOutput(sys.argv[1])
out.file.write(b"x" * 100000)
out.file.flush()
print(out.temp_path, flush=True)
time.sleep(600)
"""


def _half_written(target) -> tuple[subprocess.Popen, str]:
    """A process in the middle of writing ``target``: (the process, its temporary file)."""
    process = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], stdout=subprocess.PIPE,
                               text=True)
    return process, process.stdout.readline().strip()


def test_a_killed_freezes_temporary_file_is_removed_by_the_next_write_with_a_note(tmp_path, capsys):
    from freezer.cli import main

    running, live = _half_written(tmp_path / "other.pb")  # another freeze, still writing
    killed, stale = _half_written(tmp_path / "model.pb")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    other_host = tmp_path / ".model.pb.ckpt2pb-elsewhere-1-abc.tmp"
    other_host.write_bytes(b"a shared folder: another machine's run")
    unrelated = tmp_path / ".model.pb.tmp"
    unrelated.write_bytes(b"not ours")
    try:
        assert (tmp_path / stale.rsplit("/", 1)[-1]).stat().st_size == 100000  # what kill -9 leaves
        assert main([str(CNN), "--outputs", "probabilities", "-o", str(tmp_path / "model.pb"), "-q"]) == 0
        err = capsys.readouterr().err
        assert f"removed {stale} (100,000 bytes), a temporary file left by an earlier run that was killed " \
               f"(process {killed.pid})" in err
        names = {p.name for p in tmp_path.iterdir()}
        assert names == {"model.pb", live.rsplit("/", 1)[-1], other_host.name, unrelated.name}
    finally:
        running.kill()
        running.wait()


def test_temporary_names_carry_host_and_pid_and_the_html_view_cleans_too(tmp_path, capsys):
    import os

    fd, path = tempfiles.create_temp(tmp_path / "page.html")
    os.close(fd)
    assert os.path.basename(path).startswith(f".page.html.ckpt2pb-{tempfiles._host()}-{os.getpid()}-")
    assert tempfiles.remove_stale(tmp_path) == []  # this process is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".page.html.ckpt2pb-{tempfiles._host()}-{dead.stdout.strip()}-x1.tmp"
    stale.write_bytes(b"<html>half")
    from inspector.cli import main

    assert main([str(CNN), "--html", str(tmp_path / "page.html"), "-q"]) == 0
    assert not stale.exists() and "removed" in capsys.readouterr().err
