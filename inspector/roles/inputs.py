"""What each graph input is for: data the model computes from, labels, training switches, feeds.

Inputs are placeholders and the outputs of pipeline ops (an iterator's ``get_next`` or a queue's
dequeue, each output on its own: features and labels often travel together). The evidence is
where the input's value goes:

* a **feature** reaches a layer — an op that reads a weight directly;
* a **label** meets the weights only after the prediction (in the loss or the metrics);
* a **switch** is a boolean or scalar that configures the run (``is_training``, ``keep_prob``,
  a dropout rate, a learning rate); each gets its kind and the value to feed at inference;
* a **feed** serves bookkeeping only (the saver's filename, a Keras ``set_value`` placeholder), or
  nothing at all (an input nothing reads).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inspector import tfops
from inspector.graph.index import GraphIndex
from inspector.roles import flow

FEATURE, LABEL, SWITCH, FEED = "feature", "label", "switch", "feed"
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})

TRAINING_FLAG, KEEP_PROB, DROPOUT_RATE, LEARNING_RATE, HYPERPARAMETER = (
    "training_flag", "keep_prob", "dropout_rate", "learning_rate", "hyperparameter")
#: The value each kind of switch takes at inference (None: inference does not read it).
INFERENCE_VALUE = {TRAINING_FLAG: False, KEEP_PROB: 1.0, DROPOUT_RATE: 0.0, LEARNING_RATE: None,
                   HYPERPARAMETER: None}


@dataclass(frozen=True)
class SwitchInput:
    """A training switch, its kind and the value to feed for inference (None: not needed)."""

    name: str
    kind: str
    inference_value: bool | float | None
    reason: str

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "inference_value": self.inference_value,
                "reason": self.reason}


@dataclass
class InputInfo:
    """One graph input and what it is for. ``port`` is set for one output of a multi-output
    pipeline op (each output is classified on its own); ``switch`` for a switch."""

    index: int
    kind: str
    reasons: list[str] = field(default_factory=list)
    port: int | None = None
    name: str = ""
    switch: SwitchInput | None = None


def input_nodes(index: GraphIndex) -> list[int]:
    return [i for i, op in enumerate(index.ops) if op in tfops.PLACEHOLDERS or op in tfops.DATA_PRODUCERS]


def input_tensors(index: GraphIndex, model, nodes: list[int]) -> list[tuple[int, int | None]]:
    """(node, None) per single-output input; (node, port) per output of a multi-output one."""
    tensors: list[tuple[int, int | None]] = []
    for i in nodes:
        outputs = _output_count(model, index.names[i])
        if outputs > 1:
            tensors.extend((i, port) for port in range(outputs))
        else:
            tensors.append((i, None))
    return tensors


def input_seeds(index: GraphIndex, model, tensors: list[tuple[int, int | None]]) -> dict[int, int]:
    """Bit k for input tensor k: on the node itself, or, for one output of a multi-output node,
    on each consumer reading that output (so features and labels stay apart)."""
    seeds: dict[int, int] = {}
    # node -> output -> the consumers reading it, from one scan of the node's uses (asking for
    # each output and consumer which outputs it reads rescanned them all: outputs x uses^2)
    readers: dict[int, dict[int, set[int]]] = {}
    for k, (i, port) in enumerate(tensors):
        if port is None:
            seeds[i] = seeds.get(i, 0) | 1 << k
            continue
        if i not in readers:
            readers[i] = {}
            for consumer, _, ref in model.consumers[index.names[i]]:
                if not ref.control:
                    readers[i].setdefault(ref.port, set()).add(index.pos[consumer])
        for j in readers[i].get(port, ()):
            seeds[j] = seeds.get(j, 0) | 1 << k
    return seeds


def weight_values(index: GraphIndex, weights: set[int]) -> list[bool]:
    """Nodes whose value *is* a weight: the weight itself, or a read, loop entry or cast of it,
    or the weight laid out anew by constant parameters (``tf.nn.conv1d`` expands its filter to
    4-D before the Conv2D reads it; a tied decoder reads the encoder's weight transposed).

    An op consuming such a node directly is a layer, and an input reaching a layer directly is a
    feature input (a label only meets the weights through the prediction, in the loss).
    """
    value = [False] * len(index)
    static = [False] * len(index)  # known without data: constants and what is computed from them
    passing = tfops.VARIABLE_FORWARDERS | tfops.LOOP_ENTERS | {"Cast"}
    layouts = tfops.RESHAPES | tfops.TRANSPOSES
    for i in index.order:
        ins, op = index.data_in[i], index.ops[i]
        if i in weights:
            value[i] = True
        elif op in passing and ins:
            value[i] = all(value[j] for j in ins)
        elif op in layouts and ins:  # (data_in is not in input order: the weight is any one)
            value[i] = any(value[j] for j in ins) and all(value[j] or static[j] for j in ins)
        static[i] = op in tfops.CONSTANTS or (
            bool(ins) and op not in _NEVER_STATIC and all(static[j] or value[j] for j in ins))
    return value


#: ops whose value is not fixed by their inputs (draws, feeds, state, pipelines)
_NEVER_STATIC = (tfops.RANDOM | tfops.PLACEHOLDERS | tfops.VARIABLES | tfops.STATE_WRITES
                 | tfops.DATA_PRODUCERS)


def classify_inputs(index: GraphIndex, model, role: list[str], tensors: list[tuple[int, int | None]],
                    has_weights: bool, value: list[bool], weight_bits: list[int],
                    input_bits: list[int]) -> list[InputInfo]:
    """Classify every input tensor (see the module docstring); ``role`` is "" for live nodes and
    ``value`` marks the weights' values (:func:`weight_values`)."""
    reach_layer = 0   # inputs that reach an op consuming a weight directly
    meets_weights = 0  # inputs that end up combined with weighted values anywhere
    first_layer: dict[int, int] = {}  # input bit -> position of the first layer it reaches
    for position, i in enumerate(index.order):
        if role[i]:
            continue
        ins = index.data_in[i]
        if any(value[j] for j in ins):
            for j in ins:
                if not value[j]:
                    new = input_bits[j] & ~reach_layer
                    reach_layer |= input_bits[j]
                    while new:
                        low = new & -new
                        first_layer[low] = position
                        new ^= low
        if weight_bits[i]:
            meets_weights |= input_bits[i]
    earliest = min(first_layer.values(), default=0)
    uniform = _uniform_derived(index)
    infos = []
    for k, (i, port) in enumerate(tensors):
        if port is None:
            info = _classify_one(index, model, role, i, 1 << k, reach_layer, meets_weights, has_weights)
            if info.kind == FEATURE and _late_unshaped_float(index, i, first_layer.get(1 << k), earliest):
                info = InputInfo(i, SWITCH, ["a float of unknown shape that joins the model only after "
                                             "its first layer (like keep_prob)"])
            info.name = index.names[i]
        else:
            info = _classify_port(i, port, 1 << k, reach_layer, meets_weights, has_weights)
            info.name = f"{index.names[i]}:{port}"
        info.port = port
        infos.append(info)
    # A scalar is a switch only when the graph has a real (non-scalar) feature input; a graph
    # whose only inputs are scalars (c = a * b) takes them as features.
    if not any(info.kind == FEATURE for info in infos):
        for info in infos:
            if info.kind == SWITCH and "scalar" in " ".join(info.reasons):
                info.kind = FEATURE
    for info in infos:
        if info.kind == SWITCH:
            info.switch = switch_of(index, model, role, info, uniform)
    return infos


def _late_unshaped_float(index: GraphIndex, i: int, first: int | None, earliest: int) -> bool:
    """``tf.placeholder(tf.float32)`` mixed into a hidden layer is a dropout keep probability or a
    scale, not data: data reaches the first layer."""
    return index.shapes[i] is None and index.dtypes[i] in FLOAT_DTYPES and \
        first is not None and first > earliest


def _classify_port(i: int, port: int, bit: int, reach_layer: int, meets_weights: int,
                   has_weights: bool) -> InputInfo:
    if bit & reach_layer or not has_weights:
        return InputInfo(i, FEATURE, [f"output {port} of a multi-output input, flows into a layer"])
    if bit & meets_weights:
        return InputInfo(i, LABEL, [f"output {port} of a multi-output input, meets the weights only "
                                    "after the prediction (loss or metrics)"])
    return InputInfo(i, FEED, [f"output {port} of a multi-output input, not used by the model"])


def _classify_one(index: GraphIndex, model, role: list[str], i: int, bit: int, reach_layer: int,
                  meets_weights: int, has_weights: bool) -> InputInfo:
    consumers = index.data_out[i] + index.ctrl_out[i]
    kinds = {role[j] for j in consumers}
    live = [j for j in consumers if not role[j]]
    name = index.names[i]
    if not consumers:
        # an input nothing reads cannot change any output (TF2's freeze leaves one per unused
        # loop input); feeding it, or calling it the model's data, would mislead
        return InputInfo(i, FEED, ["nothing reads it"])
    if not live:
        if kinds & {"optimizer", "gradient"}:
            return InputInfo(i, SWITCH, ["feeds only the optimizer (a training hyperparameter)"])
        if "saver" in kinds:
            return InputInfo(i, FEED, ["feeds only the saver"])
        if "input_pipeline" in kinds:
            return InputInfo(i, FEED, ["feeds only input plumbing (a queue or a reader)"])
        return InputInfo(i, FEED, ["feeds only a variable assignment"])
    if index.dtypes[i] in ("resource", "variant"):
        return InputInfo(i, FEED, [f"a captured {index.dtypes[i]} handle (a variable or table of a "
                                   "function graph), not data"])
    if index.dtypes[i] == "bool":
        return InputInfo(i, SWITCH, ["boolean scalar: a training switch"])
    if any(index.ops[j] in tfops.SWITCHES and _predicate_of(model, index.names[j]) == name for j in live):
        return InputInfo(i, SWITCH, ["selects a branch of a cond: a training switch"])
    if index.shapes[i] == [] or (index.shapes[i] is None and switch_name_hint(name)):
        return InputInfo(i, SWITCH, ["scalar value: a training switch or hyperparameter"])
    if bit & reach_layer or not has_weights:
        return InputInfo(i, FEATURE, ["flows into a layer's weights"] if has_weights else [])
    if bit & meets_weights:
        return InputInfo(i, LABEL, ["meets the weights only after the prediction (loss or metrics)"])
    return InputInfo(i, FEATURE, ["does not meet the model's weights"])


# -- switches ----------------------------------------------------------------------------------

_SWITCH_WORDS = re.compile(
    r"(^|[/_])(keep_?prob\w*|is_?training|training|train_?phase|phase|learning_?rate|lr|"
    r"dropout\w*|mode|drop_?rate)$", re.IGNORECASE)
_KEEP_WORDS = re.compile(r"keep", re.IGNORECASE)
_RATE_WORDS = re.compile(r"(drop|rate)", re.IGNORECASE)


_LABEL_WORDS = re.compile(r"(^|[/_])(labels?|targets?|y_?true|y_|gt|ground_?truth)\d*$", re.IGNORECASE)


def label_name_hint(name: str) -> bool:
    """Weak evidence that an input holds labels; only mentioned in the reasons, never decides."""
    return bool(_LABEL_WORDS.search(name))


def switch_name_hint(name: str) -> bool:
    """Weak evidence that an input of unknown shape is a training switch (keep_prob, is_training…);
    only consulted when the graph does not record the input's shape."""
    return bool(_SWITCH_WORDS.search(name))


def switch_of(index: GraphIndex, model, role: list[str], info: InputInfo, uniform: list[bool]) -> SwitchInput:
    """The kind of a switch input and its inference value, from how the graph uses it."""
    i = info.index
    name = info.name
    if index.dtypes[i] == "bool":
        return SwitchInput(name, TRAINING_FLAG, False, "a boolean switch: False selects inference")
    live = [j for j in index.data_out[i] + index.ctrl_out[i] if not role[j]]
    if not live:
        return SwitchInput(name, LEARNING_RATE, None, "read by the optimizer only: not needed for inference")
    use = _dropout_use(index, model, i, uniform)
    if use == KEEP_PROB:
        return SwitchInput(name, KEEP_PROB, 1.0, "added to a uniform draw and floored (TF1 dropout's "
                                                  "keep probability): 1.0 keeps every unit")
    if use == DROPOUT_RATE:
        return SwitchInput(name, DROPOUT_RATE, 0.0, "compared with a uniform draw (dropout's rate): 0.0 "
                                                    "drops nothing")
    if _KEEP_WORDS.search(name.rsplit("/", 1)[-1]):
        return SwitchInput(name, KEEP_PROB, 1.0, "named like a keep probability (weak evidence): 1.0 "
                                                 "keeps every unit")
    if _RATE_WORDS.search(name.rsplit("/", 1)[-1]):
        return SwitchInput(name, DROPOUT_RATE, 0.0, "named like a dropout rate (weak evidence): 0.0 "
                                                    "drops nothing")
    return SwitchInput(name, HYPERPARAMETER, None, "a scalar the model reads; no inference value is known")


def _uniform_derived(index: GraphIndex) -> list[bool]:
    """Values computed from a uniform random draw (what dropout masks are made of)."""
    draws = {i for i, op in enumerate(index.ops) if op in tfops.RANDOM_UNIFORM}
    if not draws:
        return [False] * len(index)
    return flow.computed_from(index, draws, blocked=[False] * len(index))


def _dropout_use(index: GraphIndex, model, i: int, uniform: list[bool]) -> str | None:
    """How a scalar input meets a dropout mask within two steps, if it does.

    TF1's ``tf.nn.dropout(x, keep_prob)`` adds keep_prob to a uniform draw and floors the sum;
    TF2's (and ``rate=``) compares the draw with the rate (``uniform >= rate``), or scales by
    ``1 - rate``.
    """
    frontier = [i]
    for _ in range(2):
        nxt = []
        for current in frontier:
            for j in index.data_out[current]:
                op = index.ops[j]
                others = [k for k in index.data_in[j] if k != current]
                if op in tfops.ADDITIONS and any(uniform[k] for k in others) and \
                        any(index.ops[c] == "Floor" for c in index.data_out[j]):
                    return KEEP_PROB
                if op in tfops.DROPOUT_MASK_OPS and op != "Floor" and any(uniform[k] for k in others):
                    return DROPOUT_RATE
                nxt.append(j)
        frontier = nxt
    return None


def _output_count(model, name: str) -> int:
    """Outputs of an iterator or a dequeue: they often carry (features, labels) together."""
    try:
        node = model.node_def(name)
    except (KeyError, AttributeError):
        return 1
    for attr in ("output_types", "component_types"):
        if attr in node.attr and node.attr[attr].WhichOneof("value") == "list":
            return max(1, len(node.attr[attr].list.type))
    return 1


def _predicate_of(model, switch_name: str) -> str | None:
    """The node feeding a Switch's predicate (its second input)."""
    refs = model.data_inputs(switch_name) if switch_name in model else []
    return refs[1].node if len(refs) > 1 else None
