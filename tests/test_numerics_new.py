"""float32 far from the origin and at extreme scales: BisectingKMeans, SphericalKMeans,
BayesianGaussianMixture (issue 13's frames, as tests/test_numerics.py for the others).

Each test compares float32 with float64 from the same initialisation, and the
reported objective with the objective of the returned model recomputed here in
float64 with numpy (or with scikit-learn from the same responsibilities).
"""

import warnings

import numpy as np
import pytest
import tensorflow as tf
from test_bayesian_mixture import _start_from  # both start from given responsibilities

from tfcluster import BayesianGaussianMixture, BisectingKMeans, SphericalKMeans
from tfcluster.metrics import adjusted_rand_score

TRANSFORMS = [("shift", 1e6), ("shift", 1e8), ("scale", 1e-12), ("scale", 1e12)]
IDS = [f"{kind}{value:g}" for kind, value in TRANSFORMS]


def _transformed(X, kind, value):
    X = np.asarray(X, np.float64)
    return X + value if kind == "shift" else X * value


def _relative(got, expected):
    return abs(got - expected) / max(abs(expected), 1e-300)


def _same_labels(a, b):
    assert adjusted_rand_score(a, b) == 1.0


def _unit(kind, value):
    return value if kind == "scale" else 1.0


# BisectingKMeans ----------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
def test_bisecting_float32_equals_float64_far_and_at_extreme_scales(iris, kind, value):
    X = _transformed(iris[0], kind, value)
    tol = 1e-4 * _unit(kind, value) ** 2  # absolute, as scikit-learn's: in squared units
    fits = {
        dtype: BisectingKMeans(4, random_state=0, tol=tol, dtype=dtype).fit(X)
        for dtype in ("float32", "float64")
    }
    _same_labels(fits["float32"].labels_, fits["float64"].labels_)
    plain = BisectingKMeans(4, random_state=0, dtype="float64").fit(iris[0])
    _same_labels(fits["float32"].labels_, plain.labels_)
    bkm = fits["float32"]
    centers = np.asarray(bkm.cluster_centers_, np.float64)
    # the leaves' inertia (a row's leaf need not hold its nearest center)
    truth = float(np.sum((X - centers[bkm.labels_]) ** 2))
    assert truth > 0
    assert _relative(bkm.inertia_, truth) < 1e-3
    assert _relative(bkm.inertia_, fits["float64"].inertia_) < 1e-3
    nearest = float(np.min(((X[:, None] - centers[None]) ** 2).sum(-1), axis=1).sum())
    assert _relative(-bkm.score(X), nearest) < 1e-3
    np.testing.assert_array_equal(bkm.predict(X), bkm.labels_)
    _same_labels(bkm.predict(X), fits["float64"].predict(X))
    expected = np.sqrt(((X[:5, None, :] - centers[None]) ** 2).sum(-1))
    spread = np.sqrt(truth / len(X))
    np.testing.assert_allclose(bkm.transform(X[:5]), expected, rtol=1e-4, atol=1e-4 * spread)


# SphericalKMeans: only the scale is meaningful (a shift changes the directions) -----------


def _cosine_inertia(X, centers, labels):
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    c = np.asarray(centers, np.float64)
    c = c / np.linalg.norm(c, axis=1, keepdims=True)
    return float(np.sum(1.0 - np.sum(unit * c[labels], axis=1)))


@pytest.mark.parametrize("scale", [1e-40, 1e-12, 1e12, 1e30], ids=lambda s: f"scale{s:g}")
def test_spherical_float32_equals_float64_at_extreme_scales(digits, scale):
    X0 = np.asarray(digits[0][:600], np.float64) + 1.0  # no zero rows
    init = X0[:8]
    ref = SphericalKMeans(8, init=init, dtype="float64").fit(X0)
    X = X0 * scale  # float32 cannot square (1e-40: cannot even hold) these values
    skm = SphericalKMeans(8, init=init * scale, dtype="float32").fit(X)
    _same_labels(skm.labels_, ref.labels_)
    truth = _cosine_inertia(X0, skm.cluster_centers_, skm.labels_)
    assert _relative(skm.inertia_, truth) < 1e-3
    assert _relative(-skm.score(X), truth) < 1e-3
    np.testing.assert_array_equal(skm.predict(X), skm.labels_)
    np.testing.assert_allclose(skm.transform(X), ref.transform(X0), atol=1e-5)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(128)
    np.testing.assert_array_equal(skm.predict(ds), skm.labels_)
    np.testing.assert_array_equal(
        SphericalKMeans(8, init=init * scale, dtype="float32").fit(ds).labels_, skm.labels_
    )


# BayesianGaussianMixture --------------------------------------------------------------


def _bgm(dtype, covariance_type, unit, **params):
    params = {"n_components": 3, "max_iter": 30, "tol": 0.0, **params}
    return BayesianGaussianMixture(
        covariance_type=covariance_type,
        init_params="random_from_data",
        random_state=0,
        reg_covar=1e-6 * unit**2,  # in squared units of the data
        dtype=dtype,
        **params,
    )


@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_bayesian_float32_equals_float64_far_and_at_extreme_scales(
    iris, covariance_type, kind, value
):
    X = _transformed(iris[0], kind, value)
    unit = _unit(kind, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a fixed number of iterations: not converged
        fits = {
            dtype: _bgm(dtype, covariance_type, unit).fit(X) for dtype in ("float32", "float64")
        }
    f32, f64 = fits["float32"], fits["float64"]
    _same_labels(f32.predict(X), f64.predict(X))
    assert _relative(f32.lower_bound_, f64.lower_bound_) < 1e-3
    assert _relative(f32.score(X), f64.score(X)) < 1e-3
    np.testing.assert_allclose(f32.predict_proba(X), f64.predict_proba(X), atol=1e-3)
    np.testing.assert_allclose(f32.weights_, f64.weights_, rtol=1e-3)
    spread = np.sqrt(np.asarray(f64.covariances_).max())
    np.testing.assert_allclose(f32.means_, f64.means_, rtol=0, atol=1e-3 * spread)


@pytest.mark.parametrize(("kind", "value"), [("shift", 1e6), ("scale", 2.0**-40 * 3)])
@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_bayesian_user_units_are_sklearns(monkeypatch, iris, covariance_type, kind, value):
    """In float64 the frame changes nothing the user sees: the lower bound (whose
    Wishart terms depend on the units), the parameters and the priors are
    scikit-learn's from the same responsibilities: on the same scaled data, and
    for a shift (which changes no lower bound) on the unshifted data, since
    scikit-learn's own diagonal covariances lose digits 1e6 from the origin."""
    X = _transformed(iris[0], kind, value)
    resp = np.random.default_rng(0).uniform(size=(len(X), 3))
    resp /= resp.sum(1, keepdims=True)
    unit = _unit(kind, value)
    params = {"n_components": 3, "covariance_type": covariance_type, "tol": 0.0}
    params.update(max_iter=50, reg_covar=1e-6 * unit**2)  # 50 iterations each
    theirs_X, moved = (X, 0.0) if kind == "scale" else (iris[0], value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not converged
        theirs = _start_from(monkeypatch, resp)(**params).fit(theirs_X)
        ours = BayesianGaussianMixture(dtype="float64", **params).fit(X)
    assert ours._frame().scale != 1.0 or kind == "shift"
    assert ours.n_iter_ == theirs.n_iter_ == 50
    assert _relative(ours.lower_bound_, float(theirs.lower_bound_)) < 1e-8
    np.testing.assert_allclose(ours.means_, theirs.means_ + moved, rtol=1e-9)
    np.testing.assert_allclose(ours.covariances_, theirs.covariances_, rtol=1e-6)
    np.testing.assert_allclose(ours.precisions_cholesky_, theirs.precisions_cholesky_, rtol=1e-6)
    np.testing.assert_allclose(ours.covariance_prior_, theirs.covariance_prior_, rtol=1e-8)
    np.testing.assert_allclose(ours.mean_prior_, theirs.mean_prior_ + moved, rtol=1e-12)
    np.testing.assert_allclose(
        ours.score_samples(X), theirs.score_samples(theirs_X), rtol=1e-8, atol=1e-8
    )
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(theirs_X), atol=1e-8)
