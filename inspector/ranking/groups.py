"""Group outputs that belong together, so ``--auto-outputs`` can take all of them at once.

A detection head ends in boxes, scores, classes and num_detections; a multi-task model ends in
one head per task. Structurally these are sibling ends of the forward pass: each is a candidate of
the same standing (a sink or the value a loss consumes), they depend on comparable shares of the
weights, neither's weights are strictly inside the other's, they are computed from the same
feature inputs, and none is computed from another (a Softmax and its logits are alternatives,
not a group).
"""

from __future__ import annotations

from inspector import tfops
from inspector.ranking.candidates import COMPARED, LOSS_INPUT, METRIC_END, SINK, SUMMARIZED

_GROUPABLE = frozenset({SINK, SUMMARIZED, COMPARED, LOSS_INPUT, METRIC_END})
_SCORE_WINDOW = 0.15   # members score within this of the best groupable candidate
_SHARE_WINDOW = 0.25   # … and depend on a comparable share of the weights
_MAX_MEMBERS = 8


def assign_groups(a, drafts: list) -> dict[str, str]:
    """``{node name: group name}`` for the best cluster of sibling outputs (empty when none)."""
    index = a.index
    eligible = [d for d in drafts if d.end in _GROUPABLE and not index.frames[d.i]
                and index.ops[d.i] not in tfops.LOOP_EXITS and index.shapes[d.i] != []]
    if len(eligible) < 2:
        return {}
    eligible.sort(key=lambda d: -d.score)
    top = eligible[0]
    top_share = a.share(top.i)
    members = [d for d in eligible
               if d.score >= top.score - _SCORE_WINDOW and abs(a.share(d.i) - top_share) <= _SHARE_WINDOW
               and not _nested(a.weight_bits[d.i], a.weight_bits[top.i])
               and _features(a, d.i) == _features(a, top.i)]
    members = members[:_MAX_MEMBERS]
    if len(members) < 2:
        return {}
    position = {i: k for k, i in enumerate(a.index.order)}
    kept = [d for d in members
            if not any(_is_ancestor(a, d.i, o.i, position) for o in members if o is not d)]
    if top not in kept or len(kept) < 2:
        return {}
    names = [index.names[d.i] for d in kept]
    group = _group_name(names)
    return {name: group for name in names}


def _features(a, i: int) -> int:
    """The feature inputs a node is computed from: heads of one model share them (a decoder
    trained with teacher forcing reads the targets, its inference twin does not)."""
    return a.input_bits[i] & a.feature_mask


def _nested(bits: int, other: int) -> bool:
    """One head's weights strictly inside the other's: a part of the model (an encoder's
    outputs, a generator inside a discriminator's input), not a sibling head. Siblings each
    have weights of their own, or exactly the same weights (outputs of one NMS)."""
    return bits != other and (bits & ~other == 0 or other & ~bits == 0)


def _is_ancestor(a, i: int, j: int, position: dict[int, int]) -> bool:
    """Whether ``i`` computes part of ``j`` (inside the model, bookkeeping excluded).

    Cheap refusals first: an ancestor comes earlier in topological order and its weights are a
    subset of its descendant's; only then a backward search, which never looks at nodes
    ordered before ``i``.
    """
    bits_i, bits_j = a.weight_bits[i], a.weight_bits[j]
    if position[i] >= position[j] or bits_i & ~bits_j:
        return False
    limit = position[i]
    seen: set[int] = set()
    stack = [j]
    data_in, role = a.index.data_in, a.role
    while stack:
        k = stack.pop()
        for m in data_in[k]:
            if m == i:
                return True
            if m not in seen and role[m] == "model" and position[m] > limit:
                seen.add(m)
                stack.append(m)
    return False


def _group_name(names: list[str]) -> str:
    """The members' common scope when they share one, else the first member's name."""
    parts = [name.split("/")[:-1] for name in names]
    common: list[str] = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    return "/".join(common) if common else f"{names[0]} (+{len(names) - 1})"
