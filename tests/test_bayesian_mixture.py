"""BayesianGaussianMixture: scikit-learn as oracle from shared initial responsibilities."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.mixture import BayesianGaussianMixture as SKBayesian

import tfcluster.bayesian_mixture as bm
from tfcluster import BayesianGaussianMixture, ConvergenceWarning, NotFittedError
from tfcluster._engine import trace_counts
from tfcluster.datasets import make_blobs
from tfcluster.ops import mixture as gm_ops

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]


def _random_resp(n, k, seed=0):
    resp = np.random.default_rng(seed).uniform(size=(n, k))
    return resp / resp.sum(1, keepdims=True)


def _start_from(monkeypatch, resp):
    """Both libraries start from ``resp [n, k]`` (scikit-learn through its subclass)."""

    def statistics(est, data, offset, n_samples, seed):
        k, ct = est.n_components, est.covariance_type
        r = tf.constant(resp, data.dtype) * data.w[:, None]  # weighted, as the E step
        origin = tf.zeros([k, data.n_features], data.dtype)
        return gm_ops.resp_statistics(data.x, data.w, r, origin, ct) + (origin,)

    monkeypatch.setattr(bm, "_initial_statistics", statistics)

    class FromResp(SKBayesian):
        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, resp)

    return FromResp


def _assert_same(ours, theirs, rtol=1e-5):
    assert ours.n_iter_ == theirs.n_iter_ and ours.converged_ == theirs.converged_
    np.testing.assert_allclose(
        ours.lower_bound_, float(np.squeeze(theirs.lower_bound_)), rtol=rtol
    )
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_", "mean_precision_"):
        np.testing.assert_allclose(
            getattr(ours, name), getattr(theirs, name), rtol=rtol, atol=1e-8, err_msg=name
        )
    np.testing.assert_allclose(ours.degrees_of_freedom_, theirs.degrees_of_freedom_, rtol=rtol)
    if isinstance(theirs.weight_concentration_, tuple):
        for a, b in zip(ours.weight_concentration_, theirs.weight_concentration_, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol)
    else:
        np.testing.assert_allclose(
            ours.weight_concentration_, theirs.weight_concentration_, rtol=rtol
        )
    np.testing.assert_allclose(ours.covariance_prior_, theirs.covariance_prior_, rtol=rtol)
    np.testing.assert_allclose(ours.mean_prior_, theirs.mean_prior_, rtol=rtol, atol=1e-10)


def _pair(monkeypatch, X, k, resp, **params):
    params = {"n_components": k, "max_iter": 200, "tol": 1e-6, **params}
    theirs = _start_from(monkeypatch, resp)(**params).fit(X)
    ours = BayesianGaussianMixture(dtype="float64", **params).fit(X)
    return ours, theirs


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_iris_as_sklearn(monkeypatch, iris, covariance_type, prior_type):
    X = iris[0]
    resp = _random_resp(len(X), 4)
    ours, theirs = _pair(
        monkeypatch,
        X,
        4,
        resp,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
    )
    _assert_same(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.score_samples(X), theirs.score_samples(X), rtol=1e-6)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


@pytest.mark.slow
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_wine_as_sklearn(monkeypatch, wine, covariance_type, prior_type):
    X = wine[0]
    resp = _random_resp(len(X), 3, seed=1)
    ours, theirs = _pair(
        monkeypatch,
        X,
        3,
        resp,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        reg_covar=1e-4,
    )
    _assert_same(ours, theirs)


def test_given_priors_as_sklearn(monkeypatch, iris):
    X = iris[0]
    d = X.shape[1]
    resp = _random_resp(len(X), 3, seed=2)
    for ct, cov_prior in (
        ("full", np.eye(d) * 0.3),
        ("diag", np.full(d, 0.2)),
        ("spherical", 0.5),
    ):
        ours, theirs = _pair(
            monkeypatch,
            X,
            3,
            resp,
            covariance_type=ct,
            weight_concentration_prior=0.01,
            mean_precision_prior=0.5,
            mean_prior=np.arange(d, dtype=float),
            degrees_of_freedom_prior=d + 2.5,
            covariance_prior=cov_prior,
        )
        _assert_same(ours, theirs)


def test_max_iter_zero_and_warm_start(monkeypatch, iris):
    X = iris[0]
    resp = _random_resp(len(X), 3, seed=3)
    FromResp = _start_from(monkeypatch, resp)
    params = {"n_components": 3, "max_iter": 4, "warm_start": True, "tol": 1e-9}
    theirs = FromResp(**params)
    ours = BayesianGaussianMixture(dtype="float64", **params)
    with pytest.warns(Warning):  # neither converges in 4 iterations
        theirs.fit(X)
        ours.fit(X)
    with pytest.warns(Warning):
        theirs.fit(X)
        ours.fit(X)  # continued from the first fit's posterior and lower bound
    _assert_same(ours, theirs)
    zero_ours, zero_theirs = _pair(monkeypatch, X, 3, resp, max_iter=0)
    np.testing.assert_allclose(zero_ours.means_, zero_theirs.means_, rtol=1e-10)
    np.testing.assert_allclose(zero_ours.weights_, zero_theirs.weights_, rtol=1e-10)


@pytest.mark.parametrize(
    "covariance_type",
    ["full"] + [pytest.param(c, marks=pytest.mark.slow) for c in COVARIANCE_TYPES[1:]],
)
def test_prunes_components_as_sklearn(covariance_type):
    X, _ = make_blobs(600, 2, 3, cluster_std=1.0, random_state=0, dtype=np.float64)
    params = {"n_components": 10, "covariance_type": covariance_type, "max_iter": 500}
    theirs = SKBayesian(random_state=0, **params).fit(X)
    ours = BayesianGaussianMixture(random_state=0, dtype="float64", **params).fit(X)
    assert np.sum(ours.weights_ > 0.01) == np.sum(theirs.weights_ > 0.01) == 3


def test_weights_are_repetitions(monkeypatch, iris):
    X = iris[0]
    w = np.random.default_rng(0).integers(1, 4, len(X))
    resp = _random_resp(len(X), 3, seed=4)
    _start_from(monkeypatch, resp)
    a = BayesianGaussianMixture(n_components=3, dtype="float64", tol=1e-8).fit(X, sample_weight=w)
    _start_from(monkeypatch, np.repeat(resp, w, 0))
    b = BayesianGaussianMixture(n_components=3, dtype="float64", tol=1e-8).fit(np.repeat(X, w, 0))
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-9)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9)
    np.testing.assert_allclose(a.covariances_, b.covariances_, rtol=1e-9)


def test_stream_equals_memory(iris):
    X = iris[0]
    params = {"n_components": 3, "init_params": "random_from_data", "random_state": 0}
    a = BayesianGaussianMixture(dtype="float64", **params).fit(X)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(32)
    b = BayesianGaussianMixture(dtype="float64", **params).fit(ds)
    assert a.lower_bound_ == pytest.approx(b.lower_bound_, rel=1e-10)
    np.testing.assert_allclose(a.means_, b.means_, rtol=1e-9)
    np.testing.assert_array_equal(b.predict(ds), a.predict(X))


def test_float32_contract_and_traces(iris):
    X = iris[0]
    est = BayesianGaussianMixture(n_components=3, random_state=0)
    labels = est.fit_predict(X)
    np.testing.assert_array_equal(labels, est.predict(X))
    assert est.means_.dtype == np.float32 and est.predict_proba(X).shape == (150, 3)
    assert est.score(X) == pytest.approx(np.mean(est.score_samples(X)))
    assert np.isfinite(est.distribution.log_prob(X.astype(np.float32)).numpy()).all()
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "means_")
    before = trace_counts().get("bayesian.em", 0)
    for k in (2, 4, 6):  # one bucket: no new trace for another k or n_samples
        with warnings.catch_warnings():  # 20 iterations may not converge
            warnings.simplefilter("ignore", ConvergenceWarning)
            BayesianGaussianMixture(n_components=k, random_state=1, max_iter=20).fit(X[: 100 + k])
    assert trace_counts().get("bayesian.em", 0) == before


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_components": 0}, ValueError, "n_components"),
        ({"covariance_type": "x"}, ValueError, "'full', 'tied', 'diag', 'spherical'"),
        ({"weight_concentration_prior_type": "x"}, ValueError, "dirichlet_process"),
        ({"init_params": "x"}, ValueError, "random_from_data"),
        ({"weight_concentration_prior": 0.0}, ValueError, "weight_concentration_prior"),
        ({"mean_precision_prior": "a"}, TypeError, "mean_precision_prior"),
        ({"degrees_of_freedom_prior": 2.0}, ValueError, "greater than 3"),
        ({"mean_prior": [1.0, 2.0]}, ValueError, "mean_prior must have shape \\(4,\\)"),
        ({"covariance_prior": np.eye(3)}, ValueError, "covariance_prior.*shape \\(4, 4\\)"),
        ({"covariance_prior": -np.eye(4)}, ValueError, "positive definite"),
        ({"tol": -1.0}, ValueError, "tol"),
    ],
)
def test_bad_params(iris, params, error, match):
    with pytest.raises(error, match=match):
        BayesianGaussianMixture(**{"n_components": 2, **params}).fit(iris[0])


def test_errors(iris):
    with pytest.raises(NotFittedError):
        BayesianGaussianMixture().predict(iris[0])
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        BayesianGaussianMixture(n_components=5).fit(iris[0][:4])


def test_docstring_examples():
    import doctest

    result = doctest.testmod(bm, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_sweep(iris):
    from tfcluster import suggest_k, sweep

    result = sweep(BayesianGaussianMixture(random_state=0), iris[0], range(2, 5))
    assert suggest_k(result, "silhouette") in range(2, 5)


def test_float32_near_constant_features(digits):
    # the digits' near-constant pixels make the float32 M-step covariance sk slightly
    # negative; as scikit-learn, only the posterior's (prior added) must be positive
    X = digits[0]
    bgm = BayesianGaussianMixture(n_components=10, covariance_type="diag", random_state=0)
    bgm.fit(X)
    assert np.all(bgm.covariances_ > 0) and np.isfinite(bgm.lower_bound_)


def test_interrupted_fit_resumes_to_the_same_result(wine, tmp_path, interrupted, monkeypatch):
    X, _ = wine
    params = {"n_components": 4, "covariance_type": "diag", "dtype": "float64"}
    params.update(random_state=0, tol=1e-8, max_iter=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = BayesianGaussianMixture(**params).fit(X)
        bgm = BayesianGaussianMixture(**params)
        # two saved segments of 3 iterations, then the process dies
        interrupted(bgm, X, (bm, "_vem", 3), checkpoint_dir=tmp_path, checkpoint_every=3)
        real, calls = bm._vem, []
        monkeypatch.setattr(bm, "_vem", lambda *a, **k: calls.append(1) or real(*a, **k))
        bgm.fit(X, checkpoint_dir=tmp_path, checkpoint_every=3)
    assert ref.n_iter_ > 6
    assert len(calls) == -(-(ref.n_iter_ - 6) // 3)  # resumed after the 6 saved iterations
    assert bgm.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(bgm.means_, ref.means_)
    np.testing.assert_array_equal(bgm.lower_bounds_, ref.lower_bounds_)
    np.testing.assert_array_equal(bgm.weights_, ref.weights_)
    np.testing.assert_array_equal(bgm.covariances_, ref.covariances_)
    assert bgm.converged_ == ref.converged_
    with pytest.raises(ValueError, match="another fit"):
        BayesianGaussianMixture(**{**params, "n_components": 3}).fit(X, checkpoint_dir=tmp_path)


def _random_posterior(rng, covariance_type, size, d):
    from tfcluster.ops import bayesian as ops

    prec_chol = rng.uniform(0.3, 2.0, [size, d] if covariance_type == "diag" else [size])
    return ops.Posterior(
        *(tf.constant(rng.uniform(0.5, 5.0, size)) for _ in range(3)),
        tf.constant(rng.normal(size=(size, d)) * 3.0),
        tf.constant(rng.uniform(d, d + 20.0, size)),
        tf.constant(1.0 / prec_chol**2),
        tf.constant(prec_chol),
    )


def _e_step_rows(rng, n, d):
    """Rows and weights, then the same with a row whose density underflows everywhere."""
    x, w = rng.normal(size=(n, d)) * 3.0, rng.uniform(0.0, 2.0, n)
    far = (np.vstack([x, np.full((1, d), 1e200)]), np.r_[w, 1.0])
    return [(tf.constant(a), tf.constant(b)) for a, b in ((x, w), far)]


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("process", [True, False])
def test_gemm_e_step_equals_differences(covariance_type, process):
    """float64 "diag"/"spherical" E step as GEMMs (entropy from the sums) against the
    difference form, padded components included; a row whose density underflows
    everywhere takes the difference form."""
    from tfcluster.ops import bayesian as ops

    rng = np.random.default_rng(0)
    post, k = _random_posterior(rng, covariance_type, 8, 5), tf.constant(6)
    for x, w in _e_step_rows(rng, 500, 5):
        ref = ops._diff_e_step(x, w, post, covariance_type, process, k)
        ours = ops.e_step_statistics(x, w, post, covariance_type, process, k)
        for a, b in zip(ours, ref, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


def test_gemm_e_step_under_xla():
    """The same under XLA (the kernel of large fits), the underflow branch included."""
    from tfcluster.ops import bayesian as ops

    rng = np.random.default_rng(1)
    post, k = _random_posterior(rng, "diag", 8, 5), tf.constant(8)
    x, w = _e_step_rows(rng, 500, 5)[1]
    ref = ops._diff_e_step(x, w, post, "diag", True, k)
    ours = ops._e_step_xla.compiled(x, w, post, "diag", True, k)
    for a, b in zip(ours, ref, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)
