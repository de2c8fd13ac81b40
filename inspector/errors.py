"""One root exception for every error a user can cause, kept apart from internal bugs.

Every user-facing failure is a :class:`Ckpt2pbError`. The command-line entry points catch it,
print ``str(error)`` as one line on stderr and exit with ``error.exit_code``; anything else that
escapes is a bug in ckpt2pb and is reported as such.

Exit codes (documented in the README):

==== ===============================================================
0    success (``inspect``: healthy; ``freeze``: written and validated)
1    ``inspect`` found at least one error-severity problem in a graph
2    unreadable or missing input, or a bad command line
3    ``freeze`` wrote nothing because the result failed validation
4    ``freeze --verify`` found outputs that differ from the checkpoint
5    an optional dependency (TensorFlow) is needed and not installed
6    ``freeze --verify`` could not compare: TensorFlow cannot run the graphs on the generated
     inputs, or the checkpoint's own graph answers differently on every run
==== ===============================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNREADABLE = 2
EXIT_VALIDATION = 3
EXIT_VERIFY = 4
EXIT_MISSING_DEPENDENCY = 5
EXIT_VERIFY_CANNOT_RUN = 6


class Ckpt2pbError(Exception):
    """A problem with the user's input or request, reported as one line without a traceback.

    The line reads ``<path>: <problem>. <fix>`` so that it names the file, what is wrong and
    what to do next. ``code`` is a stable machine-readable identifier for ``--json``.
    """

    exit_code = EXIT_UNREADABLE
    code = "ERROR"

    def __init__(self, problem: str, *, path: str | None = None, fix: str | None = None,
                 code: str | None = None) -> None:
        self.problem = problem.rstrip(".")
        self.path = None if path is None else str(path)
        self.fix = fix
        if code is not None:
            self.code = code
        super().__init__(self.message)

    @property
    def message(self) -> str:
        text = f"{self.path}: {self.problem}" if self.path else self.problem
        text += "."
        if self.fix:
            fix = self.fix.rstrip(".")
            text += f" {fix[:1].upper()}{fix[1:]}."  # a new sentence, whatever case the caller used
        # one line, whatever a name quoted in it holds (a crafted node name may hold a newline)
        return text.replace("\r", "\\r").replace("\n", "\\n")

    def to_json(self) -> dict:
        return {"error": self.code, "path": self.path, "problem": self.problem, "fix": self.fix,
                "exit_code": self.exit_code}


class UnreadableInputError(Ckpt2pbError):
    """The input is missing, truncated, corrupt or not the kind of file it claims to be."""

    code = "UNREADABLE"


class UsageError(Ckpt2pbError):
    """The request itself is wrong: an unknown output name, conflicting flags, and so on."""

    code = "USAGE"


class ValidationError(Ckpt2pbError):
    """A frozen graph failed validation; nothing was written."""

    exit_code = EXIT_VALIDATION
    code = "VALIDATION_FAILED"


class VerificationError(Ckpt2pbError):
    """The frozen graph computes different outputs from the restored checkpoint."""

    exit_code = EXIT_VERIFY
    code = "VERIFY_MISMATCH"


class VerifyCannotRunError(Ckpt2pbError):
    """``--verify`` compared nothing: TensorFlow could not run the graphs on the inputs it was given
    (the message names the node and the flag that gives it real inputs), or the original graph
    itself answers differently on every run. Not a verdict on the frozen graph."""

    exit_code = EXIT_VERIFY_CANNOT_RUN
    code = "VERIFY_CANNOT_RUN"


class MissingDependencyError(Ckpt2pbError):
    """An optional dependency (TensorFlow) is required for this request."""

    exit_code = EXIT_MISSING_DEPENDENCY
    code = "MISSING_DEPENDENCY"
