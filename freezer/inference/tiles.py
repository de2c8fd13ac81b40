"""Write a ``Tile`` by constant multiples as the ``ConcatV2`` of copies it is.

``tf.tile(x, [1, 2])`` repeats the whole of ``x`` twice along axis 1, which is exactly
``concat([x, x], axis=1)``; along several axes it is one concat per tiled axis, innermost first.
The values are copies, so the rewrite is exact. OpenCV 4.14's TensorFlow importer has no ``Tile``
parser: the op reaches the layer registry by its name and the ONNX-only Tile layer refuses it
("Tile: repeats needs to be treated as parameter but it is missing", dnn/src/layers/tile_layer.cpp);
``ConcatV2`` it imports (tf_importer.cpp, parseConcat). tf2onnx and TFLite load both.

The last axis is written -1 (the same axis to TensorFlow): OpenCV labels every tensor before a
``BiasAdd`` NHWC, its ``data_format`` (a matmul's too), and maps a concat's axis to NCHW as if the
tensor were 4-D (tf_importer.cpp, ``toNCHW``: 1 -> 2, but -1 -> 1), so axis 1 of a 2-D tensor became
axis 2; -1 is the channel axis in NCHW and the last axis of a 2-D tensor alike.

Only multiples that are a Const, and at most :data:`MAX_COPIES` copies along any axis, are
rewritten (a concat of hundreds of inputs is no improvement); an output Tile keeps its name (the
last concat takes it).
"""

from __future__ import annotations

import numpy as np

from freezer.inference.graph import InferenceGraph, data_inputs, op_of
from inspector.proto import pb
from inspector.targets import TILE_MAX_COPIES as MAX_COPIES

_INT32 = pb.DataType.DT_INT32


def tile_as_concat(graph: InferenceGraph) -> list[str]:
    changes = []
    for item in list(graph.items):
        if op_of(item) != "Tile" or item.name in graph.keep:
            continue
        inputs = data_inputs(item)
        multiples = graph.const_value(inputs[1]) if len(inputs) == 2 else None
        if multiples is None or multiples.ndim != 1 or multiples.dtype.kind not in "iu":
            continue
        copies = [int(m) for m in multiples]
        if any(m < 1 or m > MAX_COPIES for m in copies) or all(m == 1 for m in copies):
            continue
        tiled = [axis for axis, m in enumerate(copies) if m > 1]
        source = inputs[0]
        control = [t for t in item.input if t.startswith("^")]
        for step, axis in enumerate(tiled):
            last = step == len(tiled) - 1
            name = item.name if last else graph.fresh(f"{item.name}/concat_{axis}")
            written = -1 if axis == len(copies) - 1 else axis
            axis_const = graph.make_const(f"{item.name}/axis_{axis}", np.array(written, np.int32),
                                          before=item.name)
            concat = item if last else pb.NodeDef(name=name)
            _become_concat(concat, [source] * copies[axis], axis_const.name, item.attr["T"].type,
                           control if last else [])
            if not last:
                graph.insert(concat, before=item.name)
            source = name
        graph.changed()
        changes.append(f"{item.name} (Tile by {copies}) -> ConcatV2 of copies along "
                       + ", ".join(f"axis {a} (x{copies[a]})" for a in tiled))
    return changes


def _become_concat(node, inputs: list[str], axis: str, dtype: int, control: list[str]) -> None:
    node.op = "ConcatV2"
    del node.input[:]
    node.input.extend([*inputs, axis, *control])
    node.attr.clear()
    node.attr["T"].type = dtype
    node.attr["N"].i = len(inputs)
    node.attr["Tidx"].type = _INT32


__all__ = ["tile_as_concat"]
