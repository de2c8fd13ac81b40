"""``--target opencv|onnx|tflite``: what a deployment runtime cannot load in a frozen graph.

Each check reads the graph as that runtime's importer would (the facts are in :mod:`inspector.tfops`,
each family citing the source and version it comes from: OpenCV 4.14's ``tf_importer.cpp``,
tf2onnx 1.17's handlers, the TFLite converter of TF 2.21) and reports a finding with a stable code,
what fails, and either the fix — most often ``freeze --for-inference``, which rewrites the pattern
away — or "no graph fix: runtime limit" when no rewrite of the GraphDef can help.

Never imports TensorFlow: ``inspect --target`` runs on the graph file alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector import tfops
from inspector.diagnosis.findings import Finding
from inspector.graph.model import GraphModel

TARGETS = ("opencv", "onnx", "tflite")
NAMES = {"opencv": "OpenCV 4.14 DNN (cv2.dnn.readNetFromTensorflow)",
         "onnx": "tf2onnx 1.17 + ONNX Runtime", "tflite": "TensorFlow Lite (builtin ops, TF 2.21 converter)"}
RUNTIME_LIMIT = "no graph fix: runtime limit"
FOR_INFERENCE = "freeze the checkpoint with --for-inference"

#: OpenCV reads Const tensors of these DataTypes only (tf_graph_simplifier.cpp, getTensorContentRef_):
#: float, double, int32, half, quint8.
OPENCV_CONST_DTYPES = frozenset({1, 2, 3, 19, 12})
_DTYPE_NAMES = {4: "uint8", 5: "int16", 6: "int8", 7: "string", 9: "int64", 10: "bool", 14: "bfloat16"}

_LOOPS = tfops.LOOP_ENTERS | tfops.LOOP_EXITS | tfops.NEXT_ITERATIONS | tfops.LOOP_CONDS
_TENSOR_ARRAYS = frozenset(op for op in tfops.TF2ONNX_REWRITTEN if op.startswith("TensorArray"))


def supported(target: str) -> frozenset[str]:
    """Ops the target loads as they are."""
    if target == "opencv":
        return tfops.OPENCV_TF_LAYERS | tfops.OPENCV_TF_REMOVED
    if target == "onnx":
        return tfops.TF2ONNX_HANDLERS | tfops.TF2ONNX_REWRITTEN
    return tfops.TFLITE_BUILTIN_OPS


def target_findings(model: GraphModel, target: str, outputs: Iterable[str] | None = None) -> list[Finding]:
    """Every finding for ``target`` on the graph of ``model`` (outputs: its sinks when not given)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    ops = {name: model.attrs[name]["op"] for name in model.attrs}
    outs = list(outputs) if outputs is not None else _sinks(model)
    findings: list[Finding] = []
    for check in (_calls, _control_flow, _tables, _unsupported, _no_input, _input_shapes, _switches):
        # tf2onnx converts what the outputs read through data edges (it drops control inputs): an op
        # only waited on (an Assert behind a control edge) never reaches its handlers
        seen = _data_reached(model, outs, ops) if target == "onnx" and check is _unsupported else ops
        findings += check(model, seen, target)
    if target == "opencv":
        findings += _opencv_dtypes(model, ops)
        findings += _opencv_reshaped_inputs(model, ops)
        findings += _opencv_fused_outputs(model, ops, outs)
    return findings


def render_target(target: str, findings: list[Finding]) -> str:
    if not findings:
        return f"--target {target}: nothing found that {NAMES[target]} cannot load"
    lines = [f"--target {target}: {len(findings)} finding(s) for {NAMES[target]}"]
    for f in findings:
        lines.append(f"  [{f.severity}] {f.code}: {f.message}")
        lines.append(f"      fix: {f.fix}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def _sinks(model: GraphModel) -> list[str]:
    return [name for name, users in model.consumers.items()
            if not users and model.attrs[name]["op"] not in tfops.NOT_RESULTS]


def _names(nodes: list[str], limit: int = 5) -> str:
    return ", ".join(nodes[:limit]) + (f" … ({len(nodes)} in all)" if len(nodes) > limit else "")


def _by_op(ops: dict[str, str], wanted) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, op in ops.items():
        if op in wanted:
            found.setdefault(op, []).append(name)
    return found


def _calls(model, ops, target) -> list[Finding]:
    calls = [n for n, op in ops.items() if op in tfops.CALL_OPS]
    if not calls or target != "opencv":  # tf2onnx's loader and the TFLite converter inline calls
        return []
    kinds = ", ".join(sorted({ops[n] for n in calls}))
    return [Finding("TARGET_FUNCTION_CALLS", "error",
                    f"{NAMES[target]} has no layer for a TF2 function call ({kinds}: {_names(calls)}): the "
                    "model is inside the call's function",
                    f"{FOR_INFERENCE} (inlines the calls into a flat graph)",
                    {"nodes": calls})]


def _control_flow(model, ops, target) -> list[Finding]:
    loops = [n for n, op in ops.items() if op in _LOOPS or op in _TENSOR_ARRAYS]
    conds = [n for n, op in ops.items() if op in tfops.SWITCHES and not _loop_switch(model, ops, n)]
    findings = []
    if loops and target in ("opencv", "tflite"):
        how = ("has no loops" if target == "opencv" else
               "converts TF1 while loops and TensorArrays only with the Flex delegate (SELECT_TF_OPS)")
        findings.append(Finding("TARGET_CONTROL_FLOW", "error",
                                f"a TF1 while loop ({_names(loops)}): {NAMES[target]} {how}",
                                f"{RUNTIME_LIMIT} (export the model with a static unrolled RNN, or use "
                                "the runtime's TensorFlow-ops mode)", {"nodes": loops}))
    in_conds = _arrays_in_conds(model, ops) if target == "onnx" else []
    if in_conds:
        findings.append(Finding("TARGET_CONTROL_FLOW", "error",
                                f"TensorArray ops inside a TF1 tf.cond ({_names(in_conds)}): {NAMES[target]} "
                                "converts TensorArrays only at a while loop's top level; these stay "
                                "TensorFlow ops ('Tensorflow op ... is not supported')",
                                f"{RUNTIME_LIMIT} (export the model with TF2 control flow: tf.function "
                                "with a SavedModel)", {"nodes": in_conds}))
    if conds and target == "tflite":
        findings.append(Finding("TARGET_CONTROL_FLOW", "error",
                                f"a TF1 tf.cond ({_names(conds)}): the TFLite converter does not take v1 "
                                "Switch/Merge",
                                f"{FOR_INFERENCE} (prunes conds whose predicate is a training switch); "
                                "otherwise " + RUNTIME_LIMIT, {"nodes": conds}))
    return findings


def _data_reached(model, outputs: list[str], ops: dict[str, str]) -> dict[str, str]:
    """``ops`` restricted to the nodes ``outputs`` read through data edges."""
    reached, stack = set(), [o for o in outputs if o in ops]
    while stack:
        name = stack.pop()
        if name in reached:
            continue
        reached.add(name)
        stack.extend(ref.node for ref in model.inputs.get(name, ()) if not ref.control)
    return {n: op for n, op in ops.items() if n in reached}


def _arrays_in_conds(model, ops) -> list[str]:
    """TensorArray ops inside a TF1 tf.cond: a data input comes (through identities) from a cond's
    Switch. tf2onnx 1.17 rewrites TensorArrays only where its loop rewriter (rewriter/loop_rewriter.py)
    meets them in a while loop's body or its input/output arrays; one read under a cond stays a
    TensorFlow op ("Tensorflow op [.../cond/TensorArrayReadV3] is not supported": seq2seq's
    TrainingHelper reads its inputs in a cond) and so do the arrays it reads."""
    found = []
    for name, op in ops.items():
        if op not in _TENSOR_ARRAYS:
            continue
        for ref in model.inputs.get(name, ()):
            source = ref.node
            while ops.get(source) in tfops.IDENTITIES and model.inputs.get(source):
                source = model.inputs[source][0].node
            if not ref.control and ops.get(source) in tfops.SWITCHES and not _loop_switch(model, ops, source):
                found.append(name)
                break
    return found


def _loop_switch(model, ops, name: str) -> bool:
    """A while loop's Switch (its predicate is the loop's LoopCond), not a tf.cond's."""
    data = [ref for ref in model.inputs.get(name, ()) if not ref.control]
    return len(data) > 1 and ops.get(data[1].node) in tfops.LOOP_CONDS


def _tables(model, ops, target) -> list[Finding]:
    tables = [n for n, op in ops.items() if op in tfops.TABLES | tfops.TABLE_LOOKUPS | tfops.PARSE_EXAMPLES
              | tfops.TABLE_INITIALIZERS]
    if not tables:
        return []
    if target == "onnx" and not any(ops[n] in tfops.PARSE_EXAMPLES for n in tables):
        return []  # tf2onnx maps HashTable lookups with constant keys to ONNX ops
    return [Finding("TARGET_TABLES", "error",
                    f"lookup tables or tf.Example parsing ({_names(tables)}): {NAMES[target]} has no tables "
                    "nor string parsing", f"{RUNTIME_LIMIT} (freeze the model's numeric part: pick outputs "
                    "and inputs after the parsing and the lookups)", {"nodes": tables})]


def _unsupported(model, ops, target) -> list[Finding]:
    known = supported(target) | tfops.CALL_OPS | _LOOPS | _TENSOR_ARRAYS | tfops.SWITCHES | tfops.MERGES \
        | tfops.TABLES | tfops.TABLE_LOOKUPS | tfops.PARSE_EXAMPLES | tfops.TABLE_INITIALIZERS \
        | tfops.PLACEHOLDERS | tfops.DATA_PRODUCERS
    missing = {op: names for op, names in _by_op(ops, set(ops.values()) - known).items()}
    findings = []
    memo: dict[str, bool | None] = {}
    for op, names in sorted(missing.items()):
        foldable = op in tfops.CONSTANT_FOLDED and all(_weight_only(model, ops, n, memo) for n in names)
        fix = f"{FOR_INFERENCE} (folds it: it computes only on weights)" if foldable else \
            _rewritten(model, ops, target, op, names) or RUNTIME_LIMIT
        findings.append(Finding("TARGET_UNSUPPORTED_OP", "error",
                                f"{NAMES[target]} cannot load {op} ({_names(names)})", fix,
                                {"op": op, "nodes": names}))
    return findings


def _weight_only(model, ops, name: str, memo: dict[str, bool | None]) -> bool:
    """The node's value depends on Consts alone (constant folding removes it).

    One iterative post-order pass, each node decided once (``memo``, shared between calls; None
    while a node's inputs are being decided): linear in nodes + edges, where a recursion over every
    path costs K^depth on nodes reading one tensor K times. A node on a cycle is not weight-only.
    """
    stack = [name]
    while stack:
        current = stack[-1]
        if memo.get(current) is not None:
            stack.pop()
            continue
        op = ops.get(current)
        if op in tfops.CONSTANTS:
            memo[current] = True
            stack.pop()
            continue
        inputs = [ref.node for ref in model.inputs.get(current, ()) if not ref.control]
        if not inputs or op in tfops.PLACEHOLDERS or tfops.is_input_pipeline(op or "") \
                or op in tfops.RANDOM_STATEFUL:
            memo[current] = False
            stack.pop()
            continue
        if current not in memo:  # first visit: decide the inputs first
            memo[current] = None
            pending = [source for source in dict.fromkeys(inputs) if source not in memo]
            if pending:
                stack.extend(pending)
                continue
        # inputs decided, or still undecided because they lie on a cycle through this node
        memo[current] = all(memo.get(source) is True for source in inputs)
        stack.pop()
    return bool(memo.get(name))


def _rewritten(model, ops, target: str, op: str, names: list[str]) -> str | None:
    """The --for-inference rewrite that writes every ``op`` node as ops the target loads, if one does."""
    if target == "opencv" and op == "Tile" and all(_const_multiples(model, ops, n) for n in names):
        return f"{FOR_INFERENCE} (tile_as_concat: a Tile by constant multiples is a concat of copies)"
    return None


#: The most copies along one axis ``--for-inference``'s tile_as_concat writes as a concat.
TILE_MAX_COPIES = 16


def _const_multiples(model, ops, name: str) -> bool:
    """The Tile's multiples are a Const of at most TILE_MAX_COPIES copies per axis (as the rewrite)."""
    data = [ref for ref in model.inputs.get(name, ()) if not ref.control]
    if len(data) != 2 or ops.get(data[1].node) not in tfops.CONSTANTS:
        return False
    values = _int_values(model.node_def(data[1].node))
    return bool(values) and all(1 <= m <= TILE_MAX_COPIES for m in values) and any(m > 1 for m in values)


def _int_values(node) -> list[int]:
    """An int32/int64 Const's values as written (int_val, int64_val or tensor_content)."""
    tensor = node.attr["value"].tensor if "value" in node.attr else None
    if tensor is None or tensor.dtype not in (3, 9):
        return []
    if tensor.tensor_content:
        width = 4 if tensor.dtype == 3 else 8
        raw = tensor.tensor_content
        return [int.from_bytes(raw[i:i + width], "little", signed=True) for i in range(0, len(raw), width)]
    return list(tensor.int_val) or list(tensor.int64_val)


def _no_input(model, ops, target) -> list[Finding]:
    placeholders = [n for n, op in ops.items() if op == "Placeholder"]
    if not placeholders and not any(op in tfops.PLACEHOLDERS | tfops.DATA_PRODUCERS for op in ops.values()):
        return [Finding("TARGET_NO_INPUT", "error",
                        f"the graph has no input at all: {NAMES[target]} needs one (tf2onnx: 'input_names "
                        "needs to be provided')", f"{RUNTIME_LIMIT} (a graph of constants has nothing to run "
                        "on; freeze the part of the model that reads an input)", {"nodes": []})]
    computed_defaults = [n for n, op in ops.items() if op == "PlaceholderWithDefault"
                         and model.inputs[n] and ops.get(model.inputs[n][0].node) not in tfops.CONSTANTS]
    producers = [n for n, op in ops.items() if op in tfops.DATA_PRODUCERS]
    if placeholders and not computed_defaults and not producers:
        return []
    where = computed_defaults or producers
    if not where:
        return []
    return [Finding("TARGET_NO_INPUT", "error",
                    f"the model reads its data from a pipeline ({_names(where)}), not from a Placeholder "
                    f"{NAMES[target]} can feed",
                    f"{FOR_INFERENCE} (the pipeline's outputs, or a PlaceholderWithDefault whose default "
                    "is computed, become Placeholders)", {"nodes": where})]


def _input_shapes(model, ops, target) -> list[Finding]:
    legacy = [n for n, op in ops.items() if op == "Placeholder" and _empty_shape_attr(model.node_def(n))
              and any(ops.get(c) in tfops.MATMULS | tfops.CONVOLUTIONS | tfops.TRANSPOSES | tfops.RESHAPES
                      for c, _, ref in model.consumers.get(n, ()) if not ref.control)]
    if not legacy:
        return []
    return [Finding("TARGET_INPUT_SHAPE", "error",
                    f"inputs saved with an empty shape ({_names(legacy)}), which TensorFlow 2 and the "
                    "converters read as a scalar, yet the graph multiplies or reshapes them",
                    f"{FOR_INFERENCE} (takes the shape from _output_shapes or the weight), or add "
                    "--input-shape NAME=D0,D1", {"nodes": legacy})]


def _empty_shape_attr(node) -> bool:
    """``shape {}`` (no dims, rank not marked unknown): TF before 1.0 meant "unknown", TF 2 reads a scalar."""
    if "shape" not in node.attr:
        return True
    shape = node.attr["shape"].shape
    return not shape.dim and not shape.unknown_rank


def _switches(model, ops, target) -> list[Finding]:
    flags = [n for n, op in ops.items() if op in tfops.PLACEHOLDERS and model.attrs[n]["dtype"] == "bool"]
    if not flags:
        return []
    return [Finding("TARGET_TRAINING_SWITCH", "error" if target != "opencv" else "warning",
                    f"boolean inputs ({_names(flags)}) that switch between training and inference; "
                    f"{NAMES[target]} " + ("ignores them and takes each cond's first branch"
                                           if target == "opencv" else
                                           "must be fed them, and converts the conds they drive poorly"),
                    f"{FOR_INFERENCE} (folds them to their inference value)", {"nodes": flags})]


def _opencv_dtypes(model, ops) -> list[Finding]:
    bad = []
    for name, op in ops.items():
        if op not in tfops.CONSTANTS:
            continue
        node = model.node_def(name)
        dtype = node.attr["dtype"].type if "dtype" in node.attr else 1
        if dtype not in OPENCV_CONST_DTYPES and any(
                not ref.control for _, _, ref in model.consumers.get(name, ())):
            bad.append((name, _DTYPE_NAMES.get(dtype, str(dtype))))
    if not bad:
        return []
    names = [n for n, _ in bad]
    kinds = sorted({d for _, d in bad})
    return [Finding("TARGET_DTYPE", "error",
                    f"constants of type {', '.join(kinds)} ({_names(names)}): OpenCV reads only float, "
                    "double, int32, half and quint8 constants",
                    f"{FOR_INFERENCE} (folds switches and weight-only int64 arithmetic away); for a "
                    f"constant that remains, {RUNTIME_LIMIT}",
                    {"nodes": names})]


def _opencv_reshaped_inputs(model, ops) -> list[Finding]:
    """A flat input reshaped into an image. OpenCV 4.14 (tf_importer.cpp, populateNet) carries the
    layout of every node with a ``data_format`` (the convolution's NHWC) back to all its inputs, so
    the flat input itself is labelled NHWC; parseReshape then puts a 4-D NCHW->NHWC Permute before the
    Reshape, which refuses the 2-D blob (permute_layer.cpp, "_numAxes == inputs[0].size()"). The label
    comes from the consumers, not the input's shape: giving the Placeholder its shape changes nothing,
    and no rewrite that keeps the input's shape avoids it."""
    found = []
    for name, op in ops.items():
        if op != "Placeholder" or len(model.attrs[name]["shape"] or []) == 4:
            continue
        for consumer, _, ref in model.consumers.get(name, ()):
            reshaped = not ref.control and ops.get(consumer) in tfops.RESHAPES
            if reshaped and _reaches_image_op(model, ops, consumer):
                found.append(name)
    if not found:
        return []
    return [Finding("TARGET_INPUT_SHAPE", "error",
                    "inputs that are not 4-D but reshaped into an image for a convolution "
                    f"({_names(found)}): OpenCV labels them NHWC from the convolution and permutes them as "
                    "4-D images before the reshape ('_numAxes == inputs[0].size()')",
                    f"{RUNTIME_LIMIT} (a caller can reshape the image itself and freeze with the "
                    "convolution's input as the model input)", {"nodes": found})]


def _reaches_image_op(model, ops, name: str, steps: int = 4) -> bool:
    """A convolution or pooling reads ``name``, directly or through at most ``steps`` element-wise
    ops (a batch norm). Breadth first, each node expanded once at its fewest steps."""
    seen, level = {name}, [name]
    for step in range(steps + 1):
        following = []
        for current in level:
            for consumer, _, ref in model.consumers.get(current, ()):
                op = ops.get(consumer)
                if ref.control:
                    continue
                if op in tfops.CONVOLUTIONS or op in tfops.POOLS:
                    return True
                if op in tfops.ELEMENTWISE_LAYERS and step < steps and consumer not in seen:
                    seen.add(consumer)
                    following.append(consumer)
        level = following
    return False


def _opencv_fused_outputs(model, ops, outputs) -> list[Finding]:
    """Outputs OpenCV 4.14 makes no layer of: an Identity (RemoveIdentityOps), a BiasAdd after a
    convolution or a bias add after a matmul (tf_importer.cpp: parseConvolution / parseMatMul take the
    next BiasAdd/Add into the layer). Each one's value is the output of the layer it went into."""
    fused: dict[str, str] = {}
    for name in outputs:
        layer = _fused_into(model, ops, name)
        if layer is not None:
            fused[name] = layer
    if not fused:
        return []
    fetch = ", ".join(f"{name} -> net.forward('{layer}')" for name, layer in list(fused.items())[:5])
    return [Finding("TARGET_OUTPUT_FUSED", "error",
                    f"outputs OpenCV fuses into the layer before them ({_names(list(fused))}): "
                    "net.forward(name) cannot find them",
                    f"fetch each from the layer it is fused into ({fetch}) ("
                    f"{FOR_INFERENCE} keeps Identity and conv-BiasAdd outputs as layers of their own; a "
                    f"matmul's bias add is always fused: {RUNTIME_LIMIT})",
                    {"nodes": list(fused), "layers": fused})]


def _fused_into(model, ops, name: str) -> str | None:
    """The node whose OpenCV layer holds the value of ``name``, when ``name`` itself gets no layer."""
    current, fused, seen = name, False, set()
    while current not in seen:
        seen.add(current)
        op = ops.get(current)
        data = [ref for ref in model.inputs.get(current, ()) if not ref.control]
        producer = ops.get(data[0].node) if data else None
        if op in tfops.IDENTITIES and data:
            current, fused = data[0].node, True
            continue
        if (op in ("BiasAdd", "Add", "AddV2") and producer in tfops.MATMULS) or \
                (op == "BiasAdd" and producer in tfops.CONVOLUTIONS):
            return data[0].node
        break
    return current if fused else None


__all__ = ["TARGETS", "render_target", "supported", "target_findings"]
