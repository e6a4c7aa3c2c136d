"""SelfOrganizingMap: MiniSom as the oracle, hand-set codebooks, invariants, bad input."""

from collections import Counter

import numpy as np
import pytest
import tensorflow as tf
from _som_oracle import minisom as _minisom
from _som_oracle import with_codebook as _with_codebook
from minisom import MiniSom, _build_iteration_indexes
from scipy.spatial.distance import cdist

from tfcluster._base import NotFittedError, make_seed
from tfcluster._engine.driver import as_data
from tfcluster.ops import som as ops
from tfcluster.som import SelfOrganizingMap
from tfcluster.som import _fit as _som_fit


def _minisom_winners(ref, X):
    return np.array([np.ravel_multi_index(ref.winner(x), ref.get_weights().shape[:2]) for x in X])


# ---------------------------------------------------------------- hand-set codebooks


def test_hand_set_codebook_exact():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [9.0, 0.0], [10.0, 1.0]])
    w = np.array([[[0.0, 0.0], [10.0, 0.0]]])  # 1 x 2 map
    som = _with_codebook(w)
    np.testing.assert_array_equal(som.predict(X), [0, 0, 1, 1])
    assert som.winner([9.5, 0.0]) == (0, 1)
    assert som.quantization_error(X) == pytest.approx((0 + 1 + 1 + 1) / 4)
    np.testing.assert_array_equal(som.activation_response(X), [[2.0, 2.0]])
    np.testing.assert_allclose(som.quantization(X), [[0, 0], [0, 0], [10, 0], [10, 0]])
    assert som.topographic_error(X) == 0.0  # the two nodes are neighbours
    np.testing.assert_allclose(som.distance_map(), [[1.0, 1.0]])
    np.testing.assert_allclose(som.transform(X)[1], [1.0, 9.0])
    assert som.win_map(X, return_indices=True) == {(0, 0): [0, 1], (0, 1): [2, 3]}
    assert som.labels_map(X, ["a", "b", "a", "a"]) == {
        (0, 0): Counter({"a": 1, "b": 1}),
        (0, 1): Counter({"a": 2}),
    }


def test_topographic_error_hand_set_and_toroidal():
    # 1 x 3 map: a sample between nodes 0 and 2 has them as its two best units.
    w = np.array([[[0.0], [100.0], [1.0]]])
    X = np.array([[0.4]])
    assert _with_codebook(w).topographic_error(X) == 1.0
    assert _with_codebook(w, toroidal=True).topographic_error(X) == 0.0  # 0 and 2 touch


def test_toroidal_neighbourhood_wraps():
    grid = ops.Grid(5, 4, "rectangular", True, tf.float64)
    h = ops.NEIGHBORHOODS["gaussian"](grid, tf.constant([0]), tf.constant(1.0, tf.float64))
    h = h.numpy().reshape(5, 4)
    assert h[4, 0] == pytest.approx(np.exp(-0.5)) and h[0, 3] == pytest.approx(np.exp(-0.5))
    flat = ops.Grid(5, 4, "rectangular", False, tf.float64)
    h2 = ops.NEIGHBORHOODS["gaussian"](flat, tf.constant([0]), tf.constant(1.0, tf.float64))
    assert h2.numpy().reshape(5, 4)[4, 0] == pytest.approx(np.exp(-8.0))
    # Toroidal U-matrix: every node has 8 neighbours, so a uniform-gradient
    # codebook on a torus is no longer larger in the middle than at the corners.
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 4, 3))
    um = _with_codebook(w, toroidal=True).distance_map(scaling="sum")
    manual = np.zeros((4, 4))
    for i in range(4):
        for j in range(4):
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if di or dj:
                        manual[i, j] += np.linalg.norm(w[i, j] - w[(i + di) % 4, (j + dj) % 4])
    np.testing.assert_allclose(um, manual / manual.max())


# ---------------------------------------------------------------- same codebook as MiniSom


@pytest.mark.parametrize("distance", ["euclidean", "cosine", "manhattan"])
def test_same_codebook_rectangular_matches_minisom(small, distance):
    X, y = small
    ref = _minisom(7, 6, X, steps=100, activation_distance=distance)
    som = _with_codebook(ref.get_weights(), activation_distance=distance)
    np.testing.assert_array_equal(som.predict(X), _minisom_winners(ref, X))
    np.testing.assert_array_equal(som.activation_response(X), ref.activation_response(X))
    assert som.quantization_error(X) == pytest.approx(ref.quantization_error(X), rel=1e-12)
    assert som.topographic_error(X) == pytest.approx(ref.topographic_error(X))
    np.testing.assert_allclose(som.quantization(X), ref.quantization(X))
    for scaling in ("sum", "mean"):
        np.testing.assert_allclose(som.distance_map(scaling), ref.distance_map(scaling))
    act = np.stack([ref.activate(x).ravel() for x in X[:20]])
    np.testing.assert_allclose(som.transform(X[:20]), act, rtol=1e-9, atol=1e-9)
    assert som.winner(X[3]) == tuple(int(v) for v in ref.winner(X[3]))
    wm = som.win_map(X, return_indices=True)
    assert {k: list(v) for k, v in wm.items()} == dict(ref.win_map(X, return_indices=True))
    assert som.labels_map(X, y) == ref.labels_map(X, y)


def test_chebyshev_is_max_abs_difference(small):
    X, _ = small
    rng = np.random.default_rng(1)
    w = rng.uniform(0, 16, size=(4, 5, 64))
    som = _with_codebook(w, activation_distance="chebyshev")
    expected = cdist(X, w.reshape(20, 64), metric="chebyshev")
    np.testing.assert_allclose(som.transform(X), expected)
    np.testing.assert_array_equal(som.predict(X), expected.argmin(axis=1))


@pytest.mark.parametrize("n", [5, 6])
def test_same_codebook_hexagonal_matches_minisom(small, n):
    X, _ = small
    ref = _minisom(6, n, X, steps=100, topology="hexagonal")
    som = _with_codebook(ref.get_weights(), topology="hexagonal")
    np.testing.assert_array_equal(som.predict(X), _minisom_winners(ref, X))
    np.testing.assert_array_equal(som.activation_response(X), ref.activation_response(X))
    assert som.quantization_error(X) == pytest.approx(ref.quantization_error(X), rel=1e-12)
    assert som.topographic_error(X) == pytest.approx(ref.topographic_error(X))
    xx, yy = ref.get_euclidean_coordinates()
    grid = ops.Grid(6, n, "hexagonal", False, tf.float64)
    np.testing.assert_allclose(grid.x.numpy(), xx.ravel())
    np.testing.assert_allclose(grid.y.numpy(), yy.ravel())
    if n % 2:  # MiniSom's hexagonal neighbours agree with its layout for odd n
        for scaling in ("sum", "mean"):
            np.testing.assert_allclose(som.distance_map(scaling), ref.distance_map(scaling))


# ---------------------------------------------------------------- training = MiniSom's


@pytest.mark.parametrize(
    "neighborhood,topology,sigma",
    [
        ("gaussian", "rectangular", 1.5),
        ("mexican_hat", "rectangular", 1.5),
        ("bubble", "rectangular", 2.0),
        ("triangle", "rectangular", 2.0),
        ("gaussian", "hexagonal", 1.5),
        ("mexican_hat", "hexagonal", 1.0),
    ],
)
def test_online_training_equals_minisom(small, neighborhood, topology, sigma):
    X, _ = small
    kw = dict(sigma=sigma, neighborhood_function=neighborhood, topology=topology)
    ref = _minisom(5, 6, X, **kw)
    w0 = ref.get_weights().copy()
    ref.train(X, 401)  # not a multiple of the unrolling
    som = SelfOrganizingMap(5, 6, init=w0, dtype="float64", **kw)
    som.fit(X, num_iteration=401, random_order=False)
    np.testing.assert_allclose(som.weights_, ref.get_weights(), rtol=1e-9, atol=1e-9)
    assert som.n_iter_ == 401


@pytest.mark.parametrize(
    "decay,sigma_decay",
    [("inverse", "inverse"), ("linear", "linear"), ("linear_decay_to_zero", "asymptotic")],
)
def test_online_epochs_and_decays_equal_minisom(small, decay, sigma_decay):
    X, _ = small
    X = X[:60]
    full = {"inverse": "inverse_decay_to_zero", "linear": "linear_decay_to_zero"}
    full_sigma = {"inverse": "inverse_decay_to_one", "linear": "linear_decay_to_one"}
    ref = _minisom(
        4,
        4,
        X,
        sigma=2.0,
        decay_function=full.get(decay, decay),
        sigma_decay_function=full_sigma.get(sigma_decay, "asymptotic_decay"),
    )
    w0 = ref.get_weights().copy()
    ref.train(X, 3, use_epochs=True)
    som = SelfOrganizingMap(
        4, 4, sigma=2.0, decay_function=decay, sigma_decay_function=sigma_decay, init=w0
    )
    som.set_params(dtype="float64").fit(X, epochs=3, random_order=False)
    np.testing.assert_allclose(som.weights_, ref.get_weights(), rtol=1e-9, atol=1e-9)
    assert som.n_iter_ == 3 * len(X)


def test_callable_decay_equals_minisom(small):
    X, _ = small

    def decay(lr, t, max_iter):
        return lr * np.exp(-t / max_iter)

    ref = _minisom(4, 5, X, decay_function=decay)
    w0 = ref.get_weights().copy()
    ref.train(X, 300)
    som = SelfOrganizingMap(4, 5, decay_function=decay, init=w0, dtype="float64")
    som.fit(X, num_iteration=300, random_order=False)
    np.testing.assert_allclose(som.weights_, ref.get_weights(), rtol=1e-9, atol=1e-9)


def test_random_order_is_minisoms_permutation_scheme(small):
    # The same shuffled order as MiniSom's gives the same weights.
    X, _ = small
    ref = _minisom(5, 5, X)
    w0 = ref.get_weights().copy()
    order = _build_iteration_indexes(len(X), 500, random_generator=np.random.RandomState(3))
    assert np.array_equal(np.sort(order), np.sort(np.arange(500) % len(X)))
    ref._random_generator = np.random.RandomState(3)
    ref.train(X, 500, random_order=True)
    t = np.arange(500)
    eta, sig = 0.5 / (1 + t / 250), 1.0 / (1 + t / 250)
    w = ops.train_online(
        tf.constant(X),
        tf.constant(w0.reshape(25, -1)),
        tf.constant(order, tf.int32),
        tf.constant(eta),
        tf.constant(sig),
        shape=(5, 5),
        topology="rectangular",
        toroidal=False,
        neighborhood="gaussian",
        distance="euclidean",
    )
    np.testing.assert_allclose(w.numpy().reshape(5, 5, -1), ref.get_weights(), atol=1e-9)
    # and the estimator's own order is such a permutation of arange(steps) % n
    order = _som_fit.online_order(len(X), 500, None, True, make_seed(3)).numpy()
    np.testing.assert_array_equal(np.sort(order), np.sort(np.arange(500) % len(X)))
    assert not np.array_equal(order, np.arange(500) % len(X))
    epochs = _som_fit.online_order(7, 21, 3, True, make_seed(3)).numpy()
    np.testing.assert_array_equal(epochs[:7], epochs[7:14])
    np.testing.assert_array_equal(np.sort(epochs[:7]), np.arange(7))


def test_batch_training_equals_minisom(small):
    X, _ = small
    ref = _minisom(5, 6, X, sigma=2.0)
    w0 = ref.get_weights().copy()
    ref.train_batch_offline(X, 3)
    som = SelfOrganizingMap(5, 6, sigma=2.0, init=w0, dtype="float64")
    som.fit(X, epochs=3, mode="batch")
    np.testing.assert_allclose(som.weights_, ref.get_weights(), rtol=1e-9, atol=1e-9)
    assert som.n_iter_ == 3


def test_pca_init_equals_minisom_up_to_sign(small):
    X, _ = small
    ref = MiniSom(6, 4, 64)
    ref.pca_weights_init(X)
    cfg = _som_fit.check_params(SelfOrganizingMap(6, 4, init="pca", dtype="float64"))
    ours = _som_fit.initial_codebook("pca", as_data(X, dtype=tf.float64), cfg, None)
    theirs = ref.get_weights()
    mean = X.mean(axis=0)
    c1 = np.linspace(-1, 1, 6)[:, None, None]
    c2 = np.linspace(-1, 1, 4)[None, :, None]
    pc1 = (theirs[-1, 0] - theirs[0, 0]) / 2  # MiniSom's unit eigenvectors
    pc2 = (theirs[0, -1] - theirs[0, 0]) / 2
    np.testing.assert_allclose(mean + c1 * pc1 + c2 * pc2, theirs, atol=1e-8)
    matched = [
        np.allclose(ours, mean + c1 * s1 * pc1 + c2 * s2 * pc2, atol=1e-8)
        for s1 in (1, -1)
        for s2 in (1, -1)
    ]
    assert any(matched)


# ---------------------------------------------------------------- training quality


def test_digits_quality_matches_minisom(digits):
    X, _ = digits
    ref_qe, our_qe = [], []
    for seed in range(3):
        ref = _minisom(16, 16, X, seed=seed, sigma=1.0, learning_rate=0.5)
        ref.train(X, 10000, random_order=True)
        ref_qe.append(ref.quantization_error(X))
        som = SelfOrganizingMap(16, 16, sigma=1.0, learning_rate=0.5, random_state=seed)
        our_qe.append(som.fit(X, num_iteration=10000).quantization_error(X))
    assert np.median(our_qe) == pytest.approx(np.median(ref_qe), rel=0.05)


@pytest.mark.parametrize(
    "neighborhood,sigma,learning_rate",
    [
        ("gaussian", 1.0, 0.5),
        ("mexican_hat", 2.0, 0.1),
        ("bubble", 2.0, 0.5),
        ("triangle", 2.0, 0.5),
    ],
)
def test_each_neighbourhood_trains_like_minisom(digits, neighborhood, sigma, learning_rate):
    X, _ = digits
    kw = dict(sigma=sigma, learning_rate=learning_rate, neighborhood_function=neighborhood)
    ref_qe, our_qe = [], []
    for seed in range(2):
        ref = _minisom(8, 8, X, seed=seed, **kw)
        ref.train(X, 2000, random_order=True)
        ref_qe.append(ref.quantization_error(X))
        som = SelfOrganizingMap(8, 8, random_state=seed, **kw)
        our_qe.append(som.fit(X, num_iteration=2000).quantization_error(X))
    assert np.mean(our_qe) == pytest.approx(np.mean(ref_qe), rel=0.1)


def test_batch_mode_improves_and_approaches_online(digits):
    X, _ = digits
    errors = [
        SelfOrganizingMap(10, 10, learning_rate=1.0, random_state=0)
        .fit(X, epochs=e, mode="batch")
        .quantization_error(X)
        for e in (1, 3, 10)
    ]
    assert errors[0] > errors[1] > errors[2]
    online = SelfOrganizingMap(10, 10, random_state=0).fit(X, num_iteration=10 * len(X))
    assert errors[2] <= 1.1 * online.quantization_error(X)


# ---------------------------------------------------------------- invariants


def test_dataset_and_weights_equal_in_memory(small):
    X, _ = small
    X = X.astype(np.float32)
    kw = dict(sigma=1.5, random_state=4)
    mem = SelfOrganizingMap(4, 4, **kw).fit(X, epochs=3, mode="batch")
    ds = tf.data.Dataset.from_tensor_slices(X).batch(37)
    streamed = SelfOrganizingMap(4, 4, **kw).fit(ds, epochs=3, mode="batch")
    np.testing.assert_allclose(streamed.weights_, mem.weights_, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(streamed.labels_, mem.labels_)
    np.testing.assert_array_equal(mem.predict(ds), mem.predict(X))
    np.testing.assert_allclose(mem.transform(ds), mem.transform(X), rtol=1e-5, atol=1e-5)
    pca = SelfOrganizingMap(4, 4, init="pca", **kw)
    a = pca.fit(X, epochs=2, mode="batch").weights_
    b = pca.fit(ds, epochs=2, mode="batch").weights_
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-3)
    # integer sample weights = repeated rows
    w0 = mem.weights_
    counts = np.arange(len(X)) % 3
    weighted = SelfOrganizingMap(4, 4, init=w0, dtype="float64")
    weighted.fit(X, epochs=2, mode="batch", sample_weight=counts)
    repeated = SelfOrganizingMap(4, 4, init=w0, dtype="float64")
    repeated.fit(np.repeat(X, counts, axis=0), epochs=2, mode="batch")
    np.testing.assert_allclose(weighted.weights_, repeated.weights_, rtol=1e-9, atol=1e-9)


def test_seed_determinism_and_sklearn_contract(small):
    X, _ = small
    a = SelfOrganizingMap(5, 5, random_state=7).fit(X, num_iteration=500)
    b = SelfOrganizingMap(5, 5, random_state=7).fit(X, num_iteration=500)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    c = SelfOrganizingMap(5, 5, random_state=8).fit(X, num_iteration=500)
    assert not np.array_equal(a.weights_, c.weights_)
    assert a.weights_.shape == (5, 5, 64) and a.weights_.dtype == np.float32
    assert a.n_features_in_ == 64
    np.testing.assert_array_equal(a.labels_, a.predict(X))
    fp = SelfOrganizingMap(5, 5, random_state=7).fit_predict(X, num_iteration=500)
    np.testing.assert_array_equal(fp, a.labels_)
    # random init picks rows of the data
    init = SelfOrganizingMap(3, 3, random_state=1).fit(X, num_iteration=1, random_order=False)
    assert init.weights_.shape == (3, 3, 64)
    from sklearn.base import clone

    cl = clone(SelfOrganizingMap(3, 4, sigma=2.0, topology="hexagonal"))
    assert cl.get_params()["sigma"] == 2.0 and cl.n == 4
    assert "sigma=2.0" in repr(cl)


def test_random_init_rows_come_from_data(small):
    X, _ = small
    som = SelfOrganizingMap(4, 4)
    cfg = _som_fit.check_params(som)
    w = _som_fit.initial_codebook("random", as_data(X), cfg, make_seed(0))
    rows = {tuple(r) for r in X.astype(np.float32)}
    assert all(tuple(r) in rows for r in w.reshape(16, 64))


# ---------------------------------------------------------------- training length as parameters


def test_constructor_training_length_equals_minisom_and_fit_arguments(small):
    X, _ = small
    X = X[:120]
    ref = _minisom(4, 5, X, sigma=2.0)
    w0 = ref.get_weights().copy()
    ref.train_batch_offline(X, 3)
    kw = dict(sigma=2.0, init=w0, dtype="float64")
    som = SelfOrganizingMap(4, 5, mode="batch", epochs=3, **kw).fit(X)
    np.testing.assert_allclose(som.weights_, ref.get_weights(), rtol=1e-9, atol=1e-9)
    assert som.n_iter_ == 3
    cases = [
        dict(mode="batch", epochs=3),
        dict(num_iteration=150, random_order=False),
        dict(num_iteration=150),  # random order: the same seed, the same shuffle
        dict(epochs=2, random_order=True),
    ]
    for length in cases:
        by_params = SelfOrganizingMap(4, 5, random_state=3, **length).fit(X)
        by_fit = SelfOrganizingMap(4, 5, random_state=3).fit(X, **length)
        np.testing.assert_array_equal(by_params.weights_, by_fit.weights_)
        assert by_params.n_iter_ == by_fit.n_iter_
    assert SelfOrganizingMap(2, 3, random_state=0).fit(X).n_iter_ == 500 * 6  # the default


def test_fit_arguments_override_the_constructor_for_one_fit(small):
    X, _ = small
    X = X[:100]
    som = SelfOrganizingMap(3, 4, mode="batch", epochs=2, random_state=1)
    params = som.get_params()
    four = SelfOrganizingMap(3, 4, mode="batch", epochs=4, random_state=1).fit(X)
    np.testing.assert_array_equal(som.fit(X, epochs=4).weights_, four.weights_)
    assert som.n_iter_ == 4 and som.get_params() == params  # the constructor's stay
    assert som.fit(X).n_iter_ == 2
    assert som.fit(X, mode="online", num_iteration=30).n_iter_ == 30
    # num_iteration and epochs are one choice: either given to fit replaces both
    steps = SelfOrganizingMap(3, 4, num_iteration=50, random_state=1).fit(X, epochs=2)
    assert steps.n_iter_ == 2 * len(X)
    ordered = SelfOrganizingMap(3, 4, num_iteration=60, random_order=False, random_state=1)
    shuffled = SelfOrganizingMap(3, 4, num_iteration=60, random_state=1).fit(X)
    np.testing.assert_array_equal(ordered.fit(X, random_order=True).weights_, shuffled.weights_)
    assert not np.array_equal(ordered.fit(X).weights_, shuffled.weights_)


def test_clone_and_set_params_carry_the_training_length(small):
    from sklearn.base import clone

    X, _ = small
    X = X[:80]
    som = SelfOrganizingMap(3, 3, mode="batch", epochs=3, random_order=False, random_state=0)
    copy = clone(som)
    length = dict(mode="batch", num_iteration=None, epochs=3, random_order=False)
    assert {k: copy.get_params()[k] for k in length} == length
    assert "mode='batch'" in repr(copy) and "epochs=3" in repr(copy)
    np.testing.assert_array_equal(copy.fit(X).weights_, som.fit(X).weights_)
    copy.set_params(mode="online", epochs=None, num_iteration=40)
    assert copy.fit(X).n_iter_ == 40


@pytest.mark.parametrize(
    "params,error,match",
    [
        (dict(mode="offline"), ValueError, "Unknown mode 'offline'.*'online', 'batch'"),
        (dict(num_iteration=0), ValueError, "num_iteration must be"),
        (dict(num_iteration=1.5), TypeError, "num_iteration must be"),
        (dict(num_iteration=True), TypeError, "num_iteration must be"),
        (dict(epochs=0), ValueError, "epochs must be"),
        (dict(mode="batch", epochs=2.0), TypeError, "epochs must be"),
        (dict(num_iteration=5, epochs=2), ValueError, "num_iteration or epochs, not both"),
        (dict(mode="batch", num_iteration=5), ValueError, "give epochs, not num_iteration"),
        (dict(random_order="no"), TypeError, "random_order must be True or False"),
        (dict(random_order=None), TypeError, "random_order must be True or False"),
    ],
)
def test_bad_training_length_parameters(params, error, match):
    X = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(error, match=match):
        SelfOrganizingMap(3, 3, **params).fit(X)


def test_checkpoint_fingerprint_holds_the_training_length(small, tmp_path, monkeypatch):
    import tfcluster.som._fit as fitting

    X, _ = small
    X = X[:90]
    som = SelfOrganizingMap(3, 4, mode="batch", epochs=3, random_state=0)
    done = som.fit(X, checkpoint_dir=tmp_path).weights_
    real, calls = fitting.ops.batch_epoch, []
    monkeypatch.setattr(
        fitting.ops, "batch_epoch", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    # the same fit, given through fit's arguments: resumed after its last epoch
    same = SelfOrganizingMap(3, 4, random_state=0)
    same.fit(X, mode="batch", epochs=3, checkpoint_dir=tmp_path)
    assert calls == [] and same.n_iter_ == 3
    np.testing.assert_array_equal(same.weights_, done)
    with pytest.raises(ValueError, match="another fit"):
        som.fit(X, epochs=5, checkpoint_dir=tmp_path)
    for epochs in (5, None):  # None: the default 10 epochs
        with pytest.raises(ValueError, match="another fit"):
            other = SelfOrganizingMap(3, 4, mode="batch", epochs=epochs, random_state=0)
            other.fit(X, checkpoint_dir=tmp_path)
    assert calls == []


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "params,error,match",
    [
        (dict(m=0), ValueError, "m must be"),
        (dict(n=-1), ValueError, "n must be"),
        (dict(m=2.5), TypeError, "m must be"),
        (dict(sigma=0), ValueError, "sigma"),
        (dict(sigma=-1.0), ValueError, "sigma"),
        (dict(sigma="1"), TypeError, "sigma"),
        (dict(learning_rate=float("nan")), ValueError, "learning_rate"),
        (dict(neighborhood_function="cone"), ValueError, "'gaussian', 'mexican_hat'"),
        (dict(topology="square"), ValueError, "'rectangular', 'hexagonal'"),
        (dict(activation_distance="hamming"), ValueError, "'euclidean', 'cosine'"),
        (dict(decay_function="exp"), ValueError, "'asymptotic', 'inverse'"),
        (dict(sigma_decay_function="exp"), ValueError, "'asymptotic', 'inverse'"),
        (dict(init="kmeans"), ValueError, "'random', 'pca'"),
        (dict(init=3), TypeError, "init must be"),
        (dict(init=np.zeros((2, 2, 3))), ValueError, "shape"),
        (dict(init=np.full((3, 3, 4), np.nan)), ValueError, "NaN"),
        (dict(toroidal="yes"), TypeError, "toroidal"),
        (dict(toroidal=True, topology="hexagonal"), ValueError, "even n"),
        (dict(dtype="int8"), ValueError, "float32"),
        (dict(decay_function=lambda lr, t, T: lr * np.nan), ValueError, "NaN"),
        (dict(sigma_decay_function=lambda s, t, T: s - t), ValueError, "sigma > 0"),
    ],
)
def test_bad_parameters(params, error, match):
    X = np.random.default_rng(0).normal(size=(20, 4))
    kw = dict(m=3, n=3)
    kw.update(params)
    m, n = kw.pop("m"), kw.pop("n")
    with pytest.raises(error, match=match):
        SelfOrganizingMap(m, n, **kw).fit(X, num_iteration=10)


def test_bad_fit_arguments_and_data():
    X = np.random.default_rng(0).normal(size=(20, 4))
    som = SelfOrganizingMap(3, 3, random_state=0)
    cases = [
        (dict(mode="offline"), ValueError, "'online', 'batch'"),
        (dict(num_iteration=0), ValueError, "num_iteration"),
        (dict(num_iteration=1.5), TypeError, "num_iteration"),
        (dict(epochs=0), ValueError, "epochs"),
        (dict(num_iteration=5, epochs=2), ValueError, "not both"),
        (dict(mode="batch", num_iteration=5), ValueError, "epochs"),
        (dict(random_order="no"), TypeError, "random_order"),
        (dict(sample_weight=np.ones(20)), ValueError, "mode='batch'"),
        (dict(mode="batch", sample_weight=-np.ones(20)), ValueError, "negative"),
    ]
    for kw, error, match in cases:
        with pytest.raises(error, match=match):
            som.fit(X, **kw)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        som.fit(bad, num_iteration=5)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        som.fit(bad, num_iteration=5)
    with pytest.raises(ValueError, match="2-D"):
        som.fit(X[:, 0], num_iteration=5)
    with pytest.raises(TypeError, match="numbers"):
        som.fit([["a", "b"]], num_iteration=5)
    ds = tf.data.Dataset.from_tensor_slices(X).batch(5)
    with pytest.raises(ValueError, match="mode='batch'"):
        som.fit(ds, num_iteration=5)
    nan_ds = tf.data.Dataset.from_tensor_slices(bad).batch(5)
    with pytest.raises(ValueError, match="NaN"):
        som.fit(nan_ds, epochs=1, mode="batch")
    with pytest.raises(ValueError, match="at least 2 features"):
        SelfOrganizingMap(2, 2, init="pca").fit(X[:, :1], num_iteration=5)


def test_bad_inference_input():
    X = np.random.default_rng(0).normal(size=(20, 4))
    som = SelfOrganizingMap(3, 3, random_state=0)
    for method in ("predict", "transform", "quantization_error", "topographic_error"):
        with pytest.raises(NotFittedError):
            getattr(som, method)(X)
    with pytest.raises(NotFittedError):
        som.distance_map()
    som.fit(X, num_iteration=50)
    with pytest.raises(ValueError, match="3 features, but this estimator was fitted with 4"):
        som.predict(X[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        som.quantization_error(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="'sum', 'mean'"):
        som.distance_map(scaling="max")
    with pytest.raises(ValueError, match="1-D"):
        som.winner(X[:2])
    with pytest.raises(ValueError, match="labels"):
        som.labels_map(X, [0, 1])
    with pytest.raises(ValueError, match="1 x 1"):
        SelfOrganizingMap(1, 1, random_state=0).fit(X, num_iteration=5).topographic_error(X)


def test_docstring_examples():
    import doctest

    import tfcluster.som

    result = doctest.testmod(tfcluster.som, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    "kw",
    [
        dict(topology="hexagonal", toroidal=True, neighborhood_function="gaussian"),
        dict(toroidal=True, neighborhood_function="bubble", sigma=2.0),
        dict(activation_distance="cosine"),
        dict(activation_distance="manhattan", neighborhood_function="triangle", sigma=2.0),
        dict(activation_distance="chebyshev"),
    ],
)
def test_every_option_trains_online_and_batch(small, kw):
    X, _ = small
    X = X[:120]
    one_node = np.linalg.norm(X - X.mean(axis=0), axis=1).mean()  # a 1 x 1 map's best error
    for mode, length in (("online", dict(num_iteration=300)), ("batch", dict(epochs=3))):
        som = SelfOrganizingMap(4, 6, random_state=0, **kw).fit(X, mode=mode, **length)
        assert som.weights_.shape == (4, 6, 64) and np.all(np.isfinite(som.weights_))
        assert som.quantization_error(X) < 0.95 * one_node
        np.testing.assert_array_equal(som.labels_, som.predict(X))
        assert 0.0 <= som.topographic_error(X) <= 1.0
        um = som.distance_map(scaling="mean")
        assert um.shape == (4, 6) and um.max() == pytest.approx(1.0)


def test_interrupted_batch_fit_resumes_to_the_same_result(tmp_path, monkeypatch, interrupted):
    import tfcluster.som._fit as fitting
    from tfcluster.datasets import load_digits

    X, _ = load_digits()
    params = {"random_state": 0, "dtype": "float64", "learning_rate": 1.0}
    ref = SelfOrganizingMap(5, 6, **params).fit(X, epochs=6, mode="batch")
    real = fitting.ops.batch_epoch
    som = SelfOrganizingMap(5, 6, **params)
    # four epochs saved (every 2), then the process dies
    kw = {"epochs": 6, "mode": "batch", "checkpoint_dir": tmp_path, "checkpoint_every": 2}
    interrupted(som, X, (fitting.ops, "batch_epoch", 5), **kw)
    resumed = []
    monkeypatch.setattr(
        fitting.ops, "batch_epoch", lambda *a, **k: resumed.append(1) or real(*a, **k)
    )
    som.fit(X, epochs=6, mode="batch", checkpoint_dir=tmp_path, checkpoint_every=2)
    assert len(resumed) == 2  # only the last two epochs ran again
    np.testing.assert_array_equal(som.weights_, ref.weights_)
    with pytest.raises(ValueError, match="another fit"):
        SelfOrganizingMap(5, 6, sigma=2.0, **params).fit(
            X, epochs=6, mode="batch", checkpoint_dir=tmp_path
        )
    with pytest.raises(ValueError, match="mode='batch'"):
        som.fit(X, checkpoint_dir=tmp_path)


# ---------------------------------------------------------------- compiled programs


def _traces():
    from tfcluster._engine import trace_counts

    return sum(trace_counts().values())


def test_new_lengths_rates_spreads_and_sizes_trace_nothing(small):
    X, _ = small
    base = dict(random_state=0, num_iteration=1000)
    SelfOrganizingMap(6, 6, **base).fit(X)  # the first fit of this map size traces
    before = _traces()
    SelfOrganizingMap(6, 6, **base).fit(X, num_iteration=1004)
    SelfOrganizingMap(6, 6, learning_rate=0.3, **base).fit(X)
    SelfOrganizingMap(6, 6, learning_rate=0.7, **base).fit(X)
    SelfOrganizingMap(6, 6, sigma=0.8, **base).fit(X)
    SelfOrganizingMap(6, 6, sigma=1.7, **base).fit(X)
    SelfOrganizingMap(6, 6, **base).fit(X[:217])  # a new n_samples
    SelfOrganizingMap(5, 7, **base).fit(X)  # another map size of the same node bucket
    SelfOrganizingMap(6, 6, random_state=0).fit(X, epochs=2)  # online epochs
    assert _traces() == before


def test_batch_fit_is_one_loop_and_new_epochs_trace_nothing(small):
    X, _ = small
    SelfOrganizingMap(4, 5, mode="batch", epochs=3, random_state=0).fit(X)
    before = _traces()
    for epochs, lr, sigma, rows in ((4, 0.5, 1.0, 300), (7, 0.9, 2.0, 150), (2, 0.2, 0.5, 61)):
        SelfOrganizingMap(4, 5, mode="batch", learning_rate=lr, sigma=sigma).fit(
            X[:rows], epochs=epochs
        )
    assert _traces() == before


def test_refit_with_other_n_features_and_a_dataset(small):
    X, _ = small
    som = SelfOrganizingMap(3, 4, mode="batch", epochs=2, random_state=0)
    som.fit(X)
    assert som.weights_.shape == (3, 4, 64)
    X2 = np.random.default_rng(0).normal(size=(50, 5))
    som.fit(X2)
    assert som.weights_.shape == (3, 4, 5)
    ds = tf.data.Dataset.from_tensor_slices(X2[:, :3]).batch(16)
    som.fit(ds)
    assert som.weights_.shape == (3, 4, 3) and som.labels_.shape == (50,)
    online = SelfOrganizingMap(3, 4, num_iteration=100, random_state=0)
    for d in (64, 5, 3):
        assert online.fit(X[:, :d] if d == 64 else X2[:, :d]).weights_.shape == (3, 4, d)


def test_extreme_sigma_and_learning_rate_give_an_answer_or_a_clear_error(small):
    X, _ = small
    som = SelfOrganizingMap(4, 4, sigma=1e-20, num_iteration=300, random_state=0).fit(X)
    assert np.all(np.isfinite(som.weights_))
    for hood in ("gaussian", "mexican_hat"):
        batch = SelfOrganizingMap(4, 4, sigma=1e-20, neighborhood_function=hood, mode="batch")
        assert np.all(np.isfinite(batch.fit(X, epochs=2).weights_))
    with pytest.raises(ValueError, match="learning_rate"):
        SelfOrganizingMap(4, 4, learning_rate=100, num_iteration=300, random_state=0).fit(X)
    with pytest.raises(ValueError, match="learning_rate"):
        SelfOrganizingMap(4, 4, learning_rate=1e30, mode="batch", random_state=0).fit(X)
