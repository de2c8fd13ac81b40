"""Frozen graphs TensorFlow refuses at run time (runnable.py): HUGE_CONSTANT from the shape alone."""

from __future__ import annotations

import tracemalloc

import pytest

from inspector.diagnosis import runnable
from inspector.proto import pb
from tests.graphs import FLOAT, STRING, GraphBuilder


def splat_graph(dims, dtype: int = FLOAT) -> pb.GraphDef:
    """features -> Mul by the sum of a Const 'scale' declared ``dims`` that stores one value."""
    g = GraphBuilder()
    g.add("features", "Placeholder", dtype=FLOAT, shape=[-1, 2])
    scale = g.add("scale", "Const", dtype=dtype).attr["value"].tensor
    scale.dtype = dtype
    for size in dims:
        scale.tensor_shape.dim.add(size=size)
    if dtype == STRING:
        scale.string_val.append(b"x")
    else:
        scale.float_val.append(1.0)
    g.const("axes", list(range(len(dims))), dtype=3)
    g.add("total", "Sum", ["scale", "axes"], T=dtype, Tidx=3)
    g.add("probabilities", "Mul", ["features", "total"], T=FLOAT)
    return g.graph_def


def test_a_const_claiming_2_to_the_40_elements_is_an_error_found_without_allocating():
    graph = splat_graph([1 << 20, 1 << 20])
    tracemalloc.start()
    try:
        [finding] = runnable.check_huge_constants(graph)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20  # never an allocation of what the shape claims (4 TiB)
    assert (finding.code, finding.severity) == ("HUGE_CONSTANT", "error")
    assert "Const 'scale' declares shape [1048576,1048576]: 1,099,511,627,776 float32 elements (4.0 TiB)" \
        in finding.message
    assert finding.evidence["nodes"] == [{"name": "scale", "shape": [1 << 20, 1 << 20], "dtype": "float32",
                                          "elements": 1 << 40, "bytes": 1 << 42}]


@pytest.mark.parametrize(("dims", "dtype", "severity"), [
    ([1 << 32, 1 << 32], FLOAT, "error"),    # more than 2**63 - 1 elements: TF refuses the shape
    ([1 << 29], FLOAT, "warning"),           # 2 GiB: more than a graph file can hold, not impossible
    ([1 << 31], STRING, "warning"),          # strings count a byte each at least
    ([(1 << 29) - 1], FLOAT, None),          # just under 2 GiB
    ([4096, 4096], FLOAT, None),             # 64 MiB: what tf.ones folds to
    ([0, 1 << 62], FLOAT, None),             # no element at all
])
def test_severity_follows_what_tensorflow_would_allocate(dims, dtype, severity):
    findings = runnable.check_huge_constants(splat_graph(dims, dtype))
    assert [f.severity for f in findings] == ([severity] if severity else [])


@pytest.mark.tf
def test_tensorflow_imports_the_2_to_the_40_graph_and_cannot_run_it(tmp_path):
    """Under a 4 GiB address-space limit (no 4 TiB allocation can be tried for real)."""
    import subprocess
    import sys

    path = tmp_path / "huge.pb"
    path.write_bytes(splat_graph([1 << 20, 1 << 20]).SerializeToString())
    script = f"""
import resource, numpy as np
resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))
import tensorflow as tf
graph_def = tf.compat.v1.GraphDef.FromString(open({str(path)!r}, "rb").read())
with tf.Graph().as_default() as graph:
    tf.compat.v1.import_graph_def(graph_def, name="")
    print("imported", flush=True)
    with tf.compat.v1.Session() as session:
        try:
            session.run("probabilities:0", {{"features:0": np.ones((1, 2), np.float32)}})
        except tf.errors.OpError as error:
            print("run failed:", error.message.splitlines()[0] if error.message else "", flush=True)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert "imported" in done.stdout, done.stderr[-2000:]
    assert "run failed:" in done.stdout, done.stdout + done.stderr[-2000:]
