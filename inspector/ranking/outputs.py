"""Rank the likely output nodes of a graph, best first, each with its score and reasons.

SignatureDefs, when present, are authoritative (score 1.0 for the serving signature). Otherwise
the ranking looks at the *frontier* of the model: nodes of the forward pass (bookkeeping removed,
label-dependent nodes removed) whose value nothing else in the model consumes. Each frontier node
is scored from structural signals (``signals.py``); cosmetic tails and final activations bring
their neighbour in as the alternative listed next; sibling heads are grouped (``groups.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from inspector.ranking import signals
from inspector.ranking.analysis import Analysis, analyze
from inspector.ranking.candidate import Candidate
from inspector.ranking.groups import assign_groups
from inspector.ranking.subgraphs import GRADIENT, SUMMARY, VARIABLE_OPS

SINK = "sink"
LOSS = "loss"
METRIC = "metric"
LOSS_INPUT = "loss_input"
SUMMARIZED = "summarized"
ADVERSARIAL = "adversarial"
TARGET = "target"
BOUNDARY = "boundary"
OTHER = "other"

# How much the way a frontier node ends counts. A sink of the model is what an author computes
# to use; the value the loss consumes (with labels) or the metrics compare (through an argmax)
# is the prediction of a training graph; a value a label-free loss is computed from is weaker
# evidence (a GAN's discriminator logits, an auxiliary loss).
_KIND_BONUS = {SINK: 0.30, LOSS: 0.22, LOSS_INPUT: 0.18, SUMMARIZED: 0.22, METRIC: 0.20,
               BOUNDARY: 0.25, ADVERSARIAL: 0.05, OTHER: 0.05, TARGET: 0.0}
_KIND_REASON = {
    SINK: "nothing consumes it: a sink of the model",
    LOSS: "the loss consumes it together with the labels",
    METRIC: "the metrics compare it (or its argmax) with the labels",
    SUMMARIZED: "consumed only by a summary",
    OTHER: "consumed only by bookkeeping ops",
    TARGET: "the loss reaches it only through a StopGradient: a training target (a target "
            "network's estimate, a teacher's output), not a prediction",
}
_NOT_CANDIDATE_OPS = signals.INPUT_OPS | VARIABLE_OPS | signals.CONST_OPS | signals.SHAPE_OPS | {"NoOp"}
STRUCTURAL_CAP = 0.9


@dataclass
class _Draft:
    i: int
    kind: str
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    alternative_of: int | None = None


def rank_outputs(model, meta_graph=None) -> list[Candidate]:
    """Candidate output nodes of ``model``, best first (see the module docstring)."""
    a = analyze(model, meta_graph)
    if a.ranked_outputs is not None:
        return [replace(c, reasons=list(c.reasons)) for c in a.ranked_outputs]
    drafts = frontier_drafts(a)
    for draft in drafts.values():
        score_draft(a, draft)
    promote_activations(a, drafts)
    promote_probed_values(a, drafts)
    promote_self_compared(a, drafts)
    add_alternatives(a, drafts)
    candidates = [_candidate(a, d) for d in drafts.values()]
    groups = assign_groups(a, [d for d in drafts.values() if d.alternative_of is None])
    for cand in candidates:
        cand.group = groups.get(cand.name)
    candidates = _order(_apply_signatures(a, model, meta_graph, candidates))
    a.ranked_outputs = candidates
    return [replace(c, reasons=list(c.reasons)) for c in candidates]


def frontier_drafts(a: Analysis) -> dict[int, _Draft]:
    """Frontier nodes of the forward pass and the values the losses are computed from."""
    index, cat = a.index, a.excl.category
    drafts: dict[int, _Draft] = {}
    roots = {r for r in a.excl.loss_roots if not a.label_tainted(r)} | _collection_losses(a)
    reads = signals.variable_reads(index)
    tail = metric_tails(a)
    label = a.tainted
    sampled = signals.sampled_values(index)
    for i in range(len(index)):
        if cat[i] or i in roots or index.ops[i] in _NOT_CANDIDATE_OPS or label[i] or sampled[i] \
                or reads[i] or tail[i] or not a.excl.forward[i] or not _carries_data(a, i):
            continue
        # a variant sink (the intermediates a functional cond keeps for its gradient) is a
        # handle, not a value anyone fetches
        if index.dtypes[i] == "variant" and not index.data_out[i]:
            continue
        live, tainted = [], []
        for j in index.data_out[i]:
            if cat[j]:
                continue
            (tainted if label[j] or tail[j] else live).append(j)
        if live and not tainted:
            continue
        kind = _frontier_kind(a, i, live, tainted, tail)
        if kind in (LOSS, METRIC) and not live:
            i = _behind_loss_plumbing(a, i)
            if i in drafts:
                continue
        drafts[i] = _Draft(i, kind)
    roots |= {i for i, d in drafts.items() if _looks_like_loss(a, d, reads)}
    losses = roots | set(a.excl.loss_roots) | {i for i in map(index.node_index, a.meta.losses)
                                               if i is not None}
    trained = _gradient_path(a, losses)
    for d in drafts.values():
        if d.kind == LOSS and trained is not None and d.i not in trained and _feeds_stop(a, d.i):
            d.kind = TARGET
    for root in roots:
        drafts.pop(root, None)
        source = loss_source(a, root)
        if source is not None:
            source = _behind_loss_plumbing(a, source)
        if source is None or index.ops[source] in _NOT_CANDIDATE_OPS or a.label_tainted(source) \
                or sampled[source]:
            continue
        target = _loss_target(a, root, source)
        twin = _tower_twin_of(a, source) if target is None else None
        if twin is not None:
            # a metric-learning loss: the tower's output is the embedding one deploys
            draft = drafts.setdefault(source, _Draft(source, LOSS_INPUT))
            draft.reasons.append(f"the training loss '{index.names[root]}' compares it with the same "
                                 f"weights applied to another input ('{index.names[twin]}'): "
                                 "the output of a siamese/triplet tower")
            continue
        draft = drafts.setdefault(source, _Draft(source, ADVERSARIAL if target is None else LOSS_INPUT))
        if target is not None:
            draft.reasons.append(f"the training loss '{index.names[root]}' compares it with "
                                 f"'{index.names[target]}'")
        else:
            draft.reasons.append(f"the training loss '{index.names[root]}' is computed from it "
                                 "against constants only (an adversarial or auxiliary loss)")
    for i, why in network_boundaries(a).items():
        if i not in drafts and not label[i] and index.ops[i] not in _NOT_CANDIDATE_OPS:
            drafts[i] = _Draft(i, BOUNDARY, reasons=[why])
    return drafts


def _gradient_path(a: Analysis, roots: set[int]) -> set[int] | None:
    """Nodes the losses reach backwards without crossing a StopGradient (None without losses).

    A loss compares its prediction with a target; when the target is computed by the model
    too (a DQN's target network, a distillation teacher, a mean teacher), the author wraps it
    in tf.stop_gradient so that only the prediction is trained. The value behind the stop is
    consumed by the loss like the prediction, but it is what the model is trained towards.
    """
    if not roots:
        return None
    index, cat = a.index, a.excl.category
    seen = set(roots)
    stack = list(roots)
    while stack:
        i = stack.pop()
        for j in index.data_in[i]:
            if j in seen or cat[j] or index.ops[j] in ("StopGradient", "PreventGradient"):
                continue
            seen.add(j)
            stack.append(j)
    return seen


def _feeds_stop(a: Analysis, i: int) -> bool:
    """A StopGradient lies downstream of ``i`` in the model (not in the excluded machinery)."""
    index, cat = a.index, a.excl.category
    seen, stack = {i}, [i]
    while stack:
        for j in index.data_out[stack.pop()]:
            if j in seen or cat[j]:
                continue
            if index.ops[j] in ("StopGradient", "PreventGradient"):
                return True
            seen.add(j)
            stack.append(j)
    return False


def networks(a: Analysis) -> dict[str, int]:
    """Weight masks of the separately optimized networks (empty for a single model), cached."""
    if a.networks is None:
        found = _networks_by_optimizer(a)
        a.networks = found if len(found) >= 2 else {}
    return a.networks


def network_boundaries(a: Analysis) -> dict[int, str]:
    """Where one separately trained network hands its output to another.

    When two optimizers update disjoint sets of weights (a GAN's generator and discriminator,
    an actor and its critic), the first network's output is a value computed from its own
    weights only and consumed by a layer of the other network (an op reading one of the other
    network's weights directly). That value is what one deploys (the generator's sample, the
    actor's action).
    """
    nets = networks(a)
    if not nets:
        return {}
    index, cat, bits = a.index, a.excl.category, a.weight_bits
    value = signals.weight_values(index, set(a.weights))
    found: dict[int, str] = {}
    for i in range(len(index)):
        if cat[i] or not bits[i] or not a.excl.forward[i] or value[i]:
            continue
        for name, mask in nets.items():
            others = _others(nets, name)
            if not bits[i] & mask or bits[i] & others:
                continue
            # the consumer is a layer of the other network: it reads one of its weights directly
            if any(not cat[j] and any(value[k] and bits[k] & others for k in index.data_in[j])
                   for j in index.data_out[i]):
                found[_behind_join(a, i, mask)] = (f"output of the network trained by '{name}', "
                                                   "fed into a network trained by another optimizer")
            break
    return found


# Ops that join several values into one tensor.
_JOIN_OPS = frozenset({"ConcatV2", "Concat", "Pack"})


def _behind_join(a: Analysis, i: int, mask: int) -> int:
    """Step back from a join that assembles the other network's input to the network's output.

    A conditional GAN's discriminator reads concat([sample, condition]); pix2pix's reads
    concat([input_image, sample]). That concat is the second network's input assembly: the one
    operand computed from the first network's weights is what the first network outputs.
    """
    index = a.index
    while index.ops[i] in _JOIN_OPS:
        own = [j for j in index.data_in[i] if not a.excl.category[j] and a.weight_bits[j] & mask]
        if len(own) != 1:
            break
        i = own[0]
    return i


def _networks_by_optimizer(a: Analysis) -> dict[str, int]:
    """Trainable-weight bitmask per optimizer, keyed by the op that groups its updates."""
    index = a.index
    bit_of = {w: 1 << k for k, w in enumerate(a.weights)}
    masks: dict[str, int] = {}
    for i, op in enumerate(index.ops):
        if not op.startswith(("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply")):
            continue
        name = index.names[i]
        if "/update_" in name:  # TF names updates "<optimizer>/update_<variable>/Apply…"
            key = name.split("/update_", 1)[0]
        else:
            group = index.ctrl_out[i] or index.data_out[i]
            key = index.names[min(group)] if group else name
        for j in index.data_in[i]:
            if j in bit_of:
                masks[key] = masks.get(key, 0) | bit_of[j]
    distinct = list(masks.values())
    if any(x & y for k, x in enumerate(distinct) for y in distinct[k + 1:]):
        return {}  # overlapping updates: one model trained in stages, not separate networks
    return masks


def _carries_data(a: Analysis, i: int) -> bool:
    """Computed from a weight or a feature input (not merely from shapes, constants or a
    training switch such as the ``pred_id`` of a cond on ``is_training``)."""
    return bool(a.weight_bits[i] or a.input_bits[i] & a.feature_mask) or a.sources_are_random


def metric_tails(a: Analysis) -> list[bool]:
    """Decision ops that only prepare a prediction for a metric comparison with the labels.

    ``Equal(ArgMax(probabilities), labels)``: the ArgMax (and a Cast) exist for the metric; the
    prediction they start from is what the model outputs.
    """
    index, cat, ops, label = a.index, a.excl.category, a.index.ops, a.tainted
    tail = [False] * len(index)
    for i in reversed(index.order):
        if cat[i] or label[i]:
            continue
        # a cosmetic op belongs to the tail only right after a decision (Cast(ArgMax))
        if ops[i] not in signals.DECISION_OPS and (
                not signals.is_cosmetic(ops[i])
                or not any(ops[j] in signals.DECISION_OPS for j in index.data_in[i])):
            continue
        consumers = [j for j in index.data_out[i] if not cat[j]]
        if consumers and all(tail[j] or (label[j] and ops[j] in signals.METRIC_OPS)
                             for j in consumers):
            tail[i] = True
    return tail


def _behind_loss_plumbing(a: Analysis, i: int) -> int:
    """Step back over what the loss made of the prediction before comparing it.

    Two kinds of steps: element-wise loss math the loss applies (``-sum(y_ * log(y))`` takes
    the Log of the prediction y), and ops in the name scope of the loss op consuming them
    (``loss/xent/Reshape_1``, ``log1p(exp(-|x|))`` inside a logistic loss); the walk ends at the
    first op that is neither. An author's ``tf.identity(…, name="output")`` is never stepped over.
    """
    index = a.index
    for _ in range(8):
        behind = _main_input(a, i)
        if behind is None or a.label_tainted(behind) or not a.excl.forward[behind] \
                or index.ops[behind] in _NOT_CANDIDATE_OPS or index.ops[i] == "Identity":
            return i
        if index.ops[i] in signals.LOSS_MATH_OPS:
            i = behind
            continue
        scope = _scope(index.names[i])
        consumers = [j for j in index.data_out[i] if not a.excl.category[j]]
        if not scope or not any(_within(index.names[j], scope) for j in consumers):
            return i
        start = i
        while _within(index.names[behind], scope):
            i = behind
            behind = _main_input(a, i)
            if behind is None or a.label_tainted(behind) or index.ops[behind] in _NOT_CANDIDATE_OPS:
                return start
        i = behind
    return i


def _scope(name: str) -> str:
    return name.rpartition("/")[0]


def _within(name: str, scope: str) -> bool:
    return name == scope or name.startswith(scope + "/")


def _collection_losses(a: Analysis) -> set[int]:
    """Nodes the ``losses`` collection names (tf.losses registers every loss there)."""
    found = set()
    for name in a.meta.losses:
        i = a.index.node_index(name)
        if i is not None and not a.excl.category[i] and not a.label_tainted(i):
            found.add(i)
    return found


# A loss ends in a reduction, or in a sum of reduced terms (d_loss = loss_real + loss_fake).
_LOSS_ROOT_OPS = signals.REDUCTION_OPS | {"Add", "AddV2", "AddN"}


def _looks_like_loss(a: Analysis, d: _Draft, reads: list[bool]) -> bool:
    """A scalar reduction at the end of the forward pass that the gradients flow through.

    TF2-era graphs compute the gradient seed from a constant shape, so nothing in the gradient
    subgraph consumes the loss itself; but the values that exist only to compute it (the Square,
    the difference) are consumed by gradient ops. A statistic (the mean of the predictions)
    has no such values.
    """
    index = a.index
    if d.kind not in (SINK, SUMMARIZED, OTHER) or index.ops[d.i] not in _LOSS_ROOT_OPS:
        return False
    if index.shapes[d.i] not in (None, []):
        return False
    frontier, seen = [d.i], {d.i}
    for _ in range(3):
        nxt = []
        for i in frontier:
            for j in index.data_in[i]:
                if j in seen or a.excl.category[j] or reads[j] or index.ops[j] in signals.INPUT_OPS:
                    continue
                seen.add(j)
                consumers = index.data_out[j]
                only_here = all(k in seen or a.excl.category[k] for k in consumers)
                if only_here and any(a.excl.category[k] == GRADIENT for k in consumers):
                    return True
                nxt.append(j)
        frontier = nxt
    return False


def _frontier_kind(a: Analysis, i: int, live: list[int], tainted: list[int], tail: list[bool]) -> str:
    index = a.index
    if tainted:
        metric = all(tail[j] or index.ops[j] in signals.METRIC_OPS for j in tainted)
        return METRIC if metric else LOSS
    consumers = index.data_out[i] + index.ctrl_out[i]
    if not consumers:
        return SINK
    if all(a.excl.category[j] == SUMMARY for j in consumers):
        return SUMMARIZED
    return OTHER


def _loss_target(a: Analysis, root: int, source: int) -> int | None:
    """The data the loss compares ``source`` with (labels, or the input for an autoencoder).

    Searches the loss's own arithmetic breadth first from the loss down to ``source`` (a logistic
    loss meets its labels on a side branch), never into the model's layers: the first operand
    carrying an input but no weights.
    """
    index, cat = a.index, a.excl.category
    queue, seen = [root], {root, source}
    for _depth in range(_LOSS_DEPTH):
        nxt = []
        for current in queue:
            for j in index.data_in[current]:
                if j in seen or cat[j]:
                    continue
                seen.add(j)
                if a.input_bits[j] and not a.weight_bits[j]:
                    return j
                if a.weight_bits[j] and index.ops[j] in signals.LOSS_OPS:
                    nxt.append(j)
        queue = nxt
    return None


_LOSS_DEPTH = 12


def loss_source(a: Analysis, root: int) -> int | None:
    """Walk back from a loss along its most-weighted operand to where it meets its target.

    A loss compares the prediction with something that carries no trainable weights (labels, or
    the input itself for an autoencoder); the weighted operand of that comparison is the
    prediction. Walking stops at the first op that is not loss arithmetic.
    """
    index, cat = a.index, a.excl.category
    current, seen = root, set()
    while current not in seen:
        seen.add(current)
        operands = [j for j in index.data_in[current] if not cat[j]
                    and (a.weight_bits[j] or a.input_bits[j])]
        weighted = [j for j in operands if a.weight_bits[j]]
        if not weighted:
            return current if current != root else None
        best = max(weighted, key=a.share)
        if index.ops[best] not in signals.LOSS_OPS:
            return best
        others = [j for j in operands if j != best]
        if any(_tower_twins(a, best, j) for j in others):
            return best
        if any(not a.weight_bits[j] for j in others):
            return best
        current = best
    return None


def _tower_twins(a: Analysis, i: int, j: int) -> bool:
    """``i`` and ``j`` are one network applied to two different inputs (siamese/triplet towers).

    A metric-learning loss compares the outputs of weight-shared towers with each other, not
    with labels: where the loss meets two operands computed from exactly the same weights but
    from disjoint inputs, those operands are the towers' outputs. Walking on into one of them
    would take the model's own last op (the Mul of an l2_normalize) for loss arithmetic.
    """
    bits_i, bits_j = a.input_bits[i], a.input_bits[j]
    return bool(a.weight_bits[i]) and a.weight_bits[i] == a.weight_bits[j] and \
        bool(bits_i) and bool(bits_j) and not bits_i & bits_j


def _tower_twin_of(a: Analysis, i: int) -> int | None:
    """The other tower ``i`` meets in a consumer (see :func:`_tower_twins`), if any."""
    index, cat = a.index, a.excl.category
    for k in index.data_out[i]:
        if cat[k]:
            continue
        for j in index.data_in[k]:
            if j != i and not cat[j] and _tower_twins(a, i, j):
                return j
    return None


def score_draft(a: Analysis, d: _Draft) -> None:
    """Combine the signals into a score in [0, 0.9] and the reasons the user reads."""
    index, i = a.index, d.i
    score = 0.05 + _KIND_BONUS[d.kind]
    if d.kind in _KIND_REASON:
        d.reasons.append(_KIND_REASON[d.kind])
    activation = _activation_behind(index, i)
    if activation is not None:
        score += 0.10
        d.reasons.append(_activation_reason(index, i, activation))
    features = a.feature_names(i)
    if features:
        score += 0.10
        d.reasons.append("reached from feature input " + ", ".join(f"'{n}'" for n in features[:3]))
    elif a.sources_are_random and a.excl.forward[i]:
        score += 0.08
        d.reasons.append("computed from random noise (the graph has no feature inputs)")
    own = _own_network(a, i)
    if own is not None:
        name, mask = own
        share = signals.share_of(a.weight_bits[i], a.weight_sizes, _mask_total(a, mask))
        score += 0.30 * share
        d.reasons.append(f"depends on {round(100 * share)}% of the trainable weights of the "
                         f"network trained by '{name}'")
    elif a.weight_total:
        share = a.share(i)
        score += 0.30 * share
        d.reasons.append(f"depends on {round(100 * share)}% of the model's trainable weights")
    elif features:
        score += 0.30
    if d.kind in (SINK, SUMMARIZED):
        d.reasons.append("not on the loss or optimizer path")
    if signals.name_hint(index.names[i]):
        score += 0.05
        d.reasons.append("its name suggests an output (weak evidence)")
    score -= _penalties(index, i, d.reasons)
    if _keeps_one_example(a, i) is not None:
        score -= ONE_EXAMPLE_PENALTY
        d.reasons.append("keeps only one example of the batch (x[0]); the batched value behind it "
                         "ranks above it")
    d.score = max(0.01, min(STRUCTURAL_CAP, score))


# A graph that still has its variables was not pruned for serving: an x[0] view at its end is a
# convenience for one example, and the batched value behind it is the model's output. In a
# frozen graph the author named the sink when freezing, so it stands.
ONE_EXAMPLE_PENALTY = 0.06


def _keeps_one_example(a: Analysis, i: int) -> int | None:
    """The x[0] slice at ``i`` or behind its cosmetic tail, in a graph that is not frozen."""
    if a.frozen or not a.one_example:
        return None
    for _ in range(4):
        if i in a.one_example:
            return i
        if not signals.is_cosmetic(a.index.ops[i]) or not a.index.data_in[i]:
            return None
        i = a.index.data_in[i][0]
    return None


def _own_network(a: Analysis, i: int) -> tuple[str, int] | None:
    """The one separately optimized network whose weights alone compute ``i`` (GAN generator)."""
    bits = a.weight_bits[i]
    if not bits:
        return None
    nets = networks(a)
    for name, mask in nets.items():
        if bits & mask and not bits & _others(nets, name):
            return name, ~_others(nets, name) & ((1 << len(a.weights)) - 1)
    return None


def _others(nets: dict[str, int], name: str) -> int:
    """Weights updated by the other optimizers (weights no optimizer updates belong to all)."""
    mask = 0
    for other, bits in nets.items():
        if other != name:
            mask |= bits
    return mask


def _mask_total(a: Analysis, mask: int) -> int:
    return sum(a.weight_sizes[k] for k in range(len(a.weights)) if mask >> k & 1)


def _penalties(index, i: int, reasons: list[str]) -> float:
    penalty = 0.0
    if signals.in_loop(index, i):
        penalty += 0.30
        reasons.append("inside a while loop (per-iteration state)")
    if index.ops[i] in ("Exit", "RefExit"):
        penalty += 0.15
        reasons.append("a loop's final state rather than a computed result")
    if signals.is_scalar_statistic(index, i):
        penalty += 0.35
        reasons.append(f"a {index.ops[i]} reduced to a scalar (a statistic or a loss)")
    elif signals.is_scalar(index, i):
        penalty += 0.15
        reasons.append("a scalar (more often a loss or a counter)")
    if index.dtypes[i] in signals.NON_VALUE_DTYPES:
        penalty += 0.30
        reasons.append(f"a {index.dtypes[i]} handle, not a value")
    return penalty


def _activation_behind(index, i: int) -> int | None:
    """The final activation at ``i`` or right behind its cosmetic tail (Identity of Softmax)."""
    current, steps = i, 0
    while steps < 4:
        if signals.is_final_activation(index.ops[current]):
            return current
        if not signals.is_cosmetic(index.ops[current]) or not index.data_in[current]:
            return None
        current = index.data_in[current][0]
        steps += 1
    return None


def _activation_reason(index, i: int, activation: int) -> str:
    op = index.ops[activation]
    ins = index.data_in[activation]
    over = f" over '{index.names[ins[0]]}'" if ins else ""
    if activation == i:
        return f"final activation: {op}{over}"
    return f"{index.ops[i]} of the final activation {op} '{index.names[activation]}'"


def _main_input(a: Analysis, i: int) -> int | None:
    """The operand carrying the most weights (the data path, not a shape or axis constant)."""
    ins = [j for j in a.index.data_in[i] if not a.excl.category[j]
           and a.index.ops[j] not in signals.CONST_OPS]
    if not ins:
        return None
    return max(ins, key=a.share)


def _promote_above(a: Analysis, drafts: dict[int, _Draft], draft: _Draft, i: int, kind: str,
                   why: str) -> None:
    """Rank node ``i`` just above ``draft`` (drafting it as ``kind`` if it is not a candidate yet),
    with ``why`` as its first reason. A node already scoring higher keeps its score and reasons."""
    target = drafts.get(i)
    if target is None:
        target = _Draft(i, kind)
        score_draft(a, target)
        if kind == OTHER:  # "other" says nothing once the reason it was promoted is given
            target.reasons = [r for r in target.reasons if r != _KIND_REASON[OTHER]]
        drafts[i] = target
    if target.score <= draft.score:
        target.score = min(STRUCTURAL_CAP, draft.score + 0.02)
        target.reasons.insert(0, why)


def promote_activations(a: Analysis, drafts: dict[int, _Draft]) -> None:
    """Walk forward from logits the loss consumes to the final activation computed from them.

    A training graph computes ``Softmax(logits)`` for inference while the loss takes the logits;
    both are plausible outputs, and the activation is what a user of the frozen model wants.
    """
    index, cat = a.index, a.excl.category
    for draft in list(drafts.values()):
        if draft.kind not in (LOSS, METRIC) or signals.is_final_activation(index.ops[draft.i]):
            continue
        consumers = [j for j in index.data_out[draft.i] if not cat[j] and not a.label_tainted(j)]
        activations = [j for j in consumers if index.ops[j] in ("Softmax", "Sigmoid")] \
            if draft.kind == LOSS else []
        # Without a Softmax or Sigmoid, a decision over the logits that the author named
        # (tf.argmax(logits, 1, name="prediction")) is the answer they fetch, even when only the
        # accuracy consumes it; one left with TensorFlow's default name ('ArgMax_1') exists
        # for the metric only, and the logits stay first. The logits may be a METRIC draft: a
        # loss that reshapes them first (softmax_cross_entropy_with_logits) is not seen as
        # comparing them with the labels directly, while the accuracy's argmax is.
        decisions = [] if activations else \
            [j for j in consumers if index.ops[j] in signals.DECISION_OPS and signals.author_named(index, j)]
        for j in activations + decisions:
            if j in activations:
                why = (f"final activation: {index.ops[j]} over '{index.names[draft.i]}', "
                       "which the loss consumes")
            else:
                why = (f"the {index.ops[j]} the author named '{index.names[j]}' over the logits "
                       f"'{index.names[draft.i]}': the answer they fetch")
            _promote_above(a, drafts, draft, j, OTHER, why)


_MATMUL_OPS = frozenset({"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"})


def promote_self_compared(a: Analysis, drafts: dict[int, _Draft]) -> None:
    """Rank the embedding a loss compares with itself above the loss's pairwise arithmetic.

    Metric-learning losses with in-batch mining (batch-hard triplet, contrastive over all pairs)
    multiply the embeddings with their own transpose (a Gram matrix), turn that into pairwise
    distances and mask them with the labels; the frontier then holds those distances, not the
    embedding. A value the loss computes from ``x @ x.T`` without any weight after the product
    is such arithmetic, and ``x`` is the model's output. A weight after the product (bilinear
    pooling followed by a classifier) makes it a layer of the model instead.
    """
    index, cat = a.index, a.excl.category
    for draft in list(drafts.values()):
        if draft.kind not in (LOSS, LOSS_INPUT, ADVERSARIAL) or draft.alternative_of is not None:
            continue
        compared = _self_compared(a, draft.i)
        if compared is None or cat[compared] or a.label_tainted(compared):
            continue
        why = (f"the loss compares it with itself across the batch (pairwise, through "
               f"'{index.names[draft.i]}'): an embedding trained by in-batch mining")
        _promote_above(a, drafts, draft, compared, LOSS_INPUT, why)


def _self_compared(a: Analysis, i: int) -> int | None:
    """``x`` of a ``x @ x.T`` behind ``i`` with the same trainable weights as ``i`` (no layer
    after the product), or None."""
    index, cat = a.index, a.excl.category
    reads = signals.variable_reads(index)
    bits = a.weight_bits[i]
    frontier, seen = [i], {i}
    for _ in range(8):
        nxt = []
        for current in frontier:
            if index.ops[current] in _MATMUL_OPS:
                operands = {_behind_transpose(index, j) for j in index.data_in[current]
                            if index.ops[j] not in signals.CONST_OPS}
                if len(operands) == 1:
                    x = operands.pop()
                    if a.weight_bits[x] and not reads[x]:
                        return x
            for j in index.data_in[current]:
                if j not in seen and not cat[j] and a.weight_bits[j] == bits:
                    seen.add(j)
                    nxt.append(j)
        frontier = nxt
    return None


def _behind_transpose(index, j: int) -> int:
    if index.ops[j] == "Transpose" and index.data_in[j]:
        ins = [k for k in index.data_in[j] if index.ops[k] not in signals.CONST_OPS]
        return ins[0] if len(ins) == 1 else j
    return j


_GATHER_OPS = frozenset({"Gather", "GatherV2", "ResourceGather"})


def promote_probed_values(a: Analysis, drafts: dict[int, _Draft]) -> None:
    """Rank the tensor a fixed probe set reads above the probe's result.

    A sink that no input reaches but that looks up constant rows of a weight-derived tensor
    (word2vec's similarity of a few fixed validation words to all normalized embeddings) is an
    evaluation on fixed data, computed to print during training; the tensor it probes (the
    normalized embeddings) is the model's product. A lookup in a plain variable read probes
    the weights themselves, which are no output, and changes nothing.
    """
    if not a.feature_mask:
        return
    index, cat = a.index, a.excl.category
    reads = signals.variable_reads(index)
    for draft in list(drafts.values()):
        if draft.kind != SINK or a.input_bits[draft.i] or not a.weight_bits[draft.i]:
            continue
        probed = _probed_value(a, draft.i, reads)
        if probed is None or cat[probed]:
            continue
        why = (f"the tensor that '{index.names[draft.i]}' probes at fixed rows (constant ids): "
               "the model's product, the probe an evaluation on fixed data")
        _promote_above(a, drafts, draft, probed, OTHER, why)


def _probed_value(a: Analysis, i: int, reads: list[bool]) -> int | None:
    """The weight-derived params of a constant-index lookup within a few steps behind ``i``."""
    index, cat = a.index, a.excl.category
    frontier, seen = [i], {i}
    for _ in range(3):
        nxt = []
        for current in frontier:
            for j in index.data_in[current]:
                if j in seen or cat[j]:
                    continue
                seen.add(j)
                # no input reaches the lookup, so its ids are constants; its one weighted
                # operand is the params (data_in is not in port order)
                params = [k for k in index.data_in[j] if a.weight_bits[k]]
                if index.ops[j] in _GATHER_OPS and not a.input_bits[j] and len(params) == 1 \
                        and not reads[params[0]]:
                    return params[0]
                nxt.append(j)
        frontier = nxt
    return None


_TAIL_STEPS = 4


def add_alternatives(a: Analysis, drafts: dict[int, _Draft]) -> None:
    """List the values behind a cosmetic tail or a final activation right after its candidate.

    From an ``Identity`` (or ``Reshape``, a slice …) the walk goes back step by step to the op that
    computed the value, and from a final activation to its logits; each step is listed just
    below the candidate it starts from.
    """
    index = a.index
    for draft in sorted(drafts.values(), key=lambda d: -d.score):
        if draft.alternative_of is not None:
            continue
        current, score = draft.i, draft.score
        for _ in range(_TAIL_STEPS):
            op = index.ops[current]
            tail = signals.is_cosmetic(op) or op in signals.SELECTION_OPS
            if not (tail or signals.is_final_activation(op)):
                break
            behind = _main_input(a, current)
            if behind is None or index.ops[behind] in _NOT_CANDIDATE_OPS:
                break
            score -= 0.02 if tail else 0.03
            why = (f"the value behind the {op} '{index.names[current]}'" if tail
                   else f"the input of the final {op} '{index.names[current]}'")
            if current in a.one_example and not a.frozen:
                score += ONE_EXAMPLE_PENALTY  # the batched value takes the candidate's place
                why = f"the batched value behind the x[0] slice '{index.names[current]}'"
            _add_alternative(a, drafts, behind, draft.i, score, why)
            current = behind


def _add_alternative(a: Analysis, drafts: dict[int, _Draft], i: int, of: int, score: float,
                     why: str) -> None:
    existing = drafts.get(i)
    if existing is not None:
        if existing.score < score:
            existing.score = score
            existing.reasons.insert(0, why)
        return
    alt = _Draft(i, OTHER, alternative_of=of)
    score_draft(a, alt)
    alt.reasons = [why] + [r for r in alt.reasons if r != _KIND_REASON[OTHER]]
    alt.score = max(0.01, score)
    drafts[i] = alt


def _candidate(a: Analysis, d: _Draft) -> Candidate:
    index = a.index
    return Candidate(name=index.names[d.i], score=round(d.score, 4), op=index.ops[d.i],
                     dtype=index.dtypes[d.i], shape=index.shapes[d.i], reasons=d.reasons)


def _apply_signatures(a: Analysis, model, meta_graph, candidates: list[Candidate]) -> list[Candidate]:
    """SignatureDef outputs are what the exporter declared: authoritative, ranked first."""
    from inspector.ranking.signatures import signature_outputs

    declared = signature_outputs(meta_graph if meta_graph is not None
                                 else getattr(model, "meta_graph", None))
    if not declared:
        return candidates
    by_name = {c.name: c for c in candidates}
    index = a.index
    out: list[Candidate] = []
    for entry in declared:
        i = index.node_index(entry.tensor)
        if i is None:
            continue
        name = index.names[i]
        structural = by_name.pop(name, None)
        reasons = [entry.reason] + ([r for r in structural.reasons] if structural else [])
        out.append(Candidate(name=name, score=entry.score, op=index.ops[i], dtype=index.dtypes[i],
                             shape=index.shapes[i], reasons=reasons, group=entry.group))
    seen = set()
    unique = []
    for cand in out:
        if cand.name not in seen:
            seen.add(cand.name)
            unique.append(cand)
    return unique + list(by_name.values())


def _order(candidates: list[Candidate]) -> list[Candidate]:
    """Best first; members of one group stay together at their best member's place."""
    best: dict[str, float] = {}
    for cand in candidates:
        if cand.group is not None:
            best[cand.group] = max(best.get(cand.group, 0.0), cand.score)
    return sorted(candidates, key=lambda c: (-(best[c.group] if c.group else c.score),
                                             c.group or "", -c.score, c.name))
