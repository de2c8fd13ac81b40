"""`inspect --html` on the 7k-node benchmark transformer and a 50k-node graph (a benchmark, not a test).

For each graph: the whole `inspect PATH --html FILE -q` process (wall and CPU time, peak RSS; median
of several sequential runs, measured like every other command in bench/), the HTML file's size, and,
in this process, how long the view itself takes (condensing, layouts, page) beside the inspection it
draws, and the box counts (boxes in all, items in the first view, most items a box opens into).

Target (issue 11): writing the file under 2 s for the 7k-node graph; the first view at most ~150 items.
The machine is shared: wall times are noisy, CPU times show the work itself.

Usage: python bench/bench_view.py [--runs 5] [--nodes 50000]
The 7k-node transformer is built once by bench/make_large_checkpoint.py (TensorFlow, in a child
process); the 50k-node graph by bench/bench_ranking.py's builder (no TensorFlow), into bench/work/.
Prints a table and, as its last line, a JSON object with the figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
WORK = BENCH / "work"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from measure import measure  # noqa: E402


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def transformer() -> Path:
    """The 7k-node training checkpoint (built in a child process: TensorFlow stays out of this one)."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, str(BENCH / "make_large_checkpoint.py")], env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"bench_view: building the transformer failed:\n{proc.stderr[-2000:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def graph_50k(nodes: int) -> Path:
    path = WORK / f"graph_{nodes // 1000}k.pb"
    if not path.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_module("bench_ranking").build_graph(nodes).SerializeToString())
    return path


def in_process(path: Path) -> dict:
    """The view's own cost beside the inspection's, and the box counts (one run, this process)."""
    import gc

    from inspector.report import inspect_path
    from inspector.view.condense import MAX_CHILDREN
    from inspector.view.page import render_page
    from inspector.view.scene import build_scene, drawing_size, visible_count

    figures: dict = {}
    gc.disable()  # as in the command (cli_common.run_main)
    try:
        def view(report, inspection):
            start, cpu = time.perf_counter(), time.process_time()
            scene = build_scene(report, inspection.model, inspection.variables)
            figures["scene_s"] = round(time.perf_counter() - start, 3)
            middle = time.perf_counter()
            page = render_page(scene, report)
            figures["page_s"] = round(time.perf_counter() - middle, 3)
            figures["view_cpu_s"] = round(time.process_time() - cpu, 3)
            width, height = drawing_size(scene, scene.initial)
            figures.update(
                nodes=len(scene.names), boxes=len(scene.boxes),
                first_view_items=visible_count(scene, scene.initial),
                first_view_open_boxes=len(scene.initial),
                max_items_in_a_box=max(len(b.children) for b in scene.boxes), max_allowed=MAX_CHILDREN,
                first_view_drawing_px=[round(width), round(height)], html_bytes=len(page.encode("utf-8")),
                top_output=report["outputs"][0]["name"] if report["outputs"] else None)

        start = time.perf_counter()
        inspect_path(str(path), top=5, then=view)
        figures["inspect_and_view_s"] = round(time.perf_counter() - start, 3)
    finally:
        gc.enable()
    return figures


def whole_process(path: Path, runs: int) -> dict:
    out = WORK / "view_bench.html"
    inspect = Path(sys.executable).with_name("inspect")
    cmd = [str(inspect), str(path), "--html", str(out), "-q"]
    m = measure(cmd, n=runs, warmup=1, before=lambda: out.unlink(missing_ok=True), stop_on_error=False)
    # exit 1 only says the graph file has an error-severity finding (an unfrozen .pb): the page is written
    if not m.runs or any(r.returncode not in (0, 1) for r in m.runs) or not out.exists():
        sys.exit(f"bench_view: {' '.join(cmd)} failed:\n{m.last_stderr[-2000:]}")
    return {"cmd": " ".join(cmd), "median_wall_s": round(m.median_wall_s, 3),
            "median_cpu_s": round(statistics.median(r.cpu_s for r in m.runs), 3),
            "max_wall_s": round(max(r.wall_s for r in m.runs), 3),
            "median_maxrss_mib": round(m.median_maxrss_mib, 1), "file_bytes": out.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=50_000)
    args = parser.parse_args(argv)
    results = {}
    graphs = (("transformer_7k", transformer()), (f"graph_{args.nodes // 1000}k", graph_50k(args.nodes)))
    for label, path in graphs:
        figures = {"path": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)}
        figures["process"] = whole_process(path, args.runs)
        figures["view"] = in_process(path)
        results[label] = figures
        p, v = figures["process"], figures["view"]
        print(f"{label}: {v['nodes']} nodes -> {v['boxes']} boxes "
              f"(at most {v['max_items_in_a_box']} items a box); first view {v['first_view_items']} items, "
              f"{v['first_view_drawing_px'][0]}x"
              f"{v['first_view_drawing_px'][1]} px")
        print(f"  inspect --html: median {p['median_wall_s']} s wall, {p['median_cpu_s']} s CPU "
              f"(max {p['max_wall_s']} s; {p['median_maxrss_mib']} MiB peak); "
              f"file {p['file_bytes'] / 1e6:.2f} MB")
        print(f"  of which the view: scene {v['scene_s']} s + page {v['page_s']} s "
              f"({v['view_cpu_s']} s CPU); top output {v['top_output']}")
    results["load_average_1min"] = round(os.getloadavg()[0], 2)
    results["target_s"] = 2.0
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
