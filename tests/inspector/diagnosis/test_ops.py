"""UNREGISTERED_OP against the shipped TF 2.21 op registry, with providers for known ops."""

from __future__ import annotations

from inspector.diagnosis import ops
from tests.graphs import FLOAT
from tests.inspector.diagnosis.graphs import mlp


def test_registered_graph_has_no_finding():
    assert ops.check_unregistered_ops(mlp().index()) == []


def test_known_and_unknown_ops_are_reported_with_providers():
    g = mlp()
    g.add("warp", "Resampler", ["x", "x"], T=FLOAT)
    g.add("warp2", "Resampler", ["x", "x"], T=FLOAT)
    g.add("mine", "MyOwnOp", ["warp"])
    g.add("tfa", "Addons>GatherTree", ["x"])
    (finding,) = ops.check_unregistered_ops(g.index())
    evidence = finding.evidence["ops"]
    assert sorted(evidence) == ["Addons>GatherTree", "MyOwnOp", "Resampler"]
    assert evidence["Resampler"]["count"] == 2
    assert "tf.contrib.resampler" in evidence["Resampler"]["provided_by"]
    assert "TensorFlow Addons" in evidence["Addons>GatherTree"]["provided_by"]
    assert evidence["MyOwnOp"]["provided_by"] is None
    assert "MyOwnOp" in finding.fix and "tf.load_op_library" in finding.fix


def test_function_names_used_as_ops_are_fine_and_function_bodies_are_checked():
    g = mlp()
    function = g.graph_def.library.function.add()
    function.signature.name = "my_function"
    function.node_def.add(name="inner", op="PriorBox")
    g.add("call", "my_function", ["x"])
    (finding,) = ops.check_unregistered_ops(g.index())
    assert finding.evidence["ops"]["PriorBox"]["nodes"] == ["my_function/inner"]
    assert "OpenCV" in finding.evidence["ops"]["PriorBox"]["provided_by"]


def test_installed_version_comes_from_metadata_and_a_mismatch_is_noted(monkeypatch):
    g = mlp()
    g.add("mine", "MyOwnOp", ["x"])
    monkeypatch.setattr(ops, "installed_tensorflow", lambda: "2.15.1")
    (finding,) = ops.check_unregistered_ops(g.index())
    assert finding.evidence["installed_tensorflow"] == "2.15.1"
    assert "TensorFlow 2.15.1 is installed" in finding.message
