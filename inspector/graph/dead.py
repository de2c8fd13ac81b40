"""TensorFlow's dead-tensor rule for control flow v1, once, for every stage that needs it.

A ``Switch(data, pred)`` emits only on the port its predicate picks (0 when false, 1 when true);
the other port carries a *dead* tensor. A node with a dead input (data or control) is dead too,
except a ``Merge``, which is dead only when all its data inputs are. Given the dead Switch ports
(a predicate fixed by a default feed, or by a training switch's inference value), this says
which nodes never run.
"""

from __future__ import annotations

from collections import deque

from inspector import tfops
from inspector.graph.model import GraphModel, TensorRef


def dead_nodes(model: GraphModel, dead_ports: set[tuple[str, int]]) -> set[str]:
    """The nodes that never run when each ``(switch, port)`` in ``dead_ports`` is dead."""
    if not dead_ports:
        return set()
    dead: set[str] = set()

    def is_dead_source(source: TensorRef) -> bool:
        return source.node in dead or (source.node, source.port) in dead_ports

    queue = deque({c for (switch, _) in dead_ports for c, _, _ in model.consumers.get(switch, ())})
    while queue:
        name = queue.popleft()
        if name in dead or name not in model.consumers:
            continue
        sources = model.inputs.get(name, [])
        if model.attrs[name]["op"] in tfops.MERGES:
            data = [s for s in sources if not s.control]
            now_dead = bool(data) and all(is_dead_source(s) for s in data)
        else:
            now_dead = any(is_dead_source(s) for s in sources)
        if now_dead:
            dead.add(name)
            queue.extend(c for c, _, _ in model.consumers[name])
    return dead
