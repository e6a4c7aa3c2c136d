"""DeepClustering (DEC/IDEC): a short fit on the digits, contract, custom encoders, bad input."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone
from sklearn.metrics import normalized_mutual_info_score

from tfcluster import KMeans, NotFittedError
from tfcluster.deep._dec import DeepClustering

EXAMPLE = pathlib.Path(__file__).parent.parent / "examples" / "deep_clustering_digits.py"
SMALL = dict(hidden=(64,), embedding_dim=8, pretrain_epochs=30, max_iter=150, batch_size=128)


def _example():
    spec = importlib.util.spec_from_file_location("deep_clustering_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _acc_scipy(y, labels):
    table = np.zeros((10, 10))
    np.add.at(table, (labels, y), 1)
    rows, cols = linear_sum_assignment(-table)
    return table[rows, cols].sum() / len(y)


@pytest.fixture(scope="module")
def data(digits):
    return (digits[0] / 16.0).astype(np.float32), digits[1]


@pytest.fixture(scope="module")
def small_fit(data):
    return DeepClustering(10, random_state=0, **SMALL).fit(data[0])


def test_short_fit_on_digits(data, small_fit):
    X, y = data
    dc = small_fit
    assert dc.labels_.shape == (len(X),) and dc.labels_.dtype == np.int32
    assert set(np.unique(dc.labels_)) <= set(range(10))
    assert dc.cluster_centers_.shape == (10, 8)
    assert dc.n_features_in_ == 64 and 0 < dc.n_iter_ <= 150
    assert normalized_mutual_info_score(y, dc.labels_) > 0.6  # clusters follow the digits
    q = dc.predict_proba(X)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(dc.predict(X), dc.labels_)
    assert dc.transform(X[:5]).shape == (5, 8)


def test_same_seed_same_result_and_fit_predict(data, small_fit):
    X, _ = data
    again = DeepClustering(10, random_state=0, **SMALL).fit_predict(X)
    np.testing.assert_array_equal(again, small_fit.labels_)


def test_model_saves_and_loads(data, small_fit, tmp_path):
    X, _ = data
    path = str(tmp_path / "dec.keras")
    small_fit.model_.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(X, verbose=0), small_fit.predict_proba(X), 1e-5)


def test_clone_and_params():
    dc = DeepClustering(5, gamma=0.5, random_state=3)
    copy = clone(dc)
    assert copy.get_params() == dc.get_params() and copy is not dc
    assert "gamma=0.5" in repr(dc)
    assert not hasattr(copy, "labels_")


def test_given_encoder_is_copied_not_trained(data):
    X, _ = data
    keras.utils.set_random_seed(0)
    encoder = keras.Sequential([keras.Input((64,)), keras.layers.Dense(6)])
    before = [w.copy() for w in encoder.get_weights()]
    dc = DeepClustering(10, encoder=encoder, max_iter=40, random_state=0).fit(X[:400])
    for a, b in zip(before, encoder.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert dc.decoder_ is None and dc.cluster_centers_.shape == (10, 6)
    # refinement moved the encoder copy away from the given weights
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, dc.encoder_.get_weights(), strict=True)
    )
    # k-means on the given encoder's embedding started the refinement
    km = KMeans(10, n_init=10, random_state=0).fit(encoder.predict(X[:400], verbose=0))
    np.testing.assert_allclose(dc.kmeans_.cluster_centers_, km.cluster_centers_, rtol=1e-5)


def test_encoder_and_decoder_for_images(data):
    X, _ = data
    images = X[:300].reshape(-1, 8, 8, 1)
    encoder = keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(16, "relu"),
         keras.layers.Dense(4)]
    )  # fmt: skip
    decoder = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(64), keras.layers.Reshape((8, 8, 1))]
    )
    dc = DeepClustering(5, encoder=encoder, decoder=decoder, pretrain_epochs=3, max_iter=20)
    labels = dc.set_params(random_state=1).fit_predict(images)
    assert labels.shape == (300,) and dc.decoder_ is not None
    assert dc.predict(images[:7]).shape == (7,)


def test_example_accuracy_matches_scipy_hungarian():
    cluster_accuracy = _example().cluster_accuracy
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 10, 200)
        labels = rng.integers(0, 10, 200)
        assert cluster_accuracy(y, labels) == pytest.approx(_acc_scipy(y, labels))
    y = rng.integers(0, 10, 100)
    assert cluster_accuracy(y, (y + 3) % 10) == 1.0


def test_bad_input(data):
    X, _ = data
    bad = [
        (dict(n_clusters=0), ValueError, "n_clusters"),
        (dict(gamma=-1.0), ValueError, "gamma"),
        (dict(alpha=0), ValueError, "alpha"),
        (dict(tol=float("nan")), ValueError, "tol"),
        (dict(hidden="wide"), TypeError, "hidden"),
        (dict(hidden=(8, 0)), ValueError, "hidden"),
        (dict(batch_size=1.5), TypeError, "batch_size"),
        (dict(encoder="mlp"), TypeError, "encoder"),
        (dict(decoder=keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])), ValueError,
         "decoder"),
        (dict(random_state=-2), ValueError, "random_state"),
    ]  # fmt: skip
    for params, error, match in bad:
        with pytest.raises(error, match=match):
            DeepClustering(**params).fit(X[:50])
    with pytest.raises(ValueError, match="NaN"):
        DeepClustering(2).fit(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="n_clusters=10"):
        DeepClustering(10).fit(X[:5])
    with pytest.raises(NotFittedError):
        DeepClustering(2).predict(X)


def test_predict_checks_features(data, small_fit):
    with pytest.raises(ValueError, match="64"):
        small_fit.predict(data[0][:, :10])


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beats_raw_pixel_kmeans_nmi(data, seed):
    X, y = data
    raw = KMeans(10, random_state=seed).fit_predict(X)
    deep = _example().deep_clustering(seed).fit_predict(X)
    assert normalized_mutual_info_score(y, deep) > normalized_mutual_info_score(y, raw)


def test_given_encoder_checks_the_shape_of_x(data):
    X, _ = data
    encoder = keras.Sequential([keras.Input((64,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"X has 10 features, but the encoder expects 64"):
        DeepClustering(2, encoder=encoder, max_iter=2, n_init=1).fit(X[:50, :10])
    with pytest.raises(ValueError, match=r"rows of shape \(64,\).*input shape is \(None, 64\)"):
        DeepClustering(2, encoder=encoder, max_iter=2, n_init=1).fit(X[:50].reshape(-1, 8, 8))
    dc = DeepClustering(2, encoder=encoder, max_iter=2, n_init=1, random_state=0).fit(X[:50])
    for method in (dc.predict, dc.predict_proba, dc.transform):
        with pytest.raises(ValueError, match="X has 63 features, but the encoder expects 64"):
            method(X[:5, :63])


def test_encoder_without_input_is_built_for_x_and_then_checked(data):
    X, _ = data
    encoder = keras.Sequential([keras.layers.Dense(4)])  # no keras.Input: not built
    dc = DeepClustering(3, encoder=encoder, max_iter=5, n_init=1, random_state=0).fit(X[:60])
    assert dc.encoder_.input_shape == (None, 64) and not encoder.built
    np.testing.assert_array_equal(dc.predict(X[:60]), dc.labels_)
    with pytest.raises(ValueError, match="X has 8 features, but the encoder expects 64"):
        dc.predict(X[:5, :8])


def test_fit_transform_is_fit_then_transform(iris):
    X, _ = iris
    kw = dict(hidden=(8,), embedding_dim=2, pretrain_epochs=2, max_iter=10, n_init=1)
    dec = DeepClustering(3, random_state=0, **kw)
    z = dec.fit_transform(X)
    assert z.shape == (len(X), 2)
    np.testing.assert_array_equal(z, dec.transform(X))
