"""``inspect PATH``: what a checkpoint, graph or SavedModel holds, and which nodes are its outputs.

Never imports TensorFlow; start-up stays fast because the heavy modules load only when needed.
"""

from __future__ import annotations

from inspector.interrupts import exit_on_signals

exit_on_signals("inspect")  # before the imports below: Ctrl-C during them is one line and exit 130

# ruff: noqa: E402  (the imports follow exit_on_signals on purpose)
import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from inspector.cli_common import add_common_arguments, emit_json, run_main, verbosity
from inspector.errors import EXIT_UNREADABLE
from inspector.render import format_bytes, format_shape, heading, table

DEFAULT_TOP = 5  # the same as inspector.report.DEFAULT_TOP (tests check), without importing it at start-up

DESCRIPTION = """\
Show what a TensorFlow checkpoint, GraphDef or SavedModel holds — without TensorFlow — and rank
the nodes most likely to be its outputs (and inputs), with the reasons.

PATH may be a training folder (its newest checkpoint is used), a checkpoint prefix
(model.ckpt-300), any of its files (.meta, .index, .data-00000-of-00001, checkpoint), a frozen or
unfrozen graph (.pb binary or text, .pbtxt), or a SavedModel folder.

For a graph file, inspect also diagnoses it: text saved under a .pb name, truncated or corrupt
files, graphs that are not frozen, frozen graphs holding none of the weights, batch norm or dropout
left in training mode, reduced-precision outputs, ops TensorFlow no longer has, and more.
"""

EPILOG = """\
examples:
  inspect runs/mnist/                        newest checkpoint in a training folder
  inspect runs/mnist/model.ckpt-300 --top 5  five best output candidates
  inspect runs/mnist/model.ckpt-300 -v       also list what was excluded from the ranking, and why
  inspect frozen.pb --checkpoint runs/mnist/model.ckpt-300
                                             is this .pb really the frozen form of that checkpoint?
  inspect model.ckpt-300 --json | jq '.outputs[0].name'
  inspect runs/mnist/ --html mnist.html      see the graph: one page, opens offline in a browser

exit codes: 0 ok/healthy, 1 the graph has an error-severity finding, 2 unreadable input or bad
usage, 70 internal error (a bug: please report it). JSON schema: docs/JSON.md.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspect", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", metavar="PATH",
                        help="checkpoint folder, prefix or file; .pb/.pbtxt; SavedModel folder")
    parser.add_argument("--top", type=int, default=DEFAULT_TOP, metavar="N",
                        help=f"how many output candidates to show (default {DEFAULT_TOP})")
    parser.add_argument("--checkpoint", metavar="PREFIX",
                        help="for a graph file: the checkpoint it was frozen from, to compare against")
    parser.add_argument("--graph", metavar="FILE",
                        help="the graph (.meta, .pb or .pbtxt) of a checkpoint saved without its .meta")
    parser.add_argument("--all-variables", action="store_true",
                        help="list every variable (by default long tables are shortened)")
    parser.add_argument("--html", metavar="FILE",
                        help="also write the graph as one self-contained HTML page (opens offline)")
    parser.add_argument("--dot", metavar="FILE", help="also write the condensed graph as Graphviz DOT")
    parser.add_argument("--target", choices=("opencv", "onnx", "tflite"),
                        help="for a frozen graph: what this runtime cannot load, each finding with its fix "
                             "or 'no graph fix: runtime limit'")
    add_common_arguments(parser)
    return parser


def _handle(args: argparse.Namespace) -> int:
    from inspector.report import exit_code, inspect_path

    if args.top < 1:
        from inspector.errors import UsageError

        raise UsageError(f"--top must be at least 1, not {args.top}")
    level = verbosity(args)
    report = inspect_path(args.path, top=args.top, verbose=level >= 1, checkpoint=args.checkpoint,
                          graph=args.graph, then=_views(args, level))
    if args.checkpoint and report.get("diagnosis") is None:
        report["notes"].append("--checkpoint compares a graph file (.pb, .pbtxt) with its checkpoint; "
                               f"{args.path} is a {report['kind']}, so it was not used")
    target = _target(args, report) if args.target else None
    if target is not None:
        report["target"] = target
    if args.json:
        emit_json(report)
    else:
        sys.stdout.write(render(report, level, all_variables=args.all_variables))
        if target is not None:
            sys.stdout.write(target["text"] + "\n")
    code = exit_code(report)
    if code == EXIT_UNREADABLE:  # the report says why on stdout; stderr gets the one-line error too
        from inspector.diagnosis.findings import UNREADABLE_CODES

        finding = next(f for f in report["diagnosis"]["findings"] if f["code"] in UNREADABLE_CODES)
        fix = f" {finding['fix']}" if finding.get("fix") else ""
        print(f"inspect: error: {report['path']}: {finding['code']}: {finding['message']}{fix}",
              file=sys.stderr)
    return code


def _views(args: argparse.Namespace, level: int):
    """For --html/--dot: write the views from the inspection (imported only when asked)."""
    if not args.html and not args.dot:
        return None
    if args.html and args.dot and Path(args.html).resolve() == Path(args.dot).resolve():
        from inspector.errors import UsageError

        raise UsageError("--html and --dot name the same file", path=args.html, fix="give each its own file")

    def write(report: dict, inspection) -> None:
        from inspector.view import dot_for, html_for, input_files, write_view

        for target, make in ((args.html, html_for), (args.dot, dot_for)):
            if target:
                size = write_view(target, make(report, inspection), input_files(report))
                if level >= 0:
                    print(f"inspect: wrote {target} ({format_bytes(size)})", file=sys.stderr)

    return write


def _target(args: argparse.Namespace, report: dict) -> dict:
    """``--target``: the runtime's findings on a graph file (a checkpoint must be frozen first)."""
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file
    from inspector.targets import render_target, target_findings

    if report["kind"] != "graph":
        from inspector.cli_common import path_argument, shell_line

        command = shell_line(["freeze", path_argument(args.path), "--auto-outputs", "--for-inference",
                              "--target", args.target])
        note = (f"--target checks a frozen graph; {args.path} is a {report['kind']}: freeze it "
                f"with `{command}`")
        return {"runtime": args.target, "findings": [], "text": note}
    loaded = load_graph_file(args.path)
    findings = target_findings(GraphModel.from_loaded(loaded), args.target)
    return {"runtime": args.target, "findings": [f.to_json() for f in findings],
            "text": render_target(args.target, findings)}


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(_handle, build_parser(), argv)


# -- text rendering --------------------------------------------------------------------------

_MAX_ROWS = 40


def render(report: dict, level: int = 0, *, all_variables: bool = False) -> str:
    if level <= -2:  # -qq: only errors (the exit code says the rest), one line each
        from inspector.diagnosis.findings import UNREADABLE_CODES

        findings = (report.get("diagnosis") or {}).get("findings", [])
        return "".join(f"{report['path']}: {f['code']}: {f['message']}\n" for f in findings
                       if f["severity"] == "error" and f["code"] not in UNREADABLE_CODES)  # those: stderr
    parts = [_render_files(report)]
    if report.get("saved_model"):
        parts.append(_render_saved_model(report["saved_model"]))
    if report.get("diagnosis") is not None:
        parts.append(_render_diagnosis(report["diagnosis"]))
    if level >= 0:
        if report["graph"] is not None:
            parts.append(_render_graph(report))
        if report["variables"]:
            parts.append(_render_variables(report, all_variables or level >= 1))
    if report["graph"] is not None:
        parts.append(_render_outputs(report, level))
        if level >= 0:
            parts.append(_render_inputs(report))
    if level >= 1 and report.get("roles"):
        parts.append(_render_roles(report["roles"]))
    if level >= 1 and report["excluded"]:
        parts.append(_render_excluded(report))
    notes = report["warnings"] + report["notes"]
    if notes:
        parts.append(heading("Notes") + "\n".join(f"  ! {n}" for n in notes))
    return "\n".join(p for p in parts if p) + "\n"


def _render_files(report: dict) -> str:
    files = report["files"]
    described = report["kind"]
    if report.get("format"):
        described += f", {report['format']} checkpoint"
    if report["tensorflow_version"]:
        described += f", written by TensorFlow {report['tensorflow_version']}"
    lines = [f"{report['path']}  ({described})"]
    shown = set()
    for label, key in (("state file", "state_file"), ("graph", "meta"), ("graph", "graph"),
                       ("index", "index")):
        if files.get(key) and (label, files[key]) not in shown:  # a .meta given alone is both
            shown.add((label, files[key]))
            lines.append(f"  {label:<11} {files[key]}")
    for data in files.get("data") or []:
        lines.append(f"  {'data':<11} {data}")
    steps = report["steps"]
    if len(steps) > 1:
        # Steps of one run by number; differently named checkpoints (two models saved in one
        # folder) by name, so that the ones not shown are not hidden from the user.
        numbered = all(s.get("step") is not None for s in steps)
        names = [str(s["step"]) if numbered else Path(s["prefix"]).name for s in steps]
        lines.append(f"  {'steps' if numbered else 'checkpoints':<11} " + ", ".join(names)
                     + f"  (showing {files.get('prefix')})")
    return "\n".join(lines)


def _render_saved_model(saved_model: dict) -> str:
    lines = []
    for meta in saved_model["meta_graphs"]:
        tags = ",".join(meta["tags"]) or "(no tags)"
        lines.append(f"  meta graph tagged {tags}" + ("  (analysed below)" if meta["analysed"] else ""))
        if not meta["signatures"]:
            lines.append("    no signature")
        for signature in meta["signatures"]:
            inputs = ", ".join(f"{k}={v}" for k, v in signature["inputs"].items())
            outputs = ", ".join(f"{k}={v}" for k, v in signature["outputs"].items())
            method = signature["method"].rsplit("/", 1)[-1] or "?"
            lines.append(f"    signature {signature['name']} ({method}): {inputs} -> {outputs}")
    return heading("SavedModel") + "\n".join(lines)


def _render_graph(report: dict) -> str:
    graph = report["graph"]
    top_ops = ", ".join(f"{op} {n}" for op, n in list(graph["ops"].items())[:8])
    lines = [heading("Graph").strip("\n"),
             f"  {graph['nodes']} nodes, {len(graph['ops'])} op types, {graph['functions']} functions",
             f"  most used: {top_ops}"]
    if report["placeholders"]:
        lines.append("  placeholders: " + ", ".join(
            f"{p['name']} {p['dtype'] or '?'}{format_shape(p['shape'])}" for p in report["placeholders"]))
    return "\n" + "\n".join(lines)


def _render_variables(report: dict, everything: bool) -> str:
    rows = report["variables"]
    shown = rows if everything or len(rows) <= _MAX_ROWS else rows[:_MAX_ROWS]
    body = table(["variable", "dtype", "shape", "bytes", "kind"],
                 [[v["name"], v["dtype"], format_shape(v["shape"]), format_bytes(v["bytes"]), v["kind"]]
                  for v in shown], right=(3,))
    text = heading(f"Variables ({len(rows)})") + _indent(body)
    if len(shown) < len(rows):
        text += f"\n  … {len(rows) - len(shown)} more (use --all-variables or -v)"
    totals = report.get("totals")
    if totals:
        text += (f"\n  model weights {format_bytes(totals['model_bytes'])}, optimizer "
                 f"{format_bytes(totals['optimizer_bytes'])}, bookkeeping "
                 f"{format_bytes(totals['bookkeeping_bytes'])}; total {format_bytes(totals['total_bytes'])}")
    mapping = report.get("mapping") or {}
    never_saved = set(mapping.get("never_saved") or ())
    other_missing = [n for n in mapping.get("graph_only") or () if n not in never_saved]
    for names, label in ((mapping.get("never_saved"), "in the graph, never saved by its Saver (built with a "
                          "var_list that leaves them out), model weights first"),
                         (other_missing, "in the graph but not in the checkpoint, model weights first"),
                         (mapping.get("checkpoint_only"), "in the checkpoint but read by no graph variable")):
        if names:
            text += f"\n  ! {len(names)} {label}: " + ", ".join(names[:5]) + (" …" if len(names) > 5 else "")
    return text


def _render_outputs(report: dict, level: int) -> str:
    outputs = report["outputs"]
    if not outputs:
        return heading("Likely outputs") + "  none found"
    lines = []
    for rank, c in enumerate(outputs, 1):
        group = f"  [group {c['group']}]" if c.get("group") else ""
        lines.append(f"  {rank}. {c['name']}  score {c['score']:.2f}  {c['op']} "
                     f"{c.get('dtype') or '?'}{format_shape(c.get('shape'))}{group}")
        reasons = c["reasons"] if level >= 0 else c["reasons"][:1]
        if level >= 1 and len(c.get("rules") or []) == len(c["reasons"]):
            lines.extend(f"       {rule['weight']:+.2f} {why}  [{rule['rule']}]"
                         for rule, why in zip(c["rules"], c["reasons"], strict=True))
            context = c.get("context") or {}
            read_by = ", ".join(f"{role} {n}" for role, n in (context.get("read_by") or {}).items())
            inputs = ", ".join(f"'{name}'" for name in context.get("inputs") or [])
            lines.append(f"       role {context.get('role', '?')}; read by {read_by or 'nothing'}; "
                         f"computed from {inputs or 'no feature input'}")
        else:
            lines.extend(f"       - {r}" for r in reasons)
    suggestion = report.get("freeze") or {}
    if suggestion.get("command"):
        lines.append(f"\n  freeze with: {suggestion['command']}")  # quoted: pasted into a shell as printed
    elif suggestion.get("reason"):
        lines.append(f"\n  to freeze: {suggestion['reason']}")
    return heading("Likely outputs (best first)") + "\n".join(lines)


def _render_inputs(report: dict) -> str:
    if not report["inputs"]:
        return ""
    rows = [[c["name"], c.get("role") or c.get("group") or "", c["op"], c.get("dtype") or "?",
             format_shape(c.get("shape")),
             f"{c['score']:.2f}"] for c in report["inputs"]]
    return heading("Inputs") + _indent(table(["input", "role", "op", "dtype", "shape", "score"], rows))


def _render_roles(roles: dict) -> str:
    counts = ", ".join(f"{role} {n}" for role, n in roles["counts"].items())
    lines = [f"  nodes by role: {counts}"]
    if not roles["training"]:
        lines.append("  no optimizer updates: no loss, gradient or optimizer roles")
    for opt in roles["optimizers"]:
        lines.append(f"  optimizer {opt['name']}: {opt['updates']} update(s) of {opt['trains']} "
                     f"variable(s), minimizing {opt['loss'] or '(loss not found)'}")
    for p in roles["predictions"]:
        against = f"with '{p['target']}'" if p["target"] else "against constants only"
        lines.append(f"  the loss '{p['loss']}' compares '{p['node']}' {against}")
    for sw in roles["switches"]:
        value = "not needed for inference" if sw["inference_value"] is None else \
            f"feed {sw['inference_value']} for inference"
        lines.append(f"  switch {sw['name']}: {sw['kind'].replace('_', ' ')}, {value}")
    return heading("Roles (what every node is for)") + "\n".join(lines)


def _render_excluded(report: dict) -> str:
    lines = []
    for exclusion in report["excluded"]:
        examples = ", ".join(exclusion["examples"][:4])
        more = " …" if exclusion["count"] > len(exclusion["examples"][:4]) else ""
        lines.append(f"  {exclusion['count']:>5}  {exclusion['reason']}  (e.g. {examples}{more})")
    total = sum(e["count"] for e in report["excluded"])
    return heading(f"Excluded from the ranking ({total} nodes)") + "\n".join(lines)


def _render_diagnosis(diagnosis: dict) -> str:
    findings = diagnosis["findings"]
    if not findings:
        return heading("Verdict: healthy") + "  no problems found"
    lines = []
    for f in findings:
        lines.append(f"  [{f['severity'].upper()}] {f['code']}: {f['message']}")
        if f.get("fix"):
            lines.append(f"      fix: {f['fix']}")
    errors = sum(f["severity"] == "error" for f in findings)
    verdict = f"Verdict: {errors} error(s), {len(findings) - errors} other finding(s)"
    return heading(verdict) + "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


if __name__ == "__main__":
    raise SystemExit(main())
