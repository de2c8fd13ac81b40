"""The root exception: one line naming the file, the problem and the fix."""

from __future__ import annotations

from inspector.errors import Ckpt2pbError, ValidationError


def test_message_is_path_problem_and_fix_as_sentences():
    error = Ckpt2pbError("the header is short.", path="m.index", fix="copy the whole file")
    assert error.message == "m.index: the header is short. Copy the whole file."


def test_message_stays_one_line_whatever_a_quoted_name_holds():
    """A crafted node name may hold a newline or a carriage return (found by tests/fuzz: a freeze
    validation message quoting such a name was two lines)."""
    error = ValidationError("node 'a\nb\rc' has no input", path="f.pb", fix="check it\nagain")
    assert "\n" not in str(error) and "\r" not in str(error)
    assert "a\\nb\\rc" in str(error) and error.problem == "node 'a\nb\rc' has no input"
