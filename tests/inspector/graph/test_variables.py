"""Variables <-> checkpoint keys and key kinds, on graphs built in the test, fixtures and corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspector.graph.model import GraphModel
from inspector.graph.variables import BOOKKEEPING, MODEL, OPTIMIZER, classify_key, map_variables
from inspector.proto import pb
from inspector.readers.checkpoint import TensorMeta, open_checkpoint
from inspector.readers.graphfile import load_graph_file
from inspector.readers.resolve import resolve
from tests.corpus import CORPUS, requires_corpus

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "data" / "checkpoints"


def _meta(name: str, shape=(2, 2), dtype="float32") -> TensorMeta:
    n = 1
    for d in shape:
        n *= d
    return TensorMeta(name, dtype, tuple(shape), n * 4)


def _listing(*metas: TensorMeta) -> dict[str, TensorMeta]:
    return {m.name: m for m in metas}


def _var(graph, name, shape=(2, 2), op="VariableV2"):
    node = graph.node.add(name=name, op=op)
    node.attr["dtype"].type = pb.DataType.DT_FLOAT
    for d in shape:
        node.attr["shape"].shape.dim.add(size=d)
    read = graph.node.add(name=f"{name}/read", op="Identity", input=[name])
    read.attr["T"].type = pb.DataType.DT_FLOAT
    return name


def _strings_const(graph, name, values):
    node = graph.node.add(name=name, op="Const")
    node.attr["dtype"].type = pb.DataType.DT_STRING
    node.attr["value"].tensor.dtype = pb.DataType.DT_STRING
    node.attr["value"].tensor.string_val.extend(v.encode() for v in values)


def _momentum_graph(save_keys: dict[str, str] | None = None):
    """w trained by ApplyMomentum with slot ``w/Momentum``; ``step`` is the global step."""
    graph = pb.GraphDef()
    _var(graph, "w")
    _var(graph, "w/Momentum")
    _var(graph, "step", shape=())
    graph.node.add(name="grad", op="Placeholder")
    graph.node.add(name="lr", op="Const")
    graph.node.add(name="train/update_w/ApplyMomentum", op="ApplyMomentum",
                   input=["w", "w/Momentum", "lr", "grad", "lr"])
    if save_keys is not None:
        _strings_const(graph, "save/SaveV2/tensor_names", list(save_keys))
        graph.node.add(name="save/Const", op="PlaceholderWithDefault")
        graph.node.add(name="save/SaveV2/shape_and_slices", op="Const")
        graph.node.add(name="save/SaveV2", op="SaveV2",
                       input=["save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices",
                              *save_keys.values()])
    meta = pb.MetaGraphDef()
    meta.graph_def.CopyFrom(graph)
    step = pb.VariableDef(variable_name="step:0")
    meta.collection_def["global_step"].bytes_list.value.append(step.SerializeToString())
    return GraphModel(meta.graph_def, meta)


def test_structural_kinds_with_op_name_mapping():
    listing = _listing(_meta("w"), _meta("w/Momentum"), _meta("step", (), "int64"))
    result = map_variables(listing, _momentum_graph())
    kinds = {v.key: (v.kind, v.slot_of) for v in result.variables}
    assert kinds == {"w": (MODEL, None), "w/Momentum": (OPTIMIZER, "w"), "step": (BOOKKEEPING, None)}
    assert result.source == "op_names"
    assert result.bytes_by_kind() == {MODEL: 16, OPTIMIZER: 16, BOOKKEEPING: 4}
    assert result.model_bytes == 16 and result.optimizer_bytes == 16


def test_saver_names_win_over_op_names_and_mismatches_are_reported():
    # The saver stores variable w under the key "renamed/w" (Saver(var_list={...})).
    model = _momentum_graph({"renamed/w": "w/read", "w/Momentum": "w/Momentum"})
    listing = _listing(_meta("renamed/w"), _meta("w/Momentum"), _meta("stray"))
    result = map_variables(listing, model)
    by_key = result.by_key()
    assert result.source == "saver"
    assert by_key["renamed/w"].graph_nodes == ["w"] and by_key["renamed/w"].kind == MODEL
    assert by_key["w/Momentum"].slot_of == "renamed/w"
    assert result.graph_to_key["w"] == "renamed/w"
    assert result.missing_in_graph == ["stray"]
    assert result.missing_in_checkpoint == ["step"]


def test_custom_optimizer_names_are_found_structurally():
    graph = pb.GraphDef()
    _var(graph, "gen/kernel")
    _var(graph, "gen/kernel/G_opt")
    _var(graph, "gen/kernel/G_opt_1")
    _var(graph, "beta1_power", shape=())
    graph.node.add(name="g", op="Placeholder")
    graph.node.add(name="G_opt/update/ApplyAdam", op="ApplyAdam",
                   input=["gen/kernel", "gen/kernel/G_opt", "gen/kernel/G_opt_1", "beta1_power/read", "g"])
    listing = _listing(_meta("gen/kernel"), _meta("gen/kernel/G_opt"), _meta("gen/kernel/G_opt_1"),
                       _meta("beta1_power", ()))
    by_key = map_variables(listing, GraphModel(graph)).by_key()
    assert by_key["gen/kernel"].kind == MODEL
    slot = by_key["gen/kernel/G_opt_1"]
    assert slot.kind == OPTIMIZER and slot.slot_of == "gen/kernel"
    assert by_key["beta1_power"].kind == OPTIMIZER and by_key["beta1_power"].slot_of is None


def test_trainable_variable_is_a_weight_whatever_its_name():
    graph = pb.GraphDef()
    _var(graph, "x")
    _var(graph, "x/Momentum")  # a real layer that happens to have this name
    meta = pb.MetaGraphDef()
    meta.graph_def.CopyFrom(graph)
    for name in ("x", "x/Momentum"):
        meta.collection_def["trainable_variables"].bytes_list.value.append(
            pb.VariableDef(variable_name=f"{name}:0", trainable=True).SerializeToString())
    listing = _listing(_meta("x"), _meta("x/Momentum"))
    by_key = map_variables(listing, GraphModel(meta.graph_def, meta)).by_key()
    assert by_key["x/Momentum"].kind == MODEL


@pytest.mark.parametrize(("key", "shape", "dtype", "kind"), [
    ("_CHECKPOINTABLE_OBJECT_GRAPH", (), "string", BOOKKEEPING),
    ("global_step", (), "int64", BOOKKEEPING),
    ("scope/global_step", (), "int32", BOOKKEEPING),
    ("save_counter/.ATTRIBUTES/VARIABLE_VALUE", (), "int64", BOOKKEEPING),
    ("keras_api/metrics/0/total/.ATTRIBUTES/VARIABLE_VALUE", (), "float32", BOOKKEEPING),
    ("beta1_power", (), "float32", OPTIMIZER),
    ("beta2_power_1", (), "float32", OPTIMIZER),
    ("optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE", (), "int64", OPTIMIZER),
    ("d/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE", (2, 2), "float32", OPTIMIZER),
    ("d/kernel", (2, 2), "float32", MODEL),
    ("d/kernel/Adagrad", (2, 2), "float32", OPTIMIZER),
    ("d/kernel/D_opt_1", (2, 2), "float32", OPTIMIZER),
    ("d/kernel/proj", (3,), "float32", MODEL),          # different shape: a child layer, not a slot
    ("global_step", (4,), "float32", MODEL),            # not an integer scalar: not a step counter
])
def test_grammar_rules_without_a_graph(key, shape, dtype, kind):
    listing = _listing(_meta("d/kernel"), TensorMeta(key, dtype, shape, 4))
    assert classify_key(key, listing[key], listing)[0] == kind


def _load(path: Path | str):
    art = resolve(path)
    reader = open_checkpoint(art.prefix)
    model = None
    graph = art.meta_path or art.graph_path
    if graph:
        loaded = load_graph_file(graph)
        model = GraphModel(loaded.graph_def, loaded.meta_graph)
    return art, reader, model


@pytest.mark.parametrize("name", ["cnn_bn_momentum", "rnn_while", "resource_vars", "partitioned",
                                  "sharded_two_devices", "v1_single", "v1_sharded"])
def test_fixture_mapping_is_complete_both_ways(name):
    _, reader, model = _load(FIXTURES / name)
    with reader:
        result = map_variables(reader.tensors, model)
    assert result.source == "saver"
    assert result.missing_in_graph == [] and result.missing_in_checkpoint == []
    kinds = {v.key: v.kind for v in result.variables}
    assert kinds.get("global_step") == BOOKKEEPING
    for var in result.variables:
        if var.kind == OPTIMIZER and var.slot_of is not None:
            assert kinds[var.slot_of] == MODEL


def test_cnn_fixture_kinds():
    _, reader, model = _load(FIXTURES / "cnn_bn_momentum")
    with reader:
        result = map_variables(reader.tensors, model)
    by_key = result.by_key()
    assert by_key["conv1/bn/moving_mean"].kind == MODEL
    assert by_key["conv1/conv/kernel/Momentum"].slot_of == "conv1/conv/kernel"
    slots = [v for v in result.variables if v.kind == OPTIMIZER]
    assert slots and all(v.key.endswith("/Momentum") for v in slots)


def test_partitioned_fixture_maps_every_partition():
    _, reader, model = _load(FIXTURES / "partitioned")
    with reader:
        result = map_variables(reader.tensors, model)
    partitioned = [v for v in result.variables if reader.tensors[v.key].partitioned]
    assert partitioned and all(len(v.graph_nodes) > 1 for v in partitioned)


@requires_corpus
def test_corpus_tf2_saved_model_keys_map_through_the_restore_function():
    _, reader, model = _load(CORPUS / "keras_tf2_saved_model_audio_emotion")
    with reader:
        graph_bytes = reader.read("_CHECKPOINTABLE_OBJECT_GRAPH").item()
        result = map_variables(reader.tensors, model, graph_bytes)
    assert result.source == "restore_function"
    assert result.missing_in_graph == [] and result.missing_in_checkpoint == []
    by_key = result.by_key()
    kernel = "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE"
    assert by_key[kernel].kind == MODEL
    slot = "layer_with_weights-0/kernel/.OPTIMIZER_SLOT/optimizer/m/.ATTRIBUTES/VARIABLE_VALUE"
    assert by_key[slot].kind == OPTIMIZER and by_key[slot].slot_of == kernel
    assert by_key["optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"].kind == OPTIMIZER


@requires_corpus
def test_corpus_gan_with_two_custom_optimizers():
    _, reader, model = _load(CORPUS / "gan_gamma_1d_2steps")
    with reader:
        result = map_variables(reader.tensors, model)
    totals = result.bytes_by_kind()
    assert totals[OPTIMIZER] == 2 * totals[MODEL] + 16  # two Adam slots per weight + 4 beta powers


def test_variables_the_savers_var_list_left_out_are_never_saved_weights_first():
    """Saver(var_list=[step]) made before the model existed: w and its slot are in no checkpoint,
    and the weight is named before the optimizer slot (a long list once hid the kernel behind '…')."""
    model = _momentum_graph({"step": "step/read"})
    result = map_variables(_listing(_meta("step", (), "int64")), model)
    assert result.never_saved == ["w", "w/Momentum"]
    assert result.missing_in_checkpoint == ["w", "w/Momentum"]


def test_variables_missing_from_a_checkpoint_the_saver_did_save_are_not_never_saved():
    model = _momentum_graph({"w": "w/read", "w/Momentum": "w/Momentum", "step": "step/read"})
    result = map_variables(_listing(_meta("step", (), "int64")), model)
    assert result.never_saved == [] and result.missing_in_checkpoint == ["w", "w/Momentum"]


@requires_corpus
def test_corpus_generator_only_saver_names_what_it_never_saved():
    art = resolve(CORPUS / "eeg_dcgan_generator_only_saver")
    loaded = load_graph_file(art.meta_path)
    model = GraphModel(loaded.graph_def, loaded.meta_graph)
    with open_checkpoint(art.prefix) as reader:
        result = map_variables(reader.tensors, model)
    assert len(result.never_saved) == 62
    statistics = [v for v in result.never_saved if v.startswith("gen/") and "moving_" in v]
    assert len(statistics) == 4  # what gen/Tanh needs and the Saver (trainable 'gen' only) left out
    first_slot = next(i for i, v in enumerate(result.never_saved) if "Adam" in v)
    assert all(result.never_saved.index(v) < first_slot for v in statistics)


def test_restore_mapping_expands_each_forwarder_once_per_depth():
    """Issue 12 item 4: RestoreV2 outputs reach a mesh of Identity forwarders (4 layers of 20, each
    reading all of the layer before) that leads to no Assign within the 3 forwarders the scan
    follows: 20^3 paths per restore output, where the scan may take a few steps per node and edge."""
    from inspector.graph.variables import variables_by_key
    from tests.graphs import FLOAT, STRING, GraphBuilder
    from tests.walks import mesh, metered

    g = GraphBuilder()
    g.add("w", "VariableV2", dtype=FLOAT, shape=[2])
    g.add("deep", "VariableV2", dtype=FLOAT, shape=[2])
    g.const_strings("save/names", ["w_key", "deep_key"])
    g.add("save/Const", "Placeholder", dtype=STRING)
    g.add("save/RestoreV2", "RestoreV2", ["save/Const", "save/names"], dtypes=[FLOAT, FLOAT])
    g.add("save/Identity", "Identity", ["save/RestoreV2"], T=FLOAT)
    g.add("save/Assign", "Assign", ["w", "save/Identity"], T=FLOAT)
    last = mesh(g, "save/RestoreV2:1", "Identity", levels=4, width=20, T=FLOAT)
    g.add("save/Assign_deep", "Assign", ["deep", last[-1]], T=FLOAT)
    model = GraphModel(g.graph_def)
    metered(model)
    mapping, source = variables_by_key(model)
    assert source == "saver"
    assert mapping == {"w_key": ["w"]}  # 'deep' lies 4 forwarders away: beyond the scan, as before
