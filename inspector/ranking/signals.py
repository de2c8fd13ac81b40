"""The evidence the ranking weighs, one small function per signal.

Each function states why the signal exists. None of them looks at a particular model's node
names: op types, graph structure and the MetaGraphDef's own records carry the evidence; node
names only add a small nudge (:func:`name_hint`).
"""

from __future__ import annotations

import re

from inspector.graph.index import BACK_EDGE_OPS, GraphIndex
from inspector.ranking.subgraphs import VARIABLE_OPS

INPUT_OPS = frozenset({
    "Placeholder", "PlaceholderV2", "PlaceholderWithDefault", "IteratorGetNext",
    "IteratorGetNextSync", "QueueDequeue", "QueueDequeueV2", "QueueDequeueMany",
    "QueueDequeueManyV2", "QueueDequeueUpTo", "QueueDequeueUpToV2",
})
RANDOM_OPS = frozenset({
    "RandomStandardNormal", "RandomUniform", "RandomUniformInt", "TruncatedNormal",
    "RandomGamma", "RandomPoisson", "RandomPoissonV2", "Multinomial", "RandomShuffle",
    "StatelessRandomNormal", "StatelessRandomUniform", "StatelessRandomNormalV2",
    "StatelessRandomUniformV2", "StatelessTruncatedNormal",
})
CONST_OPS = frozenset({"Const", "HostConst"})
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
NON_VALUE_DTYPES = frozenset({"resource", "variant"})

# Ops that change how a value looks but not what it is: a frozen graph's output is often the
# Identity or Reshape that follows the real computation, and users may want either.
COSMETIC_OPS = frozenset({"Identity", "Reshape", "Squeeze", "Cast", "ExpandDims", "Snapshot",
                          "StopGradient", "IdentityN", "PreventGradient", "CheckNumerics"})
# The last op a model applies to turn scores into an answer.
FINAL_ACTIVATION_OPS = frozenset({
    "Softmax", "Sigmoid", "LogSoftmax", "ArgMax", "TopK", "TopKV2", "NonMaxSuppression",
    "NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5",
    "CombinedNonMaxSuppression",
})
# Ops through which a variable's value reaches its consumer unchanged (reads, loop entries).
_READ_OPS = frozenset({"Identity", "ReadVariableOp", "Enter", "RefEnter", "Cast", "Snapshot",
                       "RefIdentity"})
# Ops that combine a prediction with its target inside a loss; walking back from the loss
# stops at the first one whose other operand carries no trainable weights.
LOSS_OPS = frozenset({
    "Mean", "Sum", "Square", "Sub", "SquaredDifference", "Abs", "Mul", "Neg", "Log", "Add", "AddV2",
    "AddN", "RealDiv", "Div", "Pow", "Sqrt", "Maximum", "Minimum", "Select", "SelectV2", "Log1p",
    "Exp", "Relu", "L2Loss", "SoftmaxCrossEntropyWithLogits",
    "SparseSoftmaxCrossEntropyWithLogits", "Reshape", "Identity", "Cast", "Squeeze", "DivNoNan",
    "Huber", "LogSoftmax", "Softplus",
})
# Element-wise math a loss applies to the prediction before comparing it with the labels
# (``-sum(y_ * log(y))``): the prediction is the operand, not the result.
LOSS_MATH_OPS = frozenset({"Log", "Log1p", "Square", "Neg", "Abs", "ClipByValue", "Maximum",
                           "Minimum"})

# Ops that turn a prediction into a decision to compare with labels (argmax, thresholds).
DECISION_OPS = frozenset({"ArgMax", "ArgMin", "Round", "Greater", "GreaterEqual", "Less",
                          "LessEqual", "TopKV2", "LogicalNot"})
METRIC_OPS = frozenset({"Equal", "NotEqual", "InTopK", "InTopKV2", "Less", "Greater",
                        "LessEqual", "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot"})

_OUTPUT_WORDS = re.compile(
    r"(^|[/_])(outputs?|logits?|predictions?|preds?|probabilities|probs?|proba|scores?|"
    r"detections?|boxes|classes|y_?hat|inference)([/_:\d]|$)", re.IGNORECASE)
_SWITCH_WORDS = re.compile(
    r"(^|[/_])(keep_?prob\w*|is_?training|training|train_?phase|phase|learning_?rate|lr|"
    r"dropout\w*|mode|drop_?rate)$", re.IGNORECASE)
_LABEL_WORDS = re.compile(r"(^|[/_])(labels?|targets?|y_?true|y_|gt|ground_?truth)\d*$",
                          re.IGNORECASE)


def name_hint(name: str) -> bool:
    """Weak evidence only: authors often call the output 'output', 'logits', 'probs'…

    It never decides alone; it breaks near-ties between structurally equal candidates.
    """
    last = name.rsplit("/", 2)
    return bool(_OUTPUT_WORDS.search("/".join(last[-2:])))


def author_named(index: GraphIndex, i: int) -> bool:
    """The author chose this node's name (``tf.argmax(x, 1, name="prediction")``).

    TensorFlow names an op it creates after its type (``ArgMax``, ``scope/ArgMax_1``); a name
    that is not the op type is the author's, given to a node they mean to fetch. This is about
    whether a name was chosen, never about what it says. Only exact op-type defaults count as
    default names, so use it for ops whose Python wrappers keep the op type (decisions).
    """
    last = index.names[i].rsplit("/", 1)[-1]
    return re.sub(r"_\d+$", "", last) != index.ops[i]


def switch_name_hint(name: str) -> bool:
    """Weak evidence that a scalar-looking input is a training switch (keep_prob, is_training…)."""
    return bool(_SWITCH_WORDS.search(name))


def label_name_hint(name: str) -> bool:
    """Weak evidence that an input holds labels; only mentioned in the reasons, never decides."""
    return bool(_LABEL_WORDS.search(name))


def is_cosmetic(op: str) -> bool:
    """A cosmetic tail hides the real result one step back (walk back over it)."""
    return op in COSMETIC_OPS


def is_final_activation(op: str) -> bool:
    """The op that turns logits into the answer users consume (walk forward to it)."""
    return op in FINAL_ACTIVATION_OPS


def num_elements(shape: list[int] | None) -> int:
    """Elements of a shape, unknown dims counted as 1 (sizes only weigh variables)."""
    if shape is None:
        return 1
    total = 1
    for dim in shape:
        total *= max(int(dim), 1)
    return total


def is_weight_source(index: GraphIndex, i: int, frozen: bool) -> bool:
    """A trainable value: a variable, or in a frozen graph a float constant with ≥ 2 elements.

    Freezing turns every variable into a Const, so in a graph without variables the weights are
    the non-trivial float constants.
    """
    op = index.ops[i]
    if op in VARIABLE_OPS:
        return True
    if frozen and op in CONST_OPS and index.dtypes[i] in FLOAT_DTYPES:
        return num_elements(index.shapes[i]) >= 2
    return False


def weight_values(index: GraphIndex, weights: set[int]) -> list[bool]:
    """Nodes whose value *is* a weight: the weight itself or a read / loop entry of it.

    An op consuming such a node directly is a layer, and an input reaching a layer directly is a
    feature input (a label only meets the weights through the prediction, in the loss).
    """
    value = [False] * len(index)
    for i in index.order:
        if i in weights:
            value[i] = True
        elif index.ops[i] in _READ_OPS and index.data_in[i]:
            value[i] = all(value[j] for j in index.data_in[i])
    return value


# Candidate samplers draw the negative classes of a sampled loss (NCE, sampled softmax).
CANDIDATE_SAMPLER_OPS = frozenset({
    "LogUniformCandidateSampler", "UniformCandidateSampler", "LearnedUnigramCandidateSampler",
    "FixedUnigramCandidateSampler", "AllCandidateSampler", "ThreadUnsafeUnigramCandidateSampler",
    "ComputeAccidentalHits",
})


def sampled_values(index: GraphIndex) -> list[bool]:
    """Nodes computed from a candidate sampler's draw.

    NCE and sampled-softmax losses score the true class against a few sampled classes: those
    logits exist only for training (inference scores every class with the full matrix), so
    nothing computed from the draw is a model output.
    """
    sampled = [False] * len(index)
    for i in index.order:
        sampled[i] = index.ops[i] in CANDIDATE_SAMPLER_OPS or \
            any(sampled[j] for j in index.data_in[i])
    return sampled


# Ops that select part of a value; walking back from an output passes over them like over a
# cosmetic tail (the whole tensor is the natural alternative).
SELECTION_OPS = frozenset({"StridedSlice", "Slice", "Unpack", "Split", "SplitV"})

# Ops whose value does not depend on their input's *values* (only on its shape): a weight
# reaching them says nothing about what the result computes.
SHAPE_OPS = frozenset({"Shape", "ShapeN", "Size", "Rank", "ZerosLike", "OnesLike",
                       "BroadcastGradientArgs", "TensorArraySizeV3"})


def variable_reads(index: GraphIndex) -> list[bool]:
    """Nodes that merely read a variable or a constant (``w/read``, ``ReadVariableOp``).

    A read of an optimizer slot is a sink in most training graphs; it computes nothing.
    """
    reads = [False] * len(index)
    for i in index.order:
        op = index.ops[i]
        if op in VARIABLE_OPS or op in CONST_OPS:
            reads[i] = True
        elif op in _READ_OPS and index.data_in[i]:
            reads[i] = all(reads[j] for j in index.data_in[i])
    return reads


def propagate_bits(index: GraphIndex, seeds: dict[int, int], blocked: list[str]) -> list[int]:
    """OR bitsets forward along data edges in topological order, skipping excluded nodes.

    Python ints serve as bitsets: one bit per weight (or per input), so a node's full set of
    ancestors of interest costs one OR per edge — linear, not quadratic. Values that loops feed
    back (NextIteration -> Merge) are picked up by further passes until nothing changes (a few
    at most: one per loop-carried dependency chain). Shape-only ops stop the propagation.
    """
    bits = [0] * len(index)
    data_in, order, ops = index.data_in, index.order, index.ops
    has_loops = any(op in BACK_EDGE_OPS for op in ops)
    for _ in range(_MAX_LOOP_PASSES if has_loops else 1):
        changed = False
        for i in order:
            if blocked[i]:
                continue
            value = seeds.get(i, 0)
            if ops[i] not in SHAPE_OPS:
                for j in data_in[i]:
                    value |= bits[j]
            if value != bits[i]:
                bits[i] = value
                changed = True
        if not changed:
            break
    return bits


_MAX_LOOP_PASSES = 8


def share_of(bits: int, sizes: list[int], total: int) -> float:
    """Share of the model's trainable weights (by element count) among a node's ancestors.

    The prediction depends on (nearly) all of them; a branch, an auxiliary head or a metric
    depends on fewer.
    """
    if total <= 0 or not bits:
        return 0.0
    acc = 0
    while bits:
        low = bits & -bits
        acc += sizes[low.bit_length() - 1]
        bits ^= low
    return min(acc / total, 1.0)


def names_of(bits: int, names: list[str]) -> list[str]:
    """The names behind the set bits of a bitset, in bit order."""
    out = []
    while bits:
        low = bits & -bits
        out.append(names[low.bit_length() - 1])
        bits ^= low
    return out


REDUCTION_OPS = frozenset({"Mean", "Sum", "Max", "Min", "Prod", "All", "Any", "EuclideanNorm",
                           "Sqrt", "L2Loss"})


def is_scalar_statistic(index: GraphIndex, i: int) -> bool:
    """A reduction to a scalar is a statistic (a mean score, a loss), not a model's answer."""
    return is_scalar(index, i) and index.ops[i] in REDUCTION_OPS


def in_loop(index: GraphIndex, i: int) -> bool:
    """A value inside a while-loop frame is per-iteration state, not the model's answer."""
    return bool(index.frames[i])


def is_scalar(index: GraphIndex, i: int) -> bool:
    """A scalar is a loss, a counter or a hyperparameter far more often than a prediction."""
    return index.shapes[i] == []
