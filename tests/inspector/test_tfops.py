"""Every op family against TensorFlow 2.21's registry: members exist, and each family's stated
reason holds for what the registry says about its members."""

from __future__ import annotations

import re

import pytest

from inspector import opdefs, tfops
from inspector.proto import pb

FAMILIES = tfops.all_families()
REGISTRY = opdefs.registry()


def _arg_kinds(op: str, side: str) -> list[str]:
    """"ref"/"resource"/"value"/"typed" per argument of the OpDef ("typed": decided by an attr)."""
    kinds = []
    for arg in getattr(REGISTRY[op], side):
        if arg.is_ref:
            kinds.append("ref")
        elif arg.type == opdefs.DT_RESOURCE:
            kinds.append("resource")
        elif arg.type:
            kinds.append("value")
        else:
            kinds.append("typed")
    return kinds


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_family_has_a_reason_and_registered_members(name):
    family = FAMILIES[name]
    assert family and len(family.why) > 20
    assert sorted(family - opdefs.registered_ops()) == []


def test_variables_output_a_ref_or_a_handle():
    for op in tfops.VARIABLES:
        assert _arg_kinds(op, "output_arg") in (["ref"], ["resource"]), op
    refs = {op for op in tfops.VARIABLES if _arg_kinds(op, "output_arg") == ["ref"]}
    assert set(tfops.REF_VARIABLES) == refs


def test_resource_reads_read_a_resource():
    for op in tfops.RESOURCE_READS:
        assert _arg_kinds(op, "input_arg")[0] == "resource", op


def test_state_writes_write_through_their_first_input():
    for op in tfops.STATE_WRITES:
        assert _arg_kinds(op, "input_arg")[0] in ("ref", "resource"), op
        assert REGISTRY[op].is_stateful or _arg_kinds(op, "input_arg")[0] == "ref", op


def test_optimizer_updates_are_every_apply_op_of_the_registry():
    apply_ops = {op for op in REGISTRY if re.match(r"(Resource)?(Sparse)?Apply[A-Z]", op)}
    assert set(tfops.OPTIMIZER_UPDATES) == apply_ops
    assert tfops.OPTIMIZER_UPDATES <= tfops.STATE_WRITES


def test_increments_add_and_assigns_overwrite():
    assert {"AssignAdd", "AssignAddVariableOp", "CountUpTo"} <= tfops.INCREMENTS
    assert not tfops.INCREMENTS & (tfops.ASSIGNS | tfops.DECREMENTS)


def test_gradient_kernels_follow_tensorflows_naming_and_spare_transposed_convolutions():
    assert tfops.is_gradient_kernel("ReluGrad")
    assert tfops.is_gradient_kernel("MaxPoolGradV2")
    assert tfops.is_gradient_kernel("FusedBatchNormGradV3")
    assert tfops.is_gradient_kernel("BroadcastGradientArgs")
    assert tfops.is_gradient_kernel("Conv2DBackpropFilter")
    for op in tfops.DUAL_USE_BACKPROP | tfops.GRADIENT_BLOCKS:
        assert not tfops.is_gradient_kernel(op), op
    assert not tfops.is_gradient_kernel("IgammaGradA")  # the derivative of a math function, a forward op
    for op in REGISTRY:
        if op.endswith(("Grad", "GradV2", "GradV3")) and not op.startswith(("Xla", "_Mkl")):
            assert tfops.is_gradient_kernel(op), op


def test_random_families_split_by_statefulness():
    for op in tfops.RANDOM_STATEFUL:
        assert REGISTRY[op].is_stateful, op
    for op in tfops.RANDOM_STATELESS:
        assert not REGISTRY[op].is_stateful, op
    assert tfops.RANDOM_UNIFORM <= tfops.RANDOM


def test_candidate_samplers_draw_at_run_time():
    for op in tfops.CANDIDATE_SAMPLERS - {"ComputeAccidentalHits"}:
        assert REGISTRY[op].is_stateful, op


def test_pipeline_data_outputs_consume_a_queue_iterator_or_reader_handle():
    for op in tfops.DATA_PRODUCERS:
        assert _arg_kinds(op, "input_arg")[0] in ("ref", "resource"), op
    for op in tfops.QUEUES | tfops.READERS - {"MatchingFiles", "ReadFile"}:
        assert _arg_kinds(op, "output_arg")[0] in ("ref", "resource"), op


def test_datasets_are_named_by_their_grammar():
    assert tfops.is_dataset("TensorSliceDataset") and tfops.is_dataset("ParallelMapDatasetV2")
    assert not tfops.is_dataset("DatasetToGraph")
    assert tfops.is_input_pipeline("TFRecordDataset") and tfops.is_input_pipeline("QueueDequeueManyV2")
    assert not tfops.is_input_pipeline("MatMul")


def test_save_ops_take_their_tensors_where_the_table_says():
    for op, position in tfops.SAVE_FIRST_TENSOR.items():
        assert REGISTRY[op].input_arg[position].name in ("tensors", "data"), op
    assert tfops.SAVE_OPS | tfops.RESTORE_OPS <= tfops.SAVE_RESTORE


def test_variable_init_checks_return_one_bool():
    for op in tfops.VARIABLE_INIT_CHECKS:
        (out,) = REGISTRY[op].output_arg
        assert out.type == pb.DataType.Value("DT_BOOL"), op


def test_summaries_output_a_summary_proto_or_write_one():
    for op in tfops.SUMMARIES:
        outputs = REGISTRY[op].output_arg
        assert not outputs or outputs[0].type in (pb.DataType.Value("DT_STRING"), opdefs.DT_RESOURCE), op


def test_tables_are_handles_and_initializers_take_one():
    for op in tfops.TABLES:
        assert _arg_kinds(op, "output_arg")[0] in ("ref", "resource"), op
    for op in tfops.TABLE_INITIALIZERS | tfops.TABLE_LOOKUPS:
        assert _arg_kinds(op, "input_arg")[0] in ("ref", "resource"), op


def test_twins_exist_and_match_their_ops_arity():
    for ref_op, twin in tfops.REF_TWINS.items():
        assert len(REGISTRY[ref_op].input_arg) == len(REGISTRY[twin].input_arg), ref_op
        assert len(REGISTRY[ref_op].output_arg) == len(REGISTRY[twin].output_arg), ref_op
    for table in (tfops.RESOURCE_READ_TWINS, tfops.PURE_WRITE_TWINS):
        for op, twin in table.items():
            assert op in REGISTRY and twin in REGISTRY


def test_pass_through_ops_are_typed_by_t():
    for op in tfops.PASS_THROUGH:
        attrs = {attr.name for attr in REGISTRY[op].attr}
        assert "T" in attrs, op


def test_control_flow_v1_and_functional_families():
    assert tfops.NEXT_ITERATIONS <= tfops.CONTROL_FLOW_V1
    for op, (attrs, _, type_attr, _) in tfops.FUNCTIONAL_SIGNATURES.items():
        names = {attr.name for attr in REGISTRY[op].attr}
        assert set(attrs) | {type_attr} <= names, op
    assert set(tfops.FUNCTIONAL_SIGNATURES) == set(tfops.FUNCTIONAL)


def test_shape_only_ops_output_no_value_of_their_input():
    for op in tfops.SHAPE_ONLY - {"ZerosLike", "OnesLike"}:
        outputs = REGISTRY[op].output_arg
        assert all(arg.type or arg.type_attr in ("out_type", "T") for arg in outputs), op


def test_cosmetic_ops_have_one_data_input():
    for op in tfops.COSMETIC - {"IdentityN"}:
        assert REGISTRY[op].input_arg[0].name in ("input", "tensor", "x"), op


def test_model_end_families():
    assert tfops.PROBABILITY_ACTIVATIONS <= tfops.FINAL_ACTIVATIONS
    assert "ArgMax" in tfops.DECISIONS and "Equal" in tfops.COMPARISONS
    assert tfops.LOSS_KERNELS - {"CTCLoss", "CTCLossV2"} <= tfops.LOSS_ARITHMETIC
    assert tfops.REDUCTIONS <= tfops.LOSS_ARITHMETIC


def test_not_results_cover_bookkeeping_but_no_computation():
    assert {"NoOp", "Assign", "SaveV2", "ScalarSummary", "Const", "ApplyAdam"} <= tfops.NOT_RESULTS
    assert not {"MatMul", "Softmax", "Identity", "ArgMax"} & tfops.NOT_RESULTS


def test_stateless_twins_take_the_same_inputs_plus_a_seed_and_the_same_value_attrs():
    for stateful, twin in tfops.STATELESS_TWINS.items():
        assert stateful in tfops.RANDOM_STATEFUL and twin in tfops.RANDOM_STATELESS
        inputs = [arg.name for arg in REGISTRY[twin].input_arg]
        assert "seed" in inputs
        inputs.remove("seed")
        assert inputs == [arg.name for arg in REGISTRY[stateful].input_arg], stateful
        attrs = {a.name for a in REGISTRY[stateful].attr} - {"seed", "seed2"}
        renamed = {"dtype" if a == "Tout" else a for a in attrs}
        assert renamed <= {a.name for a in REGISTRY[twin].attr} - {"Tseed"}, stateful
