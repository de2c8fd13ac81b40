"""`make eval`: output-ranking accuracy over the fixtures and the shared corpus, beside a baseline.

Usage: ``python -m inspector.ranking.evaluate [--json] [--corpus DIR]``.

For every fixture with expected outputs and every corpus case with expected outputs and a graph,
it ranks the outputs and prints, per case: whether the first answer is right (top-1), the share of
the expected outputs among the first three answers (top-3 recall), the rank of each expected
output, and the same for TensorFlow's summarize_graph rule re-implemented as a baseline (every
node without consumers, minus Const/Assign/NoOp/Placeholder, in file order).

Outputs that the ranking groups together occupy one answer slot: ``--auto-outputs`` takes a
whole group. A case whose ground truth is a group (``output_group``) is right only when the first
slot holds all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

BASELINE_SKIPPED_OPS = frozenset({"Const", "Assign", "NoOp", "Placeholder"})
_REPO = Path(__file__).resolve().parents[2]


@dataclass
class Case:
    name: str
    source: str          # fixture | corpus
    graph_path: Path
    expected: tuple[str, ...]
    group: bool = False


@dataclass
class Result:
    name: str
    source: str
    expected: list[str]
    top1: bool
    recall3: float
    ranks: dict[str, int | None]
    first: list[str]
    baseline_count: int
    baseline_ranks: dict[str, int | None]
    error: str | None = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)


# -- cases ------------------------------------------------------------------------------------

def fixture_cases() -> list[Case]:
    """Every fixture with expected outputs and a graph to rank."""
    sys.path.insert(0, str(_REPO))
    try:
        from fixtures.registry import all_fixtures
    except ImportError:
        return []
    cases = []
    for fixture in all_fixtures():
        if not fixture.expected_outputs or fixture.kind == "broken":
            continue
        path = graph_file(fixture.full_path)
        if path is not None:
            cases.append(Case(fixture.name, "fixture", path, tuple(fixture.expected_outputs),
                              fixture.output_group))
    return cases


def corpus_cases(corpus: Path) -> list[Case]:
    """Every corpus case with expected outputs and at least one graph file (one case per graph)."""
    manifest = corpus / "manifest.json"
    if not manifest.is_file():
        return []
    cases = []
    for entry in json.loads(manifest.read_text()):
        expected = tuple(entry.get("expected_outputs", ()))
        if not expected or entry.get("kind") == "broken":
            continue
        folder = corpus / entry["case"]
        graphs = graph_files(folder, entry.get("local_files", ()))
        for path in graphs:
            label = entry["case"] if len(graphs) == 1 else f"{entry['case']}[{path.name}]"
            cases.append(Case(label, "corpus", path, expected))
    return cases


_GRAPH_SUFFIXES = (".meta", ".pb", ".pbtxt", ".ascii", ".txt")


def graph_files(folder: Path, names) -> list[Path]:
    """Graph files of a corpus case: the SavedModel, else every .meta, else every graph file."""
    paths = [folder / n for n in names if (folder / n).is_file()]
    saved = [p for p in paths if p.name == "saved_model.pb"]
    if saved:
        return saved
    metas = [p for p in paths if p.suffix == ".meta"]
    if metas:
        return _distinct_metas(metas)
    return [p for p in paths if p.name.endswith(_GRAPH_SUFFIXES)]


def _distinct_metas(metas: list[Path]) -> list[Path]:
    """One .meta per distinct graph (several saved steps of one graph count once)."""
    kept, sizes = [], set()
    for path in sorted(metas, key=_step, reverse=True):
        stem = re.sub(r"-\d+$", "", path.name[: -len(".meta")])
        key = (stem, path.stat().st_size)
        if key not in sizes:
            sizes.add(key)
            kept.append(path)
    return sorted(kept)


def _step(path: Path) -> int:
    match = re.search(r"-(\d+)\.meta$", path.name)
    return int(match.group(1)) if match else -1


def graph_file(path: Path) -> Path | None:
    """The graph file for a fixture path: itself, the SavedModel, or the newest .meta."""
    if path.is_file():
        return path
    if path.is_dir():
        if (path / "saved_model.pb").is_file():
            return path / "saved_model.pb"
        metas = sorted(path.glob("*.meta"), key=_step)
        if metas:
            return metas[-1]
        graphs = [p for p in sorted(path.iterdir()) if p.name.endswith(_GRAPH_SUFFIXES)]
        return graphs[0] if graphs else None
    meta = path.with_name(path.name + ".meta")
    return meta if meta.is_file() else None


# -- loading ----------------------------------------------------------------------------------

def load(path: Path):
    """(graph_def, meta_graph or None) through the project's graph-file reader."""
    from inspector.readers.graphfile import load_graph_file

    loaded = load_graph_file(path)
    return loaded.graph_def, loaded.meta_graph


# -- scoring ----------------------------------------------------------------------------------

def slots_of(candidates) -> list[list[str]]:
    """Answer slots: one per ungrouped candidate, one per group (at its first member's place)."""
    slots: list[list[str]] = []
    where: dict[str, int] = {}
    for cand in candidates:
        if cand.group is None:
            slots.append([cand.name])
        elif cand.group in where:
            slots[where[cand.group]].append(cand.name)
        else:
            where[cand.group] = len(slots)
            slots.append([cand.name])
    return slots


def baseline(model) -> list[str]:
    """summarize_graph's "possible outputs": nodes nothing consumes, minus a few op types."""
    g = model.g
    return [name for name in g.nodes if g.out_degree(name) == 0
            and g.nodes[name]["op"] not in BASELINE_SKIPPED_OPS]


def evaluate_case(case: Case) -> Result:
    from inspector.errors import Ckpt2pbError
    from inspector.graph.model import GraphModel
    from inspector.ranking import rank_outputs

    expected = list(case.expected)
    try:
        graph_def, meta_graph = load(case.graph_path)
        model = GraphModel.from_graph_def(graph_def, meta_graph)
        candidates = rank_outputs(model, meta_graph)
    except Ckpt2pbError as error:
        return Result(case.name, case.source, expected, False, 0.0, dict.fromkeys(expected), [], 0,
                      dict.fromkeys(expected), error=str(error))
    missing = [name for name in expected if name not in model.g]
    if len(missing) == len(expected):
        return Result(case.name, case.source, expected, False, 0.0, dict.fromkeys(expected), [], 0,
                      dict.fromkeys(expected), skipped="the expected outputs are not in this graph")
    slots = slots_of(candidates)
    ranks: dict[str, int | None] = {}
    for name in expected:
        ranks[name] = next((k + 1 for k, slot in enumerate(slots) if name in slot), None)
    first = slots[0] if slots else []
    top1 = set(expected) <= set(first) if case.group else bool(set(expected) & set(first))
    recall3 = sum(1 for r in ranks.values() if r is not None and r <= 3) / len(expected)
    base = baseline(model)
    base_ranks = {name: (base.index(name) + 1 if name in base else None) for name in expected}
    return Result(case.name, case.source, expected, top1, recall3, ranks, first, len(base),
                  base_ranks)


# -- report -----------------------------------------------------------------------------------

def _fmt_ranks(ranks: dict[str, int | None]) -> str:
    return ",".join("-" if r is None else str(r) for r in ranks.values())


def print_table(results: list[Result]) -> None:
    header = f"{'case':46} {'top1':>4} {'top3':>5} {'rank':>7} | {'baseline: listed':>16} {'rank':>6}"
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.name[:46]:46} ERROR {r.error}")
            continue
        if r.skipped:
            print(f"{r.name[:46]:46} skipped: {r.skipped}")
            continue
        print(f"{r.name[:46]:46} {'yes' if r.top1 else 'NO':>4} {r.recall3:>5.2f} "
              f"{_fmt_ranks(r.ranks):>7} | {r.baseline_count:>16} {_fmt_ranks(r.baseline_ranks):>6}")
    print("-" * len(header))
    for source in ("fixture", "corpus", None):
        chosen = [r for r in results if (source is None or r.source == source) and not r.skipped]
        if not chosen:
            continue
        print(_summary(chosen, source or "total"))


def _summary(results: list[Result], label: str) -> str:
    n = len(results)
    top1 = sum(r.top1 for r in results)
    expected = sum(len(r.expected) for r in results)
    found = sum(sum(1 for v in r.ranks.values() if v is not None and v <= 3) for r in results)
    base_top1 = sum(1 for r in results if any(v == 1 for v in r.baseline_ranks.values()))
    base_found = sum(sum(1 for v in r.baseline_ranks.values() if v is not None and v <= 3)
                     for r in results)
    listed = sum(r.baseline_count for r in results) / n
    return (f"{label:8} cases={n:3}  top-1 {top1}/{n} = {100 * top1 / n:5.1f}%   top-3 recall "
            f"{found}/{expected} = {100 * found / max(expected, 1):5.1f}%   | baseline top-1 "
            f"{100 * base_top1 / n:5.1f}%, top-3 recall {100 * base_found / max(expected, 1):5.1f}%, "
            f"{listed:.1f} candidates listed on average")


def collect(corpus: Path | None = None) -> list[Case]:
    if corpus is None:
        corpus = Path(os.environ.get("CKPT2PB_CORPUS", _REPO.parent / "shared" / "corpus"))
    return fixture_cases() + corpus_cases(corpus)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (with manifest.json)")
    args = parser.parse_args(argv)
    cases = collect(args.corpus)
    if not cases:
        print("no cases: no fixture with expected outputs and no corpus")
        return 0
    results = [evaluate_case(case) for case in cases]
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=1))
    else:
        print_table(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
