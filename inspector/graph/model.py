"""The graph model: a networkx DiGraph built once from a GraphDef and shared by every later stage.

Nodes are keyed by node name and carry ``op``, ``dtype`` (numpy-style name of output 0, when the
graph records it), ``shape`` (output 0's shape as a list with -1 for unknown dims, when recorded),
``device`` and ``frame`` (the while-loop frame the node runs in, "" at top level). Edges run from
producer to consumer and carry ``port`` (the producer's output index, -1 for a control edge),
``control`` (True when the consumer only waits on the producer) and ``ports`` (every
(output index, input position) pair, since one producer may feed several inputs of a consumer).

The model keeps the parsed GraphDef (and MetaGraphDef, when there is one) and never copies
NodeDefs: :meth:`GraphModel.node_def` returns the original message.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import networkx as nx

from inspector.readers import dtypes

ENTER_OPS = frozenset({"Enter", "RefEnter"})
EXIT_OPS = frozenset({"Exit", "RefExit"})

# Attributes that hold the dtype of output 0, in the order they are tried when the graph carries
# no OpDef for the op. Most ops call it T; sources and casts use their own names.
_DTYPE_ATTRS = ("dtype", "T", "out_type", "DstT", "output_type", "Tout", "type", "Tparams", "SrcT")


@dataclass(frozen=True)
class TensorRef:
    """A parsed input string: ``node``, ``node:k`` or ``^node``."""

    node: str
    port: int
    control: bool

    @classmethod
    def parse(cls, text: str) -> TensorRef:
        if text.startswith("^"):
            return cls(text[1:], -1, True)
        name, sep, port = text.rpartition(":")
        if sep and port.isdigit():
            return cls(name, int(port), False)
        return cls(text, 0, False)


@dataclass
class GraphProblems:
    """Structural defects found while building the model (the diagnosis reports them)."""

    duplicate_nodes: list[str] = field(default_factory=list)
    missing_inputs: list[tuple[str, str]] = field(default_factory=list)  # (node, input text)


class GraphModel:
    """A GraphDef as a networkx DiGraph plus the protobuf context around it."""

    def __init__(self, graph_def, meta_graph=None) -> None:
        self.graph_def = graph_def
        self.meta_graph = meta_graph
        self.g: nx.DiGraph = nx.DiGraph()
        self.problems = GraphProblems()
        self._nodes: dict[str, object] = {}
        self.op_defs: dict[str, object] = {}
        if meta_graph is not None and meta_graph.HasField("meta_info_def"):
            self.op_defs = {op.name: op for op in meta_graph.meta_info_def.stripped_op_list.op}
        self.functions: dict[str, object] = {f.signature.name: f for f in graph_def.library.function}
        # The build allocates a few dicts per node and edge and no reference cycles; automatic
        # collections would rescan the growing graph again and again (bench: 7k nodes 0.23 -> 0.13 s,
        # 50k nodes 1.6-2.3 -> 0.95 s CPU). Pause the collector for the build only.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build()
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def from_graph_def(cls, graph_def, meta_graph=None) -> GraphModel:
        return cls(graph_def, meta_graph)

    @classmethod
    def from_meta_graph(cls, meta_graph) -> GraphModel:
        return cls(meta_graph.graph_def, meta_graph)

    # -- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        g = self.g
        for node in self.graph_def.node:
            if node.name in self._nodes:
                self.problems.duplicate_nodes.append(node.name)
                continue
            self._nodes[node.name] = node
            g.add_node(node.name, op=node.op, dtype=self._output_dtype(node),
                       shape=_output_shape(node), device=node.device, frame="")
        for node in self.graph_def.node:
            if self._nodes.get(node.name) is not node:
                continue
            for position, text in enumerate(node.input):
                ref = TensorRef.parse(text)
                if ref.node not in self._nodes:
                    self.problems.missing_inputs.append((node.name, text))
                    continue
                self._add_edge(ref, node.name, position)
        self._assign_frames()

    def _add_edge(self, ref: TensorRef, consumer: str, position: int) -> None:
        data = self.g.get_edge_data(ref.node, consumer)
        if data is None:
            self.g.add_edge(ref.node, consumer, port=ref.port, control=ref.control,
                            ports=[(ref.port, position)])
            return
        data["ports"].append((ref.port, position))
        if data["control"] and not ref.control:
            data["control"] = False
            data["port"] = ref.port

    def _output_dtype(self, node) -> str | None:
        op_def = self.op_defs.get(node.op)
        if op_def is not None and op_def.output_arg:
            return _dtype_from_arg(op_def.output_arg[0], node)
        for attr_name in _DTYPE_ATTRS:
            if attr_name in node.attr:
                value = node.attr[attr_name]
                kind = value.WhichOneof("value")
                if kind == "type":
                    return dtype_name(value.type)
                if kind == "list" and value.list.type:
                    return dtype_name(value.list.type[0])
        return None

    def _assign_frames(self) -> None:
        """Give every node the while-loop frame it runs in (breadth first from the sources).

        Enter opens the frame named by its ``frame_name`` attr, Exit returns to the parent frame;
        every other node runs in the frame of the producer that reached it first.
        """
        parent: dict[str, str] = {}
        frames = {name: None for name in self.g}
        queue = deque(n for n in self.g if self.g.in_degree(n) == 0)
        for name in queue:
            frames[name] = ""
        while queue:
            name = queue.popleft()
            frame = frames[name]
            op = self.g.nodes[name]["op"]
            for consumer in self.g.successors(name):
                if frames[consumer] is not None:
                    continue
                consumer_op = self.g.nodes[consumer]["op"]
                if consumer_op in ENTER_OPS:
                    node = self._nodes[consumer]
                    child = node.attr["frame_name"].s.decode("utf-8", "replace") if "frame_name" in \
                        node.attr else consumer
                    parent.setdefault(child, frame)
                    frames[consumer] = child
                elif op in EXIT_OPS:
                    frames[consumer] = parent.get(frame, "")
                else:
                    frames[consumer] = frame
                queue.append(consumer)
        for name, frame in frames.items():
            self.g.nodes[name]["frame"] = frame or ""
        self.frame_parents = parent

    # -- queries ----------------------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def node_def(self, name: str):
        """The original NodeDef message for ``name`` (not a copy)."""
        return self._nodes[name]

    def node_defs(self) -> Iterator:
        return iter(self._nodes.values())

    def op(self, name: str) -> str:
        return self.g.nodes[name]["op"]

    def data_inputs(self, name: str) -> list[TensorRef]:
        return [ref for ref in map(TensorRef.parse, self._nodes[name].input) if not ref.control]

    def data_consumers(self, name: str) -> list[str]:
        return [c for c in self.g.successors(name) if not self.g.edges[name, c]["control"]]

    def nodes_with_op(self, ops: Iterable[str]) -> list[str]:
        wanted = set(ops)
        return [name for name, op in self.g.nodes(data="op") if op in wanted]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, op in self.g.nodes(data="op"):
            counts[op] = counts.get(op, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def collection(self, key: str) -> list[str]:
        """Node names listed in a ``node_list`` collection of the MetaGraphDef (tensor suffix removed)."""
        if self.meta_graph is None or key not in self.meta_graph.collection_def:
            return []
        collection = self.meta_graph.collection_def[key]
        if collection.WhichOneof("kind") != "node_list":
            return []
        return [TensorRef.parse(v).node for v in collection.node_list.value]

    def bytes_collection(self, key: str, message_class) -> list:
        """Parsed items of a ``bytes_list`` collection (VariableDef, CondContextDef, …)."""
        if self.meta_graph is None or key not in self.meta_graph.collection_def:
            return []
        collection = self.meta_graph.collection_def[key]
        if collection.WhichOneof("kind") != "bytes_list":
            return []
        items = []
        for raw in collection.bytes_list.value:
            message = message_class()
            try:
                message.ParseFromString(raw)
            except Exception:  # a malformed item: skip it, the rest of the collection still counts
                continue
            items.append(message)
        return items

    @property
    def signature_defs(self) -> dict:
        return dict(self.meta_graph.signature_def) if self.meta_graph is not None else {}

    @property
    def saver_def(self):
        if self.meta_graph is not None and self.meta_graph.HasField("saver_def"):
            return self.meta_graph.saver_def
        return None


def _dtype_from_arg(arg, node) -> str | None:
    if arg.type:
        return dtype_name(arg.type)
    for attr_name in (arg.type_attr, arg.type_list_attr):
        if attr_name and attr_name in node.attr:
            value = node.attr[attr_name]
            if value.WhichOneof("value") == "type":
                return dtype_name(value.type)
            if value.list.type:
                return dtype_name(value.list.type[0])
    return None


def _output_shape(node) -> list[int] | None:
    """Shape of output 0 where the graph records it: ``_output_shapes``, ``shape`` or a Const value."""
    if "_output_shapes" in node.attr and node.attr["_output_shapes"].list.shape:
        return shape_list(node.attr["_output_shapes"].list.shape[0])
    if "shape" in node.attr and node.attr["shape"].WhichOneof("value") == "shape":
        return shape_list(node.attr["shape"].shape)
    if node.op == "Const" and "value" in node.attr:
        return shape_list(node.attr["value"].tensor.tensor_shape)
    return None


def shape_list(shape) -> list[int] | None:
    """A TensorShapeProto as a list of ints (-1 for unknown dims); None for an unknown rank."""
    if shape.unknown_rank:
        return None
    return [int(d.size) for d in shape.dim]


def dtype_name(enum_value: int) -> str | None:
    """numpy-style name of a DataType enum value (``float32``, ``bfloat16``); refs map to their base."""
    if not dtypes.is_known(enum_value):
        return None
    return dtypes.by_value(enum_value).base.name
