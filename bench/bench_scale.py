"""Scale benchmarks (issue 12): memory that does not grow with the weights, time linear in the graph.

Inputs come from bench/make_scale_inputs.py (built once, cached under bench/work/scale): a 265 MB and a
2.13 GB frozen MLP, a TF1 training graph of ~20k variables saved with its checkpoint, a chain of 10^6 ops.
Each command runs as a child process under bench/measure.py (whole-process wall time, CPU time and peak RSS,
median of N runs after one unmeasured warm-up), TensorFlow beside ckpt2pb in the same script:

  frozen graphs  `inspect --json G.pb`                  vs  GraphDef.ParseFromString + import_graph_def
                 `freeze G.pb --outputs output -o X.pb`  (for information: the weights stream file to file)
  training graph `inspect --json PREFIX`                 vs  list_variables + import_meta_graph
                 `freeze PREFIX --auto-outputs -o X.pb`  vs  restore + convert_variables_to_constants + write
  chain          `inspect --json chain.pb`               vs  ParseFromString + import_graph_def

Results accumulate in bench/work/scale_results.json (``--only`` re-runs some cases); the tables are written to
bench/scale.md, which BENCHMARKS.md embeds (between its ``scale`` markers, replaced in place here, and by
bench/run.py when it renders the whole file).

Usage: python bench/bench_scale.py [--only frozen263,frozen2g,train260k,chain1m] [-n 3] [--n-tf 1]
       [--no-tf] [--render]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_scale_inputs import CONFIGS, OUTPUTS  # noqa: E402
from measure import measure  # noqa: E402

WORK = HERE / "work"
RESULTS = WORK / "scale_results.json"
TABLES = HERE / "scale.md"
REPORT = ROOT / "BENCHMARKS.md"
START, END = "<!-- scale:start -->", "<!-- scale:end -->"
PY = sys.executable
BIN = Path(PY).parent
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
TF_ENV = {**BASE_ENV, "TF_CPP_MIN_LOG_LEVEL": "2"}
TARGETS = {  # issue 12: (wall s, peak RSS MiB) for ckpt2pb
    ("frozen263", "inspect"): (0.5, 100), ("frozen2g", "inspect"): (None, 100),
    ("train260k", "inspect"): (5.0, 500), ("train260k", "freeze"): (8.0, 500),
    ("chain1m", "inspect"): (30.0, None),
}


def _log(msg: str) -> None:
    print(f"[bench_scale] {msg}", file=sys.stderr, flush=True)


def _fig(m, **extra) -> dict:
    out = m.summary()
    out["cmd_text"] = " ".join(str(c) for c in m.cmd).replace(str(ROOT) + "/", "")
    if not m.ok:
        out["stderr_tail"] = m.last_stderr[-1000:]
    out.update(extra)
    return out


def _inputs(only: list[str]) -> dict[str, str]:
    proc = subprocess.run([PY, str(HERE / "make_scale_inputs.py"), "--only", ",".join(only)], env=TF_ENV,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"building the inputs failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _stamp(name: str) -> dict:
    return json.loads((WORK / "scale" / name / "stamp.json").read_text())


def bench_case(name: str, path: str, n: int, n_tf: int, tf: bool) -> dict:
    inspect, freeze = [str(BIN / "inspect")], [str(BIN / "freeze")]
    tf_cmd = [PY, str(HERE / "tf_baselines.py")]
    out = WORK / f"scale_{name}_out.pb"
    kind = CONFIGS[name]["kind"]
    result: dict = {"input": _stamp(name), "path": path}
    _log(f"{name}: inspect")
    result["inspect"] = _fig(measure([*inspect, "--json", path], n=n, env=BASE_ENV))
    if tf:
        _log(f"{name}: TensorFlow inspect")
        baseline = ["inspect", path] if kind == "train" else ["inspect-graph", path]
        result["tf_inspect"] = _fig(measure([*tf_cmd, *baseline], n=n_tf, env=TF_ENV, warmup=0))
    if kind == "frozen":
        _log(f"{name}: freeze (prune of a frozen graph)")
        m = measure([*freeze, path, "--outputs", OUTPUTS[name], "-o", str(out)], n=n, env=BASE_ENV)
        result["freeze"] = _fig(m, output_bytes=out.stat().st_size if out.exists() else None)
    elif kind == "train":
        _log(f"{name}: freeze --auto-outputs")
        m = measure([*freeze, path, "--auto-outputs", "-o", str(out), "--json"], n=n, env=BASE_ENV)
        chosen = json.loads(m.last_stdout).get("outputs") if m.ok else None
        result["freeze"] = _fig(m, outputs=chosen, output_bytes=out.stat().st_size if out.exists() else None)
        if tf and chosen:
            _log(f"{name}: TensorFlow convert_variables_to_constants")
            tf_out = WORK / f"scale_{name}_tf.pb"
            result["tf_freeze"] = _fig(measure([*tf_cmd, "convert", path, ",".join(chosen), str(tf_out)],
                                               n=n_tf, env=TF_ENV, warmup=0))
    for extra in (out, WORK / f"scale_{name}_tf.pb"):
        extra.unlink(missing_ok=True)
    return result


def _cell(fig: dict | None) -> str:
    if not fig:
        return "— | — | —"
    if not fig.get("ok"):
        return "failed | — | —"
    return (f"{fig['median_wall_s']:.2f} ({fig['min_wall_s']:.2f}–{fig['max_wall_s']:.2f}) | "
            f"{fig['median_cpu_s']:.2f} | {fig['median_maxrss_mib']:.0f}")


def _target(name: str, what: str, fig: dict | None) -> str:
    wall, rss = TARGETS.get((name, what), (None, None))
    if not fig or not fig.get("ok") or (wall is None and rss is None):
        return ""
    parts, ok = [], True
    if wall is not None:
        parts.append(f"< {wall:g} s")
        ok &= fig["median_wall_s"] < wall
    if rss is not None:
        parts.append(f"< {rss} MiB")
        ok &= fig["median_maxrss_mib"] < rss
    return f"{' and '.join(parts)}: **{'met' if ok else 'missed'}**"


def _describe(name: str, case: dict) -> str:
    facts, config = case["input"]["facts"], case["input"]["config"]
    if config["kind"] == "frozen":
        return (f"frozen MLP, {config['layers']} layers of {config['width']}x{config['width']} float32, "
                f"{facts['bytes'] / 1e6:,.0f} MB")
    if config["kind"] == "chain":
        return f"chain of {config['length']:,} unary ops, {facts['bytes'] / 1e6:,.0f} MB"
    return (f"TF1 training graph, {facts['nodes']:,} nodes, {facts['trainable']:,} variables "
            f"({facts['variables']:,} saved with the Adam slots; summaries, Saver), "
            f".meta {facts['meta_bytes'] / 1e6:,.0f} MB")


def render(results: dict) -> str:
    lines = [
        "### scale (bench/bench_scale.py, issue 12)", "",
        f"Measured {results.get('date', '?')} at commit {results.get('commit', '?')}, load average "
        f"{results.get('loadavg', '?')} (2 shared cores: wall times are noisy, CPU time is the work). "
        "Inputs from bench/make_scale_inputs.py.", "",
        "| input | command | wall s, median (min–max) | CPU s | peak RSS MiB | target |",
        "|---|---|---:|---:|---:|---|",
    ]
    labels = (("tf_inspect", "TensorFlow: inspect"), ("inspect", "ckpt2pb: `inspect --json`"),
              ("tf_freeze", "TensorFlow: restore + convert_variables_to_constants + write"),
              ("freeze", "ckpt2pb: `freeze`"))
    for name in CONFIGS:
        case = results.get("cases", {}).get(name)
        if not case:
            continue
        first = True
        for key, label in labels:
            fig = case.get(key)
            if fig is None:
                continue
            what = key.removeprefix("tf_")
            target = "" if key.startswith("tf_") else _target(name, what, fig)
            if key == "freeze" and CONFIGS[name]["kind"] == "frozen":
                label = "ckpt2pb: `freeze --outputs output` (prune, weights streamed)"
            elif key == "freeze":
                label = "ckpt2pb: `freeze --auto-outputs`"
            lines.append(f"| {_describe(name, case) if first else ''} | {label} | {_cell(fig)} | {target} |")
            first = False
    lines += ["", "Commands (from the repo root, `.venv/bin` first on PATH):", ""]
    for name in CONFIGS:
        case = results.get("cases", {}).get(name)
        for key, _ in labels:
            fig = (case or {}).get(key)
            if fig:
                lines.append(f"    python bench/measure.py -n {fig['n']} -- {fig['cmd_text']}")
    return "\n".join(lines) + "\n"


def write_report(tables: str) -> None:
    TABLES.write_text(tables)
    text = REPORT.read_text()
    block = f"{START}\n{tables}{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + block + text[text.index(END) + len(END):]
    else:
        marker = "## Where the time goes"
        at = text.index(marker) if marker in text else len(text)
        text = text[:at] + block + "\n\n" + text[at:]
    REPORT.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(CONFIGS))
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--n-tf", type=int, default=1)
    parser.add_argument("--no-tf", action="store_true", help="measure ckpt2pb only")
    parser.add_argument("--render", action="store_true", help="rewrite the tables from the saved results")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"cases": {}}
    if not args.render:
        only = [s for s in args.only.split(",") if s]
        paths = _inputs(only)
        results["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        for name in only:
            previous = results["cases"].get(name, {})
            case = bench_case(name, paths[name], args.n, args.n_tf, not args.no_tf)
            if args.no_tf:  # keep TensorFlow's figures from an earlier run
                case.update({k: v for k, v in previous.items() if k.startswith("tf_")})
            results["cases"][name] = case
            RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        results["date"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        results["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                           capture_output=True, text=True).stdout.strip()
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    tables = render(results)
    print(tables)
    write_report(tables)
    return 0


if __name__ == "__main__":
    sys.exit(main())
