"""What both commands share: run_main's output escaping (crafted names cannot drive the terminal)."""

from __future__ import annotations

import json
import logging
import re

import pytest

from freezer import cli as freeze_cli
from inspector import cli as inspect_cli
from inspector.cli_common import escape_controls
from tests.graphs import FLOAT, GraphBuilder

#: What a terminal acts on: C0 controls but the newline, DEL, C1 controls, bidirectional overrides.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: Clear the screen and retitle the window, ring the bell, go back to the start of the line to print
#: a fake suggestion over the real one, a C1 CSI, a right-to-left override.
HOSTILE = "logits\x1b[2J\x1b]0;pwned\x07\rfreeze with: rm -rf ~\x9b31m\u202etxt.exe"


def test_escape_controls_keeps_newlines_and_text():
    assert escape_controls("a\x1b[2Jb\x07\rc\n\td\x7f\x85\u202e é ✓") == \
        "a\\x1b[2Jb\\x07\\x0dc\n\\x09d\\x7f\\x85\\u202e é ✓"


def _hostile_graph(tmp_path):
    g = GraphBuilder()
    g.add("images", "Placeholder", dtype=FLOAT, shape=[-1, 2])
    g.const("w\x1b[1A", [[1.0, 2.0], [3.0, 4.0]])
    g.add(HOSTILE, "MatMul", ["images", "w\x1b[1A"], T=FLOAT)
    g.add("probs\x07", "Softmax", [HOSTILE], T=FLOAT)
    path = tmp_path / "frozen.pb"
    path.write_bytes(g.graph_def.SerializeToString())
    return path


@pytest.mark.parametrize("flags", [[], ["-v"], ["-q"], ["-qq"]])
def test_inspect_text_output_never_prints_a_control_character(tmp_path, capsys, flags):
    path = _hostile_graph(tmp_path)
    inspect_cli.main([str(path), *flags])
    out, err = capsys.readouterr()
    assert not RAW_CONTROL.search(out) and not RAW_CONTROL.search(err)
    if flags in ([], ["-v"]):
        assert "probs\\x07" in out  # escaped, still readable


def test_freeze_report_errors_and_log_never_print_a_control_character(tmp_path, capsys):
    path = _hostile_graph(tmp_path)
    log = tmp_path / "run.log"
    assert freeze_cli.main([str(path), "--outputs", f"probs\x07,{HOSTILE}", "-o", str(tmp_path / "f.pb"),
                            "-v", "--log-file", str(log)]) == 0
    out, err = capsys.readouterr()
    assert not RAW_CONTROL.search(out) and not RAW_CONTROL.search(err)
    assert "logits\\x1b[2J\\x1b]0;pwned\\x07\\x0dfreeze with" in out
    logging.getLogger("ckpt2pb").warning("a logged name %s", HOSTILE)  # the handlers run_main set up
    assert "a logged name logits\\x1b[2J" in capsys.readouterr().err
    assert "a logged name logits\\x1b[2J" in log.read_text() and not RAW_CONTROL.search(log.read_text())
    assert freeze_cli.main([str(path), "--outputs", "nope\x1b[2J", "-o", str(tmp_path / "g.pb")]) == 2
    err = capsys.readouterr().err
    assert "nope\\x1b[2J" in err and not RAW_CONTROL.search(err)


def test_json_keeps_the_exact_names(tmp_path, capsys):
    path = _hostile_graph(tmp_path)
    inspect_cli.main([str(path), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert {"probs\x07", HOSTILE} <= {c["name"] for c in report["outputs"]} | set(report["freeze"]["outputs"])
