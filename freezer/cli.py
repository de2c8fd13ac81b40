"""The ``freeze`` command: checkpoint -> frozen ``.pb``, validated, optionally verified in TensorFlow.

Usage::

    freeze PATH (--outputs a,b | --output-node NAME ... | --auto-outputs) [-o OUT.pb] [--as-text]
           [--use-moving-averages]
           [--keep-devices] [--verify] [--input-shape NAME=1,224,224,3 ...] [--feed NAME=VALUE ...]
           [--for-inference] [--target opencv|onnx|tflite] [--json] [-v/-q]

Exit codes: 0 written and validated, 2 unreadable input or bad request, 3 validation failed
(nothing written), 4 ``--verify`` found different outputs, 5 TensorFlow needed for ``--verify``,
6 ``--verify`` could not compare (TensorFlow cannot run the graphs on the generated inputs, or
the original graph answers differently on every run).

``--json`` prints one object: ``output_path``, ``outputs``, ``outputs_chosen_by`` ("user" or
"ranking"), ``checkpoint``, ``graph``, ``validation`` {``ok``, ``nodes_before``, ``nodes_after``,
``file_size``, ``folded_bytes``, ``outputs`` [{name, op, dtype, shape}], ``checks`` [{check, ok,
detail}], ``folded`` [{node, key, dtype, shape, bytes, partition, moving_average}], ``left_out``
[{key, dtype, shape, reason, warning}], ``warnings``}, ``rewrites`` [{node, from, to, why}],
``dropped_control_dependencies`` [{node, on}], ``table_initializers``, ``verification`` (null
without ``--verify``), ``inference_rewrites`` [{rewrite, why, changes, nodes_before, nodes_after,
pruned, verified_max_abs_diff?}] (``--for-inference``), ``renamed_outputs`` {before: after},
``target`` {runtime, findings} (``--target``) and ``seconds``. On an error: the error object of
``inspector.errors``.
"""

from __future__ import annotations

from inspector.interrupts import exit_on_signals

exit_on_signals("freeze")  # before the imports below: Ctrl-C during them is one line and exit 130

# ruff: noqa: E402  (the imports follow exit_on_signals on purpose)
import argparse
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from freezer.api import FreezeResult, freeze
from inspector.cli_common import add_common_arguments, emit_json, run_main, verbosity
from inspector.errors import UsageError
from inspector.targets import TARGETS, render_target, target_findings

LOG = logging.getLogger("ckpt2pb.freeze")


EPILOG = """\
examples:
  freeze runs/mnist/ --auto-outputs -o mnist.pb        newest checkpoint, outputs found by ranking
  freeze runs/mnist/model.ckpt-300 --outputs probabilities -o mnist.pb --verify
                                                      named output; compare with the checkpoint in TF
  freeze saved_model_dir/ --auto-outputs -o model.pb   a SavedModel folder (its variables/)
  freeze frozen.pb --output-node 'head,tail' --output-node=-o
                                                      exact node names (a comma, a leading '-')
  freeze runs/mnist/model.ckpt-300 --graph model.pbtxt --auto-outputs
                                                      a checkpoint saved without its .meta
  inspect runs/mnist/                                 see the output candidates first, with reasons

The output is written under a temporary name and renamed only once it validates: a failed freeze
leaves nothing behind, and an input (checkpoint file, .meta, graph) is never overwritten. A
temporary file left by a killed run (kill -9) is removed by the next run in that folder, with a
warning.

--verify feeds switch inputs their inference values (training flags False, keep_prob 1.0, rate
0), gives every input the same batch size and random values otherwise; --feed NAME=VALUE (a
number, true/false, a string or a JSON list) and --input-shape override that per input.

exit codes: 0 written and validated, 2 unreadable input or bad usage, 3 the result failed
validation (nothing written), 4 --verify found different outputs, 5 --verify needs TensorFlow,
6 --verify could not compare (TensorFlow cannot run the graphs on the generated inputs: the
message names the node and the inputs to give with --feed or --input-shape), 70 internal error
(a bug: please report it).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="freeze", description="Freeze a TensorFlow checkpoint into a .pb GraphDef (no TensorFlow "
        "needed): variables become constants streamed from the checkpoint, training-only nodes go.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", metavar="PATH", help="checkpoint folder, prefix (model.ckpt-300), .meta, "
                        ".index, .data-* or `checkpoint` file, or a SavedModel folder")
    which = parser.add_mutually_exclusive_group()  # one of them, or --output-node (checked in handle)
    which.add_argument("--outputs", action="append", metavar="A,B",
                       help="output node names (name, name:0, ^name); comma-separated, repeatable")
    which.add_argument("--auto-outputs", action="store_true",
                       help="use the top-ranked output candidate (or its whole group); see `inspect`")
    parser.add_argument("--output-node", action="append", metavar="NAME", dest="output_node",
                        help="one output node, exactly as named (commas and spaces included; a name "
                             "starting with '-' as --output-node=-name); repeatable, combines with --outputs")
    parser.add_argument("-o", "--output", metavar="OUT.pb",
                        help="where to write (default: ./<checkpoint name>_frozen.pb)")
    parser.add_argument("--graph", metavar="FILE",
                        help="the graph (.meta, .pb or .pbtxt) of a checkpoint saved without its .meta")
    parser.add_argument("--as-text", action="store_true", help="write text format (.pbtxt)")
    parser.add_argument("--use-moving-averages", action="store_true",
                        help="fold ExponentialMovingAverage shadow values instead of the raw weights "
                             "where the checkpoint has them")
    parser.add_argument("--keep-devices", action="store_true",
                        help="keep the device placements (cleared by default)")
    parser.add_argument("--verify", action="store_true",
                        help="run the restored checkpoint and the frozen graph in TensorFlow and compare")
    parser.add_argument("--input-shape", action="append", metavar="NAME=D0,D1,...", default=[],
                        help="shape for an input with unknown dims: what --verify feeds, and with "
                             "--for-inference the input's shape in the written graph; repeatable")
    parser.add_argument("--feed", action="append", metavar="NAME=VALUE", default=[],
                        help="value for an input, for --verify: a number, true/false, a string or a JSON "
                             "list (a scalar fills the input's shape); repeatable")
    parser.add_argument("--for-inference", action="store_true",
                        help="rewrite the frozen graph for deployment: fold training switches and "
                             "batch norms, prune dead tf.cond branches, inline TF2 function calls, fold "
                             "weight-only subgraphs, fix inputs, drop identities and inert dropout "
                             "(each rewrite reported; re-checked in TensorFlow with --verify)")
    parser.add_argument("--target", choices=TARGETS,
                        help="also report what this runtime cannot load in the written graph, each "
                             "with its fix or 'no graph fix: runtime limit'")
    add_common_arguments(parser)
    return parser


def parse_input_shapes(specs: Sequence[str]) -> dict[str, list[int]]:
    """``["images=1,28,28,1"]`` -> ``{"images": [1, 28, 28, 1]}``; ``name=`` means a scalar. Split at
    the last '=' (sizes never hold one), so a node named ``a=b`` is ``--input-shape a=b=1,2``."""
    shapes: dict[str, list[int]] = {}
    for spec in specs:
        name, sep, dims = spec.rpartition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            shapes[name.strip()] = [int(d) for d in dims.split(",") if d.strip()]
        except ValueError:
            raise UsageError(f"--input-shape {spec!r} is not a name, '=' and comma-separated sizes",
                             fix="for example --input-shape images=1,224,224,3") from None
    return shapes


def parse_feeds(specs: Sequence[str]) -> dict[str, object]:
    """``["keep_prob=1.0", "is_training=false", "ids=[[1,2]]", "text=hello"]`` -> values by input name.

    JSON where the value is JSON (numbers, true/false, lists), the text itself otherwise.
    """
    feeds: dict[str, object] = {}
    for spec in specs:
        name, sep, value = spec.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--feed {spec!r} is not a name, '=' and a value",
                             fix="for example --feed keep_prob=1.0 or --feed is_training=false")
        try:
            feeds[name.strip()] = json.loads(value)
        except ValueError:
            feeds[name.strip()] = value
    return feeds


def split_outputs(values: Sequence[str] | None) -> list[str]:
    return [name.strip() for value in values or () for name in value.split(",") if name.strip()]


def requested_outputs(args: argparse.Namespace) -> list[str]:
    """The output names of ``--outputs`` (split on commas, stripped) then ``--output-node`` (exact)."""
    named = args.outputs is not None or args.output_node is not None
    if args.auto_outputs and named:
        raise UsageError("argument --auto-outputs: not allowed with argument --output-node",
                         fix="run `freeze --help` for the options")
    if not args.auto_outputs and not named:
        raise UsageError("one of the arguments --outputs --output-node --auto-outputs is required",
                         fix="run `freeze --help` for the options")
    outputs = split_outputs(args.outputs) + [name for name in args.output_node or () if name]
    if named and not outputs:
        given = ",".join(args.outputs or ()) or ",".join(args.output_node or ())
        raise UsageError(f"--outputs {given!r} names no node",
                         fix="give node names such as --outputs probabilities, or use --auto-outputs")
    return outputs


def handle(args: argparse.Namespace) -> int:
    outputs = requested_outputs(args)
    if args.input_shape and not (args.verify or args.for_inference):
        LOG.warning("--input-shape only shapes the inputs --verify feeds or --for-inference writes; "
                    "without either it is ignored")
    if args.feed and not args.verify:
        LOG.warning("--feed only gives values to the inputs --verify feeds; without --verify it is ignored")
    if not args.as_text and args.output and args.output.endswith((".pbtxt", ".txt")):
        LOG.warning("%s will hold a binary GraphDef (add --as-text for text format)", Path(args.output).name)
    if args.as_text and args.output and not args.output.endswith((".pbtxt", ".txt")):
        LOG.warning("--as-text writes text format under %s; TensorFlow's loaders expect binary in a "
                    "file named like that: prefer a .pbtxt name", Path(args.output).name)
    result = freeze(args.path, outputs=outputs, auto_outputs=args.auto_outputs,
                    graph=args.graph,
                    output_path=args.output, as_text=args.as_text,
                    use_moving_averages=args.use_moving_averages, clear_devices=not args.keep_devices,
                    verify=args.verify, input_shapes=parse_input_shapes(args.input_shape),
                    for_inference=args.for_inference, feeds=parse_feeds(args.feed))
    target_findings = _target_findings(result.output_path, args.target) if args.target else []
    if args.json:
        emit_json({**result.to_json(), **({"target": {"runtime": args.target, "findings": [
            f.to_json() for f in target_findings]}} if args.target else {})})
    elif verbosity(args) > -2:  # -qq: errors only
        print(render(result, verbosity(args)))
        if args.target:
            print(render_target(args.target, target_findings))
    return 0


def _target_findings(path: Path, target: str) -> list:
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file

    loaded = load_graph_file(path)
    return target_findings(GraphModel.from_loaded(loaded), target)


def render(result: FreezeResult, level: int = 0) -> str:
    """The human-readable report."""
    v = result.validation
    lines = [f"froze {result.checkpoint} -> {result.output_path} ({v.file_size:,} bytes)" if result.checkpoint
             else f"pruned the frozen graph {result.graph} to its outputs -> {result.output_path} "
                  f"({v.file_size:,} bytes)"]
    if level < 0:
        return lines[0]
    chosen = " (chosen by --auto-outputs)" if result.outputs_chosen_by == "ranking" else ""
    lines.append("outputs" + chosen + ":")
    for out in v.outputs:
        shape = "?" if out["shape"] is None else out["shape"]
        lines.append(f"  {out['name']}  {out['op']}  {out['dtype'] or '?'} {shape}")
    share = f", {100 * v.folded_bytes / v.file_size:.0f}% of the file" if v.file_size else ""
    folded = f"; variables folded: {len(v.folded)} ({v.folded_bytes:,} bytes{share})" \
        if result.checkpoint else ""
    lines.append(f"nodes: {v.nodes_before} -> {v.nodes_after}{folded}")
    if result.rewrites:
        counts = Counter(f"{r['from']} -> {r['to']}" if r["from"] != r["to"] else
                         f"{r['from']} retyped or retargeted" for r in result.rewrites)
        lines.append("rewritten: " + ", ".join(f"{k} x{n}" for k, n in counts.items()))
    if result.dropped_control:
        lines.append(f"dropped {len(result.dropped_control)} control dependencies on state updates")
    if result.table_initializers:
        lines.append("lookup-table initializers kept (run them before use): "
                     + ", ".join(result.table_initializers))
    if v.left_out:
        reasons = Counter(item["reason"].split(" (")[0].split(" of ")[0] for item in v.left_out)
        lines.append(f"checkpoint entries not folded: {len(v.left_out)} ("
                     + ", ".join(f"{k} x{n}" for k, n in reasons.most_common()) + ")")
    if level >= 1:
        lines += [f"  folded {f['node']} <- {f['key']} {f['dtype']} {f['shape']}" for f in v.folded]
        lines += [f"  left out {i['key']}: {i['reason']}" for i in v.left_out]
        lines += [f"  {r['node']}: {r['from']} -> {r['to']} ({r['why']})" for r in result.rewrites]
    if v.warnings:  # each one is already on stderr (logged by freeze), so say how many, not twice
        lines.append(f"warnings: {len(v.warnings)} (see the WARNING lines on stderr)")
    passed = sum(c.ok for c in v.checks)
    lines.append(f"checks: {passed}/{len(v.checks)} passed"
                 + ("" if level < 1 else ": " + ", ".join(c.name for c in v.checks)))
    for step in result.inference:
        lines.append(f"for inference: {step['rewrite']}: {len(step['changes'])} change(s), nodes "
                     f"{step['nodes_before']} -> {step['nodes_after']}"
                     + (f", verified (max abs diff {step['verified_max_abs_diff']:.3g})"
                        if "verified_max_abs_diff" in step else ""))
        if level >= 1:
            lines += [f"  {change}" for change in step["changes"]]
    for before, after in result.renamed_outputs.items():
        lines.append(f"output {before} is now {after}")
    if result.verification is not None:
        ver = result.verification
        lines.append(f"verified in TensorFlow: {len(ver['outputs'])} output(s) agree (max abs diff "
                     f"{ver['max_abs_diff']:.3g}); {ver['weights_compared']} weights bit-identical")
        if ver.get("switches"):
            lines.append("  switch inputs fed their inference value: "
                         + ", ".join(f"{k}={v}" for k, v in ver["switches"].items()))
        if ver.get("state_writes_cut_in_original"):
            lines.append(f"  {len(ver['state_writes_cut_in_original'])} state write(s) of the forward pass "
                         "made pure in the original too (it changes them on every run)")
        if ver.get("seeded_random_ops"):
            lines.append(f"  {len(ver['seeded_random_ops'])} random op(s) inside while loops drew the same "
                         "seeded values in both graphs (a draw inside a loop cannot be fed)")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(handle, build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
