"""Small GraphDefs for the ranking tests, built node by node without TensorFlow.

``Builder`` writes NodeDefs the way TensorFlow would (dtype attrs, shapes on placeholders and
variables, "^name" control inputs); the helpers add the usual pieces of a TF1 training graph —
a dense layer, a softmax loss against labels, gradients, an optimizer update, a saver — so that
each test reads like the graph it describes.
"""

from __future__ import annotations

from inspector.graph.model import GraphModel
from inspector.proto import pb

FLOAT = pb.DataType.DT_FLOAT
INT64 = pb.DataType.DT_INT64
BOOL = pb.DataType.DT_BOOL


class Builder:
    def __init__(self) -> None:
        self.graph = pb.GraphDef()
        self.meta: pb.MetaGraphDef | None = None

    def node(self, name: str, op: str, *inputs: str, dtype: int = FLOAT,
             shape: list[int] | None = None) -> str:
        node = self.graph.node.add(name=name, op=op)
        node.input.extend(inputs)
        key = "dtype" if op in ("Placeholder", "PlaceholderWithDefault", "VariableV2", "Const") else "T"
        node.attr[key].type = dtype
        if shape is not None:
            target = node.attr["value"].tensor.tensor_shape if op == "Const" else node.attr["shape"].shape
            if op == "Const":
                node.attr["value"].tensor.dtype = dtype
            for dim in shape:
                target.dim.add(size=dim)
        return name

    def placeholder(self, name: str, shape: list[int] | None = None, dtype: int = FLOAT) -> str:
        return self.node(name, "Placeholder", dtype=dtype, shape=[-1, 4] if shape is None else shape)

    def variable(self, name: str, shape: list[int]) -> str:
        self.node(name, "VariableV2", shape=shape)
        self.node(f"{name}/Assign", "Assign", name, self.node(f"{name}/initial", "Const", shape=shape))
        return self.node(f"{name}/read", "Identity", name)

    def dense(self, scope: str, x: str, units: int = 4, fan_in: int = 4) -> str:
        w = self.variable(f"{scope}/kernel", [fan_in, units])
        b = self.variable(f"{scope}/bias", [units])
        mm = self.node(f"{scope}/MatMul", "MatMul", x, w)
        return self.node(f"{scope}/BiasAdd", "BiasAdd", mm, b)

    def softmax_loss(self, logits: str, labels: str) -> str:
        """A sparse softmax cross entropy between ``logits`` and ``labels`` reduced to a mean."""
        xent = self.node("loss/xent", "SparseSoftmaxCrossEntropyWithLogits", logits, labels)
        axis = self.node("loss/axis", "Const", dtype=pb.DataType.DT_INT32, shape=[1])
        return self.node("loss/Mean", "Mean", xent, axis)

    def train(self, loss: str, variables: list[str], scope: str = "gradients") -> str:
        """Gradients of ``loss`` and one GradientDescent update per variable, grouped in a NoOp."""
        shape = self.node(f"{scope}/Shape", "Shape", loss)
        one = self.node(f"{scope}/one", "Const", shape=[])
        self.graph.node[-1].attr["value"].tensor.float_val.append(1.0)  # tf.gradients' seed: ones
        seed = self.node(f"{scope}/Fill", "Fill", shape, one)
        lr = self.node("GradientDescent/learning_rate", "Const", shape=[])
        updates = []
        for k, var in enumerate(variables):
            grad = self.node(f"{scope}/grad_{k}", "MatMul", seed, var + "/read")
            updates.append("^" + self.node(f"GradientDescent/update_{k}", "ApplyGradientDescent",
                                           var, lr, grad))
        return self.node("train_op", "NoOp", *updates)

    def model(self) -> GraphModel:
        return GraphModel.from_graph_def(self.graph, self.meta)

    def with_meta(self) -> pb.MetaGraphDef:
        self.meta = pb.MetaGraphDef()
        self.meta.graph_def.CopyFrom(self.graph)
        return self.meta


def names(candidates) -> list[str]:
    return [c.name for c in candidates]


def classifier(with_softmax_sink: bool = True) -> Builder:
    """images -> hidden -> logits; Softmax 'probabilities' (a sink); loss against 'labels'; SGD."""
    b = Builder()
    images = b.placeholder("images")
    labels = b.placeholder("labels", [-1], INT64)
    hidden = b.node("hidden/Relu", "Relu", b.dense("hidden", images))
    logits = b.dense("logits", hidden)
    if with_softmax_sink:
        b.node("probabilities", "Softmax", logits)
    loss = b.softmax_loss(logits, labels)
    b.train(loss, ["hidden/kernel", "hidden/bias", "logits/kernel", "logits/bias"])
    return b
