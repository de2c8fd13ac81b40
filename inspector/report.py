"""The ``inspect`` report: one dict (the ``--json`` object, see docs/JSON.md) and its text rendering.

:func:`inspect_path` reads each artifact once — the graph is parsed once and the graph model built
once, then shared by the variable mapping, the ranking and the diagnosis. Tensor data is never
read: a listing needs only the ``.index``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inspector import cli_common
from inspector.cli_common import output_arguments, path_argument
from inspector.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE, UnreadableInputError
from inspector.graph.model import GraphModel, TensorRef
from inspector.graph.variables import OBJECT_GRAPH_KEY, VariableMap, graph_variables, map_variables
from inspector.readers.checkpoint import CheckpointReader, open_checkpoint
from inspector.readers.graphfile import LoadedGraph, load_graph_file
from inspector.readers.resolve import Artifacts, resolve

LOG = logging.getLogger("ckpt2pb")


@dataclass
class Inspection:
    """Everything :func:`inspect_artifacts` found, before it becomes the JSON dict.

    The freezer reuses this object so that nothing is read or parsed twice.
    """

    artifacts: Artifacts
    loaded: LoadedGraph | None = None
    model: GraphModel | None = None
    reader: CheckpointReader | None = None
    variables: VariableMap | None = None
    diagnosis: object | None = None          # inspector.diagnosis.Diagnosis, for graph files
    notes: list[str] = field(default_factory=list)

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


def inspect_artifacts(path: str, *, diagnose: bool = False, checkpoint: str | None = None,
                      graph: str | None = None) -> Inspection:
    """Resolve ``path``, load its graph (if any) once and open its checkpoint (if any).

    With ``diagnose`` a graph file is read through the diagnosis, which turns a damaged file into
    findings instead of an error; the graph model is then built from that same parse. ``graph``
    names the graph of a checkpoint saved without its ``.meta`` (a .meta, .pb or .pbtxt).
    """
    inspection = Inspection(resolve(path))
    art = inspection.artifacts
    if graph is not None:
        art.meta_path = art.graph_path = str(graph)
        art.missing = [m for m in art.missing if not m.endswith(".meta")]
        art.warnings = [w for w in art.warnings if ".meta is missing" not in w]
    if diagnose and _is_graph_file(art):
        if not _load_with_diagnosis(inspection, checkpoint):
            return inspection
    elif art.kind == "checkpoint" and graph is None and art.meta_path:
        # A damaged .meta found next to the checkpoint: still list the variables, as for a missing one.
        try:
            inspection.loaded = load_graph_file(art.meta_path)
        except UnreadableInputError as error:
            art.warnings.append(f"{error.message} The variables are listed without it; finding the outputs "
                                "and freezing need a readable graph (pass one with --graph)")
            art.meta_path = None
    elif art.meta_path or art.graph_path:
        inspection.loaded = load_graph_file(art.meta_path or art.graph_path)
    elif art.kind == "checkpoint" and not any(m.endswith(".meta") for m in art.missing):
        inspection.notes.append("no graph next to the checkpoint: the variables are listed, but finding "
                                "the outputs (and freezing) needs the graph; pass it with --graph")
    if inspection.loaded is not None and inspection.model is None:
        inspection.model = GraphModel.from_loaded(inspection.loaded)
    if art.prefix is not None and (art.index_path or art.format == "V1"):
        inspection.reader = open_checkpoint(art.prefix)
    if inspection.reader is not None:
        inspection.variables = map_variables(inspection.reader.tensors, inspection.model,
                                             _object_graph(inspection.reader))
    return inspection


def _is_graph_file(art: Artifacts) -> bool:
    """The user named a graph file (a .pb, .pbtxt, lone .meta or saved_model.pb): diagnose it."""
    return art.kind == "graph" or (art.kind == "saved_model" and os.path.isfile(art.path))


def _load_with_diagnosis(inspection: Inspection, checkpoint: str | None) -> bool:
    """Read a graph file for diagnosis; False when it is too damaged to analyse further."""
    from inspector.diagnosis import Diagnosis, diagnose_graph, load_checkpoint_graph, suggest_outputs
    from inspector.diagnosis.fileformat import read_for_diagnosis

    loaded, file_findings = read_for_diagnosis(inspection.artifacts.graph_path or inspection.artifacts.path)
    if loaded is None:
        inspection.diagnosis = Diagnosis(file_findings, path=inspection.artifacts.path)
        return False
    inspection.loaded = loaded
    inspection.model = GraphModel.from_loaded(loaded)
    reader = open_checkpoint(checkpoint) if checkpoint else None
    checkpoint_graph = load_checkpoint_graph(checkpoint) if checkpoint else None
    suggestions = suggest_outputs(checkpoint, checkpoint_graph) if checkpoint else []
    try:
        graph = diagnose_graph(loaded, inspection.model, reader, checkpoint_prefix=checkpoint,
                               suggestions=suggestions, checkpoint_graph=checkpoint_graph)
    finally:
        if reader is not None:
            reader.close()
    inspection.diagnosis = Diagnosis(file_findings + graph.findings, path=inspection.artifacts.path)
    return True


def _object_graph(reader: CheckpointReader) -> bytes | None:
    """The TF2 ``_CHECKPOINTABLE_OBJECT_GRAPH`` value (a small string scalar), when present."""
    if OBJECT_GRAPH_KEY not in reader.tensors:
        return None
    value = reader.read(OBJECT_GRAPH_KEY)
    return bytes(value.reshape(-1)[0]) if value.size else None


#: How many output candidates the report lists unless asked otherwise (``inspect --top``).
DEFAULT_TOP = 5


def inspect_path(path: str, *, top: int = DEFAULT_TOP, verbose: bool = False,
                 checkpoint: str | None = None, graph: str | None = None,
                 then: Callable[[dict, Inspection], None] | None = None) -> dict:
    """The ``inspect --json`` object for ``path`` (see docs/JSON.md).

    ``checkpoint``: for a graph file, the checkpoint it was frozen from (compared by the
    diagnosis). ``graph``: the graph of a checkpoint saved without its ``.meta``. ``verbose`` is
    accepted for compatibility: the report always holds everything ``-v`` prints (the exclusions).
    ``then`` is called with the report and the inspection before the files are closed (the HTML and
    DOT views draw the graph model the report was made from, without parsing it again).
    """
    inspection = inspect_artifacts(path, diagnose=True, checkpoint=checkpoint, graph=graph)
    try:
        report = _assemble(path, inspection, top=top, graph=graph, checkpoint=checkpoint)
        if then is not None:
            then(report, inspection)
        return report
    finally:
        inspection.close()


def exit_code(report: dict) -> int:
    """0; 1 when the diagnosis holds an error-severity finding; 2 when the graph file is unreadable."""
    diagnosis = report.get("diagnosis")
    if not diagnosis:
        return EXIT_OK
    from inspector.diagnosis.findings import UNREADABLE_CODES

    codes = {f["code"] for f in diagnosis["findings"]}
    if codes & UNREADABLE_CODES:
        return EXIT_UNREADABLE
    if any(f["severity"] == "error" for f in diagnosis["findings"]):
        return EXIT_FINDINGS
    return EXIT_OK


# -- sections --------------------------------------------------------------------------------

def _assemble(path: str, inspection: Inspection, *, top: int, graph: str | None = None,
              checkpoint: str | None = None) -> dict:
    art = inspection.artifacts
    model = inspection.model
    report: dict = {
        "path": path,
        "kind": art.kind,
        "files": {"prefix": art.prefix, "state_file": art.state_path, "meta": art.meta_path,
                  "index": art.index_path, "data": list(art.data_paths), "graph": art.graph_path},
        "format": art.format,
        "steps": [{"prefix": s.prefix, "step": s.step, "exists": s.exists} for s in art.steps],
        "warnings": list(art.warnings) + [f"missing: {m}" for m in art.missing
                                          if not any(Path(m).name in w for w in art.warnings)],
        "tensorflow_version": _tf_version(inspection.loaded),
        "saved_model": _saved_model_section(inspection.loaded),
        "graph": _graph_section(model),
        "placeholders": _placeholders(model),
        "variables": [],
        "totals": None,
        "mapping": None,
        "outputs": [],
        "inputs": [],
        "excluded": [],
        "roles": None,
        "freeze": None,
        "diagnosis": None,
        "notes": list(inspection.notes),
    }
    if report["saved_model"] is not None:
        report["warnings"] += report["saved_model"]["problems"]
    if inspection.variables is not None:
        report["variables"] = [_variable_row(v) for v in inspection.variables.variables]
        report["totals"] = _totals(inspection.variables)
        report["mapping"] = {"source": inspection.variables.source,
                             "graph_only": inspection.variables.missing_in_checkpoint,
                             "never_saved": inspection.variables.never_saved,
                             "checkpoint_only": inspection.variables.missing_in_graph}
    elif model is not None:
        report["mapping"] = {"source": None, "graph_only": graph_variables(model), "never_saved": [],
                             "checkpoint_only": []}
    if inspection.diagnosis is not None:
        report["diagnosis"] = inspection.diagnosis.to_json()
    if model is not None:
        _add_ranking(report, inspection, top=top, graph=graph, checkpoint=checkpoint)
    return report


#: The tag TF Serving, saved_model_cli and tf.saved_model.load look for by default.
SERVING_TAG = "serve"


def _saved_model_section(loaded: LoadedGraph | None) -> dict | None:
    """A SavedModel's meta graphs: their tags and signatures, which one was analysed, and what a
    loader will miss (no meta graph tagged ``serve``, no signature to call)."""
    saved = loaded.saved_model if loaded is not None else None
    if saved is None:
        return None
    graphs, problems = [], []
    for meta in saved.meta_graphs:
        signatures = [{"name": key, "method": signature.method_name,
                       "inputs": {k: _tensor_name(t) for k, t in sorted(signature.inputs.items())},
                       "outputs": {k: _tensor_name(t) for k, t in sorted(signature.outputs.items())}}
                      for key, signature in sorted(meta.signature_def.items()) if not key.startswith("__")]
        graphs.append({"tags": list(meta.meta_info_def.tags), "signatures": signatures,
                       "analysed": meta is loaded.meta_graph})
    if not any(SERVING_TAG in g["tags"] for g in graphs):
        tags = "; ".join(",".join(g["tags"]) or "(no tags)" for g in graphs)
        problems.append(f"no meta graph of the SavedModel is tagged '{SERVING_TAG}' (its tags: {tags}): TF "
                        "Serving, saved_model_cli and tf.saved_model.load look for 'serve' unless told the "
                        "tags; pass them explicitly")
    analysed = next((g for g in graphs if g["analysed"]), None)
    if analysed is not None and not analysed["signatures"]:
        problems.append("the SavedModel's meta graph has no signature: TF Serving and tf.saved_model.load "
                        "have nothing to call; the outputs below come from the ranking")
    return {"meta_graphs": graphs, "problems": problems}


def _tensor_name(info) -> str | None:
    """A TensorInfo's tensor (a sparse or composite one has no single name)."""
    encoding = info.WhichOneof("encoding")
    if encoding == "name":
        return info.name
    if encoding == "coo_sparse":
        return info.coo_sparse.values_tensor_name
    return None


def _tf_version(loaded: LoadedGraph | None) -> str | None:
    meta = loaded.meta_graph if loaded is not None else None
    if meta is None or not meta.HasField("meta_info_def"):
        return None
    return meta.meta_info_def.tensorflow_version or None


def _graph_section(model: GraphModel | None) -> dict | None:
    if model is None:
        return None
    return {"nodes": len(model), "edges": model.edge_count(), "functions": len(model.functions),
            "ops": model.op_counts()}


def _placeholders(model: GraphModel | None) -> list[dict]:
    """The graph's placeholders, less the saver's own filename feed (not a model input)."""
    if model is None:
        return []
    saver_plumbing = _saver_filename_nodes(model)
    names = model.nodes_with_op(("Placeholder", "PlaceholderWithDefault", "PlaceholderV2"))
    return [{"name": n, "op": model.op(n), "dtype": model.attrs[n]["dtype"],
             "shape": model.attrs[n]["shape"]} for n in names if n not in saver_plumbing]


def _saver_filename_nodes(model: GraphModel) -> set[str]:
    """The node that ``saver_def.filename_tensor_name`` names, and everything feeding it."""
    saver = model.saver_def
    if saver is None or not saver.filename_tensor_name:
        return set()
    node = TensorRef.parse(saver.filename_tensor_name).node
    if node not in model:
        return set()
    return {node} | model.ancestors(node)


def _add_ranking(report: dict, inspection: Inspection, *, top: int, graph: str | None,
                 checkpoint: str | None) -> None:
    from inspector.ranking import explain_exclusions, rank_inputs, rank_outputs
    from inspector.ranking.choice import choose_outputs

    model, loaded = inspection.model, inspection.loaded
    meta = loaded.meta_graph if loaded is not None else None
    candidates = rank_outputs(model, meta)
    report["outputs"] = [c.to_json() for c in candidates[:top]]
    report["inputs"] = [_input_row(c) for c in rank_inputs(model, meta)]
    report["roles"] = roles_section(model, meta)
    report["excluded"] = [e.to_json() for e in explain_exclusions(model, meta)]
    report["freeze"] = freeze_suggestion(inspection, choose_outputs(candidates), graph=graph,
                                         checkpoint=checkpoint)


def _input_row(candidate) -> dict:
    """An input candidate; ``role`` says what the input is for (feature, label, switch, feed).
    ``group`` holds the same value: the field's first name, kept because JSON fields are never
    removed (docs/JSON.md)."""
    row = candidate.to_json()
    row["role"] = row["group"]
    return row


def freeze_suggestion(inspection: Inspection, outputs: list[str], *, graph: str | None = None,
                      checkpoint: str | None = None) -> dict:
    """The ``freeze`` command that works for what ``inspect`` was given, or why there is none.

    ``{"command": shell line | None, "argv": [...] | None, "outputs": [...], "reason": str | None}``.
    A frozen graph is pruned to the outputs; an unfrozen one needs the checkpoint its variables were
    saved to (given with ``--checkpoint``, it is used); a checkpoint whose Saver left out variables
    the outputs read cannot be frozen, and the reason says which. Every command printed here is run
    by tests/test_suggested_commands.py over the fixtures and the corpus.
    """
    from inspector import tfops
    from inspector.graph.variables import model_weights_first, variables_needed

    art, model = inspection.artifacts, inspection.model
    suggestion: dict = {"command": None, "argv": None, "outputs": list(outputs), "reason": None}
    if not outputs:
        suggestion["reason"] = "no output candidate was found; name the outputs with --outputs"
        return suggestion
    blocked = _blocking_findings(inspection)
    if blocked:
        suggestion["reason"] = (f"freezing would fail: the graph is damaged ({', '.join(blocked)}, see the "
                                "findings); repair or re-export it first")
        return suggestion
    if art.prefix and art.missing and not (art.kind == "graph" and checkpoint):
        absent = [Path(m).name for m in art.missing if not m.endswith(".meta")]
        if absent:
            verb = "is" if len(absent) == 1 else "are"
            suggestion["reason"] = (f"freezing needs the checkpoint's values, and {', '.join(absent[:3])} "
                                    f"{verb} missing: copy the files next to the .index")
            return suggestion
    needed = variables_needed(model, outputs)
    if art.kind == "graph" and needed and not checkpoint:
        shown = ", ".join(repr(v) for v in model_weights_first(model, needed)[:3])
        more = f" and {len(needed) - 3} more" if len(needed) > 3 else ""
        named = [m.group(1) for w in art.warnings for m in [re.search(r"state file names '([^']+)'", w)] if m]
        where = (f" (the state file beside it names {named[0]!r}, which is missing)" if named
                 else " (none is beside it)")
        suggestion["reason"] = (
            f"the graph is not frozen: the outputs read {len(needed)} variable(s) ({shown}{more}) whose "
            f"values are in the checkpoint it was trained with{where}; pass that checkpoint's prefix with "
            "this graph: " + shell_line(["freeze", "CHECKPOINT_PREFIX", "--graph",
                                         path_argument(art.graph_path or art.path),
                                         *output_arguments(outputs)]))
        return suggestion
    missing = _unrestorable(inspection, needed)
    if missing:
        never = set(inspection.variables.never_saved) if inspection.variables else set()
        why = ("the graph's Saver never saved them (it was built with a var_list)" if set(missing) <= never
               else "they are not in the checkpoint")
        shown = ", ".join(repr(v) for v in model_weights_first(model, missing)[:4])
        more = f" and {len(missing) - 4} more" if len(missing) > 4 else ""
        suggestion["reason"] = (f"cannot be frozen with these outputs: they read {len(missing)} variable(s) "
                                f"the checkpoint has no value for ({shown}{more}): {why}")
        return suggestion
    if art.kind == "graph" and checkpoint and needed:
        argv = ["freeze", path_argument(checkpoint), "--graph", path_argument(art.path)]
    elif art.kind == "graph" and not any(model.op(n) in tfops.VARIABLES for n in model.names):
        argv = ["freeze", path_argument(art.path)]  # already frozen: pruned to the outputs
    elif art.kind == "graph":
        argv = ["freeze", path_argument(art.path)]  # variables no output reads: pruned like a frozen graph
    else:
        argv = ["freeze", path_argument(art.path)] + (["--graph", path_argument(graph)] if graph else [])
    argv += output_arguments(outputs)  # exactly these names, whatever they hold (commas, a leading '-')
    suggestion.update(argv=argv, command=shell_line(argv))
    return suggestion


#: Graph defects the freezer refuses (validation fails, or pruning meets a dangling input).
_BLOCKING = ("DUPLICATE_NODE", "MISSING_INPUT", "CYCLE", "EMPTY_GRAPH")


def _blocking_findings(inspection: Inspection) -> list[str]:
    diagnosis = inspection.diagnosis
    if diagnosis is None:
        return []
    return sorted({f.code for f in diagnosis.findings if f.code in _BLOCKING and f.severity == "error"})


def shell_line(argv: list[str]) -> str:
    """``argv`` as one line to paste into a shell (kept here for callers; see cli_common)."""
    return cli_common.shell_line(argv)


def _unrestorable(inspection: Inspection, needed: list[str]) -> list[str]:
    """Of the variables ``needed``, those the checkpoint holds no value for."""
    if inspection.variables is None or not needed:
        return []
    keyed = {v.key for v in inspection.variables.variables}
    graph_to_key = inspection.variables.graph_to_key
    return [v for v in needed if graph_to_key.get(v, v) not in keyed]


def roles_section(model: GraphModel, meta_graph=None) -> dict:
    """What the roles pass found (docs/JSON.md): nodes per role, the optimizers with the loss each
    minimizes, and the predictions the losses compare."""
    from inspector.roles import roles_of

    r = roles_of(model, meta_graph)
    names = r.index.names
    return {
        "counts": r.counts(),
        "training": r.has_training,
        "optimizers": [{"name": o.name, "updates": len(o.updates), "trains": len(o.trained),
                        "loss": names[o.loss] if o.loss is not None else None}
                       for o in r.training.optimizers],
        "predictions": [{"node": names[p.node], "loss": names[p.loss],
                         "target": names[p.target] if p.target is not None else None}
                        for p in r.predictions],
        "switches": [s.to_json() for s in r.switches.values()],
    }


def _variable_row(variable) -> dict:
    row = variable.to_json()
    return {"name": row["name"], "dtype": row["dtype"], "shape": row["shape"], "bytes": row["bytes"],
            "kind": row["kind"], "reason": row["reason"], "slot_of": row["slot_of"]}


def _totals(variables: VariableMap) -> dict:
    by_kind = variables.bytes_by_kind()
    return {"count": len(variables.variables), "model_bytes": by_kind["model"],
            "optimizer_bytes": by_kind["optimizer"], "bookkeeping_bytes": by_kind["bookkeeping"],
            "total_bytes": sum(by_kind.values())}


__all__ = ["Inspection", "exit_code", "inspect_artifacts", "inspect_path"]
