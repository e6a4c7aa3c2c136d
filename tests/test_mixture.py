"""GaussianMixture: oracle comparisons with scikit-learn, EM invariants, robustness, errors."""

import doctest
import warnings

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.mixture import GaussianMixture as SKGaussianMixture
from sklearn.mixture._gaussian_mixture import _estimate_gaussian_parameters

import tfcluster.mixture
from tfcluster import NotFittedError
from tfcluster.kmeans import ConvergenceWarning
from tfcluster.mixture import GaussianMixture

TYPES = ["full", "tied", "diag", "spherical"]


def _sk_init(X, k, ct, seed=0):
    """scikit-learn's own initial weights, means and precisions (max_iter=0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk0 = SKGaussianMixture(k, covariance_type=ct, max_iter=0, random_state=seed).fit(X)
    return {
        "weights_init": sk0.weights_,
        "means_init": sk0.means_,
        "precisions_init": sk0.precisions_,
    }


def _dataset(name, iris, wine, blobs):
    return {"iris": iris, "wine": wine, "blobs": blobs}[name][0]


@pytest.mark.parametrize("ct", TYPES)
@pytest.mark.parametrize("name", ["iris", "wine", "blobs"])
def test_matches_sklearn_from_same_init(name, ct, iris, wine, blobs):
    X = _dataset(name, iris, wine, blobs)
    k = 4 if name == "blobs" else 3
    kw = dict(covariance_type=ct, max_iter=200, tol=1e-5, **_sk_init(X, k, ct))
    sk = SKGaussianMixture(k, **kw).fit(X)
    gm = GaussianMixture(k, dtype="float64", **kw).fit(X)
    assert gm.n_iter_ == sk.n_iter_ and gm.converged_ == sk.converged_
    np.testing.assert_allclose(gm.score(X), sk.score(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(gm.lower_bound_, sk.lower_bound_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(gm.lower_bounds_, sk.lower_bounds_, rtol=0, atol=1e-6)
    np.testing.assert_allclose(gm.weights_, sk.weights_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(gm.means_, sk.means_, rtol=0, atol=1e-5)
    np.testing.assert_allclose(gm.covariances_, sk.covariances_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gm.precisions_, sk.precisions_, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        gm.precisions_cholesky_, sk.precisions_cholesky_, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(gm.score_samples(X), sk.score_samples(X), rtol=0, atol=1e-6)
    np.testing.assert_allclose(gm.predict_proba(X), sk.predict_proba(X), rtol=0, atol=1e-6)
    np.testing.assert_array_equal(gm.predict(X), sk.predict(X))
    np.testing.assert_allclose(gm.bic(X), sk.bic(X), rtol=1e-9)
    np.testing.assert_allclose(gm.aic(X), sk.aic(X), rtol=1e-9)
    assert gm._n_parameters() == sk._n_parameters()


@pytest.mark.parametrize("ct", TYPES)
def test_stopping_rule_and_max_iter(ct, iris):
    """Stopped by max_iter: same n_iter_, converged_ False and a ConvergenceWarning."""
    X = iris[0]
    kw = dict(covariance_type=ct, max_iter=3, tol=0.0, **_sk_init(X, 3, ct))
    with pytest.warns(Warning, match="did not converge"):
        sk = SKGaussianMixture(3, **kw).fit(X)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        gm = GaussianMixture(3, dtype="float64", **kw).fit(X)
    assert gm.n_iter_ == sk.n_iter_ == 3 and not gm.converged_
    np.testing.assert_allclose(gm.means_, sk.means_, atol=1e-9)


@pytest.mark.parametrize("ct", TYPES)
def test_initialisation_is_sklearn_m_step_on_kmeans_labels(ct, iris):
    X = iris[0]
    gm = GaussianMixture(3, covariance_type=ct, max_iter=0, random_state=0, dtype="float64")
    gm.fit(X)
    assert gm.n_iter_ == 0 and gm.lower_bound_ == -np.inf
    labels = np.argmin(((X[:, None, :] - gm.means_[None]) ** 2).sum(-1), axis=1)
    resp = np.eye(3)[labels]
    nk, means, cov = _estimate_gaussian_parameters(X, resp, 1e-6, ct)
    np.testing.assert_allclose(gm.weights_, nk / len(X), atol=1e-12)
    np.testing.assert_allclose(gm.means_, means, atol=1e-9)
    np.testing.assert_allclose(gm.covariances_, cov, atol=1e-9)


@pytest.mark.parametrize("init", ["k-means++", "random_from_data"])
def test_row_initialisations(init, iris):
    X = iris[0]
    gm = GaussianMixture(3, init_params=init, max_iter=0, random_state=1, dtype="float64")
    gm.fit(X)
    # each mean is a distinct data row and its covariance reg_covar * I, as scikit-learn
    dist = ((gm.means_[:, None, :] - X[None]) ** 2).sum(-1)
    assert np.all(dist.min(axis=1) < 1e-20)
    assert len({tuple(m) for m in gm.means_}) == 3
    np.testing.assert_allclose(
        gm.covariances_, np.broadcast_to(1e-6 * np.eye(4), (3, 4, 4)), rtol=1e-9, atol=1e-20
    )
    again = clone(gm).fit(X)
    np.testing.assert_array_equal(again.means_, gm.means_)


def test_random_initialisation(iris):
    X = iris[0]
    gm = GaussianMixture(3, init_params="random", max_iter=0, random_state=0, dtype="float64")
    gm.fit(X)
    # random responsibilities sum to one per row: the weights sum to one and every mean
    # is a convex combination of rows, near the data mean
    assert abs(gm.weights_.sum() - 1) < 1e-9
    assert np.all(np.abs(gm.means_ - X.mean(0)) < 0.5 * X.std(0))
    fitted = GaussianMixture(3, init_params="random", random_state=0).fit(X)
    assert fitted.converged_ and np.isfinite(fitted.score(X))


def test_lower_bound_never_falls_and_responsibilities(wine):
    X = wine[0]
    gm = GaussianMixture(
        4, covariance_type="diag", reg_covar=0.0, tol=0, max_iter=40, dtype="float64"
    )
    with pytest.warns(ConvergenceWarning):
        gm.set_params(random_state=0).fit(X)
    bounds = np.array(gm.lower_bounds_)
    assert len(bounds) == 40 and np.all(np.diff(bounds) >= -1e-9)
    proba = gm.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(gm.predict(X), proba.argmax(1))


def test_fit_predict_equals_fit_then_predict(blobs):
    X = blobs[0]
    gm = GaussianMixture(4, random_state=3)
    np.testing.assert_array_equal(gm.fit_predict(X), clone(gm).fit(X).predict(X))
    assert gm.predict(X).dtype == np.int32


@pytest.mark.parametrize("ct", TYPES)
def test_integer_weights_equal_repeated_rows(ct, iris):
    X = iris[0]
    w = np.arange(len(X)) % 3
    kw = dict(covariance_type=ct, tol=1e-6, dtype="float64", **_sk_init(X, 3, ct))
    weighted = GaussianMixture(3, **kw).fit(X, sample_weight=w)
    repeated = GaussianMixture(3, **kw).fit(np.repeat(X, w, axis=0))
    assert weighted.n_iter_ == repeated.n_iter_
    np.testing.assert_allclose(weighted.lower_bound_, repeated.lower_bound_, atol=1e-10)
    np.testing.assert_allclose(weighted.means_, repeated.means_, atol=1e-9)
    np.testing.assert_allclose(weighted.covariances_, repeated.covariances_, atol=1e-9)
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, atol=1e-10)


@pytest.mark.parametrize("ct", TYPES)
def test_streamed_equals_in_memory(ct, wine):
    X = wine[0]
    kw = dict(covariance_type=ct, dtype="float64", **_sk_init(X, 3, ct))
    memory = GaussianMixture(3, **kw).fit(X)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(37)
    streamed = GaussianMixture(3, **kw).fit(ds)
    assert streamed.n_iter_ == memory.n_iter_
    np.testing.assert_allclose(streamed.means_, memory.means_, rtol=1e-10)
    np.testing.assert_allclose(streamed.covariances_, memory.covariances_, rtol=1e-8)
    np.testing.assert_allclose(streamed.score(ds), memory.score(X), rtol=1e-12)


def test_streamed_with_weights_and_kmeans_init(iris):
    X = iris[0]
    w = (np.arange(len(X)) % 4).astype(np.float64)
    ds = tf.data.Dataset.from_tensor_slices((X, np.zeros(len(X)), w)).batch(16)
    kw = dict(dtype="float64", **_sk_init(X, 3, "full"))
    streamed = GaussianMixture(3, **kw).fit(ds)
    memory = GaussianMixture(3, **kw).fit(X, sample_weight=w)
    np.testing.assert_allclose(streamed.means_, memory.means_, rtol=1e-10)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(32)
    rows = GaussianMixture(3, init_params="random_from_data", random_state=0, max_iter=0)
    rows.fit(ds)  # the chosen rows are gathered from the stream
    assert np.all(((rows.means_[:, None, :] - X[None]) ** 2).sum(-1).min(1) < 1e-9)


def test_streamed_kmeans_init(iris):
    ds = tf.data.Dataset.from_tensor_slices(iris[0]).batch(32)
    gm = GaussianMixture(3, random_state=0).fit(ds)
    assert gm.converged_ and np.all(np.isfinite(gm.covariances_))


@pytest.mark.parametrize("ct", TYPES)
def test_sample_statistics_match_model(ct, iris):
    X = iris[0]
    gm = GaussianMixture(2, covariance_type=ct, random_state=0, dtype="float64").fit(X)
    Xs, ys = gm.sample(40000)
    assert Xs.shape == (40000, 4) and ys.dtype == np.int64
    assert np.all(np.diff(ys) >= 0)  # grouped by component, as scikit-learn
    np.testing.assert_allclose(np.bincount(ys, minlength=2) / 40000, gm.weights_, atol=0.01)
    cov = gm.covariances_
    if ct == "tied":
        cov = np.broadcast_to(cov, (2, 4, 4))
    elif ct != "full":
        cov = np.stack([c * np.eye(4) for c in cov])  # diag vector or spherical scalar
    full_cov = cov
    for j in range(2):
        rows = Xs[ys == j]
        scale = np.sqrt(np.diag(full_cov[j]))
        assert np.all(np.abs(rows.mean(0) - gm.means_[j]) < 0.05 * scale)
        np.testing.assert_allclose(np.cov(rows.T), full_cov[j], atol=0.06 * scale.max() ** 2)
    again = gm.sample(40000)
    np.testing.assert_array_equal(again[0], Xs)


@pytest.mark.parametrize("ct", TYPES)
def test_distribution_log_prob_equals_score_samples(ct, wine):
    X = wine[0]
    gm = GaussianMixture(3, covariance_type=ct, random_state=0, dtype="float64").fit(X)
    dist = gm.distribution
    assert type(dist).__name__ == "MixtureSameFamily"
    np.testing.assert_allclose(dist.log_prob(X).numpy(), gm.score_samples(X), atol=1e-8)


def test_as_layer_matches_estimator(iris):
    X = iris[0]
    gm = GaussianMixture(3, covariance_type="diag", random_state=0).fit(X)
    proba = gm.as_layer("proba")(X.astype(np.float32)).numpy()
    np.testing.assert_allclose(proba, gm.predict_proba(X), atol=1e-5)
    log_prob = gm.as_layer("log_prob")(X.astype(np.float32)).numpy()
    np.testing.assert_allclose(log_prob, gm.score_samples(X), rtol=1e-5, atol=1e-4)


def test_float32_default_close_to_float64(iris, digits):
    X = iris[0]
    kw = dict(covariance_type="full", max_iter=20, tol=0, **_sk_init(X, 3, "full"))
    with pytest.warns(ConvergenceWarning):
        g32 = GaussianMixture(3, **kw).fit(X)
        g64 = GaussianMixture(3, dtype="float64", **kw).fit(X)
    assert g32.means_.dtype == np.float32 and g32.score_samples(X).dtype == np.float32
    np.testing.assert_allclose(g32.score(X), g64.score(X), rtol=1e-5)
    np.testing.assert_allclose(g32.means_, g64.means_, atol=1e-4)
    # float32 on digits (constant pixels: variances of reg_covar only) stays finite
    gm = GaussianMixture(5, covariance_type="diag", random_state=0).fit(digits[0][:600])
    _finite(gm, digits[0][:600])


def test_warm_start_continues(iris):
    X = iris[0]
    kw = dict(dtype="float64", tol=0, **_sk_init(X, 3, "full"))
    with pytest.warns(ConvergenceWarning):
        once = GaussianMixture(3, max_iter=10, **kw).fit(X)
    twice = GaussianMixture(3, max_iter=5, warm_start=True, **kw)
    with pytest.warns(ConvergenceWarning):
        twice.fit(X).fit(X)
    np.testing.assert_allclose(twice.means_, once.means_, atol=1e-9)
    np.testing.assert_allclose(twice.covariances_, once.covariances_, atol=1e-9)
    with pytest.raises(ValueError, match="features"):
        twice.fit(X[:, :3])


def test_n_init_keeps_best(blobs):
    # the seeds of n_init runs extend those of fewer runs, so run 0 is the n_init=1 fit
    X = blobs[0]
    kw = dict(init_params="random", random_state=0, dtype="float64")
    single = GaussianMixture(4, n_init=1, **kw).fit(X)
    best = GaussianMixture(4, n_init=3, **kw).fit(X)
    assert best.lower_bound_ >= single.lower_bound_


def _finite(gm, X):
    for name in ("weights_", "means_", "covariances_", "precisions_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(gm, name))), name
    assert np.all(np.isfinite(gm.score_samples(X)))


@pytest.mark.parametrize("ct", TYPES)
def test_robust_degenerate_data(ct):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(60, 3))
    cases = {
        "duplicates": np.repeat(base[:10], 6, axis=0),
        "collapse": np.vstack([base, [[50.0, 50.0, 50.0]]]),
        "zero_variance": np.column_stack([base[:, :2], np.full(60, 3.0)]),
        "collinear": np.column_stack([base[:, 0], 2 * base[:, 0], base[:, 1]]),
        "few_distinct": np.repeat(base[:3], 20, axis=0),
    }
    for name, X in cases.items():
        k = 5 if name == "few_distinct" else 2
        gm = GaussianMixture(k, covariance_type=ct, random_state=0, reg_covar=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gm.fit(X)
        _finite(gm, X)
        assert name != "collapse" or np.any(np.abs(gm.means_ - 50) < 1e-3)


@pytest.mark.parametrize("ct", ["full", "tied", "diag", "spherical"])
def test_far_outliers_get_probabilities_that_sum_to_one(ct):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 1e-2, (40, 2)), rng.normal(1, 1e-2, (40, 2))])
    gm = GaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
    # 1e18: finite in float32, but maha ~1e36 * precision ~1e4 overflows: every
    # component's density underflows; 1e12: the densities are resolvable.
    far = np.array([[1e18, 1e18], [1e12, -1e12], [0.0, 0.0]])
    proba = gm.predict_proba(far)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert not np.isnan(gm.score_samples(far)).any()
    ref = SKGaussianMixture(2, covariance_type=ct, random_state=0).fit(X)
    assert gm.predict(far[2:]) == ref.predict(far[2:])


def test_not_positive_definite_asks_for_larger_reg_covar():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]]), 10, axis=0)
    with pytest.raises(ValueError, match="reg_covar"):
        GaussianMixture(3, reg_covar=0.0, dtype="float64", random_state=0).fit(X)
    gm = GaussianMixture(3, reg_covar=1e-6, dtype="float64", random_state=0).fit(X)
    _finite(gm, X)


def test_params_and_clone():
    gm = GaussianMixture(3, covariance_type="diag", reg_covar=1e-4)
    c = clone(gm)
    assert c.get_params() == gm.get_params()
    assert repr(gm) == "GaussianMixture(n_components=3, covariance_type='diag', reg_covar=0.0001)"


def test_docstring_examples():
    result = doctest.testmod(tfcluster.mixture, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


X4 = np.array([[0.0, 0.0], [0.0, 1.0], [5.0, 5.0], [5.0, 6.0]])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"covariance_type": "banana"}, "covariance_type"),
        ({"init_params": "kmeans+"}, "init_params"),
        ({"reg_covar": -1e-3}, "reg_covar"),
        ({"tol": -1}, "tol"),
        ({"n_components": 0}, "n_components"),
        ({"n_init": 0}, "n_init"),
        ({"max_iter": -1}, "max_iter"),
        ({"dtype": "float16"}, "dtype"),
        ({"weights_init": [0.5, 0.2]}, "sum to 1"),
        ({"weights_init": [1.5, -0.5]}, r"\[0, 1\]"),
        ({"weights_init": [1.0]}, "shape"),
        ({"means_init": [[0.0, 0.0]]}, "shape"),
        ({"means_init": [[0.0, np.nan], [1.0, 1.0]]}, "NaN"),
        ({"precisions_init": np.ones((2, 2))}, "shape"),
        ({"precisions_init": np.stack([np.eye(2), -np.eye(2)])}, "positive definite"),
        ({"precisions_init": np.stack([np.eye(2), [[1.0, 0.5], [0.0, 1.0]]])}, "symmetric"),
        ({"covariance_type": "diag", "precisions_init": [[1.0, 1.0], [0.0, 1.0]]}, "positive"),
        ({"covariance_type": "spherical", "precisions_init": [1.0, -1.0]}, "positive"),
        ({"n_components": 5}, "n_components"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        GaussianMixture(**{"n_components": 2, **params}).fit(X4)


@pytest.mark.parametrize(
    "X, error",
    [
        ([[0.0, np.nan], [1.0, 1.0]], ValueError),
        ([[0.0, np.inf], [1.0, 1.0]], ValueError),
        (np.zeros((0, 2)), ValueError),
        (np.zeros(4), ValueError),
        (np.zeros((2, 2, 2)), ValueError),
        ([["a", "b"], ["c", "d"]], TypeError),
        ([[1.0, 2.0], [3.0]], ValueError),
    ],
)
def test_bad_X(X, error):
    with pytest.raises(error):
        GaussianMixture(1).fit(X)


def test_bad_types_and_weights():
    with pytest.raises(TypeError, match="n_components"):
        GaussianMixture(2.5).fit(X4)
    with pytest.raises(TypeError, match="reg_covar"):
        GaussianMixture(2, reg_covar="big").fit(X4)
    with pytest.raises(ValueError, match="negative"):
        GaussianMixture(2).fit(X4, sample_weight=[1, -1, 1, 1])
    with pytest.raises(ValueError, match="length"):
        GaussianMixture(2).fit(X4, sample_weight=[1, 1])
    ds = tf.data.Dataset.from_tensor_slices(X4).batch(2)
    with pytest.raises(ValueError, match="sample_weight"):
        GaussianMixture(2).fit(ds, sample_weight=[1, 1, 1, 1])
    with pytest.raises(ValueError, match="k-means\\+\\+"):
        GaussianMixture(2, init_params="k-means++").fit(ds)
    bad = tf.data.Dataset.from_tensor_slices(np.array([[0.0, np.nan], [1, 1]])).batch(1)
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(1).fit(bad)


def test_not_fitted_and_wrong_features():
    gm = GaussianMixture(2)
    for call in (
        lambda: gm.predict(X4),
        lambda: gm.predict_proba(X4),
        lambda: gm.score_samples(X4),
        lambda: gm.score(X4),
        lambda: gm.bic(X4),
        lambda: gm.sample(3),
        lambda: gm.distribution,
    ):
        with pytest.raises(NotFittedError):
            call()
    gm.set_params(random_state=0).fit(X4)
    with pytest.raises(ValueError, match="features"):
        gm.predict(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        gm.sample(0)
    with pytest.raises(TypeError, match="n_samples"):
        gm.sample(2.0)


def test_review_cases_one_component_datasets_and_warm_start_changes(iris):
    X, _ = iris
    one = GaussianMixture(1, dtype="float64", random_state=0).fit(X)
    ref = SKGaussianMixture(1).fit(X)
    assert one.score(X) == pytest.approx(ref.score(X), abs=1e-6)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(32)
    gm = GaussianMixture(3, dtype="float64", random_state=0)
    labels = gm.fit_predict(ds)
    np.testing.assert_array_equal(labels, gm.predict(X))
    np.testing.assert_allclose(gm.predict_proba(ds), gm.predict_proba(X), atol=1e-12)
    warm = GaussianMixture(2, warm_start=True, random_state=0).fit(X)
    with pytest.raises(ValueError, match="4 features"):
        warm.fit(X[:, :3])
    warm.set_params(covariance_type="diag")
    with pytest.raises(ValueError, match="warm_start=False"):
        warm.fit(X)


def test_interrupted_fit_resumes_to_the_same_result(wine, tmp_path, interrupted):
    X, _ = wine
    params = {"covariance_type": "diag", "dtype": "float64", "random_state": 0, "tol": 1e-6}
    ref = GaussianMixture(3, **params).fit(X)
    gm = GaussianMixture(3, **params)
    # two saved segments, then the process dies
    dies_at = (tfcluster.mixture._gaussian_mixture._EM, "diag", 3)
    interrupted(gm, X, dies_at, checkpoint_dir=tmp_path, checkpoint_every=2)
    gm.fit(X, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert gm.n_iter_ == ref.n_iter_ > 4
    np.testing.assert_allclose(gm.means_, ref.means_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gm.lower_bounds_, ref.lower_bounds_, rtol=1e-12)
    assert gm.converged_ == ref.converged_
    with pytest.raises(ValueError, match="another fit"):
        GaussianMixture(2, **params).fit(X, checkpoint_dir=tmp_path)


def _traces():
    from tfcluster._engine import trace_counts

    return {name: n for name, n in trace_counts().items() if name.startswith("mixture.")}


def _new_traces(before):
    return {
        name: n - before.get(name, 0) for name, n in _traces().items() if n > before.get(name, 0)
    }


def test_sweep_over_k_and_n_samples_traces_once_per_bucket():
    """k=2..12 (one bucket) over two n_samples (one chunk): one trace per covariance type."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3)) + rng.integers(0, 4, size=(500, 1)) * 3.0
    before = _traces()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for ct in TYPES:
            for n in (300, 500):
                for k in range(2, 13):
                    gm = GaussianMixture(k, covariance_type=ct, max_iter=5, random_state=0)
                    gm.fit(X[:n])
                    gm.score(X[:n])
                    assert gm.predict_proba(X[:n]).shape == (n, k)
    new = _new_traces(before)
    for name in ("mixture.init_params", "mixture.em", "mixture.score", "mixture.log_likelihood"):
        assert new.get(name, 0) <= len(TYPES), (name, new)
    assert new.get("mixture.e_step", 0) <= len(TYPES), new


def test_refits_with_new_max_iter_tol_n_samples_add_no_trace():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5))
    gm = GaussianMixture(3, covariance_type="diag", random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(X)
        gm.predict(X)
        before = _traces()
        for params, n in [
            ({"max_iter": 7}, 400),
            ({"tol": 1e-5}, 400),
            ({"reg_covar": 1e-4}, 400),
            ({}, 250),
            ({"n_components": 5, "max_iter": 9}, 321),
            ({"n_init": 2}, 400),
        ]:
            gm.set_params(**params).fit(X[:n])
            gm.predict(X[:n])
    assert _new_traces(before) == {}


@pytest.mark.parametrize("ct", TYPES)
def test_components_padded_to_a_bucket_match_unpadded_em(ct, iris):
    """EM on 3 components padded to 16 (and padded chunks) equals the unpadded EM."""
    from tfcluster.ops import mixture as ops

    X = tf.constant(iris[0] - iris[0].mean(0))
    w = tf.ones([len(iris[0])], tf.float64)
    init = _sk_init(iris[0], 3, ct)
    prec_chol = ops.precision_cholesky_from_precisions(tf.constant(init["precisions_init"]), ct)
    means = tf.constant(init["means_init"] - iris[0].mean(0))
    params = (tf.constant(init["weights_init"]), means, prec_chol)
    scalars = [tf.constant(v, tf.float64) for v in (-np.inf, len(iris[0]), 0.0, 1e-6)]
    lb, total, tol, reg = scalars
    plain = ops.em((X, w), *params, lb, total, tf.constant(20), tol, reg, ct, 150, xla=False)
    padded_params = ops.pad_components(*params, ct, 16)
    padded = ops.em(
        (X, w),
        *padded_params,
        lb,
        total,
        tf.constant(20),
        tol,
        reg,
        ct,
        64,
        k=tf.constant(3),
        padded=True,
    )
    np.testing.assert_allclose(padded["lower_bounds"], plain["lower_bounds"], rtol=1e-12)
    np.testing.assert_allclose(padded["weights"][:3], plain["weights"], rtol=1e-12)
    np.testing.assert_array_equal(padded["weights"][3:], 0.0)
    np.testing.assert_allclose(padded["means"][:3], plain["means"], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(padded["means"][3:], 0.0)
    real = (lambda t: t) if ct == "tied" else (lambda t: t[:3])
    np.testing.assert_allclose(real(padded["covariances"]), plain["covariances"], rtol=1e-10)
    np.testing.assert_allclose(real(padded["prec_chol"]), plain["prec_chol"], rtol=1e-10)
    for key in ("covariances", "prec_chol"):
        assert np.all(np.isfinite(padded[key]))
    fitted = (padded["weights"], padded["means"], padded["prec_chol"])
    _, resp, labels = ops.score_and_resp(X, *fitted, ct, tf.constant(3))
    np.testing.assert_array_equal(resp.numpy()[:, 3:], 0.0)
    assert labels.numpy().max() < 3


def test_refit_with_other_n_features_and_datasets():
    """Issue 17 item 2: a second fit with another n_features (also streamed) works."""
    rng = np.random.default_rng(2)
    gm = GaussianMixture(2, covariance_type="diag", random_state=0)
    for d in (4, 3):
        gm.fit(rng.normal(size=(120, d)))
        assert gm.means_.shape == (2, d) and gm.predict(rng.normal(size=(5, d))).shape == (5,)
    for d in (2, 5):
        ds = tf.data.Dataset.from_tensor_slices(rng.normal(size=(90, d))).batch(32)
        gm.fit(ds)
        assert gm.means_.shape == (2, d) and np.isfinite(gm.score(ds))
    gm.fit(rng.normal(size=(60, 6)))
    assert gm.n_features_in_ == 6
