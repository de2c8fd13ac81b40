"""Inference-behaviour checks: the graph loads, but computes something other than inference.

BATCHNORM_TRAINING_MODE (FusedBatchNorm* with is_training=true, or moments over the batch axis,
on the path to the outputs), DROPOUT_ACTIVE (a random mask — RandomUniform compared with the
keep probability — applied on that path) and REDUCED_PRECISION_OUTPUT (outputs cast down to
float16/bfloat16 or to an integer type). Only nodes that run with the default feeds count: the
training branch of an ``is_training`` switch that defaults to False is not the inference path.

Severity follows what the caller can do. Batch norm or dropout that a training switch turns on
(an ``is_training`` placeholder the caller must feed, a ``keep_prob`` or rate input) is avoided
by feeding the switch its inference value: that is one TRAINING_SWITCH warning naming each switch
and its value (the roles pass, :mod:`inspector.roles`, says which inputs are switches and of what
kind). Only what no feed turns off is a BATCHNORM_TRAINING_MODE or DROPOUT_ACTIVE error.
"""

from __future__ import annotations

from collections import deque

from inspector import tfops
from inspector.diagnosis.findings import Finding
from inspector.diagnosis.graphindex import (
    FLOAT_TYPES,
    GraphIndex,
    accepts_graph_def,
    attr_type,
    const_tensor,
    dtype_name,
)

LOW_FLOAT = frozenset({19, 14})  # float16, bfloat16
INT_TYPES = frozenset({3, 4, 5, 6, 9, 17, 22, 23})
#: What an output may be behind its Cast without computing anything.
PASS_THROUGH = tfops.IDENTITIES | tfops.RESHAPES


def _names(items: list[str], shown: int = 6) -> str:
    text = ", ".join(f"'{n}'" for n in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _is_training(node: object) -> bool:
    """FusedBatchNorm's is_training attr; its OpDef default is true (stripped graphs omit it).

    TensorFlow always writes ``T`` (it has no default); a node without it had its attrs removed
    by another tool (OpenCV's text graphs), and then a missing is_training says nothing.
    """
    if "is_training" in node.attr:
        return node.attr["is_training"].b
    return "T" in node.attr


def _int_list(node: object, lazy: object | None = None) -> list[int] | None:
    tensor = const_tensor(node, lazy)
    if tensor is None:
        return None
    if tensor.int_val:
        return list(tensor.int_val)
    if tensor.int64_val:
        return list(tensor.int64_val)
    if tensor.tensor_content and tensor.dtype in (3, 9):
        width = 4 if tensor.dtype == 3 else 8
        raw = tensor.tensor_content
        return [int.from_bytes(raw[i:i + width], "little", signed=True) for i in range(0, len(raw), width)]
    return [] if tensor.tensor_shape.dim else None


def batch_moments(index: GraphIndex) -> list[str]:
    """Mean nodes over axis 0 of a computed tensor that feed a SquaredDifference with that same
    tensor: tf.nn.moments over the batch (layer and instance norm reduce other axes and are fine at
    inference; a loss comparing a batch mean with a constant target is not a variance)."""
    found = []
    for name in index.inference_path_by_op.get("Mean", ()):
        inputs = index.data_inputs(name)
        if len(inputs) != 2 or inputs[1].node not in index.nodes:
            continue
        axes = _int_list(index.nodes[inputs[1].node], index.lazy)
        if not axes or 0 not in axes:
            continue
        near = {c for c, _, _ in index.consumers[name]}
        near |= {c2 for c in list(near) if index.op(c) == "StopGradient" for c2, _, _ in index.consumers[c]}
        source = inputs[0].node
        if any(index.op(c) == "SquaredDifference" and source in {r.node for r in index.data_inputs(c)}
               for c in near):
            found.append(name)
    return sorted(found)


def training_batch_norms(index: GraphIndex) -> tuple[list[str], list[str]]:
    """(fused batch norms with is_training=true, batch moments) that run with the default feeds."""
    fused = [n for n in index.on_inference_path(tfops.BATCH_NORMS) if _is_training(index.nodes[n])]
    return fused, batch_moments(index)


def _unguarded(index: GraphIndex, names: list[str]) -> list[str]:
    """Of ``names``, those that still run when every training flag is fed its inference value."""
    if not names:
        return []
    return [n for n in names if n in index.switched_inference_path]


@accepts_graph_def
def check_batchnorm_training(index: GraphIndex) -> list[Finding]:
    fused, moments = training_batch_norms(index)
    fused, moments = _unguarded(index, fused), _unguarded(index, moments)
    if not fused and not moments:
        return []
    parts = []
    if fused:
        parts.append(f"{len(fused)} fused batch norm(s) with is_training=true ({_names(fused)})")
    if moments:
        parts.append(f"{len(moments)} mean(s) over the batch axis feeding a variance ({_names(moments)})")
    return [Finding(
        "BATCHNORM_TRAINING_MODE", "error",
        f"Batch normalization computes the statistics of each input batch instead of using the learned "
        f"moving mean and variance: {'; '.join(parts)}. Results depend on the batch and are wrong for a "
        "batch of one.",
        "Rebuild the graph with training=False (or is_training=False / K.set_learning_phase(0)), restore "
        "the checkpoint into it and freeze that.",
        {"fused_batch_norm": fused[:50], "batch_moments": moments[:50]})]


# How many ops may separate a random draw from the mask it becomes (scale, add, floor, compare).
_MASK_STEPS = 4


def _mask_applied(index: GraphIndex, start: str, steps: int = _MASK_STEPS) -> tuple[str, str] | None:
    """(mask node, apply node) when ``start``'s random values become a mask that multiplies or
    selects a tensor within a few steps."""
    queue = deque([(start, 0, None)])
    seen = {start}
    while queue:
        name, depth, mask = queue.popleft()
        for consumer, _, source in index.consumers[name]:
            if source.control or consumer in seen:
                continue
            op = index.op(consumer)
            if mask is not None and op in tfops.DROPOUT_APPLY_OPS:
                return mask, consumer
            if depth >= steps:
                continue
            if op in tfops.DROPOUT_MASK_OPS:
                seen.add(consumer)
                queue.append((consumer, depth + 1, consumer))
            elif op in tfops.DROPOUT_MASK_PLUMBING:
                seen.add(consumer)
                queue.append((consumer, depth + 1, mask))
    return None


def _per_element(index: GraphIndex, random: str) -> bool:
    """False when the random tensor is a single draw (a shape Const of one element or none):
    a random flip or crop decision, not a dropout mask over a tensor."""
    inputs = index.data_inputs(random)
    if not inputs or inputs[0].node not in index.nodes:
        return True
    dims = _int_list(index.nodes[inputs[0].node], index.lazy)
    if dims is None:
        return True  # computed shape: usually tf.shape(x), the dropout case
    count = 1
    for size in dims:
        count *= size
    return count > 1 or count < 0


def _rate_inputs(index: GraphIndex, random: str, mask: str) -> list[str]:
    """Placeholders that set the keep probability / rate of a mask (``keep_prob`` fed at run time).

    Walks back from the mask along the ops computed from the random draw; every other operand met
    on the way (the rate, the keep probability) contributes the placeholders it depends on. The
    draw's own shape input is left out: it comes from the activations, which depend on keep_prob
    through every earlier dropout layer without setting this layer's rate.
    """
    derived = _downstream(index, random, steps=_MASK_STEPS)
    bits = index.placeholder_bits
    found, stack, seen = 0, [mask], set()
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for source in index.data_inputs(name):
            if source.node == random or source.node not in index.nodes:
                continue
            if source.node in derived:
                stack.append(source.node)
            else:
                found |= bits.get(source.node, 0)
    return sorted(index.placeholders_in(found))


def _downstream(index: GraphIndex, start: str, steps: int) -> set[str]:
    """Nodes reached from ``start`` along data edges within ``steps`` hops."""
    reached, frontier = {start}, [start]
    for _ in range(steps):
        # each node once per hop (a consumer reading a tensor K times is one node, not K)
        frontier = list(dict.fromkeys(c for name in frontier for c, _, ref in index.consumers[name]
                                      if not ref.control and c not in reached))
        reached.update(frontier)
    return reached


def dropout_masks(index: GraphIndex) -> list[dict]:
    """Dropout masks applied on the inference path: the draw, the mask, where it is applied and
    the inputs that set its rate."""
    path = index.inference_path
    found = []
    for name in index.on_inference_path(tfops.RANDOM_UNIFORM):
        if not _per_element(index, name):
            continue
        hit = _mask_applied(index, name)
        if hit is not None and hit[1] in path:
            found.append({"random": name, "mask": hit[0], "applied_at": hit[1],
                          "rate_inputs": _rate_inputs(index, name, hit[0])})
    return found


def _dropout_guarded(index: GraphIndex, mask: dict) -> bool:
    """A fed input sets the mask's rate (keep_prob=1.0 turns it off), or a training flag's
    inference value takes it off the path."""
    return bool(mask["rate_inputs"]) or mask["applied_at"] not in index.switched_inference_path


@accepts_graph_def
def check_dropout(index: GraphIndex) -> list[Finding]:
    found = [m for m in dropout_masks(index) if not _dropout_guarded(index, m)]
    if not found:
        return []
    shown = ", ".join(f"{f['random']} -> {f['mask']} -> {f['applied_at']}" for f in found[:4])
    fed = sorted({p for f in found for p in f["rate_inputs"]})
    return [Finding(
        "DROPOUT_ACTIVE", "error",
        f"{len(found)} dropout mask(s) are applied on the way to the outputs ({shown}): every run zeroes "
        "a random part of the activations, so answers change from call to call.",
        "Rebuild with dropout disabled (training=False, keep_prob=1.0 or rate=0) before freezing, or "
        "freeze a graph whose dropout sits behind an is_training switch that defaults to False.",
        {"dropout": found[:50], "rate_inputs": fed})]


#: What to tell the caller to feed, per kind of switch (inspector.roles' kinds); a rate input the
#: roles pass could not type gets both readings.
_FEED = {"training_flag": ("False", "bool training flag"), "keep_prob": ("1.0", "keep probability"),
         "dropout_rate": ("0.0", "dropout rate")}


@accepts_graph_def
def check_training_switches(index: GraphIndex) -> list[Finding]:
    """TRAINING_SWITCH: batch norm in training mode or dropout that feeding a switch its inference
    value turns off; one warning naming each switch, its kind, its value and what it controls."""
    fused, moments = training_batch_norms(index)
    masks = dropout_masks(index)
    if not fused and not moments and not masks:
        return []
    controls: dict[str, dict[str, list[str]]] = {}
    flags = index.flag_values()
    dead = {flag: index.dead_given({flag: value}) for flag, value in flags.items()}
    for name in fused + moments:
        if name in index.switched_inference_path:
            continue
        for flag in _guarding_flags(name, dead):
            controls.setdefault(flag, {}).setdefault("batch norm", []).append(name)
    for mask in masks:
        if not _dropout_guarded(index, mask):
            continue
        setters = mask["rate_inputs"] or _guarding_flags(mask["applied_at"], dead)
        for switch in setters:
            controls.setdefault(switch, {}).setdefault("dropout", []).append(mask["applied_at"])
    if not controls:
        return []
    parts, feeds, evidence = [], [], []
    for switch, what in sorted(controls.items()):
        known = index.switches.get(switch)
        value, kind = _FEED.get(known.kind if known else "", ("1.0 (keep probability) or 0.0 (rate)",
                                                               "input setting the dropout rate"))
        did = "; ".join(f"{k} in {len(v)} place(s) ({_names(v, 3)})" for k, v in sorted(what.items()))
        parts.append(f"'{switch}' ({kind}) turns on {did}")
        feeds.append(f"{switch}={value}")
        evidence.append({"switch": switch, "kind": known.kind if known else None, "inference_value": value,
                         "batch_norm": what.get("batch norm", [])[:50],
                         "dropout": what.get("dropout", [])[:50]})
    return [Finding(
        "TRAINING_SWITCH", "warning",
        f"{len(controls)} input(s) switch the model into training behaviour: {'; '.join(parts)}. Fed their "
        "inference value the graph computes inference; fed anything else (or left at a training default) "
        "its answers depend on the batch or change from call to call.",
        f"Feed {', '.join(feeds)} at inference, or freeze a graph built for inference so callers cannot get "
        "it wrong.", {"switches": evidence})]


def _guarding_flags(name: str, dead: dict[str, set[str]]) -> list[str]:
    """The training flags whose inference value alone takes ``name`` off the inference path
    (``dead``: flag -> what its inference value kills)."""
    return [flag for flag, killed in dead.items() if name in killed]


def _cast_feeding(index: GraphIndex, output: str) -> str | None:
    """The Cast an output is (or reaches through Identity/Reshape/Squeeze), if any."""
    name, hops = output, 0
    while hops < 8:
        node = index.nodes[name]
        if node.op == "Cast":
            return name
        inputs = index.data_inputs(name)
        if node.op not in PASS_THROUGH or not inputs or inputs[0].node not in index.nodes:
            return None
        name, hops = inputs[0].node, hops + 1
    return None


@accepts_graph_def
def check_reduced_precision(index: GraphIndex) -> list[Finding]:
    found = []
    for output in index.outputs:
        cast = _cast_feeding(index, output)
        if cast is None:
            continue
        node = index.nodes[cast]
        source, target = attr_type(node, "SrcT"), attr_type(node, "DstT")
        if source not in FLOAT_TYPES or target is None:
            continue
        lowered = target in LOW_FLOAT and source not in LOW_FLOAT
        inputs = index.data_inputs(cast)
        behind = inputs[0].node if inputs else None
        rounded = behind in index.nodes and index.op(behind) in tfops.ROUNDING
        if lowered or (target in INT_TYPES and not rounded):
            found.append({"output": output, "cast": cast, "from": dtype_name(source),
                          "to": dtype_name(target)})
    if not found:
        return []
    shown = ", ".join(f"{f['output']} ({f['from']} -> {f['to']})" for f in found[:4])
    return [Finding(
        "REDUCED_PRECISION_OUTPUT", "warning",
        f"{len(found)} output(s) are cast down at the very end: {shown}. The weights and the arithmetic "
        "stay as they were, so the file is no smaller, but the results lose precision (float16 keeps ~3 "
        "significant digits; an integer cast truncates probabilities to 0).",
        "Fetch the tensor before the Cast (its input) as the output; to shrink the model, quantize or "
        "convert the weights instead (e.g. TFLite post-training quantization).",
        {"casts": found[:50]})]


def random_weight_operands(index: GraphIndex) -> list[dict]:
    """Operands of a dense layer or convolution on the inference path that are drawn at random on
    every run: computed from a stateful random op and constants, no input reaching them.

    ``W = tf.random_uniform([784, 10])`` where ``tf.Variable(tf.random_uniform(...))`` was meant
    freezes into a graph that answers differently on every call. A random value mixed with an input
    (a VAE's sampled code, noise added to activations) reaches the layer through the input: not a
    weight.
    """
    layers = index.on_inference_path(tfops.MATMULS | tfops.CONVOLUTIONS)
    if not layers:
        return []
    bits = index.placeholder_bits
    random_memo: dict[str, bool] = {}
    found = []
    for name in layers:
        for position, ref in enumerate(index.data_inputs(name)):
            source = ref.node
            if source in index.nodes and not bits.get(source, 0) and \
                    _drawn_at_random(index, source, random_memo):
                found.append({"node": name, "op": index.op(name), "input": position, "weight": source})
    return found


def _drawn_at_random(index: GraphIndex, start: str, memo: dict[str, bool]) -> bool:
    """``start`` is computed (through data edges) from a stateful random draw and no input pipeline."""
    stack, order = [start], []
    seen: set[str] = set()
    while stack:
        name = stack.pop()
        if name in seen or name in memo:
            continue
        seen.add(name)
        order.append(name)
        stack.extend(r.node for r in index.data_inputs(name) if r.node in index.nodes)
    for name in reversed(order):  # inputs before their consumers (a DAG once loops are cut)
        op = index.op(name)
        if tfops.is_input_pipeline(op):
            memo[name] = False
        elif op in tfops.RANDOM_STATEFUL:
            memo[name] = True
        else:
            sources = [r.node for r in index.data_inputs(name) if r.node in index.nodes]
            memo[name] = any(memo.get(s, False) for s in sources) and all(
                not tfops.is_input_pipeline(index.op(s)) for s in sources)
    return memo.get(start, False)


@accepts_graph_def
def check_random_weights(index: GraphIndex) -> list[Finding]:
    found = random_weight_operands(index)
    if not found:
        return []
    shown = ", ".join(f"{f['node']} ({f['op']}) input {f['input']} <- {f['weight']}" for f in found[:4])
    return [Finding(
        "RANDOM_WEIGHTS", "error",
        f"{len(found)} weight operand(s) of a dense layer or convolution are drawn at random on every run "
        f"({shown}): the graph holds no trained values there and answers differently on every call.",
        "The model computes its weights with a random op instead of reading a variable "
        "(tf.random_uniform(...) where tf.Variable(tf.random_uniform(...)) was meant): rebuild it with "
        "variables, train, and freeze "
        "from the checkpoint.", {"weights": found[:50]})]


CHECKS = (check_batchnorm_training, check_dropout, check_training_switches, check_random_weights,
          check_reduced_precision)
