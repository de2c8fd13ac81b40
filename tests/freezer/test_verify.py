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
