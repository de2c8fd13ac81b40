"""Separately trained networks in one graph (a GAN's generator and discriminator, an actor and
its critic), and where one hands its output to the other.

The roles pass groups the updates by the loss they minimize; each group trains a set of weights.
When two groups train disjoint sets, the graph holds two networks, and the value the first
computes from its own weights alone and feeds into a layer of the second is the first
network's output — what one deploys (the generator's sample, the actor's action).
"""

from __future__ import annotations

from inspector import tfops
from inspector.roles import MODEL, Roles


def networks(r: Roles) -> dict[str, int]:
    """Weight bitmask per separately trained network, keyed by its optimizer (empty for one)."""
    cached = r.derived.get("networks")
    if cached is not None:
        return cached
    bit_of = {w: 1 << k for k, w in enumerate(r.weights)}
    masks: dict[str, int] = {}
    for optimizer in r.training.optimizers:
        mask = 0
        for variable in optimizer.trained:
            mask |= bit_of.get(variable, 0)
        if mask:
            masks[optimizer.name] = masks.get(optimizer.name, 0) | mask
    distinct = list(masks.values())
    overlapping = any(x & y for k, x in enumerate(distinct) for y in distinct[k + 1:])
    found = masks if len(masks) >= 2 and not overlapping else {}
    r.derived["networks"] = found
    return found


def others(nets: dict[str, int], name: str) -> int:
    """Weights trained by the other optimizers."""
    mask = 0
    for other, bits in nets.items():
        if other != name:
            mask |= bits
    return mask


def mask_total(r: Roles, mask: int) -> int:
    return sum(r.weight_sizes[k] for k in range(len(r.weights)) if mask >> k & 1)


def own_network(r: Roles, i: int) -> tuple[str, int] | None:
    """The one separately trained network whose weights alone compute ``i`` (a GAN generator):
    its name and the mask of the weights that count for it (its own and untrained ones)."""
    bits = r.weight_bits[i]
    nets = networks(r)
    if not bits or not nets:
        return None
    for name, mask in nets.items():
        if bits & mask and not bits & others(nets, name):
            return name, ~others(nets, name) & ((1 << len(r.weights)) - 1)
    return None


def boundaries(r: Roles) -> dict[int, str]:
    """Values one network computes from its own weights and hands to a layer of another."""
    nets = networks(r)
    if not nets:
        return {}
    index, bits = r.index, r.weight_bits
    value = r.weight_value
    found: dict[int, str] = {}
    for i in range(len(index)):
        if r.role[i] != MODEL or not bits[i] or value[i]:
            continue
        for name, mask in nets.items():
            other = others(nets, name)
            if not bits[i] & mask or bits[i] & other:
                continue
            # the consumer is a layer of the other network: it reads one of its weights directly
            if any(r.role[j] == MODEL and any(value[k] and bits[k] & other for k in index.data_in[j])
                   for j in index.data_out[i]):
                found[_behind_join(r, i, mask)] = (f"output of the network trained by '{name}', fed into "
                                                   "a network trained by another optimizer")
            break
    return found


def _behind_join(r: Roles, i: int, mask: int) -> int:
    """Step back from a join that assembles the other network's input to the network's output.

    A conditional GAN's discriminator reads concat([sample, condition]); pix2pix's reads
    concat([input_image, sample]). That concat is the second network's input assembly: the one
    operand computed from the first network's weights is what the first network outputs.
    """
    index = r.index
    while index.ops[i] in tfops.JOINS:
        own = [j for j in index.data_in[i] if r.role[j] == MODEL and r.weight_bits[j] & mask]
        if len(own) != 1:
            break
        i = own[0]
    return i
