"""The ranking on held-out TF1 training graphs, written after the rules were tuned.

Each test builds a full training graph the way people wrote them in 2017–2019 (loss, optimizer,
summaries, global_step, a Saver), writes its .meta to tmp_path, reads it back through
``load_graph_file`` like ``inspect`` does, and checks that the node its author would have given
freeze_graph ranks first. They were written to find where the rules fail, and ten of them did
before the rules were generalised (never special-cased by node name): a named ``tf.argmax``
prediction (VGG, text CNN), a triplet embedding behind ``l2_normalize``, a batch-hard triplet
embedding, word2vec's normalized embeddings, a DQN's online q-values against its target network
(two variants), and the generator / actor of a conditional GAN, pix2pix and DDPG, whose output
the other network reads through a concat.
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.tf


@pytest.fixture
def v1():
    """tf.compat.v1, used inside ``tf.Graph().as_default()`` only (no global switch flipped)."""
    import tensorflow as tf

    return tf.compat.v1


def _train(v1, loss, optimizer=None, var_list=None):
    """The usual end of a TF1 script: global_step, summaries, update ops, an optimizer."""
    import tensorflow as tf

    step = v1.train.get_or_create_global_step()
    v1.summary.scalar("loss", loss)
    with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
        (optimizer or v1.train.AdamOptimizer(1e-3)).minimize(loss, global_step=step, var_list=var_list)
    v1.summary.merge_all()


def _ranked(graph, tmp_path) -> list[str]:
    """Save the graph's .meta with a Saver, read it back as inspect does, rank the outputs."""
    import tensorflow as tf

    from inspector.graph.model import GraphModel
    from inspector.ranking import rank_outputs
    from inspector.readers.graphfile import load_graph_file

    path = tmp_path / "model.ckpt.meta"
    with graph.as_default():
        tf.compat.v1.train.Saver().export_meta_graph(str(path))
    loaded = load_graph_file(str(path))
    model = GraphModel.from_graph_def(loaded.graph_def, loaded.meta_graph)
    return [c.name for c in rank_outputs(model, loaded.meta_graph)]


def test_vgg_cnn_with_a_named_argmax_prediction(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 16, 16, 3], "images")
        y = v1.placeholder(tf.int64, [None], "labels")
        is_training = v1.placeholder_with_default(False, [], "is_training")
        h = x
        for block, filters in enumerate([8, 16]):
            h = v1.layers.conv2d(h, filters, 3, padding="same", activation=tf.nn.relu, name=f"conv{block}_1")
            h = v1.layers.conv2d(h, filters, 3, padding="same", activation=tf.nn.relu, name=f"conv{block}_2")
            h = v1.layers.max_pooling2d(h, 2, 2)
        h = v1.layers.dense(v1.layers.flatten(h), 32, tf.nn.relu, name="fc1")
        logits = v1.layers.dense(v1.layers.dropout(h, 0.5, training=is_training), 10, name="logits")
        prediction = tf.argmax(logits, 1, name="prediction")
        loss = v1.losses.sparse_softmax_cross_entropy(y, logits)
        v1.summary.scalar("accuracy", tf.reduce_mean(tf.cast(tf.equal(prediction, y), tf.float32)))
        _train(v1, loss, v1.train.MomentumOptimizer(0.01, 0.9))
    ranked = _ranked(graph, tmp_path)
    # the logits the loss consumes are listed right behind the author's prediction
    assert ranked[:2] == ["prediction", "logits/BiasAdd"]
    # the variant intermediates the dropout's functional cond keeps for its gradient are no outputs
    assert not [name for name in ranked if name.startswith("dropout/")]


def test_estimator_style_model_fn_predictions_dict(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        features = {"x": v1.placeholder(tf.float32, [None, 6], "x")}
        labels = v1.placeholder(tf.int32, [None], "labels")
        net = v1.feature_column.input_layer(features, [tf.feature_column.numeric_column("x", [6])])
        for units in (16, 8):
            net = v1.layers.dense(net, units, activation=tf.nn.relu)
        logits = v1.layers.dense(net, 3)
        predictions = {"classes": tf.argmax(logits, 1),
                       "probabilities": tf.nn.softmax(logits, name="softmax_tensor")}
        loss = v1.losses.sparse_softmax_cross_entropy(labels=labels, logits=logits)
        _, accuracy = v1.metrics.accuracy(labels=labels, predictions=predictions["classes"])
        v1.summary.scalar("accuracy", accuracy)
        _train(v1, loss, v1.train.AdagradOptimizer(0.1))
    assert _ranked(graph, tmp_path)[0] == "softmax_tensor"


def test_char_lstm_with_sampled_softmax_loss(v1, tmp_path):
    import tensorflow as tf

    vocab, hidden = 30, 16
    graph = tf.Graph()
    with graph.as_default():
        inputs = v1.placeholder(tf.int32, [None, 6], "inputs")
        targets = v1.placeholder(tf.int32, [None, 6], "targets")
        keep_prob = v1.placeholder_with_default(1.0, [], "keep_prob")
        embedded = tf.nn.embedding_lookup(v1.get_variable("embedding", [vocab, 8]), inputs)
        cell = v1.nn.rnn_cell.MultiRNNCell([v1.nn.rnn_cell.DropoutWrapper(
            v1.nn.rnn_cell.LSTMCell(hidden), output_keep_prob=keep_prob) for _ in range(2)])
        outputs, _ = v1.nn.dynamic_rnn(cell, embedded, initial_state=cell.zero_state(tf.shape(inputs)[0],
                                                                                      tf.float32))
        flat = tf.reshape(outputs, [-1, hidden])
        w, b = v1.get_variable("softmax_w", [vocab, hidden]), v1.get_variable("softmax_b", [vocab])
        loss = tf.reduce_mean(tf.nn.sampled_softmax_loss(w, b, tf.reshape(targets, [-1, 1]), flat, 5, vocab))
        tf.nn.softmax(tf.matmul(flat, w, transpose_b=True) + b, name="probs")
        _train(v1, loss)
    assert _ranked(graph, tmp_path)[0] == "probs"


def test_keras_cnn_trained_with_fit_in_graph_mode(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        model = tf.keras.Sequential([tf.keras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
                                     tf.keras.layers.MaxPooling2D(),
                                     tf.keras.layers.Flatten(),
                                     tf.keras.layers.Dense(16, activation="relu"),
                                     tf.keras.layers.Dropout(0.2),
                                     tf.keras.layers.Dense(5, activation="softmax")])
        model.compile("sgd", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(np.random.rand(8, 8, 8, 1), np.eye(5)[np.random.randint(0, 5, 8)], epochs=1,
                  batch_size=4, verbose=0)
    assert _ranked(graph, tmp_path)[0] == model.outputs[0].op.name


def test_unet_segmentation_with_per_pixel_sigmoid(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        image = v1.placeholder(tf.float32, [None, 16, 16, 1], "image")
        mask = v1.placeholder(tf.float32, [None, 16, 16, 1], "mask")
        training = v1.placeholder(tf.bool, [], "training")

        def block(h, filters, name):
            with v1.variable_scope(name):
                h = v1.layers.conv2d(h, filters, 3, padding="same", use_bias=False)
                return tf.nn.relu(v1.layers.batch_normalization(h, training=training))

        down1 = block(image, 4, "down1")
        down2 = block(v1.layers.max_pooling2d(down1, 2, 2), 8, "down2")
        bottom = block(v1.layers.max_pooling2d(down2, 2, 2), 16, "bottom")
        up2 = block(tf.concat([v1.layers.conv2d_transpose(bottom, 8, 2, 2, name="up2"), down2], 3), 8, "dec2")
        up1 = block(tf.concat([v1.layers.conv2d_transpose(up2, 4, 2, 2, name="up1"), down1], 3), 4, "dec1")
        logits = v1.layers.conv2d(up1, 1, 1, name="logits")
        probs = tf.nn.sigmoid(logits, name="probs")
        dice = 2 * tf.reduce_sum(probs * mask) / (tf.reduce_sum(probs) + tf.reduce_sum(mask) + 1e-6)
        v1.summary.scalar("dice", dice)
        v1.summary.image("prediction", probs)
        loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=mask, logits=logits))
        _train(v1, loss + (1 - dice))
    assert _ranked(graph, tmp_path)[0] == "probs"


def test_triplet_embedding_with_l2_normalized_output(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        anchor, positive, negative = (v1.placeholder(tf.float32, [None, 10], n)
                                      for n in ("anchor", "positive", "negative"))

        def tower(t, reuse):
            with v1.variable_scope("embed", reuse=reuse):
                h = v1.layers.dense(v1.layers.dense(t, 16, tf.nn.relu, name="fc1"), 8, name="fc2")
                return tf.nn.l2_normalize(h, axis=1, name="embedding")

        a, p, n = tower(anchor, False), tower(positive, True), tower(negative, True)
        d_pos = tf.reduce_sum(tf.square(a - p), 1)
        d_neg = tf.reduce_sum(tf.square(a - n), 1)
        _train(v1, tf.reduce_mean(tf.maximum(d_pos - d_neg + 0.2, 0.0)))
    assert _ranked(graph, tmp_path)[0] == a.op.name


def test_vae_reconstruction(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 20], "x")
        h = v1.layers.dense(x, 16, tf.nn.relu, name="enc_h")
        mean, logvar = v1.layers.dense(h, 4, name="z_mean"), v1.layers.dense(h, 4, name="z_logvar")
        z = mean + tf.exp(0.5 * logvar) * v1.random_normal(tf.shape(mean))
        with v1.variable_scope("decoder"):
            logits = v1.layers.dense(v1.layers.dense(z, 16, tf.nn.relu), 20, name="logits")
        tf.nn.sigmoid(logits, name="reconstruction")
        reconstruction = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), 1)
        kl = -0.5 * tf.reduce_sum(1 + logvar - tf.square(mean) - tf.exp(logvar), 1)
        v1.summary.histogram("z", z)
        _train(v1, tf.reduce_mean(reconstruction + kl))
    assert _ranked(graph, tmp_path)[0] == "reconstruction"


def _dqn(v1, greedy_action: bool):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        state, next_state = v1.placeholder(tf.float32, [None, 4], "state"), \
            v1.placeholder(tf.float32, [None, 4], "next_state")
        action = v1.placeholder(tf.int32, [None], "action")
        reward = v1.placeholder(tf.float32, [None], "reward")
        done = v1.placeholder(tf.float32, [None], "done")

        def q_network(t, scope):
            with v1.variable_scope(scope):
                h = v1.layers.dense(v1.layers.dense(t, 16, tf.nn.relu), 16, tf.nn.relu)
                return v1.layers.dense(h, 2)

        q = tf.identity(q_network(state, "online"), name="q_values")
        target = reward + 0.99 * (1 - done) * tf.reduce_max(q_network(next_state, "target"), 1)
        if greedy_action:
            tf.argmax(q, 1, name="greedy_action")
        online = v1.trainable_variables("online")
        tf.group(*[t.assign(o) for t, o in zip(v1.trainable_variables("target"), online, strict=True)],
                 name="update_target")
        loss = v1.losses.huber_loss(tf.stop_gradient(target), tf.reduce_sum(q * tf.one_hot(action, 2), 1))
        _train(v1, loss, v1.train.RMSPropOptimizer(1e-3), var_list=online)
    return graph


def test_dqn_online_q_values_not_the_target_network(v1, tmp_path):
    ranked = _ranked(_dqn(v1, greedy_action=False), tmp_path)
    assert ranked[0] == "q_values"
    assert ranked.index("Max") > ranked.index("q_values")  # the target network's estimate


def test_dqn_with_the_target_fed_back_through_a_placeholder(v1, tmp_path):
    # The other common DQN: the target network's output is fetched alone (a sink), the targets
    # are fed back through a placeholder; only an assign ever sets the target network's weights.
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        state, next_state = v1.placeholder(tf.float32, [None, 4], "state"), \
            v1.placeholder(tf.float32, [None, 4], "next_state")
        action, target_q = v1.placeholder(tf.int32, [None], "action"), v1.placeholder(tf.float32, [None], "y")

        def q_network(t, scope):
            with v1.variable_scope(scope):
                return v1.layers.dense(v1.layers.dense(t, 16, tf.nn.relu), 2, name="q")

        q = q_network(state, "online")
        q_network(next_state, "target")
        online = v1.trainable_variables("online")
        tf.group(*[t.assign(o) for t, o in zip(v1.trainable_variables("target"), online, strict=True)],
                 name="sync")
        _train(v1, tf.reduce_mean(tf.square(target_q - tf.reduce_sum(q * tf.one_hot(action, 2), 1))))
    assert _ranked(graph, tmp_path)[:2] == [q.op.name, "target/q/BiasAdd"]


def test_dqn_with_a_greedy_action_node(v1, tmp_path):
    # With an ArgMax action in the graph, the ranking walks forward to it (the final activation)
    # and lists the q-values right behind it: both are what such an author might freeze.
    assert _ranked(_dqn(v1, greedy_action=True), tmp_path)[:2] == ["greedy_action", "q_values"]


def test_word2vec_skipgram_normalized_embeddings(v1, tmp_path):
    import tensorflow as tf

    vocab, size = 50, 8
    graph = tf.Graph()
    with graph.as_default():
        train_inputs = v1.placeholder(tf.int32, [None], "train_inputs")
        train_labels = v1.placeholder(tf.int32, [None, 1], "train_labels")
        embeddings = tf.Variable(v1.random_uniform([vocab, size], -1.0, 1.0), name="embeddings")
        nce_weights = tf.Variable(v1.truncated_normal([vocab, size], stddev=0.1), name="nce_weights")
        nce_biases = tf.Variable(tf.zeros([vocab]), name="nce_biases")
        loss = tf.reduce_mean(tf.nn.nce_loss(nce_weights, nce_biases, train_labels,
                                             tf.nn.embedding_lookup(embeddings, train_inputs), 5, vocab))
        norm = tf.sqrt(tf.reduce_sum(tf.square(embeddings), 1, keepdims=True))
        normalized = tf.divide(embeddings, norm, name="normalized_embeddings")
        valid = tf.nn.embedding_lookup(normalized, tf.constant([1, 2, 3]))
        tf.matmul(valid, normalized, transpose_b=True, name="similarity")
        _train(v1, loss, v1.train.GradientDescentOptimizer(1.0))
    assert _ranked(graph, tmp_path)[:2] == ["normalized_embeddings", "similarity"]


def test_logistic_regression_with_manual_variables(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        X, Y = v1.placeholder(tf.float32, [None, 5], "X"), v1.placeholder(tf.float32, [None, 1], "Y")
        W = tf.Variable(v1.random_normal([5, 1]), name="weight")
        b = tf.Variable(v1.random_normal([1]), name="bias")
        hypothesis = tf.sigmoid(tf.matmul(X, W) + b, name="hypothesis")
        cost = -tf.reduce_mean(Y * tf.math.log(hypothesis) + (1 - Y) * tf.math.log(1 - hypothesis))
        predicted = tf.cast(hypothesis > 0.5, tf.float32)
        tf.reduce_mean(tf.cast(tf.equal(predicted, Y), tf.float32), name="accuracy")
        v1.train.GradientDescentOptimizer(0.01).minimize(cost)
    assert _ranked(graph, tmp_path)[0] == "hypothesis"


def test_linear_regression_with_unshaped_placeholders(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        X, Y = v1.placeholder(tf.float32, name="X"), v1.placeholder(tf.float32, name="Y")
        W = tf.Variable(0.3, name="weight")
        b = tf.Variable(-0.1, name="bias")
        pred = tf.add(tf.multiply(X, W), b, name="pred")
        v1.train.GradientDescentOptimizer(0.01).minimize(tf.reduce_sum(tf.pow(pred - Y, 2)) / 20)
    assert _ranked(graph, tmp_path)[0] == "pred"


def test_attention_seq2seq_with_dynamic_rnn(v1, tmp_path):
    import tensorflow as tf

    vocab, hidden, src_len, tgt_len = 20, 8, 5, 4
    graph = tf.Graph()
    with graph.as_default():
        source = v1.placeholder(tf.int32, [None, src_len], "source")
        lengths = v1.placeholder(tf.int32, [None], "source_length")
        decoder_inputs = v1.placeholder(tf.int32, [None, tgt_len], "decoder_inputs")
        decoder_targets = v1.placeholder(tf.int32, [None, tgt_len], "decoder_targets")
        embedding = v1.get_variable("embedding", [vocab, 6])
        with v1.variable_scope("encoder"):
            memory, state = v1.nn.dynamic_rnn(v1.nn.rnn_cell.GRUCell(hidden),
                                              tf.nn.embedding_lookup(embedding, source),
                                              sequence_length=lengths, dtype=tf.float32)
        with v1.variable_scope("decoder"):
            decoded, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.GRUCell(hidden),
                                           tf.nn.embedding_lookup(embedding, decoder_inputs),
                                           initial_state=state)
        with v1.variable_scope("attention"):
            scores = tf.matmul(decoded, v1.layers.dense(memory, hidden, use_bias=False, name="keys"),
                               transpose_b=True)
            valid = tf.tile(tf.sequence_mask(lengths, src_len)[:, None, :], [1, tgt_len, 1])
            alignments = tf.nn.softmax(tf.where(valid, scores, tf.fill(tf.shape(scores), -1e9)),
                                       name="alignments")
            attended = v1.layers.dense(tf.concat([decoded, tf.matmul(alignments, memory)], 2), hidden,
                                       tf.tanh, name="attention_layer")
        logits = v1.layers.dense(attended, vocab, name="output_projection")
        tf.argmax(logits, -1, output_type=tf.int32, name="predictions")
        loss = v1.losses.sparse_softmax_cross_entropy(decoder_targets, logits)
        params = v1.trainable_variables()
        grads, _ = tf.clip_by_global_norm(tf.gradients(loss, params), 5.0)
        step = v1.train.get_or_create_global_step()
        v1.summary.scalar("loss", loss)
        v1.train.AdamOptimizer(1e-3).apply_gradients(zip(grads, params, strict=True), global_step=step)
    assert _ranked(graph, tmp_path)[0] == "predictions"


def test_multilabel_classifier_with_sigmoid_outputs(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 12], "features")
        y = v1.placeholder(tf.float32, [None, 5], "labels")
        logits = v1.layers.dense(v1.layers.dense(v1.layers.dense(x, 16, tf.nn.relu), 16, tf.nn.relu), 5)
        probs = tf.nn.sigmoid(logits, name="probabilities")
        predicted = tf.cast(probs > 0.5, tf.float32)
        v1.summary.scalar("precision", tf.reduce_sum(predicted * y) / (tf.reduce_sum(predicted) + 1e-7))
        _train(v1, tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)))
    assert _ranked(graph, tmp_path)[0] == "probabilities"


def test_tfdata_initializable_iterator_with_streaming_accuracy(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        data = tf.data.Dataset.from_tensor_slices((np.random.rand(16, 7).astype(np.float32),
                                                   np.random.randint(0, 3, 16).astype(np.int64)))
        features, labels = v1.data.make_initializable_iterator(data.shuffle(16).batch(4).repeat()).get_next()
        logits = v1.layers.dense(v1.layers.dense(features, 16, tf.nn.relu, name="hidden"), 3, name="logits")
        probs = tf.nn.softmax(logits, name="probs")
        accuracy, _ = v1.metrics.accuracy(labels, tf.argmax(probs, 1))
        v1.summary.scalar("accuracy", accuracy)
        _train(v1, v1.losses.sparse_softmax_cross_entropy(labels, logits))
    assert _ranked(graph, tmp_path)[0] == "probs"


def test_text_cnn_with_scores_and_named_predictions(v1, tmp_path):
    # Kim's sentence CNN as in the well-known TF1 implementation: scores = xw_plus_b(name="scores"),
    # predictions = argmax(scores, name="predictions"), an l2 term in the loss, a keep_prob feed.
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        input_x = v1.placeholder(tf.int32, [None, 12], name="input_x")
        input_y = v1.placeholder(tf.float32, [None, 2], name="input_y")
        keep_prob = v1.placeholder(tf.float32, name="dropout_keep_prob")
        with tf.name_scope("embedding"):
            words = tf.Variable(v1.random_uniform([40, 8], -1.0, 1.0), name="W")
            embedded = tf.expand_dims(tf.nn.embedding_lookup(words, input_x), -1)
        pooled = []
        for size in (2, 3):
            with tf.name_scope(f"conv-maxpool-{size}"):
                kernel = tf.Variable(v1.truncated_normal([size, 8, 1, 4], stddev=0.1), name="W")
                conv = tf.nn.conv2d(embedded, kernel, strides=[1, 1, 1, 1], padding="VALID", name="conv")
                h = tf.nn.relu(tf.nn.bias_add(conv, tf.Variable(tf.constant(0.1, shape=[4]), name="b")))
                pooled.append(tf.nn.max_pool(h, ksize=[1, 12 - size + 1, 1, 1], strides=[1, 1, 1, 1],
                                             padding="VALID", name="pool"))
        with tf.name_scope("dropout"):
            dropped = tf.nn.dropout(tf.reshape(tf.concat(pooled, 3), [-1, 8]), rate=1 - keep_prob)
        with tf.name_scope("output"):
            w, b = v1.get_variable("W", shape=[8, 2]), tf.Variable(tf.constant(0.1, shape=[2]), name="b")
            scores = v1.nn.xw_plus_b(dropped, w, b, name="scores")
            predictions = tf.argmax(scores, 1, name="predictions")
        with tf.name_scope("loss"):
            loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(logits=scores, labels=input_y)) + \
                0.1 * (tf.nn.l2_loss(w) + tf.nn.l2_loss(b))
        with tf.name_scope("accuracy"):
            accuracy = tf.reduce_mean(tf.cast(tf.equal(predictions, tf.argmax(input_y, 1)), "float"))
        v1.summary.scalar("accuracy", accuracy)
        _train(v1, loss)
    assert _ranked(graph, tmp_path)[:2] == ["output/predictions", "output/scores"]


def test_batch_hard_triplet_embedding(v1, tmp_path):
    # In-batch mining: pairwise distances from emb @ emb.T, masked with the labels.
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        images = v1.placeholder(tf.float32, [None, 8, 8, 1], "images")
        labels = v1.placeholder(tf.int64, [None], "labels")
        features = v1.layers.flatten(v1.layers.conv2d(images, 4, 3, activation=tf.nn.relu))
        embeddings = v1.layers.dense(features, 8, name="embeddings")
        dot = tf.matmul(embeddings, tf.transpose(embeddings))
        square = tf.linalg.diag_part(dot)
        distances = tf.maximum(tf.expand_dims(square, 0) - 2.0 * dot + tf.expand_dims(square, 1), 0.0)
        same = tf.cast(tf.equal(tf.expand_dims(labels, 0), tf.expand_dims(labels, 1)), tf.float32)
        hardest_positive = tf.reduce_max(same * distances, 1, keepdims=True)
        hardest_negative = tf.reduce_min(distances + tf.reduce_max(distances, 1, keepdims=True) * same, 1,
                                         keepdims=True)
        _train(v1, tf.reduce_mean(tf.maximum(hardest_positive - hardest_negative + 0.5, 0.0)))
    assert _ranked(graph, tmp_path)[0] == embeddings.op.name


def test_distillation_student_not_the_stopped_teacher(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 10], "x")
        y = v1.placeholder(tf.int32, [None], "y")
        with v1.variable_scope("teacher"):
            teacher = v1.layers.dense(v1.layers.dense(x, 32, tf.nn.relu), 3, trainable=False)
        with v1.variable_scope("student"):
            student = v1.layers.dense(v1.layers.dense(x, 8, tf.nn.relu), 3)
        tf.nn.softmax(student, name="student_probs")
        soft_targets = tf.stop_gradient(tf.nn.softmax(teacher / 4.0))
        distill = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=soft_targets,
                                                                         logits=student / 4.0))
        _train(v1, v1.losses.sparse_softmax_cross_entropy(y, student) + distill)
    assert _ranked(graph, tmp_path)[0] == "student_probs"


def test_crnn_with_ctc_loss_and_greedy_decoder(v1, tmp_path):
    # OCR-style: the loss takes the time-major logits, the author fetches the dense greedy decoding.
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        images = v1.placeholder(tf.float32, [None, 8, 32, 1], "images")
        labels = v1.sparse_placeholder(tf.int32, name="labels")
        seq_len = v1.placeholder(tf.int32, [None], "seq_len")
        h = v1.layers.max_pooling2d(v1.layers.conv2d(images, 4, 3, padding="same", activation=tf.nn.relu),
                                    [8, 1], [8, 1])
        outputs, _ = v1.nn.dynamic_rnn(v1.nn.rnn_cell.LSTMCell(8), tf.squeeze(h, 1), sequence_length=seq_len,
                                       dtype=tf.float32)
        logits = tf.transpose(v1.layers.dense(outputs, 11, name="logits"), [1, 0, 2])
        decoded, _ = tf.nn.ctc_greedy_decoder(logits, seq_len)
        tf.sparse.to_dense(decoded[0], default_value=-1, name="dense_decoded")
        v1.summary.scalar("edit_distance", tf.reduce_mean(tf.edit_distance(tf.cast(decoded[0], tf.int32),
                                                                           labels)))
        _train(v1, tf.reduce_mean(v1.nn.ctc_loss(labels, logits, seq_len)))
    assert _ranked(graph, tmp_path)[0] == "dense_decoded"


def test_two_tower_recommender_with_streaming_auc(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        user, item = v1.placeholder(tf.int32, [None], "user_id"), v1.placeholder(tf.int32, [None], "item_id")
        clicked = v1.placeholder(tf.float32, [None], "clicked")
        u = v1.layers.dense(tf.nn.embedding_lookup(v1.get_variable("user_emb", [20, 8]), user), 8)
        i = v1.layers.dense(tf.nn.embedding_lookup(v1.get_variable("item_emb", [30, 8]), item), 8)
        logit = tf.reduce_sum(u * i, 1)
        score = tf.sigmoid(logit, name="score")
        _, auc = v1.metrics.auc(clicked, score)
        v1.summary.scalar("auc", auc)
        _train(v1, tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=clicked, logits=logit)))
    assert _ranked(graph, tmp_path)[0] == "score"


def _adversarial(v1, d_real, d_fake, g_extra=0.0):
    """Discriminator and generator losses, each with its own optimizer and var_list."""
    import tensorflow as tf

    xent = tf.nn.sigmoid_cross_entropy_with_logits
    d_loss = tf.reduce_mean(xent(labels=tf.ones_like(d_real), logits=d_real)) + \
        tf.reduce_mean(xent(labels=tf.zeros_like(d_fake), logits=d_fake))
    g_loss = tf.reduce_mean(xent(labels=tf.ones_like(d_fake), logits=d_fake)) + g_extra
    step = v1.train.get_or_create_global_step()
    v1.summary.scalar("d_loss", d_loss)
    v1.summary.scalar("g_loss", g_loss)
    v1.train.AdamOptimizer(2e-4, 0.5).minimize(d_loss, var_list=v1.trainable_variables("discriminator"))
    v1.train.AdamOptimizer(2e-4, 0.5).minimize(g_loss, var_list=v1.trainable_variables("generator"),
                                               global_step=step)
    v1.summary.merge_all()


def test_conditional_gan_discriminator_reads_concat_of_sample_and_condition(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        z, y = v1.placeholder(tf.float32, [None, 8], "z"), v1.placeholder(tf.float32, [None, 10], "y")
        real = v1.placeholder(tf.float32, [None, 16], "x")
        with v1.variable_scope("generator"):
            hidden = v1.layers.dense(tf.concat([z, y], 1), 32, tf.nn.leaky_relu)
            fake = v1.layers.dense(hidden, 16, tf.nn.tanh, name="out")

        def discriminator(t, reuse):
            with v1.variable_scope("discriminator", reuse=reuse):
                hidden = v1.layers.dense(tf.concat([t, y], 1), 32, tf.nn.leaky_relu, name="h")
                return v1.layers.dense(hidden, 1, name="logit")

        _adversarial(v1, discriminator(real, False), discriminator(fake, True))
    assert _ranked(graph, tmp_path)[0] == fake.op.name


def test_pix2pix_generator_with_l1_and_patch_discriminator(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        source = v1.placeholder(tf.float32, [None, 8, 8, 3], "input_image")
        target = v1.placeholder(tf.float32, [None, 8, 8, 3], "target_image")
        with v1.variable_scope("generator"):
            hidden = v1.layers.conv2d(source, 8, 3, padding="same", activation=tf.nn.relu)
            fake = v1.layers.conv2d(hidden, 3, 3, padding="same", activation=tf.nn.tanh, name="output")

        def discriminator(image, reuse):
            with v1.variable_scope("discriminator", reuse=reuse):
                h = v1.layers.conv2d(tf.concat([source, image], 3), 8, 3, strides=2,
                                     activation=tf.nn.leaky_relu, name="c1")
                return v1.layers.conv2d(h, 1, 3, name="c2")

        v1.summary.image("generated", fake)
        _adversarial(v1, discriminator(target, False), discriminator(fake, True),
                     g_extra=100 * tf.reduce_mean(tf.abs(target - fake)))
    assert _ranked(graph, tmp_path)[0] == fake.op.name


def test_ddpg_actor_whose_action_the_critic_reads_in_a_concat(v1, tmp_path):
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        state = v1.placeholder(tf.float32, [None, 3], "state")
        taken = v1.placeholder(tf.float32, [None, 1], "action")
        y = v1.placeholder(tf.float32, [None, 1], "y")
        with v1.variable_scope("actor"):
            action = v1.layers.dense(v1.layers.dense(state, 16, tf.nn.relu), 1, tf.nn.tanh, name="out") * 2.0

        def critic(a, reuse):
            with v1.variable_scope("critic", reuse=reuse):
                return v1.layers.dense(v1.layers.dense(tf.concat([state, a], 1), 16, tf.nn.relu, name="h"), 1,
                                       name="q")

        critic_loss = tf.reduce_mean(tf.square(y - critic(taken, False)))
        actor_loss = -tf.reduce_mean(critic(action, True))
        step = v1.train.get_or_create_global_step()
        v1.train.AdamOptimizer(1e-3).minimize(critic_loss, var_list=v1.trainable_variables("critic"))
        v1.train.AdamOptimizer(1e-4).minimize(actor_loss, var_list=v1.trainable_variables("actor"),
                                              global_step=step)
    assert _ranked(graph, tmp_path)[0] == action.op.name
