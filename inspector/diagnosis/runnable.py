"""Frozen graphs TensorFlow itself refuses at run time, though the GraphDef imports.

Each of these is what a clean-up tool leaves behind (TensorFlow's ``optimize_for_inference`` and
``strip_unused`` keep the nodes but not the function library nor the table initializers that no
output reaches) or what "freeze with every sink as an output" writes:

* MISSING_FUNCTION: a node calls a function the library does not hold ("Failed to find function"
  when the call runs);
* TABLE_NOT_INITIALIZED: a lookup table is read but nothing fills it ("Table not initialized");
* NOOP_OUTPUT: a NoOp that groups other nodes is one of the graph's ends: it has no tensor to
  fetch, and tools that take every end as an output (converters, summarize_graph) fail on it;
* HUGE_CONSTANT: a Const whose declared shape is far larger than what the file stores (a splat:
  one value, or none, for the whole shape). TensorFlow builds the full tensor in memory when the
  graph runs ("Cannot parse tensor from proto" where it cannot), or refuses the shape at import
  when it has more than 2**63 - 1 elements. Found from the shape alone: nothing is allocated.
"""

from __future__ import annotations

from inspector import tfops
from inspector.diagnosis.findings import Finding
from inspector.diagnosis.graphindex import GraphIndex, accepts_graph_def, const_tensor
from inspector.readers import dtypes
from inspector.render import format_bytes, format_shape

_SHOWN = 10


def _names(items: list[str]) -> str:
    shown = ", ".join(f"'{n}'" for n in items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _called(attrs) -> list[str]:
    """Function names an attr map refers to (``f``, ``then_branch``, lists of functions …)."""
    names = []
    for value in attrs.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            names.append(value.func.name)
            names.extend(_called(value.func.attr))
        elif kind == "list":
            for func in value.list.func:
                names.append(func.name)
                names.extend(_called(func.attr))
    return names


@accepts_graph_def
def check_missing_functions(index: GraphIndex) -> list[Finding]:
    library = {f.signature.name: f for f in index.graph_def.library.function}
    missing: dict[str, list[str]] = {}
    for name, node in index.nodes.items():
        for function in _called(node.attr):
            if function and function not in library:
                missing.setdefault(function, []).append(name)
    for function in library.values():  # nested calls inside the library itself
        for node in function.node_def:
            for called in _called(node.attr):
                if called and called not in library:
                    missing.setdefault(called, []).append(f"{function.signature.name}/{node.name}")
    if not missing:
        return []
    callers = sorted({c for names in missing.values() for c in names})
    return [Finding(
        "MISSING_FUNCTION", "error",
        f"Nodes call functions the graph's library does not hold ({_names(sorted(missing))}, called by "
        f"{_names(callers)}): TensorFlow fails with \"Failed to find function\" when they run. "
        "TensorFlow's optimize_for_inference and strip_unused write the nodes without the library.",
        "Freeze again from the checkpoint or SavedModel with ckpt2pb `freeze` (it keeps the functions the "
        "outputs need; --for-inference inlines the calls).",
        {"functions": sorted(missing)[:50], "callers": callers[:50]})]


@accepts_graph_def
def check_uninitialized_tables(index: GraphIndex) -> list[Finding]:
    initialized = {ref.node for name in index.nodes if index.op(name) in tfops.TABLE_INITIALIZERS
                   for ref in index.data_inputs(name)[:1]}
    read = [name for name in index.nodes if index.op(name) in tfops.TABLES and name not in initialized
            and any(not ref.control for _, _, ref in index.consumers.get(name, ()))]
    if not read:
        return []
    return [Finding(
        "TABLE_NOT_INITIALIZED", "error",
        f"Lookup tables are read but nothing in the graph fills them ({_names(read)}): TensorFlow fails "
        "with \"Table not initialized\". Freezing that keeps only the outputs' ancestors (TensorFlow's "
        "convert_variables_to_constants, optimize_for_inference) drops the initializers.",
        "Freeze again with ckpt2pb `freeze` (it keeps each used table's initializer), then run the "
        "initializers once before use (tf.compat.v1.tables_initializer() or their names).",
        {"tables": read[:50]})]


@accepts_graph_def
def check_noop_outputs(index: GraphIndex) -> list[Finding]:
    if any(index.op(name) in tfops.VARIABLES for name in index.nodes):
        return []  # a training graph ends in train_op and init NoOps by design; frozen graphs should not
    stray = [name for name in index.sinks if index.op(name) in tfops.NO_OPS and index.inputs.get(name)]
    if not stray or not index.outputs:  # only NoOps: NO_OUTPUTS says it
        return []
    return [Finding(
        "NOOP_OUTPUT", "warning",
        f"NoOps that group other nodes are ends of the graph ({_names(stray)}): there is no tensor to "
        "fetch from them, and tools that take every end as an output (converters, summarize_graph) fail "
        "or keep training nodes alive for them.",
        "Freeze again naming only the real outputs (`freeze <checkpoint or this file> --outputs NAME`; "
        "`inspect` ranks them).",
        {"nodes": stray[:50]})]


#: A constant TensorFlow would expand to at least this much memory is a warning (no graph file can
#: store so much: protobuf stops at 2 GiB, so it is a splat TF fills in at run time) ...
LARGE_CONSTANT_BYTES = 1 << 31
#: ... and an error from this size (no machine has it to spare), or past TensorFlow's shape limit.
HUGE_CONSTANT_BYTES = 1 << 40
MAX_ELEMENTS = (1 << 63) - 1


@accepts_graph_def
def check_huge_constants(index: GraphIndex) -> list[Finding]:
    found = []
    for node in index.graph_def.node:
        tensor = const_tensor(node)
        if tensor is None or any(dim.size < 0 for dim in tensor.tensor_shape.dim):
            continue
        count = 1
        for dim in tensor.tensor_shape.dim:
            count *= dim.size
        itemsize = dtypes.by_value(tensor.dtype).itemsize if dtypes.is_known(tensor.dtype) else None
        expanded = count * (itemsize or 1)  # strings: at least a byte each
        if expanded >= LARGE_CONSTANT_BYTES:
            found.append((node.name, [d.size for d in tensor.tensor_shape.dim], dtypes.name_of(tensor.dtype),
                          count, expanded))
    if not found:
        return []
    found.sort(key=lambda item: -item[4])
    name, shape, dtype, count, expanded = found[0]
    if count > MAX_ELEMENTS:
        severity, what = "error", ("TensorFlow refuses the shape when it imports the graph (more than "
                                   "2**63 - 1 elements)")
    else:
        severity = "error" if expanded >= HUGE_CONSTANT_BYTES else "warning"
        what = ("TensorFlow builds the whole tensor in memory when the graph runs, and fails with "
                "'Cannot parse tensor from proto' where it cannot allocate it")
    size = format_bytes(expanded) if expanded < 1 << 40 else \
        f"{expanded / (1 << 40):,.1f} TiB" if expanded < 1 << 60 else f"{expanded:.3g} bytes"
    more = f" ({len(found) - 1} more such constant(s))" if len(found) > 1 else ""
    return [Finding(
        "HUGE_CONSTANT", severity,
        f"Const '{name}' declares shape {format_shape(shape)}: {count:,} {dtype} elements ({size}), far more "
        f"than the file stores{more}: {what}.",
        "The shape is damaged, or the value was meant to be computed at run time (tf.fill, tf.zeros with a "
        "dynamic shape): export the graph again from the model.",
        {"nodes": [{"name": n, "shape": s, "dtype": d, "elements": c, "bytes": b}
                   for n, s, d, c, b in found[:20]]})]


CHECKS = (check_missing_functions, check_uninitialized_tables, check_noop_outputs, check_huge_constants)
