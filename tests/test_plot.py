"""tfcluster.plot: every figure renders under Agg to a PNG that is not blank."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from tfcluster import plot  # noqa: E402
from tfcluster.kmeans import KMeans  # noqa: E402
from tfcluster.mixture import GaussianMixture  # noqa: E402
from tfcluster.selection import sweep  # noqa: E402
from tfcluster.som import SelfOrganizingMap  # noqa: E402


def _pixels(fig) -> np.ndarray:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    plt.close(fig)
    buffer.seek(0)
    return mpimg.imread(buffer)[..., :3]  # [h, w, 3] in 0..1


def _empty_axes_pixels(size) -> np.ndarray:
    fig, _ = plt.subplots(figsize=size)
    return _pixels(fig)


def assert_drawn(ax):
    """The figure holds markedly more ink than an empty Axes of the same size."""
    fig = ax.figure
    size = tuple(fig.get_size_inches())
    image = _pixels(fig)
    blank = _empty_axes_pixels(size)
    assert image.shape == blank.shape
    assert image.std() > 0.05
    ink = np.mean(image.mean(axis=2) < 0.9)
    blank_ink = np.mean(blank.mean(axis=2) < 0.9)
    assert ink > 1.5 * blank_ink + 0.005, (ink, blank_ink)


def test_k_scores(iris):
    X, _ = iris
    result = sweep(KMeans(random_state=0), X, range(2, 7), scores=("inertia", "silhouette"))
    for score, method in (("inertia", "elbow"), ("silhouette", "silhouette")):
        ax = plot.k_scores(result, score=score)
        assert ax.get_ylabel() == score
        assert any(text.get_text().startswith(method) for text in ax.get_legend().get_texts())
        assert_drawn(ax)
    with pytest.raises(ValueError, match="bic"):
        plot.k_scores(result, score="bic")


def test_silhouette(iris):
    X, y = iris
    ax = plot.silhouette(X, y)
    assert len(ax.collections) == 3  # one band per cluster
    assert_drawn(ax)
    with pytest.raises(ValueError, match="Number of labels"):
        plot.silhouette(X, np.zeros(len(X)))


def test_clusters_projects_above_two_dimensions(digits):
    X, y = digits
    km = KMeans(10, random_state=0).fit(X)
    ax = plot.clusters(X, km.labels_, centers=km.cluster_centers_)
    assert ax.get_xlabel() == "PC 1"
    # the projection is the leading principal plane: same spread as scikit-learn's PCA
    from sklearn.decomposition import PCA

    projected = np.vstack([c.get_offsets() for c in ax.collections[:10]])
    expected = PCA(2).fit(X).explained_variance_
    np.testing.assert_allclose(projected.var(axis=0, ddof=1), expected, rtol=1e-6)
    assert_drawn(ax)
    with pytest.raises(ValueError, match="features"):
        plot.clusters(X, y, centers=km.cluster_centers_[:, :5])


def test_clusters_on_given_axes_two_dimensions(blobs):
    X, y = blobs
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot.clusters(X, y, ax=right)
    assert ax is right
    assert ax.get_xlabel() == "feature 0"
    np.testing.assert_allclose(
        np.vstack([c.get_offsets() for c in ax.collections]),
        np.vstack([X[y == k] for k in np.unique(y)]),
    )
    assert_drawn(ax)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_gmm_contours(covariance_type, blobs, iris):
    X, _ = blobs
    gmm = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(X)
    assert_drawn(plot.gmm_contours(gmm, X))
    X4, _ = iris  # 4 features: the density on the principal plane
    gmm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X4)
    ax = plot.gmm_contours(gmm, X4)
    assert ax.get_xlabel() == "PC 1"
    assert_drawn(ax)
    with pytest.raises(TypeError, match="score_samples"):
        plot.gmm_contours(KMeans(2).fit(X), X)


def test_som_umatrix(iris):
    X, y = iris
    som = SelfOrganizingMap(6, 7, random_state=0).fit(X)
    ax = plot.som_umatrix(som)
    assert ax.images[0].get_array().shape == (6, 7)
    assert_drawn(ax)
    ax = plot.som_umatrix(som, X, y)
    marked = [c for c in ax.collections if len(c.get_offsets()) > 0]
    assert sum(len(c.get_offsets()) for c in marked) == len(X)
    # every sample is marked inside its winner's cell
    i, j = np.divmod(som.predict(X), 7)
    offsets = np.vstack([c.get_offsets() for c in marked])
    order = np.concatenate([np.flatnonzero(y == k) for k in np.unique(y)])
    assert np.all(np.abs(offsets[:, 0] - j[order]) <= 0.25)
    assert np.all(np.abs(offsets[:, 1] - i[order]) <= 0.25)
    assert_drawn(ax)


def test_image_grid_from_files_and_arrays(tmp_path, digits):
    X, y = digits
    images = X.reshape(-1, 8, 8)[:60]
    labels = y[:60] % 4
    paths = []
    for index, image in enumerate(images[:24]):
        path = tmp_path / f"digit_{index}.png"
        mpimg.imsave(path, image, cmap="gray")
        paths.append(str(path))
    ax = plot.image_grid(paths, labels[:24], per_cluster=5)
    clusters = np.unique(labels[:24])
    counts = np.bincount(labels[:24])
    assert len(ax.images) == sum(min(c, 5) for c in counts)
    assert [t.get_text() for t in ax.get_yticklabels()] == [f"{k} ({counts[k]})" for k in clusters]
    assert_drawn(ax)
    ax = plot.image_grid(list(images), labels, per_cluster=3)
    assert len(ax.images) == 12
    assert_drawn(ax)
    with pytest.raises(FileNotFoundError):
        plot.image_grid([str(tmp_path / "missing.png")], [0])
    with pytest.raises(ValueError, match="length"):
        plot.image_grid(paths, labels)
