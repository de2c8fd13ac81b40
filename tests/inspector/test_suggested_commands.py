"""Every command ``inspect`` prints works: the ``freeze with:`` line and the commands in the
findings' fixes are run, over every fixture and every ../shared/corpus case, and must succeed.

A printed command names real files. A template (``freeze <checkpoint> --auto-outputs``,
``freeze CHECKPOINT_PREFIX --graph g.pb``) tells the user what to fill in; it is recognised by its
``<…>`` or upper-case placeholder and not run. Anything else in backquotes that starts with
``freeze``/``inspect`` and a word is a command and must exit 0 (it was printed, so it must work).
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from fixtures.registry import all_fixtures
from tests.corpus import corpus_cases

_FREEZE_WITH = re.compile(r"^\s*freeze with: (.+)$", re.M)
_BACKQUOTED = re.compile(r"`((?:freeze|inspect) [^`]+)`")
_TEMPLATE = re.compile(r"<[^>]+>|(?:^|\s)[A-Z][A-Z_]{2,}(?=\s|$|,)")


def _targets() -> list:
    """(inspect's arguments, id): every fixture, every corpus case folder and graph file, and each
    graph beside the checkpoint it was frozen from (``--checkpoint``, whose findings print commands)."""
    from fixtures.registry import DATA

    found = [pytest.param([str(f.full_path)], id=f"fixture:{f.name}") for f in all_fixtures()
             if f.full_path.exists()]
    found += [pytest.param([str(f.full_path), "--checkpoint", str(DATA / f.extra["checkpoint"])],
                           id=f"fixture:{f.name}+checkpoint")
              for f in all_fixtures() if "checkpoint" in f.extra]
    checkpoints = {}
    for case in corpus_cases():
        found.append(pytest.param([str(case.folder)], id=f"corpus:{case.case}"))
        for name in case.files:
            if name.endswith((".pb", ".pbtxt", ".meta")) and (case.folder / name).is_file():
                found.append(pytest.param([str(case.folder / name)], id=f"corpus:{case.case}/{name}"))
            if case.kind == "checkpoint" and name.endswith(".index"):
                checkpoints.setdefault(case.raw["repo"], str(case.folder / name[:-len(".index")]))
    for case in corpus_cases("frozen_pb"):  # a frozen graph against the checkpoint of its repository
        if case.raw["repo"] in checkpoints:
            args = [str(case.file(case.files[0])), "--checkpoint", checkpoints[case.raw["repo"]]]
            found.append(pytest.param(args, id=f"corpus:{case.case}+checkpoint"))
    return found


def printed_commands(text: str) -> tuple[list[str], list[str]]:
    """(commands to run, templates) in an ``inspect`` report."""
    commands, templates = [], []
    for command in _FREEZE_WITH.findall(text) + _BACKQUOTED.findall(text):
        (templates if _TEMPLATE.search(command) else commands).append(command.strip())
    return commands, templates


def _run(command: str, capsys) -> int:
    from freezer.cli import main as freeze_main
    from inspector.cli import main as inspect_main

    argv = shlex.split(command)
    return {"freeze": freeze_main, "inspect": inspect_main}[argv[0]](argv[1:])


@pytest.mark.parametrize("args", _targets())
def test_every_printed_command_succeeds(args, tmp_path, monkeypatch, capsys):
    from inspector.cli import main as inspect_main

    monkeypatch.chdir(tmp_path)  # freeze writes its default output into the current folder
    inspect_main(args)
    text = capsys.readouterr().out
    commands, _ = printed_commands(text)
    for command in commands:
        code = _run(command, capsys)
        captured = capsys.readouterr()
        assert code == 0, f"printed by `inspect {shlex.join(args)}`: {command}\n{captured.err}"


def test_the_command_finder_tells_commands_from_templates():
    text = ("  freeze with: freeze runs/a --outputs probs\n"
            "      fix: Freeze it: `freeze <checkpoint folder or prefix> --auto-outputs -o frozen.pb`, or "
            "`freeze CHECKPOINT_PREFIX --graph g.pb --outputs NAME`; then `inspect frozen.pb`; ckpt2pb's "
            "`freeze` rewrites ref ops.")
    commands, templates = printed_commands(text)
    assert commands == ["freeze runs/a --outputs probs", "inspect frozen.pb"]
    assert len(templates) == 2


def test_inspect_and_auto_outputs_choose_the_same_outputs(tmp_path):
    """One rule: the suggestion is what --auto-outputs freezes, group and all."""
    from freezer import freeze
    from inspector.report import inspect_path

    for fixture in all_fixtures():
        if fixture.kind != "checkpoint" or not fixture.freezable or not fixture.full_path.exists():
            continue
        report = inspect_path(str(fixture.full_path), top=1)
        if not report["freeze"]["argv"]:
            continue
        result = freeze(fixture.full_path, auto_outputs=True, output_path=tmp_path / f"{fixture.name}.pb")
        assert result.outputs == report["freeze"]["outputs"], fixture.name
    assert Path(tmp_path).exists()


#: Legal GraphDef node names a printed command must give back exactly: a comma (--outputs splits on
#: it), flags (argparse takes a leading '-' for one), spaces at either end (--outputs strips them),
#: shell syntax, quotes, a tensor-like suffix, a caret, '=' and non-ASCII.
HOSTILE_NAMES = ["head,tail", "-o", "--outputs", "-", " spaced ", "it's \"quoted\" $(rm -rf ~) `x` ;|&*",
                 "a:0", "^caret", "x=y", "ünï/code", "plain"]


@pytest.mark.parametrize("names", [[n] for n in HOSTILE_NAMES] + [HOSTILE_NAMES, ["plain", "other/x"]],
                         ids=lambda names: repr(names)[:40])
def test_printed_output_arguments_give_back_exactly_the_names(names):
    from freezer.cli import build_parser, requested_outputs
    from inspector.cli_common import output_arguments, path_argument, shell_line

    command = shell_line(["freeze", path_argument("-odd dir/model.ckpt-1"), *output_arguments(names)])
    argv = shlex.split(command)
    assert argv[0] == "freeze"
    args = build_parser().parse_args(argv[1:])
    assert requested_outputs(args) == names
    assert Path(args.path) == Path("-odd dir/model.ckpt-1")
    if names == ["plain", "other/x"]:
        assert command == "freeze './-odd dir/model.ckpt-1' --outputs plain,other/x"  # the short form


def test_names_with_control_characters_round_trip_through_bash():
    """Printing escapes control characters; the command quotes them as $'\\xNN' so it still works."""
    import shutil
    import subprocess

    from freezer.cli import build_parser, requested_outputs
    from inspector.cli_common import escape_controls, output_arguments, shell_line

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash on this machine")
    names = ["ctrl\x1b[2J\x07\rname", "bidi\u202etxt", "c1\x85,-x", "tab\there", "back\\slash'"]
    command = shell_line(["freeze", "m.ckpt", *output_arguments(names)])
    assert escape_controls(command) == command  # nothing in it for the terminal to act on
    out = subprocess.run([bash, "-c", "printf '%s\\0' " + command], capture_output=True, check=True).stdout
    argv = [os.fsdecode(word) for word in out.split(b"\0")[:-1]]
    assert requested_outputs(build_parser().parse_args(argv[1:])) == names


def test_inspect_suggests_a_freeze_that_keeps_hostile_output_names(tmp_path, monkeypatch, capsys):
    """End to end: the model's output is named 'head,tail' or '-o'; the printed command freezes it."""
    from freezer.cli import main as freeze_main
    from inspector.cli import main as inspect_main
    from inspector.proto import pb
    from tests.graphs import FLOAT, GraphBuilder

    monkeypatch.chdir(tmp_path)
    for output in ("head,tail", "-o", " x "):
        g = GraphBuilder()
        g.add("images", "Placeholder", dtype=FLOAT, shape=[-1, 2])
        g.const("w", [[1.0, 2.0], [3.0, 4.0]])
        g.add("logits", "MatMul", ["images", "w"], T=FLOAT)
        g.add(output, "Softmax", ["logits"], T=FLOAT)
        path = tmp_path / "-frozen.pb"
        path.write_bytes(g.graph_def.SerializeToString())
        assert inspect_main(["./-frozen.pb"]) == 0
        [command] = _FREEZE_WITH.findall(capsys.readouterr().out)
        argv = shlex.split(command)
        assert argv[0] == "freeze" and freeze_main([*argv[1:], "-o", "out.pb", "-q"]) == 0, command
        frozen = pb.GraphDef()
        frozen.ParseFromString((tmp_path / "out.pb").read_bytes())
        assert output in {node.name for node in frozen.node}, command
