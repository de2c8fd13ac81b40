"""The ranking on classic TF1 training graphs built here with TensorFlow (not committed fixtures).

Each graph follows a well-known pattern (the MNIST tutorials, a Keras model trained in graph mode,
a char-RNN language model, a GAN without a sampler, a siamese pair, tf.data with dict features);
none of them was used to tune the ranking's rules, so they check that the rules generalise.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf


def _rank(graph):
    import tensorflow as tf

    from inspector.graph.model import GraphModel
    from inspector.proto import pb
    from inspector.ranking import rank_inputs, rank_outputs

    with graph.as_default():
        exported = tf.compat.v1.train.export_meta_graph(graph=graph)
    meta = pb.MetaGraphDef()
    meta.ParseFromString(exported.SerializeToString())
    model = GraphModel.from_graph_def(meta.graph_def, meta)
    return rank_outputs(model, meta), {c.name: c.group for c in rank_inputs(model, meta)}


@pytest.fixture
def v1():
    """tf.compat.v1, used inside ``tf.Graph().as_default()`` only: no global switch is flipped,
    so other TensorFlow tests in the same process keep eager mode (graphs here get resource
    variables and functional While loops, which the ranking must handle too)."""
    import tensorflow as tf

    return tf.compat.v1


def test_mnist_beginner_softmax(v1):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 784])
        y = tf.nn.softmax(tf.matmul(x, tf.Variable(tf.zeros([784, 10]))) + tf.Variable(tf.zeros([10])))
        y_ = v1.placeholder(tf.float32, [None, 10])
        loss = tf.reduce_mean(-tf.reduce_sum(y_ * tf.math.log(y), axis=[1]))
        v1.train.GradientDescentOptimizer(0.5).minimize(loss)
        tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32))
    ranked, inputs = _rank(graph)
    assert ranked[0].name == y.op.name
    assert inputs == {"Placeholder": "feature", "Placeholder_1": "label"}


def test_mnist_expert_logits_with_unshaped_keep_prob(v1):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 16])
        y_ = v1.placeholder(tf.float32, [None, 3])
        keep_prob = v1.placeholder(tf.float32)
        w1, b1 = tf.Variable(v1.truncated_normal([16, 8])), tf.Variable(tf.zeros([8]))
        hidden = tf.nn.relu(tf.matmul(x, w1) + b1)
        hidden = tf.nn.dropout(hidden, rate=1 - keep_prob)
        logits = tf.matmul(hidden, tf.Variable(v1.truncated_normal([8, 3]))) + tf.Variable(tf.zeros([3]))
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
        v1.train.AdamOptimizer(1e-4).minimize(loss)
        tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), tf.argmax(y_, 1)), tf.float32))
    ranked, inputs = _rank(graph)
    assert ranked[0].name == logits.op.name
    assert inputs[keep_prob.op.name] == "switch" and inputs[y_.op.name] == "label"


def test_keras_sequential_trained_in_graph_mode(v1):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        model = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="relu", input_shape=(5,)),
                                     tf.keras.layers.BatchNormalization(),
                                     tf.keras.layers.Dropout(0.3),
                                     tf.keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        model.train_on_batch(np.random.rand(4, 5), np.random.randint(0, 3, 4))
    ranked, inputs = _rank(graph)
    assert ranked[0].name == model.outputs[0].op.name
    assert "keras_learning_phase" not in inputs or inputs["keras_learning_phase"] == "switch"


def test_char_rnn_language_model_with_clipped_gradients(v1):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        ids = v1.placeholder(tf.int32, [None, 5], "input_ids")
        targets = v1.placeholder(tf.int32, [None, 5], "targets")
        embedding = v1.get_variable("embedding", [20, 6])
        cell = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.LSTMCell(6) for _ in range(2)])
        outputs, _ = v1.nn.dynamic_rnn(cell, tf.nn.embedding_lookup(embedding, ids), dtype=tf.float32)
        logits = v1.layers.dense(tf.reshape(outputs, [-1, 6]), 20, name="softmax_w")
        tf.nn.softmax(logits, name="probs")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.reshape(targets, [-1]), logits=logits))
        variables = v1.trainable_variables()
        grads, _ = tf.clip_by_global_norm(tf.gradients(loss, variables), 5.0)
        v1.train.AdamOptimizer(0.01).apply_gradients(zip(grads, variables, strict=True))
    ranked, inputs = _rank(graph)
    assert ranked[0].name == "probs"
    assert inputs == {"input_ids": "feature", "targets": "label"}


def test_gan_without_a_sampler(v1):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        z = v1.placeholder(tf.float32, [None, 4], "z")
        real = v1.placeholder(tf.float32, [None, 6], "real")
        with v1.variable_scope("G"):
            fake = v1.layers.dense(v1.layers.dense(z, 8, tf.nn.relu), 6, tf.tanh, name="out")

        def discriminator(x, reuse):
            with v1.variable_scope("D", reuse=reuse):
                return v1.layers.dense(v1.layers.dense(x, 8, tf.nn.relu, name="h"), 1, name="logit")

        d_real, d_fake = discriminator(real, False), discriminator(fake, True)
        xent = tf.nn.sigmoid_cross_entropy_with_logits
        d_loss = tf.reduce_mean(xent(labels=tf.ones_like(d_real), logits=d_real)) + \
            tf.reduce_mean(xent(labels=tf.zeros_like(d_fake), logits=d_fake))
        g_loss = tf.reduce_mean(xent(labels=tf.ones_like(d_fake), logits=d_fake))
        v1.train.AdamOptimizer(1e-3).minimize(d_loss, var_list=v1.trainable_variables("D"))
        v1.train.AdamOptimizer(1e-3).minimize(g_loss, var_list=v1.trainable_variables("G"))
    ranked, _ = _rank(graph)
    assert ranked[0].name == fake.op.name


def test_siamese_distance_and_tfdata_dict_features(v1):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        data = tf.data.Dataset.from_tensor_slices((
            {"a": np.random.rand(8, 3).astype(np.float32), "b": np.random.rand(8, 3).astype(np.float32)},
            np.random.rand(8).astype(np.float32))).batch(4).repeat()
        features, same = v1.data.make_one_shot_iterator(data).get_next()

        def tower(t, reuse):
            with v1.variable_scope("tower", reuse=reuse):
                return v1.layers.dense(v1.layers.dense(t, 8, tf.nn.relu, name="h"), 4, name="emb")

        left, right = tower(features["a"], False), tower(features["b"], True)
        distance = tf.sqrt(tf.reduce_sum(tf.square(left - right), 1) + 1e-6, name="distance")
        loss = tf.reduce_mean(same * tf.square(distance) +
                              (1 - same) * tf.square(tf.maximum(1.0 - distance, 0)))
        v1.train.AdamOptimizer().minimize(loss)
    ranked, inputs = _rank(graph)
    assert ranked[0].name == "distance"
    assert sorted(inputs.values()) == ["feature", "feature", "label"]
