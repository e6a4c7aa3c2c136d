"""SelfOrganizingMap's MiniSom extras: fixed points, distortion, labels map, callable
activation distances, fit_transform, winner of a row; MiniSom as the oracle."""

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from _som_oracle import minisom
from _som_oracle import with_codebook as _with_codebook
from minisom import MiniSom

from tfcluster.som import SelfOrganizingMap


def _minisom(m, n, X, seed=0, **kw):
    return minisom(m, n, X, seed, steps=50, **kw)  # a continuous codebook: no exact ties


# ---------------------------------------------------------------- fixed points


@pytest.mark.parametrize("epochs", [False, True])
def test_fixed_points_train_as_minisom(small, epochs):
    X, _ = small
    fixed = {0: (0, 0), 7: (4, 5), 42: (2, 3)}
    ref = _minisom(5, 6, X)
    w0 = ref.get_weights().copy()
    length = {"epochs": 2} if epochs else {"num_iteration": 401}
    som = SelfOrganizingMap(5, 6, init=w0, dtype="float64", random_order=False)
    free = SelfOrganizingMap(5, 6, init=w0, dtype="float64", random_order=False).fit(X, **length)
    ref.train(X, 2 if epochs else 401, use_epochs=epochs, fixed_points=fixed)
    som.fit(X, fixed_points=fixed, **length)
    np.testing.assert_allclose(som.weights_, ref.get_weights(), rtol=1e-9, atol=1e-9)
    assert not np.allclose(som.weights_, free.weights_)  # the fixed points did change it


def test_fixed_points_are_checked_as_minisom():
    X = np.array([[4.0, 2.0], [3.0, 1.0]])
    som = SelfOrganizingMap(5, 5, sigma=1.0, learning_rate=0.5, random_state=1)
    ref = MiniSom(5, 5, 2, sigma=1.0, learning_rate=0.5, random_seed=1)
    som.fit(X, num_iteration=10, fixed_points={0: (0, 0)})
    for bad, error in [
        ({0: (5, 0)}, ValueError),
        ({2: (0, 0)}, ValueError),
        ({0: (-1, 0)}, ValueError),
        ({-1: (0, 0)}, ValueError),
        ({"oops": (0, 0)}, TypeError),
    ]:
        with pytest.raises(error):
            ref.train(X, 10, fixed_points=bad)
        with pytest.raises(error, match="fixed point"):
            som.fit(X, num_iteration=10, fixed_points=bad)
    with pytest.raises(TypeError, match="dict"):
        som.fit(X, num_iteration=10, fixed_points=[(0, 0)])
    with pytest.raises(TypeError, match="grid position"):
        som.fit(X, num_iteration=10, fixed_points={0: 3})
    with pytest.raises(ValueError, match="mode='online'"):
        som.fit(X, mode="batch", fixed_points={0: (0, 0)})


# ---------------------------------------------------------------- distortion measure


@pytest.mark.parametrize(
    ("neighborhood", "topology", "sigma"),
    [
        ("gaussian", "rectangular", 1.0),
        ("mexican_hat", "rectangular", 1.5),
        ("bubble", "rectangular", 2.0),
        ("triangle", "rectangular", 2.0),
        ("gaussian", "hexagonal", 1.5),
    ],
)
def test_distortion_measure_equals_minisom(small, neighborhood, topology, sigma):
    X, _ = small
    kw = dict(sigma=sigma, neighborhood_function=neighborhood, topology=topology)
    ref = _minisom(5, 6, X, **kw)
    som = _with_codebook(ref.get_weights(), **kw)
    assert som.distortion_measure(X) == pytest.approx(ref.distortion_measure(X), rel=1e-9)


def test_distortion_measure_handwritten():
    # MiniSom's hand-written case: a 2 x 1 map, each sample on one node, sqrt(2) from the other
    w = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    som = _with_codebook(w, sigma=1.0)
    h = np.exp(-1.0 / 2.0)  # the gaussian at one node away, sigma 1
    assert som.distortion_measure(X) == pytest.approx(2 * h * np.sqrt(2), rel=1e-12)


# ---------------------------------------------------------------- labels map


def test_labels_map_keeps_each_label_as_given(small):
    X, _ = small
    X = X[:6]
    ref = _minisom(3, 3, X)
    som = _with_codebook(ref.get_weights())
    labels = [1, "a", (1, 2), 1, "a", np.int64(7)]
    got = som.labels_map(X, labels)
    assert dict(got) == dict(ref.labels_map(X, labels))
    seen = Counter()
    for counter in got.values():
        seen.update(counter)
    assert seen == Counter({1: 2, "a": 2, (1, 2): 1, 7: 1})
    kinds = {type(label) for counter in got.values() for label in counter}
    assert kinds == {int, str, tuple}  # not turned into strings, numpy 7 is the int 7
    assert got[(9, 9)] == []  # a defaultdict, as MiniSom's
    with pytest.raises(ValueError, match="one label per sample"):
        som.labels_map(X, labels[:2])
    with pytest.raises(TypeError, match="hashable"):
        som.labels_map(X, [[1]] * 6)


# ---------------------------------------------------------------- callable activation distance


def _manhattan(x, w):
    return tf.reduce_sum(tf.abs(x[:, None, :] - w[None, :, :]), axis=-1)


def test_callable_activation_distance_trains_and_predicts_as_the_named_one(small):
    X, _ = small
    X = X[:100]
    ref = _minisom(4, 5, X)
    w0 = ref.get_weights().copy()
    kw = dict(init=w0, dtype="float64", random_state=0)
    named = SelfOrganizingMap(4, 5, activation_distance="manhattan", **kw)
    given = SelfOrganizingMap(4, 5, activation_distance=_manhattan, **kw)
    for mode, length in (("online", {"num_iteration": 300}), ("batch", {"epochs": 3})):
        named.fit(X, mode=mode, **length)
        given.fit(X, mode=mode, **length)
        np.testing.assert_allclose(given.weights_, named.weights_, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(given.predict(X), named.predict(X))
        np.testing.assert_allclose(given.transform(X), named.transform(X), rtol=1e-12)


def test_callable_activation_distance_winners_equal_minisom(small):
    X, _ = small
    X = X[:50]

    def numpy_minkowski3(x, w):  # MiniSom's form: one sample, weights [m, n, d]
        return np.sum(np.abs(x - w) ** 3, axis=-1) ** (1 / 3)

    def tf_minkowski3(x, w):  # ours: x [b, d], w [m * n, d]
        return tf.reduce_sum(tf.abs(x[:, None, :] - w[None]) ** 3, axis=-1) ** (1 / 3)

    ref = _minisom(4, 5, X, activation_distance=numpy_minkowski3)
    som = _with_codebook(ref.get_weights(), activation_distance=tf_minkowski3)
    want = [np.ravel_multi_index(ref.winner(x), (4, 5)) for x in X]
    np.testing.assert_array_equal(som.predict(X), want)
    assert som.winner(X[3]) == tuple(int(v) for v in ref.winner(X[3]))


def test_a_bad_callable_activation_distance_is_a_clear_error():
    X = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(ValueError, match=r"\[b, m \* n\]"):
        SelfOrganizingMap(2, 2, activation_distance=lambda x, w: x).fit(X, num_iteration=5)
    with pytest.raises(TypeError, match="tensor"):
        SelfOrganizingMap(2, 2, activation_distance=lambda x, w: 1.0).fit(X, num_iteration=5)
    with pytest.raises(TypeError, match="TensorFlow ops"):
        SelfOrganizingMap(2, 2, activation_distance=lambda x, w: x.nope).fit(X, num_iteration=5)
    with pytest.raises(ValueError, match="or a callable"):
        SelfOrganizingMap(2, 2, activation_distance="minkowski").fit(X, num_iteration=5)
    fitted = SelfOrganizingMap(2, 2, activation_distance=_manhattan).fit(X, num_iteration=5)
    with pytest.raises(ValueError, match="named activation_distance"):
        fitted.as_layer()


# ---------------------------------------------------------------- fit_transform and winner


def test_fit_transform_equals_fit_then_transform(small):
    X, _ = small
    som = SelfOrganizingMap(3, 4, random_state=0, num_iteration=200)
    out = som.fit_transform(X)
    assert out.shape == (len(X), 12)
    np.testing.assert_array_equal(out, som.transform(X))
    again = SelfOrganizingMap(3, 4, random_state=0).fit_transform(X, num_iteration=200)
    np.testing.assert_array_equal(again, out)  # fit arguments pass through


def test_winner_takes_a_row_as_minisom(small):
    X, _ = small
    ref = _minisom(4, 5, X)
    som = _with_codebook(ref.get_weights())
    for x in X[:10]:
        want = tuple(int(v) for v in ref.winner(x[None, :]))
        assert som.winner(x[None, :]) == want == som.winner(x)
    with pytest.raises(ValueError, match=r"\[1, n_features\]"):
        som.winner(X[:2])
