"""``tfcluster demo``: a walk-through of the library on bundled real data, offline.

1. The bundled digits (8x8) are written as 32x32 PNG files and sorted by the
   image pipeline (``tfcluster images``), k chosen by silhouette.
2. Raw pixels clustered by KMeans, k chosen by silhouette (the reference when
   no pretrained weights are available).
3. A Gaussian mixture on iris petal length and width, with its contours.
4. A self-organizing map of the digits with its U-matrix.

ARI and NMI against the true labels are printed; figures go to the output folder.
"""

from __future__ import annotations

import os
import time

import numpy as np

from tfcluster.images._outputs import OutputFolder, OutputRefused

__all__ = ["run_demo"]


def _imagenet_available() -> bool:
    """True if the MobileNetV2 ImageNet weights load (cached, or downloadable now)."""
    from tfcluster.images._features import ImageEmbedder, WeightsUnavailableError

    try:
        ImageEmbedder(input_size=96, progress=False).model  # noqa: B018
    except WeightsUnavailableError:
        return False
    return True


def _write_digits(folder: OutputFolder, images: np.ndarray) -> list[str]:
    """The 8x8 digits (0..16) as 32x32 grey PNG files under ``digits/``; returns their paths."""
    import tensorflow as tf

    big = tf.image.resize(images.reshape(-1, 8, 8, 1) * (255.0 / 16.0), [32, 32])
    big = tf.cast(tf.clip_by_value(tf.round(big), 0, 255), tf.uint8)
    rels = [folder.plan(f"digits/digit_{i:04d}.png", "output") for i in range(len(images))]
    folder.write_manifest()
    for rel, image in zip(rels, big, strict=True):
        folder.write_bytes(rel, tf.io.encode_png(image).numpy())
    return [folder.abs(r) for r in rels]


def _scores(name, y_true, y_pred):
    from tfcluster._external_metrics import adjusted_rand_score, normalized_mutual_info_score

    ari = adjusted_rand_score(y_true, y_pred)
    nmi = normalized_mutual_info_score(y_true, y_pred)
    k = np.unique(y_pred).size
    print(f"  {name:<44} k={k:<3d} ARI={ari:.3f}  NMI={nmi:.3f}")
    return ari, nmi


def _save(folder, rel, ax, title):
    import matplotlib.pyplot as plt

    ax.set_title(title)
    rel = folder.plan(rel, "output")
    folder.save_figure(rel, ax.figure)
    plt.close(ax.figure)
    return rel


def _pixels(folder, X, y, seed):
    from tfcluster import plot
    from tfcluster.cluster._kmeans import KMeans
    from tfcluster.selection import suggest_k, sweep

    result = sweep(KMeans(n_init=3, random_state=seed), X, range(2, 13), scores=("silhouette",))
    k = suggest_k(result, "silhouette")
    _scores(f"KMeans on raw pixels, k={k} by silhouette", y, result.model(k).labels_)
    _scores("KMeans on raw pixels, k=10", y, result.model(10).labels_)
    ax = plot.k_scores(result, "silhouette")
    return _save(folder, "digits_pixels_silhouette.png", ax, "digits, raw pixels: silhouette")


def _gmm(folder, seed):
    from tfcluster import plot
    from tfcluster.datasets import load_iris
    from tfcluster.mixture._gaussian_mixture import GaussianMixture

    X, y = load_iris()
    X = X[:, 2:4]  # petal length, petal width (cm)
    gmm = GaussianMixture(3, covariance_type="full", n_init=3, random_state=seed).fit(X)
    _scores("GaussianMixture on iris petals (full cov.)", y, gmm.predict(X))
    ax = plot.gmm_contours(gmm, X)
    ax.set_xlabel("petal length (cm)")
    ax.set_ylabel("petal width (cm)")
    return _save(folder, "iris_gmm_contours.png", ax, "iris petals: 3-component GMM")


def _som(folder, X, y, seed):
    from tfcluster import plot
    from tfcluster.cluster._kmeans import KMeans
    from tfcluster.som._som import SelfOrganizingMap

    som = SelfOrganizingMap(12, 12, sigma=2.0, learning_rate=0.5, random_state=seed)
    som.fit(X, num_iteration=6000)
    nodes = som.predict(X)
    _scores("SOM 12x12, one cluster per node", y, nodes)
    codebook = np.asarray(som.weights_).reshape(144, -1)
    node_cluster = KMeans(10, n_init=3, random_state=seed).fit(codebook).labels_
    _scores("SOM 12x12 nodes grouped by KMeans(10)", y, node_cluster[nodes])
    ax = plot.som_umatrix(som, X, y)
    return _save(folder, "digits_som_umatrix.png", ax, "digits: SOM U-matrix, digit of each node")


def run_demo(out="tfcluster-demo", *, force=False, seed=0) -> dict:
    """Run the walk-through, writing figures into ``out``; returns what was written."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from tfcluster.datasets import load_digits
    from tfcluster.images._sort import UsageError, run_images

    start = time.perf_counter()
    try:
        folder = OutputFolder(out, force=force)
    except OutputRefused as exc:
        raise UsageError(str(exc).replace("--out", "--out DIR")) from None
    X, y = load_digits()
    print(f"tfcluster demo -> {folder.path}")
    print(f"[1/5] writing the {len(X)} bundled digits as 32x32 PNG files ...")
    paths = _write_digits(folder, X)
    truth = dict(zip(paths, y, strict=True))

    pretrained = _imagenet_available()
    if pretrained:
        weights, size = "imagenet", 96
        print("[2/5] image pipeline: MobileNetV2 with ImageNet weights, 96x96 inputs")
    else:
        weights, size = None, 32
        print(
            "[2/5] image pipeline: ImageNet weights are not available offline, so the FALLBACK "
            "is MobileNetV2 with random weights (weights=None): its features are poor, the "
            "raw pixels below are the meaningful reference. With internet, the weights are "
            "downloaded once and cached."
        )
    result = run_images(
        folder.abs("digits"),
        folder.abs("sorted"),
        k="auto",
        k_max=12,
        weights=weights,
        input_size=size,
        batch_size=128,
        seed=seed,
        force=True,
        log=lambda line: print(f"      {line}"),
    )
    print("      scores against the true digits:")
    labels_true = np.array([truth[os.path.abspath(p)] for p in result.paths])
    backbone = "ImageNet" if pretrained else "random (fallback)"
    _scores(f"images -> MobileNetV2 {backbone} -> KMeans", labels_true, result.labels)
    figures = [f"sorted/{f}" for f in ("k_scores.png", "examples.png")]

    print("[3/5] raw pixels -> KMeans, k by silhouette")
    figures.append(_pixels(folder, X, y, seed))
    print("[4/5] iris petal length/width -> GaussianMixture")
    figures.append(_gmm(folder, seed))
    print("[5/5] digits -> SelfOrganizingMap")
    figures.append(_som(folder, X, y, seed))
    folder.remove_stale()
    folder.write_manifest()
    print(f"figures in {folder.path}: {', '.join(figures)}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return {"out": folder.path, "figures": figures, "pretrained": pretrained}
