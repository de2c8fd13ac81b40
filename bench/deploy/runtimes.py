"""Load a frozen GraphDef in each deployment runtime and run it: TensorFlow, OpenCV DNN, tf2onnx +
ONNX Runtime, TensorFlow Lite (builtin ops only).

Each ``run_<runtime>(pb_path, feeds, fetches)`` returns one numpy array per fetched tensor name, in
order, or raises :class:`RuntimeFailure` with the stage that failed ("missing" when the runtime is not
installed, "load" when it rejects the graph, "run" when inference fails). The arrays come back in
TensorFlow's layout (OpenCV's NCHW blobs are turned back into NHWC), so :func:`compare` can hold them
against the restored checkpoint's outputs.

Every runtime is imported lazily: a machine without OpenCV still runs the other columns. Versions are
in :func:`versions` (the deploy extra of pyproject.toml pins them).
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

RUNTIMES = ("tf", "opencv", "onnx", "tflite")
#: The tolerance of "matches": the issue's first-contact survey compared at rtol 1e-4. OpenCV and
#: ONNX Runtime use other kernels (Winograd convolutions, fused batch norms) than TensorFlow.
RTOL = 1e-4
ATOL = 1e-5


class RuntimeFailure(Exception):
    """The runtime is missing, refused the graph or failed to run it."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message


_OPENCV_PREFIX = re.compile(r"OpenCV\([\d.]+\) \S+: error: \(-?\d+:[^)]*\) ")


def _first_line(error: BaseException, limit: int = 240) -> str:
    """The error as one line, without OpenCV's source-location preamble."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return _OPENCV_PREFIX.sub("", text or type(error).__name__)[:limit]


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise RuntimeFailure("missing", f"{name} is not installed ({error})") from None


def available(runtime: str) -> bool:
    """Whether the runtime's packages import on this machine."""
    modules = {"tf": ["tensorflow"], "opencv": ["cv2"], "onnx": ["tf2onnx", "onnxruntime"],
               "tflite": ["tensorflow"]}[runtime]
    try:
        for name in modules:
            importlib.import_module(name)
    except ImportError:
        return False
    return True


def versions() -> dict[str, str]:
    found = {}
    for label, module in (("tensorflow", "tensorflow"), ("opencv", "cv2"), ("tf2onnx", "tf2onnx"),
                          ("onnxruntime", "onnxruntime")):
        try:
            found[label] = importlib.import_module(module).__version__
        except ImportError:
            found[label] = "not installed"
    return found


def tf():
    tensorflow = _module("tensorflow")
    tensorflow.get_logger().setLevel("ERROR")
    return tensorflow


def session_config():
    """TensorFlow's session options for the reference and the ``tf`` column: grappler's remapper off.

    The remapper fuses MatMul + bias add (+ activation) into one oneDNN kernel only where the bias is a
    Const: in a frozen graph, not in the restored checkpoint whose bias is a variable read. The fused
    kernel rounds differently (mnist_dense_gan_ckpt's Tanh: 2.4e-5 apart, plain ``freeze`` and
    ``--for-inference`` alike; 0 with the remapper off), so with it on the ``tf`` column would measure
    TensorFlow's kernel choice, not whether a rewrite changed the computation."""
    from tensorflow.core.protobuf import rewriter_config_pb2

    config = tf().compat.v1.ConfigProto()
    config.graph_options.rewrite_options.remapping = rewriter_config_pb2.RewriterConfig.OFF
    return config


def _graph_def(path: str):
    graph_def = tf().compat.v1.GraphDef()
    with open(path, "rb") as handle:
        graph_def.ParseFromString(handle.read())
    return graph_def


# ---------------------------------------------------------------------------------------------
# TensorFlow


def run_tf(pb_path: str, feeds: dict[str, np.ndarray], fetches: Sequence[str],
           initializers: Sequence[str] = ()) -> list[np.ndarray]:
    """import_graph_def + Session.run: what TF-Java/C++ and TF Serving do with a frozen graph."""
    tensorflow = tf()
    v1 = tensorflow.compat.v1
    graph = tensorflow.Graph()
    try:
        with graph.as_default():
            v1.import_graph_def(_graph_def(pb_path), name="")
    except Exception as error:
        raise RuntimeFailure("load", _first_line(error)) from None
    try:
        with v1.Session(graph=graph, config=session_config()) as session:
            if initializers:
                session.run(list(initializers))
            return [np.asarray(v) for v in session.run(list(fetches), feeds)]
    except Exception as error:
        raise RuntimeFailure("run", _first_line(error)) from None


# ---------------------------------------------------------------------------------------------
# OpenCV


def _to_nchw(value: np.ndarray) -> np.ndarray:
    """OpenCV's TensorFlow importer takes 4-D blobs as NCHW and converts the NHWC graph itself."""
    return np.ascontiguousarray(value.transpose(0, 3, 1, 2)) if value.ndim == 4 else value


#: When OpenCV fused an output into the layer before it (an Identity, a matmul's bias add), the
#: harness fetches that layer by its name, as ``--target opencv`` (TARGET_OUTPUT_FUSED) tells users
#: to; the comparison then checks it holds the output's value. The cells
#: this applies to are counted in ``FETCHED_FUSED`` so the report can say how many.
FETCHED_FUSED: list[str] = []


def _layer_for(net, pb_path: str, node: str) -> str:
    """``node`` if OpenCV has a layer of that name, else the layer OpenCV fused it into."""
    names = set(net.getLayerNames())
    if node in names:
        return node
    from inspector.proto import pb

    graph = {n.name: n for n in pb.GraphDef.FromString(Path(pb_path).read_bytes()).node}
    current = node
    while current in graph and current not in names and graph[current].input:
        current = graph[current].input[0].split(":")[0].lstrip("^")
    if current in names:  # the layer OpenCV fused it into: net.forward(current) is its value
        FETCHED_FUSED.append(f"{node} -> {current}")
        return current
    return node


def run_opencv(pb_path: str, feeds: dict[str, np.ndarray], fetches: Sequence[str],
               initializers: Sequence[str] = ()) -> list[np.ndarray]:
    """cv2.dnn.readNetFromTensorflow, setInput per placeholder, forwardAndRetrieve per output node."""
    cv2 = _module("cv2")
    try:
        net = cv2.dnn.readNetFromTensorflow(pb_path)
    except Exception as error:
        raise RuntimeFailure("load", _first_line(error)) from None
    nodes: list[str] = []
    for tensor in fetches:
        node = tensor.rsplit(":", 1)[0]
        if node not in nodes:
            nodes.append(node)
    nodes = [_layer_for(net, pb_path, node) for node in nodes]
    try:
        for name, value in feeds.items():
            blob = _to_nchw(np.asarray(value))
            if blob.dtype not in (np.float32, np.uint8):
                blob = blob.astype(np.float32)
            net.setInput(blob, name.rsplit(":", 1)[0])
        retrieved = net.forwardAndRetrieve(nodes)
    except Exception as error:
        raise RuntimeFailure("run", _first_line(error)) from None
    by_node = dict(zip(nodes, retrieved, strict=True))
    out = []
    for tensor in fetches:
        node, _, port = tensor.rpartition(":")
        blobs = by_node[_layer_for(net, pb_path, node)]
        if int(port) >= len(blobs):
            raise RuntimeFailure("run", f"OpenCV gives {len(blobs)} output(s) for {node!r}, not {tensor!r}")
        out.append(np.asarray(blobs[int(port)]))
    return out


# ---------------------------------------------------------------------------------------------
# tf2onnx + ONNX Runtime


def convert_onnx(pb_path: str, inputs: Sequence[str], fetches: Sequence[str]):
    """tf2onnx's from_graph_def (its default opset): the ModelProto."""
    tf2onnx = _module("tf2onnx")
    import logging

    logging.getLogger("tf2onnx").setLevel(logging.ERROR)
    try:
        model, _ = tf2onnx.convert.from_graph_def(_graph_def(pb_path), input_names=list(inputs),
                                                  output_names=list(fetches))
    except Exception as error:
        raise RuntimeFailure("load", "tf2onnx: " + _first_line(error)) from None
    return model


def run_onnx(pb_path: str, feeds: dict[str, np.ndarray], fetches: Sequence[str],
             initializers: Sequence[str] = ()) -> list[np.ndarray]:
    """tf2onnx converts the GraphDef, onnxruntime's CPU provider runs it."""
    model = convert_onnx(pb_path, list(feeds), fetches)
    ort = _module("onnxruntime")
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as error:
        raise RuntimeFailure("load", "onnxruntime: " + _first_line(error)) from None
    names = {i.name for i in session.get_inputs()}
    try:
        values = session.run(list(fetches), {k: np.asarray(v) for k, v in feeds.items() if k in names})
    except Exception as error:
        raise RuntimeFailure("run", _first_line(error)) from None
    return [np.asarray(v) for v in values]


# ---------------------------------------------------------------------------------------------
# TensorFlow Lite


def convert_tflite(pb_path: str, feeds: dict[str, np.ndarray], fetches: Sequence[str]) -> bytes:
    """The TF1 converter on the frozen graph (TFLITE_BUILTINS only: no Flex delegate on a device)."""
    tensorflow = tf()
    inputs = [name.rsplit(":", 1)[0] for name in feeds]
    shapes = {name.rsplit(":", 1)[0]: list(np.shape(value)) for name, value in feeds.items()}
    try:
        converter = tensorflow.compat.v1.lite.TFLiteConverter.from_frozen_graph(
            pb_path, input_arrays=inputs, output_arrays=[_tflite_name(t) for t in fetches],
            input_shapes=shapes)
        converter.target_spec.supported_ops = [tensorflow.lite.OpsSet.TFLITE_BUILTINS]
        return converter.convert()
    except Exception as error:
        raise RuntimeFailure("load", "converter: " + _converter_reason(error)) from None


def _tflite_name(tensor: str) -> str:
    node, _, port = tensor.rpartition(":")
    return node if port == "0" else tensor


def _converter_reason(error: BaseException) -> str:
    """The converter's message is a page of MLIR locations; keep the lines that say what is wrong."""
    lines = [line.strip() for line in str(error).splitlines() if "error:" in line]
    picked = [line.split("error:", 1)[1].strip() for line in lines]
    return "; ".join(dict.fromkeys(picked))[:240] if picked else _first_line(error)


def run_tflite(pb_path: str, feeds: dict[str, np.ndarray], fetches: Sequence[str],
               initializers: Sequence[str] = ()) -> list[np.ndarray]:
    flatbuffer = convert_tflite(pb_path, feeds, fetches)
    tensorflow = tf()
    try:
        interpreter = tensorflow.lite.Interpreter(model_content=flatbuffer)
        inputs = interpreter.get_input_details()
        by_name = {d["name"]: d for d in inputs}
        for name, value in feeds.items():
            detail = by_name.get(name.rsplit(":", 1)[0]) or by_name.get(name)
            if detail is None:
                raise RuntimeFailure("load", f"the converted model has no input {name!r}")
            interpreter.resize_tensor_input(detail["index"], list(np.shape(value)))
        interpreter.allocate_tensors()
        for name, value in feeds.items():
            detail = by_name.get(name.rsplit(":", 1)[0]) or by_name[name]
            interpreter.set_tensor(detail["index"], np.asarray(value, dtype=detail["dtype"]))
        interpreter.invoke()
        outputs = interpreter.get_output_details()
    except RuntimeFailure:
        raise
    except Exception as error:
        raise RuntimeFailure("run", _first_line(error)) from None
    if len(outputs) != len(fetches):
        raise RuntimeFailure("run", f"the converted model has {len(outputs)} outputs, not {len(fetches)}")
    return [np.asarray(interpreter.get_tensor(d["index"])) for d in outputs]


RUNNERS: dict[str, Callable[..., list[np.ndarray]]] = {
    "tf": run_tf, "opencv": run_opencv, "onnx": run_onnx, "tflite": run_tflite}


# ---------------------------------------------------------------------------------------------
# Comparison


def _align(expected: np.ndarray, actual: np.ndarray) -> np.ndarray | None:
    """``actual`` in ``expected``'s layout: OpenCV returns 4-D results NCHW and may drop or add
    unit dimensions; a result with the same values in another layout is the same result."""
    if actual.shape == expected.shape:
        return actual
    if actual.ndim == 4 and expected.ndim == 4 and actual.transpose(0, 2, 3, 1).shape == expected.shape:
        return actual.transpose(0, 2, 3, 1)
    if actual.size == expected.size:
        return actual.reshape(expected.shape)
    return None


def compare(expected: Sequence[np.ndarray], actual: Sequence[np.ndarray], fetches: Sequence[str],
            rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """None when every output matches, else what differs first."""
    for name, e, a in zip(fetches, expected, actual, strict=True):
        e, a = np.asarray(e), np.asarray(a)
        aligned = _align(e, a)
        if aligned is None:
            return f"{name}: shape {list(a.shape)}, expected {list(e.shape)}"
        if e.dtype.kind in "fc":
            if not np.allclose(aligned.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol,
                               equal_nan=True):
                diff = np.nanmax(np.abs(aligned.astype(np.float64) - e.astype(np.float64))) if e.size else 0
                return f"{name}: values differ (max abs diff {diff:.3g})"
        elif e.dtype == object or aligned.dtype == object:
            if [bytes(v) for v in e.ravel()] != [bytes(v) for v in aligned.ravel()]:
                return f"{name}: strings differ"
        elif not np.array_equal(aligned.astype(e.dtype), e):
            return f"{name}: values differ"
    return None


def scratch_file(suffix: str = ".pb") -> str:
    handle, path = tempfile.mkstemp(suffix=suffix)
    os.close(handle)
    return path
