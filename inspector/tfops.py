"""What TensorFlow's op types are for: every family of ops ckpt2pb reasons about, written once.

The ranking, the roles pass, the diagnosis and the freezer all decide things by op type ("a
variable", "an optimizer update", "a summary"); each family lives here, with one line saying why
its members belong together, and no other module keeps its own set of op names. A family is an
:class:`OpFamily`, a frozenset with a ``why``: ``op in tfops.SUMMARIES`` is the test, and the
reason can be shown to the user or in the docs.

Families are exact sets of the names TensorFlow registers (TF 2.21's registry, plus the names TF
1.x wrote that still occur in old graphs). Where TensorFlow names a whole family by a grammar —
backward kernels ``<Op>Grad``, tf.data's ``<Name>Dataset`` — a predicate states the grammar and
tests check it against the registry (tests/inspector/test_tfops.py).

What a family does *not* say: whether a given node is part of the model or of the training
machinery. Several ops are used on both sides — ``Conv2DBackpropInput`` is the gradient of a
convolution and also the forward op of ``conv2d_transpose`` — so the roles pass
(:mod:`inspector.roles`) decides that from the graph's structure; op families are its evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache


class OpFamily(frozenset):
    """A frozen set of op type names with the reason they form a family (``why``)."""

    why: str

    def __new__(cls, why: str, ops: Iterable[str]) -> OpFamily:
        family = super().__new__(cls, ops)
        family.why = why
        return family

    def __repr__(self) -> str:
        return f"OpFamily({self.why!r}, {sorted(self)})"


# ---------------------------------------------------------------------------------------------
# Values that enter the graph

REF_VARIABLES = OpFamily("TF1 variables: their output is a ref to the value", {"VariableV2", "Variable"})
RESOURCE_VARIABLES = OpFamily("TF2 resource variables: their output is a handle, read by ReadVariableOp",
                              {"VarHandleOp"})
VARIABLES = OpFamily(
    "variables whose value a checkpoint holds (ref variables of TF1, resource handles of TF2)",
    REF_VARIABLES | RESOURCE_VARIABLES)
TEMPORARY_VARIABLES = OpFamily(
    "scratch variables an op creates and destroys within one run; no checkpoint holds them",
    {"TemporaryVariable", "DestroyTemporaryVariable"})
RESOURCE_READS = OpFamily(
    "reads of a resource variable's value (or shape): the only way a TF2 graph uses a weight",
    {"ReadVariableOp", "ResourceGather", "ResourceGatherNd", "VariableShape"})
CONSTANTS = OpFamily("values written into the graph itself", {"Const", "HostConst"})
PLACEHOLDERS = OpFamily(
    "values the caller feeds (a PlaceholderWithDefault may be fed, else takes its input)",
    {"Placeholder", "PlaceholderV2", "PlaceholderWithDefault"})
RANDOM_STATEFUL = OpFamily(
    "random draws that differ on every run (noise, dropout masks, initial values)",
    {"RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal", "RandomGamma",
     "RandomPoisson", "RandomPoissonV2", "RandomShuffle", "RandomCrop", "Multinomial",
     "ParameterizedTruncatedNormal", "StatefulRandomBinomial", "StatefulTruncatedNormal",
     "StatefulStandardNormal", "StatefulStandardNormalV2", "StatefulUniform", "StatefulUniformInt",
     "StatefulUniformFullInt"})
RANDOM_STATELESS = OpFamily(
    "random draws fixed by their seed input: the same values on every run with the same seed",
    {"StatelessRandomNormal", "StatelessRandomNormalV2", "StatelessRandomUniform",
     "StatelessRandomUniformV2", "StatelessRandomUniformInt", "StatelessRandomUniformIntV2",
     "StatelessRandomUniformFullInt", "StatelessRandomUniformFullIntV2", "StatelessTruncatedNormal",
     "StatelessTruncatedNormalV2", "StatelessMultinomial", "StatelessParameterizedTruncatedNormal",
     "StatelessRandomBinomial", "StatelessRandomGammaV2", "StatelessRandomGammaV3",
     "StatelessRandomPoisson", "RandomIndexShuffle"})
RANDOM = OpFamily("every random draw, stateful or seeded", RANDOM_STATEFUL | RANDOM_STATELESS)
#: Stateful draw -> its seeded twin (same inputs plus a ``seed`` input, same value attrs): a draw inside
#: a while loop cannot be fed, so ``--verify`` gives both graphs the same seeded twin to compare them.
STATELESS_TWINS = {"RandomUniform": "StatelessRandomUniform", "RandomStandardNormal": "StatelessRandomNormal",
                   "TruncatedNormal": "StatelessTruncatedNormal",
                   "RandomUniformInt": "StatelessRandomUniformInt", "Multinomial": "StatelessMultinomial"}
RANDOM_UNIFORM = OpFamily(
    "uniform draws: what a dropout mask is made of (compared with the rate or floored after adding "
    "keep_prob)",
    {"RandomUniform", "RandomUniformInt", "StatelessRandomUniform", "StatelessRandomUniformV2",
     "StatelessRandomUniformFullInt", "StatelessRandomUniformFullIntV2", "StatelessRandomUniformInt",
     "StatelessRandomUniformIntV2", "StatefulUniform", "StatefulUniformInt"})
CANDIDATE_SAMPLERS = OpFamily(
    "draws of the negative classes a sampled loss (NCE, sampled softmax) scores, and the "
    "accidental-hit correction that comes with them: training only",
    {"LogUniformCandidateSampler", "UniformCandidateSampler", "LearnedUnigramCandidateSampler",
     "FixedUnigramCandidateSampler", "AllCandidateSampler", "ThreadUnsafeUnigramCandidateSampler",
     "ComputeAccidentalHits"})

# ---------------------------------------------------------------------------------------------
# Input pipelines (queues, readers, tf.data)

QUEUES = OpFamily(
    "input queues of TF1 pipelines (filled by queue runners in background threads)",
    {"FIFOQueue", "FIFOQueueV2", "RandomShuffleQueue", "RandomShuffleQueueV2", "PaddingFIFOQueue",
     "PaddingFIFOQueueV2", "PriorityQueue", "PriorityQueueV2", "FakeQueue"})
QUEUE_DEQUEUES = OpFamily(
    "where data leaves a TF1 queue and enters the model: a pipeline's data outputs",
    {"QueueDequeue", "QueueDequeueV2", "QueueDequeueMany", "QueueDequeueManyV2", "QueueDequeueUpTo",
     "QueueDequeueUpToV2"})
QUEUE_OPS = OpFamily(
    "filling, closing and polling TF1 queues: pipeline machinery, never the model",
    {"QueueEnqueue", "QueueEnqueueV2", "QueueEnqueueMany", "QueueEnqueueManyV2", "QueueClose",
     "QueueCloseV2", "QueueSize", "QueueSizeV2", "QueueIsClosed", "QueueIsClosedV2"})
ITERATORS = OpFamily(
    "tf.data iterators and their plumbing (handles, string handles, initialisation)",
    {"Iterator", "IteratorV2", "AnonymousIterator", "AnonymousIteratorV2", "AnonymousIteratorV3",
     "MakeIterator", "OneShotIterator", "IteratorToStringHandle", "IteratorFromStringHandle",
     "IteratorFromStringHandleV2", "DeleteIterator", "MultiDeviceIterator", "MultiDeviceIteratorInit",
     "AnonymousMultiDeviceIterator", "AnonymousMultiDeviceIteratorV3", "DeleteMultiDeviceIterator",
     "MultiDeviceIteratorToStringHandle", "MultiDeviceIteratorFromStringHandle", "SerializeIterator",
     "DeserializeIterator"})
ITERATOR_GET_NEXT = OpFamily(
    "where tf.data hands the next element to the model: a pipeline's data outputs",
    {"IteratorGetNext", "IteratorGetNextSync", "IteratorGetNextAsOptional",
     "MultiDeviceIteratorGetNextFromShard"})
READERS = OpFamily(
    "TF1 file readers (TFRecord, text lines, whole files) and file listing",
    {"TFRecordReader", "TFRecordReaderV2", "WholeFileReader", "WholeFileReaderV2", "TextLineReader",
     "TextLineReaderV2", "FixedLengthRecordReader", "FixedLengthRecordReaderV2", "IdentityReader",
     "IdentityReaderV2", "LMDBReader", "MatchingFiles", "ReadFile"})
READER_READS = OpFamily(
    "where a TF1 reader yields records: a pipeline's data outputs",
    {"ReaderRead", "ReaderReadV2", "ReaderReadUpTo", "ReaderReadUpToV2"})
PARSE_EXAMPLES = OpFamily(
    "batched decoding of serialized tf.train.Example records (an Estimator serving signature's input)",
    {"ParseExample", "ParseExampleV2"})
DATA_PRODUCERS = OpFamily(
    "ops whose outputs are data a pipeline provides (fed instead when verifying a frozen graph)",
    QUEUE_DEQUEUES | ITERATOR_GET_NEXT | READER_READS)


@cache
def is_dataset(op: str) -> bool:
    """tf.data registers every dataset op as ``<Name>Dataset`` (``TFRecordDataset``,
    ``ParallelMapDatasetV2``, ``ExperimentalMapAndBatchDataset``)."""
    return _DATASET.search(op) is not None


_DATASET = re.compile(r"Dataset(V\d+)?$")


@cache
def is_input_pipeline(op: str) -> bool:
    """Queues, readers, iterators and datasets: the machinery that brings training data in."""
    return op in _PIPELINE or is_dataset(op)


_PIPELINE = QUEUES | QUEUE_DEQUEUES | QUEUE_OPS | ITERATORS | ITERATOR_GET_NEXT | READERS | READER_READS

# ---------------------------------------------------------------------------------------------
# Saving, initialising, bookkeeping

SAVE_OPS = OpFamily("write variables to a checkpoint", {"SaveV2", "Save", "SaveSlices"})
RESTORE_OPS = OpFamily("read variables back from a checkpoint", {"RestoreV2", "Restore", "RestoreSlice"})
SAVE_RESTORE = OpFamily(
    "the Saver's machinery: saving, restoring and naming checkpoint shards",
    SAVE_OPS | RESTORE_OPS | {"MergeV2Checkpoints", "ShardedFilename", "ShardedFilespec"})
#: Save op -> position of its first tensor input (after filename, tensor_names [, shapes_and_slices]).
SAVE_FIRST_TENSOR = {"SaveV2": 3, "SaveSlices": 3, "Save": 2}
VARIABLE_INIT_CHECKS = OpFamily(
    "whether one variable is initialized; a frozen variable always is (they become Const(true))",
    {"IsVariableInitialized", "VarIsInitializedOp"})
NO_OPS = OpFamily("ops that compute nothing: grouping (train_op, init) and control barriers",
                  {"NoOp", "ControlTrigger"})
SIDE_EFFECTS = OpFamily(
    "checks and printing: they pass or stop a run but compute no result",
    {"Assert", "Print", "PrintV2", "CheckNumerics", "CheckNumericsV2"})
SIDE_EFFECTS_WITHOUT_OUTPUT = OpFamily(
    "checks and printing that produce no value at all (a Print op, by contrast, forwards its input)",
    {"Assert", "PrintV2"})
SUMMARIES = OpFamily(
    "TensorBoard summaries and summary writers",
    {"ScalarSummary", "HistogramSummary", "ImageSummary", "AudioSummary", "AudioSummaryV2",
     "TensorSummary", "TensorSummaryV2", "MergeSummary", "WriteSummary", "WriteScalarSummary",
     "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary", "WriteRawProtoSummary",
     "WriteGraphSummary", "FlushSummaryWriter", "CreateSummaryFileWriter", "CreateSummaryDbWriter",
     "SummaryWriter", "CloseSummaryWriter", "StatsAggregatorSummary"})
FORMATTED_SUMMARIES = OpFamily(
    "summaries that demand a format (an image: 4-D, uint8 or float; audio: 2-D or 3-D), so a model "
    "value is cast and reshaped for them",
    {"ImageSummary", "AudioSummary", "AudioSummaryV2", "WriteImageSummary", "WriteAudioSummary"})

# ---------------------------------------------------------------------------------------------
# Lookup tables

TABLES = OpFamily(
    "lookup tables (vocabularies, label maps); a frozen graph must keep each with its initializer",
    {"HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2", "MutableHashTableOfTensors",
     "MutableHashTableOfTensorsV2", "MutableDenseHashTable", "MutableDenseHashTableV2",
     "AnonymousHashTable", "AnonymousMutableHashTable", "AnonymousMutableHashTableOfTensors",
     "AnonymousMutableDenseHashTable"})
TABLE_INITIALIZERS = OpFamily(
    "fill a lookup table (from constants, a text file or a dataset); an empty table is useless",
    {"InitializeTable", "InitializeTableV2", "InitializeTableFromTextFile", "InitializeTableFromTextFileV2",
     "InitializeTableFromDataset", "LookupTableImport", "LookupTableImportV2"})
TABLE_LOOKUPS = OpFamily(
    "read a lookup table (part of the model when the model maps ids or labels)",
    {"LookupTableFind", "LookupTableFindV2", "LookupTableSize", "LookupTableSizeV2", "LookupTableExport",
     "LookupTableExportV2"})

# ---------------------------------------------------------------------------------------------
# Writing state: assignments, counters, optimizer updates

ASSIGNS = OpFamily(
    "overwrite a variable (initialisation, restore, copying weights, moving-average updates)",
    {"Assign", "AssignVariableOp"})
DECREMENTS = OpFamily(
    "subtract from a variable in place (plain SGD by hand, moving-average updates)",
    {"AssignSub", "AssignSubVariableOp"})
INCREMENTS = OpFamily(
    "add to a variable in place: streaming metric totals and counts, step counters",
    {"AssignAdd", "AssignAddVariableOp", "ScatterAdd", "ScatterNdAdd", "ResourceScatterAdd",
     "ResourceScatterNdAdd", "CountUpTo", "ResourceCountUpTo"})
_SCATTER_KINDS = ("Update", "Add", "Sub", "Mul", "Div", "Min", "Max")
SCATTER_WRITES = OpFamily(
    "write rows of a variable in place (sparse updates, embedding updates)",
    {f"Scatter{k}" for k in _SCATTER_KINDS} | {f"ResourceScatter{k}" for k in _SCATTER_KINDS}
    | {"ScatterNdUpdate", "ScatterNdAdd", "ScatterNdSub", "ScatterNdMax", "ScatterNdMin",
       "ResourceScatterNdUpdate", "ResourceScatterNdAdd", "ResourceScatterNdSub", "ResourceScatterNdMax",
       "ResourceScatterNdMin", "StridedSliceAssign", "ResourceStridedSliceAssign"})
OPTIMIZER_UPDATES = OpFamily(
    "optimizer steps of training_ops.cc (Apply<Optimizer>): input 0 is the weight trained, the "
    "other ref/resource inputs are the optimizer's slots",
    {"ApplyAdaMax", "ApplyAdadelta", "ApplyAdagrad", "ApplyAdagradDA", "ApplyAdagradV2", "ApplyAdam",
     "ApplyAddSign", "ApplyCenteredRMSProp", "ApplyFtrl", "ApplyFtrlV2", "ApplyGradientDescent",
     "ApplyMomentum", "ApplyPowerSign", "ApplyProximalAdagrad", "ApplyProximalGradientDescent",
     "ApplyRMSProp", "ResourceApplyAdaMax", "ResourceApplyAdadelta", "ResourceApplyAdagrad",
     "ResourceApplyAdagradDA", "ResourceApplyAdagradV2", "ResourceApplyAdam",
     "ResourceApplyAdamWithAmsgrad", "ResourceApplyAddSign", "ResourceApplyCenteredRMSProp",
     "ResourceApplyFtrl", "ResourceApplyFtrlV2", "ResourceApplyGradientDescent",
     "ResourceApplyKerasMomentum", "ResourceApplyMomentum", "ResourceApplyPowerSign",
     "ResourceApplyProximalAdagrad", "ResourceApplyProximalGradientDescent", "ResourceApplyRMSProp",
     "ResourceSparseApplyAdadelta", "ResourceSparseApplyAdagrad", "ResourceSparseApplyAdagradDA",
     "ResourceSparseApplyAdagradV2", "ResourceSparseApplyCenteredRMSProp", "ResourceSparseApplyFtrl",
     "ResourceSparseApplyFtrlV2", "ResourceSparseApplyKerasMomentum", "ResourceSparseApplyMomentum",
     "ResourceSparseApplyProximalAdagrad", "ResourceSparseApplyProximalGradientDescent",
     "ResourceSparseApplyRMSProp", "SparseApplyAdadelta", "SparseApplyAdagrad", "SparseApplyAdagradDA",
     "SparseApplyAdagradV2", "SparseApplyCenteredRMSProp", "SparseApplyFtrl", "SparseApplyFtrlV2",
     "SparseApplyMomentum", "SparseApplyProximalAdagrad", "SparseApplyProximalGradientDescent",
     "SparseApplyRMSProp"})
STATE_WRITES = OpFamily(
    "every op that writes a variable; after freezing there is no state left to write",
    ASSIGNS | DECREMENTS | INCREMENTS | SCATTER_WRITES | OPTIMIZER_UPDATES | {"DestroyResourceOp"})
#: A state write whose result is also its new value has a pure twin once the variable is a Const:
#: ``Assign(ref, v)`` yields ``v``, ``AssignAdd(ref, v)`` yields ``ref + v``.
PURE_WRITE_TWINS = {"Assign": "Identity", "AssignAdd": "AddV2", "AssignSub": "Sub"}

# ---------------------------------------------------------------------------------------------
# Gradients

GRADIENT_HELPERS = OpFamily(
    "ops only tf.gradients creates: broadcast bookkeeping, symbolic gradients of functions, "
    "filter gradients of convolutions, TensorArray gradients",
    {"BroadcastGradientArgs", "SymbolicGradient", "Conv2DBackpropFilter", "Conv2DBackpropFilterV2",
     "Conv3DBackpropFilter", "Conv3DBackpropFilterV2", "DepthwiseConv2dNativeBackpropFilter",
     "Dilation2DBackpropFilter", "Dilation2DBackpropInput", "TensorArrayGrad", "TensorArrayGradV2",
     "TensorArrayGradV3", "TensorArrayGradWithShape", "CudnnRNNBackprop", "CudnnRNNBackpropV2",
     "CudnnRNNBackpropV3", "FakeQuantWithMinMaxArgsGradient", "FakeQuantWithMinMaxVarsGradient",
     "FakeQuantWithMinMaxVarsPerChannelGradient"})
DUAL_USE_BACKPROP = OpFamily(
    "input gradients of convolutions, which are also the forward op of a transposed convolution "
    "(conv2d_transpose, conv3d_transpose, depthwise deconvolution): never evidence of training alone",
    {"Conv2DBackpropInput", "Conv2DBackpropInputV2", "Conv3DBackpropInput", "Conv3DBackpropInputV2",
     "DepthwiseConv2dNativeBackpropInput"})
GRADIENT_BLOCKS = OpFamily(
    "forward identities that stop differentiation (targets of a DQN, a teacher's output)",
    {"StopGradient", "PreventGradient"})
_BACKWARD_KERNEL = re.compile(r"Grad(Grad)?(V\d+)?$|GradWithArgmax$|GradGradWithArgmax$|Grad(Ex)?$")


@cache
def is_gradient_kernel(op: str) -> bool:
    """A backward-pass kernel, which only a gradient computation runs.

    TensorFlow registers the backward kernel of op ``X`` as ``XGrad`` (``ReluGrad``,
    ``MaxPoolGradV2``, ``FusedBatchNormGradV3``, ``_FusedBatchNormGradEx``); the few that do not
    follow the grammar are :data:`GRADIENT_HELPERS`. The input gradients of convolutions
    (:data:`DUAL_USE_BACKPROP`) are not kernels of this kind: transposed convolutions compute with them.
    """
    if op in GRADIENT_HELPERS:
        return True
    if op in DUAL_USE_BACKPROP or op in GRADIENT_BLOCKS:
        return False
    return _BACKWARD_KERNEL.search(op) is not None


# ---------------------------------------------------------------------------------------------
# Control flow

SWITCHES = OpFamily("control flow v1: route a value to one branch of a cond (or a loop's exit)",
                    {"Switch", "RefSwitch", "_SwitchN"})
MERGES = OpFamily("control flow v1: forward whichever branch of a cond (or loop iteration) ran",
                  {"Merge", "RefMerge"})
LOOP_ENTERS = OpFamily("control flow v1: bring a value into a while-loop frame", {"Enter", "RefEnter"})
LOOP_EXITS = OpFamily("control flow v1: a while loop's final value", {"Exit", "RefExit"})
NEXT_ITERATIONS = OpFamily(
    "control flow v1: a while loop's back edge (NextIteration -> Merge)",
    {"NextIteration", "RefNextIteration"})
LOOP_CONDS = OpFamily("control flow v1: a while loop's predicate", {"LoopCond"})
CONTROL_FLOW_V1 = OpFamily(
    "control flow v1 (tf.cond / tf.while_loop in TF1 graphs)",
    SWITCHES | MERGES | LOOP_ENTERS | LOOP_EXITS | NEXT_ITERATIONS | LOOP_CONDS)
IF_OPS = OpFamily("control flow v2: a cond whose branches are functions", {"If", "StatelessIf"})
CASE_OPS = OpFamily("control flow v2: a switch/case whose branches are functions",
                    {"Case", "StatelessCase"})
WHILE_OPS = OpFamily("control flow v2: a while loop whose condition and body are functions",
                     {"While", "StatelessWhile"})
CALL_OPS = OpFamily("calls of a library function (TF2 tf.function bodies, Keras layers)",
                    {"PartitionedCall", "StatefulPartitionedCall"})
FUNCTIONAL = OpFamily("ops that run library functions (control flow v2 and calls)",
                      IF_OPS | CASE_OPS | WHILE_OPS | CALL_OPS)
#: Functional op -> (attrs naming the functions it runs, position of its first input passed to
#: them, attr listing those inputs' types, whether its outputs carry the inputs through like a loop).
FUNCTIONAL_SIGNATURES = {
    "PartitionedCall": (("f",), 0, "Tin", False),
    "StatefulPartitionedCall": (("f",), 0, "Tin", False),
    "If": (("then_branch", "else_branch"), 1, "Tin", False),
    "StatelessIf": (("then_branch", "else_branch"), 1, "Tin", False),
    "Case": (("branches",), 1, "Tin", False),
    "StatelessCase": (("branches",), 1, "Tin", False),
    "While": (("cond", "body"), 0, "T", True),
    "StatelessWhile": (("cond", "body"), 0, "T", True),
}

# ---------------------------------------------------------------------------------------------
# Ref plumbing (what freezing must rewrite)

#: Ref-typed plumbing and its non-ref twin: same inputs, outputs and attrs, minus the ref-ness.
REF_TWINS = {"RefSwitch": "Switch", "RefEnter": "Enter", "RefMerge": "Merge", "RefIdentity": "Identity",
             "RefExit": "Exit", "RefNextIteration": "NextIteration"}
#: Resource reads with a value twin once the handle is a Const.
RESOURCE_READ_TWINS = {"ReadVariableOp": "Identity", "ResourceGather": "GatherV2",
                       "ResourceGatherNd": "GatherNd", "VariableShape": "Shape"}
PASS_THROUGH = OpFamily(
    "ops typed by attr T that forward their data input(s) unchanged: a resource handle flowing "
    "through them becomes the variable's value once the variable is a Const",
    {"Identity", "Enter", "Exit", "Switch", "Merge", "NextIteration", "_SwitchN", "Snapshot"}
    | set(REF_TWINS))

# ---------------------------------------------------------------------------------------------
# How a value looks versus what it is

IDENTITIES = OpFamily("forward their input unchanged", {"Identity", "RefIdentity", "Snapshot", "IdentityN"})
VARIABLE_FORWARDERS = OpFamily(
    "forward a variable's whole value or handle unchanged (``w/read``, ``w/Read/ReadVariableOp``): a "
    "saver or an optimizer reaches the variable through them",
    IDENTITIES | {"ReadVariableOp"})
RESHAPES = OpFamily("rearrange a value's dimensions without computing",
                    {"Reshape", "Squeeze", "ExpandDims"})
COSMETIC = OpFamily(
    "change how a value looks but not what it is: the real result sits one step behind them",
    IDENTITIES | RESHAPES | GRADIENT_BLOCKS | {"Cast", "CheckNumerics"})
SHAPE_ONLY = OpFamily(
    "results that depend on a tensor's shape, never on its values",
    {"Shape", "ShapeN", "Size", "Rank", "ZerosLike", "OnesLike", "VariableShape", "TensorArraySizeV3",
     "BroadcastGradientArgs"})
DATA_SIZED = OpFamily(
    "results whose size depends on the values read (what NMS keeps, where a mask holds): the Shape "
    "or Size of them is data, not a shape (a detector's num_detections)",
    {"NonMaxSuppression", "NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4",
     "NonMaxSuppressionV5", "Where", "Unique", "UniqueV2", "UniqueWithCounts", "UniqueWithCountsV2",
     "ListDiff", "DynamicPartition", "SparseSegmentSum", "RaggedGather"})
#: ops through which a data-dependent size passes unchanged (the kept indices cast, gathered by)
SIZE_KEEPING = OpFamily(
    "results with the size of what they read (or of the indices they gather by)",
    IDENTITIES | {"Cast", "Gather", "GatherV2", "ResourceGather", "GatherNd"})
SELECTIONS = OpFamily("take part of a value (a slice, one of several pieces)",
                      {"StridedSlice", "Slice", "Unpack", "Split", "SplitV"})
JOINS = OpFamily("join several values into one tensor (a concat assembling a layer's input)",
                 {"ConcatV2", "Concat", "Pack"})
TRANSPOSES = OpFamily("permute a value's dimensions (x.T of a Gram matrix, NCHW <-> NHWC)", {"Transpose"})
MATMULS = OpFamily("matrix products (a MatMul reading a weight directly is a dense layer)",
                   {"MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3"})
GATHERS = OpFamily("look up rows of a tensor by index (embeddings)",
                   {"Gather", "GatherV2", "ResourceGather"})
CONVOLUTIONS = OpFamily(
    "convolutions whose filter is a weight (the forward op of a layer)",
    {"Conv2D", "Conv3D", "DepthwiseConv2dNative", "_FusedConv2D"}
    | DUAL_USE_BACKPROP)
BATCH_NORMS = OpFamily(
    "fused batch normalization (is_training=true computes the statistics of each batch)",
    {"FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "_FusedBatchNormEx"})
FAKE_QUANT = OpFamily(
    "fake quantization of quantization-aware training (ranges may be variables updated in the "
    "forward pass)",
    {"FakeQuantWithMinMaxArgs", "FakeQuantWithMinMaxVars", "FakeQuantWithMinMaxVarsPerChannel",
     "QuantizeAndDequantizeV2", "QuantizeAndDequantizeV3", "QuantizeAndDequantizeV4"})

# ---------------------------------------------------------------------------------------------
# What a model's last ops and a loss's ops look like (evidence for the ranking)

PROBABILITY_ACTIVATIONS = OpFamily("turn logits into probabilities", {"Softmax", "Sigmoid"})
FINAL_ACTIVATIONS = OpFamily(
    "the last op a model applies to turn scores into the answer users consume",
    PROBABILITY_ACTIVATIONS | {"LogSoftmax", "ArgMax", "TopK", "TopKV2", "NonMaxSuppression",
                               "NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4",
                               "NonMaxSuppressionV5", "CombinedNonMaxSuppression"})
DECISIONS = OpFamily(
    "turn a prediction into a decision to compare with labels (argmax, a threshold, top-k)",
    {"ArgMax", "ArgMin", "Round", "Greater", "GreaterEqual", "Less", "LessEqual", "TopKV2", "LogicalNot"})
CLASS_DECISIONS = OpFamily(
    "pick the class (or the k best) from scores: the answer a classifier serves, unlike a threshold "
    "a metric applies at many cut-offs",
    {"ArgMax", "ArgMin", "TopK", "TopKV2"})
COMPARISONS = OpFamily(
    "compare two values element-wise: what an accuracy computes from a decision and the labels",
    {"Equal", "NotEqual", "InTopK", "InTopKV2", "Less", "Greater", "LessEqual", "GreaterEqual",
     "LogicalAnd", "LogicalOr", "LogicalNot"})
REDUCTIONS = OpFamily(
    "reduce a tensor over axes (a mean score, a loss, a norm)",
    {"Mean", "Sum", "Max", "Min", "Prod", "All", "Any", "EuclideanNorm", "L2Loss"})
LOSS_KERNELS = OpFamily(
    "kernels that compute a loss from predictions and labels in one op",
    {"SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits", "CTCLoss", "CTCLossV2",
     "L2Loss"})
LOSS_ARITHMETIC = OpFamily(
    "element-wise math, reductions and comparisons a loss is built from (a logistic loss selects "
    "on logits >= 0): walking back from a loss stops at the first op that is none of these",
    REDUCTIONS | LOSS_KERNELS | IDENTITIES | RESHAPES | COMPARISONS
    | {"Square", "Sub", "SquaredDifference", "Abs", "Mul", "Neg", "Log", "Add", "AddV2", "AddN",
       "RealDiv", "Div", "DivNoNan", "Pow", "Sqrt", "Maximum", "Minimum", "Select", "SelectV2", "Log1p",
       "Exp", "Relu", "Cast", "LogSoftmax", "Softplus", "Reciprocal", "Inv", "Rsqrt"})
LOSS_MATH = OpFamily(
    "element-wise math a loss applies to the prediction before comparing it with the labels "
    "(-sum(y_ * log(y)) takes the Log of the prediction y)",
    {"Log", "Log1p", "Square", "Neg", "Abs", "ClipByValue", "Maximum", "Minimum"})
ADDITIONS = OpFamily("sums of tensors (a total loss is a sum of reduced terms)", {"Add", "AddV2", "AddN"})

# ---------------------------------------------------------------------------------------------
# Dropout masks (how tf.nn.dropout builds one)

DROPOUT_MASK_OPS = OpFamily(
    "turn a uniform draw into a dropout mask: TF1 adds keep_prob and floors, TF2 compares with the rate",
    {"Floor", "GreaterEqual", "Greater", "Less", "LessEqual"})
DROPOUT_MASK_PLUMBING = OpFamily(
    "arithmetic a dropout mask passes through before it is applied",
    {"Mul", "Add", "AddV2", "Sub", "Cast", "Identity", "RealDiv", "Div"})
DROPOUT_APPLY_OPS = OpFamily("apply a dropout mask to activations", {"Mul", "Select", "SelectV2"})
ROUNDING = OpFamily("deliberate rounding: an integer cast after these loses nothing by accident",
                    {"Round", "Floor", "Ceil", "Rint"})

# ---------------------------------------------------------------------------------------------
# Graph ends that are not results

NOT_RESULTS = OpFamily(
    "ops whose output is never a model's result: no computation, side effects, variables and "
    "their writes, saving, summaries, tables and their initialisation",
    NO_OPS | CONSTANTS | PLACEHOLDERS | SIDE_EFFECTS | VARIABLES | VARIABLE_INIT_CHECKS | STATE_WRITES
    | SAVE_RESTORE | SUMMARIES | TABLES | TABLE_INITIALIZERS)

PER_CHANNEL_LINEAR = OpFamily(
    "layers whose Const weight ends in the output channels (HWIO filters, [in, out] matrices): a "
    "per-channel scale after them (an inference batch norm) can be folded into that weight",
    {"Conv2D", "DepthwiseConv2dNative", "MatMul"})
UNIT_UNIFORM = OpFamily(
    "float uniform draws in [0, 1) (23 random mantissa bits): a dropout mask's raw material",
    {"RandomUniform", "StatelessRandomUniform", "StatelessRandomUniformV2"})
SELECTS = OpFamily("pick from two tensors by a condition (TF 2's dropout keeps where uniform >= rate)",
                   {"Select", "SelectV2"})
SCALINGS = OpFamily("multiply or divide element-wise (dropout's 1/keep_prob scaling and its mask)",
                    {"Mul", "RealDiv"})
POOLS = OpFamily("2-D pooling over an image (NHWC or NCHW)", {"MaxPool", "AvgPool"})
CONSTANT_FOLDED = OpFamily(
    "ops freeze --for-inference computes in numpy when every data input is a Const "
    "(freezer/inference/evaluate.py, EVALUATORS; a test keeps the two equal): any other op on weights "
    "alone stays in the graph",
    {"ConcatV2", "Concat", "Transpose", "Reshape", "Cast", "Pack", "ExpandDims", "Squeeze", "Shape", "Fill",
     "Slice", "StridedSlice", "MatMul", "Add", "AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "Neg",
     "Sqrt", "Rsqrt", "Square", "Reciprocal", "Exp", "Log", "Floor", "Rank", "Size", "Range", "Real", "Imag",
     "AddN"})
ELEMENTWISE_LAYERS = OpFamily(
    "element-wise arithmetic and activations that keep a tensor's layout (a batch norm's multiply-add "
    "between a reshape and a convolution)",
    {"Mul", "Add", "AddV2", "Sub", "RealDiv", "BiasAdd", "Identity", "Relu", "Relu6"})

# ---------------------------------------------------------------------------------------------
# What deployment runtimes load (for `--target`; each family cites the source and version it states)

OPENCV_TF_LAYERS = OpFamily(
    "ops OpenCV 4.14's TensorFlow importer turns into layers (dnn/src/tensorflow/tf_importer.cpp, "
    "TFImporter::buildDispatchMap); any other op fails with \"Can't create layer\"",
    {"Conv2D", "SpaceToBatchND", "DepthwiseConv2dNative", "Pad", "MirrorPad", "Conv3D", "BiasAdd", "Add",
     "AddV2", "Sub", "AddN", "MatMul", "BatchMatMul", "Reshape", "Squeeze", "Transpose", "Const", "LRN",
     "Concat", "ConcatV2", "MaxPool", "MaxPool3D", "AvgPool", "AvgPool3D", "MaxPoolGrad", "Placeholder",
     "Split", "Slice", "StridedSlice", "Mul", "RealDiv", "FusedBatchNorm", "FusedBatchNormV3",
     "Conv2DBackpropInput", "BlockLSTM", "ResizeNearestNeighbor", "ResizeBilinear",
     "FusedResizeAndPadConv2D", "Softmax", "CropAndResize", "Mean", "Sum", "Max", "Pack", "ClipByValue",
     "LeakyRelu", "Abs", "Tanh", "Sigmoid", "Relu", "Elu", "Exp", "Identity", "Relu6", "ExpandDims",
     "Square", "ArgMax", "ArgMin", "Dequantize"})
OPENCV_TF_REMOVED = OpFamily(
    "ops OpenCV 4.14 deletes before import (tf_graph_simplifier.cpp: removePhaseSwitches rewires a "
    "Switch/Merge/NoOp's consumers to its first input, RemoveIdentityOps an Identity's or a "
    "PlaceholderWithDefault's to its input): a cond keeps its first branch, a PlaceholderWithDefault "
    "computes its default",
    {"Switch", "Merge", "NoOp", "Identity", "PlaceholderWithDefault"})
TF2ONNX_HANDLERS = OpFamily(
    "ops tf2onnx 1.17 has a handler for at ONNX opset <= 15, its default (tf2onnx/onnx_opset/*.py, "
    "@tf_op registrations)",
    {'Abs', 'Acos', 'Acosh', 'Add', 'AddN', 'AddV2', 'AdjustContrastv2', 'AdjustHue', 'AdjustSaturation',
     'All', 'Any', 'ArgMax', 'ArgMin', 'AsString', 'Asin', 'Asinh', 'Atan', 'Atan2', 'Atanh', 'AvgPool',
     'AvgPool3D', 'BatchMatMul', 'BatchMatMulV2', 'BatchMatMulV3', 'BatchToSpaceND', 'BiasAdd',
     'BiasAddV1', 'Bincount', 'BroadcastTo', 'CTCGreedyDecoder', 'Cast', 'Ceil', 'CheckNumerics',
     'ClipByValue', 'CombinedNonMaxSuppression', 'ComplexAbs', 'Concat', 'ConcatV2', 'Const', 'Conv2D',
     'Conv2DBackpropInput', 'Conv3D', 'Conv3DBackpropInputV2', 'Cos', 'Cosh', 'CropAndResize', 'CudnnRNN',
     'Cumprod', 'Cumsum', 'DenseBincount', 'DenseToDenseSetOperation', 'DepthToSpace',
     'DepthwiseConv2dNative', 'Div', 'DivNoNan', 'DynamicPartition', 'DynamicStitch', 'Einsum', 'Elu',
     'EnsureShape', 'Equal', 'Erf', 'Exp', 'ExpandDims', 'ExtractImagePatches', 'FFT', 'FIFOQueueV2',
     'FakeQuantWithMinMaxArgs', 'FakeQuantWithMinMaxVars', 'Fill', 'Floor', 'FloorDiv', 'FloorMod',
     'FusedBatchNorm', 'FusedBatchNormV2', 'FusedBatchNormV3', 'Gather', 'GatherNd', 'GatherV2',
     'Greater', 'GreaterEqual', 'HashTableV2', 'Identity', 'IdentityN', 'If', 'InvertPermutation',
     'IsFinite', 'IsInf', 'IsNan', 'IteratorGetNext', 'IteratorV2', 'LRN', 'LSTMBlockCell', 'LeakyRelu',
     'LeftShift', 'Less', 'LessEqual', 'Log', 'LogSoftmax', 'LogicalAnd', 'LogicalNot', 'LogicalOr',
     'LookupTableFindV2', 'LookupTableSizeV2', 'MatMul', 'MatrixBandPart', 'MatrixDeterminant',
     'MatrixDiag', 'MatrixDiagPart', 'MatrixDiagPartV2', 'MatrixDiagPartV3', 'MatrixDiagV2',
     'MatrixDiagV3', 'MatrixSetDiagV3', 'Max', 'MaxPool', 'MaxPool3D', 'MaxPoolV2', 'MaxPoolWithArgmax',
     'Maximum', 'Mean', 'Min', 'Minimum', 'MirrorPad', 'Mul', 'Multinomial', 'Neg', 'NoOp',
     'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV4', 'NonMaxSuppressionV5',
     'NotEqual', 'OneHot', 'OnesLike', 'Pack', 'Pad', 'PadV2', 'ParallelDynamicStitch', 'Placeholder',
     'PlaceholderV2', 'PlaceholderWithDefault', 'Pow', 'Prod', 'QueueDequeueManyV2', 'QueueDequeueUpToV2',
     'QueueDequeueV2', 'RFFT', 'RFFT2D', 'RaggedGather', 'RaggedRange', 'RaggedTensorFromVariant',
     'RaggedTensorToSparse', 'RaggedTensorToTensor', 'RaggedTensorToVariant', 'RandomShuffle',
     'RandomStandardNormal', 'RandomUniform', 'RandomUniformInt', 'Range', 'RealDiv', 'Reciprocal',
     'Relu', 'Relu6', 'Reshape', 'ResizeArea', 'ResizeBicubic', 'ResizeBilinear', 'ResizeNearestNeighbor',
     'ReverseSequence', 'ReverseV2', 'RightShift', 'Rint', 'Roll', 'Round', 'Rsqrt',
     'SampleDistortedBoundingBox', 'SampleDistortedBoundingBoxV2', 'ScatterNd', 'SegmentMax',
     'SegmentMean', 'SegmentMin', 'SegmentProd', 'SegmentSum', 'Select', 'SelectV2', 'Selu', 'Shape',
     'Sigmoid', 'Sign', 'Sin', 'Sinh', 'Size', 'Slice', 'Softmax', 'SoftmaxCrossEntropyWithLogits',
     'Softplus', 'Softsign', 'SpaceToBatchND', 'SpaceToDepth', 'SparseFillEmptyRows', 'SparseReshape',
     'SparseSegmentMean', 'SparseSegmentMeanWithNumSegments', 'SparseSegmentSqrtN',
     'SparseSegmentSqrtNWithNumSegments', 'SparseSegmentSum', 'SparseSegmentSumWithNumSegments',
     'SparseSoftmaxCrossEntropyWithLogits', 'SparseToDense', 'Split', 'SplitV', 'Sqrt', 'Square',
     'SquaredDifference', 'Squeeze', 'StatelessIf', 'StatelessWhile', 'StopGradient', 'StridedSlice',
     'StringLower', 'StringToNumber', 'StringUpper', 'Sub', 'Sum', 'Tan', 'Tanh', 'TensorListFromTensor',
     'TensorListGetItem', 'TensorListLength', 'TensorListReserve', 'TensorListResize',
     'TensorListSetItem', 'TensorListStack', 'TensorScatterUpdate', 'Tile', 'TopKV2', 'Transpose',
     'TruncateDiv', 'Unique', 'UniqueWithCounts', 'Unpack', 'UnsortedSegmentMax', 'UnsortedSegmentMin',
     'UnsortedSegmentProd', 'UnsortedSegmentSum', 'Where', 'While', 'ZerosLike'})
TF2ONNX_REWRITTEN = OpFamily(
    "ops tf2onnx 1.17 removes before its handlers run: function calls are inlined by its graph "
    "loader (tf_loader.py, grappler), v1 control flow and TensorArrays become ONNX If/Loop in "
    "rewriter/cond_rewriter.py and loop_rewriter.py",
    CALL_OPS | CONTROL_FLOW_V1 | {"TensorArrayV3", "TensorArrayReadV3", "TensorArrayWriteV3",
                                  "TensorArrayScatterV3", "TensorArrayGatherV3", "TensorArraySizeV3"})
TFLITE_BUILTIN_OPS = OpFamily(
    "ops the TFLite converter of TF 2.21 turns into builtin TFLite ops (legalize_patterns.td and "
    "legalize_tf.cc of tensorflow/compiler/mlir/lite; inference batch norms, calls and v2 control flow "
    "are lowered first); anything else needs the Flex delegate, which a device build rarely has",
    {"Abs", "AddN", "AvgPool", "ArgMax", "ArgMin", "BroadcastTo", "Ceil", "Cos", "Elu", "ExpandDims",
     "FakeQuantWithMinMaxArgs", "Fill", "Floor", "LeakyRelu", "Log", "Log1p", "LogicalNot", "LogSoftmax",
     "MaxPool", "Maximum", "Minimum", "Neg", "OneHot", "Pow", "Range", "Relu6", "Relu", "ReverseSequence",
     "Round", "Rsqrt", "Sqrt", "Square", "SegmentSum", "UnsortedSegmentSum", "UnsortedSegmentMax",
     "UnsortedSegmentMin", "UnsortedSegmentProd", "Select", "SelectV2", "Shape", "Sigmoid", "Sin", "Slice",
     "Softmax", "Softplus", "Squeeze", "Tanh", "Transpose", "Where", "ZerosLike", "BroadcastArgs", "Less",
     "Greater", "LessEqual", "GreaterEqual", "Gather", "GatherNd", "GatherV2", "FloorDiv", "NotEqual",
     "LogicalAnd", "LogicalOr", "Add", "AddV2", "BiasAdd", "Sub", "Mul", "RealDiv", "Div", "BatchMatMulV3",
     "BatchMatMulV2", "BatchMatMul", "FakeQuantWithMinMaxVars", "QuantizeAndDequantizeV4", "Rank",
     "SquaredDifference", "ReverseV2", "Equal", "Pad", "Tile", "PadV2", "Mean", "Sum", "TopKV2", "Min",
     "Max", "Prod", "Any", "All", "Cast", "BatchToSpaceND", "SpaceToBatchND", "SpaceToDepth", "DepthToSpace",
     "ResizeBilinear", "ResizeNearestNeighbor", "MirrorPad", "SparseToDense", "Unique", "FloorMod", "Exp",
     "LRN", "NonMaxSuppressionV4", "NonMaxSuppressionV5", "MatrixDiag", "Conv2DBackpropInput",
     "MatrixSetDiagV3", "ScatterNd", "Cumsum", "Reshape", "StridedSlice", "RFFT2D", "Complex", "ComplexAbs",
     "Real", "Imag", "Bucketize", "RandomUniform", "RandomStandardNormal", "Multinomial", "Atan2", "Sign",
     "Bitcast", "BitwiseXor", "RightShift",
     # legalize_tf.cc and the lowering passes before it
     "Const", "Placeholder", "Identity", "IdentityN", "StopGradient", "NoOp", "Conv2D",
     "DepthwiseConv2dNative", "Conv3D", "MatMul", "Pack", "Unpack", "Split", "SplitV", "ConcatV2", "Concat",
     "Reciprocal", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3", "Size", "OnesLike", "Einsum",
     "If", "StatelessIf", "While", "StatelessWhile", "PartitionedCall", "StatefulPartitionedCall", "Selu",
     "Erf"})


def all_families() -> dict[str, OpFamily]:
    """Every family defined here, by its constant's name (for docs and tests)."""
    return {name: value for name, value in globals().items() if isinstance(value, OpFamily)}
