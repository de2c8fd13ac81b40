"""Argument groups and the error-handling entry wrapper shared by ``inspect`` and ``freeze``.

Every command gets the same logging flags (``-v``/``-q``, ``--log-file``) and ``--json``. User
errors (:class:`~inspector.errors.Ckpt2pbError`) become one line on stderr and the error's exit
code; an unexpected exception is reported as a bug in ckpt2pb, with the traceback only at ``-vv``.

Everything a command prints goes through :func:`run_main`, which is therefore where control
characters are escaped (:func:`escape_controls`): node names, paths and messages come from the
user's files, and an ESC, BEL or CR in a crafted name must not clear the terminal, retitle the
window or overwrite a line. stdout, stderr and the log (file too) are escaped; ``--json`` is
unaffected (JSON already writes every control character as ``\\uXXXX``).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from inspector.errors import EXIT_UNREADABLE, Ckpt2pbError, UsageError

LOG = logging.getLogger("ckpt2pb")
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in ckpt2pb, not in the user's files


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--json``, ``-v``/``-q`` and ``--log-file`` to a command's parser."""
    group = parser.add_argument_group("output")
    group.add_argument("--json", action="store_true",
                       help="print one JSON object on stdout instead of the human-readable report")
    group.add_argument("-v", "--verbose", action="count", default=0,
                       help="say more: -v explains decisions, -vv adds debug logging")
    group.add_argument("-q", "--quiet", action="count", default=0,
                       help="say less: -q prints only the essentials, -qq only errors")
    group.add_argument("--log-file", metavar="PATH", help="also write the log to PATH")


def verbosity(args: argparse.Namespace) -> int:
    """Net verbosity: 0 normal, positive more, negative less."""
    return int(getattr(args, "verbose", 0)) - int(getattr(args, "quiet", 0))


def configure_logging(args: argparse.Namespace) -> None:
    level = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-2, min(1, verbosity(args))), logging.WARNING)
    if verbosity(args) >= 2:
        level = logging.DEBUG
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if getattr(args, "log_file", None):
        _refuse_model_file_as_log(args.log_file)
        try:
            handlers.append(logging.FileHandler(args.log_file))
        except OSError as error:
            raise UsageError(f"cannot write the log file ({error.strerror or error})", path=args.log_file,
                             fix="choose a writable file for --log-file") from None
    for handler in handlers:
        handler.setFormatter(_EscapingFormatter("%(levelname)s: %(message)s"))
    LOG.handlers[:] = handlers
    LOG.setLevel(level)
    LOG.propagate = False


_MODEL_FILE = re.compile(r"(^checkpoint$|\.(index|meta|pb|pbtxt|ckpt)$|\.data-\d{5}-of-\d{5}$"
                         r"|-\d{5}-of-\d{5}$)")


def _refuse_model_file_as_log(path: str) -> None:
    """The log is appended to ``--log-file``: never to a checkpoint or graph (that would corrupt an input)."""
    target = Path(path)
    if not os.path.isfile(target):  # False, not OSError, for a name the OS refuses (too long)
        return
    try:
        with open(target, "rb") as handle:
            binary = b"\0" in handle.read(4096)
    except OSError:
        binary = False
    if binary or _MODEL_FILE.search(target.name):
        raise UsageError("--log-file names an existing model or binary file; appending the log would "
                         "damage it", path=path,
                         fix="choose a new file or an existing text log for --log-file")


#: C0 controls but the newline, DEL, C1 controls, and the bidirectional overrides that reorder
#: what a terminal shows ("Trojan source"): never printed raw.
_CONTROLS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escaped(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character but the newline written as ``\\xNN`` (``\\uNNNN``)."""
    return _CONTROLS.sub(_escaped, text)


def shell_quote(word: str) -> str:
    """``word`` quoted for a POSIX shell (``shlex.quote``); a word holding a control character
    (which printing would escape) in bash's ``$'...'`` form instead, its bytes as ``\\xNN``, so
    that the printed command still gives back exactly ``word`` (bash, zsh, ksh; not plain sh)."""
    import shlex

    if not _CONTROLS.search(word):
        return shlex.quote(word)
    out = []
    for char in word:
        if char in "\\'":
            out.append("\\" + char)
        elif _CONTROLS.match(char):
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8"))
        else:
            out.append(char)
    return "$'" + "".join(out) + "'"


def shell_line(words: Sequence[str]) -> str:
    """``words`` as one command line to paste into a shell (see :func:`shell_quote`)."""
    return " ".join(shell_quote(str(word)) for word in words)


def path_argument(path: str) -> str:
    """A path as a command-line word: ``./-x.pb`` for ``-x.pb``, which argparse would take for a flag."""
    path = str(path)
    return f"./{path}" if path.startswith("-") else path


def output_arguments(names: Sequence[str]) -> list[str]:
    """The ``freeze`` arguments naming exactly ``names``: ``--outputs a,b`` when every name survives
    it (no comma, which it splits on; no leading '-', which argparse takes for a flag; no space at
    either end, which it strips), else one ``--output-node NAME`` each (``--output-node=-o`` for a
    leading '-'), in order."""
    if names and all(name and "," not in name and not name.startswith("-") and name == name.strip()
                     for name in names):
        return ["--outputs", ",".join(names)]
    words: list[str] = []
    for name in names:
        words += [f"--output-node={name}"] if name.startswith("-") else ["--output-node", name]
    return words


class EscapingStream:
    """A text stream that writes :func:`escape_controls` of what it is given to ``unescaped``;
    everything else (flush, fileno, isatty, encoding …) is the underlying stream's."""

    def __init__(self, stream) -> None:
        self.unescaped = stream

    def write(self, text: str) -> int:
        self.unescaped.write(escape_controls(text))
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self.unescaped, name)


class _EscapingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(super().format(record))


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout, in one write: ``json`` writes every control
    character (and all non-ASCII) as ``\\uXXXX``, so it skips run_main's escaping (a pass over
    megabytes for nothing: 20k variables took 0.41 s through json.dump's chunked writes, 0.13 s so)."""
    out = getattr(sys.stdout, "unescaped", sys.stdout)
    out.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_json"):
        return value.to_json()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def run_main(handler: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser,
             argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, configure logging and run ``handler``; map errors to exit codes.

    Whatever goes wrong, stderr gets one line and, with ``--json``, stdout one JSON object:
    a bad command line too (argparse's own error would print the usage and no JSON). What the
    command prints on stdout and stderr has its control characters escaped.
    """
    streams = sys.stdout, sys.stderr
    previous = _catch_signals()  # from here Ctrl-C / SIGTERM raise, so `with` blocks clean up
    sys.stdout, sys.stderr = EscapingStream(sys.stdout), EscapingStream(sys.stderr)
    try:
        try:
            return _run_main(handler, parser, argv)
        except Terminated:  # outside the handler: while parsing the command line or configuring logging
            return _fail(parser.prog, "terminated", _error_json("TERMINATED", "terminated", 143,
                                                                _json_requested(argv)), 143, label="")
        except KeyboardInterrupt:
            return _fail(parser.prog, "interrupted", _error_json("INTERRUPTED", "interrupted", 130,
                                                                 _json_requested(argv)), 130, label="")
    finally:
        sys.stdout, sys.stderr = streams
        for signum, handler_before in previous.items():  # inspector.interrupts' exit, for the console scripts
            if handler_before is not None:  # None: not installed from Python, cannot be put back
                signal.signal(signum, handler_before)


def _json_requested(argv: Sequence[str] | None) -> bool:
    return "--json" in (sys.argv[1:] if argv is None else argv)


def _run_main(handler: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser,
              argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_json = "--json" in argv

    def refuse(message: str) -> None:
        raise UsageError(message, fix=f"run `{parser.prog} --help` for the options")

    parser.error = refuse  # type: ignore[method-assign]
    try:
        args = parser.parse_args(argv)
        configure_logging(args)
    except Ckpt2pbError as error:
        return _fail(parser.prog, error.message, error.to_json() if wants_json else None, error.exit_code)
    wants_json = bool(getattr(args, "json", False))
    # A command lives for a second or so and builds acyclic structures (graph dicts, protobuf
    # messages): the cyclic collector would only rescan them, ~10% of an `inspect` run. Reference
    # counting still frees everything; the collector is back on when the command returns.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return handler(args)
    except Terminated:
        return _fail(parser.prog, "terminated", _error_json("TERMINATED", "terminated", 143, wants_json),
                     143, label="")
    except Ckpt2pbError as error:
        return _fail(parser.prog, error.message, error.to_json() if wants_json else None, error.exit_code)
    except KeyboardInterrupt:
        return _fail(parser.prog, "interrupted", _error_json("INTERRUPTED", "interrupted", 130, wants_json),
                     130, label="")
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except MemoryError:
        return _fail(parser.prog, "out of memory",
                     _error_json("OUT_OF_MEMORY", "out of memory", EXIT_UNREADABLE, wants_json),
                     EXIT_UNREADABLE)
    except Exception as error:  # a bug in ckpt2pb: say so, without burying the user in a traceback
        LOG.debug("internal error", exc_info=True)
        problem = f"{type(error).__name__}: {error}"
        message = (f"{problem}. This is a bug in ckpt2pb; please report it with the command line "
                   "(rerun with -vv for the traceback).")
        return _fail(parser.prog, message, _error_json("INTERNAL", problem, EXIT_INTERNAL, wants_json),
                     EXIT_INTERNAL, label="internal error: ")
    finally:
        if collecting:
            gc.enable()


class Terminated(BaseException):
    """SIGTERM (``kill``, ``timeout``), raised like Ctrl-C so that ``with`` blocks clean up: a
    half-written output's temporary file is removed instead of left behind."""


def _raise_terminated(signum, frame) -> None:
    raise Terminated


def _catch_signals() -> dict:
    """SIGINT raises KeyboardInterrupt and SIGTERM :class:`Terminated`; the handlers they replace
    (none where that is impossible: not the main thread, or no SIGTERM on this platform). A signal
    the parent ignores (``nohup``, a background job of a script) stays ignored."""
    previous = {}
    for signum, handler in ((signal.SIGINT, signal.default_int_handler),
                            (getattr(signal, "SIGTERM", None), _raise_terminated)):
        try:
            if signal.getsignal(signum) in (signal.SIG_IGN, None):
                continue
            previous[signum] = signal.signal(signum, handler)
        except (ValueError, OSError, TypeError):
            continue
    return previous


def _error_json(code: str, problem: str, exit_code: int, wanted: bool) -> dict | None:
    if not wanted:
        return None
    return {"error": code, "path": None, "problem": problem, "fix": None, "exit_code": exit_code}


def _fail(prog: str, message: str, json_error: dict | None, exit_code: int, label: str = "error: ") -> int:
    """One line on stderr and, for ``--json``, the error object on stdout."""
    if json_error is not None:
        try:
            emit_json(json_error)
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()
    print(f"{prog}: {label}{message}", file=sys.stderr)
    return exit_code


def _silence_stdout() -> None:
    """After a closed pipe (``inspect ... | head -1``), keep Python's exit flush from complaining."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
