"""Output ranking on small training graphs built in the test (no TensorFlow)."""

from __future__ import annotations

from inspector.ranking import rank_outputs
from inspector.ranking.candidate import Candidate
from tests.graph_builder import FLOAT, INT64, Builder, classifier, names


def test_softmax_sink_first_and_its_logits_listed_next():
    ranked = rank_outputs(classifier().model())
    assert names(ranked)[:2] == ["probabilities", "logits/BiasAdd"]
    top = ranked[0]
    assert 0 < top.score <= 0.9 and top.score > ranked[1].score
    assert "final activation: Softmax over 'logits/BiasAdd'" in top.reasons
    assert top.context["inputs"] == ["images"]
    assert "depends on 100% of the model's trainable weights" in top.reasons
    assert "nothing consumes it: a sink of the model" in top.reasons
    # the score is the visible sum of what the listed reasons contribute
    assert len(top.rules) == len(top.reasons) and abs(sum(w for _, w in top.rules) - top.score) < 1e-9


def test_prediction_that_only_feeds_the_loss_is_found():
    # summarize_graph would list only the optimizer's NoOp here: the logits are not a sink.
    ranked = rank_outputs(classifier(with_softmax_sink=False).model())
    assert ranked[0].name == "logits/BiasAdd"
    assert "the training loss 'loss/Mean' compares it with 'labels'" in ranked[0].reasons
    assert ranked[0].context == {"role": "model", "read_by": {"loss": 1}, "inputs": ["images"]}


def test_nothing_downstream_of_a_label_is_a_candidate():
    ranked = names(rank_outputs(classifier().model()))
    assert not {"loss/xent", "loss/Mean", "labels"} & set(ranked)
    assert not any(name.startswith(("gradients/", "GradientDescent/")) for name in ranked)


def test_forward_to_softmax_when_the_metrics_compare_its_argmax():
    b = classifier(with_softmax_sink=False)
    probs = b.node("probs", "Softmax", "logits/BiasAdd")
    argmax = b.node("ArgMax", "ArgMax", probs, b.node("axis", "Const", dtype=pb_int32(), shape=[]))
    b.node("Equal", "Equal", argmax, "labels", dtype=INT64)
    ranked = names(rank_outputs(b.model()))
    assert ranked[:2] == ["probs", "logits/BiasAdd"]
    assert "ArgMax" not in ranked


def test_named_identity_is_kept_and_the_value_behind_it_follows():
    b = classifier(with_softmax_sink=False)
    b.node("output", "Identity", b.node("probs", "Softmax", "logits/BiasAdd"))
    ranked = rank_outputs(b.model())
    assert names(ranked)[:3] == ["output", "probs", "logits/BiasAdd"]
    assert "Identity of the final activation Softmax 'probs'" in ranked[0].reasons
    assert ranked[1].reasons[0] == "the value behind the Identity 'output'"


def test_bare_biasadd_regression_against_targets():
    b = Builder()
    x = b.placeholder("x")
    y = b.placeholder("targets", [-1, 4])
    out = b.dense("out", b.node("h/Relu", "Relu", b.dense("h", x)))
    diff = b.node("mse/SquaredDifference", "SquaredDifference", y, out)
    loss = b.node("mse/Mean", "Mean", diff, b.node("mse/axis", "Const", shape=[1]))
    b.train(loss, ["h/kernel", "out/kernel"])
    assert rank_outputs(b.model())[0].name == "out/BiasAdd"


def test_autoencoder_loss_source_is_the_reconstruction():
    # No label: the loss compares the reconstruction with the input itself.
    b = Builder()
    x = b.placeholder("x")
    code = b.node("enc/Relu", "Relu", b.dense("enc", x))
    recon = b.node("dec/Sigmoid", "Sigmoid", b.dense("dec", code))
    loss = b.node("loss", "Mean", b.node("sq", "Square", b.node("sub", "Sub", recon, x)),
                  b.node("axis", "Const", shape=[1]))
    b.train(loss, ["enc/kernel", "dec/kernel"])
    ranked = rank_outputs(b.model())
    assert ranked[0].name == "dec/Sigmoid"
    assert "the training loss 'loss' compares it with 'x'" in ranked[0].reasons


def test_scalar_statistic_ranks_below_the_prediction():
    b = classifier()
    b.node("mean_logit", "Mean", "logits/BiasAdd", b.node("all", "Const", shape=[2]), shape=None)
    b.graph.node[-1].attr["_output_shapes"].list.shape.add()  # a scalar
    ranked = rank_outputs(b.model())
    assert ranked[0].name == "probabilities"
    stat = next(c for c in ranked if c.name == "mean_logit")
    assert any("reduced to a scalar" in r for r in stat.reasons)
    assert stat.score < ranked[0].score - 0.2


def test_optimizer_slot_reads_and_shape_ops_are_not_candidates():
    b = classifier()
    b.node("slot", "VariableV2", shape=[4, 4])
    b.node("slot/read", "Identity", "slot")
    b.node("probs_shape", "Shape", "probabilities", dtype=pb_int32())
    ranked = names(rank_outputs(b.model()))
    assert "slot/read" not in ranked and "probs_shape" not in ranked


def test_prediction_only_summarized_stays_a_candidate():
    b = classifier()
    b.node("probs_hist", "HistogramSummary", b.node("tag", "Const", shape=[]), "probabilities")
    ranked = rank_outputs(b.model())
    assert ranked[0].name == "probabilities"


def test_signature_outputs_are_authoritative():
    b = classifier()
    meta = b.with_meta()
    sig = meta.signature_def["serving_default"]
    sig.outputs["scores"].name = "hidden/Relu:0"
    sig.inputs["x"].name = "images:0"
    meta.signature_def["__saved_model_init_op"].outputs["init"].name = "train_op"
    ranked = rank_outputs(b.model(), meta)
    assert ranked[0].name == "hidden/Relu" and ranked[0].score == 1.0
    assert ranked[0].reasons[0] == "declared as output 'scores' of signature 'serving_default'"
    assert "train_op" not in names(ranked)


def test_frozen_graph_weights_are_float_constants():
    b = Builder()
    x = b.placeholder("input")
    w = b.node("w", "Const", shape=[4, 4])
    hidden = b.node("MatMul", "MatMul", x, w)
    side = b.node("side", "Relu", b.node("side_mm", "MatMul", x, b.node("w2", "Const", shape=[4, 2])))
    b.node("Softmax", "Softmax", b.node("MatMul_1", "MatMul", hidden, b.node("w1", "Const", shape=[4, 8])))
    ranked = rank_outputs(b.model())
    assert ranked[0].name == "Softmax"
    assert side in names(ranked)


def test_to_json_has_the_documented_keys():
    cand = Candidate("a", 0.5, "Softmax", "float32", [-1, 3], ["why"], None, [("end_sink", 0.5)],
                     {"role": "model", "read_by": {}})
    assert cand.to_json() == {"name": "a", "score": 0.5, "op": "Softmax", "dtype": "float32",
                              "shape": [-1, 3], "reasons": ["why"], "group": None,
                              "rules": [{"rule": "end_sink", "weight": 0.5}],
                              "context": {"role": "model", "read_by": {}}}


def test_while_loop_state_ranks_below_the_head():
    b = Builder()
    x = b.placeholder("seq")
    enter = b.node("rnn/Enter", "Enter", x)
    merge = b.node("rnn/Merge", "Merge", enter, "rnn/NextIteration")
    switch = b.node("rnn/Switch", "Switch", merge, b.node("rnn/LoopCond", "LoopCond", merge, dtype=FLOAT))
    body = b.node("rnn/Tanh", "Tanh", b.node("rnn/MatMul", "MatMul", "rnn/Identity", "rnn/w/Enter"))
    b.node("rnn/Identity", "Identity", switch + ":1")
    b.variable("rnn/w", [4, 4])
    b.node("rnn/w/Enter", "Enter", "rnn/w/read")
    b.node("rnn/NextIteration", "NextIteration", body)
    exit_ = b.node("rnn/Exit", "Exit", switch)
    b.node("head/Sigmoid", "Sigmoid", b.dense("head", exit_))
    ranked = rank_outputs(b.model())
    assert ranked[0].name == "head/Sigmoid"


def pb_int32() -> int:
    from inspector.proto import pb

    return pb.DataType.DT_INT32


def test_classic_cross_entropy_on_the_log_of_the_softmax():
    # y = softmax(xW + b); cross_entropy = -reduce_sum(y_ * log(clip(y)))  (the TF1 tutorial)
    b = Builder()
    x = b.placeholder("x")
    y_ = b.placeholder("y_", [-1, 4])
    y = b.node("Softmax", "Softmax", b.dense("layer", x))
    low, high = b.node("lo", "Const", shape=[]), b.node("hi", "Const", shape=[])
    clipped = b.node("clip", "ClipByValue", y, low, high)
    prod = b.node("mul", "Mul", y_, b.node("Log", "Log", clipped))
    loss = b.node("Neg", "Neg", b.node("Sum", "Sum", prod, b.node("axes", "Const", shape=[2])))
    b.train(loss, ["layer/kernel"])
    ranked = rank_outputs(b.model())
    assert names(ranked)[:2] == ["Softmax", "layer/BiasAdd"]
    assert "Log" not in names(ranked) and "clip" not in names(ranked)


def _one_example_view(frozen: bool) -> Builder:
    """probs -> StridedSlice x[0] -> Identity 'out': a per-example view at the end of the graph."""
    b = Builder()
    x = b.placeholder("x")
    if frozen:
        logits = b.node("MatMul", "MatMul", x, b.node("w", "Const", shape=[4, 4]))
    else:
        logits = b.dense("logits", x)
    probs = b.node("probs", "Softmax", logits)
    consts = [b.node(f"s{k}", "Const", dtype=pb_int32(), shape=[1]) for k in range(3)]
    b.node("slice", "StridedSlice", probs, *consts)
    b.graph.node[-1].attr["shrink_axis_mask"].i = 1
    b.node("out", "Identity", "slice")
    return b


def test_batched_value_behind_an_x0_view_ranks_first_in_a_graph_with_variables():
    ranked = rank_outputs(_one_example_view(frozen=False).model())
    assert names(ranked)[:2] == ["probs", "out"]
    assert ranked[0].reasons[0] == "the batched value behind the x[0] slice 'slice'"


def test_frozen_graph_keeps_the_sink_it_was_frozen_with():
    ranked = rank_outputs(_one_example_view(frozen=True).model())
    assert names(ranked)[:3] == ["out", "slice", "probs"]


def test_gan_generator_output_is_found_where_it_enters_the_discriminator():
    # Two optimizers over disjoint weights, each with its own loss; the generator's output feeds
    # the discriminator's first layer and is no sink; the losses compare with constants only.
    b = Builder()
    z = b.placeholder("z")
    fake = b.node("G/Tanh", "Tanh", b.dense("G/out", b.node("G/h/Relu", "Relu", b.dense("G/h", z))))
    d_logit = b.dense("D/logit", b.node("D/h/Relu", "Relu", b.dense("D/h", fake)))
    ones = b.node("ones", "OnesLike", d_logit)
    axes = b.node("axes", "Const", shape=[1])
    d_loss = b.node("d_loss", "Mean", b.node("d_diff", "SquaredDifference", d_logit, ones), axes)
    g_loss = b.node("g_loss", "Neg", b.node("g_mean", "Mean", d_logit, axes))
    for net, scopes, loss, scope in (("G_opt", ("G/h", "G/out"), g_loss, "gradients"),
                                     ("D_opt", ("D/h", "D/logit"), d_loss, "gradients_1")):
        one = b.node(f"{scope}/one", "Const", shape=[])
        b.graph.node[-1].attr["value"].tensor.float_val.append(1.0)
        seed = b.node(f"{scope}/Fill", "Fill", b.node(f"{scope}/Shape", "Shape", loss), one)
        for var in (f"{s}/{kind}" for s in scopes for kind in ("kernel", "bias")):
            grad = b.node(f"{scope}/{var}_grad", "MatMul", seed, f"{var}/read")
            b.node(f"{net}/update_{var}/ApplyGradientDescent", "ApplyGradientDescent",
                   var, b.node(f"{net}/update_{var}/lr", "Const", shape=[]), grad)
    ranked = rank_outputs(b.model())
    assert ranked[0].name == "G/Tanh"
    assert ranked[0].reasons[0] == ("output of the network trained by 'G_opt', fed into a network "
                                    "trained by another optimizer")
    assert "depends on 100% of the trainable weights of the network trained by 'G_opt'" in ranked[0].reasons


def test_a_value_the_metrics_compare_with_the_labels_is_a_candidate_though_the_model_reads_it():
    # CapsNet: the predicted class feeds the decoder at inference and the accuracy compares it
    b = classifier()
    decision = b.node("y_pred", "ArgMax", "probabilities", b.node("axis", "Const", shape=[]))
    b.node("decoder/Sigmoid", "Sigmoid", b.dense("decoder", b.node("mask", "Cast", decision)))
    b.node("correct", "Equal", decision, "labels")
    ranked = {c.name: c for c in rank_outputs(b.model())}
    assert "y_pred" in ranked
    assert "the metrics compare it (or its argmax) with the labels" in ranked["y_pred"].reasons
