"""Build (once) the large TF1 training checkpoint the benchmarks run on.

A BERT-base-shaped transformer encoder cut to 6 layers (d_model 768, ff 3072, vocab 30,522, 512 positions),
trained with Adam for a single step so that the `.data` shard holds what a real training checkpoint holds:
every weight plus its two Adam slots (model weights are about a third of the bytes), the Adam beta powers
and `global_step`. The graph is the full training graph (forward pass, loss, gradients, Adam updates,
summaries, saver), written once by `Saver.save` with its `.meta`.

No real training is needed for a benchmark: weights start from random initialisers and one `train_op` run
on a random batch creates non-zero slots. The result (~800 MB of `.data`, ~265 MB of model weights, several
thousand graph nodes) is cached under bench/work/ (git-ignored) together with a JSON stamp; a second run with
the same configuration does nothing.

Usage: python bench/make_large_checkpoint.py [--out bench/work/large] [--force]
Prints the checkpoint prefix on stdout (last line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "work" / "large"
OUTPUT_NODE = "encoder/output"  # the encoder's final hidden states: what `freeze --outputs` asks for
STAMP_NAME = "stamp.json"


@dataclass(frozen=True)
class Config:
    """Shape of the encoder; the defaults give ~800 MB of .data and > 5,000 nodes."""

    layers: int = 6
    d_model: int = 768
    heads: int = 12
    d_ff: int = 3072
    vocab: int = 30522
    max_positions: int = 512
    type_vocab: int = 2
    classes: int = 2
    batch: int = 2
    seq_len: int = 32
    seed: int = 1234
    resource_variables: bool = False  # False: classic TF1 VariableV2 (ref) variables, as TF1 training wrote


def _dense(tf, x, units: int, name: str, activation=None):
    """x @ kernel + bias, variables named like tf.layers.dense (`name/kernel`, `name/bias`)."""
    d_in = int(x.shape[-1])
    with tf.compat.v1.variable_scope(name):
        kernel = tf.compat.v1.get_variable(
            "kernel", [d_in, units], initializer=tf.compat.v1.truncated_normal_initializer(stddev=0.02)
        )
        bias = tf.compat.v1.get_variable("bias", [units], initializer=tf.compat.v1.zeros_initializer())
        y = tf.tensordot(x, kernel, axes=[[x.shape.ndims - 1], [0]]) + bias
        return activation(y) if activation is not None else y


def _layer_norm(tf, x, name: str):
    with tf.compat.v1.variable_scope(name):
        d = int(x.shape[-1])
        gamma = tf.compat.v1.get_variable("gamma", [d], initializer=tf.compat.v1.ones_initializer())
        beta = tf.compat.v1.get_variable("beta", [d], initializer=tf.compat.v1.zeros_initializer())
        mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + 1e-12) * gamma + beta


def _attention(tf, x, mask_bias, cfg: Config, keep_prob):
    """Multi-head self-attention: [B, T, D] -> [B, T, D]."""
    b, t = tf.shape(x)[0], tf.shape(x)[1]
    dh = cfg.d_model // cfg.heads

    def split(y):
        return tf.transpose(tf.reshape(y, [b, t, cfg.heads, dh]), [0, 2, 1, 3])

    q = split(_dense(tf, x, cfg.d_model, "query"))
    k = split(_dense(tf, x, cfg.d_model, "key"))
    v = split(_dense(tf, x, cfg.d_model, "value"))
    scores = tf.matmul(q, k, transpose_b=True) * (1.0 / dh**0.5) + mask_bias
    probs = tf.nn.dropout(tf.nn.softmax(scores), rate=1.0 - keep_prob)
    ctx = tf.reshape(tf.transpose(tf.matmul(probs, v), [0, 2, 1, 3]), [b, t, cfg.d_model])
    return _dense(tf, ctx, cfg.d_model, "output")


def _encoder(tf, ids, type_ids, mask, cfg: Config, keep_prob):
    """Embeddings + `cfg.layers` post-LN transformer blocks; returns [B, T, D] hidden states."""
    init = tf.compat.v1.truncated_normal_initializer(stddev=0.02)
    with tf.compat.v1.variable_scope("embeddings"):
        word = tf.compat.v1.get_variable("word_embeddings", [cfg.vocab, cfg.d_model], initializer=init)
        pos = tf.compat.v1.get_variable(
            "position_embeddings", [cfg.max_positions, cfg.d_model], initializer=init
        )
        typ = tf.compat.v1.get_variable(
            "token_type_embeddings", [cfg.type_vocab, cfg.d_model], initializer=init
        )
        t = tf.shape(ids)[1]
        h = tf.gather(word, ids) + tf.gather(typ, type_ids) + tf.expand_dims(pos[:t], 0)
        h = tf.nn.dropout(_layer_norm(tf, h, "LayerNorm"), rate=1.0 - keep_prob)
    mask_bias = (1.0 - tf.cast(mask[:, None, None, :], tf.float32)) * -10000.0
    for i in range(cfg.layers):
        with tf.compat.v1.variable_scope(f"encoder/layer_{i}"):
            with tf.compat.v1.variable_scope("attention"):
                a = tf.nn.dropout(_attention(tf, h, mask_bias, cfg, keep_prob), rate=1.0 - keep_prob)
                h = _layer_norm(tf, h + a, "LayerNorm")
            with tf.compat.v1.variable_scope("ffn"):
                f = _dense(tf, h, cfg.d_ff, "intermediate", activation=tf.nn.gelu)
                f = tf.nn.dropout(_dense(tf, f, cfg.d_model, "output"), rate=1.0 - keep_prob)
                h = _layer_norm(tf, h + f, "LayerNorm")
    return tf.identity(h, name=OUTPUT_NODE)


def build_graph(tf, cfg: Config):
    """The training graph; returns (train_op, feeds builder inputs, summary op, global_step)."""
    ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_ids")
    type_ids = tf.compat.v1.placeholder(tf.int32, [None, None], name="token_type_ids")
    mask = tf.compat.v1.placeholder(tf.int32, [None, None], name="input_mask")
    labels = tf.compat.v1.placeholder(tf.int32, [None], name="labels")
    keep_prob = tf.compat.v1.placeholder_with_default(1.0, [], name="keep_prob")
    hidden = _encoder(tf, ids, type_ids, mask, cfg, keep_prob)
    with tf.compat.v1.variable_scope("pooler"):
        pooled = _dense(tf, hidden[:, 0], cfg.d_model, "dense", activation=tf.tanh)
    logits = _dense(tf, pooled, cfg.classes, "classifier")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    global_step = tf.compat.v1.train.get_or_create_global_step()
    train_op = tf.compat.v1.train.AdamOptimizer(1e-4).minimize(loss, global_step=global_step)
    tf.compat.v1.summary.scalar("loss", loss)
    tf.compat.v1.summary.scalar(
        "accuracy",
        tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), labels), tf.float32)),
    )
    for var in tf.compat.v1.trainable_variables():
        if var.shape.ndims == 2:
            tf.compat.v1.summary.histogram(var.op.name, var)
    summaries = tf.compat.v1.summary.merge_all()
    return (ids, type_ids, mask, labels, keep_prob), train_op, summaries, global_step


def build(out: Path, cfg: Config) -> tuple[Path, dict]:
    """Build the graph, run one training step, save; returns the checkpoint prefix and graph facts."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    if not cfg.resource_variables:
        tf.compat.v1.disable_resource_variables()
    tf.compat.v1.reset_default_graph()
    tf.compat.v1.set_random_seed(cfg.seed)
    (ids, type_ids, mask, labels, keep_prob), train_op, summaries, global_step = build_graph(tf, cfg)
    saver = tf.compat.v1.train.Saver(max_to_keep=1)
    rng = np.random.default_rng(cfg.seed)
    feed = {
        ids: rng.integers(0, cfg.vocab, (cfg.batch, cfg.seq_len), dtype=np.int32),
        type_ids: rng.integers(0, cfg.type_vocab, (cfg.batch, cfg.seq_len), dtype=np.int32),
        mask: np.ones((cfg.batch, cfg.seq_len), np.int32),
        labels: rng.integers(0, cfg.classes, (cfg.batch,), dtype=np.int32),
        keep_prob: 0.9,
    }
    out.mkdir(parents=True, exist_ok=True)
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        sess.run([train_op, summaries], feed)
        prefix = saver.save(sess, str(out / "model.ckpt"), global_step=global_step)
    facts = {
        "nodes": len(tf.compat.v1.get_default_graph().as_graph_def().node),
        "variables": len(tf.compat.v1.global_variables()),
        "model_weight_bytes": sum(
            v.shape.num_elements() * v.dtype.size for v in tf.compat.v1.trainable_variables()
        ),
    }
    return Path(prefix), facts


def _cached(out: Path, cfg: Config) -> Path | None:
    """The prefix of an existing build with the same configuration, or None."""
    stamp = out / STAMP_NAME
    if not stamp.is_file():
        return None
    info = json.loads(stamp.read_text())
    prefix = Path(info.get("prefix", ""))
    files = [prefix.with_name(prefix.name + s) for s in (".meta", ".index", ".data-00000-of-00001")]
    if info.get("config") == asdict(cfg) and all(f.is_file() for f in files):
        return prefix
    return None


def ensure_checkpoint(out: Path = DEFAULT_OUT, cfg: Config | None = None, force: bool = False) -> Path:
    """Return the large checkpoint's prefix, building it first if needed."""
    cfg = cfg or Config()
    if not force and (prefix := _cached(out, cfg)) is not None:
        return prefix
    for stale in out.glob("*") if out.is_dir() else ():
        if stale.is_file():
            stale.unlink()
    t0 = time.monotonic()
    prefix, facts = build(out, cfg)
    data = sum(p.stat().st_size for p in out.glob(prefix.name + ".data-*"))
    info = {
        "prefix": str(prefix),
        "config": asdict(cfg),
        "data_bytes": data,
        **facts,
        "build_seconds": round(time.monotonic() - t0, 1),
        "output_node": OUTPUT_NODE,
    }
    (out / STAMP_NAME).write_text(json.dumps(info, indent=2) + "\n")
    return prefix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for the checkpoint")
    parser.add_argument("--force", action="store_true", help="rebuild even when a cached build matches")
    args = parser.parse_args(argv)
    prefix = ensure_checkpoint(args.out, force=args.force)
    print(prefix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
