"""The DOT file: the first view's boxes, generated ids, every label escaped."""

from __future__ import annotations

import re

import pytest

from inspector import inspect_path
from inspector.errors import UsageError
from inspector.view import render_dot
from inspector.view.dot import quote
from tests.inspector.view.views import FROZEN_WITH_FINDINGS, TRAINING_CHECKPOINT, hostile_graph

_STRING = r'"(?:[^"\\]|\\.)*"'


def _unquoted(dot: str) -> str:
    """The DOT text with every quoted string removed: what Graphviz parses as syntax."""
    return re.sub(_STRING, '""', dot)


def test_the_dot_file_is_well_formed_and_marks_outputs_path_findings_and_machinery():
    dot = render_dot(str(FROZEN_WITH_FINDINGS))
    syntax = _unquoted(dot)
    assert syntax.startswith("digraph condensed {") and syntax.count("{") == syntax.count("}")
    best = inspect_path(str(FROZEN_WITH_FINDINGS))["outputs"][0]
    assert f"#1  {best['score']:.2f}" in dot and "BATCHNORM_TRAINING_MODE" in dot and "dodgerblue3" in dot
    assert re.search(r"\bn\d+ -> n\d+", dot)
    checkpoint = render_dot(str(TRAINING_CHECKPOINT))
    assert "cluster_machinery" in checkpoint and "gradients" in checkpoint


def test_hostile_names_cannot_leave_their_quoted_label(tmp_path):
    dot = render_dot(str(hostile_graph(tmp_path)))
    syntax = _unquoted(dot)
    assert "script" not in syntax and "pwned" not in syntax and "bold" not in syntax
    assert "\x01" not in dot and "\u202e" not in dot and "\\x01" in dot
    assert all(re.fullmatch(r"[\w\s{}\[\]=;,.\->#\"+]*", line) for line in syntax.splitlines())


@pytest.mark.parametrize(("text", "expected"), [
    ('a"b', r'"a\"b"'), ("a\\n", r'"a\\n"'), ("x\x07", r'"x\\x07"'), ("\u202eabc", r'"\\u202eabc"'),
])
def test_quote(text, expected):
    assert quote(text) == expected


def test_no_graph_no_dot():
    with pytest.raises(UsageError):
        render_dot(str(TRAINING_CHECKPOINT.parent / "no_meta"))
