"""The `inspect` command end to end: text, --json schema, exit codes, errors, start-up imports."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from fixtures.registry import DATA
from inspector import cli

CNN = DATA / "checkpoints" / "cnn_bn_momentum"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lists_variables_with_the_documented_fields(capsys):
    code, out, _ = run(capsys, str(CNN), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["kind"] == "checkpoint"
    assert report["files"]["meta"].endswith(".meta")
    assert [s["step"] for s in report["steps"]] == [100, 200, 300]
    for row in report["variables"]:
        assert set(row) >= {"name", "dtype", "shape", "bytes", "kind"}
        assert isinstance(row["shape"], list) and all(isinstance(d, int) for d in row["shape"])
        assert row["kind"] in {"model", "optimizer", "bookkeeping"}
    kinds = {row["name"]: row["kind"] for row in report["variables"]}
    assert kinds["global_step"] == "bookkeeping"
    assert any(kind == "optimizer" for kind in kinds.values())
    totals = report["totals"]
    parts = totals["model_bytes"] + totals["optimizer_bytes"] + totals["bookkeeping_bytes"]
    assert parts == totals["total_bytes"]
    assert report["graph"]["nodes"] > 100
    assert report["outputs"][0]["name"] == "probabilities"
    assert {"name", "score", "op", "reasons"} <= set(report["outputs"][0])


def test_text_report_names_files_variables_and_the_best_output(capsys):
    code, out, _ = run(capsys, str(CNN))
    assert code == 0
    assert "model.ckpt-300.index" in out
    assert "Variables (" in out
    assert "1. probabilities" in out
    assert "freeze with: freeze" in out


def test_checkpoint_without_meta_still_lists_variables_and_says_why_no_outputs(capsys):
    code, out, _ = run(capsys, str(DATA / "checkpoints" / "no_meta"), "--json")
    report = json.loads(out)
    assert code == 0
    assert report["variables"] and report["outputs"] == [] and report["graph"] is None
    assert sum("model.ckpt-1.meta" in w for w in report["warnings"] + report["notes"]) == 1


def test_graph_option_supplies_the_graph_of_a_checkpoint_without_meta(capsys, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    graph = tmp_path / "graph.meta"
    (folder / "model.ckpt-300.meta").rename(graph)
    code, out, _ = run(capsys, str(folder), "--graph", str(graph), "--json")
    report = json.loads(out)
    assert code == 0 and report["warnings"] == []
    assert report["outputs"][0]["name"] == "probabilities"
    assert all(row["kind"] for row in report["variables"])


def test_missing_path_is_one_line_and_exit_2(capsys, tmp_path):
    code, out, err = run(capsys, str(tmp_path / "nope" / "model.ckpt-1"))
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "nope" in err


def test_truncated_index_is_a_clear_error(capsys, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    index = folder / "model.ckpt-300.index"
    index.write_bytes(index.read_bytes()[:30])
    code, _, err = run(capsys, str(folder / "model.ckpt-300"))
    assert code == 2
    assert "model.ckpt-300.index" in err and "Traceback" not in err


def test_graph_file_gets_a_verdict_and_exit_code(capsys):
    code, out, _ = run(capsys, str(DATA / "graphs" / "graph_only.pb"), "--json")
    report = json.loads(out)
    assert code == 1
    codes = {f["code"] for f in report["diagnosis"]["findings"]}
    assert "NOT_FROZEN" in codes
    code, out, _ = run(capsys, str(DATA / "graphs" / "healthy_mlp.pb"), "--json")
    assert code == 0 and json.loads(out)["diagnosis"]["verdict"] == "healthy"


def test_verbose_explains_exclusions(capsys):
    _, out, _ = run(capsys, str(CNN), "-v")
    assert "Excluded from the ranking" in out


def test_inspect_never_imports_tensorflow():
    code = (f"import sys; from inspector import cli; cli.main(['--json', {str(CNN)!r}]); "
            "print('TF', any(m.split('.')[0] == 'tensorflow' for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("TF False")


@pytest.mark.parametrize("argv", [["--help"]])
def test_help_teaches_with_examples(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit codes" in out


@pytest.mark.parametrize(("graph", "code", "expected"), [
    ("truncated.pb", 2, "TRUNCATED"),
    ("html_page.pb", 2, "NOT_PROTOBUF"),
    ("meta_as_graph.meta", None, "NOT_A_GRAPHDEF"),
    ("saved_model_tf1/saved_model.pb", None, "NOT_A_GRAPHDEF"),
])
def test_graph_files_named_directly_are_diagnosed(capsys, graph, code, expected):
    exit_code, out, _ = run(capsys, str(DATA / "graphs" / graph), "--json")
    report = json.loads(out)
    assert expected in {f["code"] for f in report["diagnosis"]["findings"]}
    if code is not None:
        assert exit_code == code


def test_bad_command_line_is_one_line_and_a_json_object_with_json(capsys):
    code, out, err = run(capsys, str(CNN), "--top", "abc", "--json")
    assert code == 2
    assert json.loads(out)["problem"] == "argument --top: invalid int value: 'abc'"
    assert err.strip().splitlines() == ["inspect: error: argument --top: invalid int value: 'abc'. "
                                        "Run `inspect --help` for the options."]


def test_unwritable_log_file_is_a_usage_error_not_a_traceback(capsys, tmp_path):
    code, out, err = run(capsys, str(CNN), "--log-file", str(tmp_path / "missing" / "log.txt"), "--json")
    assert code == 2
    assert json.loads(out)["error"] == "USAGE"
    assert "cannot write the log file" in err and len(err.strip().splitlines()) == 1


def test_internal_error_with_json_is_still_one_json_object(capsys, monkeypatch):
    import inspector.report

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(inspector.report, "inspect_path", broken)
    code, out, err = run(capsys, str(CNN), "--json")
    assert code == 70
    assert json.loads(out) == {"error": "INTERNAL", "path": None, "problem": "RuntimeError: boom",
                               "fix": None, "exit_code": 70}
    assert err.startswith("inspect: internal error: RuntimeError: boom. This is a bug")


def test_two_differently_named_checkpoints_in_one_folder_are_both_named(capsys, tmp_path):
    folder = tmp_path / "two models"
    folder.mkdir()
    for step, name in ((200, "model3conv"), (300, "model4conv")):
        for file in CNN.glob(f"model.ckpt-{step}.*"):
            shutil.copy(file, folder / file.name.replace(f"model.ckpt-{step}", name))
    code, out, _ = run(capsys, str(folder), "-q")
    assert code == 0
    line = next(line for line in out.splitlines() if line.lstrip().startswith("checkpoints"))
    assert "model3conv" in line and "model4conv" in line and "(showing " in line


def test_a_meta_given_alone_is_listed_once(capsys):
    _, out, _ = run(capsys, str(DATA / "graphs" / "meta_as_graph.meta"), "-q")
    assert sum(line.lstrip().startswith("graph ") for line in out.splitlines()) == 1


@pytest.mark.parametrize("victim", ["model.ckpt-300.index", "model.ckpt-300.meta", "checkpoint"])
def test_log_file_never_appends_to_a_checkpoint_file(capsys, tmp_path, victim):
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    before = (folder / victim).read_bytes()
    code, _, err = run(capsys, str(folder), "--log-file", str(folder / victim))
    assert code == 2 and "appending the log would damage it" in err
    assert (folder / victim).read_bytes() == before
    log = tmp_path / "inspect.log"
    log.write_text("an earlier run\n")
    assert run(capsys, str(folder), "--log-file", str(log), "-q")[0] == 0


@pytest.mark.parametrize("meta", [b"", b"\x8f\xff garbage \x00" * 40])
def test_a_damaged_meta_still_lists_the_variables_like_a_missing_one(capsys, tmp_path, meta):
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    (folder / "model.ckpt-300.meta").write_bytes(meta)
    code, out, err = run(capsys, str(folder), "--json")
    report = json.loads(out)
    assert code == 0 and err == ""
    assert report["variables"] and report["graph"] is None and report["files"]["meta"] is None
    assert any("model.ckpt-300.meta" in w and "--graph" in w for w in report["warnings"])


def test_sigterm_is_reported_like_an_interrupt_and_the_handler_restored(capsys, monkeypatch):
    import os
    import signal

    import inspector.report

    def killed(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("SIGTERM did not interrupt")

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(inspector.report, "inspect_path", killed)
    code, out, err = run(capsys, str(CNN), "--json")
    assert code == 143 and json.loads(out)["error"] == "TERMINATED"
    assert err.strip() == "inspect: terminated"
    assert signal.getsignal(signal.SIGTERM) == before


def test_the_suggested_freeze_command_can_be_pasted_for_a_path_with_spaces(capsys, tmp_path):
    import shlex

    folder = tmp_path / "my run ü"
    shutil.copytree(CNN, folder)
    _, out, _ = run(capsys, str(folder), "-q")
    command = next(line for line in out.splitlines() if "freeze with:" in line).split("freeze with: ")[1]
    assert shlex.split(command) == ["freeze", str(folder), "--outputs", "probabilities"]


def test_very_quiet_prints_only_error_findings(capsys):
    code, out, _ = run(capsys, str(CNN), "-qq")
    assert code == 0 and out == ""
    code, out, _ = run(capsys, str(DATA / "graphs" / "cycle.pb"), "-qq")
    assert code == 1 and out.startswith(f"{DATA / 'graphs' / 'cycle.pb'}: CYCLE: ") and out.count("\n") == 1


def test_checkpoint_option_on_a_checkpoint_says_it_was_not_used(capsys):
    code, out, _ = run(capsys, str(CNN), "--checkpoint", str(CNN), "--json")
    assert code == 0
    assert any("--checkpoint compares a graph file" in note for note in json.loads(out)["notes"])


def test_an_unreadable_graph_file_also_gets_one_line_on_stderr(capsys):
    code, out, err = run(capsys, str(DATA / "graphs" / "truncated.pb"), "--json")
    assert code == 2 and json.loads(out)["diagnosis"]["findings"][0]["code"] == "TRUNCATED"
    assert err.startswith(f"inspect: error: {DATA / 'graphs' / 'truncated.pb'}: TRUNCATED: ")
    assert err.count("\n") == 1
    code, out, err = run(capsys, str(DATA / "graphs" / "truncated.pb"), "-qq")
    assert code == 2 and out == "" and err.count("\n") == 1


# -- --html / --dot (inspector/view) ---------------------------------------------------------------

def test_html_and_dot_are_written_and_the_json_is_unchanged(capsys, tmp_path):
    _, plain, _ = run(capsys, str(CNN), "--json")
    page, dot = tmp_path / "view.html", tmp_path / "view.dot"
    code, out, err = run(capsys, str(CNN), "--json", "--html", str(page), "--dot", str(dot))
    assert code == 0 and json.loads(out) == json.loads(plain)
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert dot.read_text(encoding="utf-8").startswith("digraph condensed {")
    assert f"wrote {page}" in err and f"wrote {dot}" in err
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_html_never_overwrites_an_input(capsys, tmp_path):
    graph = tmp_path / "model.pb"
    shutil.copy(DATA / "graphs" / "healthy_mlp.pb", graph)
    before = graph.read_bytes()
    code, _, err = run(capsys, str(graph), "--html", str(graph))
    assert code == 2 and "names one of the files being inspected" in err
    assert graph.read_bytes() == before


def test_dot_without_a_graph_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, str(DATA / "checkpoints" / "no_meta"), "--dot", str(tmp_path / "x.dot"))
    assert code == 2 and "no graph to draw" in err and not (tmp_path / "x.dot").exists()


def test_the_view_modules_load_only_when_asked():
    code = (f"import sys; from inspector import cli; cli.main(['--json', {str(CNN)!r}]); "
            "print('VIEW', 'inspector.view' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("VIEW False")


def test_json_holds_everything_verbose_prints_and_the_same_top(capsys):
    from inspector import cli, report

    assert cli.DEFAULT_TOP == report.DEFAULT_TOP
    code, out, _ = run(capsys, str(CNN), "--json")
    data = json.loads(out)
    assert code == 0 and data["excluded"] and len(data["outputs"]) <= report.DEFAULT_TOP
    assert {e["reason"] for e in data["excluded"]} == \
        {e["reason"] for e in report.inspect_path(str(CNN), verbose=True)["excluded"]}
    code, text, _ = run(capsys, str(CNN), "-v")
    assert all(e["reason"] in text for e in data["excluded"])
    assert all(row["role"] == row["group"] for row in data["inputs"])
    assert data["freeze"]["argv"][:2] == ["freeze", str(CNN)] and data["freeze"]["command"] in text


def test_saved_model_tags_and_signatures_are_reported_in_text_and_json(capsys):
    _, out, _ = run(capsys, str(DATA / "graphs" / "saved_model_tf1"), "--json")
    (meta,) = json.loads(out)["saved_model"]["meta_graphs"]
    assert meta["tags"] == ["serve"] and meta["analysed"]
    assert meta["signatures"] == [{"name": "serving_default", "method": "tensorflow/serving/predict",
                                   "inputs": {"features": "features:0"},
                                   "outputs": {"probabilities": "probabilities:0"}}]
    _, text, _ = run(capsys, str(DATA / "graphs" / "saved_model_tf1"))
    assert "signature serving_default (predict): features=features:0 -> probabilities=probabilities:0" in text


def test_a_saved_model_without_serve_tag_or_signature_says_so(tmp_path, capsys):
    from inspector.proto import pb

    folder = tmp_path / "export"
    shutil.copytree(DATA / "graphs" / "saved_model_tf1", folder)
    saved = pb.SavedModel.FromString((folder / "saved_model.pb").read_bytes())
    meta = saved.meta_graphs[0]
    del meta.meta_info_def.tags[:]
    meta.meta_info_def.tags.append("train")
    meta.signature_def.clear()
    (folder / "saved_model.pb").write_bytes(saved.SerializeToString())
    _, out, _ = run(capsys, str(folder), "--json")
    report = json.loads(out)
    assert report["saved_model"]["meta_graphs"][0]["signatures"] == []
    assert any("tagged 'serve' (its tags: train)" in w for w in report["warnings"])
    assert any("has no signature" in w for w in report["warnings"])
    _, text, _ = run(capsys, str(folder))
    assert "meta graph tagged train" in text and "no signature" in text


def test_every_inspect_json_field_is_documented(capsys):
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "JSON.md").read_text()
    section = docs.split("## `inspect PATH --json`", 1)[1].split("## `freeze PATH --json`", 1)[0]
    _, out, _ = run(capsys, str(CNN), "--json")
    data = json.loads(out)
    documented = set(re.findall(r'"(\w+)":', section))
    assert set(data) | set(data["freeze"]) | set(data["mapping"]) | set(data["inputs"][0]) <= documented


def test_target_names_what_a_runtime_cannot_load(capsys):
    code, out, _ = run(capsys, str(DATA / "graphs" / "healthy_rnn_while.pb"), "--target", "tflite")
    assert code == 0 and "TARGET_CONTROL_FLOW" in out and "no graph fix: runtime limit" in out
    code, out, _ = run(capsys, str(DATA / "checkpoints" / "cnn_bn_momentum"), "--target", "opencv", "--json")
    assert "--for-inference" in json.loads(out)["target"]["text"]


def test_text_graph_nested_past_the_depth_limit_is_exit_2_in_one_line(tmp_path, capsys):
    from tests.inspector.readers.builders import nested_text

    deep = tmp_path / "deep.pbtxt"
    deep.write_text(nested_text(110))
    code, _, err = run(capsys, str(deep))
    assert code == 2 and err.count("\n") == 1 and "more than 100 levels deep" in err
    code, _, err = run(capsys, str(CNN), "--graph", str(deep))
    assert code == 2 and err.count("\n") == 1 and "more than 100 levels deep" in err


@pytest.mark.parametrize("which", ["model.ckpt-300.data-00000-of-00001", "model.ckpt-300.meta", "graph"])
def test_a_named_pipe_is_exit_2_in_one_line_not_a_hang(tmp_path, capsys, which):
    import os

    from tests.inspector.readers.builders import without_blocking

    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    fifo = tmp_path / "graph.pb" if which == "graph" else folder / which
    if which != "graph":
        fifo.unlink()
    os.mkfifo(fifo)
    argv = [str(fifo)] if which == "graph" else [str(folder)]
    code, _, err = without_blocking(lambda: run(capsys, *argv), [fifo])
    assert code == 2 and err == (
        f"inspect: error: {fifo}: is a named pipe (FIFO), not a regular file: reading it could wait for a "
        "writer forever or never end. Pass the file itself (save what the pipe or device delivers to a "
        "regular file first).\n")
