"""Argument groups and the error-handling entry wrapper shared by ``inspect`` and ``freeze``.

Every command gets the same logging flags (``-v``/``-q``, ``--log-file``) and ``--json``. User
errors (:class:`~inspector.errors.Ckpt2pbError`) become one line on stderr and the error's exit
code; an unexpected exception is reported as a bug in ckpt2pb, with the traceback only at ``-vv``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from inspector.errors import EXIT_UNREADABLE, Ckpt2pbError

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
        handlers.append(logging.FileHandler(args.log_file))
    for handler in handlers:
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    LOG.handlers[:] = handlers
    LOG.setLevel(level)
    LOG.propagate = False


def emit_json(obj: Any) -> None:
    """Print ``obj`` as one JSON document on stdout."""
    json.dump(obj, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


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
    """Parse ``argv``, configure logging and run ``handler``; map errors to exit codes."""
    args = parser.parse_args(argv)
    configure_logging(args)
    try:
        return handler(args)
    except Ckpt2pbError as error:
        if getattr(args, "json", False):
            emit_json(error.to_json())
        print(f"{parser.prog}: error: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except MemoryError:
        print(f"{parser.prog}: error: out of memory", file=sys.stderr)
        return EXIT_UNREADABLE
    except Exception as error:  # a bug in ckpt2pb: say so, without burying the user in a traceback
        LOG.debug("internal error", exc_info=True)
        print(f"{parser.prog}: internal error: {type(error).__name__}: {error}. This is a bug in "
              "ckpt2pb; please report it with the command line (rerun with -vv for the traceback).",
              file=sys.stderr)
        return EXIT_INTERNAL
