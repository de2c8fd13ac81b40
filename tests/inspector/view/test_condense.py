"""Boxes by name scope, one tree per role; chains merged, single ops unboxed, no box too full."""

from __future__ import annotations

from inspector.view.condense import FAMILY, MAX_CHILDREN, SCOPE, condense, leaf, node_of


def _tree(names, roles=None):
    roles = roles or ["model"] * len(names)
    return condense(names, roles, list(range(len(names))), ["model", "gradient", "saver"])


def test_scopes_become_boxes_and_chains_of_scopes_one_box():
    names = ["input", "net/block/dense/MatMul", "net/block/dense/BiasAdd", "net/block/relu/Relu",
             "net/block/relu/Relu_1", "out"]
    c = _tree(names)
    root = c.sections["model"]
    children = c.boxes[root].children
    assert leaf(0) in children and leaf(5) in children
    block = next(c.boxes[r] for r in children if r >= 0)
    assert block.label == "net/block" and block.scope == "net/block" and block.kind == SCOPE
    assert sorted(c.boxes[r].label for r in block.children) == ["dense", "relu"]
    assert block.size == 4
    assert c.ancestors(1)[-1] == root


def test_a_scope_holding_one_op_is_that_op():
    c = _tree(["a/only", "b/x", "b/y"])
    root = c.boxes[c.sections["model"]]
    assert leaf(0) in root.children
    assert c.parent_of[0] == root.id


def test_an_op_named_like_a_scope_sits_inside_it():
    c = _tree(["dense/kernel", "dense/kernel/read", "dense/kernel/Assign", "dense/MatMul"])
    kernel_box = c.parent_of[1]
    assert c.parent_of[0] == kernel_box and c.boxes[kernel_box].label == "kernel"


def test_roles_never_share_a_box():
    names = ["layer/MatMul", "layer/Relu", "gradients/layer/MatMul_grad/MatMul",
             "gradients/layer/Relu_grad/ReluGrad", "save/SaveV2", "save/Const"]
    roles = ["model", "model", "gradient", "gradient", "saver", "saver"]
    c = _tree(names, roles)
    assert set(c.sections) == {"model", "gradient", "saver"}
    for node, role in enumerate(roles):
        assert c.boxes[c.ancestors(node)[-1]].section == role


def test_no_box_holds_more_than_max_children_and_repeated_siblings_form_families():
    names = [f"block{b}/dense/MatMul" for b in range(900)] + [f"block{b}/dense/Relu" for b in range(900)]
    names += [f"Const_{k}" for k in range(80)] + ["logits/MatMul", "probabilities"]
    order = list(range(len(names)))
    c = condense(names, ["model"] * len(names), order, ["model"])
    assert all(len(b.children) <= MAX_CHILDREN for b in c.boxes)
    root = c.boxes[c.sections["model"]]
    assert len(root.children) <= 6
    families = [c.boxes[r] for r in root.children if r >= 0 and c.boxes[r].kind == FAMILY]
    assert {f.label for f in families} == {"block0/dense … block899/dense", "Const_0 … Const_79"}
    assert sum(c.boxes[r].size if r >= 0 else 1 for r in root.children) == len(names)
    # every op is in exactly one box, reachable from its section's root
    seen = set()
    stack = [root.id]
    while stack:
        for ref in c.boxes[stack.pop()].children:
            (stack.append(ref) if ref >= 0 else seen.add(node_of(ref)))
    assert seen == set(range(len(names)))
