"""Every written NodeDef carries its op's attributes, defaults included, as TensorFlow writes them.

A graph exported with ``strip_default_attrs=True`` (Keras, ``tf.saved_model``, Estimators) omits
every attribute that holds its op's default value. TensorFlow fills them back in when it imports
the graph, so TensorFlow itself never notices; other consumers read the NodeDef as it is and
fail: OpenCV's importer asks for ``end_mask`` of a StridedSlice ("key not found"), converters
look up ``data_format`` or ``T``. Filling them in from the op definitions ckpt2pb ships (TF 2.21's
registry, :mod:`inspector.opdefs`) gives the NodeDef TensorFlow's ``as_graph_def()`` would write.

Ops the registry does not know (custom ops) are left as they are: their defaults are unknown.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector import opdefs


def fill_default_attrs(node) -> list[str]:
    """Add (in place) every defaulted attr ``node`` omits; returns the names added."""
    missing = opdefs.missing_defaults(node)
    for name, value in missing.items():
        node.attr[name].CopyFrom(value)
    return sorted(missing)


def fill_library_defaults(library) -> int:
    """The same for every node of every function body; returns how many attrs were added."""
    added = 0
    for function in getattr(library, "function", ()):
        for node in function.node_def:
            added += len(fill_default_attrs(node))
    return added


def nodes_missing_defaults(nodes: Iterable) -> list[tuple[str, list[str]]]:
    """(node, attrs) for each NodeDef that still omits a defaulted attr (a check, not a fix)."""
    found = []
    for node in nodes:
        if hasattr(node, "chunks"):  # a streamed Const: dtype and value, no defaulted attrs
            continue
        missing = opdefs.missing_defaults(node)
        if missing:
            found.append((node.name, sorted(missing)))
    return found
