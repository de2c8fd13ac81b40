"""Fix the graph's inputs so a runtime can feed them.

* A ``PlaceholderWithDefault`` whose default is computed (a queue's dequeue, an iterator's next
  element) is the model's real input with a training pipeline behind it: OpenCV treats every
  PlaceholderWithDefault as an Identity of its default (tf_graph_simplifier.cpp, RemoveIdentityOps)
  and so computes from the pipeline, and converters refuse a non-constant default. It becomes a
  ``Placeholder``, and the pipeline goes.
* A legacy input saved without a shape (an empty ``shape`` attr, TF before 1.0 or
  ``tf.placeholder(tf.float32)``) gets its real shape from its ``_output_shapes`` record, else from
  the weight it is multiplied with: runtimes size their buffers from it.
* ``--input-shape NAME=D0,D1,...`` sets the shape (fixing a dimension the graph leaves open).
* A model fed by a pipeline (an iterator's ``IteratorGetNext``, a queue's dequeue) has no input at
  all: each output of the pipeline the model reads becomes a Placeholder of its dtype and shape
  (output 0 keeps the node's name, output k is ``<node>_k``; renames are reported).
"""

from __future__ import annotations

from freezer.inference.graph import InferenceGraph, data_inputs, op_of, set_shape_attr
from inspector import tfops
from inspector.graph.model import TensorRef
from inspector.proto import pb


def fix_inputs(graph: InferenceGraph) -> list[str]:
    changes = _pipelines_to_placeholders(graph)
    for item in list(graph.items):
        op = op_of(item)
        if op == "PlaceholderWithDefault" and item.name not in graph.keep:
            default = data_inputs(item)[0] if data_inputs(item) else None
            if default is not None and graph.op(TensorRef.parse(default).node) != "Const":
                _become_placeholder(item)
                graph.changed()
                changes.append(f"{item.name}: PlaceholderWithDefault (default computed by "
                               f"{graph.op(TensorRef.parse(default).node)}) -> Placeholder")
                op = "Placeholder"
        if op != "Placeholder":
            continue
        wanted = graph.input_shapes.get(item.name)
        if wanted is not None:
            set_shape_attr(item, "shape", wanted)
            changes.append(f"{item.name}: shape set to {list(wanted)} (--input-shape)")
            continue
        if _unknown_rank(item) or _legacy_scalar(graph, item):
            shape = _recorded_shape(item) or _shape_from_weight(graph, item)
            if shape is not None and shape != []:
                set_shape_attr(item, "shape", shape)
                changes.append(f"{item.name}: empty shape -> {shape}")
    return changes


def _legacy_scalar(graph: InferenceGraph, node) -> bool:
    """``shape {}`` written by TensorFlow before 1.0 meant "unknown"; TF 2 reads it as a scalar. It is
    the old meaning when the graph's own record or its use says the input is not a scalar."""
    if "shape" not in node.attr or node.attr["shape"].shape.unknown_rank or node.attr["shape"].shape.dim:
        return False
    recorded = _recorded_shape(node)
    return (recorded is not None and recorded != []) or _shape_from_weight(graph, node) is not None


def _pipelines_to_placeholders(graph: InferenceGraph) -> list[str]:
    changes = []
    for item in list(graph.items):
        if op_of(item) not in tfops.DATA_PRODUCERS or item.name in graph.keep:
            continue
        ports = sorted({ref.port for _, _, ref in graph.consumers(item.name) if not ref.control})
        types = _attr_list(item, ("output_types", "component_types"), "type")
        shapes = _attr_list(item, ("output_shapes", "shapes", "_output_shapes"), "shape")
        if not ports or any(p >= len(types) for p in ports):
            continue
        made = []
        for port in ports:
            name = item.name if port == 0 else graph.fresh(f"{item.name}_{port}")
            placeholder = pb.NodeDef(name=name if port else f"{item.name}/__placeholder__", op="Placeholder")
            placeholder.attr["dtype"].type = types[port]
            if port < len(shapes):
                placeholder.attr["shape"].shape.CopyFrom(shapes[port])
            else:
                placeholder.attr["shape"].shape.unknown_rank = True
            made.append((port, placeholder))
        index = graph.items.index(item)
        graph.items.pop(index)
        graph.changed()
        for port, placeholder in made:
            if port == 0:
                placeholder.name = item.name
            else:
                graph.replace_uses(f"{item.name}:{port}", placeholder.name)
                graph.renamed[f"{item.name}:{port}"] = f"{placeholder.name}:0"
            graph.items.insert(index, placeholder)
            graph.changed()
        changes.append(f"{item.name} ({item.op}): outputs {ports} read by the model -> Placeholders "
                       + ", ".join(p.name for _, p in made))
    return changes


def _attr_list(node, keys: tuple[str, ...], kind: str) -> list:
    for key in keys:
        if key in node.attr:
            values = node.attr[key].list
            return list(values.type) if kind == "type" else list(values.shape)
    return []


def _become_placeholder(node) -> None:
    dtype = node.attr["dtype"].type
    shape = pb.TensorShapeProto()
    if "shape" in node.attr:
        shape.CopyFrom(node.attr["shape"].shape)
    else:
        shape.unknown_rank = True
    node.op = "Placeholder"
    del node.input[:]
    node.attr.clear()
    node.attr["dtype"].type = dtype
    node.attr["shape"].shape.CopyFrom(shape)


def _unknown_rank(node) -> bool:
    return "shape" not in node.attr or node.attr["shape"].shape.unknown_rank


def _recorded_shape(node) -> list[int] | None:
    if "_output_shapes" in node.attr and node.attr["_output_shapes"].list.shape:
        shape = node.attr["_output_shapes"].list.shape[0]
        if not shape.unknown_rank:
            return [int(d.size) for d in shape.dim]
    return None


def _shape_from_weight(graph: InferenceGraph, node) -> list[int] | None:
    """[-1, K] for an input multiplied (as a) by a Const [K, N] weight."""
    for consumer, position, ref in graph.consumers(node.name):
        if ref.control or op_of(consumer) != "MatMul" or position != 0:
            continue
        if "transpose_a" in consumer.attr and consumer.attr["transpose_a"].b:
            continue
        weight = graph.const_shape(TensorRef.parse(data_inputs(consumer)[1]).node)
        if weight is not None and len(weight) == 2:
            transposed = "transpose_b" in consumer.attr and consumer.attr["transpose_b"].b
            return [-1, int(weight[1] if transposed else weight[0])]
    return None
