"""Frozen graphs TensorFlow itself refuses at run time, though the GraphDef imports.

Each of these is what a clean-up tool leaves behind (TensorFlow's ``optimize_for_inference`` and
``strip_unused`` keep the nodes but not the function library nor the table initializers that no
output reaches) or what "freeze with every sink as an output" writes:

* MISSING_FUNCTION: a node calls a function the library does not hold ("Failed to find function"
  when the call runs);
* TABLE_NOT_INITIALIZED: a lookup table is read but nothing fills it ("Table not initialized");
* NOOP_OUTPUT: a NoOp that groups other nodes is one of the graph's ends: it has no tensor to
  fetch, and tools that take every end as an output (converters, summarize_graph) fail on it.
"""

from __future__ import annotations

from inspector import tfops
from inspector.diagnosis.findings import Finding
from inspector.diagnosis.graphindex import GraphIndex, accepts_graph_def

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


CHECKS = (check_missing_functions, check_uninitialized_tables, check_noop_outputs)
