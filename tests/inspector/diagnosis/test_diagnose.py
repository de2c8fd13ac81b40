"""diagnose_path over every diagnosis fixture and the corpus: exact codes, no false findings."""

from __future__ import annotations

import pytest

from fixtures.builders import diagnosis as diagnosis_fixtures
from fixtures.registry import DATA, all_fixtures
from inspector.diagnosis import diagnose_graph, diagnose_path
from inspector.diagnosis.fileformat import read_for_diagnosis
from tests.corpus import corpus_params

FIXTURES = diagnosis_fixtures.FIXTURES
GRAPH_KINDS = ("frozen_pb", "pbtxt")


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_fixture_gives_exactly_its_expected_codes(fixture):
    diagnosis = diagnose_path(fixture.full_path)
    assert sorted(diagnosis.codes) == sorted(fixture.expected_findings), diagnosis.render()
    assert diagnosis.verdict == ("findings" if any(f.severity != "info" for f in diagnosis.findings)
                                 else "healthy")


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if "checkpoint" in f.extra],
                         ids=lambda f: f.name)
def test_fixture_with_its_checkpoint(fixture):
    expected = set(fixture.extra.get("findings_with_checkpoint", fixture.expected_findings))
    diagnosis = diagnose_path(fixture.full_path, checkpoint_prefix=str(DATA / fixture.extra["checkpoint"]))
    assert set(diagnosis.codes) == expected | set(fixture.expected_findings), diagnosis.render()


def test_healthy_fixture_stays_healthy_against_its_checkpoint():
    diagnosis = diagnose_path(DATA / "graphs" / "healthy_mlp.pb",
                              checkpoint_prefix=str(DATA / "graphs" / "mlp_ckpt" / "model.ckpt"))
    assert diagnosis.codes == []


def test_wrong_outputs_with_checkpoint_gives_share_and_suggestions():
    diagnosis = diagnose_path(DATA / "graphs" / "wrong_outputs.pb",
                              checkpoint_prefix=str(DATA / "graphs" / "mlp_ckpt" / "model.ckpt"))
    (finding,) = diagnosis.findings
    assert finding.severity == "error"
    assert finding.evidence["share"] == 0
    assert finding.evidence["model_weight_bytes"] == (8 * 16 + 16 + 16 * 3 + 3) * 4
    assert sorted(finding.evidence["missing_weights"]) == ["hidden/bias", "hidden/kernel", "logits/bias",
                                                            "logits/kernel"]
    assert "probabilities" in finding.evidence["suggested_outputs"]
    assert diagnosis.exit_code == 1


def test_partial_outputs_with_checkpoint_is_a_warning_naming_the_missing_head():
    diagnosis = diagnose_path(DATA / "graphs" / "partial_outputs.pb",
                              checkpoint_prefix=str(DATA / "graphs" / "mlp_ckpt" / "model.ckpt"))
    (finding,) = diagnosis.findings
    assert (finding.code, finding.severity) == ("WRONG_OUTPUTS", "warning")
    assert sorted(finding.evidence["missing_weights"]) == ["logits/bias", "logits/kernel"]


def test_every_healthy_fixture_in_the_registry_is_healthy():
    healthy = [f for f in all_fixtures() if f.kind in GRAPH_KINDS and not f.expected_findings]
    assert healthy, "no healthy graph fixtures"
    for fixture in healthy:
        diagnosis = diagnose_path(fixture.full_path)
        assert diagnosis.verdict == "healthy", diagnosis.render()


def test_diagnose_graph_runs_on_an_already_loaded_graph():
    loaded, _ = read_for_diagnosis(DATA / "graphs" / "refswitch_freeze.pb")
    assert "REF_INPUT" in diagnose_graph(loaded).codes


# Corpus: real files made by other people. A frozen graph TensorFlow imports must come out healthy;
# one it refuses (the manifest records TF 2.21's import_graph_def result) needs an error finding that
# quotes TF's reason; an unfrozen graph whose outputs read variables is NOT_FROZEN. The other claims
# about unfrozen graphs (training-mode batch norm, dropout) are checked by running them in
# TensorFlow (test_against_tf.py). The exceptions are the cases the manifest describes as not plain
# graphs.
CORPUS_EXPECTED = {
    "emg_keras_graph_pbtxt": {"NOT_FROZEN"},  # manifest: un-frozen Keras graph (VariableV2 + Assign)
    # manifest: OpenCV text graph, weights stripped, unregistered PriorBox/DetectionOutput/Flatten
    "opencv_ssd_text_graph_pbtxt": {"MISSING_INPUT", "UNREGISTERED_OP", "WRONG_OUTPUTS"},
}


def _corpus_graph_cases() -> list:
    from tests.corpus import corpus_cases

    cases = [pytest.param(c, id=c.case) for c in corpus_cases()
             if c.kind in (*GRAPH_KINDS, "graph_pb", "broken", "saved_model")]
    return cases or [pytest.param(None, marks=pytest.mark.skip(reason="no corpus"), id="no-corpus")]


@pytest.mark.parametrize("case", _corpus_graph_cases())
def test_corpus_graphs(case):
    for name in case.files:
        if case.kind == "saved_model" and name != "saved_model.pb":
            continue
        if case.kind != "broken" and name == "checkpoint":  # the state file beside a graph
            continue
        diagnosis = diagnose_path(case.file(name))
        if case.kind == "broken":
            assert diagnosis.exit_code == 2, diagnosis.render()  # nothing in these folders is a graph
        elif case.kind == "saved_model":
            assert set(diagnosis.codes) <= {"NOT_A_GRAPHDEF", "NOT_FROZEN", "TRAINING_LEFTOVERS"}
            assert diagnosis.exit_code == 0, diagnosis.render()
        elif case.case in CORPUS_EXPECTED:
            assert set(diagnosis.codes) == CORPUS_EXPECTED[case.case], diagnosis.render()
        elif tf_import_error(case, name):
            reason = tf_import_error(case, name).split(": ", 1)[-1].rstrip(".")
            assert any(reason in f.message for f in diagnosis.findings if f.severity == "error"), \
                diagnosis.render()
        elif _reads_variables(case.file(name), case.expected_outputs):
            assert "NOT_FROZEN" in [f.code for f in diagnosis.findings if f.severity == "error"], \
                diagnosis.render()
        else:
            assert diagnosis.verdict == "healthy", diagnosis.render()


def tf_import_error(case, name: str) -> str | None:
    """TensorFlow 2.21's import_graph_def error for this file, as the manifest records it."""
    for status in case.raw.get("validation_status", ()):
        if status.startswith(f"{name}:") and "import_graph_def error:" in status:
            return status.split("import_graph_def error:", 1)[1].split(";", 1)[0].strip()
    return None


def _reads_variables(path, outputs) -> bool:
    """The outputs (all sinks when none are known) depend on variable ops: the file is not frozen."""
    from inspector import tfops
    from inspector.graph.model import GraphModel

    loaded, _ = read_for_diagnosis(path)
    model = GraphModel(loaded.graph_def, loaded.meta_graph)
    starts = [o for o in outputs if o in model] or list(model.names)
    return any(model.op(n) in tfops.VARIABLES for o in starts for n in model.ancestors(o) | {o})


GRAPH_ONLY = "mnist_softmax_graph_only_pb"


@pytest.mark.parametrize("case", [p for p in corpus_params("graph_pb")
                                  if p.values[0] is None or p.values[0].case == GRAPH_ONLY])
def test_corpus_graph_only_file_is_not_frozen(case):
    """The manifest documents this file as the unfrozen input of freeze_graph."""
    diagnosis = diagnose_path(case.file("graph.pb"))
    assert diagnosis.codes[0] == "NOT_FROZEN" and diagnosis.exit_code == 1


def test_every_code_has_a_fixture():
    from inspector.diagnosis.findings import CODES

    shown = {code for f in FIXTURES for code in (*f.expected_findings,
                                                 *f.extra.get("findings_with_checkpoint", ()))}
    # OVER_2GB is shown by monkeypatching the limit (test_fileformat), not by a 2 GiB file
    assert set(CODES) - shown == {"OVER_2GB"}


@pytest.mark.parametrize("fixture", [f for f in FIXTURES if f.kind in (*GRAPH_KINDS, "graph_pb", "meta")],
                         ids=lambda f: f.name)
def test_diagnosis_never_modifies_the_graph(fixture):
    loaded, _ = read_for_diagnosis(fixture.full_path)
    before = loaded.graph_def.SerializeToString(deterministic=True)
    diagnose_graph(loaded)
    assert loaded.graph_def.SerializeToString(deterministic=True) == before


def test_diagnosis_never_imports_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from inspector.diagnosis import diagnose_path; "
            f"diagnose_path({str(DATA / 'graphs' / 'refswitch_freeze.pb')!r}, "
            f"{str(DATA / 'graphs' / 'mlp_ckpt' / 'model.ckpt')!r}); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def _sibling_checkpoints() -> list:
    """(frozen graph file, checkpoint prefix) pairs from the same corpus repository."""
    from tests.corpus import corpus_cases

    checkpoints = {}
    for case in corpus_cases("checkpoint"):
        metas = [name[: -len(".meta")] for name in case.files if name.endswith(".meta")]
        if metas:
            checkpoints.setdefault(case.raw["repo"], str(case.file(sorted(metas)[-1])))
    pairs = [pytest.param(case.file(case.files[0]), checkpoints[case.raw["repo"]], id=case.case)
             for case in corpus_cases("frozen_pb") if case.raw["repo"] in checkpoints]
    return pairs or [pytest.param(None, None, marks=pytest.mark.skip(reason="no corpus"), id="no-corpus")]


@pytest.mark.parametrize(("graph", "prefix"), _sibling_checkpoints())
def test_corpus_frozen_graphs_against_their_sibling_checkpoints(request, graph, prefix):
    """What the files say decides what the diagnosis must say. The neural-encryption repository's
    frozen graph is from another run than its checkpoint (its Theta_1 is 8x10, the checkpoint's
    8x8); the learnaudio notebook froze a model whose variables share names with the first of the
    many model copies in its later checkpoint, but not their values, and TF refuses the file
    (Assign into a Const) — no repository's frozen graph stops before part of its model."""
    from tests.corpus import corpus_cases

    case = next(c for c in corpus_cases("frozen_pb") if c.case == request.node.callspec.id)
    diagnosis = diagnose_path(graph, checkpoint_prefix=prefix)
    expected = set()
    if tf_import_error(case, graph.name):
        expected.add("REF_INPUT")
    if _weights_differ(graph, prefix):
        expected.add("WEIGHTS_DIFFER")
    if _has_training_ops(graph):
        expected.add("TRAINING_LEFTOVERS")
    if _noop_ends(graph):
        expected.add("NOOP_OUTPUT")
    assert set(diagnosis.codes) == expected, diagnosis.render()


def _noop_ends(graph) -> bool:
    """A NoOp that groups other nodes and that nothing consumes (of a graph without variables)."""
    loaded, _ = read_for_diagnosis(graph)
    consumed = {text.lstrip("^").split(":")[0] for node in loaded.graph_def.node for text in node.input}
    return any(node.op == "NoOp" and node.input and node.name not in consumed
               for node in loaded.graph_def.node)


def _weights_differ(graph, prefix) -> bool:
    """A Const named like a checkpoint key holds other bytes or another shape than that key."""
    from inspector.readers.checkpoint import open_checkpoint

    loaded, _ = read_for_diagnosis(graph)
    with open_checkpoint(prefix) as reader:
        for node in loaded.graph_def.node:
            if node.op != "Const" or node.name not in reader.tensors:
                continue
            tensor = node.attr["value"].tensor
            value = reader.read(node.name)
            if [d.size for d in tensor.tensor_shape.dim] != list(value.shape) or \
                    (tensor.tensor_content and tensor.tensor_content != value.tobytes()):
                return True
    return False


def _has_training_ops(graph) -> bool:
    from inspector import tfops

    loaded, _ = read_for_diagnosis(graph)
    training = tfops.OPTIMIZER_UPDATES | tfops.SAVE_RESTORE | tfops.SUMMARIES | tfops.STATE_WRITES
    return any(n.op in training or tfops.is_gradient_kernel(n.op) for n in loaded.graph_def.node)


def test_keras_save_to_a_pb_name_is_explained(tmp_path):
    import shutil

    folder = tmp_path / "model.pb"
    shutil.copytree(DATA / "graphs" / "saved_model_tf1", folder)
    diagnosis = diagnose_path(folder)
    finding = diagnosis.findings[0]
    assert (finding.code, finding.evidence["saved_model_folder"]) == ("NOT_A_GRAPHDEF", "model.pb")
    assert "model.save('model.pb')" in finding.message


COUNTER_EXAMPLES = [f for f in FIXTURES if f.extra.get("counter_example_of")]


def test_every_code_has_a_healthy_lookalike():
    """Severity follows evidence: each code has a graph that looks like its problem and is fine."""
    from inspector.diagnosis.findings import CODES

    covered = {code for f in COUNTER_EXAMPLES for code in f.extra["counter_example_of"]}
    # OVER_2GB: a file exactly at the (monkeypatched) limit, test_fileformat.py
    assert set(CODES) - covered == {"OVER_2GB"}


@pytest.mark.parametrize("fixture", COUNTER_EXAMPLES, ids=[f.name for f in COUNTER_EXAMPLES])
def test_a_lookalike_gets_no_error_and_not_the_code_it_looks_like(fixture):
    prefix = str(DATA / fixture.extra["checkpoint"]) if "checkpoint" in fixture.extra else None
    diagnosis = diagnose_path(fixture.full_path, checkpoint_prefix=prefix)
    assert not [f for f in diagnosis.findings if f.severity == "error"], diagnosis.render()
    assert not set(fixture.extra["counter_example_of"]) & set(diagnosis.codes), diagnosis.render()


def test_the_diagnosis_logs_under_the_package_logger():
    """`-v` configures the "ckpt2pb" logger; a logger outside it would never be shown."""
    import inspector.diagnosis as diagnosis

    assert diagnosis.log.name.startswith("ckpt2pb.")
