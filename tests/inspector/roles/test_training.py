"""The training step from structure: updates, the seed, the backward pass, optimizer groups."""

from __future__ import annotations

from inspector.roles import GRADIENT, MODEL, OPTIMIZER, roles_of
from tests.graph_builder import Builder, classifier


def test_keras_style_assign_updates_computed_from_gradient_kernels_are_updates():
    b = Builder()
    x = b.placeholder("x")
    hidden = b.node("h/Relu", "Relu", b.dense("h", x))
    out = b.node("out/Sigmoid", "Sigmoid", b.dense("out", hidden))
    loss = b.node("loss", "Mean", out, b.node("axis", "Const", shape=[1]))
    shape = b.node("grads/Shape", "Shape", loss)
    one = b.node("grads/one", "Const", shape=[])
    b.graph.node[-1].attr["value"].tensor.float_val.append(1.0)
    seed = b.node("grads/Fill", "Fill", shape, one)
    dz = b.node("grads/ReluGrad", "ReluGrad", seed, hidden)
    step = b.node("sgd/mul", "Mul", b.node("sgd/lr", "Const", shape=[]), dz)
    new = b.node("sgd/sub", "Sub", "h/kernel/read", step)
    b.node("sgd/Assign", "Assign", "h/kernel", new)
    r = roles_of(b.model())
    assert r.has_training and [r.index.names[u] for u in r.training.updates] == ["sgd/Assign"]
    assert r.of("grads/ReluGrad") == GRADIENT and r.of("sgd/Assign") == OPTIMIZER
    assert r.of("out/Sigmoid") == MODEL and r.of("h/Relu") == MODEL


def test_each_minimized_loss_is_an_optimizer_group_with_its_own_weights():
    b = Builder()
    z = b.placeholder("z")
    sample = b.node("gen/Tanh", "Tanh", b.dense("gen", z))
    real = b.placeholder("real")
    d_real = b.dense("disc", real)
    d_fake_mm = b.node("disc_1/MatMul", "MatMul", sample, "disc/kernel/read")
    d_fake = b.node("disc_1/BiasAdd", "BiasAdd", d_fake_mm, "disc/bias/read")
    axis = b.node("axis", "Const", shape=[1])
    d_loss = b.node("d_loss", "Add", b.node("d_real_mean", "Mean", d_real, axis),
                    b.node("d_fake_mean", "Mean", d_fake, axis))
    g_loss = b.node("g_loss", "Neg", b.node("g_mean", "Mean", d_fake, axis))
    b.train(d_loss, ["disc/kernel", "disc/bias"], scope="gradients")
    # the builder's train() writes one optimizer; a second minimize() gets its own seed
    shape = b.node("gradients_1/Shape", "Shape", g_loss)
    one = b.node("gradients_1/one", "Const", shape=[])
    b.graph.node[-1].attr["value"].tensor.float_val.append(1.0)
    seed = b.node("gradients_1/Fill", "Fill", shape, one)
    grad = b.node("gradients_1/grad", "MatMul", seed, "gen/kernel/read")
    b.node("Adam_1/update_gen", "ApplyGradientDescent", "gen/kernel", "GradientDescent/learning_rate", grad)
    r = roles_of(b.model())
    groups = {opt.name: {r.index.names[v] for v in opt.trained} for opt in r.training.optimizers}
    assert sorted(groups.values(), key=len) == [{"gen/kernel"}, {"disc/kernel", "disc/bias"}]
    assert len(r.training.optimizers) == 2


def test_a_tensor_of_ones_in_the_loss_is_not_the_seed():
    b = classifier()
    # tf.losses weights a loss with ones_like(...): in the loss's scope, read by the backward pass too
    ones = b.node("loss/num_present/ones_like", "Fill", b.node("loss/dims", "Const", dtype=3, shape=[0]),
                  b.node("loss/one", "Const", shape=[]))
    b.graph.node[-2].attr["value"].tensor.float_val.append(1.0)
    b.node("loss/weighted", "Mul", "loss/Mean", ones)
    b.node("gradients/logits/BiasAdd_grad/BiasAddGrad", "BiasAddGrad", "gradients/Fill", ones)
    r = roles_of(b.model())
    seeds = [r.index.names[s] for opt in r.training.optimizers for s in opt.seeds]
    assert seeds == ["gradients/Fill"]


def test_what_tf_gradients_left_unread_in_its_scope_is_gradient_machinery():
    b = classifier()
    relu_grad = b.node("gradients/hidden/Relu_grad/ReluGrad", "ReluGrad", "gradients/Fill", "hidden/Relu")
    b.node("GradientDescent/update_extra", "ApplyGradientDescent", "hidden/kernel",
           "GradientDescent/learning_rate", relu_grad)
    # tf.gradients leaves zeros for unused outputs and shapes it measured but never read
    b.node("gradients/zeros_like", "ZerosLike", "hidden/Relu")
    b.node("gradients/logits_grad/Shape", "Shape", "logits/BiasAdd")
    b.node("summary_of_hidden", "Sigmoid", "hidden/Relu")  # unread, outside the scope: the model's
    r = roles_of(b.model())
    assert r.of("gradients/zeros_like") == GRADIENT
    assert r.of("gradients/logits_grad/Shape") == GRADIENT
    assert r.of("summary_of_hidden") == MODEL and r.of("probabilities") == MODEL


def test_a_seed_scope_without_backward_kernels_claims_nothing_it_did_not_compute():
    b = classifier()  # the builder's gradients are MatMuls: no backward kernel names the scope
    b.node("gradients/unread", "Sigmoid", "hidden/Relu")
    assert roles_of(b.model()).of("gradients/unread") == MODEL


def test_a_write_the_model_reads_as_a_value_does_not_cut_the_forward_pass():
    # quantization-aware training: the fake-quant op reads the assign that moves its range
    b = Builder()
    x = b.placeholder("x")
    labels = b.placeholder("labels", [-1], dtype=9)
    hidden = b.dense("h", x)
    low = b.variable("h/quant/min", [])
    high = b.variable("h/quant/max", [])
    batch_min = b.node("h/quant/BatchMin", "Min", hidden, low)
    moved_low = b.node("h/quant/AssignMin", "Assign", "h/quant/min", batch_min)
    quant = b.node("h/quant/FakeQuant", "FakeQuantWithMinMaxVars", hidden, moved_low, high)
    logits = b.dense("out", quant)
    b.node("predictions", "Softmax", logits)
    b.train(b.softmax_loss(logits, labels), ["h/kernel", "out/kernel"])
    r = roles_of(b.model())
    assert r.of("h/quant/FakeQuant") == MODEL and r.of("predictions") == MODEL
    assert r.of("h/quant/AssignMin") == MODEL
    assert {info.kind for info in r.inputs if r.index.names[info.index] == "x"} == {"feature"}
