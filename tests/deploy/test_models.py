"""bench/deploy/models.py: the reference a frozen variant is held against."""

from __future__ import annotations

import pytest

from bench.deploy import models
from tests.corpus import requires_corpus

pytestmark = [pytest.mark.tf, pytest.mark.corpus, requires_corpus]


def _model(name: str) -> models.Model:
    found = [m for m in models.corpus_models() if m.name == name]
    if not found:
        pytest.skip(f"{name} is not in the corpus")
    return found[0]


def test_random_draws_inside_a_while_loop_make_the_outputs_incomparable(tmp_path):
    """tidigits' dynamic_rnn applies dropout at a constant keep_prob inside the loop: two runs of the
    restored checkpoint differ, yet the draws cannot be fetched, so the model was compared anyway and
    every runtime 'differed' by ~0.9 (one of them, tf2onnx, with no --target finding to explain it)."""
    model = _model("tidigits_gru_dynamic_rnn_ckpt")
    frozen = tmp_path / "plain.pb"
    models.freeze_variant(model, "freeze", frozen)
    ref = models.reference(model, frozen)
    assert ref.problem and "random draws" in ref.problem and "inside a while loop" in ref.problem
    assert "rnn/while/multi_rnn_cell/cell_0/dropout/random_uniform/RandomUniform" in ref.problem


def test_a_model_without_draws_has_a_reference(tmp_path):
    model = _model("mnist_dense_gan_ckpt")
    frozen = tmp_path / "plain.pb"
    models.freeze_variant(model, "freeze", frozen)
    ref = models.reference(model, frozen)
    assert ref.problem is None and ref.expected and ref.expected[0].shape[-1] == 784
