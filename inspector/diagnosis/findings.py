"""What a diagnosis says: findings with stable codes, and the verdict and exit code they imply.

A :class:`Finding` is one problem (or one notable fact) about a graph file: a stable ``code`` that
scripts can match on, a ``severity``, a one-paragraph ``message`` saying what is wrong, a ``fix``
in one or two sentences, and ``evidence`` (node names, sizes, offsets) for whoever wants to check.

Severities and what they mean for the exit code of ``inspect``:

* ``error``   — the graph will not load, will give wrong answers, or is not the model at all;
* ``warning`` — it works, but probably not the way its author meant (text under a ``.pb`` name,
  training ops left in, outputs reduced to float16, …);
* ``info``    — worth knowing, nothing to fix.

The verdict is ``"healthy"`` when there is no error and no warning. The exit code is 0 unless an
error-severity finding exists (1), or the file could not be analysed at all (2: not a protobuf,
truncated, corrupt, over 2 GiB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from inspector.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

#: Every code the diagnosis emits, with the one-line title ``render()`` prints before the message.
CODES: dict[str, str] = {
    # the file itself
    "NOT_PROTOBUF": "not a protobuf file",
    "OTHER_PROTOBUF": "a protobuf message, but not a graph",
    "TRUNCATED": "file ends early",
    "CORRUPT": "corrupt protobuf",
    "OVER_2GB": "larger than protobuf's 2 GiB limit",
    "TEXT_FORMAT": "text protobuf under a binary name",
    "NOT_A_GRAPHDEF": "a MetaGraphDef or SavedModel, not a GraphDef",
    "EMPTY_GRAPH": "no nodes",
    # structure
    "DUPLICATE_NODE": "duplicate node names",
    "MISSING_INPUT": "inputs name nodes that do not exist",
    "CYCLE": "cycle outside a while loop",
    "NO_INPUTS": "nothing to feed",
    "NO_OUTPUTS": "nothing is computed",
    "UNFEEDABLE_PLACEHOLDER": "placeholders no caller can feed",
    "DEVICE_PINNED": "nodes pinned to devices",
    # freezing
    "NOT_FROZEN": "weights are not in the file",
    "WRONG_OUTPUTS": "frozen, but holding little or none of the model",
    "TRAINING_LEFTOVERS": "training ops left in",
    "REF_INPUT": "constant feeding a ref or resource input",
    "WEIGHTS_DIFFER": "weights differ from the checkpoint",
    # inference behaviour
    "BATCHNORM_TRAINING_MODE": "batch norm uses batch statistics",
    "DROPOUT_ACTIVE": "dropout is active",
    "TRAINING_SWITCH": "inputs that switch the model into training behaviour",
    "RANDOM_WEIGHTS": "weights drawn at random on every run",
    "REDUCED_PRECISION_OUTPUT": "outputs at reduced precision",
    # ops
    "UNREGISTERED_OP": "ops TensorFlow does not register",
    # frozen graphs TensorFlow refuses at run time (runnable.py)
    "MISSING_FUNCTION": "calls a function the library lacks",
    "TABLE_NOT_INITIALIZED": "lookup table without an initializer",
    "NOOP_OUTPUT": "a NoOp among the outputs",
    "HUGE_CONSTANT": "a constant TensorFlow would expand to more memory than a machine has",
}

#: Codes of ``--target`` (inspector/targets.py): what a deployment runtime cannot load. Reported only
#: when a target is asked for, so they are not part of the diagnosis every graph gets.
TARGET_CODES: dict[str, str] = {
    "TARGET_UNSUPPORTED_OP": "ops the runtime cannot load",
    "TARGET_FUNCTION_CALLS": "TF2 function calls the runtime cannot load",
    "TARGET_CONTROL_FLOW": "control flow the runtime cannot load",
    "TARGET_TABLES": "lookup tables or Example parsing",
    "TARGET_DTYPE": "constants of a type the runtime cannot read",
    "TARGET_NO_INPUT": "no input the runtime can feed",
    "TARGET_INPUT_SHAPE": "an input without its real shape",
    "TARGET_TRAINING_SWITCH": "training switches left as inputs",
    "TARGET_OUTPUT_FUSED": "outputs the runtime fuses away",
}

#: Codes after which nothing else can be said, because no graph could be read.
UNREADABLE_CODES = frozenset({"NOT_PROTOBUF", "OTHER_PROTOBUF", "TRUNCATED", "CORRUPT", "OVER_2GB"})


@dataclass(frozen=True)
class Finding:
    """One diagnosis result. ``code`` is one of :data:`CODES`."""

    code: str
    severity: Severity
    message: str
    fix: str
    evidence: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in CODES and self.code not in TARGET_CODES:
            raise ValueError(f"unknown finding code {self.code!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    def to_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message, "fix": self.fix,
                "evidence": self.evidence}


@dataclass
class Diagnosis:
    """The findings for one file, most severe first."""

    findings: list[Finding] = field(default_factory=list)
    path: str | None = None

    def __post_init__(self) -> None:
        order = {s: i for i, s in enumerate(SEVERITIES)}
        self.findings.sort(key=lambda f: order[f.severity])

    @property
    def verdict(self) -> str:
        """``"healthy"`` when nothing reaches warning severity, ``"findings"`` otherwise."""
        serious = any(f.severity in ("error", "warning") for f in self.findings)
        return "findings" if serious else "healthy"

    @property
    def readable(self) -> bool:
        """False when the file could not be analysed as a graph at all."""
        return not any(f.code in UNREADABLE_CODES for f in self.findings)

    @property
    def exit_code(self) -> int:
        if not self.readable:
            return EXIT_UNREADABLE
        if any(f.severity == "error" for f in self.findings):
            return EXIT_FINDINGS
        return EXIT_OK

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_json(self) -> dict:
        return {"verdict": self.verdict, "findings": [f.to_json() for f in self.findings]}

    def render(self) -> str:
        """Human-readable text: the verdict line, then each finding with its fix."""
        where = f"{self.path}: " if self.path else ""
        if not self.findings:
            return f"{where}healthy — no problems found."
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        summary = ", ".join(f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n)
        lines = [f"{where}{self.verdict} ({summary})"]
        for finding in self.findings:
            title = CODES.get(finding.code) or TARGET_CODES[finding.code]
            lines.append(f"  [{finding.severity}] {finding.code}: {title}")
            lines.append(f"      {finding.message}")
            lines.append(f"      fix: {finding.fix}")
        return "\n".join(lines)
