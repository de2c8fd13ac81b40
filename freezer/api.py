"""``freeze(...)``: checkpoint (+ its graph) -> one validated, frozen ``.pb``.

The graph is parsed once; pruning and rewriting work on its NodeDefs in place; weights go from
the checkpoint's data shards straight to the output file (:mod:`freezer.writer`); the result is
validated before it is renamed into place, so a failed freeze leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from freezer import writer
from freezer.defaults import fill_library_defaults
from freezer.functions import prune_library
from freezer.prune import prune, resolve_outputs
from freezer.rewrite import rewrite
from freezer.validate import Validation, validate
from freezer.values import ValueSource, classify_unfolded
from inspector import tfops
from inspector.cli_common import path_argument, shell_line
from inspector.errors import UnreadableInputError, UsageError, VerificationError
from inspector.readers import dtypes
from inspector.readers.checkpoint import open_checkpoint, v1_files
from inspector.readers.resolve import Artifacts, resolve

LOG = logging.getLogger("ckpt2pb.freeze")
_SHARD_SUFFIX = re.compile(r"-(?:\d{5}|\?{5})-of-\d{5}$")


@dataclass
class FreezeResult:
    """What ``freeze`` wrote and how it checked it; ``to_json()`` is the ``--json`` object."""

    output_path: Path
    outputs: list[str]
    outputs_chosen_by: str  # "user" | "ranking"
    checkpoint: str | None  # None: an already frozen graph, pruned to the outputs
    graph: str
    validation: Validation
    rewrites: list[dict] = field(default_factory=list)
    dropped_control: list[tuple[str, str]] = field(default_factory=list)
    table_initializers: list[str] = field(default_factory=list)
    verification: dict | None = None
    seconds: float = 0.0
    inference: list[dict] = field(default_factory=list)  # --for-inference: one report per rewrite
    renamed_outputs: dict[str, str] = field(default_factory=dict)  # tensor before -> after the rewrites

    @property
    def warnings(self) -> list[str]:
        return self.validation.warnings

    def to_json(self) -> dict:
        return {
            "output_path": str(self.output_path), "outputs": self.outputs,
            "outputs_chosen_by": self.outputs_chosen_by, "checkpoint": self.checkpoint,
            "graph": self.graph, "validation": self.validation.to_json(), "rewrites": self.rewrites,
            "dropped_control_dependencies": [{"node": c, "on": p} for c, p in self.dropped_control],
            "table_initializers": self.table_initializers, "verification": self.verification,
            "inference_rewrites": self.inference, "renamed_outputs": self.renamed_outputs,
            "seconds": round(self.seconds, 3),
        }


def default_output_path(prefix: str, as_text: bool = False, pruned_graph: bool = False) -> Path:
    """``./<checkpoint name>_frozen.pb`` in the current directory (inputs may be read-only);
    ``./<graph name>_pruned.pb`` for an already frozen graph cut down to its outputs."""
    suffix = "pbtxt" if as_text else "pb"
    if pruned_graph:
        return Path.cwd() / f"{Path(prefix).stem}_pruned.{suffix}"
    name = _SHARD_SUFFIX.sub("", Path(prefix).name)  # V1 sharded prefixes end in -?????-of-0000N
    return Path.cwd() / f"{name}_frozen.{suffix}"


def freeze(path: str | Path, outputs: Sequence[str] | None = None, auto_outputs: bool = False,
           output_path: str | Path | None = None, as_text: bool = False,
           use_moving_averages: bool = False, clear_devices: bool = True, verify: bool = False,
           input_shapes: dict[str, Sequence[int]] | None = None,
           progress_stream=None, graph: str | Path | None = None,
           for_inference: bool = False, feeds: dict[str, object] | None = None) -> FreezeResult:
    """Freeze the checkpoint at ``path`` (folder, prefix, ``.meta``, ``.index`` …) into a ``.pb``.

    An already frozen graph (no variables) is pruned to the outputs instead: what the freeze of its
    checkpoint would have kept, training leftovers and all other ends cut. Exactly one of
    ``outputs`` (node or tensor names) and ``auto_outputs`` (take the top-ranked
    candidate, or its whole group) must be given. ``graph`` names the graph (.meta, .pb, .pbtxt)
    of a checkpoint saved without its ``.meta``. ``for_inference`` applies the rewrites of
    :mod:`freezer.inference` (each re-checked in TensorFlow with ``verify``). ``input_shapes`` and
    ``feeds`` (input name -> value) give ``verify`` the shapes or values of inputs it cannot make up.
    Raises a :class:`~inspector.errors.Ckpt2pbError` subclass on any problem; nothing is written then.
    """
    started = time.monotonic()
    if bool(outputs) == bool(auto_outputs):
        raise UsageError("give exactly one of --outputs and --auto-outputs", path=str(path),
                         fix="name the outputs with --outputs a,b, or let ckpt2pb pick with --auto-outputs")
    artifacts = resolve(path)
    if graph is not None:
        artifacts.meta_path = str(graph)
    graph_path, meta_graph, graph_def, lazy = _load_graph_and_left_out(artifacts)
    prefix = artifacts.prefix
    model = None
    if auto_outputs or verify or for_inference:  # built before the rewrite, which edits NodeDefs in place
        from inspector.graph.model import GraphModel

        model = GraphModel.from_graph_def(graph_def, meta_graph, lazy)
    if auto_outputs:
        names, chosen_by = _auto_outputs(model, graph_path), "ranking"
    else:
        names, chosen_by = resolve_outputs(outputs, {n.name for n in graph_def.node}, graph_path), "user"
    switches = switch_values(model) if verify or for_inference else None
    LOG.info("%s %s with outputs %s", "freezing" if prefix else "pruning", prefix or graph_path,
             ", ".join(names))

    nodes_before = len(graph_def.node)
    with open_checkpoint(prefix) if prefix else contextlib.nullcontext() as reader:
        pruned = prune(graph_def.node, names, path=graph_path)
        if reader is None and _holds_variables(pruned.kept, graph_def.library):
            raise _no_checkpoint_error(artifacts, graph_def, meta_graph, graph_path)
        source = None
        if reader is not None:
            source = ValueSource(reader, graph_def.node, meta_graph, use_moving_averages, path=graph_path)
            missing = source.missing(pruned.kept)
            if missing:
                raise _missing_values_error(graph_def, meta_graph, missing, names, graph_path, prefix)
        frozen = rewrite(pruned, source, clear_devices=clear_devices, path=graph_path,
                         library=graph_def.library)
        library, versions = _library_and_versions(graph_def, frozen)
        target = Path(output_path) if output_path is not None else \
            default_output_path(prefix or graph_path, as_text, pruned_graph=prefix is None)
        # Nodes whose big tensor fields were left out of the parse get them back from the input file
        # while they are written; the rewrites for inference compute with the values: they get them now.
        items, inference, renamed, restored_feeds = writer.with_left_out(frozen.items, lazy), [], {}, {}
        if for_inference:
            items = writer.materialize(items)
            step_check = _step_verifier(graph_path, prefix, target, _complete_meta_graph(meta_graph, lazy),
                                        input_shapes, pruned.table_initializers, library,
                                        versions) if verify else None
            items, names, inference, renamed, restored_feeds = _for_inference(
                items, names, library, meta_graph, switches, input_shapes,
                pruned.table_initializers, step_check)
            if library is not None:  # the inlined functions are no longer called
                prune_library(library, items)
        expected = writer.graph_size(items, library, versions)
        writer.check_size_limit(expected, output_path)

        with writer.AtomicOutput(target, _input_files(artifacts, graph_path), text=as_text) as out:
            _write(out, items, library, versions, as_text, expected, progress_stream)
            if reader is not None:  # before any report on a graph that will not be written
                _refuse_changed_checkpoint(reader)
            left_out = [] if reader is None else classify_unfolded(
                reader, {f.key for f in frozen.folded}, graph_def.node, source.bindings, meta_graph)
            validation = validate(items, names, nodes_before=nodes_before, file_path=out.temp_path,
                                  expected_size=None if as_text else expected, folded=frozen.folded,
                                  left_out=left_out, text=as_text, library=library,
                                  graph_ops=_graph_ops(meta_graph))
            validation.raise_if_failed(str(target))
            # What resolving the path had to guess (a state file naming a deleted step, stale
            # absolute paths, the newest of several checkpoints) decides which weights were frozen.
            validation.notes.extend(_resolve_warnings(artifacts, graph))
            if reader is not None and not frozen.folded:
                validation.notes.append("the outputs read no variable: nothing was taken from the checkpoint "
                                        f"{prefix} (the graph is frozen already, or the outputs come before "
                                        "the first layer)")
            if use_moving_averages and not any(f.moving_average for f in frozen.folded):
                validation.notes.append("--use-moving-averages: the checkpoint has no "
                                        "ExponentialMovingAverage shadow for any folded variable; "
                                        "the raw weights were used")
            for warning in validation.warnings:
                LOG.warning(warning)
            verification = None
            if verify:
                from freezer.verify import verify_frozen

                kept = {item.name for item in items}
                verification = verify_frozen(graph_path, prefix, out.temp_path, names,
                                             input_shapes=input_shapes,
                                             meta_graph=_complete_meta_graph(meta_graph, lazy),
                                             folded=[f for f in frozen.folded if f.node in kept],
                                             reader=reader, report_path=target,
                                             initializers=pruned.table_initializers, values=feeds,
                                             switches=switches, restored_names=_restored_names(renamed),
                                             restored_feeds=restored_feeds)
            if reader is not None:  # again: --verify may have taken a while
                _refuse_changed_checkpoint(reader)
            out.commit()
    return FreezeResult(output_path=target, outputs=names, outputs_chosen_by=chosen_by, checkpoint=prefix,
                        graph=graph_path, validation=validation, rewrites=frozen.rewrites,
                        dropped_control=frozen.dropped_control,
                        table_initializers=pruned.table_initializers, verification=verification,
                        seconds=time.monotonic() - started, inference=inference, renamed_outputs=renamed)


def _graph_ops(meta_graph) -> set[str]:
    """Op names of a MetaGraphDef's own op list (what the TensorFlow that saved it registered)."""
    if meta_graph is None or not meta_graph.HasField("meta_info_def"):
        return set()
    return {op.name for op in meta_graph.meta_info_def.stripped_op_list.op}


def _refuse_changed_checkpoint(reader) -> None:
    """Nothing is written when a checkpoint file the freeze read was replaced, resized or rewritten
    meanwhile (a trainer saving the same prefix again): the weights copied came from the files as
    they were opened and each passed its checksum, but they may no longer be the checkpoint on disk
    and may mix two saves."""
    changed = reader.changed_files()
    if changed:
        path, what = changed[0]
        more = f" (and {len(changed) - 1} more checkpoint file(s))" if len(changed) > 1 else ""
        raise UnreadableInputError(
            f"the checkpoint changed while it was being frozen: this file {what}{more}; nothing was "
            "written", path=path, code="CHANGED",
            fix="freeze again once the checkpoint is saved completely (or from a copy that nothing "
                "writes to)")


def _for_inference(items, names, library, meta_graph, switches, input_shapes, initializers, step_check):
    """Apply :data:`freezer.inference.REWRITES`; returns (items, outputs, reports, renamed, switch feeds).
    ``switches``: :func:`switch_values` of the graph before it was rewritten."""
    from freezer.inference import InferenceGraph, run_rewrites

    graph = InferenceGraph(items=list(items), outputs=list(names), library=library,
                           signature_outputs=_signature_outputs(meta_graph),
                           keep=set(initializers), input_shapes={k.split(":")[0]: list(v) for k, v in
                                                                 (input_shapes or {}).items()},
                           switches=switches)
    reports = run_rewrites(graph, after_each=step_check)
    folded = {name: value for name, value in switches.items()
              if value is not None and name not in {item.name for item in graph.items
                                                    if getattr(item, "op", "") != "Const"}}
    restored_feeds = {f"{name}:0": value for name, value in folded.items()}
    return graph.items, graph.outputs, reports, dict(graph.renamed), restored_feeds


def _signature_outputs(meta_graph) -> dict[str, str]:
    """Tensor name -> output key of the SavedModel signatures (what inlined outputs are named after)."""
    found: dict[str, str] = {}
    for signature in getattr(meta_graph, "signature_def", {}).values() if meta_graph is not None else ():
        for key, info in signature.outputs.items():
            if info.name:
                found.setdefault(info.name if ":" in info.name else f"{info.name}:0", key)
    return found


def _restored_names(renamed: dict[str, str]) -> dict[str, str]:
    """frozen tensor -> restored tensor, the inverse of ``renamed`` (restored name -> frozen name)."""
    return {after: before for before, after in renamed.items()}


def _step_verifier(graph_path, prefix, target: Path, meta_graph, input_shapes, initializers, library,
                   versions):
    """After each rewrite: write the graph so far and run it against the restored checkpoint in TF."""
    from freezer.verify import verify_frozen

    def check(rewrite, graph, report) -> None:
        with writer.AtomicOutput(target.with_name(f".{target.name}.{rewrite.name}"), ()) as step:
            writer.write_binary(step.file, graph.items, library, versions)
            step.close()
            feeds = {f"{n}:0": v for n, v in graph.switches.items()
                     if v is not None and getattr(graph.node(n), "op", "Const") == "Const"}
            try:
                result = verify_frozen(graph_path, prefix, step.temp_path, graph.outputs,
                                       input_shapes=input_shapes, meta_graph=meta_graph, report_path=target,
                                       initializers=list(initializers),
                                       restored_names=_restored_names(graph.renamed), restored_feeds=feeds)
            except (VerificationError, ValueError) as error:  # TF's import refuses the graph: ValueError
                raise VerificationError(
                    f"--for-inference rewrite {rewrite.name!r} broke the graph: {str(error).splitlines()[0]}",
                    path=str(target), code="REWRITE_BROKE_GRAPH",
                    fix="freeze without --for-inference, and please report this with the checkpoint's "
                        ".meta") from None
        report["verified_max_abs_diff"] = result["max_abs_diff"]
    return check


def _missing_values_error(graph_def, meta_graph, missing: list[str], outputs: list[str], graph_path: str,
                          prefix: str) -> UnreadableInputError:
    """Variables the outputs need that the checkpoint lacks, and why: never saved by the graph's
    own Saver (its ``var_list`` left them out), or another graph's checkpoint altogether."""
    from inspector.graph.model import GraphModel
    from inspector.graph.variables import model_weights_first, saver_variables

    model = GraphModel.from_graph_def(graph_def, meta_graph)
    ordered = model_weights_first(model, missing)
    shown = ", ".join(repr(n) for n in ordered[:6])
    shown += f" and {len(ordered) - 6} more" if len(ordered) > 6 else ""
    needed = f"{len(missing)} variable(s) that {', '.join(outputs)} need{'s' if len(outputs) == 1 else ''}"
    saved = saver_variables(model)
    if saved is not None and not any(n in saved for n in missing):
        total = len(model.nodes_with_op(tfops.VARIABLES))
        return UnreadableInputError(
            f"{needed} were never saved: the graph's Saver writes {len(saved)} of its {total} variables "
            f"(it was built with a var_list) and leaves out {shown}", path=prefix, code="NEVER_SAVED",
            fix="freeze outputs that need only saved variables (run `inspect` on the checkpoint: it lists "
                "what the Saver left out), or save the checkpoint again with tf.compat.v1.train.Saver() over "
                "every variable")
    return UnreadableInputError(
        f"{needed} are not in the checkpoint: {shown}", path=graph_path, code="NOT_IN_CHECKPOINT",
        fix="the graph and the checkpoint do not belong together; pass the prefix whose .meta was saved "
            "with this checkpoint")


def _library_and_versions(graph_def, frozen):
    """The function library the frozen graph needs (specialized copies in, unreachable ones out)."""
    if frozen.functions:
        graph_def.library.function.extend(frozen.functions)
    removed = prune_library(graph_def.library, frozen.items)
    fill_library_defaults(graph_def.library)
    LOG.info("kept %d library functions, dropped %d unreachable", len(graph_def.library.function),
             len(removed))
    library = graph_def.library if graph_def.HasField("library") else None
    versions = graph_def.versions if graph_def.HasField("versions") else None
    return library, versions


def _write(out: writer.AtomicOutput, items, library, versions, as_text: bool, expected: int,
           progress_stream) -> None:
    if as_text:
        writer.write_text(out.file, items, library, versions)
    else:
        progress = writer.Progress(expected, stream=progress_stream)
        writer.write_binary(out.file, items, library, versions, progress)
        progress.finish()
    out.close()


def _complete_meta_graph(meta_graph, lazy):
    """``meta_graph`` with the tensor fields left out of its parse read back (TensorFlow runs it)."""
    if meta_graph is None or not lazy:
        return meta_graph
    from inspector.proto import pb

    complete = pb.MetaGraphDef()
    complete.CopyFrom(meta_graph)
    complete.graph_def.CopyFrom(lazy.materialized(meta_graph.graph_def))
    return complete


def _load_graph(artifacts: Artifacts):
    """(graph file, MetaGraphDef or None, GraphDef) for the checkpoint's graph."""
    return _load_graph_and_left_out(artifacts)[:3]


def _load_graph_and_left_out(artifacts: Artifacts):
    """(graph file, MetaGraphDef or None, GraphDef, LazyTensors or None) for the checkpoint's graph."""
    graph_path = artifacts.meta_path or artifacts.graph_path
    if graph_path is None:
        raise UsageError("the checkpoint has no .meta graph, and freezing needs the graph",
                         path=artifacts.prefix or artifacts.path,
                         fix="pass the graph with --graph (the .meta Saver(...).save writes unless "
                             "write_meta_graph=False, or a .pb of the same model)")
    from inspector.readers.graphfile import load_graph_file

    loaded = load_graph_file(graph_path)
    meta_graph = loaded.meta_graph
    graph_def = meta_graph.graph_def if meta_graph is not None else loaded.graph_def
    if graph_def is None:
        raise UnreadableInputError("holds no graph", path=graph_path)
    return str(graph_path), meta_graph, graph_def, loaded.lazy


def _auto_outputs(model, graph_path: str) -> list[str]:
    """The top-ranked output candidate, or every member of its group (the rule ``inspect``'s
    suggestion follows too: :func:`inspector.ranking.choice.choose_outputs`)."""
    from inspector.ranking import rank_outputs
    from inspector.ranking.choice import choose_outputs

    candidates = rank_outputs(model, model.meta_graph)
    if not candidates:
        raise UsageError("found no output candidates in the graph", path=graph_path,
                         fix="name the outputs with --outputs (run `inspect` to see the graph's nodes)",
                         code="NO_OUTPUTS")
    names = choose_outputs(candidates)
    top = candidates[0]
    LOG.info("--auto-outputs picked %s (score %.2f: %s)", ", ".join(names), top.score, "; ".join(top.reasons))
    return names


def switch_values(model) -> dict[str, object]:
    """Training switches and the value each takes at inference (is_training False, keep_prob 1.0,
    rate 0.0), from the roles pass: what ``--verify`` feeds them without being told."""
    from inspector.roles import roles_of

    return {name: switch.inference_value for name, switch in roles_of(model).switches.items()
            if switch.inference_value is not None}


def _holds_variables(nodes, library) -> bool:
    """Variables among ``nodes`` (a DT_RESOURCE placeholder read as one included: a TF2 function's
    captured variable) or in the bodies of the graph's functions: their values are in a checkpoint."""
    names = {node.name for node in nodes if node.op == "Placeholder" and "dtype" in node.attr
             and node.attr["dtype"].type == dtypes.DT_RESOURCE}
    read = any(node.op in tfops.RESOURCE_READS and node.input and node.input[0].split(":")[0] in names
               for node in nodes)
    return read or any(node.op in tfops.VARIABLES for node in nodes) or any(
        node.op in tfops.VARIABLES for function in library.function for node in function.node_def)


def _no_checkpoint_error(artifacts: Artifacts, graph_def, meta_graph, graph_path: str) -> UsageError:
    """A graph with variables and no checkpoint: which checkpoint is needed, and how to pass it."""
    from inspector.graph.model import GraphModel
    from inspector.graph.variables import is_variable, model_weights_first

    model = GraphModel.from_graph_def(graph_def, meta_graph)
    variables = model_weights_first(model, [n for n in model.names if is_variable(model, n)])
    shown = ", ".join(repr(v) for v in variables[:4]) + (f" and {len(variables) - 4} more"
                                                          if len(variables) > 4 else "")
    named = [w for w in artifacts.warnings if "state file" in w]
    where = f" ({named[0].rstrip('.')})" if named else " and none is beside it"
    count = f"its {len(variables)} variable(s) ({shown})" if variables else "the variables of its functions"
    return UsageError(
        f"the graph is not frozen: {count} take their values from the checkpoint it was trained with"
        f"{where}", path=graph_path, code="NEEDS_CHECKPOINT",
        fix="pass that checkpoint (the prefix of its .index and .data-* files) with this graph: "
            + shell_line(["freeze", "CHECKPOINT_PREFIX", "--graph", path_argument(graph_path), "--outputs",
                          "NAME"]))


def _resolve_warnings(artifacts: Artifacts, graph) -> list[str]:
    """The resolver's warnings that still matter (with ``--graph``, a missing .meta does not)."""
    if graph is None:
        return list(artifacts.warnings)
    missing_meta = f"{Path(artifacts.prefix or '').name}.meta is missing"
    return [w for w in artifacts.warnings if not w.startswith(missing_meta)]


def _input_files(artifacts: Artifacts, graph_path: str) -> list[str]:
    files = [graph_path, *artifacts.data_paths]
    for extra in (artifacts.index_path, artifacts.state_path, artifacts.prefix, artifacts.meta_path,
                  artifacts.graph_path):
        if extra:
            files.append(extra)
    # The other saved steps beside it are not read, but writing over one of them (-o model.ckpt-200.index
    # while freezing step 300) would destroy a checkpoint just the same.
    for step in artifacts.steps:
        files += [f"{step.prefix}.index", f"{step.prefix}.meta",
                  *glob.glob(glob.escape(step.prefix) + ".data-*")]
        files += v1_files(step.prefix) if step.exists else []
    return files

