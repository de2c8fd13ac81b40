"""BATCHNORM_TRAINING_MODE, DROPOUT_ACTIVE, TRAINING_SWITCH, REDUCED_PRECISION_OUTPUT, and what must
not trigger them."""

from __future__ import annotations

from inspector.diagnosis import inference
from tests.graphs import BOOL, FLOAT, HALF, INT32, INT64
from tests.inspector.diagnosis.graphs import Graph, mlp


def _fused_bn(**attrs: object) -> Graph:
    g = Graph()
    g.placeholder("x")
    for name in ("gamma", "beta", "mean", "variance"):
        g.const(name, [1.0, 1.0])
    g.add("bn", "FusedBatchNormV3", ["x", "gamma", "beta", "mean", "variance"], **attrs)
    g.add("out", "Relu", ["bn"], T=FLOAT)
    return g


def test_fused_batch_norm_in_training_mode():
    (finding,) = inference.check_batchnorm_training(_fused_bn(T=FLOAT, U=FLOAT, is_training=True).index())
    assert (finding.code, finding.evidence["fused_batch_norm"]) == ("BATCHNORM_TRAINING_MODE", ["bn"])


def test_fused_batch_norm_inference_mode_is_fine():
    assert inference.check_batchnorm_training(_fused_bn(T=FLOAT, U=FLOAT, is_training=False).index()) == []


def test_missing_is_training_means_the_opdef_default_true():
    assert inference.check_batchnorm_training(_fused_bn(T=FLOAT, U=FLOAT).index())


def test_attrs_stripped_by_another_tool_say_nothing():
    assert inference.check_batchnorm_training(_fused_bn().index()) == []


def _moments(axes: list[int]) -> Graph:
    g = Graph()
    g.placeholder("x")
    g.const("axes", axes, INT32)
    g.add("mean", "Mean", ["x", "axes"], T=FLOAT, keep_dims=True)
    g.add("mean_sg", "StopGradient", ["mean"], T=FLOAT)
    g.add("sqdiff", "SquaredDifference", ["x", "mean_sg"], T=FLOAT)
    g.add("variance", "Mean", ["sqdiff", "axes"], T=FLOAT, keep_dims=True)
    g.add("centered", "Sub", ["x", "mean"], T=FLOAT)
    g.add("out", "RealDiv", ["centered", "variance"], T=FLOAT)
    return g


def test_moments_over_the_batch_axis():
    (finding,) = inference.check_batchnorm_training(_moments([0]).index())
    assert finding.evidence["batch_moments"] == ["mean"]


def test_layer_norm_moments_over_the_last_axis_are_fine():
    assert inference.check_batchnorm_training(_moments([1]).index()) == []


def test_a_batch_mean_compared_with_a_constant_target_is_not_a_variance():
    """A loss-like output: (mean over the batch - target)^2 has a Mean over axis 0 feeding a
    SquaredDifference, but not with the tensor the mean was taken of."""
    g = Graph()
    g.placeholder("x")
    g.const("axes", [0], INT32)
    g.add("mean", "Mean", ["x", "axes"], T=FLOAT)
    g.const("target", [0.5, 0.5])
    g.add("error", "SquaredDifference", ["mean", "target"], T=FLOAT)
    assert inference.check_batchnorm_training(g.index()) == []
    assert inference.check_training_switches(g.index()) == []


def _training_switch(g: Graph, default: bool) -> None:
    g.const("default", default, BOOL)
    g.add("is_training", "PlaceholderWithDefault", ["default"], dtype=BOOL)


def test_training_mode_bn_behind_a_switch_that_defaults_to_false_is_fine():
    g = _fused_bn(T=FLOAT, U=FLOAT, is_training=True)
    _training_switch(g, False)
    g.graph_def.node[5].input[0] = "switch:1"
    g.add("switch", "Switch", ["x", "is_training"], T=FLOAT)
    g.add("merge", "Merge", ["switch:0", "bn"], T=FLOAT, N=2)
    g.graph_def.node[6].input[0] = "merge"
    assert inference.check_batchnorm_training(g.index()) == []
    assert inference.check_training_switches(g.index()) == []
    g.graph_def.node[7].attr["value"].tensor.bool_val[0] = True  # now it defaults to training
    assert inference.check_batchnorm_training(g.index()) == []  # feeding False avoids it: no error
    (finding,) = inference.check_training_switches(g.index())
    assert (finding.code, finding.severity) == ("TRAINING_SWITCH", "warning")
    assert finding.evidence["switches"] == [{"switch": "is_training", "kind": "training_flag",
                                             "inference_value": "False", "batch_norm": ["bn"], "dropout": []}]
    assert "is_training=False" in finding.fix


def test_bn_and_dropout_behind_a_bool_placeholder_are_one_warning_naming_it():
    """A plain tf.placeholder(tf.bool) is_training must always be fed: False avoids both."""
    g = _fused_bn(T=FLOAT, U=FLOAT, is_training=True)
    g.add("is_training", "Placeholder", dtype=BOOL)
    g.graph_def.node[5].input[0] = "switch:1"
    g.add("switch", "Switch", ["x", "is_training"], T=FLOAT)
    g.add("merge", "Merge", ["switch:0", "bn"], T=FLOAT, N=2)
    g.graph_def.node[6].input[0] = "merge"
    g.add("switch2", "Switch", ["out", "is_training"], T=FLOAT)
    dropped = _dropout(g, "switch2:1")
    g.add("merge2", "Merge", ["switch2:0", dropped], T=FLOAT, N=2)
    g.add("final", "Identity", ["merge2"], T=FLOAT)
    index = g.index()
    assert inference.check_batchnorm_training(index) == [] and inference.check_dropout(index) == []
    (finding,) = inference.check_training_switches(index)
    (switch,) = finding.evidence["switches"]
    assert (switch["switch"], switch["batch_norm"], switch["dropout"]) == ("is_training", ["bn"],
                                                                            ["dropout/SelectV2"])
    assert "'is_training' (bool training flag)" in finding.message and "keep_prob" not in finding.fix


def _dropout(g: Graph, source: str) -> str:
    """TF2 tf.nn.dropout: RandomUniform >= rate -> SelectV2(mask, x * scale, 0)."""
    g.add("dropout/Shape", "Shape", [source], T=FLOAT)
    g.add("dropout/random_uniform", "RandomUniform", ["dropout/Shape"], dtype=FLOAT)
    g.const("dropout/rate", 0.5)
    g.add("dropout/GreaterEqual", "GreaterEqual", ["dropout/random_uniform", "dropout/rate"], T=FLOAT)
    g.const("dropout/scale", 2.0)
    g.add("dropout/Mul", "Mul", [source, "dropout/scale"], T=FLOAT)
    g.const("dropout/zeros", 0.0)
    g.add("dropout/SelectV2", "SelectV2", ["dropout/GreaterEqual", "dropout/Mul", "dropout/zeros"], T=FLOAT)
    return "dropout/SelectV2"


def test_dropout_on_the_output_path():
    g = mlp()
    out = _dropout(g, "probs")
    g.add("final", "Identity", [out], T=FLOAT)
    (finding,) = inference.check_dropout(g.index())
    assert finding.evidence["dropout"] == [{"random": "dropout/random_uniform",
                                            "mask": "dropout/GreaterEqual", "applied_at": "dropout/SelectV2",
                                            "rate_inputs": []}]
    assert finding.severity == "error"


def _tf1_dropout(keep_prob_fed: bool) -> Graph:
    g = mlp()
    g.add("shape", "Shape", ["probs"], T=FLOAT)
    g.add("random", "RandomUniform", ["shape"], dtype=FLOAT)
    if keep_prob_fed:
        g.placeholder("keep_prob")
    else:
        g.const("keep_prob", 0.8)
    g.add("add", "Add", ["keep_prob", "random"], T=FLOAT)
    g.add("floor", "Floor", ["add"], T=FLOAT)
    g.add("div", "RealDiv", ["probs", "keep_prob"], T=FLOAT)
    g.add("mul", "Mul", ["div", "floor"], T=FLOAT)
    return g


def test_tf1_dropout_with_floor_and_mul():
    (finding,) = inference.check_dropout(_tf1_dropout(False).index())
    assert (finding.severity, finding.evidence["dropout"][0]["mask"]) == ("error", "floor")


def test_dropout_with_a_fed_keep_prob_is_a_warning_naming_it():
    index = _tf1_dropout(True).index()
    assert inference.check_dropout(index) == []
    (finding,) = inference.check_training_switches(index)
    assert (finding.severity, finding.evidence["switches"][0]["switch"]) == ("warning", "keep_prob")
    assert "keep_prob=1.0" in finding.fix and "(keep probability)" in finding.message


def test_stacked_dropout_layers_each_name_the_fed_keep_prob():
    """The second layer's draw is shaped like activations that already depend on keep_prob;
    its rate still comes from keep_prob, and only from there."""
    g = _tf1_dropout(True)
    g.add("shape2", "Shape", ["mul"], T=FLOAT)
    g.add("random2", "RandomUniform", ["shape2"], dtype=FLOAT)
    g.add("add2", "Add", ["keep_prob", "random2"], T=FLOAT)
    g.add("floor2", "Floor", ["add2"], T=FLOAT)
    g.add("div2", "RealDiv", ["mul", "keep_prob"], T=FLOAT)
    g.add("mul2", "Mul", ["div2", "floor2"], T=FLOAT)
    assert [d["rate_inputs"] for d in inference.dropout_masks(g.index())] == [["keep_prob"], ["keep_prob"]]
    (finding,) = inference.check_training_switches(g.index())
    assert finding.evidence["switches"][0]["dropout"] == ["mul", "mul2"]


def test_random_noise_without_a_mask_is_not_dropout():
    g = mlp()
    g.add("shape", "Shape", ["probs"], T=FLOAT)
    g.add("noise", "RandomUniform", ["shape"], dtype=FLOAT)
    g.add("noisy", "Mul", ["probs", "noise"], T=FLOAT)
    assert inference.check_dropout(g.index()) == []


def test_dropout_off_the_inference_path_is_fine():
    g = mlp()
    _training_switch(g, False)
    g.add("switch", "Switch", ["probs", "is_training"], T=FLOAT)
    out = _dropout(g, "switch:1")
    g.add("merge", "Merge", ["switch:0", out], T=FLOAT, N=2)
    assert inference.check_dropout(g.index()) == []


def _cast_output(dst: int, src: int = FLOAT) -> Graph:
    g = mlp()
    g.add("output", "Cast", ["probs"], SrcT=src, DstT=dst)
    return g


def test_float16_output():
    (finding,) = inference.check_reduced_precision(_cast_output(HALF).index())
    assert finding.evidence["casts"] == [{"output": "output", "cast": "output", "from": "float32",
                                          "to": "float16"}]
    assert finding.severity == "warning"


def test_int_cast_of_a_float_output_through_identity():
    g = _cast_output(INT32)
    g.add("final", "Identity", ["output"], T=INT32)
    (finding,) = inference.check_reduced_precision(g.index())
    assert finding.evidence["casts"][0]["output"] == "final"


def test_argmax_and_upcasts_are_fine():
    g = mlp()
    g.const("axis", 1, INT32)
    g.add("classes", "ArgMax", ["probs", "axis"], T=FLOAT, output_type=INT64)
    g.add("ids", "Placeholder", dtype=INT32)
    g.add("ids_f", "Cast", ["ids"], SrcT=INT32, DstT=FLOAT)
    assert inference.check_reduced_precision(g.index()) == []


def test_single_random_draw_is_a_decision_not_dropout():
    """tf.image.random_flip_left_right: one scalar draw compared with 0.5 selects flipped or not."""
    g = mlp()
    g.const("scalar_shape", [], INT32)
    g.add("random", "RandomUniform", ["scalar_shape"], dtype=FLOAT)
    g.const("half", 0.5)
    g.add("flip", "Less", ["random", "half"], T=FLOAT)
    g.add("reversed", "Neg", ["probs"], T=FLOAT)
    g.add("out", "Select", ["flip", "reversed", "probs"], T=FLOAT)
    assert inference.check_dropout(g.index()) == []


def test_rounded_int_output_is_deliberate():
    g = mlp()
    g.add("rounded", "Round", ["probs"], T=FLOAT)
    g.add("labels", "Cast", ["rounded"], SrcT=FLOAT, DstT=INT32)
    assert inference.check_reduced_precision(g.index()) == []


def test_weights_drawn_at_random_on_every_run():
    g = Graph()
    g.placeholder("x")
    g.const("shape", [4, 3], INT32)
    g.add("W", "RandomUniform", ["shape"], dtype=FLOAT, T=INT32)
    g.const("scale", 0.1)
    g.add("W_scaled", "Mul", ["W", "scale"], T=FLOAT)
    g.add("logits", "MatMul", ["x", "W_scaled"], T=FLOAT)
    g.add("probs", "Softmax", ["logits"], T=FLOAT)
    (finding,) = inference.check_random_weights(g.index())
    assert (finding.code, finding.severity) == ("RANDOM_WEIGHTS", "error")
    assert finding.evidence["weights"] == [{"node": "logits", "op": "MatMul", "input": 1,
                                            "weight": "W_scaled"}]
    from inspector.diagnosis import freezing

    assert freezing.check_wrong_outputs(g.index()) == []  # not "holds no weights at all"


def test_noise_mixed_with_an_input_is_not_a_random_weight():
    """A VAE decoder: z = mu + sigma * eps, eps drawn at random, then z @ W (W a trained Const)."""
    g = mlp()
    g.add("shape", "Shape", ["probs"], T=FLOAT)
    g.add("eps", "RandomStandardNormal", ["shape"], dtype=FLOAT, T=INT32)
    g.add("z", "AddV2", ["probs", "eps"], T=FLOAT)
    g.const("w2", [[1.0, 2.0], [0.5, 0.5], [1.0, 1.0]])
    g.add("decoded", "MatMul", ["z", "w2"], T=FLOAT)
    assert inference.check_random_weights(g.index()) == []


def test_the_rate_search_reaches_each_node_once_per_hop():
    """Issue 12 item 4: beside the dropout, 4 levels of Identity each read the one before 30 times
    from the random draw: the hop-by-hop search listed every path (30^4) instead of every node."""
    from inspector.diagnosis.graphindex import GraphIndex
    from inspector.graph.model import GraphModel
    from tests.walks import ladder, metered

    g = _tf1_dropout(True)
    ladder(g, "random", "Identity", levels=4, k=30, T=FLOAT)
    model = GraphModel(g.graph_def)
    metered(model)
    assert [d["rate_inputs"] for d in inference.dropout_masks(GraphIndex(model))] == [["keep_prob"]]
