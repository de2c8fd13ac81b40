"""SignatureDefs: the exporter's own statement of a model's inputs and outputs.

When a SavedModel (or a MetaGraphDef exported for serving) carries signatures, they are the
ground truth the serving stack uses, so they outrank every structural signal. The serving
signature comes first; TF2 SavedModels name the ``StatefulPartitionedCall`` that runs the model
body from the function library, which is exactly what must be frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVING = "serving_default"


@dataclass(frozen=True)
class Declared:
    tensor: str
    key: str
    signature: str
    score: float
    group: str | None

    @property
    def reason(self) -> str:
        return f"declared as output '{self.key}' of signature '{self.signature}'"


def _signatures(meta_graph) -> list[tuple[str, object]]:
    """Signatures in priority order: serving_default, then the rest by name; internal ones
    (``__saved_model_init_op``) are not model signatures."""
    if meta_graph is None:
        return []
    items = [(name, sig) for name, sig in meta_graph.signature_def.items() if not name.startswith("__")]
    return sorted(items, key=lambda item: (item[0] != SERVING, item[0]))


def _tensor_names(info) -> list[str]:
    kind = info.WhichOneof("encoding")
    if kind == "name":
        return [info.name]
    if kind == "coo_sparse":
        return [info.coo_sparse.values_tensor_name]
    if kind == "composite_tensor":
        names = []
        for component in info.composite_tensor.components:
            names.extend(_tensor_names(component))
        return names
    return []


def signature_outputs(meta_graph) -> list[Declared]:
    """Every declared output tensor, best first (one entry per tensor, first signature wins)."""
    declared: list[Declared] = []
    seen: set[str] = set()
    for rank, (sig_name, sig) in enumerate(_signatures(meta_graph)):
        score = 1.0 if rank == 0 else 0.97
        fresh = []
        for key in sorted(sig.outputs):
            for tensor in _tensor_names(sig.outputs[key]):
                node = tensor.partition(":")[0]
                if node not in seen:
                    seen.add(node)
                    fresh.append((tensor, key))
        group = f"signature '{sig_name}'" if len(fresh) > 1 else None
        declared.extend(Declared(t, k, sig_name, score, group) for t, k in fresh)
    return declared


def signature_inputs(meta_graph) -> list[Declared]:
    """Every declared input tensor, serving signature first."""
    declared: list[Declared] = []
    seen: set[str] = set()
    for rank, (sig_name, sig) in enumerate(_signatures(meta_graph)):
        score = 1.0 if rank == 0 else 0.97
        for key in sorted(sig.inputs):
            for tensor in _tensor_names(sig.inputs[key]):
                node = tensor.partition(":")[0]
                if node not in seen:
                    seen.add(node)
                    declared.append(Declared(tensor, key, sig_name, score, None))
    return declared
