"""SphericalKMeans: toy cases, a numpy reference as oracle, invariants, bad input."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone

from tfcluster import KMeans, SphericalKMeans
from tfcluster._engine import trace_counts


def _unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def _reference(X, centers, max_iter=300, w=None):
    """Spherical k-means in numpy (float64), tol=0: labels, centers, n_iter."""
    Xn = _unit(np.asarray(X, np.float64))
    w = np.ones(len(Xn)) if w is None else np.asarray(w, np.float64)
    C = _unit(np.asarray(centers, np.float64))
    it = 0
    while it < max_iter:
        it += 1
        labels = np.argmax(Xn @ C.T, axis=1)
        sums = np.zeros_like(C)
        np.add.at(sums, labels, Xn * w[:, None])
        assert np.all(np.linalg.norm(sums, axis=1) > 0), "reference: an empty cluster"
        new = _unit(sums)
        if np.sum((new - C) ** 2) == 0:
            C = new
            break
        C = new
    labels = np.argmax(Xn @ C.T, axis=1)
    return labels, C, it, np.sum(w * (1 - np.sum(Xn * C[labels], axis=1)))


def _cosine_objective(X, labels):
    """sum(1 - cos) of the rows to the mean direction of their label."""
    Xn = _unit(X)
    total = 0.0
    for j in np.unique(labels):
        rows = Xn[labels == j]
        c = rows.sum(0) / np.linalg.norm(rows.sum(0))
        total += np.sum(1 - rows @ c)
    return total


# 1. Hand-computed cases ------------------------------------------------------------


def test_toy_exact():
    X = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0], [-1.0, 1.0]])
    init = np.array([[1.0, 0.0], [0.0, 1.0]])
    skm = SphericalKMeans(2, init=init, dtype="float64").fit(X)
    np.testing.assert_array_equal(skm.labels_, [0, 0, 1, 1])
    s = 1 / np.sqrt(2)
    c0 = _unit(np.array([[1 + s, s]]))[0]  # normalised sum of (1, 0) and (s, s)
    c1 = _unit(np.array([[-s, 1 + s]]))[0]
    np.testing.assert_allclose(skm.cluster_centers_, [c0, c1], atol=1e-12)
    expected = (1 - c0[0]) + (1 - c0 @ [s, s]) + (1 - c1[1]) + (1 - c1 @ [-s, s])
    assert skm.inertia_ == pytest.approx(expected)
    assert skm.score(X) == pytest.approx(-expected)
    np.testing.assert_allclose(skm.transform(X), 1 - _unit(X) @ skm.cluster_centers_.T)
    np.testing.assert_array_equal(skm.predict([[10.0, 1.0], [-1.0, 5.0]]), [0, 1])


def test_length_does_not_matter(iris):
    X, _ = iris
    scale = np.random.default_rng(0).uniform(0.1, 10.0, size=(len(X), 1))
    a = SphericalKMeans(3, random_state=1, dtype="float64").fit(X)
    b = SphericalKMeans(3, random_state=1, dtype="float64").fit(X * scale)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    assert a.inertia_ == pytest.approx(b.inertia_)


# 2. Oracles --------------------------------------------------------------------------


@pytest.mark.parametrize("k", [5, 10])
def test_numpy_reference_same_init(digits, k):
    X, _ = digits
    rng = np.random.default_rng(k)
    init = X[rng.choice(len(X), k, replace=False)] + 0.1
    skm = SphericalKMeans(k, init=init, tol=0.0, dtype="float64").fit(X)
    labels, C, n_iter, inertia = _reference(X, init)
    np.testing.assert_array_equal(skm.labels_, labels)
    np.testing.assert_allclose(skm.cluster_centers_, C, atol=1e-10)
    assert skm.n_iter_ == n_iter and skm.converged_
    assert skm.inertia_ == pytest.approx(inertia, rel=1e-10)


def test_weighted_reference(iris):
    X, _ = iris
    w = np.random.default_rng(0).integers(0, 4, len(X)).astype(float)
    init = X[[0, 60, 120]]
    skm = SphericalKMeans(3, init=init, tol=0.0, dtype="float64").fit(X, sample_weight=w)
    labels, C, _, inertia = _reference(X, init, w=w)
    np.testing.assert_array_equal(skm.labels_, labels)
    assert skm.inertia_ == pytest.approx(inertia)
    # integer weights are repeated rows
    rep = SphericalKMeans(3, init=init, tol=0.0, dtype="float64")
    rep.fit(np.repeat(X, w.astype(int), 0))
    np.testing.assert_allclose(rep.cluster_centers_, skm.cluster_centers_, atol=1e-12)


def test_beats_kmeans_on_normalised_rows(digits):
    X, _ = digits
    ours, theirs = [], []
    for seed in range(3):
        skm = SphericalKMeans(10, n_init=3, random_state=seed).fit(X)
        km = KMeans(10, n_init=3, random_state=seed).fit(_unit(X))
        # the spherical objective of each labelling, with its best (mean direction) centers
        ours.append(_cosine_objective(X, skm.labels_))
        theirs.append(_cosine_objective(X, km.labels_))
        assert skm.inertia_ == pytest.approx(ours[-1], rel=1e-4)
    assert np.median(ours) <= np.median(theirs) * 1.001


# 3. Invariants and contract -----------------------------------------------------------


def test_stream_equals_memory(digits):
    X, _ = digits
    init = X[:8]
    a = SphericalKMeans(8, init=init, dtype="float64").fit(X)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(300)
    b = SphericalKMeans(8, init=init, dtype="float64").fit(ds)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-12)
    np.testing.assert_array_equal(b.predict(ds), a.labels_)


def test_transform_of_a_row_does_not_depend_on_its_batch(digits):
    # scikit-learn's check_methods_sample_order_invariance, exactly: through a GEMM,
    # 12 of these 20 seeds once gave permuted rows distances differing in the last bit
    for seed in range(20):
        rng = np.random.RandomState(seed)
        X = 3 * rng.uniform(size=(20, 3))  # the check's data
        est = SphericalKMeans(2, n_init=2, max_iter=5, random_state=0).fit(X)
        perm = rng.permutation(len(X))
        whole = est.transform(X)
        np.testing.assert_array_equal(est.transform(X[perm]), whole[perm])
        np.testing.assert_array_equal(est.transform(X[5:16]), whole[5:16])
    X = digits[0]
    est = SphericalKMeans(5, random_state=0).fit(X)
    want = 1 - _unit(X) @ est.cluster_centers_.T.astype(np.float64)
    np.testing.assert_allclose(est.transform(X), want, atol=1e-6)


def test_fit_predict_and_seeds(digits):
    X, _ = digits
    a = SphericalKMeans(10, random_state=3).fit(X)
    np.testing.assert_array_equal(a.predict(X), a.labels_)
    b = SphericalKMeans(10, random_state=3)
    np.testing.assert_array_equal(b.fit_predict(X), a.labels_)
    assert a.transform(X).shape == (len(X), 10)
    assert a.get_feature_names_out()[0] == "sphericalkmeans0"
    c = clone(a)
    assert c.get_params() == a.get_params() and not hasattr(c, "labels_")
    for init in ("random", "k-means||"):
        m = SphericalKMeans(10, init=init, random_state=0).fit(X)
        np.testing.assert_allclose(np.linalg.norm(m.cluster_centers_, axis=1), 1.0, atol=1e-5)


def test_one_trace_per_bucket(iris):
    X, _ = iris
    SphericalKMeans(3, random_state=0).fit(X)
    before = trace_counts().get("spherical.lloyd", 0)
    for k in (2, 4, 5):
        SphericalKMeans(k, random_state=0, max_iter=50, tol=1e-3).fit(X[: 100 + k])
    assert trace_counts().get("spherical.lloyd", 0) == before


def test_zero_rows_rejected():
    X = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="zero norm.*index 1"):
        SphericalKMeans(2).fit(X)
    with pytest.raises(ValueError, match="zero norm"):
        SphericalKMeans(2).fit(tf.data.Dataset.from_tensor_slices(X).batch(2))
    skm = SphericalKMeans(2, random_state=0).fit(X[[0, 2]])
    with pytest.raises(ValueError, match="zero norm"):
        skm.predict(X)
    with pytest.raises(ValueError, match="zero norm"):
        SphericalKMeans(2, init=np.array([[1.0, 0.0], [0.0, 0.0]])).fit(X[[0, 2]])


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_clusters": 0}, ValueError, "n_clusters"),
        ({"init": "nope"}, ValueError, "k-means\\+\\+"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"dtype": "int8"}, ValueError, "float32"),
        ({"max_iter": 1.5}, TypeError, "max_iter"),
    ],
)
def test_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        SphericalKMeans(**{"n_clusters": 2, **params}).fit(np.eye(3))


def test_not_fitted_and_too_few_rows():
    from tfcluster import NotFittedError

    with pytest.raises(NotFittedError):
        SphericalKMeans(2).predict(np.eye(2))
    with pytest.raises(ValueError, match="n_samples=2 should be >= n_clusters=3"):
        SphericalKMeans(3).fit(np.eye(2))


def test_sweep_and_image_sorter(iris):
    from tfcluster import suggest_k, sweep
    from tfcluster.images._sort import make_clusterer

    X, _ = iris
    assert isinstance(make_clusterer("spherical", 3, 0), SphericalKMeans)
    scores = ("silhouette", "inertia")
    result = sweep(SphericalKMeans(random_state=0), X, range(2, 5), scores=scores)
    assert suggest_k(result, "silhouette") in (2, 3, 4)
    assert np.all(np.diff(result.scores["inertia"]) <= 1e-6)  # more clusters, less 1 - cos


def test_docstring_examples_and_sklearn_tools(iris):
    import doctest

    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import tfcluster.spherical

    result = doctest.testmod(tfcluster.spherical, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
    X = iris[0]
    pipe = make_pipeline(StandardScaler(), SphericalKMeans(3, random_state=0)).fit(X)
    alone = SphericalKMeans(3, random_state=0).fit(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(pipe.predict(X), alone.labels_)
    search = GridSearchCV(SphericalKMeans(random_state=0), {"n_clusters": [2, 4]}, cv=3).fit(X)
    assert search.best_params_ == {"n_clusters": 4}  # more clusters, less 1 - cos


def test_images_cli_spherical(folder, tmp_path, capsys):
    import csv

    from tfcluster.cli import main

    src, info = folder
    out = str(tmp_path / "spherical")
    fast = ["--weights", "none", "--input-size", "32", "--batch-size", "16"]
    assert main(["images", src, "--out", out, "--k", "3", "--algorithm", "spherical", *fast]) == 0
    with open(f"{out}/assignments.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][2] == "distance" and len(rows) == len(info["valid"]) + 1
    distances = np.array([float(r[2]) for r in rows[1:]])
    assert np.all((distances >= -1e-6) & (distances <= 2 + 1e-6))  # 1 - cos
    capsys.readouterr()
