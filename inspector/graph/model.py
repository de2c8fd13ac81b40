"""The graph model: built once from a GraphDef and shared by every later stage.

It holds plain dictionaries and offers a networkx DiGraph view, :attr:`GraphModel.g`, built on
first use. Nodes are keyed by node name and carry ``op``, ``dtype`` (numpy-style name of
output 0, when the graph records it), ``shape`` (output 0's shape as a list with -1 for unknown
dims, when recorded), ``device`` and ``frame`` (the while-loop frame the node runs in, "" at top
level). Edges run from producer to consumer and carry ``port`` (the producer's output index, -1
for a control edge), ``control`` (True when the consumer only waits on the producer) and
``ports`` (every (output index, input position) pair, since one producer may feed several inputs
of a consumer).

The model keeps the parsed GraphDef (and MetaGraphDef, when there is one) and never copies
NodeDefs: :meth:`GraphModel.node_def` returns the original message.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import NamedTuple

from inspector import opdefs, tfops
from inspector.readers import dtypes

# Attributes that hold the dtype of output 0, in the order they are tried for an op neither the
# graph nor TensorFlow's registry defines. Most ops call it T; sources and casts use their own names.
_DTYPE_ATTRS = ("dtype", "T", "out_type", "DstT", "output_type", "Tout", "type", "Tparams", "SrcT")


class TensorRef(NamedTuple):
    """A parsed input string: ``node``, ``node:k`` or ``^node``.

    A NamedTuple rather than a dataclass: a graph has one per input, and tuples are cheap to make.
    """

    node: str
    port: int
    control: bool

    @classmethod
    def parse(cls, text: str, names: dict[str, str] | None = None) -> TensorRef:
        """``names``: node name -> the one string object to use for it (shared, not copied)."""
        if text.startswith("^"):
            node, port, control = text[1:], -1, True
        else:
            node, sep, port_text = text.rpartition(":")
            if sep and port_text.isdigit():
                port, control = int(port_text), False
            else:
                node, port, control = text, 0, False
        if names is not None:
            node = names.get(node, node)
        return cls(node, port, control)


@dataclass
class GraphProblems:
    """Structural defects found while building the model (the diagnosis reports them)."""

    duplicate_nodes: list[str] = field(default_factory=list)
    missing_inputs: list[tuple[str, str]] = field(default_factory=list)  # (node, input text)


class GraphModel:
    """A GraphDef as nodes, inputs and consumers, with a networkx DiGraph view built on demand.

    The plain dictionaries are what the ranking, the variable mapping and the report walk; they
    cost a fraction of a networkx graph to build, so ``inspect`` never pays for networkx unless
    something asks for :attr:`g`.
    """

    def __init__(self, graph_def, meta_graph=None, lazy=None) -> None:
        self.graph_def = graph_def
        self.meta_graph = meta_graph
        #: where the big tensor fields left out of ``graph_def`` are (inspector.readers.lazy), or None
        self.lazy = lazy
        self.problems = GraphProblems()
        self._nodes: dict[str, object] = {}
        #: per node: op, dtype, shape, device, frame (the networkx node attributes)
        self.attrs: dict[str, dict] = {}
        #: per node: its parsed inputs (data first, then control), including dangling ones
        self.inputs: dict[str, list[TensorRef]] = {}
        #: per node: (consumer, input position, the consumer's TensorRef) for each use of it
        self.consumers: dict[str, list[tuple[str, int, TensorRef]]] = {}
        self.op_defs: dict[str, object] = {}
        self._dtype_rules: dict[str, _DtypeRule] = {}
        if meta_graph is not None and meta_graph.HasField("meta_info_def"):
            self.op_defs = {op.name: op for op in meta_graph.meta_info_def.stripped_op_list.op}
        self.functions: dict[str, object] = {f.signature.name: f for f in graph_def.library.function}
        # The build allocates a few objects per node and edge and no reference cycles; automatic
        # collections would rescan the growing structure again and again. Pause the collector.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._build()
        finally:
            if collecting:
                gc.enable()

    @classmethod
    def from_graph_def(cls, graph_def, meta_graph=None, lazy=None) -> GraphModel:
        return cls(graph_def, meta_graph, lazy)

    @classmethod
    def from_loaded(cls, loaded) -> GraphModel:
        """The model of a :class:`~inspector.readers.graphfile.LoadedGraph` (its left-out tensors too)."""
        return cls(loaded.graph_def, getattr(loaded, "meta_graph", None), getattr(loaded, "lazy", None))

    @classmethod
    def from_meta_graph(cls, meta_graph) -> GraphModel:
        return cls(meta_graph.graph_def, meta_graph)

    # -- construction -------------------------------------------------------------------------

    def _build(self) -> None:
        nodes, attrs = self._nodes, self.attrs
        # Each read of a NodeDef field builds a new Python string from the protobuf: each field is
        # read once, and op names (a few hundred distinct ones) and the node names inputs refer to
        # are shared, one string object per distinct text (a graph of 10^6 nodes holds millions).
        op_names: dict[str, str] = {}
        for node in self.graph_def.node:
            name = node.name
            if name in nodes:
                self.problems.duplicate_nodes.append(name)
                continue
            nodes[name] = node
            op = node.op
            op = op_names.setdefault(op, op)
            attrs[name] = {"op": op, "dtype": self._output_dtype(node, op),
                           "shape": _output_shape(node, op), "device": node.device, "frame": ""}
        consumers = self.consumers = {name: [] for name in nodes}
        parse = TensorRef.parse
        canonical = {name: name for name in nodes}
        for name, node in nodes.items():
            texts = list(node.input)
            refs = self.inputs[name] = [parse(text, canonical) for text in texts]
            for position, ref in enumerate(refs):
                uses = consumers.get(ref.node)
                if uses is None:
                    self.problems.missing_inputs.append((name, texts[position]))
                else:
                    uses.append((name, position, ref))
        self._assign_frames()

    def _output_dtype(self, node, op: str | None = None) -> str | None:
        """Output 0's dtype, as the op's OpDef states it: the meta graph's own op list first, then
        TensorFlow's registry (an ArgMax gives its ``output_type``, int64 when the attr is omitted);
        for an op neither defines, the first dtype-holding attr the node has."""
        op = node.op if op is None else op
        rule = self._dtype_rules.get(op)
        if rule is None:
            function = self.functions.get(op)  # a call of a library function: its signature
            definition = self.op_defs.get(op) or opdefs.op_def(op) or \
                (function.signature if function is not None else None)
            rule = self._dtype_rules[node.op] = _dtype_rule(definition)
        return _apply_dtype_rule(node, rule)

    def _assign_frames(self) -> None:
        """Give every node the while-loop frame it runs in (breadth first from the sources).

        Enter opens the frame named by its ``frame_name`` attr, Exit returns to the parent frame;
        every other node runs in the frame of the producer that reached it first.
        """
        parent: dict[str, str] = {}
        self.frame_parents = parent
        if not any(attrs["op"] in tfops.LOOP_ENTERS for attrs in self.attrs.values()):
            return  # no while loop: every node runs at top level, as initialised
        frames: dict[str, str | None] = dict.fromkeys(self._nodes)
        queue = deque(name for name, refs in self.inputs.items()
                      if not any(ref.node in self._nodes for ref in refs))
        for name in queue:
            frames[name] = ""
        while queue:
            name = queue.popleft()
            frame = frames[name]
            op = self.attrs[name]["op"]
            for consumer, _, _ in self.consumers[name]:
                if frames[consumer] is not None:
                    continue
                if self.attrs[consumer]["op"] in tfops.LOOP_ENTERS:
                    node = self._nodes[consumer]
                    child = (node.attr["frame_name"].s.decode("utf-8", "replace")
                             if "frame_name" in node.attr else consumer)
                    parent.setdefault(child, frame)
                    frames[consumer] = child
                elif op in tfops.LOOP_EXITS:
                    frames[consumer] = parent.get(frame, "")
                else:
                    frames[consumer] = frame
                queue.append(consumer)
        for name, frame in frames.items():
            self.attrs[name]["frame"] = frame or ""

    # -- queries ----------------------------------------------------------------------------

    def __contains__(self, name: str) -> bool:
        return name in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    @property
    def nodes_by_name(self) -> dict[str, object]:
        """Node name -> NodeDef (the first of duplicated names); the model's own dict, not a copy."""
        return self._nodes

    def node_def(self, name: str):
        """The original NodeDef message for ``name`` (not a copy)."""
        return self._nodes[name]

    def node_defs(self) -> Iterator:
        return iter(self._nodes.values())

    def op(self, name: str) -> str:
        return self.attrs[name]["op"]

    @property
    def names(self) -> list[str]:
        """Node names in file order (first occurrence of a duplicated name)."""
        return list(self._nodes)

    def data_inputs(self, name: str) -> list[TensorRef]:
        return [ref for ref in self.inputs[name] if not ref.control]

    def successors(self, name: str) -> list[str]:
        """Distinct consumers of ``name`` (data or control), in file order."""
        return list(dict.fromkeys(consumer for consumer, _, _ in self.consumers[name]))

    def data_consumers(self, name: str) -> list[str]:
        """Distinct consumers that read a value of ``name`` (not only wait on it)."""
        return list(dict.fromkeys(c for c, _, ref in self.consumers[name] if not ref.control))

    def edge_ports(self, producer: str, consumer: str) -> list[tuple[int, int]]:
        """Every (producer output index, consumer input position) pair; -1 marks a control edge."""
        return [(ref.port, position) for c, position, ref in self.consumers[producer] if c == consumer]

    def edge_count(self) -> int:
        """Distinct (producer, consumer) pairs, as in the networkx view."""
        return sum(len({c for c, _, _ in uses}) for uses in self.consumers.values())

    def ancestors(self, name: str) -> set[str]:
        """Every node ``name`` depends on, through data and control inputs."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            for ref in self.inputs[stack.pop()]:
                if ref.node in self._nodes and ref.node not in seen:
                    seen.add(ref.node)
                    stack.append(ref.node)
        return seen

    def nodes_with_op(self, ops: Iterable[str]) -> list[str]:
        wanted = set(ops)
        return [name for name, attrs in self.attrs.items() if attrs["op"] in wanted]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for attrs in self.attrs.values():
            counts[attrs["op"]] = counts.get(attrs["op"], 0) + 1
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    @cached_property
    def g(self):
        """The graph as a ``networkx.DiGraph`` (built, and networkx imported, on first use).

        Node attributes: op, dtype, shape, device, frame. Edge attributes: ``port`` (the
        producer's output index, -1 for control), ``control`` (True when the consumer only waits)
        and ``ports`` (every (output index, input position) pair).
        """
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self.attrs.items())
        for producer, uses in self.consumers.items():
            for consumer, position, ref in uses:
                data = graph.get_edge_data(producer, consumer)
                if data is None:
                    graph.add_edge(producer, consumer, port=ref.port, control=ref.control,
                                   ports=[(ref.port, position)])
                    continue
                data["ports"].append((ref.port, position))
                if data["control"] and not ref.control:
                    data["control"] = False
                    data["port"] = ref.port
        return graph

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


#: How an op states output 0's dtype: (a fixed dtype, or the attrs that hold it and the dtype
#: their OpDef default gives when the node omits them).
_DtypeRule = tuple[str | None, tuple[str, ...], str | None]
_NO_OPDEF: _DtypeRule = (None, _DTYPE_ATTRS, None)


#: The rule for ops whose first output argument is a list (ParseExample's sparse_indices, N of them):
#: when the node's count is 0, output 0 belongs to a later argument, so every node is expanded.
_COUNTED = "counted"


def _dtype_rule(op_def) -> _DtypeRule:
    """Output 0's dtype rule from an OpDef (worked out once per op type)."""
    if op_def is None:
        return _NO_OPDEF
    if not op_def.output_arg:
        return None, (), None
    arg = op_def.output_arg[0]
    if arg.number_attr or arg.type_list_attr:
        return _COUNTED, op_def, None
    if arg.type:
        return dtype_name(arg.type), (), None
    names = tuple(name for name in (arg.type_attr, arg.type_list_attr) if name)
    default = None
    for attr in op_def.attr:
        if attr.name == arg.type_attr and attr.HasField("default_value") and attr.default_value.type:
            default = dtype_name(attr.default_value.type)
    return None, names, default


def node_dtype(node, op_defs: dict | None = None) -> str | None:
    """Output 0's dtype of one NodeDef, by the rule :class:`GraphModel` uses (``op_defs``: a
    graph's own stripped op list, searched before TensorFlow's registry)."""
    definition = (op_defs or {}).get(node.op) or opdefs.op_def(node.op)
    return _apply_dtype_rule(node, _dtype_rule(definition))


def _apply_dtype_rule(node, rule: _DtypeRule) -> str | None:
    fixed, attr_names, default = rule
    if fixed is _COUNTED:
        return _counted_dtype(node, attr_names)
    if fixed is not None:
        return fixed
    attrs = node.attr
    for attr_name in attr_names:
        if attr_name in attrs:
            value = attrs[attr_name]
            kind = value.WhichOneof("value")
            if kind == "type":
                return dtype_name(value.type)
            if kind == "list" and value.list.type:
                return dtype_name(value.list.type[0])
    return default


def _counted_dtype(node, op_def) -> str | None:
    """Output 0's dtype when output arguments are lists: the first argument with at least one
    tensor (the node's count, else the attr's default), typed by the node or the attr's default."""
    defaults = {attr.name: attr.default_value for attr in op_def.attr if attr.HasField("default_value")}

    def attr(name: str):
        return node.attr[name] if name in node.attr else defaults.get(name)

    for arg in op_def.output_arg:
        if arg.number_attr:
            count = attr(arg.number_attr)
            if count is None or count.i <= 0:
                continue
        elif arg.type_list_attr:
            types = attr(arg.type_list_attr)
            if types is None or not types.list.type:
                continue
            return dtype_name(types.list.type[0])
        if arg.type:
            return dtype_name(arg.type)
        typed = attr(arg.type_attr)
        return dtype_name(typed.type) if typed is not None and typed.type else None
    return None


def _output_shape(node, op: str | None = None) -> list[int] | None:
    """Shape of output 0 where the graph records it: ``_output_shapes``, ``shape`` or a Const value."""
    attrs = node.attr
    if not attrs:
        return None
    if "_output_shapes" in attrs:
        shapes = attrs["_output_shapes"].list.shape
        if shapes:
            return shape_list(shapes[0])
    if "shape" in attrs:
        value = attrs["shape"]
        if value.WhichOneof("value") == "shape":
            return shape_list(value.shape)
    if (node.op if op is None else op) == "Const" and "value" in attrs:
        return shape_list(attrs["value"].tensor.tensor_shape)
    return None


def shape_list(shape) -> list[int] | None:
    """A TensorShapeProto as a list of ints (-1 for unknown dims); None for an unknown rank."""
    if shape.unknown_rank:
        return None
    return [int(d.size) for d in shape.dim]


@cache
def dtype_name(enum_value: int) -> str | None:
    """numpy-style name of a DataType enum value (``float32``, ``bfloat16``); refs map to their base."""
    if not dtypes.is_known(enum_value):
        return None
    return dtypes.by_value(enum_value).base.name
