"""freeze() end to end without TensorFlow: every fixture and corpus checkpoint, explicit and auto outputs."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from google.protobuf import text_format

from fixtures.registry import all_fixtures
from freezer import api, freeze, writer
from freezer.validate import Check
from inspector.errors import UnreadableInputError, UsageError, ValidationError
from inspector.proto import pb
from inspector.readers.checkpoint import open_checkpoint
from tests.corpus import (
    assert_missing_shard_refused,
    corpus_params,
    missing_data_shards,
    unrestorable_variables,
)

CHECKPOINTS = [f for f in all_fixtures() if f.kind == "checkpoint"]
FREEZABLE = [pytest.param(f, id=f.name) for f in CHECKPOINTS if f.freezable and f.full_path.exists()]
CNN = next(f for f in CHECKPOINTS if f.name == "cnn_bn_momentum")


def _check_result(result, outputs=None):
    assert result.validation.ok, result.validation.to_json()
    graph = pb.GraphDef.FromString(result.output_path.read_bytes())
    names = {n.name for n in graph.node}
    assert set(outputs or result.outputs) <= names
    with open_checkpoint(result.checkpoint) as reader:  # every folded weight is the checkpoint's bytes
        consts = {n.name: n for n in graph.node if n.op == "Const"}
        for folded in result.validation.folded:
            expected = reader.read(folded["key"])
            if folded["partition"]:
                expected = expected[tuple(slice(s, s + n) for s, n in folded["partition"])]
            tensor = consts[folded["node"]].attr["value"].tensor
            if expected.dtype == object:
                assert list(tensor.string_val) == [bytes(v) for v in expected.ravel()]
            else:
                assert tensor.tensor_content == np.ascontiguousarray(expected).tobytes()
    ops = {n.op for n in graph.node}
    assert not ops & {"VariableV2", "VarHandleOp", "Assign", "AssignSub", "RefSwitch", "SaveV2"}
    return graph


@pytest.mark.parametrize("fixture", FREEZABLE)
def test_fixture_freezes_with_explicit_outputs(fixture, tmp_path):
    result = freeze(fixture.full_path, outputs=list(fixture.expected_outputs), output_path=tmp_path / "f.pb")
    _check_result(result, fixture.expected_outputs)
    assert result.outputs_chosen_by == "user"


@pytest.mark.parametrize("fixture", FREEZABLE)
def test_fixture_freezes_with_auto_outputs(fixture, tmp_path):
    result = freeze(fixture.full_path, auto_outputs=True, output_path=tmp_path / "f.pb")
    _check_result(result)
    assert result.outputs_chosen_by == "ranking" and result.outputs


@pytest.mark.parametrize("case", corpus_params("checkpoint"))
def test_corpus_checkpoint_freezes(case, tmp_path):
    if not case.expected_outputs:
        with pytest.raises(UsageError, match=r"no \.meta"):
            freeze(case.folder, auto_outputs=True, output_path=tmp_path / "f.pb")
        return
    if missing_data_shards(case):
        assert_missing_shard_refused(case, lambda: freeze(
            case.folder, outputs=list(case.expected_outputs), output_path=tmp_path / "e.pb"))
        assert not (tmp_path / "e.pb").exists()
        return
    missing = unrestorable_variables(case)
    if missing:  # the checkpoint cannot give the outputs their values: say which, and why
        with pytest.raises(UnreadableInputError) as info:
            freeze(case.folder, outputs=list(case.expected_outputs), output_path=tmp_path / "e.pb")
        assert info.value.code in ("NEVER_SAVED", "NOT_IN_CHECKPOINT") and repr(missing[0]) in str(info.value)
        assert not (tmp_path / "e.pb").exists()
        return
    explicit = freeze(case.folder, outputs=list(case.expected_outputs), output_path=tmp_path / "e.pb")
    _check_result(explicit, case.expected_outputs)
    _check_result(freeze(case.folder, auto_outputs=True, output_path=tmp_path / "a.pb"))


def test_default_output_goes_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = freeze(CNN.full_path, outputs=["probabilities:0"])
    assert result.output_path == tmp_path / "model.ckpt-300_frozen.pb"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.ckpt-300_frozen.pb"]


def test_text_output(tmp_path):
    result = freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pbtxt", as_text=True)
    graph = text_format.Parse(result.output_path.read_text(), pb.GraphDef())
    binary = freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pb")
    assert graph == pb.GraphDef.FromString(binary.output_path.read_bytes())


def test_keep_devices(tmp_path):
    result = freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pb",
                    clear_devices=False)
    assert result.validation.ok


def test_never_overwrites_an_input(tmp_path):
    meta = CNN.full_path / "model.ckpt-300.meta"
    before = meta.read_bytes()
    with pytest.raises(UsageError, match="one of the inputs"):
        freeze(CNN.full_path, outputs=["probabilities"], output_path=meta)
    assert meta.read_bytes() == before


@pytest.mark.parametrize("sibling", ["model.ckpt-200.index", "model.ckpt-100.data-00000-of-00001",
                                     "model.ckpt-200.meta"])
def test_never_overwrites_another_saved_step_beside_the_input(tmp_path, sibling):
    folder = tmp_path / "run"
    shutil.copytree(CNN.full_path, folder)
    before = (folder / sibling).read_bytes()
    with pytest.raises(UsageError, match="one of the inputs"):
        freeze(folder, outputs=["probabilities"], output_path=folder / sibling)
    assert (folder / sibling).read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in CNN.full_path.iterdir())


def test_bad_requests(tmp_path):
    with pytest.raises(UsageError, match="exactly one"):
        freeze(CNN.full_path, output_path=tmp_path / "f.pb")
    with pytest.raises(UsageError, match="exactly one"):
        freeze(CNN.full_path, outputs=["a"], auto_outputs=True, output_path=tmp_path / "f.pb")
    with pytest.raises(UsageError, match="Closest existing names: probabilities"):
        freeze(CNN.full_path, outputs=["probabilites"], output_path=tmp_path / "f.pb")
    no_meta = next(f for f in CHECKPOINTS if f.name == "no_meta")
    with pytest.raises(UsageError, match=r"no \.meta graph"):
        freeze(no_meta.full_path, auto_outputs=True, output_path=tmp_path / "f.pb")
    with pytest.raises(UnreadableInputError):
        freeze(tmp_path / "nothing_here", auto_outputs=True, output_path=tmp_path / "f.pb")
    assert list(tmp_path.iterdir()) == []


def test_too_large_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.setattr(writer, "MAX_GRAPH_BYTES", 1000)
    with pytest.raises(ValidationError, match="2 GiB") as info:
        freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pb")
    assert info.value.code == "TOO_LARGE"
    assert list(tmp_path.iterdir()) == []


def test_failed_validation_leaves_nothing(tmp_path, monkeypatch):
    real = api.validate

    def failing(*args, **kwargs):
        report = real(*args, **kwargs)
        report.checks.append(Check("forced", False, "for the test"))
        return report

    monkeypatch.setattr(api, "validate", failing)
    with pytest.raises(ValidationError, match=r"\[forced\] for the test"):
        freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pb")
    assert list(tmp_path.iterdir()) == []


def test_json_report_shape(tmp_path):
    data = freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pb").to_json()
    assert data["outputs"] == ["probabilities"]
    assert data["validation"]["nodes_after"] < data["validation"]["nodes_before"]
    assert data["validation"]["outputs"][0]["dtype"] == "float32"
    assert {r["reason"].split(" (")[0] for r in data["validation"]["left_out"]} >= {"optimizer slot"}
    assert data["verification"] is None


def test_moving_averages_requested_but_absent_is_a_warning(tmp_path):
    result = freeze(CNN.full_path, outputs=["probabilities"], output_path=tmp_path / "f.pb",
                    use_moving_averages=True)
    assert result.validation.ok
    assert any("no ExponentialMovingAverage shadow" in w for w in result.warnings)
    assert not any(f["moving_average"] for f in result.validation.folded)


def test_a_facenet_style_stepless_meta_is_paired_and_freezes(tmp_path):
    source = CNN.full_path / "model.ckpt-300"
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(str(source) + suffix, tmp_path / f"model-20180402-114759.ckpt-300{suffix}")
    shutil.copy(str(source) + ".meta", tmp_path / "model-20180402-114759.meta")
    (tmp_path / "out").mkdir()
    result = freeze(tmp_path, outputs=["probabilities"], output_path=tmp_path / "out" / "f.pb")
    _check_result(result)
    assert any("saved once without the step" in w for w in result.warnings)
