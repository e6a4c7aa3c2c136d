"""Raw-pixel KMeans against DeepClustering (DEC/IDEC) on the bundled digits.

Prints the clustering accuracy (ACC: the best one-to-one matching of clusters
to digits, found by the Hungarian algorithm), NMI and ARI of both, for a few
seeds. Run from the repository root:

    python examples/deep_clustering_digits.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tfcluster import KMeans
from tfcluster._external_metrics import (
    adjusted_rand_score,
    contingency_matrix,
    normalized_mutual_info_score,
)
from tfcluster.datasets import load_digits
from tfcluster.deep._dec import DeepClustering


def _hungarian(cost: np.ndarray) -> np.ndarray:
    """Column assigned to each row of a square ``cost`` matrix, minimising the total.

    The O(n^3) shortest augmenting path method with row/column potentials.
    """
    n = cost.shape[0]
    u, v = np.zeros(n + 1), np.zeros(n + 1)
    match = np.zeros(n + 1, dtype=int)  # match[j]: row (1-based) given column j
    for i in range(1, n + 1):
        match[0], j0 = i, 0
        best = np.full(n + 1, np.inf)
        way = np.zeros(n + 1, dtype=int)
        used = np.zeros(n + 1, dtype=bool)
        while match[j0]:
            used[j0] = True
            i0 = match[j0]
            free = ~used[1:]
            reduced = cost[i0 - 1] - u[i0] - v[1:]
            better = free & (reduced < best[1:])
            best[1:][better] = reduced[better]
            way[1:][better] = j0
            j1 = 1 + int(np.argmin(np.where(free, best[1:], np.inf)))
            delta = best[j1]
            u[match[used]] += delta
            v[used] -= delta
            best[1:][free] -= delta
            j0 = j1
        while j0:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
    assignment = np.zeros(n, dtype=int)
    assignment[match[1:] - 1] = np.arange(n)
    return assignment


def cluster_accuracy(labels_true, labels_pred) -> float:
    """Fraction of rows right under the best one-to-one renaming of the clusters."""
    table = contingency_matrix(labels_true, labels_pred)  # [classes, clusters]
    size = max(table.shape)
    square = np.zeros((size, size))
    square[: table.shape[0], : table.shape[1]] = table
    cols = _hungarian(-square)
    return float(square[np.arange(size), cols].sum() / table.sum())


def deep_clustering(seed: int) -> DeepClustering:
    """The DeepClustering settings used for the digits (pixels scaled to [0, 1])."""
    return DeepClustering(
        10,
        hidden=(256, 256, 512),
        embedding_dim=10,
        pretrain_epochs=300,
        noise=0.2,
        random_state=seed,
    )


def _scores(y, labels):
    return (
        cluster_accuracy(y, labels),
        normalized_mutual_info_score(y, labels),
        adjusted_rand_score(y, labels),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    X, y = load_digits()
    X = (X / 16.0).astype(np.float32)
    print("| seed | method | ACC | NMI | ARI | fit (s) |")
    print("|---|---|---|---|---|---|")
    for seed in args.seeds:
        for name, make in [
            ("KMeans (raw pixels)", lambda s: KMeans(10, random_state=s)),
            ("DeepClustering", deep_clustering),
        ]:
            start = time.perf_counter()
            labels = make(seed).fit_predict(X)
            elapsed = time.perf_counter() - start
            acc, nmi, ari = _scores(y, labels)
            print(f"| {seed} | {name} | {acc:.3f} | {nmi:.3f} | {ari:.3f} | {elapsed:.1f} |")


if __name__ == "__main__":
    main()
