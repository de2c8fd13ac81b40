"""Find the training and bookkeeping subgraphs, so the ranking only looks at the model itself.

A training graph is mostly not the model: gradients, optimizer updates, initializers, the saver,
summaries, metric counters, global_step and input plumbing often outnumber the forward pass ten to
one, and all of them end in sinks that a sink-based guess (summarize_graph) lists as "outputs".
This module marks those nodes with a plain-words reason, in three steps:

1. *seeds*, recognised by op type, by the scope TensorFlow itself gives gradient and saver nodes,
   and by the MetaGraphDef's own records (saver_def, collections);
2. *downstream*: whatever consumes the value of a gradient, an optimizer update, a summary or a
   metric counter is part of the same machinery;
3. *upstream absorption*: a node all of whose consumers are excluded exists only to feed them
   (learning-rate constants, initial values, moving-average arithmetic) — except for forward
   nodes consumed by the gradients, which are the loss (kept, see ``loss_roots``), and forward
   nodes that are merely summarized (a histogram of the prediction must not hide it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from inspector.graph.index import GraphIndex

GRADIENT = "gradient"
OPTIMIZER = "optimizer"
ASSIGN = "assign"
INIT = "init"
SAVER = "saver"
SUMMARY = "summary"
METRIC = "metric"
GLOBAL_STEP = "global_step"
PLUMBING = "plumbing"
ACCUMULATE = "accumulate"

REASONS = {
    GRADIENT: "part of the gradient computation",
    OPTIMIZER: "optimizer update or optimizer state",
    ASSIGN: "variable assignment, initial value or initializer",
    INIT: "initializer or grouping op (NoOp, is-initialized check)",
    SAVER: "checkpoint save/restore machinery",
    SUMMARY: "summary for TensorBoard",
    METRIC: "metric counter (streaming metrics)",
    GLOBAL_STEP: "global_step bookkeeping",
    PLUMBING: "input queue, reader or dataset plumbing",
    ACCUMULATE: "running total (streaming metric or step counter)",
}

# Categories whose *consumers* are excluded too: anything computed from a gradient, an update,
# a summary, a counter or an is-initialized check belongs to the same machinery. Plumbing is
# not propagated: a dequeue's consumers are the model.
_PROPAGATED = frozenset({GRADIENT, OPTIMIZER, ASSIGN, SAVER, SUMMARY, METRIC, GLOBAL_STEP, ACCUMULATE,
                         INIT})

# Categories allowed to absorb *forward* nodes (nodes computed from inputs or weights): a
# moving-average update consumes the batch statistics and nothing else does. Gradients and
# summaries are not in this set (see the module docstring), nor are running totals: a
# streaming accuracy accumulates the prediction compared with the labels, and that must not make
# the prediction disappear.
_ABSORB_FORWARD = frozenset({OPTIMIZER, ASSIGN, INIT, SAVER, METRIC, GLOBAL_STEP, PLUMBING})

ASSIGN_OPS = frozenset({
    "Assign", "AssignSub", "AssignVariableOp", "AssignSubVariableOp", "ScatterUpdate", "ScatterSub",
    "ScatterMul", "ScatterDiv", "ScatterNdUpdate", "ScatterNdSub", "ResourceScatterUpdate",
    "ResourceScatterSub", "ResourceScatterNdUpdate", "DestroyTemporaryVariable", "TemporaryVariable",
})
# Increments: streaming metrics (total += …, count += …) and step counters.
ACCUMULATE_OPS = frozenset({"AssignAdd", "AssignAddVariableOp", "ScatterAdd", "ScatterNdAdd",
                            "ResourceScatterAdd", "ResourceScatterNdAdd", "CountUpTo",
                            "ResourceCountUpTo"})
INIT_OPS = frozenset({"NoOp", "IsVariableInitialized", "VarIsInitializedOp",
                      "InitializeTable", "InitializeTableV2", "InitializeTableFromTextFile",
                      "InitializeTableFromTextFileV2", "ReportUninitializedVariables"})
SAVER_OPS = frozenset({"SaveV2", "Save", "SaveSlices", "RestoreV2", "Restore", "RestoreSlice",
                       "MergeV2Checkpoints", "ShardedFilename", "ShardedFilespec"})
SUMMARY_OPS = frozenset({
    "ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummary", "AudioSummaryV2",
    "TensorSummary", "TensorSummaryV2", "MergeSummary", "WriteSummary", "WriteScalarSummary",
    "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary", "WriteRawProtoSummary",
    "FlushSummaryWriter", "CreateSummaryFileWriter", "SummaryWriter", "CloseSummaryWriter",
})
GRADIENT_OPS = frozenset({
    "BroadcastGradientArgs", "Conv2DBackpropInput", "Conv2DBackpropFilter",
    "Conv3DBackpropInputV2", "Conv3DBackpropFilterV2", "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter", "SymbolicGradient", "StopGradient_grad",
})
PLUMBING_OPS = frozenset({
    "FIFOQueue", "FIFOQueueV2", "RandomShuffleQueue", "RandomShuffleQueueV2", "PaddingFIFOQueue",
    "PaddingFIFOQueueV2", "PriorityQueue", "PriorityQueueV2", "QueueEnqueue", "QueueEnqueueV2",
    "QueueEnqueueMany", "QueueEnqueueManyV2", "QueueClose", "QueueCloseV2", "QueueSize",
    "QueueSizeV2", "QueueIsClosed", "QueueIsClosedV2", "Iterator", "IteratorV2",
    "AnonymousIterator", "AnonymousIteratorV2", "AnonymousIteratorV3", "MakeIterator",
    "OneShotIterator", "IteratorToStringHandle", "IteratorFromStringHandle",
    "IteratorFromStringHandleV2", "DeleteIterator", "TFRecordReader", "TFRecordReaderV2",
    "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2", "ReaderRead",
    "ReaderReadV2", "ReaderReadUpTo", "ReaderReadUpToV2", "MatchingFiles", "ReadFile",
})
# Functional control flow and calls (control flow v2, TF2 function graphs). With gradients, a
# forward While also receives the accumulators the gradient loop will read (named in the
# gradients scope); receiving them does not make the loop part of the gradient.
FUNCTIONAL_OPS = frozenset({"While", "StatelessWhile", "If", "StatelessIf", "Case", "StatelessCase",
                            "PartitionedCall", "StatefulPartitionedCall"})
VARIABLE_OPS = frozenset({"VariableV2", "Variable", "VarHandleOp", "AutoReloadVariable"})

# tf.gradients and every optimizer put their nodes under "gradients", "gradients_1", … — a scope
# TensorFlow chooses, not the model's author.
_GRADIENT_SCOPE = re.compile(r"(^|/)gradients(_\d+)?/")


def _is_optimizer_op(op: str) -> bool:
    return op.startswith(("Apply", "ResourceApply", "SparseApply", "ResourceSparseApply"))


def _is_gradient_op(op: str) -> bool:
    return op in GRADIENT_OPS or op.endswith("Grad") or op.endswith("GradV2") or \
        "Backprop" in op


def _is_plumbing_op(op: str) -> bool:
    return op in PLUMBING_OPS or op.endswith(("Dataset", "DatasetV2", "DatasetV3"))


@dataclass
class Exclusions:
    """``category[i]`` names why node i is excluded ('' when it is part of the model)."""

    category: list[str]
    loss_roots: list[int] = field(default_factory=list)
    forward: list[bool] = field(default_factory=list)


def _op_category(op: str) -> str:
    """The category an op type puts a node in on its own ('' for model ops)."""
    if _is_optimizer_op(op):
        return OPTIMIZER
    if op in SAVER_OPS:
        return SAVER
    if op in SUMMARY_OPS:
        return SUMMARY
    if _is_gradient_op(op):
        return GRADIENT
    if op in ASSIGN_OPS:
        return ASSIGN
    if op in ACCUMULATE_OPS:
        return ACCUMULATE
    if op in INIT_OPS:
        return INIT
    if _is_plumbing_op(op):
        return PLUMBING
    return ""


def seed_categories(index: GraphIndex, meta_info: MetaInfo) -> list[str]:
    """Step 1: nodes recognised on their own (op type, TF's own scopes, MetaGraphDef records)."""
    category = [""] * len(index)
    saver_scopes = tuple(meta_info.saver_scopes)
    by_op = {op: _op_category(op) for op in set(index.ops)}
    gradient_scope = _GRADIENT_SCOPE.search
    for i, (name, op) in enumerate(zip(index.names, index.ops, strict=True)):
        kind = by_op[op]
        if kind in (OPTIMIZER, SAVER):
            category[i] = kind
        elif saver_scopes and name.startswith(saver_scopes):
            category[i] = SAVER
        elif kind == SUMMARY:
            category[i] = kind
        elif "gradients" in name and gradient_scope(name):
            category[i] = GRADIENT
        elif kind:
            category[i] = kind
    for names, kind in ((meta_info.train_ops, OPTIMIZER), (meta_info.summaries, SUMMARY),
                        (meta_info.metric_variables, METRIC), (meta_info.global_step, GLOBAL_STEP),
                        (meta_info.init_ops, INIT), (meta_info.saver_nodes, SAVER)):
        for name in names:
            i = index.node_index(name)
            if i is not None:
                category[i] = kind
    return category


def compute_forward(index: GraphIndex, sources: set[int], category: list[str]) -> list[bool]:
    """Which nodes are computed from an input, a variable or a random op (and not excluded).

    Further passes carry the values that loops feed back (NextIteration -> Merge)."""
    forward = [False] * len(index)
    loops = any(op in ("NextIteration", "RefNextIteration") for op in index.ops)
    for _ in range(8 if loops else 1):
        changed = False
        for i in index.order:
            if category[i] in _PROPAGATED or forward[i]:
                continue
            if i in sources or any(forward[j] for j in index.data_in[i]):
                forward[i] = True
                changed = True
        if not changed:
            break
    return forward


def find_exclusions(index: GraphIndex, meta_info: MetaInfo, sources: set[int],
                    protected: set[int]) -> Exclusions:
    """Steps 1–3. ``sources`` are inputs, variables and random ops; ``protected`` are never absorbed
    (the inputs themselves, which the input ranking classifies)."""
    category = seed_categories(index, meta_info)
    # Step 2: downstream of gradients, updates, summaries, counters.
    for i in index.order:
        if category[i] or index.ops[i] in FUNCTIONAL_OPS:
            continue
        for j in index.data_in[i]:
            if category[j] in _PROPAGATED:
                category[i] = category[j]
                break
    forward = compute_forward(index, sources, category)
    # Step 3: upstream absorption, consumers before producers.
    loss_roots: list[int] = []
    for i in reversed(index.order):
        if category[i] or i in protected:
            continue
        consumers = index.data_out[i] + index.ctrl_out[i]
        if not consumers:
            continue
        kinds = [category[j] for j in consumers]
        if not all(kinds):
            continue
        is_variable = index.ops[i] in VARIABLE_OPS
        allowed = _ABSORB_FORWARD | {ACCUMULATE} if is_variable else _ABSORB_FORWARD
        if forward[i] and not set(kinds) <= allowed:
            if GRADIENT in kinds and not is_variable and not index.frames[i]:
                loss_roots.append(i)
            continue
        category[i] = max(set(kinds), key=kinds.count)
    return Exclusions(category=category, loss_roots=loss_roots, forward=forward)


@dataclass
class MetaInfo:
    """What the MetaGraphDef says about bookkeeping, reduced to node names."""

    saver_scopes: list[str] = field(default_factory=list)
    saver_nodes: list[str] = field(default_factory=list)
    train_ops: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    metric_variables: list[str] = field(default_factory=list)
    global_step: list[str] = field(default_factory=list)
    init_ops: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    trainable: list[str] = field(default_factory=list)
    has_trainable_collection: bool = False


_NODE_LIST_KEYS = {
    "train_op": "train_ops", "summaries": "summaries", "losses": "losses",
    "init_op": "init_ops", "local_init_op": "init_ops", "ready_op": "init_ops",
    "ready_for_local_init_op": "init_ops", "summary_op": "summaries",
    "saved_model_main_op": "init_ops", "legacy_init_op": "init_ops", "table_initializer": "init_ops",
}
_VARIABLE_KEYS = {"metric_variables": "metric_variables", "local_variables": "metric_variables",
                  "global_step": "global_step",
                  "trainable_variables": "trainable"}


def meta_info_from(index: GraphIndex, meta_graph) -> MetaInfo:
    """Read the saver scope and the bookkeeping collections; works without a MetaGraphDef too."""
    info = MetaInfo()
    if meta_graph is not None:
        if meta_graph.HasField("saver_def"):
            saver_def = meta_graph.saver_def
            info.saver_scopes.extend(_saver_scopes(saver_def))
            info.saver_nodes.extend(name for name in (saver_def.filename_tensor_name,
                                                      saver_def.save_tensor_name,
                                                      saver_def.restore_op_name) if name)
        for key, collection in meta_graph.collection_def.items():
            kind = collection.WhichOneof("kind")
            if key in _NODE_LIST_KEYS and kind == "node_list":
                getattr(info, _NODE_LIST_KEYS[key]).extend(collection.node_list.value)
            elif key in _VARIABLE_KEYS and kind == "bytes_list":
                names = _variable_names(collection.bytes_list.value)
                getattr(info, _VARIABLE_KEYS[key]).extend(names)
                if key == "trainable_variables":
                    info.has_trainable_collection = True
    # Without a saver_def the saver is still recognisable: its save/restore ops sit in one scope.
    for name, op in zip(index.names, index.ops, strict=True):
        if op in ("SaveV2", "RestoreV2", "Save", "Restore", "SaveSlices", "RestoreSlice"):
            scope = name.rpartition("/")[0]
            if scope and scope + "/" not in info.saver_scopes:
                info.saver_scopes.append(scope + "/")
    return info


def _saver_scopes(saver_def) -> list[str]:
    scopes = []
    for tensor in (saver_def.filename_tensor_name, saver_def.save_tensor_name,
                   saver_def.restore_op_name):
        scope = tensor.partition(":")[0].rpartition("/")[0]
        if scope and scope + "/" not in scopes:
            scopes.append(scope + "/")
    return scopes


def _variable_names(raw_items) -> list[str]:
    from inspector.proto import pb

    names = []
    for raw in raw_items:
        var = pb.VariableDef()
        try:
            var.ParseFromString(raw)
        except Exception:  # one malformed item must not hide the others
            continue
        if var.variable_name:
            names.append(var.variable_name)
    return names
