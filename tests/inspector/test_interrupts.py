"""Ctrl-C and SIGTERM at any point of a command, from its first statement: one line, exit 130 / 143.

Each run is the console script itself (``from inspector.cli import main; sys.exit(main())``) in a
subprocess that sends itself the signal when a chosen module is first imported: during the
command module's own imports (before run_main), during the lazy imports of the run, and while the
command works. No timing: the points are import events, the same on every machine.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from fixtures.registry import DATA

CNN = DATA / "checkpoints" / "cnn_bn_momentum"

_SCRIPT = """
import os, signal, sys
class SignalOnImport:
    def find_spec(self, name, path=None, target=None):
        if name == {target!r}:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), {signum})
        return None
sys.meta_path.insert(0, SignalOnImport())
sys.argv = {argv!r}
from {package}.cli import main
sys.exit(main())
"""

#: (command, module whose first import sends the signal): the command module's imports right after
#: its first statement, protobuf, the freezer's core, the readers and the ranking (imported while
#: the command runs).
POINTS = [("inspect", "inspector.cli_common"), ("inspect", "inspector.render"),
          ("inspect", "google.protobuf"), ("inspect", "inspector.readers.bundle"),
          ("inspect", "inspector.ranking"), ("freeze", "freezer.api"), ("freeze", "inspector.cli_common"),
          ("freeze", "google.protobuf"), ("freeze", "freezer.writer"), ("freeze", "inspector.roles")]
EARLY = [("inspect", "inspector.cli_common"), ("freeze", "freezer.api"), ("freeze", "freezer.writer")]


def _run(command: str, target: str, signum: int, tmp_path, *extra: str) -> subprocess.CompletedProcess:
    argv = [command, str(CNN), *extra]
    if command == "freeze":
        argv += ["--auto-outputs", "-o", str(tmp_path / "out.pb")]
    script = _SCRIPT.format(target=target, signum=int(signum), argv=argv,
                            package="inspector" if command == "inspect" else "freezer")
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)


@pytest.mark.parametrize(("command", "target"), POINTS)
def test_ctrl_c_at_any_point_is_one_line_and_exit_130(tmp_path, command, target):
    done = _run(command, target, signal.SIGINT, tmp_path)
    assert "Traceback" not in done.stderr and done.stderr == f"{command}: interrupted\n", done.stderr
    assert done.returncode == 130
    assert not list(tmp_path.iterdir())  # nothing written, nothing left behind


@pytest.mark.parametrize(("command", "target"), EARLY)
def test_sigterm_is_one_line_and_exit_143_with_the_json_error_for_json(tmp_path, command, target):
    done = _run(command, target, signal.SIGTERM, tmp_path, "--json")
    assert "Traceback" not in done.stderr and done.stderr == f"{command}: terminated\n", done.stderr
    assert done.returncode == 143
    assert json.loads(done.stdout) == {"error": "TERMINATED", "path": None, "problem": "terminated",
                                       "fix": None, "exit_code": 143}


def test_the_early_handler_is_only_for_the_console_script_and_leaves_other_handlers_alone(monkeypatch):
    from inspector.interrupts import exit_on_signals

    previous = signal.getsignal(signal.SIGINT)
    exit_on_signals("inspect")  # sys.argv[0] is pytest: a program importing inspector.cli
    assert signal.getsignal(signal.SIGINT) is previous
    monkeypatch.setattr(sys, "argv", ["/usr/bin/inspect"])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        exit_on_signals("inspect")
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
