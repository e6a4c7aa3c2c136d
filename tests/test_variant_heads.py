"""Keras heads of SphericalKMeans, BisectingKMeans and BayesianGaussianMixture: they equal
their estimators in models, at every batch size, after save/load and export."""

import re
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from _heads_contract import assert_same, check_head

from tfcluster import BayesianGaussianMixture, BisectingKMeans, NotFittedError, SphericalKMeans
from tfcluster.layers import (
    BayesianGaussianMixtureHead,
    BisectingKMeansHead,
    SphericalKMeansHead,
    bgm_layer,
    bisecting_layer,
    spherical_layer,
)

BATCH_SIZES = [1, 7, 32, 2000]


@pytest.fixture(scope="module")
def X(digits):
    return (digits[0][:600] / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def spherical(X):
    return SphericalKMeans(10, random_state=0).fit(X)


@pytest.fixture(scope="module")
def bisecting(X):
    return BisectingKMeans(10, random_state=0).fit(X)


@pytest.fixture(scope="module")
def bgm(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # may not converge in 100 iterations
        return BayesianGaussianMixture(
            n_components=6, covariance_type="diag", random_state=0, reg_covar=1e-3
        ).fit(X)


def _reference(est, output):
    if isinstance(est, BayesianGaussianMixture):
        return {"proba": est.predict_proba, "log_prob": est.score_samples, "labels": est.predict}[
            output
        ]
    return {"labels": est.predict, "distances": est.transform}[output]


def _log_prob_atol(want):
    # float32 log-densities of tens to hundreds in magnitude: 1e-5 of that (as GaussianMixture's)
    return 1e-5 * max(np.abs(want).mean(), 1.0)


CASES = [
    ("spherical", spherical_layer, "labels"),
    ("spherical", spherical_layer, "distances"),
    ("bisecting", bisecting_layer, "labels"),
    ("bisecting", bisecting_layer, "distances"),
    ("bgm", bgm_layer, "proba"),
    ("bgm", bgm_layer, "log_prob"),
    ("bgm", bgm_layer, "labels"),
]


@pytest.mark.parametrize("name, make, output", CASES)
def test_head_equals_estimator_in_model_saved_and_exported(
    name, make, output, X, request, tmp_path
):
    est = request.getfixturevalue(name)
    want = _reference(est, output)(X)
    atol = _log_prob_atol(want) if output == "log_prob" else 1e-5
    check_head(est, make, output, want, X, tmp_path, atol=atol, batch_sizes=BATCH_SIZES)


def test_bisecting_head_walks_the_tree_not_the_nearest_leaf(digits):
    X = digits[0].astype(np.float32)
    bkm = BisectingKMeans(10, random_state=0).fit(X[:1200])
    new = X[1200:]
    want = bkm.predict(new)
    nearest = np.argmin(bkm.transform(new), axis=1)
    assert np.sum(want != nearest) > 20  # the two rules differ on these rows
    got = bkm.as_layer()(new).numpy()
    np.testing.assert_array_equal(got, want)
    head = bkm.as_layer()
    config = head.get_config()
    assert len(config["children"]) == 2 * 10 - 1
    assert BisectingKMeansHead.from_config(config).get_config() == config


def test_bisecting_head_of_one_cluster_and_of_a_deep_tree(iris):
    X = iris[0]
    one = BisectingKMeans(1, random_state=0, dtype="float64").fit(X)
    np.testing.assert_array_equal(one.as_layer()(X).numpy(), np.zeros(len(X)))
    deep = BisectingKMeans(12, random_state=0, bisecting_strategy="largest_cluster").fit(X)
    assert deep.as_layer()._depth >= 4
    np.testing.assert_array_equal(deep.as_layer()(X).numpy(), deep.predict(X))
    assert_same(deep.as_layer("distances")(X).numpy(), deep.transform(X))


def test_spherical_head_zero_rows_and_scales(X, spherical):
    """A zero row: label -1 and cosine distance 1 in the head (the estimator raises);
    rows far too small or large for float32 squares keep their direction."""
    rows = np.concatenate([X[:5], np.zeros((1, X.shape[1]), np.float32), X[5:10]])
    labels = spherical.as_layer()(rows).numpy()
    distances = spherical.as_layer("distances")(rows).numpy()
    assert labels[5] == -1 and np.all(distances[5] == 1.0)
    assert not np.any(np.isnan(distances))
    np.testing.assert_array_equal(np.delete(labels, 5), spherical.predict(X[:10]))
    with pytest.raises(ValueError, match="zero norm"):
        spherical.predict(rows)
    model = keras.Sequential([keras.Input((X.shape[1],)), spherical.as_layer()])
    for scale in (1e-30, 1e30):
        got = model.predict(X * np.float32(scale), batch_size=32, verbose=0)
        np.testing.assert_array_equal(got, spherical.predict(X))


def test_spherical_head_normalises_given_centers():
    head = SphericalKMeansHead(np.array([[3.0, 0.0], [0.0, 0.5]]), output="distances")
    got = head(np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 0.0]])).numpy()
    np.testing.assert_allclose(got, [[0.0, 1.0], [1 - 0.5**0.5, 1 - 0.5**0.5], [1.0, 1.0]])
    labels = SphericalKMeansHead(np.array([[3.0, 0.0], [0.0, 0.5]]))
    np.testing.assert_array_equal(labels(np.array([[2.0, 0.1], [-1.0, 5.0], [0, 0]])), [0, 1, -1])


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_bgm_head_every_covariance_type(iris, covariance_type, prior_type):
    X = iris[0]
    bgm = BayesianGaussianMixture(
        n_components=4,
        covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type,
        random_state=0,
        max_iter=300,
    ).fit(X)
    x32 = X.astype(np.float32)
    for output in ("proba", "log_prob", "labels"):
        want = _reference(bgm, output)(X)
        got = bgm.as_layer(output)(x32).numpy()
        assert_same(got, want, _log_prob_atol(want) if output == "log_prob" else 1e-5)


@pytest.mark.parametrize("kind, value", [("scale", 1e12), ("scale", 1e-12), ("shift", 1e3)])
def test_heads_follow_the_estimators_frame(iris, kind, value):
    X = iris[0] * value if kind == "scale" else iris[0] + value
    unit = value if kind == "scale" else 1.0
    bkm = BisectingKMeans(4, random_state=0, tol=1e-4 * unit**2).fit(X)
    bgm = BayesianGaussianMixture(
        n_components=3, random_state=0, reg_covar=1e-6 * unit**2, max_iter=300
    ).fit(X)
    x32 = X.astype(np.float32)  # the estimators are given the same float32 rows
    np.testing.assert_array_equal(bkm.as_layer()(x32).numpy(), bkm.predict(x32))
    got = bkm.as_layer("distances")(x32).numpy()
    np.testing.assert_allclose(got, bkm.transform(x32), rtol=1e-5)
    np.testing.assert_allclose(bgm.as_layer()(x32).numpy(), bgm.predict_proba(x32), atol=1e-5)
    want = bgm.score_samples(x32)
    # a log-density near 0 is a float32 sum of terms of tens: a relative 1e-5 of it
    # asks for the terms' last bit, so the absolute bound of every other head test too
    got = bgm.as_layer("log_prob")(x32).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=_log_prob_atol(want))
    if kind == "scale":
        assert bkm.as_layer().scale != 1.0 and bgm.as_layer().scale != 1.0


def test_float64_estimators_give_float64_heads(iris):
    X = iris[0]
    ests = [
        SphericalKMeans(3, random_state=0, dtype="float64").fit(X),
        BisectingKMeans(3, random_state=0, dtype="float64").fit(X),
        BayesianGaussianMixture(n_components=3, random_state=0, dtype="float64").fit(X),
    ]
    for est, output in zip(ests, ["distances", "distances", "proba"], strict=True):
        head = est.as_layer(output)
        assert head.dtype == "float64"
        want = _reference(est, output)(X)
        np.testing.assert_allclose(head(X).numpy(), want, rtol=1e-12, atol=1e-12)


def test_config_round_trip_and_registration(spherical, bisecting, bgm):
    for est, cls in [
        (spherical, SphericalKMeansHead),
        (bisecting, BisectingKMeansHead),
        (bgm, BayesianGaussianMixtureHead),
    ]:
        config = est.as_layer().get_config()
        assert cls.from_config(config).get_config() == config
        name = keras.saving.get_registered_name(cls)
        assert name == f"tfcluster>{cls.__name__}"
        assert keras.saving.get_registered_object(name) is cls
    assert bgm.as_layer().get_config()["log_prob_shift"] != 0.0


def test_bad_arguments_unfitted_and_wrong_inputs(iris):
    X = iris[0].astype(np.float32)
    with pytest.raises(ValueError, match="nonzero"):
        SphericalKMeansHead(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="no scale"):
        SphericalKMeansHead(np.eye(2), scale=2.0)
    with pytest.raises(ValueError, match="one binary tree"):
        BisectingKMeansHead(np.zeros((3, 2)), [[1, 1], [-1, -1], [-1, -1]])
    with pytest.raises(ValueError, match=r"\[n_nodes=3, 2\]"):
        BisectingKMeansHead(np.zeros((3, 2)), [[1, 2]])
    with pytest.raises(ValueError, match="children"):
        BisectingKMeansHead(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="log_prob_shift"):
        BayesianGaussianMixtureHead(
            [1.0], [[0.0]], [[[1.0]]], log_prob_shift="a", covariance_type="full"
        )
    for est in (SphericalKMeans(2), BisectingKMeans(2), BayesianGaussianMixture()):
        with pytest.raises(NotFittedError):
            est.as_layer()
    fitted = [
        SphericalKMeans(3, random_state=0).fit(X),
        BisectingKMeans(3, random_state=0).fit(X),
        BayesianGaussianMixture(n_components=3, random_state=0).fit(X),
    ]
    wide = np.zeros((3, 5), np.float32)
    for est in fitted:
        head = est.as_layer()
        with pytest.raises(ValueError, match=r"expects inputs \[batch, 4\].*got shape \(3, 5\)"):
            head(wide)
        head(X[:3])
        with pytest.raises(ValueError, match=rf"\[batch, 4\][^;]*; got shape {re.escape('(4,)')}"):
            head(X[0])
        with pytest.raises(TypeError, match="real numbers.*string"):
            head(tf.constant([["a"] * 4]))
        np.testing.assert_array_equal(
            est.as_layer("labels")(X.astype(np.int32)), est.predict(X.astype(np.int32))
        )
