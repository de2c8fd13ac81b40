"""Finding / Diagnosis: codes, verdict, exit codes, JSON shape and rendering."""

from __future__ import annotations

import json

import pytest

from inspector.diagnosis.findings import CODES, Diagnosis, Finding
from inspector.errors import EXIT_FINDINGS, EXIT_OK, EXIT_UNREADABLE


def _finding(code: str = "NO_INPUTS", severity: str = "warning") -> Finding:
    return Finding(code, severity, "what is wrong", "what to do", {"node": "x"})


def test_unknown_code_and_severity_are_rejected():
    with pytest.raises(ValueError, match="unknown finding code"):
        Finding("SOMETHING", "error", "m", "f")
    with pytest.raises(ValueError, match="unknown severity"):
        Finding("CYCLE", "fatal", "m", "f")


def test_no_findings_is_healthy_exit_0():
    diagnosis = Diagnosis([])
    assert (diagnosis.verdict, diagnosis.exit_code, diagnosis.readable) == ("healthy", EXIT_OK, True)
    assert diagnosis.to_json() == {"verdict": "healthy", "findings": []}


def test_info_only_stays_healthy():
    assert Diagnosis([_finding("TRAINING_LEFTOVERS", "info")]).verdict == "healthy"


def test_warning_means_findings_but_exit_0():
    diagnosis = Diagnosis([_finding("TEXT_FORMAT", "warning")])
    assert (diagnosis.verdict, diagnosis.exit_code) == ("findings", EXIT_OK)


def test_error_means_exit_1_and_unreadable_exit_2():
    assert Diagnosis([_finding("CYCLE", "error")]).exit_code == EXIT_FINDINGS
    truncated = Diagnosis([_finding("TRUNCATED", "error")])
    assert (truncated.exit_code, truncated.readable) == (EXIT_UNREADABLE, False)


def test_findings_sorted_by_severity_and_json_shape():
    diagnosis = Diagnosis([_finding("TRAINING_LEFTOVERS", "info"), _finding("NO_INPUTS", "warning"),
                           _finding("CYCLE", "error")])
    assert diagnosis.codes == ["CYCLE", "NO_INPUTS", "TRAINING_LEFTOVERS"]
    document = json.loads(json.dumps(diagnosis.to_json()))
    assert document["verdict"] == "findings"
    assert set(document["findings"][0]) == {"code", "severity", "message", "fix", "evidence"}
    assert document["findings"][0]["evidence"] == {"node": "x"}


def test_render_names_verdict_codes_and_fixes():
    text = Diagnosis([_finding("CYCLE", "error")], path="m.pb").render()
    assert text.splitlines()[0] == "m.pb: findings (1 error)"
    assert f"[error] CYCLE: {CODES['CYCLE']}" in text
    assert "fix: what to do" in text
    assert Diagnosis([], path="m.pb").render() == "m.pb: healthy — no problems found."
