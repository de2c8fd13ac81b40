"""Checks on a frozen graph, run after every freeze; a failed check means nothing is kept.

The checks work on the nodes that were written (small NodeDefs plus the folded-variable records)
and on the written file's top-level framing, which is walked without decoding any weight: a
second full parse of a multi-hundred-megabyte graph is exactly the cost the streaming writer
avoids.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from freezer.writer import StreamedConst, shape_proto
from inspector import opdefs, tfops
from inspector.errors import ValidationError
from inspector.graph.model import TensorRef
from inspector.proto import pb
from inspector.readers import dtypes
from inspector.readers.varint import decode_varint

#: Ops that hold, read or check a variable: none may survive freezing.
LEFTOVER_VARIABLE_OPS = (tfops.VARIABLES | tfops.TEMPORARY_VARIABLES | tfops.RESOURCE_READS
                         | tfops.VARIABLE_INIT_CHECKS)
_STATEFUL_OPS = LEFTOVER_VARIABLE_OPS | tfops.STATE_WRITES | tfops.SAVE_RESTORE

IMPORTABLE = "TensorFlow can import it"

_DTYPE_ATTRS = ("T", "dtype", "out_type", "DstT", "output_type", "Tparams", "Tout")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class Validation:
    """The report printed after a freeze (and its ``--json`` form)."""

    nodes_before: int
    nodes_after: int
    file_size: int
    folded_bytes: int
    outputs: list[dict]
    checks: list[Check]
    folded: list[dict] = field(default_factory=list)
    left_out: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # further warnings from the freeze itself

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def warnings(self) -> list[str]:
        return self.notes + [f"checkpoint variable {v['key']!r} was not folded: {v['reason']}"
                             for v in self.left_out if v.get("warning")]

    def to_json(self) -> dict:
        return {"ok": self.ok, "nodes_before": self.nodes_before, "nodes_after": self.nodes_after,
                "file_size": self.file_size, "folded_bytes": self.folded_bytes,
                "outputs": self.outputs, "checks": [c.to_json() for c in self.checks],
                "folded": self.folded, "left_out": self.left_out, "warnings": self.warnings}

    def raise_if_failed(self, path: str | None = None) -> None:
        failed = [c for c in self.checks if not c.ok]
        if failed:
            fix = "nothing was written; please report this with the checkpoint's .meta"
            if all(c.name == IMPORTABLE for c in failed):  # most often a defect of the input graph itself
                fix = ("nothing was written: TensorFlow's import_graph_def would refuse this graph; check "
                       "the input graph with `inspect` (if it is sound, please report this with its .meta)")
            raise ValidationError(
                "the frozen graph failed validation: " + "; ".join(f"[{c.name}] {c.detail}" for c in failed),
                path=path, fix=fix)


def _op(item) -> str:
    return "Const" if isinstance(item, StreamedConst) else item.op


def _inputs(item) -> Sequence[str]:
    return () if isinstance(item, StreamedConst) else item.input


def check_no_stateful_leftovers(items: Sequence) -> list[Check]:
    """Zero variable, assign, save/restore and gradient ops left."""
    groups = {
        "no variable ops": lambda op: op in LEFTOVER_VARIABLE_OPS,
        "no state writes": lambda op: op in tfops.STATE_WRITES,
        "no save/restore ops": lambda op: op in tfops.SAVE_RESTORE,
        "no gradient ops": tfops.is_gradient_kernel,
    }
    checks = []
    for name, matches in groups.items():
        found = [f"{item.name} ({_op(item)})" for item in items if matches(_op(item))]
        checks.append(Check(name, not found, ", ".join(found[:10]) + (" …" if len(found) > 10 else "")
                            if found else "none"))
    return checks


def check_no_const_into_ref(items: Sequence) -> Check:
    """No Const may feed an input that expects a ref or a resource: such a graph cannot import."""
    const_names = {item.name for item in items if _op(item) == "Const"}
    bad = []
    for item in items:
        if isinstance(item, StreamedConst):
            continue
        kinds = opdefs.input_kinds(item) or []
        data = [t for t in _inputs(item) if not t.startswith("^")]
        for kind, source in zip(kinds, data, strict=False):
            if kind != opdefs.VALUE and TensorRef.parse(source).node in const_names:
                bad.append(f"{item.name} ({item.op}) <- {TensorRef.parse(source).node}")
    return Check("no Const into a ref/resource input", not bad, ", ".join(bad) if bad else "none")


def check_functions(library) -> Check:
    """Functions the frozen graph still calls neither hold variables nor write state."""
    found = []
    for function in getattr(library, "function", ()):
        for node in function.node_def:
            if node.op in _STATEFUL_OPS:
                found.append(f"{function.signature.name}/{node.name} ({node.op})")
    return Check("no variable or state ops in functions", not found,
                 ", ".join(found[:10]) + (" …" if len(found) > 10 else "") if found else "none")


# Diagnosis findings (inspector.diagnosis) that make a frozen graph unusable; the others (dropout
# still active, batch norm in training mode, ops this TF build lacks …) are reported as warnings.
FAILING_FINDINGS = frozenset({"DUPLICATE_NODE", "MISSING_INPUT", "CYCLE", "NOT_FROZEN", "TRAINING_LEFTOVERS",
                              "REF_INPUT", "EMPTY_GRAPH"})


def _skeleton_node(item) -> object:
    """A folded variable as the Const it is, without its weights (structure checks need no bytes)."""
    if not isinstance(item, StreamedConst):
        return item
    node = pb.NodeDef(name=item.name, op="Const", device=item.device)
    node.attr["dtype"].type = item.dtype
    tensor = node.attr["value"].tensor
    tensor.dtype = item.dtype
    tensor.tensor_shape.CopyFrom(shape_proto(item.shape))
    return node


def check_diagnosis(items: Sequence, library=None, path: str | None = None) -> tuple[Check, list[str]]:
    """The ``inspect`` diagnosis checks on the graph as written (weights left out: no second parse)."""
    from inspector.diagnosis import diagnose_graph

    graph = SimpleNamespace(node=[_skeleton_node(item) for item in items],
                            library=library if library is not None else pb.FunctionDefLibrary())
    loaded = SimpleNamespace(kind="graphdef", graph_def=graph, path=path)
    findings = diagnose_graph(loaded).findings
    failing = [f for f in findings if f.code in FAILING_FINDINGS and f.severity == "error"]
    notes = [f"{f.code}: {f.message}" for f in findings if f not in failing and f.severity != "info"]
    detail = "; ".join(f"{f.code}: {f.message}" for f in failing) if failing else \
        f"{len(findings)} finding(s), none blocking"
    return Check("diagnosis finds nothing blocking", not failing, detail), notes


def check_closed(items: Sequence) -> Check:
    """Every input names a node that was written."""
    names = {item.name for item in items}
    missing = [f"{item.name} <- {t}" for item in items for t in _inputs(item)
               if TensorRef.parse(t).node not in names]
    return Check("every input present", not missing, ", ".join(missing[:10]) if missing else "none")


# ---------------------------------------------------------------------------------------------
# What makes TensorFlow's import_graph_def refuse a graph, checked from the shipped op definitions

#: AttrDef type -> the AttrValue field that holds it ("list(type)" -> "list", and so on).
_ATTR_FIELDS = {"type": "type", "int": "i", "float": "f", "bool": "b", "string": "s", "shape": "shape",
                "tensor": "tensor", "func": "func"}
_LIST_FIELDS = {"list(type)": "type", "list(int)": "i", "list(float)": "f", "list(bool)": "b",
                "list(string)": "s", "list(shape)": "shape", "list(tensor)": "tensor", "list(func)": "func"}


def importable_problems(items: Sequence, library=None, limit: int = 10,
                        graph_ops: Collection[str] = ()) -> list[str]:
    """Why TensorFlow's ``import_graph_def`` would refuse the graph, as far as the op definitions
    tell without TensorFlow (each rule checked against TensorFlow itself in the tests):

    * an op that nothing defines: neither TensorFlow 2.21 registers it nor the graph's function
      library defines it, nor is it a custom op (one the graph's own op list, ``graph_ops``, names:
      the TensorFlow that saved it had its library loaded; or one :func:`inspector.opdefs.provider`
      knows, such as TF-TRT's or TensorFlow Text's). A custom op needs its library loaded to import,
      as the original graph did; the diagnosis warns about it, and the freeze does not refuse it;
    * a control input (``^x``) before a data input;
    * an attribute the op requires (no default) missing, of the wrong kind (``T`` given as an int
      or a list), outside its allowed values (a string ``T`` for Relu, padding "BAD") or below its
      minimum (AddN with N=0);
    * a number of data inputs other than the op's signature expands to;
    * an input of another dtype than the signature expects (int32 into a float Relu);
    * an input naming an output the producer does not have (``relu:1``).

    Attributes the op does not declare are allowed (TensorFlow drops them). At most ``limit``
    problems are listed.
    """
    functions = {f.signature.name: f.signature for f in getattr(library, "function", ())}
    registered = opdefs.registry()
    problems: list[str] = []
    # Nodes of one op with the same attrs (most of a graph: Relu with T=float …) are judged once:
    # (op, the attrs its definition declares, serialized) -> (attr problems, input and output types)
    judged: dict[tuple, tuple[list[str], list | None, list | None]] = {}
    declared: dict[str, tuple[str, ...]] = {}
    known: dict[str, tuple[list | None, list | None]] = {}  # node -> (input, output) types
    inputs: dict[str, list[str]] = {}
    for item in items:
        node = _skeleton_node(item)
        name, op = node.name, node.op
        definition = registered.get(op) or functions.get(op)
        if definition is None:
            if op not in graph_ops and opdefs.provider(op) is None:
                problems.append(f"{name}: op {op!r} is defined nowhere: not registered in "
                                f"TensorFlow {opdefs.REGISTRY_VERSION}, not in the graph's function "
                                "library, and no custom op the graph's op list names")
            continue
        texts = list(node.input)
        seen_control = False
        for text in texts:
            if text.startswith("^"):
                seen_control = True
            elif seen_control:
                problems.append(f"{name}: data input {text!r} comes after a control input")
                break
        names = declared.get(op)
        if names is None:
            names = declared[op] = tuple(attr.name for attr in definition.attr)
        attrs = node.attr
        key = (op, tuple((a, attrs[a].SerializeToString(deterministic=True)) for a in names if a in attrs))
        verdict = judged.get(key)
        if verdict is None:
            attr_problems = _attr_problems(node, definition) if op in registered else []
            view = _with_defaults(node, definition)
            if attr_problems:
                verdict = judged[key] = (attr_problems, None, None)
            else:
                verdict = judged[key] = ([], opdefs.signature_types(view, definition),
                                         opdefs.signature_types(view, definition, outputs=True))
        problems.extend(f"{name} ({op}): {problem}" for problem in verdict[0])
        if not verdict[0]:
            known[name] = (verdict[1], verdict[2])
            inputs[name] = texts
    for name, (expected, _) in known.items():
        data = [TensorRef.parse(t) for t in inputs[name] if not t.startswith("^")]
        if expected is not None and len(expected) != len(data):
            problems.append(f"{name}: {len(data)} data input(s), its signature expects {len(expected)}")
            continue
        for position, ref in enumerate(data):
            producer = known.get(ref.node)
            outputs = producer[1] if producer is not None else None
            if outputs is None:
                continue
            if ref.port >= len(outputs):
                problems.append(f"{name}: input {position} names output {ref.port} of {ref.node!r}, "
                                f"which has {len(outputs)} output(s)")
                continue
            given = _base(outputs[ref.port][1])
            wanted = _base(expected[position][1]) if expected is not None else None
            if given is not None and wanted is not None and given != wanted:
                problems.append(f"{name}: input {position} is {dtype_name(given)} from {ref.node!r}, "
                                f"its signature expects {dtype_name(wanted)}")
    return problems[:limit] + ([f"and {len(problems) - limit} more"] if len(problems) > limit else [])


def _base(dtype: int | None) -> int | None:
    if not dtype:
        return None
    return dtype - opdefs.REF_OFFSET if dtype > opdefs.REF_OFFSET else dtype


def _with_defaults(node, definition) -> SimpleNamespace:
    """The node's attrs with the op's defaults filled in, as TensorFlow sees the node on import."""
    attrs = {attr.name: attr.default_value for attr in getattr(definition, "attr", ())
             if attr.HasField("default_value")}
    attrs.update(node.attr)
    return SimpleNamespace(op=node.op, attr=attrs)


def _attr_problems(node, definition) -> list[str]:
    problems = []
    for attr in definition.attr:
        if attr.name not in node.attr:
            if not attr.HasField("default_value"):
                problems.append(f"required attr {attr.name!r} ({attr.type}) is missing")
            continue
        value = node.attr[attr.name]
        kind = value.WhichOneof("value")
        if kind == "placeholder":
            continue
        wanted = _ATTR_FIELDS.get(attr.type) or ("list" if attr.type in _LIST_FIELDS else None)
        if wanted is None or kind != wanted:
            problems.append(f"attr {attr.name!r} is {kind or 'empty'}, the op wants {attr.type}")
            continue
        if attr.HasField("allowed_values"):
            bad = _outside(value, attr)
            if bad is not None:
                problems.append(f"attr {attr.name!r} is {bad}, not one of the values the op allows")
        if attr.has_minimum:
            size = value.i if attr.type == "int" else _list_length(value, attr.type) \
                if attr.type in _LIST_FIELDS else None
            if size is not None and size < attr.minimum:
                problems.append(f"attr {attr.name!r} is {size}, below the op's minimum {attr.minimum}")
    return problems


def _list_length(value, attr_type: str) -> int:
    return len(getattr(value.list, _LIST_FIELDS[attr_type]))


def _outside(value, attr) -> str | None:
    """The value (or list element) not in the attr's allowed values, as text; None when all are."""
    allowed = attr.allowed_values.list
    if attr.type == "type":
        return None if value.type in allowed.type else str(dtype_name(value.type) or value.type)
    if attr.type == "string":
        return None if value.s in allowed.s else repr(value.s.decode("utf-8", "replace"))
    if attr.type == "list(type)":
        bad = [t for t in value.list.type if t not in allowed.type]
        return None if not bad else str(dtype_name(bad[0]) or bad[0])
    if attr.type == "list(string)":
        bad = [t for t in value.list.s if t not in allowed.s]
        return None if not bad else repr(bad[0].decode("utf-8", "replace"))
    return None


def check_importable(items: Sequence, library=None, graph_ops: Collection[str] = ()) -> Check:
    """TensorFlow's import_graph_def would accept the graph (see :func:`importable_problems`)."""
    problems = importable_problems(items, library, graph_ops=graph_ops)
    return Check(IMPORTABLE, not problems, "; ".join(problems) if problems else "yes")


def describe_outputs(items: Sequence, outputs: Sequence[str]) -> tuple[Check, list[dict]]:
    """Each output: present? with its dtype and (recorded) shape."""
    by_name = {item.name: item for item in items}
    described, missing = [], []
    for name in outputs:
        item = by_name.get(name)
        if item is None:
            missing.append(name)
            continue
        if isinstance(item, StreamedConst):
            described.append({"name": name, "op": "Const", "dtype": dtype_name(item.dtype),
                              "shape": list(item.shape)})
            continue
        described.append({"name": name, "op": item.op, "dtype": _dtype(item), "shape": _shape(item)})
    return Check("every output present", not missing, ", ".join(missing) if missing else "all"), described


def _dtype(node) -> str | None:
    """Output 0's dtype as its OpDef states it (an ArgMax gives its output_type, not its input's T)."""
    from inspector.graph.model import node_dtype

    found = node_dtype(node)
    if found is not None:
        return found
    for attr in _DTYPE_ATTRS:
        if attr in node.attr:
            value = node.attr[attr]
            if value.WhichOneof("value") == "type":
                return dtype_name(value.type)
            if value.WhichOneof("value") == "list" and value.list.type:
                return dtype_name(value.list.type[0])
    return None


def dtype_name(value: int) -> str | None:
    """numpy-style name of a DataType value, refs as their base type (None when unknown)."""
    return dtypes.by_value(value).base.name if dtypes.is_known(value) else None


def shape_list(shape) -> list[int] | None:
    """A TensorShapeProto as a list (-1 for unknown dims), None for an unknown rank."""
    return None if shape.unknown_rank else [int(d.size) for d in shape.dim]


def _shape(node) -> list[int] | None:
    if "_output_shapes" in node.attr and node.attr["_output_shapes"].list.shape:
        return shape_list(node.attr["_output_shapes"].list.shape[0])
    if node.op == "Const" and "value" in node.attr:
        return shape_list(node.attr["value"].tensor.tensor_shape)
    if "shape" in node.attr and node.attr["shape"].WhichOneof("value") == "shape":
        return shape_list(node.attr["shape"].shape)
    return None


def scan_top_level(path: str | os.PathLike) -> tuple[int, int]:
    """(number of ``node`` fields, bytes covered) of a binary GraphDef, skipping every payload."""
    nodes, size = 0, os.path.getsize(path)
    with open(path, "rb") as handle:
        position = 0
        while position < size:
            handle.seek(position)
            head = handle.read(20)
            tag, used = _varint(head, 0)
            length, used2 = _varint(head, used)
            if tag & 7 != 2:
                raise ValueError(f"unexpected wire type {tag & 7} at byte {position}")
            position += used2 + length
            if tag >> 3 == 1:
                nodes += 1
        return nodes, position


def _varint(data: bytes, at: int) -> tuple[int, int]:
    decoded = decode_varint(data, at, len(data))
    if decoded is None:
        raise ValueError("truncated varint")
    return decoded


def check_file(path: str | os.PathLike, expected_nodes: int, expected_size: int | None) -> Check:
    """The written file holds exactly the nodes and bytes planned (framing walked, weights skipped)."""
    try:
        nodes, covered = scan_top_level(path)
    except (OSError, ValueError) as error:
        return Check("file framing", False, str(error))
    size = os.path.getsize(path)
    ok = nodes == expected_nodes and covered == size and (expected_size is None or size == expected_size)
    detail = f"{nodes} nodes, {size} bytes"
    if not ok:
        detail += f" (expected {expected_nodes} nodes, {expected_size} bytes)"
    return Check("file framing", ok, detail)


def validate(items: Sequence, outputs: Sequence[str], *, nodes_before: int, file_path: str | os.PathLike,
             expected_size: int | None, folded: Sequence, left_out: Sequence[dict],
             text: bool = False, library=None, graph_ops: Collection[str] = ()) -> Validation:
    """Run every check; see :class:`Validation`. ``graph_ops``: the op names of the input graph's
    own op list (a MetaGraphDef's stripped_op_list), which vouches for its custom ops."""
    checks = check_no_stateful_leftovers(items)
    checks.append(check_no_const_into_ref(items))
    checks.append(check_closed(items))
    checks.append(check_importable(items, library, graph_ops))
    if library is not None and len(library.function):
        checks.append(check_functions(library))
    diagnosis, notes = check_diagnosis(items, library, str(file_path))
    checks.append(diagnosis)
    output_check, described = describe_outputs(items, outputs)
    checks.append(output_check)
    file_size = os.path.getsize(file_path)
    folded_bytes = sum(f.nbytes for f in folded)
    if not text:
        checks.append(check_file(file_path, len(items), expected_size))
        checks.append(Check("file holds the folded weights", file_size >= folded_bytes,
                            f"{file_size} bytes for {folded_bytes} bytes of folded variables"))
    return Validation(nodes_before=nodes_before, nodes_after=len(items), file_size=file_size,
                      folded_bytes=folded_bytes, outputs=described, checks=checks,
                      folded=[f.to_json() for f in folded], left_out=list(left_out), notes=notes)
