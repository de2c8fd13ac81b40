"""What the diagnosis claims, checked against TensorFlow itself: the errors it reports are real."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inspector.diagnosis import diagnose_path
from inspector.diagnosis.fileformat import read_for_diagnosis

GRAPHS = Path(__file__).resolve().parents[3] / "fixtures" / "data" / "graphs"


def _import(name: str):
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef.FromString((GRAPHS / name).read_bytes())
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    return graph


def _run(name: str, output: str, feeds: dict) -> np.ndarray:
    import tensorflow as tf

    graph = _import(name)
    with tf.compat.v1.Session(graph=graph) as sess:
        return sess.run(f"{output}:0", {f"{k}:0": v for k, v in feeds.items()})


@pytest.mark.tf
@pytest.mark.parametrize("name", ["healthy_mlp.pb", "healthy_cnn_bn.pb", "healthy_rnn_while.pb"])
def test_healthy_graphs_import(name):
    assert diagnose_path(GRAPHS / name).verdict == "healthy"
    _import(name)


@pytest.mark.tf
@pytest.mark.parametrize(("name", "code", "message"), [
    ("refswitch_freeze.pb", "REF_INPUT", "expected float_ref"),
    ("unregistered_op.pb", "UNREGISTERED_OP", "Op type not registered"),
    ("missing_input.pb", "MISSING_INPUT", "hidden/bias"),
    ("duplicate_node.pb", "DUPLICATE_NODE", "is not unique"),
    ("cycle.pb", "CYCLE", "in a cycle"),
])
def test_import_errors_are_real(name, code, message):
    assert code in diagnose_path(GRAPHS / name).codes
    with pytest.raises(Exception, match=message):
        _import(name)


@pytest.mark.tf
def test_unfeedable_placeholder_really_cannot_run():
    import tensorflow as tf

    assert "UNFEEDABLE_PLACEHOLDER" in diagnose_path(GRAPHS / "table_function_graph.pb").codes
    graph = _import("table_function_graph.pb")
    with tf.compat.v1.Session(graph=graph) as sess, pytest.raises(Exception, match="placeholder"):
        sess.run("Identity:0", {"keys:0": ["a"]})


@pytest.mark.tf
def test_dropout_active_really_changes_answers():
    assert "DROPOUT_ACTIVE" in diagnose_path(GRAPHS / "dropout_active.pb").codes
    import tensorflow as tf

    x = np.random.RandomState(0).rand(8, 8).astype(np.float32)
    with tf.compat.v1.Session(graph=_import("dropout_active.pb")) as sess:
        first, second = (sess.run("probabilities:0", {"features:0": x}) for _ in range(2))
    assert not np.allclose(first, second)


@pytest.mark.tf
def test_training_mode_batch_norm_really_depends_on_the_batch():
    assert "BATCHNORM_TRAINING_MODE" in diagnose_path(GRAPHS / "bn_training_fused.pb").codes
    images = np.random.RandomState(1).rand(4, 8, 8, 1).astype(np.float32)
    alone = _run("bn_training_fused.pb", "probabilities", {"images": images[:1]})
    batched = _run("bn_training_fused.pb", "probabilities", {"images": images})
    assert not np.allclose(alone[0], batched[0])


def _checkpoint_fixtures() -> list:
    from fixtures.registry import all_fixtures

    found = []
    for fixture in all_fixtures():
        if fixture.kind != "checkpoint" or not fixture.expected_outputs:
            continue
        steps = fixture.extra.get("steps") or ()
        if not steps:
            continue
        prefix = fixture.full_path / f"model.ckpt-{steps[-1]}"
        if Path(str(prefix) + ".meta").is_file():
            marks = [pytest.mark.xfail(strict=True, reason=TF_CANNOT_FREEZE[fixture.name])] \
                if fixture.name in TF_CANNOT_FREEZE else []
            found.append(pytest.param(prefix, fixture.expected_outputs, id=fixture.name, marks=marks))
    assert found, "the registry lists no checkpoint fixture with a .meta: were they deleted?"
    return found


#: Fixtures TensorFlow 2.21's own freeze fails on (strict: the day it succeeds, the test says so).
TF_CANNOT_FREEZE = {
    "v1_sharded": "TF 2.21 cannot restore a sharded V1 checkpoint ('not a valid checkpoint')",
    "dtypes_zoo": "convert_variables_to_constants fails on a string variable ('bytes' has no shape)",
}


@pytest.mark.tf
@pytest.mark.parametrize(("prefix", "outputs"), _checkpoint_fixtures())
def test_tensorflows_own_freeze_holds_all_of_its_checkpoint(tmp_path, prefix, outputs):
    """Whatever else TF's freezer gets wrong, the weights it writes are the checkpoint's, all of them."""
    import tensorflow as tf

    v1 = tf.compat.v1
    with v1.Session(graph=tf.Graph()) as sess:
        saver = v1.train.import_meta_graph(str(prefix) + ".meta", clear_devices=True)
        saver.restore(sess, str(prefix))
        graph_def = sess.graph.as_graph_def()
        frozen = v1.graph_util.convert_variables_to_constants(sess, graph_def, list(outputs))
    path = tmp_path / "frozen.pb"
    path.write_bytes(frozen.SerializeToString())
    codes = diagnose_path(path, checkpoint_prefix=str(prefix)).codes
    assert "WRONG_OUTPUTS" not in codes and "WEIGHTS_DIFFER" not in codes, codes


# ---------------------------------------------------------------------------------------------
# Every error claim over every fixture and corpus graph, checked by running the graph in TensorFlow
# with its switches fed their inference values: a graph that runs correctly has no error finding,
# and every error is something TensorFlow shows.

def _graph_cases() -> list:
    from fixtures.registry import all_fixtures
    from tests.corpus import corpus_cases

    cases = [pytest.param(f.full_path, tuple(f.expected_outputs), id=f"fixture:{f.name}")
             for f in all_fixtures() if f.kind in ("frozen_pb", "pbtxt", "graph_pb", "broken")
             and f.full_path.is_file()]
    for case in corpus_cases():
        if case.kind in ("frozen_pb", "pbtxt", "graph_pb"):
            for name in case.files:
                if name.endswith((".pb", ".pbtxt")):
                    cases.append(pytest.param(case.file(name), case.expected_outputs,
                                              id=f"corpus:{case.case}/{name}"))
    return cases


#: What TensorFlow shows for each error a run can confirm (the others must stop import or the run).
_RUN_CONFIRMS = {"DROPOUT_ACTIVE": "random", "RANDOM_WEIGHTS": "random", "BATCHNORM_TRAINING_MODE": "batch"}


def _behaviour(path: Path, outputs) -> dict:
    """What TensorFlow does with the graph: imports? runs the outputs? same answer twice? does an
    example's answer depend on the rest of its batch?"""
    import tensorflow as tf

    from freezer.api import switch_values
    from freezer.verify import graph_inputs, make_feeds
    from inspector import tfops
    from inspector.errors import Ckpt2pbError
    from inspector.graph.model import GraphModel

    loaded, _ = read_for_diagnosis(path)
    if loaded is None or loaded.kind != "graphdef":
        return {"imports": False}
    graph_def = tf.compat.v1.GraphDef.FromString(loaded.complete_graph_def().SerializeToString())
    graph = tf.Graph()
    try:
        with graph.as_default():
            tf.compat.v1.import_graph_def(graph_def, name="")
    except Exception:
        return {"imports": False}
    names = [o for o in outputs if o in {op.name for op in graph.get_operations()}]
    if not names:
        return {"imports": True, "runs": None}
    fetches = [f"{o}:0" for o in names]
    try:
        feeds = make_feeds(graph_inputs(graph), switches=switch_values(GraphModel(loaded.graph_def)))
    except Ckpt2pbError:
        return {"imports": True, "runs": None}
    single = {k: v[:1] if v.ndim and v.shape[0] == 2 else v for k, v in feeds.items()}
    try:
        # Soft placement: device pins are an info (DEVICE_PINNED says what a strict session does).
        config = tf.compat.v1.ConfigProto(allow_soft_placement=True)
        with tf.compat.v1.Session(graph=graph, config=config) as session:
            tables = [op for op in graph.get_operations() if op.type in tfops.TABLE_INITIALIZERS]
            if tables:  # what a caller runs once before using the graph (tables_initializer)
                session.run(tables)
            first, second = session.run(fetches, feeds), session.run(fetches, feeds)
            alone = session.run(fetches, single)
    except tf.errors.OpError:
        return {"imports": True, "runs": False}
    random = any(not np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    batch = any(np.ndim(a) and np.shape(a)[0] == 2 and np.shape(b)[0] == 1 and not _close(a[:1], b)
                for a, b in zip(first, alone, strict=True))
    return {"imports": True, "runs": True, "random": random, "batch": batch}


def _close(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind in "fc":
        return np.allclose(a, b, rtol=1e-4, atol=1e-5)
    return np.array_equal(a, b)


@pytest.mark.tf
@pytest.mark.parametrize(("path", "outputs"), _graph_cases())
def test_error_findings_are_what_tensorflow_shows(path, outputs):
    diagnosis = diagnose_path(path)
    if not diagnosis.readable:
        return
    errors = {f.code for f in diagnosis.findings if f.severity == "error"}
    seen = _behaviour(path, outputs)
    if not seen["imports"] or seen.get("runs") is False:
        assert errors, f"TensorFlow cannot {'import' if not seen['imports'] else 'run'} it, no error says why"
        return
    if seen["runs"] is None:  # nothing to run (no node computes a result) or an input of unknown rank
        assert not errors - set(_RUN_CONFIRMS) - {"EMPTY_GRAPH", "NO_OUTPUTS"}, diagnosis.render()
        return
    for code in errors:  # random answers alone are no error: a VAE samples by design
        assert code in _RUN_CONFIRMS and seen[_RUN_CONFIRMS[code]], f"{code} while TF runs it fine:\n" \
            + diagnosis.render()
