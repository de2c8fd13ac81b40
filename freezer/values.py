"""Where each graph variable's value lives in the checkpoint, and how it reaches the output file.

The authoritative map is the graph's own restore subgraph: ``RestoreV2`` (or V1 ``Restore`` /
``RestoreSlice``) output *i* is assigned to a variable, and its ``tensor_names[i]`` /
``shape_and_slices[i]`` constants give the checkpoint key and the partition. That covers savers
with custom names and partitioned variables alike. Without a saver in the graph the
MetaGraphDef's ``VariableDef.save_slice_info_def`` and finally the variable's own name are used.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from freezer.writer import StreamedConst, pread_chunks, shape_proto
from inspector import tfops
from inspector.errors import UnreadableInputError
from inspector.graph.model import TensorRef
from inspector.proto import pb
from inspector.readers import dtypes
from inspector.readers.crc32c import crc32c, mask

LOG = logging.getLogger("ckpt2pb.freeze")

EMA_SUFFIX = "/ExponentialMovingAverage"
CHUNK = 1 << 22
# TF2 object-based key grammar (FORMATS.md §10.1): slots, the optimizer's own state, bookkeeping.
OPTIMIZER_SLOT_MARK = "/.OPTIMIZER_SLOT/"
TF2_OPTIMIZER_PREFIX = "optimizer/"
TF2_BOOKKEEPING_KEYS = frozenset({"_CHECKPOINTABLE_OBJECT_GRAPH"})


@dataclass(frozen=True)
class Binding:
    """A graph variable's checkpoint key and, for one partition of a bigger tensor, its slice."""

    key: str
    slices: tuple[tuple[int, int], ...] | None = None  # (start, length) per dimension

    def describe(self) -> str:
        if self.slices is None:
            return self.key
        return self.key + "[" + ", ".join(f"{s}:{s + n}" for s, n in self.slices) + "]"


@dataclass
class Folded:
    """One variable turned into a Const: what was read, from where, and how many bytes."""

    node: str
    key: str
    dtype: str
    shape: tuple[int, ...]
    nbytes: int
    slices: tuple[tuple[int, int], ...] | None = None
    moving_average: bool = False

    def to_json(self) -> dict:
        return {"node": self.node, "key": self.key, "dtype": self.dtype, "shape": list(self.shape),
                "bytes": self.nbytes, "partition": None if self.slices is None else
                [list(s) for s in self.slices], "moving_average": self.moving_average}


def file_chunks(source: str | int, offset: int, size: int, expected_crc: int | None = None,
                label: str = "", chunk_size: int = CHUNK, copy: bool = True,
                path: str | None = None) -> Iterator[bytes]:
    """``size`` bytes from ``offset`` of ``source``, checking the bundle's masked CRC32C at the end.

    ``source`` is an open descriptor (the checkpoint reader's own, so the bytes come from the file
    it opened even if another is saved under its name meanwhile) or a path, opened once; ``path``
    names the file in messages. The checksum covers exactly the bytes yielded: a writer that
    writes them and stops on the error has written nothing unverified. Reads go through one
    reused buffer, which keeps resident memory flat (the pages of a memory map would count
    towards it). With ``copy=False`` the chunks are views of that buffer, valid only until the
    next one.
    """
    if isinstance(source, int):
        yield from _fd_chunks(source, offset, size, expected_crc, label, chunk_size, copy, path)
        return
    with open(source, "rb", buffering=0) as handle:
        yield from _fd_chunks(handle.fileno(), offset, size, expected_crc, label, chunk_size, copy,
                              path or source)


def _fd_chunks(fd: int, offset: int, size: int, expected_crc: int | None, label: str, chunk_size: int,
               copy: bool, path: str | None) -> Iterator[bytes]:
    crc = 0
    done = 0
    for view in pread_chunks(fd, offset, size, chunk_size):
        chunk = bytes(view) if copy else view
        crc = crc32c(chunk, crc)
        done += len(view)
        yield chunk
    if done < size:
        raise UnreadableInputError(f"the data of tensor {label!r} ends early", path=path,
                                   fix="the .data shard is truncated; copy it again")
    if expected_crc is not None and mask(crc) != expected_crc:
        raise UnreadableInputError(f"checksum mismatch in the data of tensor {label!r}", path=path,
                                   fix="the .data shard is damaged; copy it again from the original")


def parse_shape_and_slice(text: str) -> tuple[tuple[int, ...], tuple[tuple[int, int], ...]] | None:
    """``"10 4 4,3:0,4"`` -> ((10, 4), ((4, 3), (0, 4))); ``""`` (the whole tensor) -> None."""
    text = text.strip()
    if not text:
        return None
    parts = text.split(" ")
    try:
        full = tuple(int(p) for p in parts[:-1])
        slices = []
        for dim, spec in zip(full, parts[-1].split(":"), strict=True):
            if spec == "-":
                slices.append((0, dim))
            else:
                start, length = spec.split(",")
                slices.append((int(start), int(length)))
    except ValueError:
        return None
    return full, tuple(slices)


class _Broadcast(Sequence):
    """A Const's string values with TensorProto's broadcast rule (the last value repeats up to the shape's
    element count), computed per index: the shape is only a claim, and a restore op's ``tensor_names``
    claiming 2^28 elements must not build a list of 2^28 strings (found by tests/fuzz)."""

    def __init__(self, values: list[str], count: int) -> None:
        self.values = values
        self.count = count if values and count > len(values) else len(values)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self.count))]
        if not -self.count <= index < self.count:
            raise IndexError(index)
        return self.values[min(index % self.count, len(self.values) - 1)]


def _strings(node) -> Sequence[str]:
    """The string values of a Const node (the typed field, with TensorProto's broadcast rule)."""
    if node is None or node.op != "Const" or "value" not in node.attr:
        return []
    tensor = node.attr["value"].tensor
    values = [v.decode("utf-8", "replace") for v in tensor.string_val]
    count = 1
    for dim in tensor.tensor_shape.dim:
        count *= dim.size
    return _Broadcast(values, count)


def restore_bindings(nodes: Sequence) -> dict[str, Binding]:
    """Variable node name -> Binding, read off the graph's restore ops."""
    by_name = {node.name: node for node in nodes}
    consumers: dict[str, list[tuple[object, int, int]]] = {}
    for node in nodes:
        for position, text in enumerate(node.input):
            ref = TensorRef.parse(text)
            if not ref.control:
                consumers.setdefault(ref.node, []).append((node, ref.port, position))

    bindings: dict[str, Binding] = {}
    visited: set[str] = set()
    for node in nodes:
        if node.op not in tfops.RESTORE_OPS or len(node.input) < 2:
            continue
        names = _strings(by_name.get(TensorRef.parse(node.input[1]).node))
        specs = _strings(by_name.get(TensorRef.parse(node.input[2]).node)) if len(node.input) > 2 \
            and not node.input[2].startswith("^") else []
        for consumer, port, _ in consumers.get(node.name, []):
            if port >= len(names):
                continue
            parsed = parse_shape_and_slice(specs[port]) if port < len(specs) else None
            binding = Binding(names[port], None if parsed is None else parsed[1])
            for variable in _assigned_variables(consumer, consumers, visited):
                bindings.setdefault(variable, binding)
    return bindings


def _assigned_variables(start, consumers: dict, visited: set[str]) -> Iterator[str]:
    """Variables a restored tensor is assigned to, following Identity forwarders.

    ``visited`` is shared by every restore output of one scan: a node is expanded once, so the
    scan is linear in nodes + edges however many times a forwarder reads the same tensor (K
    duplicate inputs over L levels are K^L paths). A node reached again has already given its
    variables their binding (the first restore output to reach a variable wins, as before).
    """
    stack = [start]
    while stack:
        node = stack.pop()
        if node.name in visited:
            continue
        visited.add(node.name)
        if node.op in tfops.ASSIGNS and len(node.input) >= 2:
            yield TensorRef.parse(node.input[0]).node
        elif node.op in tfops.IDENTITIES:
            # reversed: the stack pops the consumers in file order, as the recursion did
            stack.extend(consumer for consumer, port, _ in reversed(consumers.get(node.name, []))
                         if port == 0)


def function_restore_bindings(nodes: Sequence, meta_graph) -> dict[str, Binding]:
    """TF2 SavedModel variables: follow the restore function (FORMATS.md §10.3).

    ``saver_def.restore_op_name`` is a call whose inputs are ``[filename, handle…]``; in its body
    each ``AssignVariableOp(arg, Identity_k)`` assigns ``RestoreV2:tensors:k``, i.e. the k-th
    entry of the ``tensor_names`` constant, to the handle passed at that argument's position.
    """
    if meta_graph is None or not meta_graph.HasField("saver_def"):
        return {}
    by_name = {node.name: node for node in nodes}
    call = by_name.get(TensorRef.parse(meta_graph.saver_def.restore_op_name).node)
    if call is None or "f" not in call.attr:
        return {}
    functions = {f.signature.name: f for f in meta_graph.graph_def.library.function}
    function = functions.get(call.attr["f"].func.name)
    if function is None:
        return {}
    args = [arg.name for arg in function.signature.input_arg]
    body = {node.name: node for node in function.node_def}
    call_inputs = [t for t in call.input if not t.startswith("^")]
    bindings: dict[str, Binding] = {}
    for node in function.node_def:
        if node.op != "AssignVariableOp" or len(node.input) < 2 or node.input[0] not in args:
            continue
        position = args.index(node.input[0])
        key = _restored_key(node.input[1], body)
        if key is not None and position < len(call_inputs):
            bindings.setdefault(TensorRef.parse(call_inputs[position]).node, Binding(key))
    return bindings


def _restored_key(ref: str, body: dict, depth: int = 0) -> str | None:
    """The checkpoint key a function-body tensor (``Identity_3:output:0``) was restored from."""
    parts = ref.split(":")
    node = body.get(parts[0])
    if node is None or depth > 8:
        return None
    if node.op == "Identity" and node.input:
        return _restored_key(node.input[0], body, depth + 1)
    if node.op == "RestoreV2" and len(parts) == 3 and parts[2].isdigit() and len(node.input) > 1:
        names = _strings(body.get(node.input[1].split(":")[0]))
        index = int(parts[2])
        return names[index] if index < len(names) else None
    return None


def collection_bindings(meta_graph) -> dict[str, Binding]:
    """Partition info from the MetaGraphDef's variable collections (``save_slice_info_def``)."""
    bindings: dict[str, Binding] = {}
    if meta_graph is None:
        return bindings
    for collection in meta_graph.collection_def.values():
        if collection.WhichOneof("kind") != "bytes_list":
            continue
        for raw in collection.bytes_list.value:
            variable = pb.VariableDef()
            try:
                variable.ParseFromString(raw)
            except Exception:  # not a VariableDef collection
                break
            if not variable.variable_name or not variable.HasField("save_slice_info_def"):
                continue
            info = variable.save_slice_info_def
            slices = tuple(zip(info.var_offset, info.var_shape, strict=False))
            bindings[TensorRef.parse(variable.variable_name).node] = Binding(info.full_name, slices)
    return bindings


class ValueSource:
    """Turns variable nodes into Const items whose bytes come from the checkpoint."""

    def __init__(self, reader, nodes: Sequence, meta_graph=None, use_moving_averages: bool = False,
                 path: str | None = None) -> None:
        self.reader = reader
        self.path = path
        self.use_moving_averages = use_moving_averages
        self._cached_key: str | None = None
        self._cached = None
        self.bindings = collection_bindings(meta_graph)
        self.bindings.update(function_restore_bindings(nodes, meta_graph))
        self.bindings.update(restore_bindings(nodes))

    def binding(self, node) -> Binding:
        found = self.bindings.get(node.name)
        if found is not None:
            return found
        if node.name not in self.reader and node.op in tfops.RESOURCE_VARIABLES \
                and "shared_name" in node.attr:
            shared = node.attr["shared_name"].s.decode("utf-8", "replace")
            if shared in self.reader:
                return Binding(shared)
        return Binding(node.name)

    def missing(self, nodes: Sequence) -> list[str]:
        """The variable nodes among ``nodes`` whose value the checkpoint does not hold."""
        return [node.name for node in nodes if node.op in tfops.VARIABLES
                and self.binding(node).key not in self.reader]

    def fold(self, node, device: str = "") -> tuple[StreamedConst | object, Folded]:
        """The Const item replacing variable ``node`` and the record of what was folded."""
        binding = self.binding(node)
        key, ema = binding.key, False
        if self.use_moving_averages and key + EMA_SUFFIX in self.reader:
            key, ema = key + EMA_SUFFIX, True
        if key not in self.reader:
            raise UnreadableInputError(
                f"variable {node.name!r} (checkpoint key {binding.key!r}) is not in the checkpoint",
                path=self.path, fix="the graph and the checkpoint do not belong together; "
                "pass the prefix whose .meta was saved with this checkpoint")
        meta = self.reader.tensors[key]
        try:
            dtype = dtypes.by_name(meta.dtype)
        except dtypes.UnknownDTypeError as error:  # the .index entry's enum is out of TF's range
            raise UnreadableInputError(
                f"variable {node.name!r} (checkpoint key {key!r}) has data type enum value {error.value}, "
                "which no TensorFlow release defines", path=getattr(self.reader, "index_path", self.path),
                fix="the checkpoint's index is damaged; save the checkpoint again, or freeze outputs "
                "that do not read this variable") from None
        shape = tuple(meta.shape) if binding.slices is None else tuple(n for _, n in binding.slices)
        self._check_declared(node, dtype, shape, key)
        folded = Folded(node.name, key, dtype.name, shape, 0, binding.slices, ema)
        if dtype.itemsize is None:  # strings (and variants) are small: build the node in memory
            item = self._in_memory_const(node.name, key, binding, dtype.value, shape, device)
            folded.nbytes = item.attr["value"].tensor.ByteSize()
            return item, folded
        nbytes = math.prod(shape) * dtype.itemsize
        folded.nbytes = nbytes
        found = self._piece_source(key, binding.slices, nbytes) if binding.slices is not None \
            else self._file_source(key) if meta.nbytes == nbytes else None
        if found is None and (binding.slices is not None or meta.nbytes != nbytes):
            chunks = self._slice_chunks(key, binding.slices)
            return StreamedConst(node.name, dtype.value, shape, nbytes, chunks, device), folded
        if found is None:
            return StreamedConst(node.name, dtype.value, shape, nbytes, lambda: self.reader.raw_chunks(key),
                                 device), folded
        (path, offset, size), expected, fd = found
        return StreamedConst(
            node.name, dtype.value, shape, nbytes,
            chunks=lambda: file_chunks(path if fd is None else fd, offset, size, expected_crc=expected,
                                       label=key, path=path),
            device=device, source=(path, offset, size), source_fd=fd, crc=expected, label=key), folded

    def _piece_source(self, key: str, slices, nbytes: int):
        """Where one partition's bytes are stored, when the checkpoint saved exactly this piece.

        A partitioned variable's pieces are separate entries of the bundle (FORMATS.md §4.6), so
        a partition streams file-to-file like any variable instead of assembling the whole tensor.
        """
        plan = getattr(self.reader, "slice_plan", None)
        if plan is None or getattr(self.reader, "big_endian", True) or \
                not getattr(self.reader.tensors[key], "partitioned", False):
            return None
        for concrete, piece in plan(key):
            if tuple(tuple(extent) for extent in concrete) == tuple(slices) and int(piece.size) == nbytes:
                shard = int(piece.shard_id)
                return (self.reader.data_paths[shard], int(piece.offset), nbytes), int(piece.crc32c), \
                    self._data_fd(shard, key)
        return None

    def _file_source(self, key: str):
        """(file, offset, size) and masked CRC of an unsliced numeric tensor, when the reader knows."""
        location = getattr(self.reader, "location", None)
        entry = getattr(self.reader, "entry", None)
        if location is None or entry is None:
            return None
        try:
            where = location(key, verify=False)
            found = entry(key)
            expected, shard = int(found.crc32c), int(found.shard_id)
        except (TypeError, AttributeError):
            return None
        return None if where is None else (where, expected, self._data_fd(shard, key))

    def _data_fd(self, shard: int, key: str) -> int | None:
        """The reader's own open descriptor of a data shard (None for a reader without one): the
        bytes are copied from the file the reader opened, never from a second open of its path."""
        data_fd = getattr(self.reader, "data_fd", None)
        return None if data_fd is None else data_fd(shard, key)

    def _read_cached(self, key: str):
        """The whole tensor, kept for the next partition of the same variable (graph order)."""
        if self._cached_key != key:
            self._cached_key, self._cached = key, self.reader.read(key)
        return self._cached

    def _slice_chunks(self, key: str, slices):
        def chunks() -> Iterator[bytes]:
            array = self._read_cached(key)
            if slices is not None:
                array = array[tuple(slice(s, s + n) for s, n in slices)]
            import numpy as np  # only partitions re-cut along another axis need it

            yield np.ascontiguousarray(array).tobytes()  # bundle arrays are little-endian already
        return chunks

    def _in_memory_const(self, name: str, key: str, binding: Binding, dtype: int,
                         shape: tuple[int, ...], device: str):
        array = self.reader.read(key)
        if binding.slices is not None:
            array = array[tuple(slice(s, s + n) for s, n in binding.slices)]
        node = pb.NodeDef(name=name, op="Const", device=device)
        node.attr["dtype"].type = dtype
        tensor = node.attr["value"].tensor
        tensor.dtype = dtype
        tensor.tensor_shape.CopyFrom(shape_proto(shape))
        if dtype != dtypes.DT_STRING:
            raise UnreadableInputError(f"variable {name!r} has dtype {dtypes.name_of(dtype)}, which "
                                       "cannot be stored in a Const", path=self.path)
        tensor.string_val.extend(bytes(v) for v in array.reshape(-1))
        return node

    def _check_declared(self, node, dtype, shape: tuple[int, ...], key: str) -> None:
        declared_type = node.attr["dtype"].type if "dtype" in node.attr else 0
        if declared_type and dtypes.is_known(declared_type) and \
                dtypes.by_value(declared_type).base.value != dtype.value:
            raise UnreadableInputError(
                f"variable {node.name!r} is {dtypes.name_of(declared_type)} in the graph but "
                f"{dtype.name} in the checkpoint (key {key!r})", path=self.path,
                fix="the graph and the checkpoint do not belong together")
        if "shape" in node.attr and not node.attr["shape"].shape.unknown_rank:
            declared = [d.size for d in node.attr["shape"].shape.dim]
            if declared and (len(declared) != len(shape) or
                             any(d not in (-1, s) for d, s in zip(declared, shape, strict=True))):
                raise UnreadableInputError(
                    f"variable {node.name!r} has shape {declared} in the graph but {list(shape)} in the "
                    f"checkpoint (key {key!r})", path=self.path,
                    fix="the graph and the checkpoint do not belong together")


def classify_unfolded(reader, folded_keys: set[str], nodes: Sequence, bindings: dict[str, Binding],
                      meta_graph=None) -> list[dict]:
    """Every checkpoint key that was not folded, with the reason and whether it deserves a warning."""
    key_of = {name: b.key for name, b in bindings.items()}
    trainable = _collection_vars(meta_graph, "trainable_variables")
    step_vars = _collection_nodes(meta_graph, "global_step")
    slot_vars = _optimizer_slot_vars(nodes)
    trainable_keys = {key_of.get(n, n) for n in trainable}
    slot_keys = {key_of.get(n, n) for n in slot_vars}
    step_keys = {key_of.get(n, n) for n in step_vars} | {"global_step"}
    all_keys = set(reader.tensors)
    out = []
    for key, meta in reader.tensors.items():
        if key in folded_keys:
            continue
        base = key[: -len(EMA_SUFFIX)] if key.endswith(EMA_SUFFIX) else None
        parent = key.rsplit("/", 1)[0] if "/" in key else None
        if key in step_keys:
            reason, warn = "global step counter (training bookkeeping)", False
        elif key in TF2_BOOKKEEPING_KEYS or key.startswith("save_counter/"):
            reason, warn = "object-based checkpoint bookkeeping", False
        elif OPTIMIZER_SLOT_MARK in key or key.startswith(TF2_OPTIMIZER_PREFIX):
            reason, warn = "optimizer slot (training state)", False
        elif base is not None and base in all_keys:
            reason, warn = "moving-average shadow of " + base + " (used with --use-moving-averages)", False
        elif key in slot_keys or (parent in all_keys and key not in trainable_keys):
            reason, warn = "optimizer slot (training state)", False
        elif key in trainable_keys or (not trainable_keys and meta.dtype.startswith(("float", "bfloat"))
                                       and len(meta.shape) >= 1):
            reason, warn = "model weight not reached by the outputs", True
        else:
            reason, warn = "not reached by the outputs (non-trainable: counters, optimizer state)", False
        out.append({"key": key, "dtype": meta.dtype, "shape": list(meta.shape), "reason": reason,
                    "warning": warn})
    return out


def _collection_vars(meta_graph, key: str) -> set[str]:
    names: set[str] = set()
    if meta_graph is None or key not in meta_graph.collection_def:
        return names
    collection = meta_graph.collection_def[key]
    for raw in collection.bytes_list.value:
        variable = pb.VariableDef()
        try:
            variable.ParseFromString(raw)
        except Exception:
            continue
        names.add(TensorRef.parse(variable.variable_name).node)
    return names


def _collection_nodes(meta_graph, key: str) -> set[str]:
    names = _collection_vars(meta_graph, key)
    if meta_graph is not None and key in meta_graph.collection_def:
        names |= {TensorRef.parse(v).node for v in meta_graph.collection_def[key].node_list.value}
    return names


def _optimizer_slot_vars(nodes: Sequence) -> set[str]:
    """Variables fed to an optimizer update after its first input (accumulators, moments)."""
    slots: set[str] = set()
    for node in nodes:
        if node.op in tfops.OPTIMIZER_UPDATES:
            for text in node.input[1:]:
                ref = TensorRef.parse(text)
                if not ref.control:
                    slots.add(ref.node)
    return slots
