"""Node edits that give a ref or resource op its value twin once the variables are constants.

Which ops have twins is TensorFlow knowledge and lives in :mod:`inspector.tfops`
(``REF_TWINS``, ``RESOURCE_READ_TWINS``, ``PURE_WRITE_TWINS``); these functions set the attrs
and extra inputs each twin needs (FORMATS.md §12.1).
"""

from __future__ import annotations

from inspector.proto import pb
from inspector.readers import dtypes


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
