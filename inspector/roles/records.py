"""What a MetaGraphDef records about its own graph: the saver, the training op, the collections.

These are TensorFlow's own bookkeeping (``Saver`` writes ``saver_def``, ``tf.summary`` fills the
``summaries`` collection, ``tf.losses`` the ``losses`` collection, ``minimize`` the ``train_op``
collection in Estimators and Keras), so they are evidence written by the tool that built the
graph, not guessed. A plain GraphDef has none of them; the roles pass works without them too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from inspector import tfops
from inspector.graph.index import GraphIndex


@dataclass
class MetaRecords:
    """The MetaGraphDef's records, reduced to node names."""

    saver_scopes: list[str] = field(default_factory=list)
    saver_nodes: list[str] = field(default_factory=list)
    train_ops: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    metric_variables: list[str] = field(default_factory=list)
    global_step: list[str] = field(default_factory=list)
    init_ops: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    trainable: list[str] = field(default_factory=list)
    has_trainable_collection: bool = False


_NODE_LIST_KEYS = {
    "train_op": "train_ops", "summaries": "summaries", "losses": "losses",
    "init_op": "init_ops", "local_init_op": "init_ops", "ready_op": "init_ops",
    "ready_for_local_init_op": "init_ops", "summary_op": "summaries",
    "saved_model_main_op": "init_ops", "legacy_init_op": "init_ops", "table_initializer": "init_ops",
}
_VARIABLE_KEYS = {"metric_variables": "metric_variables", "local_variables": "metric_variables",
                  "global_step": "global_step", "trainable_variables": "trainable"}


def records_from(index: GraphIndex, meta_graph) -> MetaRecords:
    """Read the saver and the bookkeeping collections; works without a MetaGraphDef too."""
    records = MetaRecords()
    if meta_graph is not None:
        if meta_graph.HasField("saver_def"):
            saver_def = meta_graph.saver_def
            records.saver_scopes.extend(_saver_scopes(saver_def))
            records.saver_nodes.extend(name for name in (saver_def.filename_tensor_name,
                                                         saver_def.save_tensor_name,
                                                         saver_def.restore_op_name) if name)
        for key, collection in meta_graph.collection_def.items():
            kind = collection.WhichOneof("kind")
            if key in _NODE_LIST_KEYS and kind == "node_list":
                getattr(records, _NODE_LIST_KEYS[key]).extend(collection.node_list.value)
            elif key in _VARIABLE_KEYS and kind == "bytes_list":
                getattr(records, _VARIABLE_KEYS[key]).extend(_variable_names(collection.bytes_list.value))
                if key == "trainable_variables":
                    records.has_trainable_collection = True
    # Without a saver_def the saver is still recognisable: its save/restore ops sit in one scope.
    for name, op in zip(index.names, index.ops, strict=True):
        if op in tfops.SAVE_OPS or op in tfops.RESTORE_OPS:
            scope = name.rpartition("/")[0]
            if scope and scope + "/" not in records.saver_scopes:
                records.saver_scopes.append(scope + "/")
    return records


def _saver_scopes(saver_def) -> list[str]:
    scopes = []
    for tensor in (saver_def.filename_tensor_name, saver_def.save_tensor_name, saver_def.restore_op_name):
        scope = tensor.partition(":")[0].rpartition("/")[0]
        if scope and scope + "/" not in scopes:
            scopes.append(scope + "/")
    return scopes


def _variable_names(raw_items) -> list[str]:
    from inspector.proto import pb

    names = []
    for raw in raw_items:
        var = pb.VariableDef()
        try:
            var.ParseFromString(raw)
        except Exception:  # one malformed item must not hide the others
            continue
        if var.variable_name:
            names.append(var.variable_name)
    return names
