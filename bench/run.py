"""`make bench`: ckpt2pb against TensorFlow on a large training checkpoint, measured the same way.

Sections (each can be run alone with --only):
  inspect  `inspect --json PREFIX` vs tf.train.list_variables + import_meta_graph; plus `python -X importtime`
           proof that inspect never imports TensorFlow.
  freeze   `freeze PREFIX --outputs encoder/output -o OUT.pb` vs freeze_graph.freeze_graph and vs
           convert_variables_to_constants; every Const's tensor bytes compared with TensorFlow's result.
  ranking  bench/bench_ranking.py's figure, when that script exists.

Every command runs as a child process under bench/measure.py (median wall time and peak RSS over N runs
after one warm-up run). This script itself never imports TensorFlow. Results accumulate in
bench/work/results.json (so sections can be re-run one at a time) and are written to BENCHMARKS.md
together with the machine and the commands to reproduce.

Usage: python bench/run.py [--only inspect,freeze,ranking] [-n 5] [--n-tf 3] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_large_checkpoint import DEFAULT_OUT, OUTPUT_NODE, STAMP_NAME
from measure import Measurement, measure

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
RESULTS = WORK / "results.json"
REPORT = ROOT / "BENCHMARKS.md"
PY = sys.executable
BIN = Path(PY).parent
# Every child runs as on a user's machine: Python caches compiled modules (a PYTHONDONTWRITEBYTECODE
# inherited from a sandbox would make our modules recompile at every run; TensorFlow's, installed by
# pip, are precompiled either way). The unmeasured warm-up run writes the caches.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TF_ENV = {**BASE_ENV, "TF_CPP_MIN_LOG_LEVEL": "2"}

INSPECT_TARGET = {"speed": 10.0, "memory": 5.0}  # ≥10× faster, ≥5× less peak RSS
FREEZE_TARGET = {"speed": 5.0, "rss_fraction": 0.25}  # ≥5× faster, peak RSS < 25% of TensorFlow's


# ---------------------------------------------------------------- helpers


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _cli(name: str, module: str) -> list[str]:
    """Our console script next to this interpreter, else `python -c` on the module's main()."""
    script = BIN / name
    if script.is_file():
        return [str(script)]
    return [PY, "-c", f"import sys; from {module} import main; sys.exit(main())"]


def ensure_checkpoint() -> dict:
    """Build the large checkpoint in a child process (TensorFlow stays out of this one); return its stamp."""
    proc = subprocess.run(
        [PY, str(BENCH / "make_large_checkpoint.py")], env=TF_ENV, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"bench: building the large checkpoint failed:\n{proc.stderr[-3000:]}")
    return json.loads((DEFAULT_OUT / STAMP_NAME).read_text())


def machine() -> dict:
    """CPU, cores, RAM, Python, TensorFlow version (package metadata: no import), date."""
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal"))
    tf_version = "absent"
    for dist in ("tensorflow", "tensorflow-cpu"):
        try:
            tf_version = importlib.metadata.version(dist)
            break
        except importlib.metadata.PackageNotFoundError:
            continue
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "tensorflow": tf_version,
        "protobuf": importlib.metadata.version("protobuf"),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() or "unknown",
    }


def _unlink(path: Path):
    """A `before` hook for measure(): every run writes a fresh output file."""
    return lambda: path.unlink(missing_ok=True)


def _fig(m: Measurement, **extra) -> dict:
    out = m.summary()
    out.update(extra)
    if not m.ok:
        out["stderr_tail"] = m.last_stderr[-2000:]
    return out


def _short(cmd: list[str]) -> str:
    """A command as a reader would type it: repo-relative paths, `python` for our interpreter."""
    parts = []
    for c in cmd:
        if c == PY:
            c = "python"
        elif c.startswith(str(BIN) + "/"):
            c = c[len(str(BIN)) + 1 :]
        parts.append(c.replace(str(ROOT) + "/", ""))
    return " ".join(parts)


# ---------------------------------------------------------------- sections


def count_tf_imports(cmd_args: list[str]) -> dict:
    """Run `python -X importtime ...` and count imported modules from tensorflow, keras, tensorboard."""
    proc = subprocess.run([PY, "-X", "importtime", *cmd_args], capture_output=True, text=True, cwd=ROOT)
    modules = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    ]
    modules = [m for m in modules if m and m != "package"]
    tops = {m.split(".")[0] for m in modules}
    heavy = sorted(
        t for t in tops if t in {"tensorflow", "tf_keras", "keras", "tensorboard", "tensorflow_core"}
    )
    return {
        "cmd": "python -X importtime " + " ".join(shlex.quote(_short([a])) for a in cmd_args),
        "returncode": proc.returncode,
        "modules": len(modules),
        "tensorflow_modules": sum(m.split(".")[0] == "tensorflow" for m in modules),
        "heavy_packages": heavy,
    }


def compare_listings(ours_stdout: str, tf_stdout: str) -> dict:
    """Do `inspect --json` and tf.train.list_variables list the same variables with the same shapes?"""
    try:
        ours = {v["name"]: list(v["shape"]) for v in json.loads(ours_stdout)["variables"]}
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        return {"ok": False, "error": f"inspect --json output not understood: {exc!r}"}
    if not tf_stdout:
        return {"ok": None, "variables_ours": len(ours)}
    theirs = {v["name"]: v["shape"] for v in json.loads(tf_stdout)["variables"]}
    differ = sorted(k for k in ours.keys() & theirs.keys() if ours[k] != theirs[k])
    return {
        "ok": ours == theirs,
        "variables_ours": len(ours),
        "variables_tf": len(theirs),
        "only_ours": sorted(ours.keys() - theirs.keys())[:10],
        "only_tf": sorted(theirs.keys() - ours.keys())[:10],
        "shape_differs": differ[:10],
    }


# What `inspect` pays before reading anything: each row a child process importing one layer.
IMPORT_LAYERS = (
    ("interpreter start-up", "pass"),
    ("protobuf + our message classes", "from inspector.proto import pb"),
    ("numpy + ml_dtypes", "import numpy, ml_dtypes"),
    ("networkx", "import networkx"),
    ("everything inspect imports", "import inspector.cli, inspector.report, inspector.ranking"),
)


def import_breakdown(n: int) -> list[dict]:
    """Whole-process cost of each import layer, so the floor under `inspect` is visible."""
    rows = []
    for label, code in IMPORT_LAYERS:
        cmd = [PY, "-c", code]
        rows.append(_fig(measure(cmd, n=n, env=BASE_ENV), cmd_text=f'python -c "{code}"', label=label))
    return rows


def bench_inspect(ckpt: dict, n: int, n_tf: int) -> dict:
    prefix = ckpt["prefix"]
    ours_cmd = [*_cli("inspect", "inspector.cli"), "--json", prefix]
    tf_cmd = [PY, str(BENCH / "tf_baselines.py"), "inspect", prefix]
    _log("inspect: TensorFlow (list_variables + import_meta_graph)")
    tf = measure(tf_cmd, n=n_tf, env=TF_ENV)
    _log("inspect: ours")
    ours = measure(ours_cmd, n=n, env=BASE_ENV)
    result = {"tf": _fig(tf, cmd_text=_short(tf_cmd)), "ours": _fig(ours, cmd_text=_short(ours_cmd))}
    if ours.ok:
        result["listing"] = compare_listings(ours.last_stdout, tf.last_stdout if tf.ok else "")
        _log("inspect: import floor and importtime")
        result["breakdown"] = import_breakdown(n)
        result["importtime_import"] = count_tf_imports(["-c", "import inspector.cli"])
        run_code = (
            f"import sys; sys.argv = ['inspect', '--json', {prefix!r}]; from inspector.cli import main; "
            "sys.exit(main())"
        )
        result["importtime_run"] = count_tf_imports(["-c", run_code])
        result["importtime_run"]["cmd"] = (
            'python -X importtime -c "...inspector.cli.main() on the checkpoint"'
        )
        result["speedup"] = round(tf.median_wall_s / ours.median_wall_s, 1)
        result["memory_ratio"] = round(tf.median_maxrss_mib / ours.median_maxrss_mib, 1)
        result["meets_target"] = (
            result["speedup"] >= INSPECT_TARGET["speed"]
            and result["memory_ratio"] >= INSPECT_TARGET["memory"]
            and result["importtime_run"]["tensorflow_modules"] == 0
        )
    return result


def bench_freeze(ckpt: dict, n: int, n_tf: int) -> dict:
    prefix = ckpt["prefix"]
    outs = {k: WORK / f"{k}.pb" for k in ("ours", "ours_auto", "tf_freeze_graph", "tf_convert")}
    cmds = {
        "ours": [*_cli("freeze", "freezer.cli"), prefix, "--outputs", OUTPUT_NODE, "-o", str(outs["ours"])],
        # informational: the same run with the outputs picked by the ranking (adds graph model + ranking)
        "ours_auto": [*_cli("freeze", "freezer.cli"), prefix, "--auto-outputs", "-o", str(outs["ours_auto"])],
        "tf_freeze_graph": [
            PY,
            str(BENCH / "tf_baselines.py"),
            "freeze-graph",
            prefix,
            OUTPUT_NODE,
            str(outs["tf_freeze_graph"]),
        ],
        "tf_convert": [
            PY,
            str(BENCH / "tf_baselines.py"),
            "convert",
            prefix,
            OUTPUT_NODE,
            str(outs["tf_convert"]),
        ],
    }
    result: dict = {}
    for key, cmd in cmds.items():
        _log(f"freeze: {key}")
        is_tf = key.startswith("tf_")
        m = measure(cmd, n=n_tf if is_tf else n, env=TF_ENV if is_tf else BASE_ENV, before=_unlink(outs[key]))
        size = outs[key].stat().st_size if outs[key].is_file() else None
        result[key] = _fig(m, cmd_text=_short(cmd), output_bytes=size)
    if not result["ours"]["ok"]:
        return result
    for theirs in ("tf_convert", "tf_freeze_graph"):
        if result[theirs]["ok"]:
            _log(f"freeze: comparing every Const with {theirs}")
            proc = subprocess.run(
                [PY, str(BENCH / "tf_baselines.py"), "compare", str(outs["ours"]), str(outs[theirs])],
                env=TF_ENV,
                capture_output=True,
                text=True,
            )
            result[f"compare_{theirs}"] = (
                json.loads(proc.stdout)
                if proc.returncode == 0
                else {"identical": False, "error": proc.stderr[-2000:]}
            )
    tf_ok = [result[k] for k in ("tf_freeze_graph", "tf_convert") if result[k]["ok"]]
    if tf_ok:
        fastest = min(r["median_wall_s"] for r in tf_ok)
        leanest = min(r["median_maxrss_mib"] for r in tf_ok)
        result["speedup_vs_fastest_tf"] = round(fastest / result["ours"]["median_wall_s"], 1)
        result["rss_fraction_of_leanest_tf"] = round(result["ours"]["median_maxrss_mib"] / leanest, 3)
        identical = all(
            result.get(f"compare_{k}", {}).get("identical")
            for k in ("tf_convert", "tf_freeze_graph")
            if result[k]["ok"]
        )
        result["weights_identical"] = identical
        result["meets_target"] = (
            result["speedup_vs_fastest_tf"] >= FREEZE_TARGET["speed"]
            and result["rss_fraction_of_leanest_tf"] < FREEZE_TARGET["rss_fraction"]
            and identical
        )
    for path in outs.values():  # keep bench/work down to the checkpoint (and results.json)
        path.unlink(missing_ok=True)
    return result


def bench_ranking() -> dict | None:
    """Run bench/bench_ranking.py (owned by the ranking engineer) and keep what it prints.

    Its last stdout line is taken as JSON when it parses (a dict of figures), else the whole stdout is kept
    as text for the report.
    """
    script = BENCH / "bench_ranking.py"
    if not script.is_file():
        return None
    _log("ranking: bench/bench_ranking.py")
    proc = subprocess.run([PY, str(script)], cwd=ROOT, capture_output=True, text=True, env=TF_ENV)
    lines = proc.stdout.strip().splitlines()
    figures = None
    if lines:
        try:
            figures = json.loads(lines[-1])
        except json.JSONDecodeError:
            figures = None
    return {
        "cmd_text": "python bench/bench_ranking.py",
        "returncode": proc.returncode,
        "figures": figures,
        "stdout": proc.stdout.strip()[-6000:],
        "stderr_tail": proc.stderr[-1500:] if proc.returncode else "",
    }


# ---------------------------------------------------------------- report


def _row(label: str, fig: dict | None) -> str:
    if not fig:
        return f"| {label} | — | — | — | not run |"
    if not fig.get("ok"):
        return f"| {label} | — | — | — | failed (see bench/work/results.json) |"
    return (
        f"| {label} | {fig['median_wall_s']:.2f} ({fig['min_wall_s']:.2f}–{fig['max_wall_s']:.2f}) "
        f"| {fig.get('median_cpu_s', float('nan')):.2f} | {fig['median_maxrss_mib']:.0f} | n={fig['n']} |"
    )


def _verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**missed**")


def render_tables(results: dict) -> str:
    """The markdown tables (printed by `make bench` and embedded in BENCHMARKS.md)."""
    out = []
    head = (
        "| command | wall s, median (min–max) | CPU s (user+sys), median | peak RSS MiB, median | runs |\n"
        "|---|---:|---:|---:|---|"
    )
    ins = results.get("inspect")
    if ins:
        out += [
            "### inspect",
            "",
            head,
            _row("TensorFlow: list_variables + import_meta_graph", ins.get("tf")),
            _row("ckpt2pb: `inspect --json`", ins.get("ours")),
            "",
        ]
        if "speedup" in ins:
            out.append(
                f"Speed-up **{ins['speedup']}×** (target ≥ {INSPECT_TARGET['speed']:.0f}×), peak memory "
                f"**{ins['memory_ratio']}× less** (target ≥ {INSPECT_TARGET['memory']:.0f}×): "
                f"target {_verdict(ins.get('meets_target'))}."
            )
            lst = ins.get("listing", {})
            if lst.get("ok") is not None:
                out.append(
                    f"Variable listing identical to tf.train.list_variables (names and shapes): "
                    f"**{'yes' if lst['ok'] else 'NO'}** ({lst.get('variables_ours')} variables)."
                )
            for key in ("importtime_import", "importtime_run"):
                it = ins[key]
                out.append(
                    f"`{it['cmd']}`: {it['modules']} modules imported, "
                    f"**{it['tensorflow_modules']} from tensorflow**"
                    f"{' (also: ' + ', '.join(it['heavy_packages']) + ')' if it['heavy_packages'] else ''}."
                )
        else:
            out.append("ckpt2pb side not measured yet (the `inspect` command was not available or failed).")
        out.append("")
        if ins.get("breakdown"):
            out += ["Where the floor is (each row a child process that only imports):", "", head]
            out += [_row(f"{b['label']}: `{b['cmd_text']}`", b) for b in ins["breakdown"]]
            out.append("")
    frz = results.get("freeze")
    if frz:
        out += [
            "### freeze",
            "",
            head,
            _row("TensorFlow: freeze_graph.freeze_graph", frz.get("tf_freeze_graph")),
            _row("TensorFlow: restore + convert_variables_to_constants + write", frz.get("tf_convert")),
            _row(f"ckpt2pb: `freeze --outputs {OUTPUT_NODE}`", frz.get("ours")),
            _row("(ckpt2pb: `freeze --auto-outputs`, for information)", frz.get("ours_auto")),
            "",
        ]
        sizes = {k: (frz.get(k) or {}).get("output_bytes") for k in ("ours", "tf_convert", "tf_freeze_graph")}
        out.append(
            "Frozen graph size: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items() if v) + "."
        )
        if "speedup_vs_fastest_tf" in frz:
            out.append(
                f"Speed-up vs the faster TensorFlow path **{frz['speedup_vs_fastest_tf']}×** (target ≥ "
                f"{FREEZE_TARGET['speed']:.0f}×); "
                f"peak RSS **{frz['rss_fraction_of_leanest_tf'] * 100:.1f}%** "
                f"of the leaner TensorFlow path (target < {FREEZE_TARGET['rss_fraction'] * 100:.0f}%); "
                f"weights byte-identical: **{'yes' if frz['weights_identical'] else 'NO'}**; "
                f"target {_verdict(frz.get('meets_target'))}."
            )
            for key in ("compare_tf_convert", "compare_tf_freeze_graph"):
                c = frz.get(key)
                if c and "consts_theirs" in c:
                    out.append(
                        f"- vs {key[8:]}: {c['consts_compared']}/{c['consts_theirs']} Consts compared "
                        f"({c['bytes_compared'] / 1e6:.1f} MB of values), {len(c['mismatched'])} differ, "
                        f"{c['raw_tensorproto_identical']} with an identical serialized TensorProto; nodes "
                        f"ours {c['nodes_ours']} / theirs {c['nodes_theirs']}."
                    )
                elif c:
                    out.append(f"- vs {key[8:]}: comparison failed: {c.get('error', '')[:300]}")
        else:
            out.append("ckpt2pb side not measured yet (the `freeze` command was not available or failed).")
        out.append("")
    rank = results.get("ranking")
    if rank:
        out += ["### output ranking (bench/bench_ranking.py)", ""]
        if rank.get("figures") and isinstance(rank["figures"], dict):
            out += ["| figure | value |", "|---|---|"]
            out += [f"| {k} | {v} |" for k, v in rank["figures"].items()]
        else:
            out += ["```", rank.get("stdout", "") or f"(exit {rank.get('returncode')})", "```"]
        out.append("")
    return "\n".join(out)


def _scale() -> str:
    """The scale tables (bench/bench_scale.py writes bench/scale.md), between the markers it replaces."""
    path = BENCH / "scale.md"
    if not path.is_file():
        return ""
    return f"<!-- scale:start -->\n{path.read_text()}<!-- scale:end -->\n\n"


def _analysis() -> str:
    """The hand-written profile notes (bench/analysis.md), kept apart from the generated figures."""
    path = BENCH / "analysis.md"
    return path.read_text().rstrip() + "\n\n" if path.is_file() else ""


def render_report(results: dict) -> str:
    m, ck = results["machine"], results["checkpoint"]
    cfg = ck["config"]
    cmds = []
    sections = (
        ("inspect", ("tf", "ours")),
        ("freeze", ("tf_freeze_graph", "tf_convert", "ours", "ours_auto")),
    )
    for section, keys in sections:
        for k in keys:
            fig = (results.get(section) or {}).get(k)
            if fig:
                cmds.append(f"    python bench/measure.py -n {fig['n']} -- {fig['cmd_text']}")
    pending = [
        name
        for name in ("inspect", "freeze")
        if name in results and not (results[name].get("ours") or {}).get("ok")
    ]
    status = (
        f"**Status: TensorFlow figures only for {' and '.join(pending)}; the ckpt2pb side is pending "
        "(command not available yet or failing).**\n\n"
        if pending
        else ""
    )
    load = [m.get(k, ["?"])[0] for k in ("loadavg_at_start", "loadavg_at_end")]
    return f"""# Benchmarks

{status}Generated by `make bench` (`python bench/run.py`) on {m["date"]} at commit {m["commit"]}.
Whole-process wall time and peak RSS (`ru_maxrss` of the child from `os.wait4`), each command a fresh child
process, median over N runs after one unmeasured warm-up run (page cache warm for everyone). TensorFlow is
run through `bench/tf_baselines.py`, the same harness, in the same script.

**Machine:** {m["cpu"]}, {m["cores"]} cores, {m["ram_gib"]} GiB RAM, {m["os"]}; Python {m["python"]},
TensorFlow {m["tensorflow"]}, protobuf {m["protobuf"]}. The machine is shared with other jobs (1-minute
load average {load[0]} at the start of the run, {load[1]} at the end, on {m["cores"]} cores), so wall
times carry noise: min–max are shown, and CPU time (user + sys of the child) is given as the figure least
disturbed by other jobs.

**Checkpoint** (`bench/make_large_checkpoint.py`, built once into bench/work/): a TF1 graph-mode transformer
encoder, {cfg["layers"]} layers, d_model {cfg["d_model"]}, {cfg["heads"]} heads, ff {cfg["d_ff"]},
vocab {cfg["vocab"]}, {cfg["max_positions"]} positions, trained one step with Adam (so the `.data` holds
weights + 2 Adam slots), global_step, summaries, one `Saver.save` with `.meta`:
{ck["data_bytes"] / 1e6:.1f} MB of `.data` ({ck["data_bytes"] / 2**20:.1f} MiB),
{ck["model_weight_bytes"] / 1e6:.1f} MB of model weights, {ck["variables"]} variables,
{ck["nodes"]} graph nodes. Output node: `{ck["output_node"]}`.

{render_tables(results)}
{_scale()}{_analysis()}## Reproduce

    make bench                                  # everything (builds the checkpoint on first use, ~20 s)
    python bench/run.py --only inspect          # one section; results accumulate in bench/work/results.json
    python bench/run.py --render                # rewrite this file from bench/work/results.json
    python bench/make_large_checkpoint.py       # prints the checkpoint prefix
    python bench/bench_scale.py                 # the scale section (builds its inputs once, bench/work/scale)

Individual measurements, from the repo root with `.venv/bin` first on PATH (`python` = `.venv/bin/python`):

{chr(10).join(cmds)}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="inspect,freeze,ranking", help="comma-separated sections")
    parser.add_argument("-n", type=int, default=5, help="measured runs of our commands (default 5)")
    parser.add_argument("--n-tf", type=int, default=3, help="measured runs of TensorFlow (default 3)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument(
        "--render",
        action="store_true",
        help="measure nothing: rewrite BENCHMARKS.md from bench/work/results.json",
    )
    args = parser.parse_args(argv)
    if args.render:
        REPORT.write_text(render_report(json.loads(RESULTS.read_text())))
        _log(f"wrote {REPORT.relative_to(ROOT)} from {RESULTS.relative_to(ROOT)}")
        return 0
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"inspect", "freeze", "ranking"}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    if shutil.disk_usage(ROOT).free < 2 * 2**30:
        sys.exit("bench: needs ~2 GB free disk (checkpoint ~0.8 GB + three frozen graphs ~0.27 GB each)")

    _log("checkpoint")
    ckpt = ensure_checkpoint()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if (
        results.get("checkpoint", {}).get("prefix") != ckpt["prefix"]
        or results.get("checkpoint", {}).get("data_bytes") != ckpt["data_bytes"]
    ):
        results = {}  # figures from another checkpoint would mislead
    results["checkpoint"] = ckpt
    results["machine"] = machine()
    results["machine"]["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    if "inspect" in sections:
        results["inspect"] = bench_inspect(ckpt, args.n, args.n_tf)
    if "freeze" in sections:
        results["freeze"] = bench_freeze(ckpt, args.n, args.n_tf)
    if "ranking" in sections:
        results["ranking"] = bench_ranking()
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(render_tables(results))
    if not args.no_write:
        REPORT.write_text(render_report(results))
        _log(f"wrote {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
