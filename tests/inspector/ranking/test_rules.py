"""Every rule and every step earns its place: for each, a graph whose best output is right with
it and wrong without it (``rank_outputs(..., disabled={name})``, what ``make eval --without``
does on the real graphs)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from inspector.proto import pb
from inspector.ranking import rank_outputs
from inspector.ranking.rules import RULE_NAMES, RULES
from inspector.ranking.steps import STEP_NAMES
from tests.graph_builder import INT64, Builder, classifier

INT32 = pb.DataType.DT_INT32


def _seed(b: Builder, loss: str, scope: str = "gradients") -> str:
    one = b.node(f"{scope}/one", "Const", shape=[])
    b.graph.node[-1].attr["value"].tensor.float_val.append(1.0)
    return b.node(f"{scope}/Fill", "Fill", b.node(f"{scope}/Shape", "Shape", loss), one)


def _train_on(b: Builder, loss: str, variables: list[str], scope: str = "gradients",
              opt: str = "SGD") -> None:
    seed = _seed(b, loss, scope)
    lr = b.node(f"{opt}/lr", "Const", shape=[])
    for var in variables:
        grad = b.node(f"{scope}/{var}_grad", "MatMul", seed, f"{var}/read")
        b.node(f"{opt}/update_{var}/Apply", "ApplyGradientDescent", var, lr, grad)


def _trunk(b: Builder) -> str:
    return b.node("trunk/Relu", "Relu", b.dense("trunk", b.placeholder("x")))


def _side_sink(b: Builder, trunk: str) -> str:
    """A sink computed from the trunk only (half the weights): what a wrong rule would pick."""
    return b.node("aaa_side", "Relu", trunk)


def end_sink() -> tuple[Builder, str]:
    b = Builder()
    trunk = _trunk(b)
    head = b.node("head/Tanh", "Tanh", b.dense("head", trunk))
    aux = b.node("aux/Tanh", "Tanh", b.dense("aux", trunk))
    b.node("aux_hist", "HistogramSummary", b.node("tag", "Const", shape=[]), aux)
    return b, head


def end_compared() -> tuple[Builder, str]:
    b = classifier(with_softmax_sink=False)
    b.node("aaa_side", "Relu", "hidden/Relu")
    return b, "logits/BiasAdd"


def end_boundary() -> tuple[Builder, str]:
    b = Builder()
    z = b.placeholder("z")
    fake = b.node("G/Tanh", "Tanh", b.dense("G/out", b.node("G/h/Relu", "Relu", b.dense("G/h", z))))
    d_logit = b.dense("D/logit", b.node("D/h/Relu", "Relu", b.dense("D/h", fake)))
    axes = b.node("axes", "Const", shape=[1])
    d_loss = b.node("d_loss", "Mean", b.node("d_diff", "SquaredDifference", d_logit,
                                              b.node("ones", "OnesLike", d_logit)), axes)
    g_loss = b.node("g_loss", "Neg", b.node("g_mean", "Mean", d_logit, axes))
    _train_on(b, g_loss, ["G/h/kernel", "G/h/bias", "G/out/kernel", "G/out/bias"], "gradients", "G_opt")
    _train_on(b, d_loss, ["D/h/kernel", "D/h/bias", "D/logit/kernel", "D/logit/bias"], "gradients_1", "D_opt")
    _side_sink(b, "G/h/Relu")
    return b, fake


def critic_score() -> tuple[Builder, str]:
    b, fake = end_boundary()
    # the discriminator's probability, logged: summarized, a final activation, every weight behind it
    d_prob = b.node("D/Sigmoid", "Sigmoid", "D/logit/BiasAdd")
    b.node("d_hist", "HistogramSummary", b.node("d_tag", "Const", shape=[]), d_prob)
    return b, fake


def reconstruction_aside() -> tuple[Builder, str]:
    # a classifier regularized by a decoder that reconstructs its input (CapsNet's shape)
    b = Builder()
    images = b.placeholder("images")
    labels = b.placeholder("labels", [-1], INT64)
    hidden = b.node("hidden/Relu", "Relu", b.dense("hidden", images))
    logits = b.dense("logits", hidden)
    recon = b.node("decoder/Sigmoid", "Sigmoid", b.dense("decoder", hidden))
    axis = b.node("axis", "Const", dtype=INT32, shape=[1])
    recon_loss = b.node("recon_loss", "Mean", b.node("recon_sq", "SquaredDifference", recon, images), axis)
    total = b.node("total_loss", "AddV2", b.softmax_loss(logits, labels), recon_loss)
    _train_on(b, total, ["hidden/kernel", "logits/kernel", "decoder/kernel"])
    return b, logits


def end_summarized() -> tuple[Builder, str]:
    b = Builder()
    trunk = _trunk(b)
    out = b.node("out/Tanh", "Tanh", b.dense("out", trunk))
    b.node("out_hist", "HistogramSummary", b.node("tag", "Const", shape=[]), out)
    _side_sink(b, trunk)
    return b, out


def end_metric() -> tuple[Builder, str]:
    b = Builder()
    trunk = _trunk(b)
    out = b.node("out/Tanh", "Tanh", b.dense("out", trunk))
    b.node("acc/Equal", "Equal", out, b.placeholder("labels", [-1, 4]))
    _side_sink(b, trunk)
    return b, out


def weight_share() -> tuple[Builder, str]:
    b = Builder()
    trunk = _trunk(b)
    out = b.node("zz_out/Relu", "Relu", b.dense("zz_out", trunk))
    _side_sink(b, trunk)
    return b, out


def final_activation() -> tuple[Builder, str]:
    b = Builder()
    trunk = _trunk(b)
    out = b.node("zz_s", "Softmax", b.dense("zz", trunk))
    b.node("aaa_other", "Relu", b.dense("other", trunk))
    return b, out


def name_hint() -> tuple[Builder, str]:
    b = Builder()
    trunk = _trunk(b)
    out = b.node("output", "Relu", b.dense("o", trunk))
    b.node("aaa", "Relu", b.dense("a", trunk))
    return b, out


def _loop(b: Builder, x: str) -> tuple[str, str]:
    enter = b.node("rnn/Enter", "Enter", x)
    merge = b.node("rnn/Merge", "Merge", enter, "rnn/NextIteration")
    switch = b.node("rnn/Switch", "Switch", merge, b.node("rnn/LoopCond", "LoopCond", merge))
    body = b.node("rnn/Tanh", "Tanh", b.node("rnn/MatMul", "MatMul", "rnn/Identity", "rnn/w/Enter"))
    b.node("rnn/Identity", "Identity", switch + ":1")
    b.variable("rnn/w", [4, 4])
    b.node("rnn/w/Enter", "Enter", "rnn/w/read")
    b.node("rnn/NextIteration", "NextIteration", body)
    return body, b.node("rnn/Exit", "Exit", switch)


def in_loop() -> tuple[Builder, str]:
    # an output head applied at every step inside the loop, and after it on the final state
    b = Builder()
    body, exit_ = _loop(b, b.placeholder("seq"))
    head = b.variable("head", [4, 4])
    b.node("a_in_loop", "Sigmoid", b.node("a_step", "MatMul", body, b.node("head/Enter", "Enter", head)))
    return b, b.node("zz_out", "Relu", b.node("out", "MatMul", exit_, head))


def scalar_statistic() -> tuple[Builder, str]:
    # a logged mean of the logits is a sink; the logits the loss compares are the prediction
    b = classifier(with_softmax_sink=False)
    b.node("mean_logit", "Mean", "logits/BiasAdd", b.node("all", "Const", shape=[2]), shape=None)
    b.graph.node[-1].attr["_output_shapes"].list.shape.add()  # a scalar
    return b, "logits/BiasAdd"


def activation_over_compared() -> tuple[Builder, str]:
    # NeuMF's shape: a Sigmoid over the logits the loss compares, read further by an evaluation
    # that ends in a scalar hit ratio
    b = classifier(with_softmax_sink=False)
    probs = b.node("Sigmoid", "Sigmoid", "logits/BiasAdd")
    ranked = b.node("eval/Reshape", "Reshape", probs, b.node("eval/shape", "Const", dtype=INT32, shape=[2]))
    top = b.node("eval/TopKV2", "TopKV2", ranked, b.node("eval/k", "Const", dtype=INT32, shape=[]))
    b.node("eval/hit_ratio", "Mean", b.node("eval/Cast", "Cast", top), b.node("eval/all", "Const", shape=[2]),
           shape=None)
    b.graph.node[-1].attr["_output_shapes"].list.shape.add()  # a scalar
    return b, probs


def probabilities_over_decision() -> tuple[Builder, str]:
    b = Builder()
    probs = b.node("Softmax", "Softmax", b.dense("logits", b.placeholder("x")))
    b.node("ArgMax_2", "ArgMax", probs, b.node("axis", "Const", dtype=INT32, shape=[]))
    return b, probs


def decoded_over_compared() -> tuple[Builder, str]:
    # speech: the CTC loss reads the logits, the edit distance measures their beam-search decoding
    b = classifier(with_softmax_sink=False)
    decoded = b.node("CTCBeamSearchDecoder", "CTCBeamSearchDecoder", "logits/BiasAdd", dtype=INT64)
    b.node("edit_distance", "EditDistance", decoded, "labels")
    return b, decoded


def loss_network_input() -> tuple[Builder, str]:
    # a perceptual loss: one fixed network (its weights constants, built twice from one array)
    # over the model's output and over the input; its unused last layer is a sink
    b = Builder()
    x = b.placeholder("x")
    out = b.node("transform/Tanh", "Tanh", b.dense("transform", x))
    def fixed_layer(scope: str, value: str) -> str:
        weight = b.node(f"{scope}/w", "Const", shape=[4, 4])  # the same (empty) value each time
        return b.node(f"{scope}/Relu", "Relu", b.node(f"{scope}/MatMul", "MatMul", value, weight))

    fixed_p, fixed_t = fixed_layer("vgg", out), fixed_layer("vgg_1", x)
    fixed_layer("vgg/tail", fixed_p)
    loss = b.node("content_loss", "Mean", b.node("sq", "SquaredDifference", fixed_p, fixed_t),
                  b.node("axes", "Const", shape=[2]))
    _train_on(b, loss, ["transform/kernel", "transform/bias"])
    return b, out


def towers_over_their_comparison() -> tuple[Builder, str]:
    # a contrastive loss on the squared distance between two applications of one network
    b = Builder()
    left = b.dense("tower", b.placeholder("x1"))
    right_mm = b.node("tower_1/MatMul", "MatMul", b.placeholder("x2"), "tower/kernel/read")
    right = b.node("tower_1/BiasAdd", "BiasAdd", right_mm, "tower/bias/read")
    diff = b.node("diff", "Sub", left, right)
    axis = b.node("axis", "Const", shape=[1])
    distance = b.node("distance", "Sum", b.node("squared", "Square", diff), axis)
    same = b.placeholder("same", [-1])
    loss = b.node("loss", "Mean", b.node("pos", "Mul", same, distance), "axis")
    _train_on(b, loss, ["tower/kernel", "tower/bias"])
    return b, left


def self_compared() -> tuple[Builder, str]:
    # batch-hard triplet mining: the loss compares the embedding with itself (emb @ emb.T)
    b = Builder()
    emb = b.node("embedding/Relu", "Relu", b.dense("embedding", b.placeholder("x")))
    gram = b.node("gram", "MatMul", emb, emb)
    b.graph.node[-1].attr["transpose_b"].b = True
    masked = b.node("masked", "Mul", gram, b.node("mask", "Cast", b.node("same", "Equal", b.placeholder(
        "labels", [-1], INT64), b.placeholder("labels_t", [-1], INT64)), dtype=pb.DataType.DT_FLOAT))
    loss = b.node("loss", "Mean", masked, b.node("axes", "Const", shape=[2]))
    _train_on(b, loss, ["embedding/kernel", "embedding/bias"])
    return b, emb


def probed_value() -> tuple[Builder, str]:
    # word2vec: a sink probes the normalized embeddings at a few constant ids
    b = Builder()
    emb = b.variable("emb", [10, 4])
    squares = b.node("ss", "Sum", emb, b.node("a1", "Const", shape=[1]))
    norm = b.node("normalized_embeddings", "Mul", emb, b.node("inv_norm", "Rsqrt", squares))
    ids = b.node("valid_ids", "Const", dtype=INT32, shape=[3])
    valid = b.node("valid_emb", "GatherV2", norm, ids, b.node("a0", "Const", dtype=INT32, shape=[]))
    b.node("similarity", "MatMul", valid, norm)
    b.graph.node[-1].attr["transpose_b"].b = True
    lookup = b.node("lookup", "GatherV2", emb, b.placeholder("words", [-1], INT32), "a0")
    loss = b.node("loss", "Mean", b.node("nce", "Square", lookup), b.node("axes", "Const", shape=[2]))
    _train_on(b, loss, ["emb"])
    return b, norm


def alternatives() -> tuple[Builder, str]:
    # probs -> x[0] slice -> Identity 'out': the batched value behind the view is the output
    b = Builder()
    probs = b.node("probs", "Softmax", b.dense("logits", b.placeholder("x")))
    consts = [b.node(f"s{k}", "Const", dtype=INT32, shape=[1]) for k in range(3)]
    b.node("slice", "StridedSlice", probs, *consts)
    b.graph.node[-1].attr["shrink_axis_mask"].i = 1
    b.node("out", "Identity", "slice")
    return b, probs


WITNESSES: dict[str, Callable[[], tuple[Builder, str]]] = {
    name: globals()[name] for name in sorted(RULE_NAMES | STEP_NAMES)
}


def _first(b: Builder, disabled: frozenset[str] = frozenset()) -> str:
    return rank_outputs(b.model(), disabled=disabled)[0].name


@pytest.mark.parametrize("name", sorted(WITNESSES))
def test_rule_or_step_decides_its_witness(name):
    builder, expected = WITNESSES[name]()
    assert _first(builder) == expected
    assert _first(builder, frozenset({name})) != expected


def test_every_rule_states_why_it_exists():
    for rule in RULES:
        assert len(rule.why) > 30, rule.name


def test_docs_list_every_rule_with_its_weight_and_every_step():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "RANKING.md").read_text()
    for rule in RULES:
        sign = "+" if rule.weight > 0 else "−"
        assert f"| `{rule.name}` | {sign}{abs(rule.weight):.2f}" in text, rule.name
    for name in STEP_NAMES:
        assert f"| `{name}` |" in text, name
