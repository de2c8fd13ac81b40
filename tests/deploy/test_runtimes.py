"""bench/deploy/runtimes.py: TensorFlow's column measures the graph, not TensorFlow's kernel choice."""

from __future__ import annotations

import pytest

from bench.deploy import models
from bench.deploy.matrix import ok, run_model
from tests.corpus import requires_corpus

pytestmark = [pytest.mark.tf, pytest.mark.corpus, requires_corpus]


def test_a_frozen_matmul_bias_is_compared_with_the_same_kernels_as_the_checkpoint(tmp_path):
    """mnist_dense_gan's MatMul + Add(bias) + Relu: grappler's remapper fuses them into one oneDNN
    kernel only once the bias is a Const, i.e. in every frozen graph and never in the restored
    checkpoint; Tanh then differed by 2.4e-5 (over --for-inference's rtol 1e-5) for plain freeze and
    --for-inference alike. With the remapper off on both sides they are bit-identical."""
    found = [m for m in models.corpus_models() if m.name == "mnist_dense_gan_ckpt"]
    if not found:
        pytest.skip("mnist_dense_gan_ckpt is not in the corpus")
    row = run_model(found[0], ("for_inference",), ("tf",), tmp_path)
    assert not row.get("problem"), row.get("problem")
    assert ok(row["cells"]["for_inference"]["tf"], strict=True), row["cells"]["for_inference"]["tf"]


def test_an_output_fused_into_a_layer_another_layer_reads_is_fetched_from_it(tmp_path):
    """estimator_dummy_saved_model_two_outputs: dense/BiasAdd is fused into dense/MatMul, which
    dense_1 reads; the harness fetched fused outputs only from unconnected layers, so OpenCV failed
    'Layer #-1 is not valid' although net.forward('dense/MatMul') holds the value (as --target's
    TARGET_OUTPUT_FUSED says). Before tile_as_concat the model did not load at all (Tile)."""
    pytest.importorskip("cv2")
    found = [m for m in models.corpus_models() if m.name == "estimator_dummy_saved_model_two_outputs"]
    if not found:
        pytest.skip("estimator_dummy_saved_model_two_outputs is not in the corpus")
    row = run_model(found[0], ("for_inference",), ("opencv",), tmp_path)
    cell = row["cells"]["for_inference"]["opencv"]
    assert ok(cell) and "dense/BiasAdd -> dense/MatMul" in cell, cell

