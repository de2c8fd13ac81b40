"""Checks on a frozen graph, run after every freeze; a failed check means nothing is kept.

The checks work on the nodes that were written (small NodeDefs plus the folded-variable records)
and on the written file's top-level framing, which is walked without decoding any weight: a
second full parse of a multi-hundred-megabyte graph is exactly the cost the streaming writer
avoids.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
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
            raise ValidationError(
                "the frozen graph failed validation: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
                path=path, fix="nothing was written; please report this with the checkpoint's .meta")


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
             text: bool = False, library=None) -> Validation:
    """Run every check; see :class:`Validation`."""
    checks = check_no_stateful_leftovers(items)
    checks.append(check_no_const_into_ref(items))
    checks.append(check_closed(items))
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
