"""``tfcluster images``: sort a folder of images into cluster folders.

The steps: list the images, embed them (``ImageEmbedder``), pick k (given, or
by a sweep), cluster, then write ``cluster_*/`` folders, ``assignments.csv``,
``skipped.csv`` and figures into a safe ``OutputFolder``.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from tfcluster._outputs import OutputFolder, OutputRefused

__all__ = ["UsageError", "SortResult", "run_images", "make_clusterer", "ALGORITHMS"]

ALGORITHMS = ("kmeans", "gmm", "som")
_SWEEP_SCORE = {"kmeans": "silhouette", "gmm": "bic", "som": "silhouette"}


class UsageError(ValueError):
    """A mistake in what the user asked for (exit status 2)."""


@dataclass
class SortResult:
    """What ``run_images`` did: paths, labels, scores, k and where files went."""

    paths: list
    labels: np.ndarray
    scores: np.ndarray
    score_name: str
    k: int
    skipped: list
    outputs: list
    embeddings: np.ndarray
    out: str
    sweep: object = None


def make_clusterer(algorithm: str, k: int, seed: int):
    """An unfitted estimator for ``algorithm`` with ``k`` clusters."""
    if algorithm == "kmeans":
        from tfcluster.kmeans import KMeans

        return KMeans(k, n_init=3, random_state=seed)
    if algorithm == "gmm":
        from tfcluster.mixture import GaussianMixture

        # diagonal covariances: features are high-dimensional and images often few
        return GaussianMixture(k, covariance_type="diag", reg_covar=1e-4, random_state=seed)
    if algorithm == "som":
        from tfcluster.selection import grid_shape
        from tfcluster.som import SelfOrganizingMap

        m, n = grid_shape(k)
        # a batch map of 20 epochs: on digits, iris and wine as accurate (ARI) as the
        # default 500 * m * n online steps, and a --k auto sweep up to twice as fast
        sigma = max(0.5, min(m, n) / 2)
        return SelfOrganizingMap(m, n, sigma=sigma, mode="batch", epochs=20, random_state=seed)
    raise UsageError(f"unknown algorithm {algorithm!r}; accepted: {', '.join(ALGORITHMS)}.")


def _choose_k(algorithm, X, k_max, seed, log):
    from tfcluster.selection import suggest_k, sweep

    n = X.shape[0]
    top = min(k_max, n - 1)
    if top < 2:
        raise UsageError(f"--k auto needs at least 3 images; found {n}. Give --k N instead.")
    score = _SWEEP_SCORE[algorithm]
    log(f"choosing k in 2..{top} by {score} ...")
    # a factory, so each k gets the estimator --k k would fit (a map's sigma follows its grid)
    result = sweep(
        lambda k: make_clusterer(algorithm, k, seed), X, range(2, top + 1), scores=(score,)
    )
    k = suggest_k(result, score)
    shown = ", ".join(
        f"{kk}: {v:.3f}" for kk, v in zip(result.k_values, result.scores[score], strict=True)
    )
    log(f"{score} by k: {shown}; chose k={k}")
    return k, result


def _embed(src_paths, embedder):
    """Embed with the skipped-file warning turned into ``embedder.skipped_``."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="skipped .* image files", category=UserWarning)
        X = embedder.embed(src_paths)
    return X, embedder.paths_, embedder.skipped_


def _relative(path, root):
    return os.path.relpath(path, root).replace(os.sep, "/")


def _csv(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _thumbnails(paths, labels, per_cluster=6):
    """Decoded RGB arrays of the first images of each cluster (for the grid figure)."""
    import tensorflow as tf

    chosen = np.concatenate([np.flatnonzero(labels == c)[:per_cluster] for c in np.unique(labels)])
    chosen.sort()
    images = []
    for i in chosen:
        with open(paths[i], "rb") as f:
            img = tf.io.decode_image(f.read(), channels=3, expand_animations=False)
        img = tf.image.resize(img, [64, 64], preserve_aspect_ratio=True, antialias=True)
        images.append(np.clip(img.numpy(), 0, 255).astype(np.uint8))
    return images, labels[chosen]


def _figures(folder, result, algorithm, sweep_result, log):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from tfcluster import plot

    written = []
    if sweep_result is not None:
        ax = plot.k_scores(sweep_result, _SWEEP_SCORE[algorithm])
        rel = folder.plan("k_scores.png", "output")
        folder.save_figure(rel, ax.figure)
        plt.close(ax.figure)
        written.append(rel)
    placed = [folder.abs(rel) for rel in result.outputs]  # sources are gone after a move
    images, labels = _thumbnails(placed, result.labels)
    ax = plot.image_grid(images, labels)
    ax.set_title("examples of each cluster (one row per cluster)")
    rel = folder.plan("examples.png", "output")
    folder.save_figure(rel, ax.figure)
    plt.close(ax.figure)
    written.append(rel)
    log(f"figures: {', '.join(written)}")


def run_images(
    src,
    out,
    *,
    k="auto",
    k_max=10,
    algorithm="kmeans",
    weights="imagenet",
    input_size=224,
    batch_size=64,
    mode="copy",
    seed=0,
    force=False,
    figures=True,
    alpha=1.0,
    log=print,
) -> SortResult:
    """Sort the images of folder ``src`` into ``out/cluster_*/`` (see ``tfcluster images -h``).

    Raises:
        UsageError: a bad argument, a missing source, a refused output folder.
        ValueError, OSError, WeightsUnavailableError: a failure while running.
    """
    from tfcluster.features import ImageEmbedder, list_images
    from tfcluster.pipeline import assignment_scores

    if mode not in ("copy", "symlink", "move"):
        raise UsageError(f"unknown mode {mode!r}; accepted: copy, symlink, move.")
    if algorithm not in ALGORITHMS:
        raise UsageError(f"unknown algorithm {algorithm!r}; accepted: {', '.join(ALGORITHMS)}.")
    if not os.path.isdir(src):
        what = "is not a folder" if os.path.exists(src) else "does not exist"
        raise UsageError(f"source {os.fspath(src)!r} {what}.")
    src_abs, out_abs = os.path.realpath(src), os.path.realpath(out)
    if src_abs == out_abs:
        raise UsageError("--out must be another folder than the source folder.")
    try:
        folder = OutputFolder(out, force=force)
    except OutputRefused as exc:
        raise UsageError(str(exc)) from None
    paths = list_images(src, exclude=out_abs)
    if not paths:
        raise ValueError(f"no image files (.jpg, .jpeg, .png, .bmp, .gif) found in {src!r}.")
    log(f"found {len(paths)} image files in {os.fspath(src)}")
    embedder = ImageEmbedder(
        weights=weights,
        input_size=input_size,
        batch_size=batch_size,
        alpha=alpha,
        random_state=seed,
    )
    X, kept, skipped = _embed(paths, embedder)
    for path, reason in skipped:
        print(f"skipped: {path}: {reason}", file=sys.stderr)
    sweep_result = None
    if k == "auto":
        k, sweep_result = _choose_k(algorithm, X, k_max, seed, log)
    elif k > X.shape[0]:
        raise UsageError(f"--k {k} is more than the {X.shape[0]} images that could be read.")
    model = sweep_result.model(k) if sweep_result else make_clusterer(algorithm, k, seed).fit(X)
    labels = getattr(model, "labels_", None)
    labels = np.asarray(model.predict(X) if labels is None else labels)
    score_name, scores = assignment_scores(model, X, labels)

    width = len(str(max(int(k) - 1, 0)))
    targets = [
        folder.plan(
            f"cluster_{int(c):0{width}d}/{os.path.basename(p)}",
            "moved" if mode == "move" else mode,
        )
        for p, c in zip(kept, labels, strict=True)
    ]
    csv_rel = folder.plan("assignments.csv", "output")
    skipped_rel = folder.plan("skipped.csv", "output") if skipped else None
    folder.write_manifest()
    for path, rel in zip(kept, targets, strict=True):
        folder.place(path, rel, mode)
    rows = [["path", "cluster", score_name, "output"]]
    rows += [
        [_relative(p, src), int(c), f"{s:.6g}", r]
        for p, c, s, r in zip(kept, labels, scores, targets, strict=True)
    ]
    folder.write_text(csv_rel, _csv(rows))
    if skipped_rel:
        rows = [["path", "reason"]] + [[_relative(p, src), why] for p, why in skipped]
        folder.write_text(skipped_rel, _csv(rows))
    result = SortResult(
        paths=kept,
        labels=labels,
        scores=scores,
        score_name=score_name,
        k=int(k),
        skipped=skipped,
        outputs=targets,
        embeddings=X,
        out=folder.path,
        sweep=sweep_result,
    )
    if figures:
        _figures(folder, result, algorithm, sweep_result, log)
    folder.remove_stale()
    folder.write_manifest()
    counts = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True), strict=True)}
    log(
        f"sorted {len(kept)} images into {len(counts)} clusters ({mode}) in {os.fspath(out)}: "
        + ", ".join(f"cluster_{c:0{width}d}: {n}" for c, n in counts.items())
    )
    if skipped:
        log(f"skipped {len(skipped)} files that could not be decoded (listed in {skipped_rel})")
    return result
