"""The bisection tree of BisectingKMeans: its nodes, and the tree as arrays (the
state a checkpoint saves and a fit resumes from)."""

from __future__ import annotations

import numpy as np


class _Node:
    """A cluster of the bisection tree: its center (shifted by the data mean), its
    score, its weighted SSE (NaN for a split root: never read), and its two
    children once split."""

    def __init__(self, index: int, center: np.ndarray, score: float, sse: float):
        self.index, self.center, self.score, self.sse = index, center, score, sse
        self.left = self.right = None
        self.label = -1

    def leaves(self):
        """The leaves, left before right (scikit-learn's label order)."""
        if self.left is None:
            yield self
        else:
            yield from self.left.leaves()
            yield from self.right.leaves()

    def nodes(self):
        yield self
        if self.left is not None:
            yield from self.left.nodes()
            yield from self.right.nodes()


def _tree_state(nodes, leaf) -> dict:
    """The fit's state after a split: every node (in creation order) and the leaf of every row."""
    children = [[-1, -1] if n.left is None else [n.left.index, n.right.index] for n in nodes]
    return {
        "centers": np.stack([n.center for n in nodes]),  # [m, d]
        "scores": np.asarray([n.score for n in nodes], np.float64),  # [m]
        "sse": np.asarray([n.sse for n in nodes], np.float64),  # [m]
        "children": np.asarray(children, np.int64),  # [m, 2]
        "leaf": leaf,  # [n]
    }


def _n_splits(state: dict) -> int:
    """The splits done in a tree of ``_tree_state``: each adds two nodes to the root."""
    return (len(state["centers"]) - 1) // 2


def _tree_from_state(state: dict):
    """``(nodes, leaf)`` from ``_tree_state``'s output."""
    rows = zip(state["centers"], state["scores"], state["sse"], strict=True)
    nodes = [_Node(i, c, float(s), float(e)) for i, (c, s, e) in enumerate(rows)]
    for node, (left, right) in zip(nodes, state["children"], strict=True):
        if left >= 0:
            node.left, node.right = nodes[left], nodes[right]
    return nodes, np.asarray(state["leaf"], np.int32)


def _members(leaf: np.ndarray, nodes) -> dict:
    """The rows of every leaf, ``{node index: ascending row indices (int32)}``, from
    the node of every row ``leaf [n]``."""
    if len(nodes) == 1:  # a fit's start: every row in the root
        return {0: np.arange(leaf.size, dtype=np.int32)}
    order = np.argsort(leaf, kind="stable").astype(np.int32)  # by node, then by row
    ends = np.cumsum(np.bincount(leaf, minlength=len(nodes)))
    starts = ends - np.bincount(leaf, minlength=len(nodes))
    return {n.index: order[starts[n.index] : ends[n.index]] for n in nodes[0].leaves()}


def _leaf_of(members: dict, n_samples: int) -> np.ndarray:
    """The node of every row ``[n_samples]`` int32 from ``_members``' form."""
    leaf = np.zeros(n_samples, np.int32)
    for index, rows in members.items():
        leaf[rows] = index
    return leaf
