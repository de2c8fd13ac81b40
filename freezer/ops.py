"""Op signatures the freezer relies on (FORMATS.md §12.1), as exact sets with the reason for each.

Pruning, rewriting and validation are driven by these tables, never by node names: a node is a
variable, a state write, a ref forwarder … because of its *op*, whatever it is called.
"""

from __future__ import annotations

import re

from inspector.proto import pb
from inspector.readers import dtypes

# Variables whose value the checkpoint holds; each becomes a Const.
REF_VARIABLE_OPS = frozenset({"VariableV2", "Variable"})
RESOURCE_VARIABLE_OPS = frozenset({"VarHandleOp"})
VARIABLE_OPS = REF_VARIABLE_OPS | RESOURCE_VARIABLE_OPS

# Ref-typed plumbing and its non-ref twin: same inputs, outputs and attrs, minus the ref-ness.
REF_TWINS = {
    "RefSwitch": "Switch",
    "RefEnter": "Enter",
    "RefMerge": "Merge",
    "RefIdentity": "Identity",
    "RefExit": "Exit",
    "RefNextIteration": "NextIteration",
}

# Ops that forward their data input(s) unchanged, typed by attr ``T``: a resource handle flowing
# through them becomes the variable's value once the variable is a Const.
PASS_THROUGH_OPS = frozenset({"Identity", "Enter", "Exit", "Switch", "Merge", "NextIteration",
                              "_SwitchN", "Snapshot"}) | frozenset(REF_TWINS)

# State writes through input 0 (a ref or resource). With their value reachable by data they have
# a pure twin: the result of ``Assign(ref, v)`` is ``v``, of ``AssignAdd(ref, v)`` is ``ref + v``.
PURE_WRITE_TWINS = {"Assign": "Identity", "AssignAdd": "AddV2", "AssignSub": "Sub"}

_SCATTER_KINDS = ("Update", "Add", "Sub", "Mul", "Div", "Min", "Max")
_APPLY_KINDS = ("GradientDescent", "Momentum", "KerasMomentum", "Adam", "AdamWithAmsgrad", "AdaMax",
                "Adagrad", "AdagradV2", "AdagradDA", "Adadelta", "RMSProp", "CenteredRMSProp", "Ftrl",
                "FtrlV2", "ProximalGradientDescent", "ProximalAdagrad", "AddSign", "PowerSign")

APPLY_OPS = frozenset(f"{prefix}Apply{k}" for k in _APPLY_KINDS
                      for prefix in ("", "Resource", "Sparse", "ResourceSparse"))
"""Optimizer updates: input 0 is the weight, later ref/resource inputs are the optimizer's slots."""

STATE_WRITE_OPS = frozenset(
    {"Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp",
     "AssignSubVariableOp", "CountUpTo", "ResourceCountUpTo", "ScatterNdUpdate", "ScatterNdAdd",
     "ScatterNdSub", "ScatterNdMax", "ScatterNdMin", "ResourceScatterNdUpdate", "ResourceScatterNdAdd",
     "ResourceScatterNdSub", "ResourceScatterNdMax", "ResourceScatterNdMin", "DestroyResourceOp"}
    | {f"Scatter{k}" for k in _SCATTER_KINDS}
    | {f"ResourceScatter{k}" for k in _SCATTER_KINDS}
    | APPLY_OPS
)
"""Ops that write a variable. After freezing nothing may write state (there is no state)."""

INIT_CHECK_OPS = frozenset({"IsVariableInitialized", "VarIsInitializedOp"})
"""A folded variable is always initialized: these become ``Const(true)``."""

# Resource consumers with a value twin once the handle is a Const.
RESOURCE_READ_TWINS = {"ReadVariableOp": "Identity", "ResourceGather": "GatherV2",
                       "ResourceGatherNd": "GatherNd", "VariableShape": "Shape"}

SAVE_RESTORE_OPS = frozenset({"SaveV2", "Save", "SaveSlices", "RestoreV2", "Restore", "RestoreSlice",
                              "MergeV2Checkpoints"})

# Lookup tables: a frozen graph keeps each table's initializer so the table can still be filled.
TABLE_OPS = frozenset({"HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2",
                       "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2",
                       "MutableDenseHashTable", "MutableDenseHashTableV2"})
TABLE_INIT_OPS = frozenset({"InitializeTable", "InitializeTableV2", "InitializeTableFromTextFile",
                            "InitializeTableFromTextFileV2", "InitializeTableFromDataset",
                            "LookupTableImport", "LookupTableImportV2"})

# Ops that take a ref/resource first input and were not rewritten: a Const there cannot import.
REF_INPUT_OPS = (frozenset(REF_TWINS) | STATE_WRITE_OPS | frozenset({"IsVariableInitialized", "RefSelect"}))
RESOURCE_INPUT_OPS = frozenset(RESOURCE_READ_TWINS) | frozenset({"VarIsInitializedOp"})

LEFTOVER_VARIABLE_OPS = VARIABLE_OPS | frozenset({"TemporaryVariable", "ReadVariableOp", "ResourceGather",
                                                  "ResourceGatherNd", "VariableShape"}) | INIT_CHECK_OPS

_GRADIENT_OP = re.compile(r"Grad(Grad)?(V\d+)?$")
_GRADIENT_OPS = frozenset({"BroadcastGradientArgs", "SymbolicGradient"})


def is_gradient_op(op: str) -> bool:
    """Backward-pass kernels (``ReluGrad``, ``FusedBatchNormGradV3`` …), which inference never runs.

    ``StopGradient``/``PreventGradient`` are forward ops and do not match; transposed convolutions
    (``Conv2DBackpropInput``) are legitimate in inference graphs and are not counted either.
    """
    return op in _GRADIENT_OPS or bool(_GRADIENT_OP.search(op))


def gather_axis_const(name: str, index_type: int, batch_dims: int):
    """The scalar ``axis`` Const a GatherV2 needs where a ResourceGather had none (axis = batch_dims)."""
    axis = pb.NodeDef(name=name, op="Const")
    axis.attr["dtype"].type = index_type
    tensor = axis.attr["value"].tensor
    tensor.dtype = index_type
    tensor.tensor_shape.SetInParent()
    if index_type == dtypes.by_name("int64").value:
        tensor.int64_val.append(batch_dims)
    else:
        tensor.int_val.append(batch_dims)
    return axis


def retype_as_gather_v2(node, dtype: int, index_type: int, batch_dims: int) -> None:
    """Give a former ResourceGather the attrs of a GatherV2 over a value of ``dtype``."""
    for attr in ("dtype", "validate_indices", "_output_shapes"):
        node.attr.pop(attr, None)
    node.attr["Tparams"].type = dtype
    node.attr["Tindices"].type = index_type
    node.attr["Taxis"].type = index_type
    node.attr["batch_dims"].i = batch_dims


def become_true_const(node) -> None:
    """Turn an is-initialized check into the scalar Const ``True`` (its inputs are the caller's)."""
    bool_type = dtypes.by_name("bool").value
    node.op = "Const"
    node.attr.clear()
    node.attr["dtype"].type = bool_type
    tensor = node.attr["value"].tensor
    tensor.dtype = bool_type
    tensor.tensor_shape.SetInParent()
    tensor.bool_val.append(True)


def retype_value_read(node, old_op: str, dtype: int) -> None:
    """The attrs of a resource read's value twin (ReadVariableOp -> Identity, ResourceGatherNd ->
    GatherNd, VariableShape -> Shape) reading a value of ``dtype``. ResourceGather needs an axis
    input as well: see :func:`gather_axis_const`."""
    if old_op == "ReadVariableOp":
        node.attr.pop("dtype", None)
        node.attr["T"].type = dtype
    elif old_op == "ResourceGatherNd":
        node.attr.pop("dtype", None)
        node.attr["Tparams"].type = dtype
    elif old_op == "VariableShape":
        node.attr["T"].type = dtype


def unique_name(base: str, taken) -> str:
    """``base``, or ``base_1``, ``base_2`` … : the first name not in ``taken``."""
    name, counter = base, 0
    while name in taken:
        counter += 1
        name = f"{base}_{counter}"
    return name
