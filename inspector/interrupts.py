"""Ctrl-C and SIGTERM from a command's very first statement: one line, exit 130 / 143, no traceback.

The console scripts import ``inspector.cli`` / ``freezer.cli``, and these import protobuf, numpy and
the readers (a few hundred milliseconds). A Ctrl-C in that time would print Python's traceback of
whatever was being imported. :func:`exit_on_signals` is therefore the first thing both command
modules do: until :func:`~inspector.cli_common.run_main` takes over (it raises KeyboardInterrupt /
Terminated, so that ``with`` blocks remove half-written outputs), a signal ends the process at once
with one line (and, for ``--json``, the error object). Nothing has been written yet to clean up.

Imports only ``os``, ``signal`` and ``sys``, which the interpreter has loaded before any of ours.
"""

from __future__ import annotations

import os
import signal
import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143   # 128 + SIGTERM

_WHAT = {signal.SIGINT: ("INTERRUPTED", "interrupted", EXIT_INTERRUPTED),
         signal.SIGTERM: ("TERMINATED", "terminated", EXIT_TERMINATED)}


def exit_on_signals(prog: str) -> None:
    """Make SIGINT and SIGTERM end ``prog`` with one line and exit 130 / 143 until run_main starts.

    Only in the console script ``prog`` itself (``sys.argv[0]`` names it), from the main thread of a
    process whose SIGINT is still Python's default: a program or test that imports the command
    module keeps its own handling."""
    script = os.path.basename(sys.argv[0] if sys.argv else "")
    if script.removesuffix(".exe").removesuffix("-script.py") != prog:
        return
    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return
        handler = _exiter(prog)
        for signum in _WHAT:
            signal.signal(signum, handler)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no such signal here
        return


def _exiter(prog: str):
    def exit_now(signum, frame) -> None:
        code, problem, exit_code = _WHAT.get(signum, _WHAT[signal.SIGINT])
        message = f"{prog}: {problem}\n"
        if "--json" in sys.argv[1:]:
            # run_main's error object, written without importing json (the import may be what is running)
            _write(1, f'{{\n  "error": "{code}",\n  "path": null,\n  "problem": "{problem}",\n'
                      f'  "fix": null,\n  "exit_code": {exit_code}\n}}\n')
        _write(2, message)
        os._exit(exit_code)

    exit_now.ckpt2pb_early = True  # type: ignore[attr-defined]
    return exit_now


def _write(fd: int, text: str) -> None:
    try:
        os.write(fd, text.encode())
    except OSError:  # a closed pipe: the exit code still says it
        return
