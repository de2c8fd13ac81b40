"""Graph variables <-> checkpoint keys, and what each checkpoint key is for.

Mapping (FORMATS.md §7.3, §10.3), most authoritative first:

1. the saver's own wiring: ``SaveV2``/``SaveSlices``/``Save`` nodes list the keys in their
   ``tensor_names`` Const and take each variable's value as a data input (traced back through
   ``read``/``ReadVariableOp``); a ``RestoreV2 -> Assign`` chain says the same from the other side;
2. a TF2 SavedModel's restore function (``saver_def.restore_op_name`` calls a function whose
   ``RestoreV2`` outputs feed ``AssignVariableOp``s on the call's handle arguments);
3. otherwise the TF1 rule: key = variable op name, or ``save_slice_info_def.full_name`` for
   the partitions of a partitioned variable.

Kinds: ``model`` (weights the model computes with), ``optimizer`` (slots and optimizer scalars,
needed only to resume training) and ``bookkeeping`` (counters and metadata). With a graph the
optimizer state is found structurally (what feeds a training ``Apply*`` op other than as the
variable being trained); without one, from the key grammar alone. Every rule states its reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from inspector import tfops
from inspector.graph.model import GraphModel, TensorRef
from inspector.proto import pb
from inspector.readers.checkpoint import TensorMeta

MODEL = "model"
OPTIMIZER = "optimizer"
BOOKKEEPING = "bookkeeping"

OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_STEP_COUNTER = re.compile(r"(?:^|/)global_step$")
_ADAM_POWER = re.compile(r"(?:^|/)beta[12]_power(?:_\d+)?$")
_SLOT_SUFFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")  # optimizer names are identifiers
_METRIC_STATE = re.compile(r"(?:^|/)metrics/\d+/")


@dataclass
class CheckpointVariable:
    """One checkpoint key with its meaning."""

    key: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    kind: str
    reason: str
    graph_nodes: list[str] = field(default_factory=list)
    slot_of: str | None = None

    def to_json(self) -> dict:
        return {"name": self.key, "dtype": self.dtype, "shape": list(self.shape), "bytes": self.nbytes,
                "kind": self.kind, "reason": self.reason, "graph_nodes": self.graph_nodes,
                "slot_of": self.slot_of}


@dataclass
class VariableMap:
    variables: list[CheckpointVariable]
    source: str                                     # "saver" | "restore_function" | "op_names" | "none"
    graph_to_key: dict[str, str] = field(default_factory=dict)
    missing_in_checkpoint: list[str] = field(default_factory=list)   # graph variables without a key
    missing_in_graph: list[str] = field(default_factory=list)        # keys without a graph variable
    never_saved: list[str] = field(default_factory=list)  # of those: left out by the graph's Saver

    def bytes_by_kind(self) -> dict[str, int]:
        totals = {MODEL: 0, OPTIMIZER: 0, BOOKKEEPING: 0}
        for var in self.variables:
            totals[var.kind] += var.nbytes
        return totals

    @property
    def model_bytes(self) -> int:
        return self.bytes_by_kind()[MODEL]

    @property
    def optimizer_bytes(self) -> int:
        return self.bytes_by_kind()[OPTIMIZER]

    def by_key(self) -> dict[str, CheckpointVariable]:
        return {v.key: v for v in self.variables}


# --------------------------------------------------------------------------- graph helpers
def _trace_to_variable(model: GraphModel, name: str, limit: int = 8) -> str | None:
    """Follow forwarding ops upstream from ``name`` to a variable node, if there is one."""
    for _ in range(limit):
        if name not in model:
            return None
        op = model.op(name)
        if op in tfops.VARIABLES:
            return name
        if op not in tfops.VARIABLE_FORWARDERS:
            return None
        inputs = model.data_inputs(name)
        if not inputs:
            return None
        name = inputs[0].node
    return None


def _string_const(model: GraphModel, name: str) -> list[str] | None:
    """The strings of a Const (possibly behind Identity) such as ``save/SaveV2/tensor_names``."""
    for _ in range(4):
        if name not in model:
            return None
        node = model.node_def(name)
        if node.op == "Const":
            return [s.decode("utf-8", "backslashreplace") for s in node.attr["value"].tensor.string_val]
        if node.op != "Identity" or not node.input:
            return None
        name = TensorRef.parse(node.input[0]).node
    return None


def graph_variables(model: GraphModel) -> list[str]:
    """Top-level variable nodes (function bodies excluded)."""
    return model.nodes_with_op(tfops.VARIABLES)


def _saver_mapping(model: GraphModel, saves: list[str] | None = None) -> dict[str, list[str]]:
    """key -> variable nodes, from every Save* node's (or those in ``saves``) tensor_names and data
    inputs; the restore ops' wiring when there are no Save nodes."""
    mapping: dict[str, list[str]] = {}
    for op, first in tfops.SAVE_FIRST_TENSOR.items():
        for save in model.nodes_with_op([op]):
            if saves is not None and save not in saves:
                continue
            inputs = model.data_inputs(save)
            if len(inputs) < 2:
                continue
            names = _string_const(model, inputs[1].node)
            if names is None:
                continue
            for i, key in enumerate(names):
                if first + i >= len(inputs):
                    break
                var = _trace_to_variable(model, inputs[first + i].node)
                if var is not None and var not in mapping.setdefault(key, []):
                    mapping[key].append(var)
    if not mapping and saves is None:
        mapping = _restore_mapping(model)
    return mapping


def saver_variables(model: GraphModel) -> set[str] | None:
    """The variable nodes the graph's own Saver writes: the Save ops behind the MetaGraphDef's
    ``saver_def.save_tensor_name`` (every Save op of a graph without one); None without Save ops.

    A Saver built with ``var_list`` (a GAN saving only its generator, a notebook's Saver made
    before the rest of the model) writes a subset: the others are in no checkpoint it made, and
    saying the graph and the checkpoint "do not belong together" would send the user the wrong way.
    """
    saves = model.nodes_with_op(tfops.SAVE_OPS)
    if not saves:
        return None
    saver = model.saver_def
    if saver is not None and saver.save_tensor_name:
        start = TensorRef.parse(saver.save_tensor_name).node
        if start in model:
            behind = _save_ops_behind(model, start)
            saves = [s for s in saves if s in behind] or saves
    return {var for vars_ in _saver_mapping(model, saves).values() for var in vars_}


def _save_ops_behind(model: GraphModel, start: str) -> set[str]:
    """Save ops among the ancestors of ``start``, not searching past them."""
    found, seen, stack = set(), set(), [start]
    while stack:
        name = stack.pop()
        if name in seen or name not in model:
            continue
        seen.add(name)
        if model.op(name) in tfops.SAVE_OPS:
            found.add(name)
            continue
        stack.extend(ref.node for ref in model.inputs[name])
    return found


def variables_needed(model: GraphModel, outputs: list[str]) -> list[str]:
    """The variable nodes ``outputs`` depend on, as freezing keeps them: through data and control
    inputs, except a control edge to a state write (a batch norm's moving-average update), which
    freezing cuts."""
    seen: set[str] = set()
    stack = [o for o in outputs if o in model]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        for ref in model.inputs[name]:
            if ref.node in model and not (ref.control and model.op(ref.node) in tfops.STATE_WRITES):
                stack.append(ref.node)
    return [name for name in model.names if name in seen and is_variable(model, name)]


def is_variable(model: GraphModel, name: str) -> bool:
    """A variable op, or a DT_RESOURCE placeholder read as one (a TF2 function's captured variable,
    exported with ``graph.as_graph_def()``): either way its value is in a checkpoint, not the graph."""
    op = model.op(name)
    if op in tfops.VARIABLES:
        return True
    return op == "Placeholder" and model.attrs[name]["dtype"] == "resource" and any(
        model.op(c) in tfops.RESOURCE_READS for c in model.data_consumers(name))


def model_weights_first(model: GraphModel, variables: list[str]) -> list[str]:
    """``variables`` ordered trainable weights, other model state (batch-norm statistics),
    bookkeeping, then optimizer state (as :func:`map_variables` classes them): what a user needs to
    see first when they are missing."""
    trainable = _trainable(model)
    optimizer = _optimizer_variables(model)
    bookkeeping = _bookkeeping_variables(model)
    roles = _variable_roles(model)

    def rank(var: str) -> int:
        if var in optimizer or roles.get(var) == "optimizer":
            return 3
        if var in bookkeeping or roles.get(var) in ("initializer", "saver", "bookkeeping", "metric"):
            return 2
        return 0 if var in trainable else 1
    position = {var: i for i, var in enumerate(variables)}
    return sorted(variables, key=lambda v: (rank(v), position[v]))


def _restore_mapping(model: GraphModel) -> dict[str, list[str]]:
    """key -> variable nodes, from RestoreV2 outputs flowing into Assign/AssignVariableOp."""
    mapping: dict[str, list[str]] = {}
    memo: dict[tuple[str, int], str | None] = {}
    for restore in model.nodes_with_op(["RestoreV2"]):
        inputs = model.data_inputs(restore)
        names = _string_const(model, inputs[1].node) if len(inputs) > 1 else None
        if not names:
            continue
        # every use of the restore op, consumers in file order (asking edge_ports per consumer
        # would rescan all of a 20,000-output RestoreV2's uses for each of them)
        for consumer, _, ref in model.consumers[restore]:
            port = ref.port
            if not 0 <= port < len(names):
                continue
            target = _assign_target(model, consumer, memo)
            if target is not None and target not in mapping.setdefault(names[port], []):
                mapping[names[port]].append(target)
    return mapping


def _assign_target(model: GraphModel, name: str, memo: dict[tuple[str, int], str | None],
                   depth: int = 3) -> str | None:
    """The variable written by the first Assign (depth first, consumers in file order) that
    ``name``'s value reaches through at most ``depth`` forwarders.

    A function of (node, depth) alone, answered once each through ``memo`` (shared by a whole
    scan): at most depth + 1 answers per node, so a mesh of forwarders costs its nodes + edges,
    not its paths.
    """
    key = (name, depth)
    if key in memo:
        return memo[key]
    found = None
    op = model.op(name)
    if op in tfops.ASSIGNS:
        inputs = model.data_inputs(name)
        found = _trace_to_variable(model, inputs[0].node) if inputs else None
    elif op in tfops.VARIABLE_FORWARDERS and depth > 0:
        for consumer in model.data_consumers(name):
            found = _assign_target(model, consumer, memo, depth - 1)
            if found is not None:
                break
    memo[key] = found
    return found


def _restore_function_mapping(model: GraphModel) -> dict[str, list[str]]:
    """TF2 SavedModel: follow ``restore_op_name``'s function from RestoreV2 to AssignVariableOp."""
    saver = model.saver_def
    if saver is None or not saver.restore_op_name:
        return {}
    call_name = TensorRef.parse(saver.restore_op_name).node
    if call_name not in model:
        return {}
    call = model.node_def(call_name)
    func = model.functions.get(call.attr["f"].func.name) if "f" in call.attr else None
    if func is None:
        return {}
    body = {n.name: n for n in func.node_def}
    arg_index = {arg.name: i for i, arg in enumerate(func.signature.input_arg)}
    call_inputs = [TensorRef.parse(t) for t in call.input if not t.startswith("^")]
    mapping: dict[str, list[str]] = {}
    for node in func.node_def:
        if node.op != "AssignVariableOp" or len(node.input) < 2:
            continue
        position = arg_index.get(node.input[0])
        found = _body_restore_output(body, node.input[1])
        if position is None or found is None or position >= len(call_inputs):
            continue
        restore, k = found
        names_ref = body[restore].input[1].split(":")[0] if len(body[restore].input) > 1 else ""
        names_node = body.get(names_ref)
        if names_node is None or names_node.op != "Const":
            continue
        names = names_node.attr["value"].tensor.string_val
        if k >= len(names):
            continue
        var = _trace_to_variable(model, call_inputs[position].node)
        if var is not None:
            mapping.setdefault(names[k].decode("utf-8", "backslashreplace"), []).append(var)
    return mapping


def _body_restore_output(body: dict, ref: str, depth: int = 4) -> tuple[str, int] | None:
    """``Identity_3:output:0`` -> ... -> ``RestoreV2:tensors:3`` gives (RestoreV2, 3)."""
    for _ in range(depth):
        parts = ref.split(":")
        node = body.get(parts[0])
        if node is None:
            return None
        if node.op == "RestoreV2" and len(parts) == 3 and parts[2].isdigit():
            return node.name, int(parts[2])
        if node.op != "Identity" or not node.input:
            return None
        ref = node.input[0]
    return None


def _op_name_mapping(model: GraphModel) -> dict[str, list[str]]:
    """TF1 default: key = op name; partitions save under their SaveSliceInfoDef.full_name."""
    full_names: dict[str, str] = {}
    for key in ("variables", "local_variables", "trainable_variables", "model_variables"):
        for var_def in model.bytes_collection(key, pb.VariableDef):
            if var_def.HasField("save_slice_info_def") and var_def.save_slice_info_def.full_name:
                node = TensorRef.parse(var_def.variable_name).node
                full_names[node] = var_def.save_slice_info_def.full_name
    mapping: dict[str, list[str]] = {}
    for var in graph_variables(model):
        mapping.setdefault(full_names.get(var, var), []).append(var)
    return mapping


def variables_by_key(model: GraphModel) -> tuple[dict[str, list[str]], str]:
    """Checkpoint key -> variable nodes, and how it was found ("saver" | "restore_function" |
    "op_names"), most authoritative first (see the module docstring)."""
    mapping, source = _saver_mapping(model), "saver"
    if not mapping:
        mapping, source = _restore_function_mapping(model), "restore_function"
    if not mapping:
        mapping, source = _op_name_mapping(model), "op_names"
    return mapping, source


# --------------------------------------------------------------------------- classification
def _optimizer_variables(model: GraphModel) -> dict[str, str | None]:
    """Variable node -> the variable it is a slot of (None for optimizer scalars like beta1_power).

    Structural: a training ``Apply*`` op trains its input 0; every other variable it reads
    (accumulators, moments, Adam's beta powers, a learning-rate variable) is optimizer state.
    """
    trained: set[str] = set()
    state: dict[str, str | None] = {}
    for apply in model.names:
        if model.op(apply) not in tfops.OPTIMIZER_UPDATES:
            continue
        inputs = model.data_inputs(apply)
        if not inputs:
            continue
        primary = _trace_to_variable(model, inputs[0].node)
        if primary is not None:
            trained.add(primary)
        for ref in inputs[1:]:
            var = _trace_to_variable(model, ref.node)
            if var is None or var == primary:
                continue
            same_shape = primary is not None and _var_shape(model, var) == _var_shape(model, primary)
            state.setdefault(var, primary if same_shape else None)
    return {var: slot_of for var, slot_of in state.items() if var not in trained}


def _var_shape(model: GraphModel, var: str) -> tuple[int, ...] | None:
    """The variable's own shape (its ``shape`` attr; a VarHandleOp's output is a scalar handle)."""
    node = model.node_def(var)
    if "shape" not in node.attr or node.attr["shape"].shape.unknown_rank:
        return None
    return tuple(int(d.size) for d in node.attr["shape"].shape.dim)


def _trainable(model: GraphModel) -> set[str]:
    return {TensorRef.parse(v.variable_name).node for v in model.bytes_collection("trainable_variables",
                                                                                   pb.VariableDef)}


def _bookkeeping_variables(model: GraphModel) -> dict[str, str]:
    """Variable node -> reason, from the collections TF itself keeps for counters."""
    found: dict[str, str] = {}
    for var_def in model.bytes_collection("global_step", pb.VariableDef):
        found[TensorRef.parse(var_def.variable_name).node] = "the graph's global_step (training step counter)"
    for key in ("metric_variables", "local_variables"):
        for var_def in model.bytes_collection(key, pb.VariableDef):
            found.setdefault(TensorRef.parse(var_def.variable_name).node,
                             f"in the {key} collection (streaming metric or local state, not a weight)")
    return found


def _variable_roles(model: GraphModel) -> dict[str, str]:
    """Role of each variable node from the roles pass (inspector.roles), which the ranking runs
    on the same model anyway (cached)."""
    from inspector.roles import roles_of

    roles = roles_of(model)
    return {roles.index.names[i]: roles.role[i] for i, op in enumerate(roles.index.ops)
            if op in tfops.VARIABLES}


def _object_graph_kinds(graph) -> dict[str, tuple[str, str, str | None]]:
    """key -> (kind, reason, slot_of key) from a TrackableObjectGraph (TF2 checkpoints)."""
    keys_of = {i: [a.checkpoint_key for a in node.attributes] for i, node in enumerate(graph.nodes)}
    out: dict[str, tuple[str, str, str | None]] = {}
    optimizers = [i for i, node in enumerate(graph.nodes) if node.slot_variables]
    originals: set[int] = set()
    for i in optimizers:
        for slot in graph.nodes[i].slot_variables:
            originals.add(slot.original_variable_node_id)
            owner = keys_of.get(slot.original_variable_node_id, [None])
            for key in keys_of.get(slot.slot_variable_node_id, []):
                out[key] = (OPTIMIZER, f"optimizer slot '{slot.slot_name}' (object graph)",
                            owner[0] if owner else None)
    for i in optimizers:   # the optimizer's own variables (iterations, hyper-parameters)
        stack, seen = [i], set()
        while stack:
            n = stack.pop()
            if n in seen or n in originals or not 0 <= n < len(graph.nodes):
                continue
            seen.add(n)
            for key in keys_of.get(n, []):
                out.setdefault(key, (OPTIMIZER, "state of the optimizer object (object graph)", None))
            stack.extend(c.node_id for c in graph.nodes[n].children)
    return out


def classify_key(key: str, meta: TensorMeta, keys: Mapping[str, TensorMeta]) -> tuple[str, str, str | None]:
    """(kind, reason, slot_of) from the key grammar alone, for checkpoints without a graph."""
    if key == OBJECT_GRAPH_KEY:
        return BOOKKEEPING, "TF2 object-graph metadata (how objects map to keys), not a model tensor", None
    if "/.OPTIMIZER_SLOT/" in key:
        owner = key.split("/.OPTIMIZER_SLOT/")[0] + "/.ATTRIBUTES/VARIABLE_VALUE"
        return OPTIMIZER, "TF2 optimizer slot (.OPTIMIZER_SLOT key)", owner if owner in keys else None
    path = key.split("/.ATTRIBUTES/")[0]
    if path == "save_counter":
        return BOOKKEEPING, "tf.train.Checkpoint's save counter", None
    if path.startswith("optimizer/"):
        return OPTIMIZER, "under the checkpoint's 'optimizer' object (TF2 Checkpoint(optimizer=...))", None
    if _METRIC_STATE.search(path + "/"):
        return BOOKKEEPING, "Keras metric accumulator (metrics/N/...), not used for inference", None
    integer_scalar = meta.shape == () and meta.dtype in ("int64", "int32")
    if _STEP_COUNTER.search(path) and integer_scalar:
        return BOOKKEEPING, "integer scalar named global_step: the training step counter", None
    if _ADAM_POWER.search(path) and meta.shape == ():
        return OPTIMIZER, "Adam's running beta1/beta2 powers (scalar optimizer state)", None
    parent, _, suffix = key.rpartition("/")
    owner = keys.get(parent)
    if owner is not None and owner.shape == meta.shape and owner.dtype == meta.dtype and \
            _SLOT_SUFFIX.match(suffix):
        # TF1 optimizers name slots <var>/<optimizer name>[_N] with the variable's shape and dtype.
        return OPTIMIZER, f"slot of {parent} (same shape, named <variable>/{suffix})", parent
    return MODEL, "model weight", None


# --------------------------------------------------------------------------- entry point
def map_variables(tensors: Mapping[str, TensorMeta], model: GraphModel | None = None,
                  object_graph_bytes: bytes | None = None) -> VariableMap:
    """Map and classify every checkpoint key; ``model`` adds graph structure, ``object_graph_bytes``
    (the ``_CHECKPOINTABLE_OBJECT_GRAPH`` value) adds TF2 object structure."""
    object_kinds: dict[str, tuple[str, str, str | None]] = {}
    if object_graph_bytes:
        graph = pb.TrackableObjectGraph()
        try:
            graph.ParseFromString(object_graph_bytes)
            object_kinds = _object_graph_kinds(graph)
        except Exception:  # a damaged object graph only costs the structural hints
            object_kinds = {}
    if model is None:
        variables = [_from_grammar(key, meta, tensors, object_kinds) for key, meta in tensors.items()]
        return VariableMap(variables, "none")

    mapping, source = variables_by_key(model)
    graph_to_key = {var: key for key, vars_ in mapping.items() for var in vars_}
    optimizer_state = _optimizer_variables(model)
    bookkeeping = _bookkeeping_variables(model)
    trainable = _trainable(model)
    roles = _variable_roles(model)

    variables = []
    for key, meta in tensors.items():
        nodes = mapping.get(key, [])
        var = _from_grammar(key, meta, tensors, object_kinds)
        var.graph_nodes = list(nodes)
        for node in nodes:
            if node in bookkeeping:
                var.kind, var.reason, var.slot_of = BOOKKEEPING, bookkeeping[node], None
            elif node in optimizer_state:
                slot_node = optimizer_state[node]
                var.kind = OPTIMIZER
                var.slot_of = graph_to_key.get(slot_node) if slot_node else None
                var.reason = (f"read by a training op as optimizer state of {var.slot_of}" if var.slot_of
                              else "read by a training op as optimizer state (not the variable trained)")
            elif roles.get(node) == "optimizer":
                # Keras-in-TF1 optimizers keep their state in plain variables they update with
                # Assign ops (training/SGD/Variable_*, SGD/lr, SGD/iterations): no Apply op reads
                # them, but only the training step does, which the roles pass sees.
                var.kind, var.slot_of = OPTIMIZER, None
                var.reason = "read only by the training step (optimizer state or a learning-rate schedule)"
            elif roles.get(node) in ("initializer", "saver", "bookkeeping", "metric") and var.kind == MODEL:
                var.kind, var.slot_of = BOOKKEEPING, None
                var.reason = ("no computation of the graph reads it (only its initializer, the saver or a "
                              "counter's update): not a weight of the model")
            elif var.kind == OPTIMIZER and node in trainable:
                # Optimizer slots are never trainable; a trainable variable is a weight whatever its name.
                var.kind, var.reason, var.slot_of = MODEL, "trainable variable (model weight)", None
        variables.append(var)
    keyed = {v.key for v in variables}
    missing = [v for v in graph_variables(model) if graph_to_key.get(v) not in keyed]
    saved = saver_variables(model)
    never_saved = [v for v in missing if saved is not None and v not in saved]
    missing_in_checkpoint = model_weights_first(model, missing)
    missing_in_graph = [v.key for v in variables if not v.graph_nodes and v.key != OBJECT_GRAPH_KEY]
    return VariableMap(variables, source, graph_to_key, missing_in_checkpoint, missing_in_graph,
                       never_saved=model_weights_first(model, never_saved))


def _from_grammar(key: str, meta: TensorMeta, keys: Mapping[str, TensorMeta],
                  object_kinds: dict[str, tuple[str, str, str | None]]) -> CheckpointVariable:
    kind, reason, slot_of = object_kinds.get(key) or classify_key(key, meta, keys)
    return CheckpointVariable(key, meta.dtype, meta.shape, meta.nbytes, kind, reason, slot_of=slot_of)
