"""Adjustments between candidates: named steps, each returning the changes it proposes.

A rule (:mod:`.rules`) scores one candidate on its own evidence; a step relates candidates: it
puts a node just above a scored candidate because of how the two are connected (the Softmax over
logits a loss reads, the embedding a loss compares with itself), or lists the value behind a
cosmetic tail right below it. A step never edits a candidate: it returns :class:`Change` records
that :func:`apply` merges, so each step can be tested — and switched off (``make eval
--without``) — on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inspector import tfops
from inspector.ranking.candidates import COMPARED, INNER, LOSS_INPUT, METRIC_END, NOT_CANDIDATE, Draft
from inspector.roles import MODEL, Roles, author_named, flow

#: How far above the candidate it relates to a promoted node is placed, and below it an
#: alternative: enough to order them, small against the rules' weights.
ABOVE = 0.02
BELOW_TAIL = 0.02
BELOW_ACTIVATION = 0.03


@dataclass(frozen=True)
class Change:
    """Put node ``i`` at ``score`` with ``reason`` first; ``of`` is the candidate it relates to.
    ``alternative``: listed as an alternative of ``of`` (never above it, never grouped)."""

    step: str
    i: int
    score: float
    reason: str
    of: int
    alternative: bool = False


@dataclass(frozen=True)
class Step:
    name: str
    why: str
    run: Callable[[Roles, dict[int, Draft], set[int]], list[Change]]


def activation_over_compared(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """The Softmax or Sigmoid computed from logits a loss reads ranks above them: a training graph
    computes the activation for inference while the loss takes the logits, and the activation is
    what a user of the frozen model wants."""
    index = r.index
    changes = []
    for d in drafts.values():
        if d.end not in (COMPARED, LOSS_INPUT) or index.ops[d.i] in tfops.FINAL_ACTIVATIONS:
            continue
        for j in index.data_out[d.i]:
            if r.role[j] == MODEL and index.ops[j] in tfops.PROBABILITY_ACTIVATIONS:
                changes.append(Change("activation_over_compared", j, d.score + ABOVE,
                                      f"final activation: {index.ops[j]} over '{index.names[d.i]}', which "
                                      "the loss reads", d.i))
    return changes


def probabilities_over_decision(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """Probabilities rank above a decision TensorFlow named that reduces them
    (``tf.argmax(tf.nn.softmax(logits), 1)`` left as ``ArgMax_2``): they carry the whole answer,
    the decision can be taken after fetching them, and a decision the author cared to fetch is
    one they named (:func:`named_decision`)."""
    index = r.index
    changes = []
    for d in drafts.values():
        if index.ops[d.i] not in tfops.DECISIONS or author_named(index, d.i):
            continue
        for j in index.data_in[d.i]:
            if index.ops[j] in tfops.PROBABILITY_ACTIVATIONS and r.role[j] == MODEL:
                changes.append(Change("probabilities_over_decision", j, d.score + ABOVE,
                                      f"the probabilities that the {index.ops[d.i]} '{index.names[d.i]}' "
                                      "reduces to a decision: the whole answer", d.i))
    return changes


def decoded_over_compared(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """What the metrics compare with the labels, decoded straight from the values a loss compares,
    ranks above them: the loss trains the raw scores, the metric measures the decoded answer the
    model serves (a CTC beam search over the logits the CTC loss reads, scored by edit distance)."""
    index = r.index
    changes = []
    for d in drafts.values():
        if d.end != METRIC_END:
            continue
        for j in index.data_in[d.i]:
            j = _behind_cosmetic(index, j)
            compared = drafts.get(j)
            if compared is not None and compared.end == COMPARED and r.role[d.i] == MODEL:
                changes.append(Change("decoded_over_compared", d.i, compared.score + ABOVE,
                                      f"decodes '{index.names[j]}', which the loss compares; the metrics "
                                      "measure the decoded answer", j))
    return changes


def _behind_cosmetic(index, j: int) -> int:
    for _ in range(3):
        if index.ops[j] not in tfops.COSMETIC or not index.data_in[j]:
            return j
        j = index.data_in[j][0]
    return j


def self_compared(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """The embedding a loss compares with itself across the batch ranks above the loss's pairwise
    arithmetic: batch-hard triplet and contrastive losses multiply the embeddings with their own
    transpose (a Gram matrix); what the loss reads is that product, the embedding is the output.
    A weight after the product (bilinear pooling, then a classifier) would make it a layer."""
    index = r.index
    changes = []
    for d in drafts.values():
        if d.end not in (COMPARED, LOSS_INPUT):
            continue
        x = _gram_operand(r, d.i)
        if x is not None and r.role[x] == MODEL and not r.label_tainted(x):
            changes.append(Change("self_compared", x, d.score + ABOVE,
                                  f"the loss compares it with itself across the batch (pairwise, through "
                                  f"'{index.names[d.i]}'): an embedding trained by in-batch mining", d.i))
    return changes


def towers_over_their_comparison(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """The two applications of one network to inputs fed separately rank above what compares
    them: a siamese or triplet network's product is the embedding each tower computes (it can be
    served on one input), and the distance between towers (``sum((o1 - o2) ** 2)``) is the loss's
    arithmetic when no weight comes after it. A weight after the merge (a classifier over the
    pair) makes the merge a layer input, and a pair delivered as one element of an input pipeline
    (one iterator's get_next) is served as a pair: in both cases the candidate stands."""
    index = r.index
    changes = []
    for d in drafts.values():
        if d.alternative_of is not None or d.end == INNER:
            continue
        towers = _merged_towers(r, d.i)
        if towers is None:
            continue
        merge, pair = towers
        inputs = " and ".join(f"'{n}'" for n in _input_names(r, pair))
        for tower in pair:
            changes.append(Change("towers_over_their_comparison", tower, d.score + ABOVE,
                                  f"one of two applications of the same network (to {inputs}) that "
                                  f"'{index.names[merge]}' compares: a siamese tower's output", d.i))
    return changes


def _merged_towers(r: Roles, i: int) -> tuple[int, tuple[int, int]] | None:
    """(merge node, its two tower operands) behind ``i`` with no weight between them and ``i``."""
    index = r.index
    bits = r.weight_bits[i]
    if not bits:
        return None
    frontier, seen = [i], {i}
    for _ in range(8):
        nxt = []
        for current in frontier:
            operands = [j for j in index.data_in[current] if r.weight_bits[j] == bits and r.role[j] == MODEL]
            for a in operands:
                for b in operands:
                    if a < b and index.ops[a] not in NOT_CANDIDATE and index.ops[b] not in NOT_CANDIDATE \
                            and _fed_separately(r, a, b):
                        return current, (a, b)
            if any(r.weight_value[j] for j in index.data_in[current]):
                continue  # a layer: the towers would be its inputs, not compared by it
            for j in operands:
                if j not in seen:
                    seen.add(j)
                    nxt.append(j)
        frontier = nxt
    return None


def _fed_separately(r: Roles, a: int, b: int) -> bool:
    """``a`` and ``b`` are computed from different input nodes (not two outputs of one)."""
    nodes = []
    for t in (a, b):
        bits = r.input_bits[t]
        nodes.append({info.index for k, info in enumerate(r.inputs) if bits >> k & 1})
    return bool(nodes[0]) and bool(nodes[1]) and not nodes[0] & nodes[1]


def _input_names(r: Roles, pair: tuple[int, int]) -> list[str]:
    return [", ".join(r.feature_names(t)) or r.index.names[t] for t in pair]


def loss_network_input(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """The model's output that a fixed loss network reads ranks above everything that network
    computes: a perceptual loss (fast style transfer, super-resolution) runs one network of
    constant weights over the model's output and over the target, and compares the features.
    Walking back from a compared value and its target in step, the two computations match
    (same ops, same constant weights) down to where they part: the prediction's side there is
    what the model produces; the features, and any tail of the loss network no loss uses, are
    not outputs."""
    index = r.index
    changes = []
    for d in drafts.values():
        if d.end != COMPARED or d.prediction is None or d.prediction.target is None:
            continue
        parted = _parting(r, d.i, d.prediction.target)
        if parted is None:
            continue
        (output, parted_target), bits = parted, r.weight_bits[parted[0]]
        inside = [e for e in drafts.values() if r.weight_bits[e.i] == bits and e.i != output]
        computed = flow.descendants(index, [output]) if inside else set()
        best = max((e.score for e in inside if e.i in computed), default=d.score)
        loss, target = index.names[d.prediction.loss], index.names[parted_target]
        changes.append(Change("loss_network_input", output, best + ABOVE,
                              f"the model's output: the loss '{loss}' compares what a fixed network "
                              "(constant weights) computes from it with what the same network computes "
                              f"from '{target}' (a perceptual loss)", d.i))
    return changes


def _parting(r: Roles, prediction: int, target: int) -> tuple[int, int] | None:
    """Where the computations of ``prediction`` and ``target`` part, walking back while they
    apply the same ops and share constant weights: (the prediction's side, the target's side)
    there, when at least one shared constant layer was crossed and the target side has no
    trainable weight."""
    index = r.index
    p, t = prediction, target
    crossed = False
    for _ in range(64):
        if index.ops[p] != index.ops[t] or len(index.data_in[p]) != len(index.data_in[t]):
            break
        pairs = list(zip(index.data_in[p], index.data_in[t], strict=True))
        shared = [a for a, b in pairs if a == b or _same_constant(r, a, b)]
        if shared and all(index.ops[a] in tfops.CONSTANTS for a in shared) and \
                (index.ops[p] in tfops.CONVOLUTIONS or index.ops[p] in tfops.MATMULS):
            crossed = True
        apart = [(a, b) for a, b in pairs if a != b and a not in shared]
        if len(apart) != 1:
            return None
        p, t = apart[0]
    else:
        return None
    if not crossed or r.weight_bits[t] or not r.weight_bits[p] or index.ops[p] in NOT_CANDIDATE:
        return None
    return (p, t) if r.role[p] == MODEL else None


def _same_constant(r: Roles, a: int, b: int) -> bool:
    """Two Const nodes holding the same value (a network built twice from one array of weights)."""
    index = r.index
    if index.ops[a] not in tfops.CONSTANTS or index.ops[b] not in tfops.CONSTANTS \
            or index.shapes[a] != index.shapes[b] or index.dtypes[a] != index.dtypes[b]:
        return False
    model = r.model_ref()
    if model is None:
        return False
    first, second = model.node_def(index.names[a]), model.node_def(index.names[b])
    if first.attr["value"] != second.attr["value"]:
        return False
    lazy = getattr(model, "lazy", None)  # big values left out of the parse: compare them read back
    if lazy and (lazy.stripped(first) is not None or lazy.stripped(second) is not None):
        return lazy.tensor(first) == lazy.tensor(second)
    return True


def _gram_operand(r: Roles, i: int) -> int | None:
    """``x`` of an ``x @ x.T`` behind ``i`` computed from the same weights as ``i``."""
    index = r.index
    bits = r.weight_bits[i]
    frontier, seen = [i], {i}
    for _ in range(8):
        nxt = []
        for current in frontier:
            if index.ops[current] in tfops.MATMULS:
                # both operands the same tensor (x @ x.T; the index lists a repeated producer
                # once), not x times a constant weight
                operands = {_behind_transpose(index, j) for j in index.data_in[current]}
                constant = any(index.ops[j] in tfops.CONSTANTS for j in index.data_in[current])
                if len(operands) == 1 and not constant:
                    x = operands.pop()
                    if r.weight_bits[x] and index.ops[x] not in NOT_CANDIDATE:
                        return x
            for j in index.data_in[current]:
                if j not in seen and r.weight_bits[j] == bits:
                    seen.add(j)
                    nxt.append(j)
        frontier = nxt
    return None


def _behind_transpose(index, j: int) -> int:
    if index.ops[j] in tfops.TRANSPOSES and index.data_in[j]:
        ins = [k for k in index.data_in[j] if index.ops[k] not in tfops.CONSTANTS]
        return ins[0] if len(ins) == 1 else j
    return j


def probed_value(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """The tensor a fixed probe set reads ranks above the probe's result: a sink that no input
    reaches but that looks up constant rows of a weight-derived tensor (word2vec's similarity of
    a few fixed words to all normalized embeddings) is an evaluation on fixed data; the tensor
    it probes is the model's product. A lookup in a plain variable probes the weights, no output."""
    if not r.feature_mask:
        return []
    index = r.index
    changes = []
    for d in drafts.values():
        if d.end != "sink" or r.input_bits[d.i] or not r.weight_bits[d.i]:
            continue
        probed = _probed(r, d.i)
        if probed is not None and r.role[probed] == MODEL:
            changes.append(Change("probed_value", probed, d.score + ABOVE,
                                  f"the tensor that '{index.names[d.i]}' probes at fixed rows (constant "
                                  "ids): the model's product, the probe an evaluation on fixed data", d.i))
    return changes


def _probed(r: Roles, i: int) -> int | None:
    index = r.index
    frontier, seen = [i], {i}
    for _ in range(3):
        nxt = []
        for current in frontier:
            for j in index.data_in[current]:
                if j in seen or r.role[j] != MODEL:
                    continue
                seen.add(j)
                params = [k for k in index.data_in[j] if r.weight_bits[k]]
                if index.ops[j] in tfops.GATHERS and not r.input_bits[j] and len(params) == 1 \
                        and index.ops[params[0]] not in NOT_CANDIDATE | tfops.VARIABLE_FORWARDERS:
                    return params[0]
                nxt.append(j)
        frontier = nxt
    return None


_TAIL_STEPS = 4


def alternatives(r: Roles, drafts: dict[int, Draft], one_example: set[int]) -> list[Change]:
    """The values behind a cosmetic tail (an Identity, a Reshape, a slice) or a final activation
    are listed right after the candidate: users may want either."""
    index = r.index
    changes = []
    for d in sorted(drafts.values(), key=lambda d: -d.score):
        if d.alternative_of is not None:
            continue
        current, score = d.i, d.score
        for _ in range(_TAIL_STEPS):
            op = index.ops[current]
            tail = op in tfops.COSMETIC or op in tfops.SELECTIONS
            if not (tail or op in tfops.FINAL_ACTIVATIONS):
                break
            behind = _main_input(r, current)
            if behind is None or index.ops[behind] in NOT_CANDIDATE or r.role[behind] != MODEL:
                break
            score -= BELOW_TAIL if tail else BELOW_ACTIVATION
            why = (f"the value behind the {op} '{index.names[current]}'" if tail
                   else f"the input of the final {op} '{index.names[current]}'")
            if current in one_example and not r.frozen:
                # an x[0] view at the end of a graph that still has variables is a convenience for
                # one example: the batched value behind it takes the candidate's place (in a
                # frozen graph the author chose that sink when freezing, so it stands)
                score = d.score + ABOVE
                why = f"the batched value behind the x[0] slice '{index.names[current]}'"
            changes.append(Change("alternatives", behind, max(0.01, score), why, d.i, alternative=True))
            current = behind
    return changes


def _main_input(r: Roles, i: int) -> int | None:
    """The operand carrying the most weights (the data path, not a shape or axis constant)."""
    ins = [j for j in r.index.data_in[i] if r.index.ops[j] not in tfops.CONSTANTS]
    return max(ins, key=r.share) if ins else None


STEPS: tuple[Step, ...] = (
    Step("activation_over_compared", "the activation over logits a loss reads is the inference output",
         activation_over_compared),
    Step("probabilities_over_decision", "probabilities carry the whole answer a TensorFlow-named "
         "decision reduces", probabilities_over_decision),
    Step("decoded_over_compared", "the metrics measure the decoded answer of the scores a loss trains",
         decoded_over_compared),
    Step("self_compared", "in-batch metric learning compares the embedding with itself", self_compared),
    Step("loss_network_input", "a perceptual loss compares features of the model's output; the output "
         "is what the fixed network reads", loss_network_input),
    Step("towers_over_their_comparison", "a siamese network's product is each tower's output, not "
         "their distance", towers_over_their_comparison),
    Step("probed_value", "a probe on fixed rows evaluates the tensor it probes", probed_value),
    Step("alternatives", "the value behind a cosmetic tail or a final activation is an alternative",
         alternatives),
)
STEP_NAMES = frozenset(step.name for step in STEPS)


def apply(changes: list[Change], drafts: dict[int, Draft], new_draft: Callable[[int, str], Draft]) -> None:
    """Merge ``changes``. A node not yet a candidate is drafted (scored by the rules, by
    ``new_draft``) and then placed at the change's score; a candidate already scoring higher
    keeps its place. The step's reason comes first, and its contribution is the difference it
    made, so that a candidate's score stays the sum of what its reasons contribute."""
    for change in changes:
        target = drafts.get(change.i)
        if target is None:
            target = new_draft(change.i, INNER)
            if change.alternative:
                target.alternative_of = change.of
            drafts[change.i] = target
        elif target.score >= change.score:
            continue
        delta = round(change.score - target.score, 4)
        same = [k for k, (step, _) in enumerate(target.rules)
                if step == change.step and target.reasons[k] == change.reason]
        if same:  # the same fact proposed twice (two tails lead to one node): said once
            k = same[0]
            target.rules[k] = (change.step, round(target.rules[k][1] + delta, 4))
        else:
            target.reasons.insert(0, change.reason)
            target.rules.insert(0, (change.step, delta))
        target.score = change.score
