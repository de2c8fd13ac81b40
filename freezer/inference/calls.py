"""Inline TF2 function calls into one flat graph.

A TF2 SavedModel's serving graph is a single ``StatefulPartitionedCall`` whose function holds the
model; Keras layers add a call per layer. OpenCV and TFLite's TF1 converter see one opaque node
(OpenCV: "Can't create layer … of type StatefulPartitionedCall"). This rewrite copies each called
function's body into the graph under the call's name (``call/dense/MatMul``), wires the body's
arguments to the call's inputs and the call's outputs to the body's results, recursively, until
no ``PartitionedCall``/``StatefulPartitionedCall`` is left: what TensorFlow's
``convert_variables_to_constants_v2`` gives. Control flow v2 (``If``/``While``) keeps its functions.

Outputs: a call that was an output becomes an Identity per output, named after the SavedModel
signature's output key where the signature names that tensor (``dense_2``), else after the call
(``StatefulPartitionedCall``, ``StatefulPartitionedCall_1`` for its second output).
"""

from __future__ import annotations

from freezer.inference.graph import InferenceGraph, data_inputs, op_of
from inspector import opdefs, tfops
from inspector.graph.model import TensorRef
from inspector.proto import pb

MAX_ROUNDS = 32  # nesting depth of calls inlined; a deeper (or recursive) library is left as it is


def inline_calls(graph: InferenceGraph) -> list[str]:
    """Inline every call, and every v2 cond (If) whose predicate is a Const: only its taken branch."""
    functions = {f.signature.name: f for f in getattr(graph.library, "function", ())}
    changes: list[str] = []
    for _ in range(MAX_ROUNDS):
        calls = [(item, _called_function(graph, item)) for item in graph.items
                 if op_of(item) in tfops.CALL_OPS | tfops.IF_OPS]
        calls = [(item, name) for item, name in calls if name in functions]
        if not calls:
            break
        for call, name in calls:
            count = _inline(graph, call, functions[name])
            what = "taken branch" if call.op in tfops.IF_OPS else "call"
            changes.append(f"{call.name} ({call.op}, {what} {name}): {count} node(s) inlined")
    return changes


def _called_function(graph: InferenceGraph, node) -> str | None:
    """The function a call runs, or the branch an If with a constant predicate takes."""
    if node.op in tfops.CALL_OPS:
        return node.attr["f"].func.name
    pred = graph.const_value(data_inputs(node)[0]) if data_inputs(node) else None
    if pred is None or pred.size != 1:
        return None
    return node.attr["then_branch" if bool(pred.reshape(())) else "else_branch"].func.name


def _inline(graph: InferenceGraph, call, function) -> int:
    prefix = call.name
    offset = tfops.FUNCTIONAL_SIGNATURES[call.op][1]  # an If's first input is its predicate
    args = {arg.name: text
            for arg, text in zip(function.signature.input_arg, data_inputs(call)[offset:], strict=False)}
    control = [t for t in call.input if t.startswith("^")]
    names = {node.name: graph.fresh(f"{prefix}/{node.name}") for node in function.node_def}
    body = {node.name: node for node in function.node_def}
    added = []
    for node in function.node_def:
        copy = pb.NodeDef()
        copy.CopyFrom(node)
        copy.name = names[node.name]
        del copy.input[:]
        copy.input.extend(_graph_input(text, args, names, body) for text in node.input)
        if not data_inputs(copy):
            copy.input.extend(control)  # a Const of the body runs when the call runs
        copy.device = ""
        added.append(copy)
        graph.by_name[copy.name] = copy  # fresh() must see the names already taken
    index = graph.items.index(call)
    graph.items[index:index + 1] = added
    graph.changed()
    results = [_graph_input(function.ret[arg.name], args, names, body)
               for arg in function.signature.output_arg]
    _rewire_outputs(graph, call, results, index + len(added))
    return len(added)


def _graph_input(text: str, args: dict[str, str], names: dict[str, str], body: dict) -> str:
    """A function-body input string (``arg``, ``node:out_arg:k``, ``^node``) as a graph input string."""
    if text.startswith("^"):
        target = text[1:]
        return "^" + (names[target] if target in names else TensorRef.parse(args[target]).node)
    parts = text.split(":")
    if len(parts) == 1:
        return args[text] if text in args else names[text]
    if len(parts) == 2 and parts[0] in args:
        return args[parts[0]]
    node, out_arg, index = parts[0], parts[1], int(parts[2]) if len(parts) > 2 else 0
    port = _output_offset(body[node], out_arg) + index
    return names[node] if port == 0 else f"{names[node]}:{port}"


def _output_offset(node, out_arg: str) -> int:
    """Port of the first tensor of output argument ``out_arg`` (earlier list args count their length)."""
    definition = opdefs.op_def(node.op)
    if definition is None:
        return 0
    offset = 0
    for arg in definition.output_arg:
        if arg.name == out_arg:
            return offset
        if arg.number_attr:
            offset += node.attr[arg.number_attr].i
        elif arg.type_list_attr:
            offset += len(node.attr[arg.type_list_attr].list.type)
        else:
            offset += 1
    return offset


def _rewire_outputs(graph: InferenceGraph, call, results: list[str], position: int) -> None:
    output_types = list(call.attr["Tout"].list.type)
    for item, index, ref in list(graph.consumers(call.name)):  # a control edge on the call: its body ran
        if ref.control:
            del item.input[index]
    graph.changed()
    for port, result in enumerate(results):
        old = call.name if port == 0 else f"{call.name}:{port}"
        graph.replace_uses(old, result)
        if call.name not in graph.outputs:
            continue
        key = graph.signature_outputs.get(f"{call.name}:{port}")
        name = key if key and key not in graph.by_name else call.name if port == 0 else f"{call.name}_{port}"
        name = graph.fresh(name) if name in graph.by_name else name
        identity = pb.NodeDef(name=name, op="Identity", input=[result])
        identity.attr["T"].type = output_types[port] if port < len(output_types) else 1
        graph.items.insert(position, identity)
        graph.changed()
        graph.renamed[f"{call.name}:{port}"] = f"{name}:0"
    if call.name in graph.outputs:
        at = graph.outputs.index(call.name)
        new = [graph.renamed[f"{call.name}:{p}"].rsplit(":", 1)[0] for p in range(len(results))]
        graph.outputs[at:at + 1] = new
