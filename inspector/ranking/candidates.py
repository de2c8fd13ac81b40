"""Which nodes are output candidates, and how each one ends.

The roles pass has marked what every node is for; the candidates are the *ends of the model*:
nodes of the ``model`` role that compute a value from the model's weights or inputs, whose value
no other node of the model reads. How a candidate ends is the first piece of evidence:

* ``sink`` — nothing at all consumes it (what an author computes to fetch);
* ``compared`` — a loss compares it with a target (the prediction of a training graph; a
  candidate even when the model reads it further, as a Softmax reads logits);
* ``loss_input`` — a loss is computed from it against constants only (a GAN's discriminator
  logits, an auxiliary loss, the towers a metric-learning loss compares with each other);
* ``metric`` — only the metrics read it (directly, or through the argmax they compare);
* ``summarized`` — only a summary reads it;
* ``other`` — only bookkeeping reads it (an assertion, a Print): scored as a sink;
* ``inner`` — not an end at all: a node a step (:mod:`.steps`) drafts because of how it relates
  to a candidate (the Softmax over compared logits, the value behind a cosmetic tail).

Decisions and casts that exist only to feed a metric (``Equal(ArgMax(probs), labels)``) have the
``metric`` role (see :mod:`inspector.roles`): the value behind them is the candidate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector import tfops
from inspector.roles import GRADIENT, LOSS, METRIC, MODEL, SUMMARY, Prediction, Roles, flow

SINK, COMPARED, LOSS_INPUT, METRIC_END, SUMMARIZED, OTHER, BOUNDARY, INNER = (
    "sink", "compared", "loss_input", "metric", "summarized", "other", "boundary", "inner")

#: Op families that are never an output: inputs, weights, constants, shapes, grouping.
NOT_CANDIDATE = (tfops.PLACEHOLDERS | tfops.DATA_PRODUCERS | tfops.VARIABLES | tfops.CONSTANTS
                 | tfops.SHAPE_ONLY | tfops.NO_OPS)


@dataclass
class Draft:
    """A candidate while it is ranked: its node, how it ends, its evidence and score."""

    i: int
    end: str
    prediction: Prediction | None = None
    alternative_of: int | None = None
    why_end: str = ""
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    rules: list[tuple[str, float]] = field(default_factory=list)


def variable_reads(r: Roles) -> list[bool]:
    """Nodes that merely read a variable or a constant (``w/read``, ``ReadVariableOp``)."""
    index = r.index
    reads = [False] * len(index)
    for i in index.order:
        op = index.ops[i]
        if op in tfops.VARIABLES or op in tfops.CONSTANTS:
            reads[i] = True
        elif op in tfops.VARIABLE_FORWARDERS | tfops.LOOP_ENTERS | {"Cast"} and index.data_in[i]:
            reads[i] = all(reads[j] for j in index.data_in[i])
    return reads


def sampled_values(r: Roles) -> list[bool]:
    """Nodes computed from a candidate sampler's draw.

    NCE and sampled-softmax losses score the true class against a few sampled classes: those
    logits exist only for training (inference scores every class with the full matrix), so
    nothing computed from the draw is a model output.
    """
    samplers = {i for i, op in enumerate(r.index.ops) if op in tfops.CANDIDATE_SAMPLERS}
    if not samplers:
        return [False] * len(r.index)
    return flow.computed_from(r.index, samplers, [False] * len(r.index))


def carries_data(r: Roles, i: int) -> bool:
    """Computed from a weight or a feature input (not merely from shapes, constants or a
    training switch), or from random noise in a graph without feature inputs."""
    return bool(r.weight_bits[i] or r.input_bits[i] & r.feature_mask) or \
        (r.sources_are_random and r.forward[i])


def frontier(r: Roles) -> dict[int, Draft]:
    """The ends of the model (see the module docstring), with how each ends."""
    index, role = r.index, r.role
    reads, sampled = variable_reads(r), sampled_values(r)
    compared = {p.node: p for p in r.predictions}
    drafts: dict[int, Draft] = {}
    for i in range(len(index)):
        if role[i] != MODEL or index.ops[i] in NOT_CANDIDATE or reads[i] or sampled[i] \
                or not carries_data(r, i):
            continue
        readers = [j for j in index.data_out[i] if not index.shape_only[j]]
        if any(role[j] == MODEL for j in readers):
            continue
        if index.dtypes[i] in ("resource", "variant"):
            continue  # a handle, not a value (the intermediates a functional cond keeps for its gradient)
        end = _end_of(r, i, readers, compared)
        if end is None:
            continue
        drafts[i] = Draft(i, end, compared.get(i), why_end=_why_other(r, readers) if end == OTHER else "")
    # a value a loss compares is a candidate even when the model reads it further (the logits
    # its Softmax reads, a prediction a statistic is logged from)
    for i, p in compared.items():
        if i not in drafts and role[i] == MODEL and not sampled[i] and carries_data(r, i):
            drafts[i] = Draft(i, COMPARED if p.target is not None else LOSS_INPUT, p)
    # so is a value the metrics compare with the labels (CapsNet's predicted class, which the
    # decoder reads at inference and the accuracy compares with the labels)
    for i in _metric_compared(r):
        if i not in drafts and not sampled[i] and index.ops[i] not in NOT_CANDIDATE and carries_data(r, i):
            drafts[i] = Draft(i, METRIC_END)
    return drafts


def _end_of(r: Roles, i: int, readers: list[int], compared: dict[int, Prediction]) -> str | None:
    role = r.role
    index = r.index
    if i in compared:
        return COMPARED if compared[i].target is not None else LOSS_INPUT
    if not index.data_out[i] and not index.ctrl_out[i]:
        return SINK
    kinds = {role[j] for j in readers}
    if not kinds:
        return OTHER
    if kinds <= {LOSS}:
        return LOSS_INPUT
    if kinds == {GRADIENT}:
        return None  # read only by the backward pass: gradient machinery
    if kinds <= {METRIC}:
        return METRIC_END
    if kinds <= {SUMMARY}:
        return SUMMARIZED
    return OTHER


def _why_other(r: Roles, readers: list[int]) -> str:
    """The words for an ``other`` end: which machinery reads the value."""
    kinds = sorted({r.role[j] for j in readers})
    if not kinds:
        return "nothing but bookkeeping reads it (an assertion, a print): a sink of the model"
    return f"only {' and '.join(_ROLE_WORDS.get(k, k) for k in kinds)} read it: a sink of the model"


_ROLE_WORDS = {METRIC: "metrics", SUMMARY: "summaries", "bookkeeping": "bookkeeping ops"}


def _metric_compared(r: Roles) -> list[int]:
    """Model values a metric's comparison reads beside a value computed from the labels."""
    index, role = r.index, r.role
    found = []
    for j, op in enumerate(index.ops):
        if role[j] != METRIC or op not in tfops.COMPARISONS:
            continue
        operands = index.data_in[j]
        if any(r.tainted[k] for k in operands):
            found.extend(k for k in operands if role[k] == MODEL and not r.tainted[k])
    return found
