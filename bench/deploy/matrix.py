"""The deploy matrix: model x frozen variant x runtime -> loads and matches, or why not.

  python bench/deploy/matrix.py [--models a,b] [--variants freeze,for_inference,...] [--runtimes ...]
                                [--json OUT.json] [--write-docs]

Each model runs in its own child process (a runtime that aborts takes one model down, not the
table); the parent never imports TensorFlow. ``--write-docs`` writes the table into docs/DEPLOY.md
between its ``<!-- matrix -->`` markers. The same cells are what tests/deploy/test_matrix.py
asserts on for the small models.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.deploy.runtimes import RUNTIMES  # noqa: E402

VARIANTS = ("freeze", "for_inference", "tf_freeze", "tf_optimized")
TF_RTOL, TF_ATOL = 1e-5, 1e-6
DOC = ROOT / "docs" / "DEPLOY.md"


def run_model(model, variants=VARIANTS, runtimes_=RUNTIMES, workdir: Path | None = None) -> dict:
    """Cells for one model: {variant: {runtime: "ok" | "<stage>: <reason>"}} plus timings."""
    from bench.deploy import models, runtimes

    work = Path(workdir or tempfile.mkdtemp(prefix="deploy-"))
    row: dict = {"model": model.name, "source": model.source, "cells": {}, "notes": {}}
    started = time.monotonic()
    base = work / f"{model.name}.freeze.pb"
    try:
        frozen = models.freeze_variant(model, "freeze", base)
        ref = models.reference(model, base)
        ref.initializers = list(frozen["result"].table_initializers)
    except runtimes.RuntimeFailure as failure:
        row["problem"] = f"{failure.stage}: {failure.message}"
        return row
    except Exception as error:
        row["problem"] = f"reference: {runtimes._first_line(error)}"
        return row
    if ref.problem:
        row["problem"] = ref.problem
    for variant in variants:
        out = base if variant == "freeze" else work / f"{model.name}.{variant}.pb"
        cells = row["cells"].setdefault(variant, {})
        try:
            made = frozen if variant == "freeze" else models.freeze_variant(model, variant, out, ref)
        except runtimes.RuntimeFailure as failure:
            for runtime in runtimes_:
                cells[runtime] = f"freeze: {failure.message}"
            continue
        renamed = made["renamed"]
        fetches = [renamed.get(t, t) for t in ref.fetches]
        initializers = list(made["result"].table_initializers) if made["result"] is not None else []
        feeds = _feeds_for(out, {renamed.get(k, k): v for k, v in ref.feeds.items()})
        for runtime in runtimes_:
            cells[runtime] = _cell(runtimes, runtime, str(out), feeds, fetches, ref, initializers, variant)
        row["notes"][variant] = predicted(out, [f.rsplit(":", 1)[0] for f in fetches])
    row["seconds"] = round(time.monotonic() - started, 2)
    return row


#: matrix runtime -> the --target that predicts it
TARGET_OF = {"opencv": "opencv", "onnx": "onnx", "tflite": "tflite"}


def predicted(pb_path: Path, outputs: list[str]) -> dict[str, list[str]]:
    """What ``--target`` says beforehand about this graph, per runtime: the finding codes and fixes."""
    from inspector.graph.model import GraphModel
    from inspector.readers.graphfile import load_graph_file
    from inspector.targets import target_findings

    model = GraphModel.from_graph_def(load_graph_file(pb_path).graph_def)
    return {runtime: [f"{f.code}: {f.message} | fix: {f.fix}"
                      for f in target_findings(model, target, outputs)]
            for runtime, target in TARGET_OF.items()}


#: A runtime's own words for the op it could not make a layer of (OpenCV's layer registry).
_UNKNOWN_OP = re.compile(r'Can\'t create layer "[^"]*" of type "([^"]+)"')


def named(cell: str, notes: list[str]) -> bool:
    """--target named this failure beforehand: it found something, and when the runtime says which
    op it could not load, a finding names that op."""
    if not notes:
        return False
    unknown = _UNKNOWN_OP.search(cell)
    if unknown is None:
        return True
    op = re.compile(rf"(?<![\w/]){re.escape(unknown.group(1))}(?![\w/])")  # GatherV2 is no Gather
    return any(op.search(note.partition(" | fix: ")[0]) for note in notes)


def unnamed_failures(rows: list[dict], variant: str) -> list[str]:
    """Failing cells (loads-and-matches false) for which --target predicted nothing."""
    found = []
    for row in rows:
        if row.get("problem"):
            continue
        for runtime, target in TARGET_OF.items():
            cell = row["cells"].get(variant, {}).get(runtime)
            if cell and not ok(cell) and not named(cell, row["notes"].get(variant, {}).get(target, [])):
                found.append(f"{row['model']} / {runtime}: {cell}")
    return found


def _feeds_for(pb_path: Path, feeds: dict) -> dict:
    """The reference feeds this variant still has inputs for (a folded switch is no input any more)."""
    from inspector.proto import pb

    graph = pb.GraphDef.FromString(pb_path.read_bytes())
    ops = {n.name: n.op for n in graph.node}

    def exists(tensor: str) -> bool:
        node, _, port = tensor.rpartition(":")
        return node in ops and (port == "0" or ops[node] != "Placeholder")  # a Placeholder has one output

    return {k: v for k, v in feeds.items() if exists(k)}


def _cell(runtimes, runtime: str, path: str, feeds: dict, fetches: list[str], ref, initializers,
          variant: str = "freeze") -> str:
    fused_before = len(runtimes.FETCHED_FUSED)
    try:
        actual = runtimes.RUNNERS[runtime](path, feeds, fetches, initializers)
    except runtimes.RuntimeFailure as failure:
        return f"{failure.stage}: {failure.message}"
    except Exception as error:
        return f"run: {runtimes._first_line(error)}"
    if ref.problem:
        return "no reference"
    # --for-inference must change no output beyond --verify's tolerance (1e-5) in TensorFlow.
    tolerance = {"rtol": TF_RTOL, "atol": TF_ATOL} if runtime == "tf" and variant == "for_inference" else {}
    problem = runtimes.compare(ref.expected, actual, fetches, **tolerance)
    if problem is None and len(runtimes.FETCHED_FUSED) > fused_before:
        return "ok (outputs fetched from the layer OpenCV fused them into: " + \
            ", ".join(runtimes.FETCHED_FUSED[fused_before:]) + ")"
    return "ok" if problem is None else f"differs: {problem}"


# ---------------------------------------------------------------------------------------------
# The parent: one child per model, a table at the end


def _child(name: str, variants: list[str], runtimes_: list[str]) -> dict:
    from bench.deploy import models

    model = next(m for m in models.all_models() if m.name == name)
    with tempfile.TemporaryDirectory(prefix="deploy-") as work:
        return run_model(model, variants, runtimes_, Path(work))


def _spawn(name: str, variants: list[str], runtimes_: list[str], timeout: float) -> dict:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_USE_LEGACY_KERAS": "1"}
    cmd = [sys.executable, __file__, "--child", name, "--variants", ",".join(variants),
           "--runtimes", ",".join(runtimes_)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"model": name, "problem": f"timed out after {timeout:.0f} s", "cells": {}}
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"model": name, "problem": f"child exited {done.returncode}: {tail[:200]}", "cells": {}}


def ok(cell: str | None, strict: bool = False) -> bool:
    """Loads and matches; ``strict``: with every output fetched by its own name."""
    return cell == "ok" or (not strict and bool(cell) and cell.startswith("ok ("))


def passed(rows: list[dict], variant: str, runtime: str, strict: bool = False) -> tuple[int, int]:
    comparable = [r for r in rows if variant in r.get("cells", {}) and not r.get("problem")]
    return sum(ok(r["cells"][variant].get(runtime), strict) for r in comparable), len(comparable)


def _portable(text: str) -> str:
    """Paths as a reader's clone has them: the corpus beside the repository, not this machine's."""
    corpus = str(Path(__file__).resolve().parents[2].parent / "shared" / "corpus")
    return text.replace(corpus, "../shared/corpus")


def markdown(rows: list[dict], variants, runtimes_) -> str:
    head = "| model | " + " | ".join(f"{v} / {r}" for v in variants for r in runtimes_) + " |"
    lines = [head, "|" + "---|" * (1 + len(variants) * len(runtimes_))]
    for row in rows:
        if row.get("problem"):
            lines.append(f"| {row['model']} | " + f"not compared: {_portable(row['problem'])} |")
            continue
        cells = []
        for v in variants:
            for r in runtimes_:
                value = row["cells"].get(v, {}).get(r, "")
                cells.append("✓" if ok(value, strict=True) else "✓*" if ok(value) else "✗" if value else "")
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    totals = []
    for v in variants:
        for r in runtimes_:
            good, n = passed(rows, v, r)
            strict, _ = passed(rows, v, r, strict=True)
            totals.append(f"{good}/{n}" + (f" ({strict} by name)" if strict != good else ""))
    lines.append("| **loads and matches** | " + " | ".join(totals) + " |")
    return "\n".join(lines)


def failures(rows: list[dict], variants, runtimes_) -> str:
    lines = []
    for row in rows:
        for v in variants:
            for r in runtimes_:
                value = row.get("cells", {}).get(v, {}).get(r)
                if value and not ok(value):
                    lines.append(f"- {row['model']} / {v} / {r}: {value}")
    return "\n".join(lines)


def write_docs(rows: list[dict], variants, runtimes_, seconds: float) -> None:
    """Replace the generated part of docs/DEPLOY.md (between the markers) with this run's results."""
    from bench.deploy import runtimes

    versions = runtimes.versions()
    lines = [BEGIN, "", f"Generated by `make deploy-matrix` (`python bench/deploy/matrix.py --write-docs`) "
             f"in {seconds / 60:.0f} min on a shared 2-core machine. Versions: "
             + ", ".join(f"{k} {v}" for k, v in versions.items()) + ".", "",
             "Each cell: ✓ loads and matches the restored checkpoint (rtol 1e-4; TensorFlow under "
             "--for-inference 1e-5), ✓* the same once outputs OpenCV fused into the layer before them are "
             "fetched from that layer (what `--target opencv` tells users: TARGET_OUTPUT_FUSED), ✗ does not. "
             "Columns: the way the graph was frozen / the runtime.", "",
             markdown(rows, variants, runtimes_), ""]
    first = {r["model"]: r for r in json.loads(FIRST_CONTACT.read_text())} if FIRST_CONTACT.exists() else {}
    if first:
        lines += ["### First contact (before any change) and now", "",
                  "| variant / runtime | first contact (by name) | now (by name) | now (✓ and ✓*) |",
                  "|---|---|---|---|"]
        before = list(first.values())
        for v in variants:
            for r in runtimes_:
                ok0, n0 = passed(before, v, r, strict=True)
                strict1, n1 = passed(rows, v, r, strict=True)
                ok1, _ = passed(rows, v, r)
                then = f"{ok0}/{n0}" if n0 else "(did not exist)"
                lines.append(f"| {v} / {r} | {then} | {strict1}/{n1} | {ok1}/{n1} |")
        lines.append("")
    for variant in ("for_inference", "freeze"):
        if variant not in variants:
            continue
        lines += [f"### Why each `{variant}` cell fails, and what `--target` said beforehand", ""]
        for row in rows:
            if row.get("problem"):
                continue  # listed in the table as not compared, with the reason
            for r in runtimes_:
                cell = row.get("cells", {}).get(variant, {}).get(r)
                if cell and not ok(cell):
                    said = row["notes"].get(variant, {}).get(r, [])
                    listed = "; ".join(dict.fromkeys(_said(s) for s in said))
                    told = listed if named(cell, said) else \
                        "NOT NAMED" + (f" (said: {listed})" if said else "")
                    if r == "tf":
                        told = "TensorFlow itself disagrees with the restored checkpoint (not a --target)"
                    lines.append(f"- {row['model']} / {r}: {cell[:160]} — `--target`: {told}")
        lines.append("")
    lines.append(END)
    text = DOC.read_text() if DOC.exists() else f"# Deploying frozen graphs\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + "\n".join(lines) + tail)


def _said(note: str) -> str:
    """A finding as the docs list it: its code, the op it names, and whether the fix is a rewrite."""
    code, _, rest = note.partition(": ")
    op = re.search(r"cannot load (\S+) \(", rest)
    limit = "runtime limit" if "| fix: no graph fix" in rest else "--for-inference" \
        if "--for-inference" in rest.partition("| fix: ")[2].split("(")[0] else "fix"
    return f"{code}{' ' + op.group(1) if op else ''} ({limit})"


BEGIN, END = "<!-- matrix: generated -->", "<!-- /matrix -->"
FIRST_CONTACT = Path(__file__).resolve().parent / "first_contact.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--models", default="")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--from-json", help="write the table of an earlier run's --json (no model is run)")
    args = parser.parse_args(argv)
    variants, runtimes_ = args.variants.split(","), args.runtimes.split(",")
    if args.child:
        print(json.dumps(_child(args.child, variants, runtimes_)))
        return 0
    if args.from_json:
        rows = json.loads(Path(args.from_json).read_text())
        write_docs(rows, variants, runtimes_, float(args.timeout))
        return 0
    from bench.deploy import models

    names = [m.name for m in models.all_models()]
    if args.models:
        wanted = args.models.split(",")
        names = [n for n in names if n in wanted]
    rows = []
    begun = time.monotonic()
    for name in names:
        started = time.monotonic()
        row = _spawn(name, variants, runtimes_, args.timeout)
        rows.append(row)
        summary = row.get("problem") or " ".join(
            f"{v}:{''.join('✓' if ok(row['cells'].get(v, {}).get(r)) else '✗' for r in runtimes_)}"
            for v in variants)
        print(f"[deploy] {name}: {summary} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1))
    if args.write_docs:
        write_docs(rows, variants, runtimes_, time.monotonic() - begun)
    print(markdown(rows, variants, runtimes_))
    print()
    print(failures(rows, variants, runtimes_))
    for variant in variants:
        if variant in ("freeze", "for_inference"):
            unnamed = unnamed_failures(rows, variant)
            print(f"\n{variant}: {len(unnamed)} failure(s) --target did not name beforehand")
            print("\n".join(f"- {u}" for u in unnamed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
