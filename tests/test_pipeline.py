"""ImageClusterer: embed-then-cluster with KMeans, GaussianMixture and SelfOrganizingMap."""

import os

import numpy as np
import pytest

from tfcluster import NotFittedError
from tfcluster._external_metrics import adjusted_rand_score
from tfcluster.kmeans import KMeans
from tfcluster.pipeline import ImageClusterer, assignment_scores


def _groups(root, paths, info):
    return [info["valid"][os.path.relpath(p, root).replace(os.sep, "/")] for p in paths]


def test_kmeans_sorts_colour_groups(folder, embedder):
    root, info = folder
    km = KMeans(4, n_init=3, random_state=0)
    model = ImageClusterer(embedder, km)
    with pytest.warns(UserWarning, match="skipped 2"):
        model.fit(root)
    groups = _groups(root, model.paths_, info)
    assert adjusted_rand_score(groups, model.labels_) == 1.0
    assert model.embeddings_.shape == (len(info["valid"]), 1280)
    assert sorted(os.path.basename(p) for p, _ in model.skipped_) == [
        "broken.png",
        "truncated.jpg",
    ]
    assert not hasattr(km, "labels_")  # the clusterer given is copied, not fitted
    np.testing.assert_array_equal(model.clusterer_.labels_, model.labels_)
    np.testing.assert_array_equal(model.predict(model.paths_), model.labels_)
    name, scores = model.scores()
    centers = model.clusterer_.cluster_centers_[model.labels_]  # oracle: numpy distances
    expected = np.linalg.norm(model.embeddings_ - centers, axis=1)
    assert name == "distance"
    np.testing.assert_allclose(scores, expected, rtol=1e-3, atol=1e-4)


def test_fit_predict_equals_fit_labels(embedder):
    images = np.zeros((6, 32, 32, 3))
    images[3:] = 255.0
    model = ImageClusterer(embedder, KMeans(2, random_state=0))
    labels = model.fit_predict(images)
    np.testing.assert_array_equal(labels, model.fit(images).labels_)
    assert labels[0] != labels[3] and len(set(labels[:3])) == 1 and len(set(labels[3:])) == 1
    assert model.paths_ is None and model.skipped_ == []


def test_gaussian_mixture_and_som(folder, embedder):
    from tfcluster.mixture import GaussianMixture
    from tfcluster.som import SelfOrganizingMap

    root, info = folder
    paths = [os.path.join(root, rel) for rel in info["valid"]]
    groups = list(info["valid"].values())
    gmm = ImageClusterer(embedder, GaussianMixture(4, covariance_type="diag", random_state=0))
    gmm.fit(paths)
    assert adjusted_rand_score(groups, gmm.labels_) == 1.0
    name, proba = gmm.scores()
    assert name == "probability" and np.all((proba > 0.5) & (proba <= 1.0))
    som = ImageClusterer(embedder, SelfOrganizingMap(2, 2, sigma=0.5, random_state=0)).fit(paths)
    assert set(som.labels_) <= set(range(4))
    np.testing.assert_array_equal(som.predict(paths), som.labels_)
    name, dist = som.scores()
    expected = np.asarray(som.clusterer_.transform(som.embeddings_)).min(axis=1)
    assert name == "distance"
    np.testing.assert_allclose(dist, expected, rtol=1e-5)


def test_som_training_length_comes_from_its_constructor(embedder):
    from sklearn.base import clone

    from tfcluster.som import SelfOrganizingMap

    images = np.random.default_rng(0).uniform(0, 255, size=(12, 32, 32, 3))
    som = SelfOrganizingMap(2, 3, mode="batch", epochs=3, random_state=0)
    model = ImageClusterer(embedder, som).fit(images)
    assert model.clusterer_.n_iter_ == 3 and model.clusterer_.get_params()["mode"] == "batch"
    direct = SelfOrganizingMap(2, 3, mode="batch", epochs=3, random_state=0)
    direct.fit(model.embeddings_)
    np.testing.assert_array_equal(model.clusterer_.weights_, direct.weights_)
    assert clone(model).get_params()["clusterer"].get_params()["epochs"] == 3
    assert not hasattr(som, "weights_")


def test_clone_and_errors(embedder):
    from sklearn.base import clone

    model = ImageClusterer(embedder, KMeans(3))
    copy = clone(model)
    assert copy.get_params()["clusterer"].n_clusters == 3
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((1, 32, 32, 3)))
    with pytest.raises(TypeError, match="clusterer must be an estimator"):
        ImageClusterer(embedder, "kmeans").fit(np.zeros((2, 32, 32, 3)))
    with pytest.raises(TypeError, match="embed"):
        ImageClusterer(object(), KMeans(2)).fit(np.zeros((2, 32, 32, 3)))
    with pytest.raises(TypeError, match="neither predict_proba nor transform"):
        assignment_scores(object(), np.zeros((1, 2)), [0])
