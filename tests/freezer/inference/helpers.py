"""InferenceGraph from a GraphBuilder, and running one in TensorFlow (for the tf-marked checks)."""

from __future__ import annotations

import numpy as np

from freezer.inference.graph import InferenceGraph
from inspector.proto import pb


def graph_of(builder, outputs, **kwargs) -> InferenceGraph:
    nodes = [pb.NodeDef.FromString(n.SerializeToString()) for n in builder.nodes]
    library = builder.graph_def.library if builder.graph_def.HasField("library") else None
    return InferenceGraph(items=nodes, outputs=list(outputs), library=library, **kwargs)


def to_graph_def(graph: InferenceGraph) -> pb.GraphDef:
    out = pb.GraphDef()
    for item in graph.items:
        out.node.add().CopyFrom(item)
    if graph.library is not None:
        out.library.CopyFrom(graph.library)
    return out


def run_tf(graph_def: pb.GraphDef, fetches, feeds) -> list[np.ndarray]:
    import tensorflow as tf

    v1 = tf.compat.v1
    tf_def = v1.GraphDef()
    tf_def.ParseFromString(graph_def.SerializeToString())
    graph = tf.Graph()
    with graph.as_default():
        v1.import_graph_def(tf_def, name="")
    with v1.Session(graph=graph) as session:
        return session.run(list(fetches), feeds)
