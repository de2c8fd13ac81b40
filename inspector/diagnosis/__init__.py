"""Why a .pb is tiny, broken or wrong — and how to fix it.

``diagnose_path(path, checkpoint_prefix=None)`` reads the file itself (a file that is not what it
claims becomes a finding, not an exception) and returns a :class:`Diagnosis`;
``diagnose_graph(loaded, model=None, checkpoint=None)`` runs the graph checks on something already
loaded (the freezer validates its output with it). Each check is a plain function over a
:class:`GraphIndex` in ``structure``, ``freezing``, ``inference`` and ``ops``, so callers can run
them one at a time.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from inspector.diagnosis import freezing, inference, ops, runnable, structure
from inspector.diagnosis.fileformat import read_for_diagnosis
from inspector.diagnosis.findings import CODES, Diagnosis, Finding
from inspector.diagnosis.graphindex import GraphIndex
from inspector.errors import Ckpt2pbError

__all__ = ["CODES", "Diagnosis", "Finding", "GraphIndex", "diagnose_graph", "diagnose_path"]

#: Under the package's logger, so ``-v`` (which configures "ckpt2pb") shows what the diagnosis logs.
log = logging.getLogger("ckpt2pb.diagnosis")


def diagnose_path(path: str | Path, checkpoint_prefix: str | None = None) -> Diagnosis:
    """Diagnose the graph file at ``path``; with ``checkpoint_prefix``, compare it with that checkpoint.

    Raises :class:`inspector.errors.UnreadableInputError` only when the file (or checkpoint) does not
    exist or cannot be opened; everything wrong *inside* the file is a finding.
    """
    loaded, findings = read_for_diagnosis(path)
    if loaded is None:
        return Diagnosis(findings, path=str(path))
    checkpoint = None
    suggestions: list[str] = []
    checkpoint_graph = None
    if checkpoint_prefix is not None:
        from inspector.readers.checkpoint import open_checkpoint

        checkpoint = open_checkpoint(checkpoint_prefix)
        checkpoint_graph = load_checkpoint_graph(checkpoint_prefix)
        suggestions = suggest_outputs(checkpoint_prefix, checkpoint_graph)
    try:
        result = diagnose_graph(loaded, checkpoint=checkpoint, checkpoint_prefix=checkpoint_prefix,
                                suggestions=suggestions, checkpoint_graph=checkpoint_graph)
    finally:
        if checkpoint is not None:
            checkpoint.close()
    return Diagnosis(findings + result.findings, path=str(path))


def diagnose_graph(loaded: object, model: object | None = None, checkpoint: object | None = None, *,
                   checkpoint_prefix: str | None = None, suggestions: list[str] | None = None,
                   checkpoint_graph: object | None = None) -> Diagnosis:
    """Run every graph check on ``loaded`` (a LoadedGraph: ``kind``, ``graph_def``, ``path``).

    ``model`` is the GraphModel already built for ``loaded`` (the checks share its nodes, inputs and
    consumers); without one, a model is built from the GraphDef. ``checkpoint`` is an open
    CheckpointReader (``.tensors``) the graph was frozen from, for WRONG_OUTPUTS and WEIGHTS_DIFFER;
    ``checkpoint_graph`` the GraphModel of that checkpoint's own ``.meta``, when it has one (it
    shows whether the weights this file lacks come after its outputs).
    """
    graph = model if model is not None else loaded.graph_def
    if model is None and getattr(loaded, "lazy", None) is not None:  # its big tensors were left out
        from inspector.graph.model import GraphModel

        graph = GraphModel(loaded.graph_def, lazy=loaded.lazy)
    index = GraphIndex(graph)
    kind = getattr(loaded, "kind", "graphdef")
    findings: list[Finding] = []
    if kind != "graphdef":
        findings.append(_not_a_graphdef(kind, getattr(loaded, "path", None)))
    findings += structure.check_empty(index)
    if not index.nodes:
        return Diagnosis(findings, path=getattr(loaded, "path", None))
    for check in (structure.check_duplicates, structure.check_missing_inputs, structure.check_cycles,
                  ops.check_unregistered_ops):
        findings += check(index)
    not_frozen = freezing.check_not_frozen(index, kind, checkpoint_prefix, getattr(loaded, "path", None))
    findings += not_frozen
    frozen = not any(f.evidence["used"] for f in not_frozen)
    findings += freezing.check_training_leftovers(index, frozen=frozen)
    findings += freezing.check_ref_inputs(index)
    unfeedable = structure.check_unfeedable_placeholders(index)
    findings += unfeedable
    if frozen and not unfeedable:  # weights may hide behind those resources
        findings += freezing.check_wrong_outputs(index, checkpoint, suggestions,
                                                 checkpoint_graph=checkpoint_graph)
    if checkpoint is not None:
        findings += freezing.check_weights_match(index, checkpoint)
    for check in inference.CHECKS + runnable.CHECKS:
        findings += check(index)
    for check in (structure.check_no_inputs, structure.check_no_outputs, structure.check_device_pins):
        findings += check(index)
    return Diagnosis(findings, path=getattr(loaded, "path", None))


def load_checkpoint_graph(checkpoint_prefix: str) -> object | None:
    """The GraphModel of the checkpoint's own graph (``<prefix>.meta``), if it has a readable one."""
    meta_path = Path(str(checkpoint_prefix) + ".meta")
    if not os.path.isfile(meta_path):  # False (not OSError) for a name too long
        return None
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file

    try:
        loaded = load_graph_file(meta_path)
    except Ckpt2pbError as error:  # the comparison is a bonus; the findings stand without it
        log.info("cannot read the checkpoint's graph %s: %s", meta_path, error)
        return None
    return GraphModel.from_loaded(loaded)


def suggest_outputs(checkpoint_prefix: str, model: object | None = None, limit: int = 3) -> list[str]:
    """The ranking's best outputs for the checkpoint's own graph (``<prefix>.meta``), if it has one."""
    model = model if model is not None else load_checkpoint_graph(checkpoint_prefix)
    if model is None:
        return []
    from inspector.ranking import rank_outputs

    return [c.name for c in rank_outputs(model, model.meta_graph)[:limit]]


def _not_a_graphdef(kind: str, path: str | None) -> Finding:
    what = {"metagraph": "a MetaGraphDef (what Saver writes as .meta, or export_meta_graph)",
            "saved_model": "a SavedModel (saved_model.pb: one or more MetaGraphDefs)"}[kind]
    folder = Path(path).parent.name if path else ""
    named = (f" '{folder}' is a SavedModel folder: Keras' model.save('{folder}') writes a SavedModel, not "
             "a frozen graph, whatever the name." if folder.endswith(".pb") else "")
    return Finding(
        "NOT_A_GRAPHDEF", "warning",
        f"The file is {what}, not a GraphDef: code that parses it as a GraphDef (GraphDef.ParseFromString, "
        f"import_graph_def, graph-loading tools) fails on it.{named} The graph inside is analysed below.",
        "Load it with the matching API (tf.compat.v1.train.import_meta_graph / tf.saved_model.load), or "
        "freeze it into a GraphDef: `freeze <checkpoint or SavedModel folder> --auto-outputs`.",
        {"kind": kind, "saved_model_folder": folder if named else None})
