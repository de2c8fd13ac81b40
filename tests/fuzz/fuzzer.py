"""The fuzz driver: mutated fixtures through the readers, ``inspect`` and ``freeze``; outcomes and invariants.

A *case* is one committed fixture (a checkpoint folder, a graph file, a SavedModel) copied into a
temporary folder, with one to three mutations (:mod:`tests.fuzz.mutators`) applied to its files.
Each case is derived from ``(seed, case number)`` alone, so any case can be rebuilt exactly.

Every operation on a case ends in one of three outcomes:

* ``ok`` — it worked;
* ``error`` — a :class:`~inspector.errors.Ckpt2pbError` (the tool refused the input: fine);
* ``bug`` — anything else: another exception (``RecursionError``, ``KeyError`` …), a hang (past
  ``timeout`` seconds), an exit code of 70 or a traceback from the command line, or a broken
  invariant: an input file changed, a temporary or half-written output left behind, an exit-0
  freeze whose folded constants differ from the bytes the checkpoint reader reads (an unverified
  byte), a report that does not serialize or render, an error message of more than one line.

Bugs are keyed by a *signature* (operation, exception type, innermost ckpt2pb frame) so that one
defect found a thousand times is one bug; :func:`shrink` minimizes a bug's files by delta debugging
(whole files, then protobuf fields, table rows or text lines, then bytes) and :func:`save_reproducer`
writes them as a tiny folder that ``tests/fuzz/test_fuzz.py`` replays.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.fuzz import mutators

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "fixtures" / "data"
REPRODUCERS = Path(__file__).resolve().parent / "reproducers"
TIMEOUT = 30.0  # seconds per in-process operation: fixtures take < 0.3 s, ~10x that under load
CLI_TIMEOUT = 90.0  # a whole process (start-up included) on a loaded machine
OPS = ("read", "inspect", "freeze", "freeze-named")
TEXT_EVERY = 5  # every 5th case also freezes to text (it shares everything with freeze but the writer)
EXTRA_OPS = ("freeze-text", "views")  # each run for every TEXT_EVERY-th case (views: inspect --html --dot)
CLI_OPS = ("cli-inspect", "cli-freeze")
_OWN_CODE = (str(ROOT / "inspector"), str(ROOT / "freezer"))


# ============================================================================ seeds

@dataclass(frozen=True)
class Seed:
    """A committed fixture: ``files`` (relative to ``root``) are copied; ``entries`` are what a user
    may pass (relative paths; "" is the folder itself)."""

    name: str
    root: Path
    files: tuple[str, ...]
    entries: tuple[str, ...]


def discover_seeds(data: Path = DATA) -> list[Seed]:
    """Every fixture under ``fixtures/data``: checkpoint folders, SavedModels, graph files."""
    seeds: list[Seed] = []
    for folder in sorted(p for p in data.glob("*/*") if p.is_dir()):
        files = tuple(sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()))
        if not files:
            continue
        entries = ("",) if any(f.endswith("saved_model.pb") for f in files) else \
            ("", *(f for f in files if "/" not in f))
        seeds.append(Seed(str(folder.relative_to(data)), folder, files, entries))
    for path in sorted(p for p in data.glob("*/*") if p.is_file()):
        seeds.append(Seed(str(path.relative_to(data)), path.parent, (path.name,), (path.name,)))
    return seeds


def read_files(seed: Seed) -> dict[str, bytes]:
    return {name: (seed.root / name).read_bytes() for name in seed.files}


# ============================================================================ cases and outcomes

@dataclass
class Case:
    """One input: the files (relative path -> bytes), what the user passes, and how it was made."""

    seed: str
    files: dict[str, bytes]
    entry: str
    mutations: list[str] = field(default_factory=list)
    number: int | None = None
    fuzz_seed: int | None = None
    outputs: list[str] | None = None  # the unmutated fixture's outputs, for freeze-named


@dataclass
class Outcome:
    op: str
    kind: str  # ok | error | bug
    code: str = ""  # the error's code, or the bug's class
    signature: str = ""
    detail: str = ""  # the bug's traceback or what broke

    def __str__(self) -> str:
        return f"{self.op}: {self.kind} {self.code}".rstrip()


class CaseTimeout(BaseException):
    """Raised by the alarm when an operation runs past its time: a hang."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the main thread after ``seconds`` (no-op in other threads)."""
    if threading.current_thread() is not threading.main_thread() or seconds <= 0:
        yield
        return

    def expire(signum, frame):
        raise CaseTimeout(f"no answer after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


HEADROOM = 2 << 30  # address space a case may map on top of what the process holds


@contextlib.contextmanager
def memory_headroom(extra: int = HEADROOM) -> Iterator[None]:
    """Cap the address space at what the process maps now plus ``extra`` while a case runs, so that
    allocating what a damaged header claims fails fast as a MemoryError (a bug) instead of swapping
    the machine; restored afterwards. A no-op where the limit cannot be read or lowered."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        pages = int(Path("/proc/self/statm").read_text().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + extra
    except (ImportError, OSError, ValueError):
        yield
        return
    unlimited = resource.RLIM_INFINITY
    if (hard != unlimited and limit > hard) or (soft != unlimited and soft <= limit):
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def quiet_logging() -> Iterator[None]:
    """ckpt2pb's warnings (thousands of them, one per mutated case) are not the fuzzer's output, nor
    protobuf's DeprecationWarning for an invalid escape in a mutated text file (hidden from users too)."""
    logger = logging.getLogger("ckpt2pb")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers[:] = [logging.NullHandler()]
    logger.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.handlers[:], logger.propagate, _ = saved
        logger.setLevel(saved[2])


def _own_frame(tb) -> str:
    """The innermost frame in inspector/ or freezer/ as 'module:function', else the innermost one."""
    frames = traceback.extract_tb(tb)
    own = [f for f in frames if f.filename.startswith(_OWN_CODE)]
    frame = (own or frames or [None])[-1]
    if frame is None:
        return "?"
    module = Path(frame.filename).relative_to(ROOT) if frame.filename.startswith(str(ROOT)) \
        else Path(frame.filename).name
    return f"{str(module).replace(os.sep, '/')}:{frame.name}"


def _bug(op: str, code: str, where: str, detail: str) -> Outcome:
    """A bug's signature is its class and place, not the operation: a reader's KeyError reached by
    ``inspect`` and by ``freeze`` is one bug. The command line's are apart (``cli|…``)."""
    return Outcome(op, "bug", code, f"{'cli|' if op.startswith('cli-') else ''}{code}|{where}", detail)


def _exception_outcome(op: str, error: BaseException) -> Outcome:
    from inspector.errors import Ckpt2pbError

    detail = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    if isinstance(error, CaseTimeout):
        return _bug(op, "hang", _own_frame(error.__traceback__), detail)
    if isinstance(error, Ckpt2pbError):
        if "\n" in str(error):
            return _bug(op, "multi-line-error", type(error).__name__, str(error))
        return Outcome(op, "error", error.code)
    return _bug(op, type(error).__name__, _own_frame(error.__traceback__), detail)


# ============================================================================ running one case

def _snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def materialize(case: Case, work: Path) -> Path:
    """Write the case's files under ``work/in`` (and an empty ``work/out``); the path the user passes."""
    inputs = work / "in"
    for name, data in case.files.items():
        path = inputs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    inputs.mkdir(parents=True, exist_ok=True)
    (work / "out").mkdir(exist_ok=True)
    return inputs / case.entry if case.entry else inputs


def run_case(case: Case, ops: tuple[str, ...] = OPS, timeout: float = TIMEOUT,
             cli_timeout: float = CLI_TIMEOUT) -> list[Outcome]:
    """Run ``ops`` on ``case`` in a fresh temporary folder; one :class:`Outcome` per operation."""
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="ckpt2pb-fuzz-") as tmp, memory_headroom():
        work = Path(tmp)
        entry = materialize(case, work)
        before = _snapshot(work / "in")
        for op in ops:
            if op.startswith("freeze-named") and not case.outputs:
                continue
            outcome = _run_op(op, case, entry, work, timeout, cli_timeout)
            after = _snapshot(work / "in")
            if outcome.kind != "bug" and after != before:
                changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
                outcome = _bug(op, "input-modified", "inputs", f"{op} changed or added {changed}")
            outcomes.append(outcome)
            for leftover in (work / "out").iterdir():
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
    return outcomes


def _run_op(op: str, case: Case, entry: Path, work: Path, timeout: float, cli_timeout: float) -> Outcome:
    if op.startswith("cli-"):
        return _run_cli(op, case, entry, work, cli_timeout)
    try:
        with deadline(timeout):
            if op == "read":
                _read_everything(entry)
                return Outcome(op, "ok")
            if op == "inspect":
                problem = _inspect(entry)
                return _bug(op, "report", problem[0], problem[1]) if problem else Outcome(op, "ok")
            if op == "views":
                _views(entry, work / "out")
                return Outcome(op, "ok")
            return _freeze(op, case, entry, work / "out")
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # classifying every exception is the point
        return _exception_outcome(op, error)


def _read_everything(entry: Path) -> None:
    """The readers alone: resolve, the graph file, every tensor's value and raw chunks."""
    from inspector.readers.checkpoint import open_checkpoint
    from inspector.readers.graphfile import load_graph_file
    from inspector.readers.resolve import resolve
    from inspector.readers.state import read_state

    artifacts = resolve(entry)
    if artifacts.state_path:
        read_state(artifacts.state_path)
    for graph in {artifacts.meta_path, artifacts.graph_path} - {None}:
        load_graph_file(graph)
    if artifacts.prefix and (artifacts.index_path or artifacts.format == "V1"):
        with open_checkpoint(artifacts.prefix) as reader:
            for name, meta in reader.tensors.items():
                reader.read(name)
                if meta.dtype not in ("string", "variant"):
                    for _ in reader.raw_chunks(name, chunk_size=4096):
                        pass


def _inspect(entry: Path) -> tuple[str, str] | None:
    """``inspect`` as the command runs it: the report, its JSON, its text at every verbosity."""
    from inspector.cli import render
    from inspector.cli_common import _json_default
    from inspector.report import exit_code, inspect_path

    report = inspect_path(str(entry))
    exit_code(report)
    try:
        json.dumps(report, default=_json_default)
    except (TypeError, ValueError) as error:
        return "json", f"the report does not serialize: {error}"
    for level in (-2, 0, 1):
        render(report, level)
    return None


def _views(entry: Path, out: Path) -> None:
    """``inspect --html --dot``: the condensed graph, its layout and both writers."""
    from inspector.report import inspect_path
    from inspector.view import dot_for, html_for, input_files, write_view

    def write(report: dict, inspection) -> None:
        for name, make in (("view.html", html_for), ("view.dot", dot_for)):
            write_view(str(out / name), make(report, inspection), input_files(report))

    inspect_path(str(entry), then=write)


def _freeze(op: str, case: Case, entry: Path, out: Path) -> Outcome:
    from freezer.api import freeze

    as_text = op == "freeze-text"
    target = out / ("frozen.pbtxt" if as_text else "frozen.pb")
    try:
        if op == "freeze-named":
            result = freeze(str(entry), outputs=case.outputs, output_path=target)
        else:
            result = freeze(str(entry), auto_outputs=True, output_path=target, as_text=as_text)
    except BaseException:
        left = sorted(p.name for p in out.iterdir())
        if left:  # a failed freeze leaves nothing behind (checked before the error is classified)
            return _bug(op, "output-left-behind", "freeze", f"after a failed freeze: {left}\n"
                        + traceback.format_exc())
        raise
    left = sorted(p.name for p in out.iterdir())
    if left != [target.name]:
        return _bug(op, "output-left-behind", "freeze", f"after an exit-0 freeze the folder holds {left}")
    problem = check_folded(result, target, as_text)
    if problem:
        return _bug(op, "unverified-bytes", "freeze", problem)
    if op == "freeze" and result.checkpoint:
        problem = check_against_checkpoint(target, result.checkpoint, result.validation.folded)
        if problem:
            return _bug(op, "weights-differ", "inspect --checkpoint", problem)
    return Outcome(op, "ok")


def check_against_checkpoint(target: Path, prefix: str, folded: list[dict]) -> str | None:
    """``inspect frozen.pb --checkpoint PREFIX`` on what freeze just wrote from PREFIX: the diagnosis
    reads the weights its own way, and must find that none of the variables freeze folded (whole, under
    their own name) differs (a second opinion on every byte). Other Consts may differ: a graph's own
    constants, or a variable restored from another key, are not this checkpoint's tensor of that name."""
    from inspector.errors import Ckpt2pbError
    from inspector.report import inspect_path

    try:
        report = inspect_path(str(target), checkpoint=prefix)
    except Ckpt2pbError:
        return None
    own = {f["node"] for f in folded if f["node"] == f["key"] and f["partition"] is None
           and not f["moving_average"]}
    for finding in (report.get("diagnosis") or {}).get("findings", []):
        wrong = sorted(own & set(finding["evidence"].get("differ", ()))) \
            if finding["code"] == "WEIGHTS_DIFFER" else []
        if wrong:
            return f"folded {wrong} differ from the checkpoint by inspect --checkpoint: {finding['message']}"
    return None


def check_folded(result, target: Path, as_text: bool) -> str | None:
    """Every folded constant of an exit-0 freeze holds exactly the bytes the reader reads now."""
    import numpy as np
    from google.protobuf import text_format

    from inspector.errors import Ckpt2pbError
    from inspector.proto import pb
    from inspector.readers import dtypes
    from inspector.readers.checkpoint import open_checkpoint

    folded = result.validation.folded
    if not folded:
        return None
    graph = pb.GraphDef()
    if as_text:
        text_format.Parse(target.read_text(encoding="utf-8"), graph)
    else:
        graph.ParseFromString(target.read_bytes())
    nodes = {node.name: node for node in graph.node}
    with open_checkpoint(result.checkpoint) as reader:
        for record in folded:
            node = nodes.get(record["node"])
            if node is None:
                continue
            try:
                array = reader.read(record["key"])
            except Ckpt2pbError as error:
                return (f"{record['node']}: frozen with exit 0, but the reader refuses {record['key']!r}: "
                        f"{error}")
            if record["partition"] is not None:
                array = array[tuple(slice(s, s + n) for s, n in record["partition"])]
            tensor = node.attr["value"].tensor
            if tuple(d.size for d in tensor.tensor_shape.dim) != tuple(array.shape):
                return f"{record['node']}: shape {list(tensor.tensor_shape.dim)} != {array.shape}"
            if tensor.dtype == dtypes.DT_STRING:
                same = list(tensor.string_val) == [bytes(v) for v in array.reshape(-1)]
            else:
                raw = np.ascontiguousarray(array)
                if raw.dtype.byteorder == ">":
                    raw = raw.astype(raw.dtype.newbyteorder("<"))
                same = tensor.tensor_content == raw.tobytes()
            if not same:
                return f"{record['node']}: folded bytes differ from what the reader reads for {record['key']}"
    return None


def _cli_command(op: str, case: Case, entry: Path, out: Path) -> list[str]:
    if op == "cli-inspect":
        return [sys.executable, "-m", "inspector.cli", str(entry), "--json"]
    return [sys.executable, "-m", "freezer.cli", str(entry), "--auto-outputs", "-o", str(out / "frozen.pb"),
            "--json"]


def _run_cli(op: str, case: Case, entry: Path, work: Path, timeout: float) -> Outcome:
    """The command in its own process: exit 70 or a signal, a traceback, no JSON, a hang are bugs."""
    command = _cli_command(op, case, entry, work / "out")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, cwd=work, env=env,
                              stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        return _bug(op, "hang", "cli", f"{' '.join(command)}: no answer after {timeout:.0f} s")
    stderr = done.stderr.decode("utf-8", "replace")
    if done.returncode == 70 or done.returncode < 0 or done.returncode > 6 or "Traceback" in stderr:
        first = next((line for line in stderr.splitlines() if "internal error" in line), stderr[-300:])
        where = re.sub(r"\d+", "N", first.split("internal error:")[-1].split(":")[0].strip())[:60] or "?"
        return _bug(op, f"exit-{done.returncode}", where, stderr)
    try:
        json.loads(done.stdout)
    except ValueError:
        return _bug(op, "no-json", "cli", f"exit {done.returncode}; stdout is not one JSON object")
    if op == "cli-freeze":
        left = sorted(p.name for p in (work / "out").iterdir())
        if left != (["frozen.pb"] if done.returncode == 0 else []):
            return _bug(op, "output-left-behind", "cli", f"exit {done.returncode}; the folder holds {left}")
    return Outcome(op, "ok" if done.returncode in (0, 1) else "error", f"exit-{done.returncode}")


# ============================================================================ the loop

def build_case(seeds: list[Seed], fuzz_seed: int, number: int, originals: dict[str, dict[str, bytes]],
               outputs: Callable[[Seed, str], list[str] | None]) -> Case:
    """Case ``number`` of the run with ``fuzz_seed``: the same arguments give the same case."""
    rng = random.Random(f"{fuzz_seed}:{number}")
    if not mutators.DONORS:
        for each in seeds:
            for name, data in originals.setdefault(each.name, read_files(each)).items():
                mutators.DONORS.setdefault(mutators.kind_of(name, data), []).append(data)
    seed = rng.choice(seeds)
    files = originals.setdefault(seed.name, read_files(seed))
    entry = rng.choice(seed.entries)
    changed, described = mutators.mutate(rng, files)
    return Case(seed.name, {**files, **changed}, entry, described, number, fuzz_seed, outputs(seed, entry))


@dataclass
class Report:
    cases: int = 0
    operations: Counter = field(default_factory=Counter)  # "op kind" -> count
    codes: Counter = field(default_factory=Counter)  # error codes
    bugs: dict[str, tuple[Case, Outcome]] = field(default_factory=dict)  # signature -> first case
    bug_hits: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> str:
        kinds = Counter()
        for key, n in self.operations.items():
            kinds[key.split()[1]] += n
        lines = [f"{self.cases} cases, {sum(self.operations.values())} operations in {self.seconds:.0f} s: "
                 + ", ".join(f"{k} {kinds[k]}" for k in ("ok", "error", "bug")),
                 "by operation: " + ", ".join(f"{k} {n}" for k, n in sorted(self.operations.items()))]
        if self.bugs:
            lines.append(f"{len(self.bugs)} distinct bug(s):")
            lines += [f"  {self.bug_hits[s]:>5}x {s}" for s in self.bugs]
        return "\n".join(lines)


class Outputs:
    """The unmutated fixture's outputs per (seed, entry), found once by freezing it."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], list[str] | None] = {}

    def __call__(self, seed: Seed, entry: str) -> list[str] | None:
        key = (seed.name, entry)
        if key not in self._known:
            from freezer.api import freeze
            from inspector.errors import Ckpt2pbError

            with tempfile.TemporaryDirectory(prefix="ckpt2pb-fuzz-") as tmp:
                case = Case(seed.name, read_files(seed), entry)
                path = materialize(case, Path(tmp))
                try:
                    self._known[key] = freeze(str(path), auto_outputs=True,
                                              output_path=Path(tmp) / "out" / "f.pb").outputs
                except Ckpt2pbError:
                    self._known[key] = None
        return self._known[key]


def fuzz(fuzz_seed: int, *, cases: int | None = None, seconds: float | None = None, cli_every: int = 0,
         seeds: list[Seed] | None = None, timeout: float = TIMEOUT, start: int = 0,
         on_bug: Callable[[Case, Outcome], None] | None = None,
         progress: Callable[[Report], None] | None = None) -> Report:
    """Run cases ``start, start+1, …`` until ``cases`` are done or ``seconds`` have passed.

    Every ``cli_every``-th case also runs both commands in a subprocess (0: never). ``on_bug`` is
    called with the first case of each new signature.
    """
    seeds = seeds if seeds is not None else discover_seeds()
    report, originals, outputs = Report(), {}, Outputs()
    began = time.monotonic()
    number = start
    with quiet_logging():
        while (cases is None or report.cases < cases) and \
                (seconds is None or time.monotonic() - began < seconds):
            case = build_case(seeds, fuzz_seed, number, originals, outputs)
            ops = OPS + (EXTRA_OPS if number % TEXT_EVERY == 0 else ()) + \
                (CLI_OPS if cli_every and number % cli_every == 0 else ())
            for outcome in run_case(case, ops, timeout=timeout):
                report.operations[f"{outcome.op} {outcome.kind}"] += 1
                if outcome.kind == "error":
                    report.codes[outcome.code] += 1
                if outcome.kind == "bug":
                    report.bug_hits[outcome.signature] += 1
                    if outcome.signature not in report.bugs:
                        report.bugs[outcome.signature] = (case, outcome)
                        if on_bug is not None:
                            on_bug(case, outcome)
            report.cases += 1
            number += 1
            if progress is not None and report.cases % 100 == 0:
                report.seconds = time.monotonic() - began
                progress(report)
    report.seconds = time.monotonic() - began
    return report


# ============================================================================ shrinking

class Budget(Exception):
    """The shrink's budget of test runs or seconds is spent."""


def shrink(case: Case, outcome: Outcome, *, max_tests: int = 400, max_seconds: float = 120.0,
           timeout: float = TIMEOUT) -> Case:
    """The smallest case (by delta debugging) whose ``outcome.op`` still gives ``outcome.signature``.

    Whole files are dropped first, then each file is cut structurally (protobuf fields at every
    depth, table rows, text lines), then by bytes, until ``max_tests`` runs or ``max_seconds``.
    """
    began, runs = time.monotonic(), [0]
    op = outcome.op
    if outcome.code == "hang":
        timeout = min(timeout, 10.0)

    def still(files: dict[str, bytes]) -> bool:
        if runs[0] >= max_tests or time.monotonic() - began > max_seconds:
            raise Budget
        runs[0] += 1
        trial = Case(case.seed, files, case.entry if _entry_exists(case.entry, files) else "", case.mutations,
                     case.number, case.fuzz_seed, case.outputs)
        if trial.entry != case.entry:
            return False
        return any(o.signature == outcome.signature for o in run_case(trial, (op,), timeout=timeout))

    files = dict(case.files)
    with quiet_logging(), contextlib.suppress(Budget):
        for name in sorted(files, key=lambda n: -len(files[n])):
            rest = {k: v for k, v in files.items() if k != name}
            if rest and still(rest):
                files = rest
        for name in sorted(files, key=lambda n: -len(files[n])):
            for cut in (_shrink_structure, _shrink_bytes):
                files[name] = cut(files, name, still)
    return Case(case.seed, files, case.entry, case.mutations, case.number, case.fuzz_seed, case.outputs)


def _entry_exists(entry: str, files: dict[str, bytes]) -> bool:
    return not entry or entry in files or any(f.startswith(entry.rstrip("/") + "/") for f in files)


def ddmin(items: list, test: Callable[[list], bool]) -> list:
    """Zeller's delta debugging: a 1-minimal sublist of ``items`` for which ``test`` holds."""
    n = 2
    while len(items) >= 2:
        size = math.ceil(len(items) / n)
        chunks = [items[i:i + size] for i in range(0, len(items), size)]
        for i in range(len(chunks)):
            complement = [x for j, c in enumerate(chunks) if j != i for x in c]
            if test(complement):
                items, n = complement, max(n - 1, 2)
                break
        else:
            if n >= len(items):
                break
            n = min(len(items), n * 2)
    return items


def _shrink_structure(files: dict[str, bytes], name: str, still) -> bytes:
    data = files[name]

    def with_data(new: bytes) -> bool:
        return new != data and still({**files, name: new})

    kind = mutators.kind_of(name, data)
    if kind == "table":
        rows = mutators.table_rows(data)
        if rows:
            kept = ddmin(rows, lambda r: with_data(mutators.build_table(r)))
            return mutators.build_table(kept) if kept != rows else data
        return data
    if kind in ("text", "state"):
        lines = data.split(b"\n")
        kept = ddmin(lines, lambda ls: with_data(b"\n".join(ls)))
        return b"\n".join(kept)
    fields = mutators.parse_message(data)
    if not fields:
        return data
    _shrink_fields(fields, lambda: mutators.encode_message(fields), with_data)
    return mutators.encode_message(fields)


def _shrink_fields(fields: list, encode: Callable[[], bytes], test: Callable[[bytes], bool]) -> None:
    """ddmin over ``fields`` in place, then into each remaining submessage (largest first)."""
    def without(kept: list) -> bool:
        fields[:] = kept  # the tree is encoded from the top: try this sublist in place
        return test(encode())

    kept = ddmin(list(fields), without)
    fields[:] = kept
    for f in sorted((f for f in fields if f.children), key=lambda f: -len(bytes(f.value))):
        _shrink_fields(f.children, encode, test)


def _shrink_bytes(files: dict[str, bytes], name: str, still) -> bytes:
    """ddmin over chunks of 1/128 of the file, then over ever finer chunks down to single bytes."""
    data = files[name]
    if len(data) > 1 << 16:  # byte-level ddmin of a large file costs more runs than it saves
        return data
    size = max(1, len(data) // 128)
    while data:
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        current = data
        kept = ddmin(chunks, lambda c, current=current: b"".join(c) != current
                     and still({**files, name: b"".join(c)}))
        data = b"".join(kept)
        if size == 1:
            break
        size = max(1, size // 8)
    return data


# ============================================================================ reproducers

def slug(outcome: Outcome) -> str:
    digest = hashlib.sha256(outcome.signature.encode()).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9]+", "-", f"{outcome.op}-{outcome.code}").strip("-").lower() + f"-{digest}"


def save_reproducer(case: Case, outcome: Outcome, folder: Path = REPRODUCERS,
                    xfail: str | None = None) -> Path:
    """``folder/<slug>/``: ``case.json`` (what to run, what was seen) and the case's files under ``in/``."""
    target = folder / slug(outcome)
    if target.exists():
        shutil.rmtree(target)
    for name, data in case.files.items():
        path = target / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (target / "in").mkdir(parents=True, exist_ok=True)
    first_line = next((line for line in reversed(outcome.detail.strip().splitlines()) if line.strip()), "")
    record = {"op": outcome.op, "entry": case.entry, "outputs": case.outputs, "signature": outcome.signature,
              "seen": first_line[:300], "xfail": xfail,
              "found": {"fuzz_seed": case.fuzz_seed, "case": case.number, "fixture": case.seed,
                        "mutations": case.mutations}}
    (target / "case.json").write_text(json.dumps(record, indent=2) + "\n")
    return target


def load_reproducer(folder: Path) -> tuple[Case, dict]:
    record = json.loads((folder / "case.json").read_text())
    inputs = folder / "in"
    files = {str(p.relative_to(inputs)): p.read_bytes() for p in sorted(inputs.rglob("*")) if p.is_file()}
    return Case(record["found"]["fixture"], files, record["entry"], record["found"]["mutations"],
                record["found"]["case"], record["found"]["fuzz_seed"], record["outputs"]), record


def covered_by(signature: str, known: set[str]) -> bool:
    """``signature`` is one of ``known``, or a command's exit 70 with the exception type of one of them
    (the command line says the type, not the frame: ``cli|exit-70|KeyError`` is ``KeyError|…``)."""
    if signature in known:
        return True
    parts = signature.split("|")
    return parts[:2] == ["cli", "exit-70"] and any(k.startswith(f"{parts[2]}|") for k in known)


def known_signatures(folder: Path = REPRODUCERS) -> set[str]:
    if not folder.is_dir():
        return set()
    return {json.loads(p.read_text())["signature"] for p in folder.glob("*/case.json")}
