"""The ranking on the held-out graphs of ``fixtures/heldout.py`` (built here with TensorFlow).

Each case builds a TF1 training or frozen graph once, writes it as TensorFlow would, reads it back
through ``load_graph_file`` like ``inspect`` does, and checks that the node its author would give
freeze_graph ranks first (for a multi-head case, that the whole group takes the first answer
slot). A few cases also check what comes behind it, or the kinds of the inputs.

The issue 3 graphs were written to find where the rules fail, and ten of them did before the rules
were generalised (never special-cased by node name). The issue 8 graphs were ranked once on first
contact (``fixtures/first_contact.json``); those that missed then and still rank wrongly are
listed in :data:`FIRST_CONTACT_MISSES` as strict xfails, so that a ranking change that fixes one
is noticed (and its entry removed), while the recorded first contact stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from fixtures.heldout import HeldOut, all_heldout, export

pytestmark = [
    pytest.mark.tf,
    # tf-slim and the v1 feature columns call the Keras layer methods TF 2 deprecates
    pytest.mark.filterwarnings("ignore:`layer.apply` is deprecated:UserWarning"),
    pytest.mark.filterwarnings("ignore:`layer.add_variable` is deprecated:UserWarning"),
]

# Held-out cases whose expected output does not rank first today, each with what ranks above it
# (fixtures/first_contact.json keeps every case's first contact, whether fixed since or not). All
# ten issue 8 misses of the first contact have been fixed by general rules (docs/RANKING.md). The
# entries below are issue 8 batch 2 cases: nine of the ten recorded misses of their first contact
# (main at e036ea4; the char-RNN sampler ranks first since f2f10c7), the seq2seq case whose first
# slot is a group holding the expected output behind another candidate (recorded top-1, as the
# evaluator counts slots), and NeuMF, top-1 on first contact and missed since f2f10c7. The issue 8
# batch 3 entries are its seven first-contact misses (main at daac5ab): that batch is a measurement,
# the ranking was not changed for it.
FIRST_CONTACT_MISSES: dict[str, str] = {
    "seq2seq_with_a_teacher_forced_and_a_greedy_while_loop_decoder":
        "the inference decoder's unused logits 'decoder/inference/transpose' (a sink, same score) is the "
        "first candidate, 'predictions' shares its group",
    "deeplab_aspp_with_atrous_convolutions_and_bilinear_upsampling":
        "the loss's Reshape of the upsampled logits ranks first (only gradient and metrics read it); the "
        "ArgMax mean_iou and a summary read is no candidate",
    "multitask_segmentation_and_depth_with_uncertainty_weighted_losses":
        "the two image summaries' inputs (mul_6, truediv_1) share the first slot; neither head is a "
        "candidate",
    "simclr_encoder_with_a_projection_head_and_nt_xent":
        "the projection half 'split_1' NT-Xent compares with itself across the batch ranks first; "
        "final_avg_pool is no candidate",
    "bilstm_crf_tagger_with_a_hand_written_viterbi_decode":
        "the accuracy summary's scalar 'truediv' ranks first, the log-likelihood's unary term second; "
        "the Viterbi decode (read by that accuracy) is no candidate",
    "im2txt_inference_graph_with_state_feeds":
        "softmax takes the first slot alone; logits/BiasAdd is 2nd, lstm/state 3rd, lstm/initial_state "
        "4th",
    "autoencoder_anomaly_score_per_example":
        "the reconstruction 'decoder/dense_1/BiasAdd' the loss compares with the input is the only "
        "candidate; anomaly_score is none",
    # issue 8 batch 3: the misses of its first contact (main at daac5ab), measured, not tuned; WaveNet's
    # (a false 'metrics' claim: conv1d's expanded filter was not seen as a weight) was fixed after it
    "gcn_with_sparse_adjacency_matmuls":
        "the loss's 'softmax_cross_entropy_with_logits/Reshape' of the outputs ranks first (only gradient "
        "and metrics read it); model.outputs is second, as 'the value behind the Reshape'",
    "faster_rcnn_test_graph_with_crop_and_resize_rois":
        "the first slot is cls_pred, cls_prob and the de-normalised bbox_pred ('add'); the rois "
        "(crop_and_resize reads them) are no candidate",
    "neural_style_optimizing_the_image_variable_with_gram_matrices":
        "no output candidate at all: the image Variable (and its read) is not one",
    "mixture_density_network_fetching_its_coefficients":
        "the test call's pi 'Mul_5' and sigma 'Exp_4' share the first slot with the training call's "
        "'split' (which the loss reads); the test call's mu 'split_1' is no candidate",
    "gpt2_lm_with_tied_embeddings_and_a_while_loop_sampler":
        "the sampler's unused context-step logits 'sample_sequence/strided_slice_1' (a sink) rank first, "
        "grouped with the training logits; the sampled tokens 'sample_sequence/while/Exit_3' are 9th",
    "deepfm_ctr_with_feature_index_and_value_placeholders":
        "log_loss's internal adds ('log_loss/add', 'log_loss/add_1', the sigmoid plus epsilon) rank "
        "first; the Sigmoid self.out is no candidate",
}


@dataclass
class Ranked:
    """One case's graph read back as ``inspect`` reads it, and its ranked outputs."""

    expected: tuple[str, ...]
    outputs: list = field(default_factory=list)
    model: object = None
    meta_graph: object = None

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.outputs]

    def first_slot(self) -> set[str]:
        """The first answer: the first candidate, with every candidate of its group."""
        first = self.outputs[0]
        group = [c.name for c in self.outputs if first.group is not None and c.group == first.group]
        return {first.name, *group}

    def input_kinds(self) -> dict[str, str | None]:
        from inspector.ranking import rank_inputs

        return {c.name: c.group for c in rank_inputs(self.model, self.meta_graph)}


def _ranked(case: HeldOut, folder) -> Ranked:
    from inspector.graph.model import GraphModel
    from inspector.ranking import rank_outputs
    from inspector.readers.graphfile import load_graph_file

    path, expected = export(case, folder)
    loaded = load_graph_file(str(path))
    model = GraphModel.from_graph_def(loaded.graph_def, loaded.meta_graph)
    return Ranked(expected, rank_outputs(model, loaded.meta_graph), model, loaded.meta_graph)


# -- what some cases check beyond the first answer -------------------------------------------

def _vgg_logits_second_and_no_dropout_internals(r: Ranked) -> None:
    # the logits the loss consumes are listed right behind the author's prediction
    assert r.names[:2] == ["prediction", "logits/BiasAdd"]
    # the variant intermediates the dropout's functional cond keeps for its gradient are no outputs
    assert not [name for name in r.names if name.startswith("dropout/")]


def _dqn_target_estimate_behind_the_q_values(r: Ranked) -> None:
    assert r.names.index("Max") > r.names.index("q_values")  # the target network's estimate


def _dqn_fed_target_network_second(r: Ranked) -> None:
    assert r.names[:2] == ["online/q/BiasAdd", "target/q/BiasAdd"]


def _dqn_q_values_behind_the_greedy_action(r: Ranked) -> None:
    # With an ArgMax action in the graph, the ranking walks forward to it (the final activation)
    # and lists the q-values right behind it: both are what such an author might freeze.
    assert r.names[:2] == ["greedy_action", "q_values"]


def _word2vec_similarity_second(r: Ranked) -> None:
    assert r.names[:2] == ["normalized_embeddings", "similarity"]


def _text_cnn_scores_second(r: Ranked) -> None:
    assert r.names[:2] == ["output/predictions", "output/scores"]


def _mnist_beginner_inputs(r: Ranked) -> None:
    assert r.input_kinds() == {"Placeholder": "feature", "Placeholder_1": "label"}


def _mnist_expert_keep_prob_is_a_switch(r: Ranked) -> None:
    inputs = r.input_kinds()
    assert inputs["Placeholder_2"] == "switch" and inputs["Placeholder_1"] == "label"  # keep_prob, y_


def _keras_learning_phase_is_a_switch(r: Ranked) -> None:
    inputs = r.input_kinds()
    assert "keras_learning_phase" not in inputs or inputs["keras_learning_phase"] == "switch"


def _char_rnn_inputs(r: Ranked) -> None:
    assert r.input_kinds() == {"input_ids": "feature", "targets": "label"}


def _siamese_dict_features_and_label(r: Ranked) -> None:
    assert sorted(r.input_kinds().values()) == ["feature", "feature", "label"]


EXTRA_CHECKS = {
    "vgg_cnn_named_argmax": _vgg_logits_second_and_no_dropout_internals,
    "dqn_online_q_values_not_the_target_network": _dqn_target_estimate_behind_the_q_values,
    "dqn_with_the_target_fed_back_through_a_placeholder": _dqn_fed_target_network_second,
    "dqn_with_a_greedy_action_node": _dqn_q_values_behind_the_greedy_action,
    "word2vec_skipgram_normalized_embeddings": _word2vec_similarity_second,
    "text_cnn_with_scores_and_named_predictions": _text_cnn_scores_second,
    "mnist_beginner_softmax": _mnist_beginner_inputs,
    "mnist_expert_logits_with_unshaped_keep_prob": _mnist_expert_keep_prob_is_a_switch,
    "keras_sequential_trained_in_graph_mode": _keras_learning_phase_is_a_switch,
    "char_rnn_language_model_with_clipped_gradients": _char_rnn_inputs,
    "siamese_distance_and_tfdata_dict_features": _siamese_dict_features_and_label,
}


def _params() -> list:
    params = []
    for case in all_heldout():
        miss = FIRST_CONTACT_MISSES.get(case.name)
        reason = f"ranked wrongly on first contact: {miss}"
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if miss else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.mark.parametrize("case", _params())
def test_the_authors_output_ranks_first(case: HeldOut, tmp_path):
    ranked = _ranked(case, tmp_path)
    if case.group:
        assert set(ranked.expected) <= ranked.first_slot()
    else:  # the author's output, or another node computing the same (see HeldOut)
        assert ranked.names[0] in ranked.expected
    extra = EXTRA_CHECKS.get(case.name)
    if extra is not None:
        extra(ranked)


def test_every_extra_check_names_a_case():
    names = {case.name for case in all_heldout()}
    assert set(EXTRA_CHECKS) <= names
    assert set(FIRST_CONTACT_MISSES) <= names
