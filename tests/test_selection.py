"""tfcluster.selection: sweeps over k and the rules that suggest a k."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.cluster import KMeans as SkKMeans

from tfcluster import metrics
from tfcluster.kmeans import KMeans
from tfcluster.mixture import GaussianMixture
from tfcluster.selection import SweepResult, grid_shape, suggest_k, sweep
from tfcluster.som import SelfOrganizingMap


def separated_blobs(n_centers, seed, *, n_features=2, per_center=60, min_gap=8.0):
    """Gaussian blobs (std 1) whose centers are at least ``min_gap`` apart."""
    rng = np.random.default_rng(seed)
    box = 6.0 * n_centers ** (1.0 / n_features) * min_gap / 2
    centers = []
    while len(centers) < n_centers:
        c = rng.uniform(-box, box, n_features)
        if all(np.linalg.norm(c - other) >= min_gap for other in centers):
            centers.append(c)
    y = np.repeat(np.arange(n_centers), per_center)
    X = np.asarray(centers)[y] + rng.normal(size=(len(y), n_features))
    return X, y


class ToyMap:
    """A test-only estimator sized by a grid ``m x n``, clustering with scikit-learn."""

    def __init__(self, m=2, n=2, random_state=0):
        self.m = m
        self.n = n
        self.random_state = random_state

    def get_params(self, deep=True):
        return {"m": self.m, "n": self.n, "random_state": self.random_state}

    def set_params(self, **params):
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def fit(self, X, y=None):
        km = SkKMeans(self.m * self.n, n_init=3, random_state=self.random_state).fit(X)
        self.labels_ = km.labels_
        self.inertia_ = km.inertia_
        return self


class NoSize:
    def get_params(self, deep=True):
        return {"alpha": 1.0}

    def fit(self, X, y=None):
        return self


class NoLabels:
    def __init__(self, n_clusters=2):
        self.n_clusters = n_clusters

    def get_params(self, deep=True):
        return {"n_clusters": self.n_clusters}

    def fit(self, X, y=None):
        self.inertia_ = 1.0
        return self


# -- the elbow rule ------------------------------------------------------------------------


@pytest.mark.parametrize("true_k", range(3, 9))
def test_elbow_finds_true_k_on_separated_blobs(true_k):
    for seed in range(3):
        X, _ = separated_blobs(true_k, seed)
        result = sweep(KMeans(n_init=3, random_state=seed), X, range(1, 13), scores=("inertia",))
        assert suggest_k(result, "elbow") == true_k, (seed, result.scores["inertia"])


def test_elbow_where_plain_kneedle_fails():
    """Kneedle's largest distance below the chord of raw inertia stops too early here."""
    X, _ = separated_blobs(7, 1, n_features=5)
    result = sweep(KMeans(n_init=3, random_state=0), X, range(1, 13), scores=("inertia",))
    k = np.asarray(result.k_values, dtype=float)
    inertia = result.scores["inertia"]
    x = (k - k[0]) / (k[-1] - k[0])
    y = (inertia - inertia.min()) / (inertia.max() - inertia.min())
    kneedle = int(k[np.argmax((1 - x) - y)])
    assert kneedle != 7
    assert suggest_k(result, "elbow") == 7


def test_elbow_rule_by_hand():
    def result(inertia, ks=None):
        ks = list(range(1, len(inertia) + 1)) if ks is None else ks
        return SweepResult(ks, {"inertia": np.array(inertia, float)}, [None] * len(ks), None)

    # log drops: 0.69, 1.61, 0.11, 0.06 -> ratios 0.43, 15.3, 1.9 -> k = 3
    assert suggest_k(result([100, 50, 10, 9, 8.5]), "elbow") == 3
    # a worse local optimum at k = 4 does not hide the elbow
    assert suggest_k(result([100, 50, 10, 12, 8.5, 8.2]), "elbow") == 3
    # uneven k: drops are per added cluster
    assert suggest_k(result([100, 10, 9, 8.8], ks=[2, 4, 8, 9]), "elbow") == 4
    with pytest.raises(ValueError, match="3 or more"):
        suggest_k(result([100, 10]), "elbow")


# -- the other rules on real estimators ----------------------------------------------------


@pytest.mark.parametrize("true_k", [3, 5])
def test_label_scores_find_true_k(true_k):
    X, _ = separated_blobs(true_k, 0)
    scores = ("inertia", "silhouette", "davies_bouldin", "calinski_harabasz")
    result = sweep(KMeans(n_init=3, random_state=0), X, range(2, 9), scores=scores)
    for method in ("elbow", "silhouette", "davies_bouldin", "calinski_harabasz"):
        assert suggest_k(result, method) == true_k, method


def test_sweep_minibatch_kmeans():
    from tfcluster import MiniBatchKMeans

    X, _ = separated_blobs(4, 3)
    result = sweep(MiniBatchKMeans(random_state=0), X, range(2, 8))
    assert [m.n_clusters for m in result.models] == list(range(2, 8))
    assert suggest_k(result, "silhouette") == 4
    assert suggest_k(result, "elbow") == 4


def test_scores_are_those_of_the_models(iris):
    X, _ = iris
    scores = ("inertia", "silhouette", "davies_bouldin", "calinski_harabasz")
    result = sweep(KMeans(random_state=0), X, [4, 2, 3], scores=scores)
    assert result.k_values == [2, 3, 4]
    for i, (k, model) in enumerate(zip(result.k_values, result.models, strict=True)):
        assert model.n_clusters == k
        assert result.model(k) is model
        assert result.scores["inertia"][i] == model.inertia_
        labels = model.labels_
        assert result.scores["silhouette"][i] == metrics.silhouette_score(X, labels)
        assert result.scores["davies_bouldin"][i] == metrics.davies_bouldin_score(X, labels)
        assert result.scores["calinski_harabasz"][i] == pytest.approx(
            metrics.calinski_harabasz_score(X, labels)
        )
    assert np.all(result.fit_seconds > 0)


def test_bic_and_aic_with_gaussian_mixture():
    X, _ = separated_blobs(4, 2, per_center=80)
    gm = GaussianMixture(covariance_type="diag", n_init=2, random_state=0)
    result = sweep(gm, X, range(2, 8), scores=("bic", "aic", "silhouette"))
    assert [m.n_components for m in result.models] == list(range(2, 8))
    for i, model in enumerate(result.models):
        assert result.scores["bic"][i] == pytest.approx(model.bic(X))
    assert suggest_k(result, "bic") == 4
    assert suggest_k(result, "aic") == 4
    assert suggest_k(result, "silhouette") == 4
    assert gm.n_components == 1  # the estimator passed in is not changed
    assert not hasattr(gm, "means_")


def test_map_size_is_the_squarest_grid():
    assert [grid_shape(k) for k in (1, 2, 4, 6, 7, 9, 12, 16)] == [
        (1, 1),
        (1, 2),
        (2, 2),
        (2, 3),
        (1, 7),
        (3, 3),
        (3, 4),
        (4, 4),
    ]
    X, _ = separated_blobs(4, 0)
    result = sweep(ToyMap(), X, [1, 2, 4, 6, 9], scores=("inertia", "silhouette"))
    assert [(m.m, m.n) for m in result.models] == [(1, 1), (1, 2), (2, 2), (2, 3), (3, 3)]
    assert np.isnan(result.scores["silhouette"][0])  # one cluster: undefined, not an error
    assert suggest_k(result, "silhouette") == 4


def test_sweep_self_organizing_map(iris):
    X, _ = iris
    som = SelfOrganizingMap(random_state=0)
    result = sweep(som, X, [2, 4, 6], scores=("silhouette", "calinski_harabasz"))
    assert [m.weights_.shape for m in result.models] == [(1, 2, 4), (2, 2, 4), (2, 3, 4)]
    for i, model in enumerate(result.models):
        expected = metrics.silhouette_score(X, model.labels_)
        assert result.scores["silhouette"][i] == expected
    assert (som.m, som.n) == (10, 10)  # unchanged
    with pytest.raises(ValueError, match="'inertia'.*SelfOrganizingMap"):
        sweep(som, X, [2, 4], scores=("inertia",))


def test_sweep_carries_the_som_training_length(iris):
    X, _ = iris
    som = SelfOrganizingMap(sigma=0.8, mode="batch", epochs=3, random_state=0)
    result = sweep(som, X, [2, 3, 4], scores=("silhouette",))
    for k, model in zip(result.k_values, result.models, strict=True):
        assert model.n_iter_ == 3 and model.get_params()["mode"] == "batch"
        m, n = grid_shape(k)
        direct = SelfOrganizingMap(m, n, sigma=0.8, mode="batch", epochs=3, random_state=0)
        np.testing.assert_array_equal(model.weights_, direct.fit(X).weights_)
    assert suggest_k(result, "silhouette") in (2, 3, 4)
    online = sweep(SelfOrganizingMap(random_state=0), X, [2, 6], scores=("silhouette",))
    assert [m.n_iter_ for m in online.models] == [500 * 2, 500 * 6]  # 500 * m * n each
    assert som.get_params()["epochs"] == 3 and not hasattr(som, "weights_")


def test_a_factory_builds_each_k_its_own_estimator(iris):
    X, _ = iris

    def make(k):
        m, n = grid_shape(k)
        return SelfOrganizingMap(
            m, n, sigma=max(0.5, m / 2), mode="batch", epochs=3, random_state=0
        )

    result = sweep(make, X, [2, 4, 9])
    assert list(result.scores) == ["silhouette"]  # a map's default
    assert [m.sigma for m in result.models] == [0.5, 1.0, 1.5]
    for k, model in zip(result.k_values, result.models, strict=True):
        np.testing.assert_array_equal(model.weights_, make(k).fit(X).weights_)


def test_default_scores_suit_the_estimator(iris):
    X, _ = iris
    assert list(sweep(KMeans(random_state=0), X, [2, 3]).scores) == ["inertia", "silhouette"]
    gm = sweep(GaussianMixture(random_state=0), X, [2, 3])
    assert list(gm.scores) == ["bic", "silhouette"]
    np.testing.assert_allclose(gm.scores["bic"], [m.bic(X) for m in gm.models])


def test_a_stream_sweeps_the_criteria_that_need_no_labels(iris):
    X, _ = iris
    stream = tf.data.Dataset.from_tensor_slices(X.astype(np.float32)).batch(32)
    result = sweep(KMeans(random_state=0), stream, [2, 3], scores=("inertia",))
    assert np.all(np.diff(result.scores["inertia"]) < 0)
    assert list(sweep(KMeans(random_state=0), stream, [2, 3]).scores) == ["inertia"]
    with pytest.raises(ValueError, match="'silhouette' needs X in memory"):
        sweep(KMeans(random_state=0), stream, [2, 3], scores="silhouette")  # before any fit


def test_verbose_prints_progress(capsys, iris):
    X, _ = iris
    sweep(KMeans(random_state=0), X, [2, 3], scores="inertia", verbose=True)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert "k=2 (1/2)" in lines[0] and "inertia=" in lines[0]
    sweep(KMeans(random_state=0), X, [2, 3], scores="inertia")
    assert capsys.readouterr().out == ""


# -- bad input -----------------------------------------------------------------------------


def test_errors(iris):
    X, _ = iris
    km = KMeans(random_state=0)
    with pytest.raises(ValueError, match="Unknown score 'likelihood'.*'inertia'"):
        sweep(km, X, [2, 3], scores=("likelihood",))
    with pytest.raises(ValueError, match="'bic'.*KMeans"):
        sweep(km, X, [2, 3], scores=("inertia", "bic"))
    with pytest.raises(ValueError, match="'inertia'.*GaussianMixture"):
        sweep(GaussianMixture(), X, [2, 3], scores=("inertia",))
    with pytest.raises(ValueError, match="empty"):
        sweep(km, X, [])
    with pytest.raises(ValueError, match="empty"):
        sweep(km, X, [2], scores=())
    with pytest.raises(ValueError, match="repeated"):
        sweep(km, X, [2, 3, 2])
    with pytest.raises(ValueError, match=">= 1"):
        sweep(km, X, [0, 2])
    with pytest.raises(TypeError, match="sequence"):
        sweep(km, X, 5)
    with pytest.raises(TypeError, match="n_clusters"):
        sweep(NoSize(), X, [2, 3], scores=("inertia",))
    with pytest.raises(TypeError, match="unfitted estimator .* or a function k -> estimator"):
        sweep(object(), X, [2, 3])
    with pytest.raises(TypeError, match="estimator\\(k\\) must return an estimator"):
        sweep(lambda k: k, X, [2, 3])
    with pytest.raises(ValueError, match="labels.*NoLabels"):
        sweep(NoLabels(), X, [2, 3], scores=("inertia", "silhouette"))
    result = sweep(km, X, [2, 3, 4], scores=("inertia",))
    with pytest.raises(ValueError, match="needs the score 'silhouette'"):
        suggest_k(result)
    with pytest.raises(ValueError, match="Unknown method 'gap'.*'elbow'"):
        suggest_k(result, "gap")
    with pytest.raises(ValueError, match="was not swept"):
        result.model(7)
