"""Cross-checks in TensorFlow: our frozen graphs import, run, match the restored checkpoint (--verify)
and give exactly the outputs of TF's own ``convert_variables_to_constants`` where that works.

One TensorFlow import per worker; every model is tiny.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

from fixtures.registry import all_fixtures
from freezer import freeze
from freezer.verify import _live_tensors, _meta_graph_for_tf, graph_inputs, make_feeds, seed_unfeedable_draws
from inspector import tfops
from inspector.proto import pb
from tests.corpus import (
    assert_missing_shard_refused,
    corpus_params,
    missing_data_shards,
    unrestorable_variables,
)

pytestmark = pytest.mark.tf

FREEZABLE = [pytest.param(f, id=f.name) for f in all_fixtures()
             if f.kind == "checkpoint" and f.freezable and f.full_path.exists()]


@pytest.fixture(scope="module")
def tf():
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    return tf


def _import(tf, data):
    """A graph from serialized bytes or a GraphDef."""
    graph_def = data
    if isinstance(data, bytes):
        graph_def = tf.compat.v1.GraphDef()
        graph_def.ParseFromString(data)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.import_graph_def(graph_def, name="")
    return graph


def _feeds(tf, graph, fetches, switches=None):
    """Generated inputs plus this graph's live random samples (so both sides see the same noise)."""
    feeds = make_feeds(graph_inputs(graph), switches=switches)
    random = [op.outputs[0].name for op in graph.get_operations() if op.type in tfops.RANDOM_STATEFUL]
    with tf.compat.v1.Session(graph=graph) as session:
        live = _live_tensors(tf, session, random, feeds)
        if live:
            feeds.update(zip(live, session.run(live, feeds), strict=True))
    return feeds


def _run(tf, graph, fetches, feeds):
    with tf.compat.v1.Session(graph=graph) as session:
        return session.run(fetches, feeds)


def _tf_freeze(tf, meta_path: str, prefix: str, outputs, graph_def: bool = False):
    """TF's own convert_variables_to_constants result (imported, or its GraphDef), or None when TF
    cannot freeze this graph."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    try:
        with graph.as_default():
            saver = v1.train.import_meta_graph(_meta_graph_for_tf(tf, meta_path), clear_devices=True)
            with v1.Session(graph=graph) as session:
                saver.restore(session, prefix)
                frozen = v1.graph_util.convert_variables_to_constants(session, graph.as_graph_def(), outputs)
        return frozen if graph_def else _import(tf, frozen.SerializeToString())
    except Exception:  # TF's freeze is known to break on some graphs (FORMATS.md §12.2)
        return None


def _cross_check(tf, result):
    """--verify passed; and where TF's freeze works, our outputs equal its outputs exactly."""
    assert result.verification is not None and result.verification["ok"], result.verification
    ours_def = tf.compat.v1.GraphDef.FromString(result.output_path.read_bytes())
    theirs_def = _tf_freeze(tf, result.graph, result.checkpoint, result.outputs, graph_def=True)
    if theirs_def is not None:  # draws inside loops cannot be fed: both graphs get the same seeded twins
        seed_unfeedable_draws(tf, ours_def, theirs_def)
    ours = _import(tf, ours_def)
    fetches = [f"{n}:0" for n in result.outputs]
    feeds = _feeds(tf, ours, fetches, result.verification["switches"])
    mine = _run(tf, ours, fetches, feeds)
    if theirs_def is None:
        return False
    try:
        theirs_graph = _import(tf, theirs_def)
    except ValueError:  # TF's own result does not import (FORMATS.md §12.2)
        return False
    try:
        theirs = _run(tf, theirs_graph, fetches, feeds)
    except tf.errors.OpError:  # e.g. legacy `Variable` ops, which TF leaves unconverted (§12.2)
        return False
    for a, b in zip(mine, theirs, strict=True):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes() if np.asarray(a).dtype != object \
            else list(np.asarray(a).ravel()) == list(np.asarray(b).ravel())
    return True


@pytest.mark.parametrize("fixture", FREEZABLE)
def test_fixture_verifies_and_matches_tf(tf, fixture, tmp_path):
    result = freeze(fixture.full_path, outputs=list(fixture.expected_outputs), output_path=tmp_path / "f.pb",
                    verify=True)
    _cross_check(tf, result)


@pytest.mark.parametrize("case", corpus_params("checkpoint", with_outputs=True))
def test_corpus_checkpoint_verifies_and_matches_tf(tf, case, tmp_path):
    if missing_data_shards(case):  # TensorFlow cannot read the weights either
        from inspector.readers.resolve import resolve

        reader = tf.compat.v1.train.NewCheckpointReader(str(resolve(case.folder).prefix))
        with pytest.raises(tf.errors.OpError, match="No such file"):
            reader.get_tensor(next(iter(reader.get_variable_to_shape_map())))
        assert_missing_shard_refused(case, lambda: freeze(
            case.folder, outputs=list(case.expected_outputs), output_path=tmp_path / "f.pb", verify=True))
        return
    if unrestorable_variables(case):
        _assert_tf_cannot_run_it_either(tf, case)
        return
    result = freeze(case.folder, outputs=list(case.expected_outputs), output_path=tmp_path / "f.pb",
                    verify=True)
    _cross_check(tf, result)


def _assert_tf_cannot_run_it_either(tf, case):
    """The checkpoint lacks values the outputs read (test_api checks freeze says which): TensorFlow
    restores it and leaves those variables uninitialized, so it cannot compute the outputs either."""
    from inspector.readers.resolve import resolve

    artifacts = resolve(case.folder)
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        saver = v1.train.import_meta_graph(_meta_graph_for_tf(tf, artifacts.meta_path), clear_devices=True)
        with v1.Session(graph=graph) as session:
            saver.restore(session, artifacts.prefix)
            uninitialized = {n.decode() for n in session.run(v1.report_uninitialized_variables())}
    assert set(unrestorable_variables(case)) <= uninitialized


@pytest.mark.parametrize("fixture", FREEZABLE)
def test_fixture_auto_outputs_verify(tf, fixture, tmp_path):
    result = freeze(fixture.full_path, auto_outputs=True, output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"]


@pytest.mark.parametrize("case", corpus_params("checkpoint", with_outputs=True)
                         + corpus_params("saved_model", with_outputs=True))
def test_corpus_auto_outputs_verify(tf, case, tmp_path):
    if case.kind == "checkpoint" and missing_data_shards(case):
        assert_missing_shard_refused(case, lambda: freeze(
            case.folder, auto_outputs=True, output_path=tmp_path / "f.pb", verify=True))
        return
    if case.kind == "checkpoint" and unrestorable_variables(case):
        # what the ranking picks may read the missing values too: then freeze says which (test_api)
        from inspector.errors import UnreadableInputError

        try:
            result = freeze(case.folder, auto_outputs=True, output_path=tmp_path / "f.pb", verify=True)
        except UnreadableInputError as error:
            assert error.code in ("NEVER_SAVED", "NOT_IN_CHECKPOINT"), error
            return
        assert result.verification["ok"]
        return
    result = freeze(case.folder, auto_outputs=True, output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"]


# ---------------------------------------------------------------------------------------------
# Graphs TensorFlow's own freezer breaks, made at test time


@contextlib.contextmanager
def _tf1_variables_and_control_flow(tf):
    """Ref variables and v1 control flow (RefSwitch, Enter) for the graphs built inside."""
    v1 = tf.compat.v1
    v1.disable_resource_variables()
    v1.disable_control_flow_v2()
    try:
        yield
    finally:
        v1.enable_resource_variables()
        v1.enable_control_flow_v2()


def _ref_batch_norm_checkpoint(tf, folder):
    """Batch norm as tf-slim builds it with ``is_training`` a tensor and ``updates_collections=None``:
    a v1 cond over the *ref* moving averages whose training branch updates them (RefSwitch +
    AssignSub reached by data, TF issue #3628)."""
    from tensorflow.python.training import moving_averages

    v1 = tf.compat.v1
    graph = tf.Graph()
    with _tf1_variables_and_control_flow(tf), graph.as_default():
        v1.set_random_seed(1)
        x = v1.placeholder(tf.float32, [None, 6], name="x")
        is_training = v1.placeholder_with_default(False, [], name="is_training")
        net = tf.matmul(x, v1.get_variable("fc/w", [6, 5]))
        moving_mean = v1.get_variable("bn/moving_mean", [5], trainable=False,
                                      initializer=v1.zeros_initializer())
        moving_var = v1.get_variable("bn/moving_variance", [5], trainable=False,
                                     initializer=v1.ones_initializer())
        batch_mean, batch_var = tf.nn.moments(net, [0])

        def force_updates():
            update_mean = moving_averages.assign_moving_average(moving_mean, batch_mean, 0.9,
                                                                zero_debias=False)
            update_var = moving_averages.assign_moving_average(moving_var, batch_var, 0.9,
                                                               zero_debias=False)
            with tf.control_dependencies([update_mean, update_var]):
                return tf.identity(batch_mean), tf.identity(batch_var)

        mean, var = v1.cond(is_training, force_updates, lambda: (moving_mean, moving_var))
        tf.identity(tf.nn.relu(tf.nn.batch_normalization(net, mean, var, None, None, 1e-3)), name="y")
        # The same update consumed by data: the branch returns what AssignSub wrote.
        updated = v1.cond(is_training, lambda: tf.identity(moving_averages.assign_moving_average(
            moving_mean, batch_mean, 0.5, zero_debias=False)), lambda: tf.identity(moving_mean))
        tf.identity(net - updated, name="centered")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            rng = np.random.default_rng(0)
            for _ in range(3):  # move the moving averages away from their initial values
                session.run("y:0", {"x:0": rng.standard_normal((4, 6)), "is_training:0": True})
            prefix = saver.save(session, str(folder / "model.ckpt"))
    return prefix, graph.as_graph_def()


def test_ref_switch_batch_norm_that_tf_freeze_breaks(tf, tmp_path):
    prefix, graph_def = _ref_batch_norm_checkpoint(tf, tmp_path)
    ops = {n.op for n in graph_def.node}
    assert {"RefSwitch", "AssignSub"} <= ops  # the pattern under test is really there
    assert _tf_freeze(tf, prefix + ".meta", prefix, ["y"]) is None  # TF's own result cannot import

    result = freeze(prefix, outputs=["y", "centered"], output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"]
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    assert not {n.op for n in frozen.node} & {"RefSwitch", "AssignSub", "VariableV2"}
    rewrites = {(r["from"], r["to"]) for r in result.rewrites}
    assert {("RefSwitch", "Switch"), ("AssignSub", "Sub")} <= rewrites
    assert result.dropped_control  # y waited on the updates through control edges

    # The training branch now computes the update without performing it: its first run equals
    # what TF's restored graph returns on its first training step.
    feeds = {"x:0": np.linspace(-1, 1, 12, dtype=np.float32).reshape(2, 6), "is_training:0": True}
    ours = _run(tf, _import(tf, result.output_path.read_bytes()), ["centered:0"], feeds)[0]
    restored = tf.Graph()
    with restored.as_default():
        saver = tf.compat.v1.train.import_meta_graph(prefix + ".meta")
        with tf.compat.v1.Session(graph=restored) as session:
            saver.restore(session, prefix)
            expected = session.run("centered:0", feeds)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)


def test_moving_averages(tf, tmp_path):
    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 3], name="x")
        w = v1.get_variable("w", [3, 2], initializer=v1.ones_initializer())
        tf.identity(tf.matmul(x, w), name="y")
        ema = v1.train.ExponentialMovingAverage(0.5)
        with tf.control_dependencies([v1.assign_add(w, tf.ones([3, 2]))]):
            update = ema.apply([w])
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            session.run(update)
            prefix = saver.save(session, str(tmp_path / "model.ckpt"))
    result = freeze(prefix, outputs=["y"], output_path=tmp_path / "ema.pb", use_moving_averages=True,
                    verify=True)
    folded = {f["node"]: f for f in result.validation.folded}
    assert folded["w"]["key"] == "w/ExponentialMovingAverage" and folded["w"]["moving_average"]
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    const = next(n for n in frozen.node if n.name == "w")
    shadow = np.frombuffer(const.attr["value"].tensor.tensor_content, np.float32)
    assert not np.array_equal(shadow, np.full(6, 2.0, np.float32))  # the shadow, not the raw weight
    assert result.verification["ok"]


def test_resource_variable_inside_a_v1_while_loop(tf, tmp_path):
    v1 = tf.compat.v1
    graph = tf.Graph()
    with _tf1_variables_and_control_flow(tf), graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        w = v1.get_variable("w", [2, 2], use_resource=True, initializer=v1.constant_initializer(0.5))
        _, out = tf.while_loop(lambda i, h: i < 3, lambda i, h: (i + 1, tf.matmul(h, w.read_value())),
                               [tf.constant(0), x])
        tf.identity(out, name="y")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            prefix = saver.save(session, str(tmp_path / "model.ckpt"))
    result = freeze(prefix, outputs=["y"], output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"]
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    assert not {n.op for n in frozen.node} & {"VarHandleOp", "ReadVariableOp"}


@pytest.mark.parametrize("case", corpus_params("saved_model"))
def test_corpus_saved_model_verifies(tf, case, tmp_path):
    result = freeze(case.folder, outputs=list(case.expected_outputs), output_path=tmp_path / "f.pb",
                    verify=True)
    assert result.verification["ok"]


@pytest.mark.parametrize("fixture", [p for p in FREEZABLE if p.values[0].extra.get("tf_freeze_breaks")])
def test_committed_fixture_tf_freeze_breaks(tf, fixture, tmp_path):
    """The committed fixtures TF's own freezer breaks: TF's result fails, ours imports and verifies."""
    prefix = str(next(fixture.full_path.glob("*.index")))[: -len(".index")]
    assert _tf_freeze(tf, prefix + ".meta", prefix, list(fixture.expected_outputs)) is None
    result = freeze(prefix, outputs=list(fixture.expected_outputs), output_path=tmp_path / "f.pb",
                    verify=True)
    assert result.verification["ok"]
    repaired = {r["from"] for r in result.rewrites} & {"RefSwitch", "RefMerge", "AssignSub", "AssignAdd"}
    assert repaired or result.dropped_control  # the state updates were cut or made pure
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    assert not {n.op for n in frozen.node} & {"RefSwitch", "RefMerge", "AssignSub", "VariableV2"}


def test_keep_devices_verifies(tf, tmp_path):
    fixture = next(f for f in all_fixtures() if f.name == "sharded_two_devices")
    result = freeze(fixture.full_path, outputs=list(fixture.expected_outputs), output_path=tmp_path / "f.pb",
                    clear_devices=False, verify=True)
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    assert {n.device for n in frozen.node} >= {"/device:CPU:0", "/device:CPU:1"}
    assert result.verification["ok"]


def test_resource_variables_through_functional_cond_and_while(tf, tmp_path):
    """Control flow v2 (If/While) receiving resource handles: branch and loop functions are specialized."""
    v1 = tf.compat.v1
    v1.enable_resource_variables()
    v1.enable_control_flow_v2()
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 2], name="x")
        flag = v1.placeholder_with_default(True, [], name="flag")
        w = v1.get_variable("w", [2, 2], initializer=v1.constant_initializer([[0.5, -1.0], [2.0, 0.25]]))
        y = tf.cond(flag, lambda: tf.matmul(x, w), lambda: x)
        _, z = tf.while_loop(lambda i, h: i < 2, lambda i, h: (i + 1, tf.matmul(h, w)), [0, y])
        tf.identity(z, name="out")
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            prefix = saver.save(session, str(tmp_path / "model.ckpt"))
    ops = {n.op for n in graph.as_graph_def().node}
    assert ops & {"If", "StatelessIf"} and ops & {"While", "StatelessWhile"}
    result = freeze(prefix, outputs=["out"], output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"]
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    body_ops = {n.op for f in frozen.library.function for n in f.node_def}
    assert not body_ops & {"ReadVariableOp", "VarHandleOp"}
    assert not {n.op for n in frozen.node} & {"VarHandleOp", "ReadVariableOp"}


def _checkpoint(tf, folder, build):
    """Save the graph ``build()`` makes (TF1 variables and control flow) with fresh variables."""
    v1 = tf.compat.v1
    graph = tf.Graph()
    with _tf1_variables_and_control_flow(tf), graph.as_default():
        build(v1)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            return saver.save(session, str(folder / "model.ckpt"))


def test_a_graph_tf_cannot_run_on_generated_inputs_exits_6_naming_node_input_and_flag(tf, tmp_path):
    from inspector.errors import VerifyCannotRunError

    def build(v1):
        x = v1.placeholder(tf.float32, [None], name="x")
        w = v1.get_variable("w", [3], initializer=v1.ones_initializer())
        tf.identity(tf.reshape(x, [-1, 3]) * w, name="y")

    prefix = _checkpoint(tf, tmp_path, build)
    with pytest.raises(VerifyCannotRunError) as info:
        freeze(prefix, outputs=["y"], output_path=tmp_path / "f.pb", verify=True)
    message = str(info.value)
    assert info.value.exit_code == 6 and info.value.code == "VERIFY_FAILED_TO_RUN"
    assert "Input to reshape" in message and "(node 'Reshape')" in message and "--feed x=VALUE" in message
    assert "differ" not in message
    result = freeze(prefix, outputs=["y"], output_path=tmp_path / "f.pb", verify=True,
                    input_shapes={"x": [6]})
    assert result.verification["ok"] and result.verification["inputs"]["x:0"]["shape"] == [6]


def test_a_graph_that_answers_differently_every_run_is_not_called_different(tf, tmp_path):
    """A draw with no seeded twin inside a while loop can be neither fed nor seeded."""
    from inspector.errors import VerifyCannotRunError

    def build(v1):
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        w = v1.get_variable("w", [4, 4])
        _, out = tf.while_loop(lambda i, h: i < 2,
                               lambda i, h: (i + 1, tf.matmul(h, tf.random.shuffle(w))), [0, x])
        tf.identity(out, name="y")

    prefix = _checkpoint(tf, tmp_path, build)
    with pytest.raises(VerifyCannotRunError) as info:
        freeze(prefix, outputs=["y"], output_path=tmp_path / "f.pb", verify=True)
    assert info.value.code == "VERIFY_NONDETERMINISTIC" and "RandomShuffle" in str(info.value)


def test_dropout_inside_a_while_loop_is_compared_with_seeded_twins(tf, tmp_path):
    def build(v1):
        x = v1.placeholder(tf.float32, [None, 4], name="x")
        w = v1.get_variable("w", [4, 4])
        _, out = tf.while_loop(lambda i, h: i < 3,
                               lambda i, h: (i + 1, tf.nn.dropout(tf.matmul(h, w), rate=0.5)), [0, x])
        tf.identity(out, name="y")

    prefix = _checkpoint(tf, tmp_path, build)
    result = freeze(prefix, outputs=["y"], output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"] and result.verification["seeded_random_ops"]


def _qat_checkpoint(tf, folder):
    """Quantization-aware training as tf.contrib.quantize built it: FakeQuantWithMinMaxVars on the
    hidden activations and the logits, each range updated in the forward pass by
    assign_moving_average (AssignMinEma/AssignMaxEma, zero-debiased: biased/local_step variables,
    AssignSub + AssignAdd) whose updated value the fake quant reads; one range is read back through
    RefIdentity."""
    from tensorflow.python.training import moving_averages

    def build(v1):
        rng = np.random.RandomState(9)
        features = v1.placeholder(tf.float32, [None, 8], name="features")
        labels = v1.placeholder(tf.int64, [None], name="labels")

        def fake_quant(inputs, scope, read_back=False):
            with v1.variable_scope(scope):
                low = v1.get_variable("min", [], initializer=v1.constant_initializer(-6.0), trainable=False)
                high = v1.get_variable("max", [], initializer=v1.constant_initializer(6.0), trainable=False)
                batch_min = tf.reduce_min(inputs, name="BatchMin")
                batch_max = tf.reduce_max(inputs, name="BatchMax")
                low = moving_averages.assign_moving_average(low, batch_min, 0.9, name="AssignMinEma")
                high = moving_averages.assign_moving_average(high, batch_max, 0.9, name="AssignMaxEma")
                if read_back:
                    high = tf.raw_ops.RefIdentity(input=high, name="max_read")
                return tf.quantization.fake_quant_with_min_max_vars(inputs, low, high)

        net = fake_quant(v1.layers.dense(features, 16, activation=tf.nn.relu, name="hidden"), "act_quant")
        logits = fake_quant(v1.layers.dense(net, 3, name="logits"), "logits_quant", read_back=True)
        tf.nn.softmax(logits, name="probabilities")
        loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        train_op = v1.train.AdamOptimizer(0.01).minimize(loss)
        return train_op, {features: rng.rand(8, 8).astype(np.float32), labels: rng.randint(0, 3, 8)}

    v1 = tf.compat.v1
    graph = tf.Graph()
    with _tf1_variables_and_control_flow(tf), graph.as_default():
        train_op, feed = build(v1)
        saver = v1.train.Saver()
        with v1.Session(graph=graph) as session:
            session.run(v1.global_variables_initializer())
            for _ in range(6):
                session.run(train_op, feed)
            return saver.save(session, str(folder / "model.ckpt"))


def test_fake_quant_range_updates_in_the_forward_pass_are_cut_and_verify(tf, tmp_path):
    """The QAT graph froze into a float_ref leftover (a RefIdentity reading the updated range) and
    failed validation; TF's own freeze leaves the writes fed by Consts."""
    prefix = _qat_checkpoint(tf, tmp_path)
    assert _tf_freeze(tf, prefix + ".meta", prefix, ["probabilities"]) is None
    result = freeze(prefix, outputs=["probabilities"], output_path=tmp_path / "f.pb", verify=True)
    assert result.verification["ok"] and result.verification["state_writes_cut_in_original"]
    frozen = pb.GraphDef.FromString(result.output_path.read_bytes())
    ops = {n.op for n in frozen.node}
    assert not ops & ({"RefIdentity", "AssignSub", "AssignAdd", "Assign", "VariableV2"})
    assert "FakeQuantWithMinMaxVars" in ops
