"""``tfcluster images``: sort a folder of images into cluster folders.

The steps: list the images, check and lock the output folder, embed the images
(``ImageEmbedder``), pick k (given, or by a sweep), cluster, then place them in
``cluster_*/`` folders (journalled) and write ``assignments.csv``,
``skipped.csv`` and figures into a safe ``OutputFolder``. ``undo_images`` puts
moved files back.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from tfcluster.images._fileops import LockHeld, OutputLock
from tfcluster.images._io import short_reason
from tfcluster.images._journal import JOURNAL, UndoReport, undo_moves
from tfcluster.images._outputs import OutputFolder, OutputRefused
from tfcluster.images._sort_files import (
    SortStopped,
    bytes_needed,
    check_sources,
    force_summary,
    place_all,
    show,
    stopped,
    write_figures,
    write_tables,
)

__all__ = [
    "UsageError",
    "SortResult",
    "SortStopped",
    "run_images",
    "undo_images",
    "make_clusterer",
    "ALGORITHMS",
    "DEFAULT_MAX_PIXELS",
]

ALGORITHMS = ("kmeans", "gmm", "som", "spherical")
DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: decoding one takes ~150 MB as RGB bytes
_SWEEP_SCORE = {
    "kmeans": "silhouette",
    "gmm": "bic",
    "som": "silhouette",
    "spherical": "silhouette",
}


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
        from tfcluster.cluster._kmeans import KMeans

        return KMeans(k, n_init=3, random_state=seed)
    if algorithm == "spherical":  # cosine k-means: the embeddings' directions
        from tfcluster.cluster._spherical import SphericalKMeans

        return SphericalKMeans(k, n_init=3, random_state=seed)
    if algorithm == "gmm":
        from tfcluster.mixture._gaussian_mixture import GaussianMixture

        # diagonal covariances: features are high-dimensional and images often few
        return GaussianMixture(k, covariance_type="diag", reg_covar=1e-4, random_state=seed)
    if algorithm == "som":
        from tfcluster.selection import grid_shape
        from tfcluster.som._som import SelfOrganizingMap

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


def _check_args(mode, algorithm, src, out, max_pixels):
    if mode not in ("copy", "symlink", "move"):
        raise UsageError(f"unknown mode {mode!r}; accepted: copy, symlink, move.")
    if algorithm not in ALGORITHMS:
        raise UsageError(f"unknown algorithm {algorithm!r}; accepted: {', '.join(ALGORITHMS)}.")
    if max_pixels is not None and (
        isinstance(max_pixels, bool) or not isinstance(max_pixels, int)
    ):
        raise TypeError(f"max_pixels must be an int or None; got {type(max_pixels).__name__}.")
    if max_pixels is not None and max_pixels < 1:
        raise UsageError(f"max_pixels must be >= 1 (or None for no limit); got {max_pixels}.")
    if not os.path.isdir(src):
        what = "is not a folder" if os.path.exists(src) else "does not exist"
        raise UsageError(f"source {show(src)!r} {what}.")
    if os.path.realpath(src) == os.path.realpath(out):
        raise UsageError("--out must be another folder than the source folder.")


def _sources(src, out, mode, max_pixels, log):
    """The usable image paths under ``src`` and the files skipped before decoding."""
    from tfcluster.images._io import IMAGE_EXTENSIONS, scan_images

    paths, skipped, passed = scan_images(src, exclude=os.path.realpath(out), max_pixels=max_pixels)
    try:
        paths, not_moved = check_sources(paths, mode)
    except PermissionError as exc:
        raise UsageError(str(exc)) from None
    skipped += not_moved
    if passed:
        log(f"passed over {len(passed)} earlier tfcluster outputs: {show(passed[0])}, ...")
    if not paths:
        raise ValueError(
            f"no usable image files ({', '.join(IMAGE_EXTENSIONS)}) found in {show(src)!r}"
            + (
                f"; {len(skipped)} skipped, first: {show(skipped[0][0])}: {skipped[0][1]}"
                if skipped
                else "."
            )
        )
    return paths, skipped


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
    max_pixels=DEFAULT_MAX_PIXELS,
    log=print,
) -> SortResult:
    """Sort the images of folder ``src`` into ``out/cluster_*/`` (see ``tfcluster images -h``).

    Before any embedding, ``out`` is created, locked against other runs and
    checked (writable, free space for the copies, symbolic links for
    ``mode="symlink"``). Every file placed is journalled first; see
    ``_sort_files`` and ``_outputs`` for what ``force`` may replace.

    Args:
        src: folder of images (searched recursively).
        out: output folder.
        k: number of clusters, or "auto" (a sweep up to ``k_max``).
        k_max: largest k of the sweep.
        algorithm: "kmeans", "gmm", "som" or "spherical".
        weights: backbone weights ("imagenet", None or a file).
        input_size: backbone input size in pixels.
        batch_size: images per batch.
        mode: "copy", "symlink" or "move".
        seed: random seed.
        force: use a non-empty ``out``.
        figures: write ``k_scores.png`` and ``examples.png``.
        alpha: MobileNetV2 width multiplier.
        max_pixels: images with more pixels are skipped (None: no limit).
        log: called with each progress line.

    Returns:
        a ``SortResult``.

    Raises:
        UsageError: a bad argument, a missing source, a refused output folder.
        SortStopped: placing stopped part way (says how many files and how to undo).
        ValueError, OSError, WeightsUnavailableError: a failure while running.
    """
    from tfcluster.images._features import ImageEmbedder
    from tfcluster.images._pipeline import assignment_scores

    _check_args(mode, algorithm, src, out, max_pixels)
    try:
        folder = OutputFolder(out, force=force)
    except OutputRefused as exc:
        raise UsageError(str(exc)) from None
    paths, skipped = _sources(src, out, mode, max_pixels, log)
    try:
        folder.open(mode=mode, need_bytes=bytes_needed(paths, mode, folder.path))
    except OutputRefused as exc:
        raise UsageError(str(exc)) from None
    with folder:
        log(f"found {len(paths)} image files in {show(src)}")
        embedder = ImageEmbedder(
            weights=weights,
            input_size=input_size,
            batch_size=batch_size,
            alpha=alpha,
            random_state=seed,
        )
        X, kept, failed = _embed(paths, embedder)
        skipped += failed
        for path, reason in skipped:
            print(f"skipped: {show(path)}: {short_reason(reason)}", file=sys.stderr)
        sweep_result = None
        if k == "auto":
            k, sweep_result = _choose_k(algorithm, X, k_max, seed, log)
        elif k > X.shape[0]:
            raise UsageError(f"--k {k} is more than the {X.shape[0]} images that could be read.")
        model = (
            sweep_result.model(k) if sweep_result else make_clusterer(algorithm, k, seed).fit(X)
        )
        labels = getattr(model, "labels_", None)
        labels = np.asarray(model.predict(X) if labels is None else labels)
        score_name, scores = assignment_scores(model, X, labels)
        journal = place_all(folder, src, kept, labels, scores, mode, log)
        try:
            records = journal.records()
            tables = write_tables(folder, src, records, score_name, skipped)
            if figures:
                write_figures(folder, records, sweep_result, _SWEEP_SCORE[algorithm], log)
            removed = folder.remove_stale()
            folder.write_manifest()
            journal.end()
        except (Exception, KeyboardInterrupt) as exc:
            raise stopped(exc, folder, journal, len(kept), src) from exc
        journal.close()
    summary = force_summary(folder, removed)
    if summary:
        log(summary)
    width = len(str(max(int(k) - 1, 0)))
    counts = {int(c): int(n) for c, n in zip(*np.unique(labels, return_counts=True), strict=True)}
    log(
        f"sorted {len(records)} images into {len(counts)} clusters ({mode}) in {show(out)}: "
        + ", ".join(f"cluster_{c:0{width}d}: {n}" for c, n in counts.items())
    )
    if skipped:
        log(f"skipped {len(skipped)} files (listed with the reason in {tables[-1]})")
    if mode == "move":
        log(f"to put the moved files back: tfcluster images --undo {show(out)}")
    return SortResult(
        paths=[r["src"] for r in records],
        labels=labels,
        scores=scores,
        score_name=score_name,
        k=int(k),
        skipped=skipped,
        outputs=[r["dst"] for r in records],
        embeddings=X,
        out=folder.path,
        sweep=sweep_result,
    )


def undo_images(out, *, log=print) -> UndoReport:
    """Put every file that runs with ``mode="move"`` moved into ``out`` back where it was.

    Nothing is overwritten: a source path taken again is reported. Copies,
    links and generated outputs in ``out`` are left as they are.

    Raises:
        UsageError: ``out`` is not a folder, holds no journal, or is in use.
        RuntimeError: some files could not be put back (the message says which).
    """
    if not os.path.isdir(out):
        raise UsageError(f"--undo: {show(out)!r} is not a folder.")
    if not os.path.isfile(os.path.join(out, JOURNAL)):
        raise UsageError(f"--undo: {show(out)!r} holds no tfcluster journal ({JOURNAL}).")
    try:
        with OutputLock(out):
            report = undo_moves(out)
    except LockHeld as exc:
        raise UsageError(str(exc)) from None
    if report.problems:
        first, why = report.problems[0]
        raise RuntimeError(
            f"put back {report.restored} moved files; {len(report.problems)} could not be "
            f"put back and nothing was overwritten; first: {show(first)}: {why}"
        )
    log(
        f"put back {report.restored} moved files from {show(out)} into their folders"
        + (f" ({report.already} were already there)" if report.already else "")
    )
    return report
