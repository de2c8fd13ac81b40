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
    """The nodes that never run when each ``(switch, port)`` in ``dead_ports`` is dead.

    Linear in nodes + edges: each input position turns dead at most once (its producer died, or it
    reads a dead Switch port), a node dies on its first dead input, a Merge when its count of dead
    data inputs reaches its number of data inputs. (Re-judging a node each time one of its inputs
    died cost its in-degree squared, K^2 for a node reading one tensor K times.)
    """
    if not dead_ports:
        return set()
    dead: set[str] = set()
    dead_positions: set[tuple[str, int]] = set()
    merge_alive: dict[str, int] = {}  # Merge -> its data inputs not yet dead
    queue: deque[tuple[str, int, TensorRef]] = deque()
    for switch, port in dead_ports:
        queue.extend(use for use in model.consumers.get(switch, ()) if use[2].port == port)
    while queue:
        name, position, ref = queue.popleft()
        if name in dead or name not in model.consumers or (name, position) in dead_positions:
            continue
        dead_positions.add((name, position))
        if model.attrs[name]["op"] in tfops.MERGES:
            if ref.control:
                continue  # a Merge waits for its data inputs only
            if name not in merge_alive:
                merge_alive[name] = sum(not source.control for source in model.inputs[name])
            merge_alive[name] -= 1
            if merge_alive[name] > 0:
                continue
        dead.add(name)
        queue.extend(model.consumers[name])
    return dead
