"""What each input is for: features, labels, training switches (with their inference values), feeds."""

from __future__ import annotations

from inspector.proto import pb
from inspector.ranking import rank_inputs
from inspector.roles import roles_of
from inspector.roles.inputs import (
    DROPOUT_RATE,
    FEATURE,
    FEED,
    KEEP_PROB,
    LABEL,
    LEARNING_RATE,
    SWITCH,
    TRAINING_FLAG,
    label_name_hint,
    switch_name_hint,
)
from tests.graph_builder import BOOL, INT64, Builder, classifier, names


def _kinds(builder: Builder) -> dict[str, str]:
    r = roles_of(builder.model())
    return {r.index.names[info.index]: info.kind for info in r.inputs}


def test_feature_label_and_switches():
    b = classifier()
    b.node("is_training", "PlaceholderWithDefault", b.node("false", "Const", dtype=BOOL, shape=[]),
           dtype=BOOL, shape=[])
    b.node("keep_prob", "Placeholder", shape=[])
    b.node("hidden/dropout", "Mul", "hidden/Relu", "keep_prob")
    b.node("cond/Switch", "Switch", "hidden/Relu", "is_training")
    kinds = _kinds(b)
    assert kinds == {"images": FEATURE, "labels": LABEL, "is_training": SWITCH, "keep_prob": SWITCH}
    ranked = rank_inputs(b.model())
    assert names(ranked)[:2] == ["images", "labels"]
    assert ranked[0].dtype == "float32" and ranked[0].shape == [-1, 4]
    assert ranked[0].reasons[0] == "feature input"


def test_an_input_reaching_a_weight_laid_out_anew_is_a_feature():
    """tf.nn.conv1d expands its filter to 4-D before the Conv2D reads it, and a tied decoder reads
    the encoder's weight transposed: the op reading that is still a layer, so what reaches it is
    the model's data (WaveNet's one-hot samples were taken for labels and the whole network for
    metrics); a weight reshaped by a fed shape is no longer known without data."""
    b = Builder()
    samples = b.placeholder("samples", [-1, 8], INT64)
    one_hot = b.node("one_hot", "OneHot", samples)
    axis = b.node("axis", "Const", dtype=pb.DataType.DT_INT32, shape=[])
    x4d = b.node("conv1d/ExpandDims", "ExpandDims", one_hot, axis)
    f4d = b.node("conv1d/ExpandDims_1", "ExpandDims", b.variable("filter", [2, 4, 4]), axis)
    conv = b.node("conv1d/Squeeze", "Squeeze", b.node("conv1d/Conv2D", "Conv2D", x4d, f4d))
    perm = b.node("perm", "Const", dtype=pb.DataType.DT_INT32, shape=[2])
    tied = b.node("decoder/transpose", "Transpose", b.variable("encoder/kernel", [4, 4]), perm)
    codes = b.placeholder("codes")
    b.node("decoder/MatMul", "MatMul", codes, tied)
    b.node("probabilities", "Softmax", conv)
    fed_shape = b.placeholder("fed_shape", [2], pb.DataType.DT_INT32)
    reshaped = b.node("reshaped", "Reshape", b.variable("other/kernel", [4, 4]), fed_shape)
    b.node("other/MatMul", "MatMul", b.placeholder("other_input"), reshaped)
    kinds = _kinds(b)
    assert kinds["samples"] == FEATURE and kinds["codes"] == FEATURE
    assert kinds["other_input"] != FEATURE


def test_unknown_shape_switch_recognised_by_its_name():
    b = classifier()
    b.node("keep_prob", "Placeholder")  # no shape recorded
    b.node("hidden/dropout", "Mul", "hidden/Relu", "keep_prob")
    assert _kinds(b)["keep_prob"] == SWITCH


def test_placeholders_feeding_only_assignments_or_the_optimizer():
    b = classifier()
    b.node("kernel_value", "Placeholder", shape=[4, 4])
    b.node("set_kernel", "Assign", "hidden/kernel", "kernel_value")
    b.node("lr", "Placeholder", shape=[-1])
    b.node("GradientDescent/update_extra", "ApplyGradientDescent", "hidden/kernel", "lr", "gradients/grad_0")
    ranked = {c.name: c for c in rank_inputs(b.model())}
    assert ranked["kernel_value"].reasons[0] == "not a model input"
    assert ranked["lr"].group == SWITCH


def test_an_input_nothing_reads_is_a_feed_not_a_feature_or_switch():
    b = classifier()
    b.placeholder("unused_loop_input", [-1, 4])
    b.node("unused_flag", "Placeholder", dtype=BOOL, shape=[])
    kinds = _kinds(b)
    assert kinds["unused_loop_input"] == FEED and kinds["unused_flag"] == FEED
    assert kinds["images"] == FEATURE
    assert not any(name.startswith("unused") for name in roles_of(b.model()).switches)


def test_labels_that_reach_a_layer_only_while_training_are_labels():
    # CapsNet: a cond on a training switch masks the decoder with the labels while training and
    # with the prediction at inference; a Merge reads the true port of the labels' Switch directly
    b = classifier()
    truth = b.placeholder("labels_onehot", [-1, 4])
    b.node("xent", "SoftmaxCrossEntropyWithLogits", "logits/BiasAdd", truth)
    b.node("mask_with_labels", "PlaceholderWithDefault", b.node("no", "Const", dtype=BOOL, shape=[]),
           dtype=BOOL, shape=[])
    pred_id = b.node("mask/pred_id", "Identity", "mask_with_labels", dtype=BOOL)
    b.node("mask/Switch_1", "Switch", truth, pred_id)
    b.node("mask/Switch_2", "Switch", "probabilities", pred_id)
    merged = b.node("mask/Merge", "Merge", "mask/Switch_2", "mask/Switch_1:1")
    b.node("decoder/Sigmoid", "Sigmoid", b.dense("decoder", merged))
    kinds = _kinds(b)
    assert kinds["labels_onehot"] == LABEL and kinds["images"] == FEATURE


def test_scalar_inputs_of_a_weightless_graph_are_features():
    b = Builder()
    b.node("c", "Mul", b.placeholder("a", []), b.placeholder("b", []))
    assert _kinds(b) == {"a": FEATURE, "b": FEATURE}


def test_signature_inputs_come_first():
    b = classifier()
    meta = b.with_meta()
    meta.signature_def["serving_default"].inputs["x"].name = "labels:0"
    ranked = rank_inputs(b.model(), meta)
    assert ranked[0].name == "labels" and ranked[0].score == 1.0


def test_captured_resource_handles_are_not_inputs():
    from inspector.proto import pb

    b = Builder()
    x = b.placeholder("x")
    handle = b.node("MatMul/ReadVariableOp/resource", "Placeholder", dtype=pb.DataType.DT_RESOURCE,
                    shape=[])
    w = b.node("MatMul/ReadVariableOp", "ReadVariableOp", handle)
    b.node("Identity", "Identity", b.node("MatMul", "MatMul", x, w))
    ranked = rank_inputs(b.model())
    assert names(ranked)[0] == "x"
    assert ranked[1].reasons[0] == "not a model input"


def test_features_and_labels_from_one_iterator_are_told_apart():
    from inspector.proto import pb

    b = Builder()
    it = b.node("IteratorGetNext", "IteratorGetNext")
    types = b.graph.node[-1].attr["output_types"].list.type
    types.extend([pb.DataType.DT_FLOAT, pb.DataType.DT_INT64])
    logits = b.dense("logits", b.node("hidden/Relu", "Relu", b.dense("hidden", it + ":0")))
    b.softmax_loss(logits, it + ":1")
    b.node("probs", "Softmax", logits)
    kinds = {info.name: info.kind for info in roles_of(b.model()).inputs}
    assert kinds == {"IteratorGetNext:0": FEATURE, "IteratorGetNext:1": LABEL}
    from inspector.ranking import rank_outputs

    ranked = names(rank_outputs(b.model()))
    assert ranked[0] == "probs" and "loss/xent" not in ranked


def test_unshaped_float_joining_after_the_first_layer_is_a_switch():
    # tf.placeholder(tf.float32) as keep_prob: no shape, multiplied into a hidden layer
    b = classifier()
    b.node("keep", "Placeholder")
    b.graph.node[-1].attr.pop("shape")
    dropped = b.node("dropout/mul", "Mul", "hidden/Relu", "keep")
    b.node("head2/Sigmoid", "Sigmoid", b.dense("head2", dropped))
    assert _kinds(b)["keep"] == SWITCH


def test_switch_and_label_name_hints():
    assert switch_name_hint("keep_prob") and switch_name_hint("model/is_training")
    assert not switch_name_hint("images")
    assert label_name_hint("labels") and label_name_hint("inputs/y_")
    assert not label_name_hint("inputs/x")


def _dropout(b: Builder, rate_input: str, tf2: bool) -> None:
    """tf.nn.dropout as TF1 writes it (keep_prob + uniform, floor) or TF2 (uniform >= rate)."""
    shape = b.node("dropout/Shape", "Shape", "hidden/Relu")
    uniform = b.node("dropout/random_uniform", "RandomUniform", shape)
    if tf2:
        mask = b.node("dropout/GreaterEqual", "GreaterEqual", uniform, rate_input)
        kept = b.node("dropout/SelectV2", "SelectV2", mask, "hidden/Relu", "hidden/Relu")
    else:
        mask = b.node("dropout/Floor", "Floor", b.node("dropout/add", "AddV2", rate_input, uniform))
        kept = b.node("dropout/mul", "Mul", b.node("dropout/div", "RealDiv", "hidden/Relu", rate_input), mask)
    b.node("head/Sigmoid", "Sigmoid", b.dense("head", kept))


def test_switch_kinds_come_from_how_the_graph_uses_them():
    b = classifier()
    _dropout(b, b.node("p", "Placeholder", shape=[]), tf2=False)
    flag = b.node("flag", "PlaceholderWithDefault", b.node("false", "Const", dtype=BOOL, shape=[]),
                  dtype=BOOL, shape=[])
    b.node("cond/Switch", "Switch", "hidden/Relu", flag)
    lr = b.node("lr", "Placeholder", shape=[])
    b.node("GradientDescent/update_x", "ApplyGradientDescent", "hidden/kernel", lr, "gradients/grad_0")
    switches = roles_of(b.model()).switches
    assert (switches["p"].kind, switches["p"].inference_value) == (KEEP_PROB, 1.0)
    assert (switches["flag"].kind, switches["flag"].inference_value) == (TRAINING_FLAG, False)
    assert (switches["lr"].kind, switches["lr"].inference_value) == (LEARNING_RATE, None)

    c = classifier()
    _dropout(c, c.node("q", "Placeholder", shape=[]), tf2=True)
    switch = roles_of(c.model()).switches["q"]
    assert (switch.kind, switch.inference_value) == (DROPOUT_RATE, 0.0)


def test_input_seeds_scan_each_multi_output_node_once():
    """Issue 12 item 4: an iterator with 300 outputs, each read by its own op: asking for each
    output and each consumer which outputs that consumer reads rescanned all 300 uses every time
    (300^3 steps); one scan per node now gives every output its readers."""
    from inspector.graph.index import GraphIndex
    from inspector.graph.model import GraphModel
    from inspector.roles.inputs import input_seeds
    from tests.graphs import GraphBuilder
    from tests.walks import metered

    g = GraphBuilder()
    g.add("it", "IteratorGetNext")
    for port in range(300):
        g.add(f"read_{port}", "Identity", [f"it:{port}", f"it:{port}"])
    model = GraphModel(g.graph_def)
    index = GraphIndex.from_model(model)
    metered(model)
    it = index.pos["it"]
    seeds = input_seeds(index, model, [(it, port) for port in range(300)])
    assert seeds == {index.pos[f"read_{port}"]: 1 << port for port in range(300)}
