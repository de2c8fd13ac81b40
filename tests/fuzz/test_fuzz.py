"""The fuzz target in ``make test``: a brief fixed-seed run, the committed reproducers, the driver's checks.

``make fuzz`` runs the same driver for FUZZ_MINUTES (tests/fuzz/run.py); every bug it finds is shrunk
into ``tests/fuzz/reproducers/<slug>/`` and replayed here. A reproducer of a bug class being fixed
elsewhere carries ``"xfail": "<the class>"`` in its ``case.json`` (non-strict: it passes once fixed).
"""

from __future__ import annotations

import json
import random
import shutil
import time
from pathlib import Path

import pytest

from inspector.errors import UnreadableInputError
from tests.fuzz import fuzzer, mutators

SEED = 20261207
CHUNKS, PER_CHUNK = 4, 60  # 240 cases, split so that pytest-xdist runs them side by side
REPRODUCERS = sorted(p.parent for p in fuzzer.REPRODUCERS.glob("*/case.json"))


def _known_open_bugs() -> set[str]:
    """Signatures of committed reproducers marked xfail: classes another change is fixing."""
    return {json.loads((p / "case.json").read_text())["signature"] for p in REPRODUCERS
            if json.loads((p / "case.json").read_text()).get("xfail")}


# --------------------------------------------------------------------------- the brief run
@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_brief_fixed_seed_run_finds_no_new_bug(chunk):
    report = fuzzer.fuzz(SEED, start=chunk * PER_CHUNK, cases=PER_CHUNK)
    assert report.cases == PER_CHUNK
    new = {s: case for s, (case, _) in report.bugs.items() if not fuzzer.covered_by(s, _known_open_bugs())}
    details = "\n".join(f"{s}: case {c.number} ({', '.join(c.mutations)} on {c.seed})\n"
                        f"{report.bugs[s][1].detail}"
                        for s, c in new.items())
    assert not new, f"the fuzzer found bug(s); `make fuzz` shrinks them into reproducers:\n{details}"
    assert report.operations  # every operation ran and was classified
    assert sum(n for k, n in report.operations.items() if k.endswith(" ok")) > 0


def test_brief_run_through_the_commands():
    """A sample through the command line, each in its own process with a timeout (a hang is a bug)."""
    seeds = fuzzer.discover_seeds()
    outputs = fuzzer.Outputs()
    with fuzzer.quiet_logging():
        for number in range(2):
            case = fuzzer.build_case(seeds, SEED, number, {}, outputs)
            bugs = [o for o in fuzzer.run_case(case, fuzzer.CLI_OPS) if o.kind == "bug"]
            assert not [b for b in bugs if not fuzzer.covered_by(b.signature, _known_open_bugs())], bugs


# --------------------------------------------------------------------------- committed reproducers
@pytest.mark.parametrize("folder", REPRODUCERS, ids=[p.name for p in REPRODUCERS])
def test_reproducer_gives_no_internal_error_or_hang(folder, request):
    case, record = fuzzer.load_reproducer(folder)
    if record.get("xfail"):
        request.applymarker(pytest.mark.xfail(reason=record["xfail"], strict=False))
    with fuzzer.quiet_logging():
        outcomes = fuzzer.run_case(case, (record["op"],))
    bugs = [o for o in outcomes if o.kind == "bug"]
    assert not bugs, f"{bugs[0].signature}\n{bugs[0].detail}"


def test_reproducers_are_small_and_complete():
    for folder in REPRODUCERS:
        case, record = fuzzer.load_reproducer(folder)
        assert record["op"] in (*fuzzer.OPS, *fuzzer.EXTRA_OPS, *fuzzer.CLI_OPS)
        assert sum(len(v) for v in case.files.values()) < 200_000, folder.name


# --------------------------------------------------------------------------- the driver itself
def test_cases_are_deterministic():
    seeds = fuzzer.discover_seeds()
    made = [fuzzer.build_case(seeds, 7, n, {}, lambda s, e: None) for n in range(20)] * 2
    again = [fuzzer.build_case(seeds, 7, n, {}, lambda s, e: None) for n in range(20)]
    assert [c.files for c in made[:20]] == [c.files for c in again]
    assert sum(c.files != fuzzer.read_files(next(s for s in seeds if s.name == c.seed)) for c in again) >= 18


def test_seeds_cover_every_kind_of_fixture():
    kinds = {mutators.kind_of(name, data) for seed in fuzzer.discover_seeds()
             for name, data in fuzzer.read_files(seed).items()}
    assert {"table", "data", "state", "text", "proto"} <= kinds


def test_wire_format_round_trips_and_mutates():
    data = (fuzzer.DATA / "graphs" / "healthy_mlp.pb").read_bytes()
    fields = mutators.parse_message(data)
    assert mutators.encode_message(fields) == data
    rng = random.Random(3)
    assert any(mutators.mutate_wire(rng, {"g.pb": data}, "g.pb")["g.pb"] != data for _ in range(5))


def test_rewritten_weights_still_read_and_differ():
    """rewrite_weights makes a valid checkpoint with other bytes: the reader accepts it."""

    seed = next(s for s in fuzzer.discover_seeds() if s.name == "checkpoints/resource_vars")
    files = fuzzer.read_files(seed)
    index = next(n for n in files if n.endswith(".index"))
    changed = mutators.rewrite_weights(random.Random(1), files, index)
    case = fuzzer.Case(seed.name, {**files, **changed}, "")
    with fuzzer.quiet_logging():
        assert [o.kind for o in fuzzer.run_case(case, ("read", "freeze"))] == ["ok", "ok"]


def test_a_foreign_exception_is_a_bug_and_is_shrunk(monkeypatch, tmp_path):
    """A reader that lets a KeyError escape on one dtype: found, keyed by its frame, shrunk, replayed."""
    from inspector.readers import bundle

    real = bundle.BundleReader.read

    def broken(self, name):
        if self.tensors[name].dtype == "int64":
            raise KeyError(name)
        return real(self, name)

    monkeypatch.setattr(bundle.BundleReader, "read", broken)
    seed = next(s for s in fuzzer.discover_seeds() if s.name == "checkpoints/dtypes_zoo")
    case = fuzzer.Case(seed.name, fuzzer.read_files(seed), "")
    with fuzzer.quiet_logging():
        [outcome] = fuzzer.run_case(case, ("read",))
    assert outcome.kind == "bug" and outcome.signature == "KeyError|tests/fuzz/test_fuzz.py:broken"
    small = fuzzer.shrink(case, outcome, max_seconds=60)
    assert sum(map(len, small.files.values())) < sum(map(len, case.files.values()))
    path = fuzzer.save_reproducer(small, outcome, tmp_path)
    again, record = fuzzer.load_reproducer(path)
    assert record["signature"] == outcome.signature
    with fuzzer.quiet_logging():
        assert [o.signature for o in fuzzer.run_case(again, ("read",))] == [outcome.signature]


def test_a_hang_is_a_bug(monkeypatch):
    from inspector import report

    monkeypatch.setattr(report, "inspect_path", lambda *a, **k: time.sleep(30))
    seed = next(s for s in fuzzer.discover_seeds() if s.name == "graphs/healthy_mlp.pb")
    with fuzzer.quiet_logging():
        [outcome] = fuzzer.run_case(fuzzer.Case(seed.name, fuzzer.read_files(seed), seed.entries[0]),
                                    ("inspect",), timeout=0.5)
    assert (outcome.kind, outcome.code) == ("bug", "hang")


def test_an_unverified_byte_is_a_bug(tmp_path):
    """check_folded compares every folded constant with the reader: one changed weight byte is caught."""
    from freezer.api import freeze

    seed = next(s for s in fuzzer.discover_seeds() if s.name == "checkpoints/resource_vars")
    entry = fuzzer.materialize(fuzzer.Case(seed.name, fuzzer.read_files(seed), ""), tmp_path)
    target = tmp_path / "out" / "frozen.pb"
    with fuzzer.quiet_logging():
        result = freeze(str(entry), auto_outputs=True, output_path=target)
    assert result.validation.folded and fuzzer.check_folded(result, target, as_text=False) is None
    assert fuzzer.check_against_checkpoint(target, result.checkpoint, result.validation.folded) is None
    from inspector.readers.checkpoint import open_checkpoint

    record = max(result.validation.folded, key=lambda f: f["bytes"])
    with open_checkpoint(result.checkpoint) as reader:
        weights = reader.read(record["key"]).tobytes()
    data = target.read_bytes()
    at = data.index(weights) + len(weights) // 2
    target.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1:])
    assert "differ" in fuzzer.check_folded(result, target, as_text=False)
    assert "differ" in fuzzer.check_against_checkpoint(target, result.checkpoint, result.validation.folded)


def test_an_error_is_fine_but_a_modified_input_is_not(monkeypatch):
    from inspector.readers import resolve as resolve_module

    seed = next(s for s in fuzzer.discover_seeds() if s.name == "graphs/healthy_mlp.pb")
    case = fuzzer.Case(seed.name, fuzzer.read_files(seed), seed.entries[0])

    def refuse(path, *a, **k):
        raise UnreadableInputError("no", path=str(path))

    monkeypatch.setattr(resolve_module, "resolve", refuse)
    with fuzzer.quiet_logging():
        assert [o.kind for o in fuzzer.run_case(case, ("read",))] == ["error"]

    def scribble(path, *a, **k):
        Path(path).write_bytes(b"oops")
        raise UnreadableInputError("no", path=str(path))

    monkeypatch.setattr(resolve_module, "resolve", scribble)
    with fuzzer.quiet_logging():
        [outcome] = fuzzer.run_case(case, ("read",))
    assert (outcome.kind, outcome.code) == ("bug", "input-modified")


def test_a_command_exit_70_is_known_by_its_exception_type():
    known = {"KeyError|inspector/readers/bundle.py:read"}
    assert fuzzer.covered_by("cli|exit-70|KeyError", known)
    assert not fuzzer.covered_by("cli|exit-70|ValueError", known)
    assert not fuzzer.covered_by("cli|hang|cli", known) and fuzzer.covered_by(next(iter(known)), known)


def test_saved_reproducer_layout(tmp_path):
    case = fuzzer.Case("graphs/x", {"a/b.pb": b"\x00", "c": b""}, "a/b.pb", ["flip"], 3, 9, None)
    outcome = fuzzer.Outcome("inspect", "bug", "KeyError", "inspect|KeyError|x:y", "Traceback\nKeyError: 1")
    path = fuzzer.save_reproducer(case, outcome, tmp_path)
    again, record = fuzzer.load_reproducer(path)
    assert again.files == case.files and again.entry == "a/b.pb" and record["seen"] == "KeyError: 1"
    shutil.rmtree(path)
