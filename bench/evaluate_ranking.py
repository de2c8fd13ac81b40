"""`make eval`: how often the output ranking is right, on first contact and now, with what each
rule earns.

Usage::

    python bench/evaluate_ranking.py [--json] [--corpus DIR] [--no-heldout]
                                     [--without RULE[,RULE]] [--ablation] [--record-first-contact]

Cases come from three sources: the committed fixtures (fixtures/registry.py), the shared corpus
(../shared/corpus/manifest.json, real graphs other people made) and the held-out graphs
(fixtures/heldout.py, built with TensorFlow when it is installed). Each case has a *split*:

* ``tuned`` — the rules were developed on it (fixtures, the first 22 corpus cases, the held-out
  graphs written before issue 8);
* ``development`` — new cases one may study and write rules for, after recording first contact;
* ``validation`` — new cases rules are never tuned on: they measure how the next unseen model goes;
* ``heldout`` — graphs written after the roles redesign, first contact recorded when added;
* ``heldout2dev`` / ``heldout2val`` — the second held-out batch, written after the rules were
  tuned on ``heldout``; its odd-numbered cases may be studied after first contact, its even-numbered
  ones are never tuned on;
* ``heldout3`` — the third held-out batch, written after the rules were tuned on ``heldout2dev``;
  measured only (its first contact is the figure; nothing is tuned on it).

The *first-contact* result of a case is its ranking when the case was first seen, before any
change was made for it; ``fixtures/first_contact.json`` keeps one record per case (``--record-first-contact``
adds records for cases that have none, and never rewrites one). The summary prints first-contact and
current figures side by side per source and split.

A case is right at top 1 when the first answer slot holds an expected output (a group takes one slot,
as ``freeze --auto-outputs`` takes a whole group; for a case whose truth is a group, the first slot
must hold all of it); top-3 recall counts the expected outputs within the first three slots. Beside
it, TensorFlow's summarize_graph rule (every node without consumers, minus Const/Assign/NoOp/
Placeholder, in file order) as a baseline.

``--without`` ranks with rules or steps switched off; ``--ablation`` does it for each rule and step
in turn and prints what removing it costs (a rule that costs nothing is a rule to delete).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BASELINE_SKIPPED_OPS = frozenset({"Const", "Assign", "NoOp", "Placeholder"})
FIRST_CONTACT = REPO / "fixtures" / "first_contact.json"
#: The corpus entries the rules were developed on before issue 8 (manifest order).
TUNED_CORPUS_ENTRIES = 22


@dataclass
class Case:
    name: str
    source: str          # fixture | corpus | heldout
    split: str           # tuned | development | validation | heldout | heldout2dev/val | heldout3
    graph_path: Path
    expected: tuple[str, ...]
    group: bool = False


@dataclass
class Result:
    name: str
    source: str
    split: str
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
    from fixtures.registry import all_fixtures

    cases = []
    for fixture in all_fixtures():
        if not fixture.expected_outputs or fixture.kind == "broken":
            continue
        path = graph_file(fixture.full_path)
        if path is not None:
            cases.append(Case(fixture.name, "fixture", "tuned", path, tuple(fixture.expected_outputs),
                              fixture.output_group))
    return cases


def corpus_cases(corpus: Path, records: dict[str, dict] | None = None) -> list[Case]:
    """Every corpus case with expected outputs and at least one graph file (one case per graph)."""
    manifest = corpus / "manifest.json"
    if not manifest.is_file():
        return []
    records = records or {}
    cases = []
    for position, entry in enumerate(json.loads(manifest.read_text()), start=1):
        expected = tuple(entry.get("expected_outputs", ()))
        if not expected or entry.get("kind") == "broken":
            continue
        folder = corpus / entry["case"]
        graphs = graph_files(folder, entry.get("local_files", ()))
        for path in graphs:
            label = entry["case"] if len(graphs) == 1 else f"{entry['case']}[{path.name}]"
            recorded = records.get(label, {}).get("split", "new")
            split = "tuned" if position <= TUNED_CORPUS_ENTRIES else recorded
            cases.append(Case(label, "corpus", split, path, expected))
    return cases


def heldout_cases(folder: Path) -> list[Case]:
    """The held-out graphs, built with TensorFlow into ``folder`` (empty without TensorFlow)."""
    try:
        import importlib.util

        if importlib.util.find_spec("tensorflow") is None:
            return []
        from fixtures import heldout
    except ImportError:
        return []
    cases = []
    position: dict[str, int] = {}
    for case in heldout.all_heldout():
        path, expected = heldout.export(case, folder)
        split = heldout.SPLITS[case.written_for]
        if split == "heldout2":
            # odd positions of the batch are for development, even ones for validation (never tuned on)
            position[split] = position.get(split, 0) + 1
            split += "dev" if position[split] % 2 else "val"
        cases.append(Case(case.name, "heldout", split, Path(path), tuple(expected), case.group))
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


# -- scoring ----------------------------------------------------------------------------------

def load(path: Path):
    """(graph_def, meta_graph or None) through the project's graph-file reader."""
    from inspector.readers.graphfile import load_graph_file

    loaded = load_graph_file(path)
    return loaded.graph_def, loaded.meta_graph


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
    return [name for name in model.names if not model.consumers[name]
            and model.op(name) not in BASELINE_SKIPPED_OPS]


class Loaded:
    """A case's graph model, loaded once and ranked with any set of disabled rules."""

    def __init__(self, case: Case) -> None:
        from inspector.graph.model import GraphModel

        self.case = case
        self.error: str | None = None
        self.model = self.meta = None
        try:
            graph_def, self.meta = load(case.graph_path)
            self.model = GraphModel.from_graph_def(graph_def, self.meta)
        except Exception as error:  # a case that fails to load is reported, not raised
            self.error = f"{type(error).__name__}: {error}"

    def result(self, disabled: frozenset[str] = frozenset()) -> Result:
        from inspector.ranking import rank_outputs

        case = self.case
        expected = list(case.expected)
        blank = dict.fromkeys(expected)
        if self.model is None:
            return Result(case.name, case.source, case.split, expected, False, 0.0, blank, [], 0, blank,
                          error=self.error)
        missing = [name for name in expected if name not in self.model]
        if len(missing) == len(expected):
            return Result(case.name, case.source, case.split, expected, False, 0.0, blank, [], 0, blank,
                          skipped="the expected outputs are not in this graph")
        slots = slots_of(rank_outputs(self.model, self.meta, disabled=disabled))
        return scored(case, slots, baseline(self.model))


def scored(case: Case, slots: list[list[str]], base: list[str]) -> Result:
    expected = list(case.expected)
    ranks = {name: next((k + 1 for k, slot in enumerate(slots) if name in slot), None) for name in expected}
    first = slots[0] if slots else []
    top1 = set(expected) <= set(first) if case.group else bool(set(expected) & set(first))
    recall3 = sum(1 for r in ranks.values() if r is not None and r <= 3) / len(expected)
    base_ranks = {name: (base.index(name) + 1 if name in base else None) for name in expected}
    return Result(case.name, case.source, case.split, expected, top1, recall3, ranks, first, len(base),
                  base_ranks)


def evaluate_case(case: Case, disabled: frozenset[str] = frozenset()) -> Result:
    return Loaded(case).result(disabled)


# -- report -----------------------------------------------------------------------------------

def _fmt_ranks(ranks: dict[str, int | None]) -> str:
    return ",".join("-" if r is None else str(r) for r in ranks.values())


def print_table(results: list[Result], records: dict[str, dict]) -> None:
    header = (f"{'case':46} {'split':11} {'top1':>4} {'rank':>7} | {'first contact':>13} | "
              f"{'baseline: listed':>16} {'rank':>6}")
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.name[:46]:46} ERROR {r.error}")
            continue
        if r.skipped:
            print(f"{r.name[:46]:46} skipped: {r.skipped}")
            continue
        record = records.get(r.name)
        first = (f"{'yes' if record['top1'] else 'NO':>4} {_fmt_ranks(record['ranks']):>8}"
                 if record else f"{'':>13}")
        print(f"{r.name[:46]:46} {r.split:11} {'yes' if r.top1 else 'NO':>4} {_fmt_ranks(r.ranks):>7} | "
              f"{first} | {r.baseline_count:>16} {_fmt_ranks(r.baseline_ranks):>6}")
    print("-" * len(header))
    print(summary(results, records))


def _figures(rows: list[Result] | list[dict]) -> tuple[int, int, int, int]:
    """(cases, right at top 1, expected outputs, found in the first three slots)."""
    def get(row, key):
        return row[key] if isinstance(row, dict) else getattr(row, key)

    n = len(rows)
    top1 = sum(bool(get(r, "top1")) for r in rows)
    expected = sum(len(get(r, "ranks")) for r in rows)
    found = sum(sum(1 for v in get(r, "ranks").values() if v is not None and v <= 3) for r in rows)
    return n, top1, expected, found


def _pct(a: int, b: int) -> str:
    return f"{a}/{b} = {100 * a / b:5.1f}%" if b else "-"


def summary(results: list[Result], records: dict[str, dict]) -> str:
    """Current and first-contact figures per source and split, then in total."""
    lines = []
    scored_rows = [r for r in results if not r.skipped and not r.error]
    groups: dict[tuple[str, str], list[Result]] = {}
    for r in scored_rows:
        groups.setdefault((r.source, r.split), []).append(r)
    for (source, split), rows in [*sorted(groups.items()), (("total", ""), scored_rows)]:
        n, top1, expected, found = _figures(rows)
        with_record = [records[r.name] for r in rows if r.name in records]
        line = (f"{source:8} {split:11} cases={n:3}  now: top-1 {_pct(top1, n):16} "
                f"top-3 {_pct(found, expected):16}")
        if with_record:
            fn, ftop1, fexp, ffound = _figures(with_record)
            line += f" | first contact ({fn} recorded): top-1 {_pct(ftop1, fn):16} top-3 {_pct(ffound, fexp)}"
        base = sum(1 for r in rows if any(v == 1 for v in r.baseline_ranks.values()))
        line += f" | baseline top-1 {_pct(base, n)}"
        lines.append(line)
    return "\n".join(lines)


# -- first contact ----------------------------------------------------------------------------

def read_records(path: Path = FIRST_CONTACT) -> dict[str, dict]:
    if not path.is_file():
        return {}
    return {record["case"]: record for record in json.loads(path.read_text())}


def record_first_contact(results: list[Result], path: Path = FIRST_CONTACT) -> list[str]:
    """Add a record for every case without one (tuned cases excepted); never rewrite a record."""
    existing = json.loads(path.read_text()) if path.is_file() else []
    known = {record["case"] for record in existing}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    added = []
    for r in results:
        if r.name in known or r.split == "tuned" or r.skipped or r.error:
            continue
        existing.append({"case": r.name, "source": r.source,
                         "split": "development" if r.split == "new" else r.split,
                         "recorded": dt.date.today().isoformat(), "commit": commit, "top1": r.top1,
                         "ranks": r.ranks})
        added.append(r.name)
    path.write_text(json.dumps(existing, indent=1) + "\n")
    return added


# -- ablation ---------------------------------------------------------------------------------

def ablation(loaded: list[Loaded]) -> list[tuple[str, int, int, list[str]]]:
    """For each rule and step: (name, top-1 cases lost, top-3 outputs lost, cases that changed)."""
    from inspector.ranking.rules import RULES
    from inspector.ranking.steps import STEPS

    full = {item.case.name: item.result() for item in loaded}
    rows = []
    for name in [rule.name for rule in RULES] + [step.name for step in STEPS]:
        lost1 = lost3 = 0
        changed = []
        for item in loaded:
            base = full[item.case.name]
            if base.skipped or base.error:
                continue
            without = item.result(frozenset({name}))
            d1 = int(base.top1) - int(without.top1)
            d3 = _figures([base])[3] - _figures([without])[3]
            lost1 += d1
            lost3 += d3
            if d1 or d3:
                changed.append(f"{item.case.name}{'' if d1 >= 0 and d3 >= 0 else ' (better)'}")
        rows.append((name, lost1, lost3, changed))
    return rows


def collect(corpus: Path | None = None, heldout_folder: Path | None = None) -> list[Case]:
    if corpus is None:
        corpus = Path(os.environ.get("CKPT2PB_CORPUS", REPO.parent / "shared" / "corpus"))
    cases = fixture_cases() + corpus_cases(corpus, read_records())
    if heldout_folder is not None:
        cases += heldout_cases(heldout_folder)
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per case")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (with manifest.json)")
    parser.add_argument("--no-heldout", action="store_true",
                        help="skip the held-out graphs (built with TensorFlow)")
    parser.add_argument("--without", default="", help="rules or steps to switch off, comma-separated")
    parser.add_argument("--ablation", action="store_true", help="what removing each rule and step costs")
    parser.add_argument("--record-first-contact", action="store_true",
                        help="record the result of every case that has no first-contact record yet")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ckpt2pb-heldout-") as folder:
        cases = collect(args.corpus, None if args.no_heldout else Path(folder))
        loaded = [Loaded(case) for case in cases]
        disabled = frozenset(filter(None, args.without.split(",")))
        _check_names(disabled)
        results = [item.result(disabled) for item in loaded]
        records = read_records()
        if args.record_first_contact:
            added = record_first_contact(results)
            print(f"recorded first contact for {len(added)} case(s): {', '.join(added) or 'none'}")
            records = read_records()
        if args.json:
            print(json.dumps([asdict(r) for r in results], indent=1))
        else:
            print_table(results, records)
            if disabled:
                full = [item.result() for item in loaded]
                print(f"\nwith every rule: \n{summary(full, records)}")
                lost = [r.name for r, f in zip(results, full, strict=True) if f.top1 and not r.top1]
                print(f"right only with {', '.join(sorted(disabled))}: {', '.join(lost) or 'none'}")
        if args.ablation:
            print(f"\n{'rule or step':30} {'top-1 lost':>10} {'top-3 lost':>10}  cases")
            for name, lost1, lost3, changed in ablation(loaded):
                print(f"{name:30} {lost1:>10} {lost3:>10}  {', '.join(changed)}")
    return 0


def _check_names(names: frozenset[str]) -> None:
    from inspector.ranking.rules import RULE_NAMES
    from inspector.ranking.steps import STEP_NAMES

    unknown = sorted(names - RULE_NAMES - STEP_NAMES)
    if unknown:
        raise SystemExit(f"unknown rule or step: {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(RULE_NAMES | STEP_NAMES))})")


if __name__ == "__main__":
    raise SystemExit(main())
