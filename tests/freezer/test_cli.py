"""The freeze command: report, --json, exit codes."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from fixtures.registry import by_name
from freezer.cli import main, parse_feeds, parse_input_shapes, split_outputs
from inspector.errors import UsageError
from inspector.proto import pb

CNN = by_name("cnn_bn_momentum").full_path


def test_report_and_exit_code(tmp_path, capsys):
    out = tmp_path / "f.pb"
    assert main([str(CNN), "--outputs", "probabilities", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"-> {out}" in text
    assert "probabilities  Softmax  float32 [-1, 10]" in text
    assert "checks: 11/11 passed" in text
    assert out.is_file()


def test_quiet_prints_one_line_and_very_quiet_nothing(tmp_path, capsys):
    assert main([str(CNN), "--auto-outputs", "-o", str(tmp_path / "f.pb"), "-q"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1
    assert main([str(CNN), "--auto-outputs", "-o", str(tmp_path / "f.pb"), "-qq"]) == 0
    assert capsys.readouterr().out == ""


def test_json(tmp_path, capsys):
    assert main([str(CNN), "--outputs", "probabilities:0", "-o", str(tmp_path / "f.pb"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["outputs"] == ["probabilities"] and data["validation"]["ok"]


def test_unknown_output_is_exit_2_with_suggestions(tmp_path, capsys):
    assert main([str(CNN), "--outputs", "probabilites", "-o", str(tmp_path / "f.pb")]) == 2
    err = capsys.readouterr().err
    assert "Closest existing names: probabilities" in err and len(err.strip().splitlines()) == 1


def test_outputs_and_auto_are_exclusive(tmp_path, capsys):
    assert main([str(CNN), "--outputs", "a", "--auto-outputs"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.strip().splitlines() == [
        "freeze: error: argument --auto-outputs: not allowed with argument --outputs. "
        "Run `freeze --help` for the options."]


def test_bad_command_line_with_json_still_prints_one_json_object(capsys):
    assert main([str(CNN), "--json"]) == 2
    out, err = capsys.readouterr()
    problem = "one of the arguments --outputs --output-node --auto-outputs is required"
    assert json.loads(out) == {"error": "USAGE", "path": None, "problem": problem,
                               "fix": "run `freeze --help` for the options", "exit_code": 2}
    assert len(err.strip().splitlines()) == 1


def test_split_outputs_and_input_shapes():
    assert split_outputs(["a, b", "c:0"]) == ["a", "b", "c:0"]
    assert parse_input_shapes(["images=1,28,28,1", "k="]) == {"images": [1, 28, 28, 1], "k": []}
    assert parse_input_shapes(["a=b=1,2", "x,y=3"]) == {"a=b": [1, 2], "x,y": [3]}  # legal node names
    with pytest.raises(UsageError, match="comma-separated sizes"):
        parse_input_shapes(["images:1x28"])


def test_feeds_are_json_where_json_and_text_otherwise():
    assert parse_feeds(["keep_prob=1.0", "is_training=false", "ids=[[1, 2]]", "text=hello", "s="]) == {
        "keep_prob": 1.0, "is_training": False, "ids": [[1, 2]], "text": "hello", "s": ""}
    with pytest.raises(UsageError, match="not a name, '=' and a value"):
        parse_feeds(["keep_prob"])


def test_graph_option_freezes_a_checkpoint_saved_without_its_meta(tmp_path, capsys):
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    graph = tmp_path / "model.meta"
    (folder / "model.ckpt-300.meta").rename(graph)
    out = tmp_path / "f.pb"
    assert main([str(folder), "--auto-outputs", "-o", str(out)]) == 2
    assert "--graph" in capsys.readouterr().err
    assert main([str(folder), "--graph", str(graph), "--auto-outputs", "-o", str(out), "-q"]) == 0
    assert out.stat().st_size > 0
    assert ".meta is missing" not in capsys.readouterr().err  # --graph supplied it


def test_a_state_file_naming_a_deleted_step_is_a_warning_once(tmp_path, capsys):
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    for stale in folder.glob("model.ckpt-300.*"):
        stale.unlink()
    assert main([str(folder), "--auto-outputs", "-o", str(tmp_path / "f.pb")]) == 0
    out, err = capsys.readouterr()
    assert "model.ckpt-200 ->" in out and "warnings: 1 (see the WARNING lines on stderr)" in out
    assert "(model.ckpt-300) does not exist; using model.ckpt-200" not in out
    assert err.count("(model.ckpt-300) does not exist; using model.ckpt-200") == 1
    assert main([str(folder), "--auto-outputs", "-o", str(tmp_path / "f.pb"), "--json"]) == 0
    warnings = json.loads(capsys.readouterr().out)["validation"]["warnings"]
    assert any("does not exist; using model.ckpt-200" in w for w in warnings)


def test_a_state_file_naming_a_file_that_is_no_checkpoint_is_a_warning(tmp_path, capsys):
    """Issue 12 item 8: a state file naming an existing file that is no checkpoint ('../x') was
    exit 2 beside valid checkpoints; it falls back as for a deleted step, naming the unread file."""
    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    (tmp_path / "x").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (folder / "checkpoint").write_text('model_checkpoint_path: "../x"\n')
    assert main([str(folder), "--auto-outputs", "-o", str(tmp_path / "f.pb")]) == 0
    out, err = capsys.readouterr()
    assert "model.ckpt-300 ->" in out
    assert err.count(f"'../x' ({folder / '..' / 'x'}), is not a checkpoint") == 1 and "was not read" in err


@pytest.mark.parametrize("value", [",", "", " , "])
def test_empty_outputs_say_so(value, capsys):
    assert main([str(CNN), "--outputs", value]) == 2
    err = capsys.readouterr().err
    assert "names no node" in err and "exactly one of" not in err


def test_a_frozen_pb_is_pruned_and_a_bare_graph_says_which_checkpoint_it_needs(tmp_path, capsys):
    graphs = by_name("cnn_bn_momentum").full_path.parents[1] / "graphs"
    source = graphs / "frozen_with_summary.pb"  # the loss, labels and a summary ride along
    assert main([str(source), "--outputs", "probabilities", "-o", str(tmp_path / "p.pb")]) == 0
    assert "pruned the frozen graph" in capsys.readouterr().out
    kept = {n.name for n in pb.GraphDef.FromString((tmp_path / "p.pb").read_bytes()).node}
    original = {n.name for n in pb.GraphDef.FromString(source.read_bytes()).node}
    assert "probabilities" in kept and "loss_summary" in original - kept and "labels" not in kept
    assert main([str(graphs / "graph_only.pb"), "--auto-outputs", "-o", str(tmp_path / "f.pb")]) == 2
    err = capsys.readouterr().err
    assert "is not frozen: its 4 variable(s) ('hidden/kernel', 'hidden/bias', 'logits/kernel'" in err
    assert "freeze CHECKPOINT_PREFIX --graph" in err
    assert not (tmp_path / "f.pb").exists()


def test_options_that_would_do_nothing_or_surprise_are_warned_about(tmp_path, capsys):
    out = tmp_path / "f.pb"
    assert main([str(CNN), "--auto-outputs", "-o", str(out), "--input-shape", "images=1,28,28,1", "-q"]) == 0
    assert "without either it is ignored" in capsys.readouterr().err
    assert main([str(CNN), "--auto-outputs", "-o", str(out), "--as-text", "-q"]) == 0
    assert "prefer a .pbtxt name" in capsys.readouterr().err
    assert main([str(CNN), "--auto-outputs", "-o", str(tmp_path / "f.pbtxt"), "--as-text", "-q"]) == 0
    assert capsys.readouterr().err == ""
    assert main([str(CNN), "--auto-outputs", "-o", str(tmp_path / "f.pbtxt"), "-q"]) == 0
    assert "add --as-text" in capsys.readouterr().err


def test_help_teaches_with_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "exit codes" in out and "SavedModel" in out


def test_sigterm_while_writing_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    import os
    import signal

    from freezer import writer

    def killed_midway(out, *args, **kwargs):
        out.write(b"half a graph")
        out.flush()
        os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(writer, "write_binary", killed_midway)
    assert main([str(CNN), "--auto-outputs", "-o", str(tmp_path / "f.pb")]) == 143
    assert capsys.readouterr().err.strip() == "freeze: terminated"
    assert list(tmp_path.iterdir()) == []


def test_every_freeze_json_field_is_documented(tmp_path, capsys):
    import re
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "JSON.md").read_text()
    section = docs.split("## `freeze PATH --json`", 1)[1].split("## Errors", 1)[0]
    assert main([str(CNN), "--outputs", "probabilities", "-o", str(tmp_path / "f.pb"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    documented = set(re.findall(r'"(\w+)":', section))
    assert set(data) | set(data["validation"]) <= documented


def test_for_inference_reports_each_rewrite_and_target_its_findings(tmp_path, capsys):
    out = tmp_path / "f.pb"
    assert main([str(CNN), "--outputs", "probabilities", "-o", str(out), "--for-inference",
                 "--target", "opencv"]) == 0
    text = capsys.readouterr().out
    assert "for inference: fold_switches: 1 change(s)" in text
    assert "for inference: fold_batch_norms" in text
    assert "--target opencv: nothing found" in text
    assert main([str(CNN), "--outputs", "probabilities", "-o", str(out), "--target", "tflite", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["inference_rewrites"] == [] and report["target"]["runtime"] == "tflite"
    assert {f["code"] for f in report["target"]["findings"]} >= {"TARGET_TRAINING_SWITCH"}


def test_text_graph_nested_past_the_depth_limit_is_exit_2_in_one_line(tmp_path, capsys):
    from tests.inspector.readers.builders import nested_text

    deep = tmp_path / "deep.pbtxt"
    deep.write_text(nested_text(110))
    out = tmp_path / "f.pb"
    for argv in ([str(deep), "--outputs", "a"], [str(CNN), "--graph", str(deep), "--outputs", "a"]):
        assert main([*argv, "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "more than 100 levels deep" in err and "internal" not in err
    assert not out.exists()


def _with_index_dtype(tmp_path, key: str, value: int):
    """A copy of the CNN checkpoint whose .index entry ``key`` claims data type enum ``value``."""
    from inspector.readers.table import Table
    from tests.inspector.readers.builders import table

    folder = tmp_path / f"ckpt_{value}"
    shutil.copytree(CNN, folder)
    index = folder / "model.ckpt-300.index"
    rows = []
    for name, raw in Table(index.read_bytes(), index):
        raw = bytes(raw)
        if name == key.encode():
            entry = pb.BundleEntryProto()
            entry.ParseFromString(raw)
            entry.dtype = value
            raw = entry.SerializeToString()
        rows.append((bytes(name), raw))
    index.write_bytes(table(rows))
    return folder / "model.ckpt-300"


@pytest.mark.parametrize("value", [0, 99, 100, 150, 1000, -1])
def test_an_unknown_dtype_enum_of_a_frozen_variable_is_exit_2_naming_it(tmp_path, capsys, value):
    prefix = _with_index_dtype(tmp_path, "logits/kernel", value)
    out = tmp_path / "f.pb"
    assert main([str(prefix), "--outputs", "probabilities", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "internal" not in err
    assert f"variable 'logits/kernel' (checkpoint key 'logits/kernel') has data type enum value {value}," \
        in err
    assert "model.ckpt-300.index" in err and not out.exists()


def test_an_unknown_dtype_enum_of_a_variable_not_frozen_does_not_matter(tmp_path, capsys):
    prefix = _with_index_dtype(tmp_path, "logits/kernel/Momentum", 1000)  # an optimizer slot
    assert main([str(prefix), "--outputs", "probabilities", "-o", str(tmp_path / "f.pb"), "-q"]) == 0


@pytest.mark.parametrize("which", ["model.ckpt-300.data-00000-of-00001", "model.ckpt-300.index", "checkpoint",
                                   "--graph"])
def test_a_named_pipe_is_exit_2_in_one_line_not_a_hang(tmp_path, capsys, which):
    import os

    from tests.inspector.readers.builders import without_blocking

    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    fifo = tmp_path / "graph.pbtxt" if which == "--graph" else folder / which
    if which != "--graph":
        fifo.unlink()
    os.mkfifo(fifo)
    out = tmp_path / "f.pb"
    argv = [str(folder), "--auto-outputs", "-o", str(out)]
    argv += ["--graph", str(fifo)] if which == "--graph" else []
    assert without_blocking(lambda: main(argv), [fifo]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"freeze: error: {fifo}: is a named pipe (FIFO), not a regular file") and \
        err.count("\n") == 1
    assert not out.exists()


class _SwapOnFirstFlush:
    """The output file, except that its first flush (the writer's, right before it copies the
    first weight from the checkpoint) first runs ``swap``."""

    def __init__(self, file, swap) -> None:
        self._file, self._swap = file, swap

    def flush(self) -> None:
        swap, self._swap = self._swap, None
        if swap is not None:
            swap()
        self._file.flush()

    def __getattr__(self, name: str):
        return getattr(self._file, name)


@pytest.mark.parametrize("how", ["replaced", "rewritten in place"])
def test_a_shard_changed_between_check_and_copy_is_refused(tmp_path, capsys, monkeypatch, how):
    """Issue 12 item 5: freeze checked a shard's CRC through one open() and copied it through a
    second; a shard replaced in between (a trainer saving the same prefix again) froze the
    replacement's bytes with exit 0. Now: exit 2, one line, nothing written."""
    from freezer import writer

    folder = tmp_path / "ckpt"
    shutil.copytree(CNN, folder)
    shard = folder / "model.ckpt-300.data-00000-of-00001"
    original = shard.read_bytes()
    changed = bytes(b ^ 0x5A for b in original)  # same size, other weights

    def swap() -> None:
        if how == "replaced":
            (folder / "new.data").write_bytes(changed)
            os.replace(folder / "new.data", shard)
        else:
            with open(shard, "r+b") as fh:
                fh.write(changed)

    real_init = writer.AtomicOutput.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        self.file = _SwapOnFirstFlush(self.file, swap)

    monkeypatch.setattr(writer.AtomicOutput, "__init__", init)
    out = tmp_path / "out"
    out.mkdir()
    # one variable: the swap falls between its check and its copy (with several, the next one's
    # check used to notice the new file)
    code = main([str(folder / "model.ckpt-300"), "--outputs", "conv1/conv/kernel/read",
                 "-o", str(out / "f.pb")])
    err = capsys.readouterr().err.strip()
    assert shard.read_bytes() == changed  # the swap happened during the freeze
    assert code == 2, err
    assert len(err.splitlines()) == 1 and str(shard) in err
    assert ("changed while it was being frozen" if how == "replaced" else "checksum mismatch") in err
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("defect", ["output index", "unknown op", "input dtype"])
def test_a_graph_tensorflow_would_not_import_is_exit_3_and_nothing_written(tmp_path, capsys, defect):
    """Issue 12 item 11: freezing a graph that was already broken wrote it with exit 0 (161 of 1,622
    exit-0 freezes of mutated inputs failed import_graph_def); validation now refuses it."""
    import numpy as np

    from tests.graphs import FLOAT, INT32, GraphBuilder
    from tests.inspector.readers.builders import write_bundle

    g = GraphBuilder()
    g.placeholder("x")
    g.add("v", "VariableV2", dtype=FLOAT, shape=[2])
    g.add("v/read", "Identity", ["v"], T=FLOAT)
    g.add("mul", "Mul", ["x", "v/read"], T=FLOAT)
    if defect == "output index":
        g.add("out", "Identity", ["mul:1"], T=FLOAT)
    elif defect == "unknown op":
        g.add("out", "MyCustomActivation", ["mul"], T=FLOAT)
    else:
        g.add("n", "Placeholder", dtype=INT32)
        g.add("out", "AddV2", ["mul", "n"], T=FLOAT)
    meta = pb.MetaGraphDef()
    meta.graph_def.CopyFrom(g.graph_def)
    write_bundle(tmp_path / "model.ckpt", {"v": np.ones(2, np.float32)})
    (tmp_path / "model.ckpt.meta").write_bytes(meta.SerializeToString())
    out = tmp_path / "out"
    out.mkdir()
    code = main([str(tmp_path / "model.ckpt"), "--outputs", "out", "-o", str(out / "f.pb")])
    err = capsys.readouterr().err
    assert code == 3, err
    assert "TensorFlow can import it" in err and list(out.iterdir()) == []
