"""Message classes for every TensorFlow protobuf ckpt2pb reads or writes.

The classes are built from ``descriptors.binpb`` (compiled from the ``.proto`` files beside this
module by ``make protos``) inside a *private* descriptor pool. They therefore never clash with
TensorFlow's own generated classes when both are loaded in one process (the verification tests do
that); to hand a message to TensorFlow, serialize it and parse it with TensorFlow's class.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_DESCRIPTORS = Path(__file__).with_name("descriptors.binpb")


def _load_pool() -> descriptor_pool.DescriptorPool:
    files = descriptor_pb2.FileDescriptorSet.FromString(_DESCRIPTORS.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file_proto in files.file:  # protoc writes dependencies first
        pool.Add(file_proto)
    return pool


POOL = _load_pool()


def message_class(full_name: str) -> type:
    """The message class for a fully qualified name such as ``"tensorflow.GraphDef"``."""
    return message_factory.GetMessageClass(POOL.FindMessageTypeByName(full_name))


class _Enum:
    """Name <-> number lookups for a protobuf enum, like the ``EnumTypeWrapper`` of generated code."""

    def __init__(self, full_name: str) -> None:
        self.descriptor = POOL.FindEnumTypeByName(full_name)
        self._by_number = {v.number: v.name for v in self.descriptor.values}
        self._by_name = {v.name: v.number for v in self.descriptor.values}

    def Name(self, number: int) -> str:
        return self._by_number[number]

    def Value(self, name: str) -> int:
        return self._by_name[name]

    def get_name(self, number: int, default: str | None = None) -> str | None:
        return self._by_number.get(number, default)

    def items(self) -> list[tuple[str, int]]:
        return list(self._by_name.items())

    def __getattr__(self, name: str) -> int:
        try:
            return self._by_name[name]
        except KeyError:
            raise AttributeError(name) from None


# Graphs and nodes
GraphDef = message_class("tensorflow.GraphDef")
NodeDef = message_class("tensorflow.NodeDef")
AttrValue = message_class("tensorflow.AttrValue")
NameAttrList = message_class("tensorflow.NameAttrList")
TensorProto = message_class("tensorflow.TensorProto")
TensorShapeProto = message_class("tensorflow.TensorShapeProto")
VariantTensorDataProto = message_class("tensorflow.VariantTensorDataProto")
ResourceHandleProto = message_class("tensorflow.ResourceHandleProto")
VersionDef = message_class("tensorflow.VersionDef")
FunctionDef = message_class("tensorflow.FunctionDef")
FunctionDefLibrary = message_class("tensorflow.FunctionDefLibrary")
OpDef = message_class("tensorflow.OpDef")
OpList = message_class("tensorflow.OpList")
GraphDebugInfo = message_class("tensorflow.GraphDebugInfo")

# Meta graphs and SavedModels
MetaGraphDef = message_class("tensorflow.MetaGraphDef")
CollectionDef = message_class("tensorflow.CollectionDef")
SignatureDef = message_class("tensorflow.SignatureDef")
TensorInfo = message_class("tensorflow.TensorInfo")
AssetFileDef = message_class("tensorflow.AssetFileDef")
SaverDef = message_class("tensorflow.SaverDef")
VariableDef = message_class("tensorflow.VariableDef")
SaveSliceInfoDef = message_class("tensorflow.SaveSliceInfoDef")
SavedModel = message_class("tensorflow.SavedModel")
SavedObjectGraph = message_class("tensorflow.SavedObjectGraph")
TrackableObjectGraph = message_class("tensorflow.TrackableObjectGraph")
CondContextDef = message_class("tensorflow.CondContextDef")
WhileContextDef = message_class("tensorflow.WhileContextDef")
QueueRunnerDef = message_class("tensorflow.QueueRunnerDef")
FingerprintDef = message_class("tensorflow.FingerprintDef")

# Checkpoints
BundleHeaderProto = message_class("tensorflow.BundleHeaderProto")
BundleEntryProto = message_class("tensorflow.BundleEntryProto")
TensorSliceProto = message_class("tensorflow.TensorSliceProto")
SavedTensorSlices = message_class("tensorflow.SavedTensorSlices")
SavedSliceMeta = message_class("tensorflow.SavedSliceMeta")
CheckpointState = message_class("tensorflow.CheckpointState")

DataType = _Enum("tensorflow.DataType")
