"""``make fuzz``: mutate the fixtures for FUZZ_MINUTES, shrink every new bug into a reproducer.

    python tests/fuzz/run.py --minutes 30 --seed 1 [--out tests/fuzz/reproducers] [--cli-every 25]
    python tests/fuzz/run.py --shrink tests/fuzz/reproducers/<slug> [--xfail "the bug class"]

Each new bug signature (one not already among the reproducers in ``--out``) is minimized by delta
debugging and written to ``--out/<slug>/``; ``tests/fuzz/test_fuzz.py`` replays every folder there.
Prints the case count, the outcome of every operation by kind and the bugs found; exits 1 when it
found a bug that has no reproducer yet.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz import fuzzer  # after the repository root is importable

MEMORY_LIMIT = 6 << 30  # address space: allocating what a damaged header claims fails fast, as a bug


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=int, default=0, help="first case number (to resume a run)")
    parser.add_argument("--cases", type=int, default=None, help="stop after this many cases")
    parser.add_argument("--out", type=Path, default=fuzzer.REPRODUCERS)
    parser.add_argument("--cli-every", type=int, default=25,
                        help="run both commands in a subprocess for every N-th case (0: never)")
    parser.add_argument("--shrink-seconds", type=float, default=120.0)
    parser.add_argument("--shrink", type=Path, metavar="REPRODUCER",
                        help="minimize an existing reproducer again (longer: --shrink-seconds), then stop")
    parser.add_argument("--xfail", metavar="CLASS", help="with --shrink: mark it xfail, naming the bug class")
    args = parser.parse_args(argv)
    if args.shrink is not None:
        return reshrink(args.shrink, args.shrink_seconds, args.xfail)
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard == resource.RLIM_INFINITY or hard > MEMORY_LIMIT:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, hard))

    known = fuzzer.known_signatures(args.out)
    new: list[Path] = []

    def on_bug(case: fuzzer.Case, outcome: fuzzer.Outcome) -> None:
        old = fuzzer.covered_by(outcome.signature, known)
        print(f"[case {case.number}] {'known' if old else 'NEW'} bug {outcome.signature}  "
              f"({', '.join(case.mutations)} on {case.seed})", flush=True)
        if old:
            return
        small = fuzzer.shrink(case, outcome, max_seconds=args.shrink_seconds)
        size = sum(len(v) for v in small.files.values())
        path = fuzzer.save_reproducer(small, outcome, args.out)
        new.append(path)
        print(f"    shrunk to {len(small.files)} file(s), {size} bytes: {path}", flush=True)

    def progress(report: fuzzer.Report) -> None:
        print(f"  ... {report.cases} cases, {report.seconds:.0f} s, {len(report.bugs)} bug signature(s)",
              flush=True)

    began = time.strftime("%H:%M:%S")
    print(f"fuzzing with seed {args.seed} from case {args.start} for {args.minutes:g} minute(s), "
          f"started {began}", flush=True)
    report = fuzzer.fuzz(args.seed, cases=args.cases, seconds=args.minutes * 60, cli_every=args.cli_every,
                         start=args.start, on_bug=on_bug, progress=progress)
    print(report.summary())
    print("errors by code: " + ", ".join(f"{c} {n}" for c, n in report.codes.most_common()))
    if new:
        print(f"{len(new)} new reproducer(s) in {args.out}: review them, name the bug in case.json "
              "('xfail' while it is being fixed elsewhere) and commit them")
    return 1 if new else 0


def reshrink(folder: Path, seconds: float, xfail: str | None) -> int:
    """Shrink a saved reproducer again (it must still reproduce) and rewrite it in place."""
    case, record = fuzzer.load_reproducer(folder)
    with fuzzer.quiet_logging():
        bugs = [o for o in fuzzer.run_case(case, (record["op"],)) if o.kind == "bug"]
    if not bugs:
        print(f"{folder}: no longer reproduces (fixed?): nothing to shrink")
        return 1
    before = sum(map(len, case.files.values()))
    small = fuzzer.shrink(case, bugs[0], max_tests=5000, max_seconds=seconds)
    path = fuzzer.save_reproducer(small, bugs[0], folder.parent, xfail=xfail or record.get("xfail"))
    if path.resolve() != folder.resolve():
        import shutil

        shutil.rmtree(folder)
    after = sum(map(len, small.files.values()))
    print(f"{bugs[0].signature}: {len(case.files)} file(s), {before} bytes -> {len(small.files)} file(s), "
          f"{after} bytes: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
