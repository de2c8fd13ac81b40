"""One pass of graph analysis shared by the output and the input ranking.

Order matters: the bookkeeping subgraphs are removed first, then inputs are classified (feature,
label, switch), then weights and inputs are propagated as bitsets through what is left.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from dataclasses import dataclass, field

from inspector.ranking import signals
from inspector.graph.index import GraphIndex
from inspector.ranking.subgraphs import (
    GRADIENT,
    OPTIMIZER,
    PLUMBING,
    SAVER,
    VARIABLE_OPS,
    Exclusions,
    MetaInfo,
    find_exclusions,
    meta_info_from,
)

FEATURE = "feature"
LABEL = "label"
SWITCH = "switch"
FEED = "feed"  # feeds only a variable assignment (Keras set_value placeholders)


@dataclass
class InputInfo:
    """One graph input and what the analysis concluded about it.

    ``port`` is set for one output of a node that yields several tensors (an iterator or a
    queue dequeue giving features and labels together): each output is classified on its own.
    """

    index: int
    kind: str
    reasons: list[str] = field(default_factory=list)
    port: int | None = None
    name: str = ""


@dataclass
class Analysis:
    index: GraphIndex
    meta: MetaInfo
    excl: Exclusions
    inputs: list[InputInfo]
    weights: list[int]              # node indices, bit k = weights[k]
    weight_sizes: list[int]
    weight_total: int
    weight_bits: list[int]
    input_bits: list[int]           # bit k = inputs[k]
    feature_mask: int
    label_mask: int
    sources_are_random: bool
    frozen: bool
    tainted: list[bool] = field(default_factory=list)  # computed from a label input
    one_example: set[int] = field(default_factory=set)  # slices that keep x[k] of a batch
    ranked_outputs: list | None = None  # filled by rank_outputs, reused by rank_inputs
    networks: dict | None = None  # separately optimized networks (outputs.networks)

    def label_tainted(self, i: int) -> bool:
        return self.tainted[i]

    def share(self, i: int) -> float:
        return signals.share_of(self.weight_bits[i], self.weight_sizes, self.weight_total)

    def feature_names(self, i: int) -> list[str]:
        names = [info.name for info in self.inputs]
        return signals.names_of(self.input_bits[i] & self.feature_mask, names)


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building many small lists.

    The analysis allocates a few lists per node and no reference cycles; with a large graph
    model already in memory, every automatic collection would rescan it, which made the
    analysis several times slower than its actual work.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def analyze(model, meta_graph=None) -> Analysis:
    """The analysis of ``model`` (cached per model object: ranking outputs and inputs share it)."""
    if meta_graph is None:
        meta_graph = getattr(model, "meta_graph", None)
    try:
        cached = _CACHE.get(model)
    except TypeError:
        cached = None
    if cached is not None and cached[0] is meta_graph:
        return cached[1]
    with _gc_paused():
        result = _analyze(GraphIndex.from_model(model), meta_graph, model)
    with contextlib.suppress(TypeError):
        _CACHE[model] = (meta_graph, result)
    return result


def _analyze(index: GraphIndex, meta_graph, model) -> Analysis:
    meta = meta_info_from(index, meta_graph)
    ops = index.ops
    input_nodes = [i for i, op in enumerate(ops) if op in signals.INPUT_OPS]
    variables = [i for i, op in enumerate(ops) if op in VARIABLE_OPS]
    randoms = [i for i, op in enumerate(ops) if op in signals.RANDOM_OPS]
    excl = find_exclusions(index, meta, set(input_nodes) | set(variables) | set(randoms),
                           protected=set(input_nodes))
    frozen = not variables
    weights = _trainable_weights(index, meta, excl, frozen)
    weight_sizes = [signals.num_elements(index.shapes[i]) for i in weights]
    copies = _copied_weights(index, weights)
    if copies and len(copies) < len(weights):
        # a copy counts for nothing in the shares: see _copied_weights
        weight_sizes = [0 if w in copies else size for w, size in zip(weights, weight_sizes, strict=True)]
    blocked = excl.category
    weight_bits = signals.propagate_bits(index, {w: 1 << k for k, w in enumerate(weights)}, blocked)
    live_inputs = _input_tensors(index, model, [i for i in input_nodes if not excl.category[i]])
    input_bits = signals.propagate_bits(index, _input_seeds(index, model, live_inputs), blocked)
    infos = _classify_inputs(index, excl, live_inputs, set(weights), weight_bits, input_bits, model)
    feature_mask = label_mask = 0
    for k, info in enumerate(infos):
        if info.kind == FEATURE:
            feature_mask |= 1 << k
        elif info.kind == LABEL:
            label_mask |= 1 << k
    sources_are_random = not feature_mask and bool(randoms)
    tainted = [bool(bits & label_mask) for bits in input_bits] if label_mask else [False] * len(index)
    return Analysis(index=index, meta=meta, excl=excl, inputs=infos, weights=weights,
                    weight_sizes=weight_sizes, weight_total=sum(weight_sizes),
                    weight_bits=weight_bits, input_bits=input_bits, feature_mask=feature_mask,
                    label_mask=label_mask, sources_are_random=sources_are_random, frozen=frozen,
                    tainted=tainted, one_example=_one_example_slices(index, model))


def _one_example_slices(index: GraphIndex, model) -> set[int]:
    """StridedSlice nodes that index the first axis (``x[0]``): they keep one example of a batch."""
    found = set()
    for i, op in enumerate(index.ops):
        if op != "StridedSlice":
            continue
        try:
            attr = model.node_def(index.names[i]).attr
        except (KeyError, AttributeError):
            continue
        if "shrink_axis_mask" in attr and attr["shrink_axis_mask"].i & 1:
            found.add(i)
    return found


def _input_tensors(index: GraphIndex, model, nodes: list[int]) -> list[tuple[int, int | None]]:
    """(node, None) per single-output input; (node, port) per output of a multi-output one."""
    tensors: list[tuple[int, int | None]] = []
    for i in nodes:
        outputs = _output_count(model, index.names[i])
        if outputs > 1:
            tensors.extend((i, port) for port in range(outputs))
        else:
            tensors.append((i, None))
    return tensors


def _input_seeds(index: GraphIndex, model, tensors: list[tuple[int, int | None]]) -> dict[int, int]:
    """Bit k for input tensor k: on the node itself, or, for one output of a multi-output node,
    on each consumer reading that output (so features and labels stay apart)."""
    seeds: dict[int, int] = {}
    for k, (i, port) in enumerate(tensors):
        if port is None:
            seeds[i] = seeds.get(i, 0) | 1 << k
            continue
        name = index.names[i]
        for j in index.data_out[i]:
            ports = model.edge_ports(name, index.names[j]) or [(0, 0)]
            if any(out == port for out, _ in ports):
                seeds[j] = seeds.get(j, 0) | 1 << k
    return seeds


def _trainable_weights(index: GraphIndex, meta: MetaInfo, excl: Exclusions, frozen: bool) -> list[int]:
    """The model's trainable weights: the trainable_variables collection when the MetaGraphDef has
    one, else every variable still in the model, else (frozen graph) its float constants."""
    if meta.has_trainable_collection:
        found = {index.node_index(name) for name in meta.trainable}
        chosen = [i for i in found if i is not None and not excl.category[i]]
        if chosen:
            return sorted(chosen)
    return [i for i in range(len(index))
            if not excl.category[i] and signals.is_weight_source(index, i, frozen)]


def _copied_weights(index: GraphIndex, weights: list[int]) -> set[int]:
    """Weights that are assigned another weight's value (a DQN's target network, a frozen copy).

    Such a variable is trainable in name only: no optimizer learns it, an assign copies the
    learned network into it now and then. Counting it would make the network that is actually
    trained look like half of the model, and its copy like the other half.
    """
    chosen = set(weights)
    value = signals.weight_values(index, chosen)
    copies = set()
    for i, op in enumerate(index.ops):
        if op not in ("Assign", "AssignVariableOp"):
            continue
        refs = [j for j in index.data_in[i] if j in chosen]
        sources = [j for j in index.data_in[i] if j not in chosen]
        if len(refs) == 1 and sources and all(value[j] for j in sources):
            copies.add(refs[0])
    return copies


def _classify_inputs(index: GraphIndex, excl: Exclusions, inputs: list[tuple[int, int | None]],
                     weights: set[int],
                     weight_bits: list[int], input_bits: list[int], model) -> list[InputInfo]:
    """Feature inputs reach a layer directly; labels meet the weights only after the prediction;
    training switches are scalars or booleans (keep_prob, is_training, learning_rate)."""
    value = signals.weight_values(index, weights)
    reach_layer = 0   # inputs that reach an op consuming a weight directly
    meets_weights = 0  # inputs that end up combined with weighted values anywhere
    first_layer: dict[int, int] = {}  # input bit -> position of the first layer it reaches
    for position, i in enumerate(index.order):
        if excl.category[i]:
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
    has_weights = bool(weights)
    earliest = min(first_layer.values(), default=0)
    infos = []
    for k, (i, port) in enumerate(inputs):
        if port is None:
            info = _classify_one(index, excl, i, 1 << k, reach_layer, meets_weights, has_weights, model)
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
    return infos


def _late_unshaped_float(index: GraphIndex, i: int, first: int | None, earliest: int) -> bool:
    """``tf.placeholder(tf.float32)`` mixed into a hidden layer is a dropout keep probability or a
    scale, not data: data reaches the first layer."""
    return index.shapes[i] is None and index.dtypes[i] in signals.FLOAT_DTYPES and \
        first is not None and first > earliest


def _classify_port(i: int, port: int, bit: int, reach_layer: int, meets_weights: int,
                   has_weights: bool) -> InputInfo:
    """One output of an iterator or a dequeue: features reach a layer, labels meet the weights
    only after the prediction, anything else is carried along (ids, weights, keys)."""
    if bit & reach_layer or not has_weights:
        return InputInfo(i, FEATURE, [f"output {port} of a multi-output input, flows into a layer"])
    if bit & meets_weights:
        return InputInfo(i, LABEL, [f"output {port} of a multi-output input, meets the weights only "
                                    "after the prediction (loss or metrics)"])
    return InputInfo(i, FEED, [f"output {port} of a multi-output input, not used by the model"])


def _classify_one(index: GraphIndex, excl: Exclusions, i: int, bit: int, reach_layer: int,
                  meets_weights: int, has_weights: bool, model) -> InputInfo:
    consumers = index.data_out[i] + index.ctrl_out[i]
    kinds = {excl.category[j] for j in consumers}
    live = [j for j in consumers if not excl.category[j]]
    name = index.names[i]
    if consumers and not live:
        if kinds & {OPTIMIZER, GRADIENT}:
            return InputInfo(i, SWITCH, ["feeds only the optimizer (a training hyperparameter)"])
        if SAVER in kinds:
            return InputInfo(i, FEED, ["feeds only the saver"])
        if PLUMBING in kinds:
            return InputInfo(i, FEED, ["feeds only input plumbing (a queue or a reader)"])
        return InputInfo(i, FEED, ["feeds only a variable assignment"])
    if index.dtypes[i] in ("resource", "variant"):
        return InputInfo(i, FEED, [f"a captured {index.dtypes[i]} handle (a variable or table of a "
                                   "function graph), not data"])
    if index.dtypes[i] == "bool":
        return InputInfo(i, SWITCH, ["boolean scalar: a training switch"])
    if any(index.ops[j] in ("Switch", "RefSwitch") and _predicate_of(model, index.names[j]) == name
           for j in live):
        return InputInfo(i, SWITCH, ["selects a branch of a cond: a training switch"])
    if signals.is_scalar(index, i) or (index.shapes[i] is None and signals.switch_name_hint(name)):
        return InputInfo(i, SWITCH, ["scalar value: a training switch or hyperparameter"])
    if bit & reach_layer or not has_weights:
        return InputInfo(i, FEATURE, ["flows into a layer's weights"] if has_weights else [])
    if bit & meets_weights:
        return InputInfo(i, LABEL, ["meets the weights only after the prediction (loss or metrics)"])
    return InputInfo(i, FEATURE, ["does not meet the model's weights"])


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
    try:
        inputs = model.node_def(switch_name).input
    except (KeyError, AttributeError):
        return None
    if len(inputs) < 2:
        return None
    return inputs[1].lstrip("^").partition(":")[0]
