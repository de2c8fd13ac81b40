"""freezer.verify without TensorFlow: the feeds --verify makes for the graphs' inputs."""

from __future__ import annotations

import numpy as np
import pytest

from freezer.verify import make_feeds
from inspector.errors import UsageError

INPUTS = [("images:0", np.float32, [-1, 28, 28, 1]), ("keep_prob", np.float32, [])]


def test_input_shape_fills_unknown_dims_and_the_rest_get_defaults():
    feeds = make_feeds(INPUTS, {"images": [3, 28, 28, 1]})
    assert feeds["images:0"].shape == (3, 28, 28, 1) and feeds["keep_prob:0"].shape == ()


def test_input_shape_for_a_name_that_is_no_input_is_an_error_not_ignored():
    with pytest.raises(UsageError, match="'image', which is not an input") as info:
        make_feeds(INPUTS, {"image": [1, 28, 28, 1]})
    assert "Its inputs are images, keep_prob" in str(info.value)


def test_the_reason_of_a_tensorflow_run_error_is_reported_not_its_preamble():
    from freezer.verify import tf_error_line

    message = ("Graph execution error:\n\nDetected at node 'Reshape' defined at (most recent call last):\n"
               "Node: 'Reshape'\nInput to reshape is a tensor with 2 values, but the requested shape "
               "requires a multiple of 3\n\t [[{{node Reshape}}]]")
    assert tf_error_line(message) == ("Input to reshape is a tensor with 2 values, but the requested shape "
                                      "requires a multiple of 3 (node 'Reshape')")
    assert tf_error_line("You must feed a value for placeholder tensor 'x'") == \
        "You must feed a value for placeholder tensor 'x'"
    assert tf_error_line("") == ""


def test_every_open_dimension_and_size_scalar_gets_the_batch_an_input_fixes():
    inputs = [("image", np.float32, [1, 224, 224, 3]), ("lengths", np.int32, [-1]), ("steps", np.int32, []),
              ("tokens", np.int32, [-1, -1])]
    feeds = make_feeds(inputs)
    assert feeds["lengths:0"].shape == (1,) and feeds["tokens:0"].shape == (1, 1) and feeds["steps:0"] == 1


def test_without_a_fixed_batch_every_open_dimension_gets_the_default():
    from freezer.verify import DEFAULT_DIM

    feeds = make_feeds([("x", np.float32, [-1, 5]), ("lengths", np.int32, [-1]),
                        ("batch_size", np.int32, [])])
    assert feeds["x:0"].shape == (DEFAULT_DIM, 5) and feeds["lengths:0"].shape == (DEFAULT_DIM,)
    assert feeds["batch_size:0"] == DEFAULT_DIM


def test_switches_get_their_inference_value_whatever_their_declared_shape():
    inputs = [("keep_prob", np.float32, None), ("is_training", np.bool_, None), ("rate", np.float32, [])]
    feeds = make_feeds(inputs, switches={"keep_prob": 1.0, "is_training": False, "rate": 0.0})
    assert feeds["keep_prob:0"] == 1.0
    assert feeds["is_training:0"].dtype == np.bool_ and not feeds["is_training:0"]
    assert feeds["rate:0"] == 0.0 and feeds["rate:0"].shape == ()


def test_feed_gives_values_and_a_scalar_fills_the_shape():
    inputs = [("x", np.float32, [-1, 3]), ("mode", np.bool_, []), ("text", object, [-1]),
              ("ids", np.int64, None)]
    feeds = make_feeds(inputs, values={"x": 0.5, "mode": True, "text": "hello", "ids": [[1, 2, 3]]})
    assert feeds["x:0"].shape == (2, 3) and (feeds["x:0"] == 0.5).all()
    assert feeds["mode:0"] and list(feeds["text:0"]) == [b"hello", b"hello"]
    assert feeds["ids:0"].dtype == np.int64 and feeds["ids:0"].shape == (1, 3)


def test_feed_for_a_name_that_is_no_input_or_a_value_of_the_wrong_type_is_an_error():
    with pytest.raises(UsageError, match="--feed names 'image'"):
        make_feeds(INPUTS, values={"image": 1})
    with pytest.raises(UsageError, match="is not a float32 value"):
        make_feeds(INPUTS, values={"keep_prob": "high"})


def test_an_input_of_unknown_rank_cannot_run_exit_6_with_the_flags_that_fix_it():
    from inspector.errors import EXIT_VERIFY_CANNOT_RUN, VerifyCannotRunError

    with pytest.raises(VerifyCannotRunError) as info:
        make_feeds([("dropout", np.float32, None)])
    assert info.value.exit_code == EXIT_VERIFY_CANNOT_RUN == 6
    assert "--input-shape dropout= for a scalar" in str(info.value)
    assert "--feed dropout=VALUE" in str(info.value)
    assert "224" not in str(info.value)  # no image shape suggested for what may be a scalar


def test_tolerance_is_relative_to_the_output_magnitude():
    from freezer.verify import compare

    big = np.linspace(100, 400, 50, dtype=np.float32)
    assert compare("y", big, big + 3e-4)["ok"]  # ~1e-6 of the values: TF's own noise
    tanh = np.float32([0.5955770, -1.0, 1.0, 0.2])
    assert compare("t", tanh, tanh + np.float32([2.4e-5, 0, 0, 0]))["ok"]
    wrong = compare("t", tanh, tanh * np.float32(1.01))
    assert not wrong["ok"] and "allowed" in wrong["problem"]
    assert not compare("n", np.float32([np.nan, 1]), np.float32([0, 1]))["ok"]
    assert not compare("i", np.float32([np.inf, 1]), np.float32([-np.inf, 1]))["ok"]


def test_draws_inside_a_while_loop_become_seeded_twins_in_both_graphs():
    from freezer.verify import _seeded_twin, loop_frame_nodes
    from tests.graphs import INT32, GraphBuilder

    g = GraphBuilder()
    g.placeholder("x")
    g.add("enter", "Enter", ["x"], frame_name=b"loop")
    g.add("shape", "Shape", ["enter"], out_type=INT32)
    g.add("draw", "RandomUniform", ["shape", "^enter"], dtype=1, T=INT32, seed=0, seed2=0)
    g.add("exit", "Exit", ["draw"])
    g.add("after", "Identity", ["exit"])
    g.add("outside", "RandomUniform", ["shape"], dtype=1, T=INT32, seed=0, seed2=0)
    inside = loop_frame_nodes(g.graph_def)
    assert {"enter", "shape", "draw", "exit"} <= inside and "after" not in inside and "x" not in inside
    _seeded_twin(g.graph_def, g.node("draw"))
    draw = g.node("draw")
    assert draw.op == "StatelessRandomUniform" and list(draw.input) == ["shape", "draw/ckpt2pb_verify_seed",
                                                                         "^enter"]
    assert set(draw.attr) == {"dtype", "T", "Tseed"}
    seed = g.node("draw/ckpt2pb_verify_seed")
    assert list(seed.input) == ["^shape"] and len(seed.attr["value"].tensor.int64_val) == 2
