"""Figures for looking at a clustering (matplotlib, imported only when a function runs).

Every function draws on ``ax`` (a new figure's Axes when None) and returns
the Axes, so figures compose and work under the non-interactive Agg backend:

- ``k_scores``: a score against k from ``selection.sweep``, suggested k marked.
- ``silhouette``: the per-sample silhouette diagram.
- ``clusters``: 2-D scatter by label (principal-component projection above 2-D).
- ``gmm_contours``: a Gaussian mixture's log-density contours over the scatter.
- ``som_umatrix``: a self-organizing map's U-matrix with the winners marked.
- ``image_grid``: a few images of every cluster, one row per cluster.

Examples:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tfcluster import plot
    >>> from tfcluster.datasets import load_iris
    >>> X, y = load_iris()
    >>> ax = plot.clusters(X, y)
    >>> ax.get_xlabel()
    'PC 1'
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfcluster._base import check_positive_int
from tfcluster._validation import check_array, check_labels

__all__ = ["k_scores", "silhouette", "clusters", "gmm_contours", "som_umatrix", "image_grid"]

_MARKERS = "osD^v<>ph*"


def _new_axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.8))[1]


def _colors(n):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _data_and_labels(X, labels):
    """``X`` as float64 numpy ``[n, d]``, the unique labels and each row's code."""
    x = check_array(X, dtype=tf.float64).numpy()
    labels = check_labels(np.asarray(labels), len(x))
    uniques, codes = np.unique(labels, return_inverse=True)
    return x, uniques, codes.reshape(-1)


class _Projection:
    """The plane of the two leading principal components of ``x`` (numpy SVD).

    Data with 2 features (or fewer) are kept as they are.
    """

    def __init__(self, x):
        self.mean = x.mean(axis=0)
        d = x.shape[1]
        if d <= 2:
            self.components = np.eye(d)
            self.names = ("feature 0", "feature 1")[:d]
        else:
            _, _, vt = np.linalg.svd(x - self.mean, full_matrices=False)
            self.components = vt[:2]  # [2, d]
            self.names = ("PC 1", "PC 2")

    @property
    def identity(self):
        return self.components.shape[0] == self.components.shape[1]

    def __call__(self, x):
        """``[n, d]`` -> ``[n, 2]`` coordinates (a zero second column for 1-D data)."""
        x = np.asarray(x, dtype=np.float64)
        if self.identity:
            return np.column_stack([x, np.zeros(len(x))]) if x.shape[1] == 1 else x
        return (x - self.mean) @ self.components.T

    def lift(self, z):
        """``[n, 2]`` plane coordinates -> ``[n, d]`` points of the plane."""
        if self.identity:
            return z[:, : self.components.shape[0]]
        return self.mean + z @ self.components

    def label(self, ax):
        ax.set_xlabel(self.names[0])
        ax.set_ylabel(self.names[1] if len(self.names) > 1 else "")


def _scatter(ax, z, uniques, codes, *, size=12, alpha=0.8):
    for i, (label, color) in enumerate(zip(uniques, _colors(len(uniques)), strict=True)):
        rows = codes == i
        ax.scatter(z[rows, 0], z[rows, 1], s=size, color=color, alpha=alpha, label=str(label))


def k_scores(result, score="inertia", *, ax=None):
    """A score of a ``selection.sweep`` against k, with the suggested k marked.

    Args:
        result: a ``SweepResult``.
        score: one of ``result.scores`` ("inertia" shows the elbow curve).
        ax: matplotlib Axes to draw on, or None for a new figure.

    Returns:
        the Axes.

    Raises:
        ValueError: a score the sweep did not record.
    """
    from tfcluster.selection import SCORE_METHOD, suggest_k

    if score not in result.scores:
        raise ValueError(
            f"score {score!r} was not recorded by this sweep; recorded: {sorted(result.scores)}."
        )
    ax = _new_axes(ax)
    k = np.asarray(result.k_values)
    values = np.asarray(result.scores[score], dtype=np.float64)
    ax.plot(k, values, "o-", color="C0", label=score)
    method = SCORE_METHOD[score]
    try:
        best = suggest_k(result, method)
    except ValueError:  # too few k for the rule, or no finite value
        best = None
    if best is not None:
        i = result.k_values.index(best)
        ax.axvline(best, color="C3", linestyle="--", linewidth=1)
        ax.plot([best], [values[i]], "o", color="C3", markersize=10, label=f"{method}: k={best}")
    ax.set_xlabel("number of clusters k")
    ax.set_ylabel(score.replace("_", "-"))
    ax.set_xticks(k)
    ax.legend()
    return ax


def silhouette(X, labels, *, ax=None):
    """The silhouette diagram: every sample's silhouette, sorted, grouped by label.

    Args:
        X: samples ``[n_samples, n_features]``.
        labels: ``[n_samples]`` label of each sample.
        ax: matplotlib Axes, or None for a new figure.

    Returns:
        the Axes (the dashed line is the mean silhouette).
    """
    from tfcluster.metrics import silhouette_samples

    s = silhouette_samples(X, labels)
    _, uniques, codes = _data_and_labels(X, labels)
    ax = _new_axes(ax)
    gap = max(len(s) // 50, 2)
    y = gap
    for i, (label, color) in enumerate(zip(uniques, _colors(len(uniques)), strict=True)):
        values = np.sort(s[codes == i])
        rows = np.arange(y, y + len(values))
        ax.fill_betweenx(rows, 0.0, values, color=color, alpha=0.8, linewidth=0)
        ax.text(-0.05, y + len(values) / 2, str(label), ha="right", va="center")
        y += len(values) + gap
    ax.axvline(float(np.mean(s)), color="C3", linestyle="--", label=f"mean {np.mean(s):.3f}")
    ax.set_xlim(min(-0.1, float(s.min()) - 0.05), 1.0)
    ax.set_ylim(0, y)
    ax.set_yticks([])
    ax.set_xlabel("silhouette coefficient")
    ax.set_ylabel("samples by cluster")
    ax.legend(loc="lower right")
    return ax


def clusters(X, labels, centers=None, *, ax=None):
    """Scatter of the samples coloured by label, in 2-D.

    Data with more than 2 features are projected on their two leading
    principal components (numpy SVD of the centered data); ``centers`` are
    projected the same way.

    Args:
        X: samples ``[n_samples, n_features]``.
        labels: ``[n_samples]`` label of each sample.
        centers: optional ``[n_clusters, n_features]``, drawn as crosses.
        ax: matplotlib Axes, or None for a new figure.

    Returns:
        the Axes.
    """
    x, uniques, codes = _data_and_labels(X, labels)
    project = _Projection(x)
    ax = _new_axes(ax)
    _scatter(ax, project(x), uniques, codes)
    if centers is not None:
        c = check_array(centers, dtype=tf.float64, name="centers", n_features=x.shape[1])
        zc = project(c.numpy())
        ax.scatter(zc[:, 0], zc[:, 1], marker="X", s=120, c="black", label="centers")
    project.label(ax)
    if len(uniques) <= 20:
        ax.legend(fontsize="small", markerscale=1.5)
    return ax


_MAX_RESOLUTION = 2000  # 4 million density evaluations


def _check_levels(levels):
    """``levels`` of ``gmm_contours``: a count >= 1, or increasing finite values."""
    if isinstance(levels, (int, np.integer)) and not isinstance(levels, bool):
        return check_positive_int("levels", levels)
    try:
        values = np.asarray(levels, dtype=np.float64)
    except (TypeError, ValueError):
        values = None
    if values is None or values.ndim != 1 or values.size == 0:
        raise TypeError(
            f"levels must be a number of levels (int >= 1) or a 1-D sequence of "
            f"increasing values; got {levels!r}."
        )
    if not np.all(np.isfinite(values)) or np.any(np.diff(values) <= 0):
        raise ValueError(f"levels must be finite and increasing; got {values.tolist()}.")
    return values


def gmm_contours(gmm, X, *, levels=12, resolution=120, ax=None):
    """Log-density contours of a fitted Gaussian mixture over the scatter of ``X``.

    For 2-D data the contours are those of ``gmm.score_samples``. Above 2-D
    they are the density on the plane of the two leading principal components
    of ``X`` through its mean (a slice of the density, not a marginal).

    Args:
        gmm: a fitted mixture with ``score_samples(X)`` and ``predict(X)``
            (and ``means_``, drawn as crosses, if present).
        X: samples ``[n_samples, n_features]``.
        levels: number of contour levels (>= 1), or their increasing values.
        resolution: grid points along each axis (2 to 2000).
        ax: matplotlib Axes, or None for a new figure.

    Returns:
        the Axes.
    """
    for name in ("score_samples", "predict"):
        if not callable(getattr(gmm, name, None)):
            raise TypeError(f"gmm must have a {name}(X) method; got {type(gmm).__name__}.")
    levels = _check_levels(levels)
    resolution = check_positive_int("resolution", resolution, minimum=2)
    if resolution > _MAX_RESOLUTION:
        raise ValueError(
            f"resolution must be at most {_MAX_RESOLUTION} grid points per axis; got {resolution}."
        )
    x = check_array(X, dtype=tf.float64).numpy()
    if x.shape[1] < 2:
        raise ValueError("gmm_contours needs at least 2 features.")
    project = _Projection(x)
    z = project(x)
    lo, hi = z.min(axis=0), z.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    mx, my = np.meshgrid(gx, gy)
    grid = np.column_stack([mx.ravel(), my.ravel()])
    density = np.asarray(gmm.score_samples(project.lift(grid))).reshape(mx.shape)
    ax = _new_axes(ax)
    floor = np.quantile(density, 0.05)  # keep the levels where the data are
    cs = ax.contour(mx, my, np.maximum(density, floor), levels=levels, cmap="viridis")
    ax.figure.colorbar(cs, ax=ax, label="log density")
    uniques, codes = np.unique(np.asarray(gmm.predict(x)), return_inverse=True)
    _scatter(ax, z, uniques, codes.reshape(-1), size=8, alpha=0.6)
    means = getattr(gmm, "means_", None)
    if means is not None:
        zm = project(np.asarray(means, dtype=np.float64))
        ax.scatter(zm[:, 0], zm[:, 1], marker="X", s=120, c="black", label="means")
    project.label(ax)
    return ax


def som_umatrix(som, X=None, labels=None, *, ax=None):
    """A self-organizing map's U-matrix, with the samples' winners marked.

    Dark cells are close to their neighbours (inside a cluster), light cells
    far (a border). Cell ``(i, j)`` is drawn at column ``j``, row ``i``; a
    hexagonal map is drawn on the same rectangular cells.

    Args:
        som: a fitted map with ``distance_map(scaling="sum")`` ``[m, n]``,
            ``weights_`` ``[m, n, n_features]`` and ``predict(X)`` giving the
            flat winner index ``i * n + j``.
        X: optional samples ``[n_samples, n_features]``; their winners are marked.
        labels: optional ``[n_samples]`` classes; one marker and colour per class.
        ax: matplotlib Axes, or None for a new figure.

    Returns:
        the Axes.
    """
    umatrix = np.asarray(som.distance_map(scaling="sum"), dtype=np.float64)  # [m, n]
    m, n = umatrix.shape
    ax = _new_axes(ax)
    image = ax.imshow(
        umatrix, cmap="bone_r", origin="lower", extent=(-0.5, n - 0.5, -0.5, m - 0.5)
    )
    ax.figure.colorbar(image, ax=ax, label="distance to neighbours")
    if X is not None:
        winners = np.asarray(som.predict(X)).reshape(-1)
        i, j = np.divmod(winners, n)
        if labels is None:
            uniques, codes = np.array(["samples"]), np.zeros(len(winners), dtype=int)
        else:
            labels = check_labels(np.asarray(labels), len(winners))
            uniques, codes = np.unique(labels, return_inverse=True)
            codes = codes.reshape(-1)
        jitter = np.random.default_rng(0).uniform(-0.25, 0.25, size=(len(winners), 2))
        colors = _colors(len(uniques))
        for c, label in enumerate(uniques):
            rows = codes == c
            ax.scatter(
                j[rows] + jitter[rows, 0],
                i[rows] + jitter[rows, 1],
                marker=_MARKERS[c % len(_MARKERS)],
                facecolors="none",
                edgecolors=[colors[c]],
                s=30,
                linewidths=1.2,
                label=str(label),
            )
        if len(uniques) <= 20:
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.25, 1.0))
    ax.set_xlabel("map column j")
    ax.set_ylabel("map row i")
    return ax


def _read_image(item):
    """An image as an array ``[h, w]`` or ``[h, w, channels]``: a path or an array."""
    if not isinstance(item, (str, bytes, os.PathLike)):
        arr = np.asarray(item)
        if arr.ndim not in (2, 3):
            raise ValueError(f"an image array must be 2-D or 3-D; got shape {arr.shape}.")
        return arr
    path = os.fspath(item)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image file {path!r} does not exist.")
    try:
        from PIL import Image
    except ImportError:  # matplotlib alone reads PNG
        import matplotlib.image as mpimg

        return mpimg.imread(path)
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB") if img.mode not in ("L", "RGB") else img)


def image_grid(paths, labels, *, per_cluster=6, ax=None):
    """A few images of every cluster: one row per cluster, in label order.

    The first ``per_cluster`` images of each cluster (in the order given) are
    drawn, each fitted into a square cell with its aspect ratio kept.

    Args:
        paths: ``[n_images]`` image file paths (read with PIL if installed,
            else matplotlib, which reads PNG) or image arrays ``[h, w]`` /
            ``[h, w, channels]``.
        labels: ``[n_images]`` cluster of each image.
        per_cluster: most images shown per cluster.
        ax: matplotlib Axes, or None for a new figure.

    Returns:
        the Axes.

    Raises:
        ValueError: labels of another length, no images.
        FileNotFoundError: a path that does not exist.
    """
    paths = list(paths)
    if not paths:
        raise ValueError("image_grid needs at least one image.")
    labels = check_labels(np.asarray(labels), len(paths))
    per_cluster = check_positive_int("per_cluster", per_cluster)
    uniques = np.unique(labels)
    if ax is None:
        import matplotlib.pyplot as plt

        size = (1.2 * per_cluster + 1.5, 1.2 * len(uniques) + 0.5)
        ax = plt.subplots(figsize=size)[1]
    pad = 0.05
    for row, label in enumerate(uniques):
        members = np.flatnonzero(labels == label)[:per_cluster]
        for col, index in enumerate(members):
            img = _read_image(paths[index])
            h, w = img.shape[:2]
            scale = (1.0 - 2 * pad) / max(h, w)
            x0 = col + 0.5 - w * scale / 2
            y0 = row + 0.5 - h * scale / 2
            extent = (x0, x0 + w * scale, y0 + h * scale, y0)
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None, extent=extent)
    ax.set_xlim(0, per_cluster)
    ax.set_ylim(len(uniques), 0)
    ax.set_aspect("equal")
    counts = [int(np.sum(labels == label)) for label in uniques]
    ax.set_yticks(np.arange(len(uniques)) + 0.5)
    ax.set_yticklabels([f"{u} ({c})" for u, c in zip(uniques, counts, strict=True)])
    ax.set_xticks([])
    ax.set_ylabel("cluster (size)")
    for spine in ax.spines.values():
        spine.set_visible(False)
    return ax
