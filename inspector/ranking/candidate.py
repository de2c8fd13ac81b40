"""The ranking's result type: one scored candidate with the reasons behind its score."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Candidate:
    """A likely output (or input) node, best first in the lists the ranking returns.

    ``score`` is in [0, 1]: 1.0 means the graph itself says so (a SignatureDef); structural
    evidence alone never exceeds 0.9. ``reasons`` are plain words for the user, one per rule or
    step that contributed; ``rules`` pairs each with the rule's name and what it added to the
    score (so the score is their sum, within [0.01, 0.9]). ``group`` is shared by outputs that
    belong together (detection heads, multi-task heads, one signature). ``context`` says what
    the candidate is for and what reads it, by role (see :mod:`inspector.roles`).
    """

    name: str
    score: float
    op: str
    dtype: str | None = None
    shape: list[int] | None = None
    reasons: list[str] = field(default_factory=list)
    group: str | None = None
    rules: list[tuple[str, float]] = field(default_factory=list)
    context: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"name": self.name, "score": round(self.score, 3), "op": self.op,
                "dtype": self.dtype, "shape": None if self.shape is None else list(self.shape),
                "reasons": list(self.reasons), "group": self.group,
                "rules": [{"rule": rule, "weight": weight} for rule, weight in self.rules],
                "context": dict(self.context)}


@dataclass
class Exclusion:
    """A family of nodes the ranking set aside, with why (shown by ``inspect -v``)."""

    reason: str
    count: int
    examples: list[str]

    def to_json(self) -> dict:
        return {"reason": self.reason, "count": self.count, "examples": list(self.examples)}
