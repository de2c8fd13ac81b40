"""The losses a training graph minimizes, the predictions they compare, and the loss arithmetic
in between.

**A loss is what a gradient seed differentiates.** The backward pass reads forward values — the
activations of every layer on the way to the loss, and the loss's own intermediate values (the
difference of a squared error, the cross-entropy kernel). Every one of them lies on a path to the
loss. So among the ends of the forward pass (values nothing else in the model consumes), the loss
of an optimizer is the one all the values its backward pass reads lead to. A prediction leads to
fewer (never to the loss's own arithmetic); a metric to fewer still.

**The prediction is where the loss meets its target.** Walking back from the loss through loss
arithmetic (reductions, differences, element-wise math, cross-entropy kernels), each operand is
either more loss arithmetic or the model's value: an operand compared with a target (a value
computed from inputs and no weight: the labels, or the input an autoencoder reconstructs) or with
its twin tower (the same weights applied to another input), an op that is not loss arithmetic,
one that reads a weight directly (a layer, e.g. a bias add), or a value something other than the
loss consumes. What the loss applies to the prediction first
(``log(y)`` in ``-sum(y_ * log(y))``, a reshape of the logits) is stepped over: it belongs to the
loss. A term computed from weights alone is a regularizer, part of the loss.
"""

from __future__ import annotations

from dataclasses import dataclass

from inspector import tfops
from inspector.graph.index import GraphIndex
from inspector.roles import flow


@dataclass(frozen=True)
class Prediction:
    """A model value a loss compares: ``target`` is what it is compared with (None when the
    loss is computed from it against constants only: a GAN's or an auxiliary loss); ``stopped``
    when the loss reads it through a StopGradient (a teacher's output, a target network's
    estimate: what the loss trains towards, not what it trains)."""

    node: int
    loss: int
    target: int | None
    stopped: bool = False


def loss_of_each(index: GraphIndex, live: list[bool], forward: list[bool], backward_sets: list[set[int]],
                 differentiated: list[int | None]) -> list[int | None]:
    """Per optimizer (its backward pass), the end of the forward pass all its reads lead to — or,
    when its seed is shaped after a value (``Fill(Shape(loss), 1)``), that value.

    Ties go to an end no other optimizer took (a GAN's generator loss and its discriminator's
    loss both lie beyond everything the generator's backward pass reads), then to a scalar (what
    an optimizer minimizes; a prediction has a batch dimension), then to an end the backward pass
    does not read (values a gradient function computes for itself from forward
    values, the ``-x / y**2`` of a division's gradient, reach the same reads as the loss they
    differentiate), then to the end computed from the fewest values (the most specific).
    """
    ends = _forward_ends(index, live, forward)
    if not ends:
        return [d if d is not None and live[d] else None for d in differentiated]
    reach = _ends_reached(index, live, ends)
    own = {e: 1 << k for k, e in enumerate(ends)}
    reduced: dict[int, bool] = {}
    size = _counts(reach, len(ends), range(len(index)))
    losses: list[int | None] = [d if d is not None and live[d] else None for d in differentiated]
    claimed: set[int] = {loss for loss in losses if loss is not None}
    # optimizers whose best end is clear first: each optimizer minimizes a loss of its own
    every_backward = set().union(*backward_sets)
    read_back = [any(j in every_backward for j in index.data_out[e]) for e in ends]
    keyed = []
    for n, backward in enumerate(backward_sets):
        if losses[n] is not None:
            continue
        read = list(_backward_reads(index, live, backward, set(ends)))
        counts = _counts(reach, len(ends), read, own=[own.get(j, 0) for j in read])
        top = max(counts, default=0)
        tied = [k for k in range(len(ends)) if counts[k] == top] if top else []
        keyed.append((len(tied), n, tied))
    for _, n, tied in sorted(keyed):
        if not tied:
            continue
        free = [k for k in tied if ends[k] not in claimed] or tied
        best = min(free, key=lambda k: (not _scalar_like(index, ends[k], reduced), read_back[k], size[k]))
        losses[n] = ends[best]
        claimed.add(ends[best])
    return losses


def _backward_reads(index: GraphIndex, live: list[bool], backward: set[int], ends: set[int]) -> set[int]:
    """The forward values a backward pass reads, directly or through what its gradient functions
    compute from them first (``PreventGradient(xent:1)``, the ``-x / y**2`` chain of a division):
    walking back from such a computation to the first value something else reads too."""
    read = {j for b in backward for j in index.data_in[b] if live[j]}
    stack = [j for j in read if j in ends]
    chain = set(stack)
    while stack:
        for k in index.data_in[stack.pop()]:
            if not live[k] or k in chain:
                continue
            readers = _value_readers(index, live, k)
            if readers and all(r in chain for r in readers):
                chain.add(k)
                stack.append(k)
            else:
                read.add(k)
    return read


def _scalar_like(index: GraphIndex, i: int, reduced: dict[int, bool]) -> bool:
    """A scalar or a tensor of one element; where the graph records no shape, a value computed
    from reductions (``sqrt(mean(...))``) rather than from a batch of values."""
    shape = index.shapes[i]
    return _reduced(index, i, reduced) if shape is None else all(d == 1 for d in shape)


def _reduced(index: GraphIndex, i: int, memo: dict[int, bool], depth: int = 8) -> bool:
    """A reduction, or a value computed from reductions and constants only within a few ops
    (what follows a loss's reduction is short arithmetic: a sqrt, a scale, a sum of terms)."""
    if i in memo:
        return memo[i]
    op = index.ops[i]
    if op in tfops.REDUCTIONS or op in tfops.CONSTANTS or op in tfops.SHAPE_ONLY or depth == 0:
        memo[i] = op in tfops.REDUCTIONS
        return memo[i]
    memo[i] = False  # a loop's back edge leads here again: not a reduction
    ins = [j for j in index.data_in[i] if index.ops[j] not in tfops.CONSTANTS | tfops.SHAPE_ONLY]
    memo[i] = bool(ins) and all(_reduced(index, j, memo, depth - 1) for j in ins)
    return memo[i]


def _counts(reach: list[int], n: int, nodes, own: list[int] | None = None) -> list[int]:
    """How many of ``nodes`` lead to each end (an end does not count itself where ``own`` says)."""
    counts = [0] * n
    for position, j in enumerate(nodes):
        bits = reach[j] & ~own[position] if own is not None else reach[j]
        while bits:
            low = bits & -bits
            counts[low.bit_length() - 1] += 1
            bits ^= low
    return counts


def _forward_ends(index: GraphIndex, live: list[bool], forward: list[bool]) -> list[int]:
    """Live forward values whose value no live node reads (a Shape reads none)."""
    return [i for i in range(len(index)) if live[i] and forward[i] and index.ops[i] not in tfops.CONSTANTS
            and index.ops[i] not in tfops.SHAPE_ONLY and not _value_readers(index, live, i)]


def _value_readers(index: GraphIndex, live: list[bool], i: int) -> list[int]:
    """Live consumers that read the value of node ``i`` (shape-only ops read just its shape)."""
    return [j for j in index.data_out[i] if live[j] and not index.shape_only[j]]


def _ends_reached(index: GraphIndex, live: list[bool], ends: list[int]) -> list[int]:
    """Per node, a bitset of the ends its value leads to (reverse topological order)."""
    reach = [0] * len(index)
    for k, e in enumerate(ends):
        reach[e] = 1 << k
    for _ in range(flow.MAX_LOOP_PASSES if flow.has_loops(index) else 1):
        changed = False
        for i in reversed(index.order):
            if not live[i]:
                continue
            bits = reach[i]
            for j in index.data_out[i]:
                if live[j]:
                    bits |= reach[j]
            if bits != reach[i]:
                reach[i] = bits
                changed = True
        if not changed:
            break
    return reach


def loss_only(index: GraphIndex, live: list[bool], losses: set[int]) -> list[bool]:
    """Live nodes every live consumer path of which ends in a loss."""
    only = [False] * len(index)
    for i in reversed(index.order):
        if not live[i]:
            continue
        if i in losses:
            only[i] = True
            continue
        readers = _value_readers(index, live, i)
        only[i] = bool(readers) and all(only[j] for j in readers)
    return only


def predictions_of(index: GraphIndex, loss: int, live: list[bool], only: list[bool],
                   weight_bits: list[int], input_bits: list[int], from_data: list[bool],
                   weight_value: list[bool], region: set[int]) -> list[Prediction]:
    """Walk back from ``loss`` (see the module docstring); the loss arithmetic met is added to
    ``region``, the model values it compares are returned."""
    found: dict[int, Prediction] = {}
    region.add(loss)
    queue = [loss]
    while queue:
        n = queue.pop()
        operands = [j for j in index.data_in[n] if live[j] and j not in region]
        targets = [j for j in operands if from_data[j] and not weight_bits[j]]
        towers = _towers(operands, weight_bits, input_bits)
        for j in operands:
            stopped = False
            while index.ops[j] in tfops.GRADIENT_BLOCKS and only[j] and index.data_in[j]:
                region.add(j)  # the loss's own decision not to train what lies behind
                j, stopped = index.data_in[j][0], True
            if not weight_bits[j]:
                if not from_data[j] and only[j]:
                    region.add(j)  # the loss's own constants and shapes
                continue  # a target: the labels' role is decided with the inputs
            if not from_data[j]:
                if only[j] and not weight_value[j]:
                    region.add(j)  # a regularizer: computed from the weights alone
                    queue.append(j)
                continue
            reads_weight = any(weight_value[k] for k in index.data_in[j])
            if targets or j in towers or index.ops[j] not in tfops.LOSS_ARITHMETIC or not only[j] \
                    or reads_weight:
                node = _step_back(index, j, n, only, weight_bits, region)
                if node not in found or found[node].target is None:
                    found[node] = Prediction(node, loss, targets[0] if targets else None, stopped)
            else:
                region.add(j)
                queue.append(j)
    return [p for node, p in found.items() if node not in region]


def _towers(operands: list[int], weight_bits: list[int], input_bits: list[int]) -> set[int]:
    """Operands computed from exactly the same weights but from disjoint inputs: one network
    applied to two inputs (siamese/triplet towers). A metric-learning loss compares them with each
    other; walking on into one would take the tower's own last op (the Mul of an l2_normalize)
    for loss arithmetic."""
    found = set()
    for a in operands:
        for b in operands:
            if a < b and weight_bits[a] and weight_bits[a] == weight_bits[b] and input_bits[a] \
                    and input_bits[b] and not input_bits[a] & input_bits[b]:
                found |= {a, b}
    return found


#: What a loss applies to a prediction before comparing it: the element-wise loss math (``log``
#: of a probability) and the reshapes/casts a loss kernel needs.
_LOSS_SIDE = tfops.LOSS_MATH | tfops.RESHAPES | {"Cast"}


def _step_back(index: GraphIndex, j: int, consumer: int, only: list[bool], weight_bits: list[int],
               region: set[int]) -> int:
    """Step back over what the loss applied to the prediction: element-wise loss math, and the
    reshapes and casts a fused loss kernel needs (2-D logits for a cross-entropy). A reshape that
    generic arithmetic reads (``squeeze(pred) - y``) is the author's output shape and stays."""
    for _ in range(8):
        op = index.ops[j]
        if not only[j] or op not in _LOSS_SIDE or \
                (op not in tfops.LOSS_MATH and index.ops[consumer] not in tfops.LOSS_KERNELS):
            return j
        weighted = [k for k in index.data_in[j] if weight_bits[k]]
        if len(weighted) != 1:
            return j
        region.add(j)
        consumer, j = j, weighted[0]
    return j
