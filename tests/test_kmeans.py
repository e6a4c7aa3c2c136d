"""KMeans: hand-computed cases, scikit-learn as oracle, invariants, bad input."""

import numpy as np
import pytest
import scipy.sparse
import tensorflow as tf
from sklearn.base import clone
from sklearn.cluster import KMeans as SKKMeans
from sklearn.metrics import adjusted_rand_score

from tfcluster import KMeans, NotFittedError, kmeans_plusplus
from tfcluster.kmeans import ConvergenceWarning


def _dataset(X, batch, w=None):
    if w is None:
        return tf.data.Dataset.from_tensor_slices(X).batch(batch)
    return tf.data.Dataset.from_tensor_slices((X, np.zeros(len(X)), w)).batch(batch)


# 1. Hand-computed toy cases ---------------------------------------------------------


def test_four_points_exact():
    X = np.array([[0.0, 0.0], [0.0, 2.0], [6.0, 0.0], [6.0, 2.0]])
    km = KMeans(2, init=np.array([[0.0, 0.0], [6.0, 0.0]]), dtype="float64").fit(X)
    np.testing.assert_array_equal(km.labels_, [0, 0, 1, 1])
    np.testing.assert_allclose(km.cluster_centers_, [[0.0, 1.0], [6.0, 1.0]])
    assert km.inertia_ == pytest.approx(4.0)  # four points at distance 1
    assert km.n_iter_ == 2 and km.converged_  # second iteration moves nothing
    np.testing.assert_allclose(km.transform([[3.0, 1.0]]), [[3.0, 3.0]])
    assert km.score(X) == pytest.approx(-4.0)


def test_weighted_toy():
    X = np.array([[0.0], [3.0], [10.0]])
    km = KMeans(2, init=np.array([[0.0], [10.0]]), dtype="float64")
    km.fit(X, sample_weight=[2.0, 1.0, 1.0])
    np.testing.assert_allclose(km.cluster_centers_, [[1.0], [10.0]])  # (2*0 + 3) / 3
    assert km.inertia_ == pytest.approx(2 * 1.0 + 4.0)


# 2. scikit-learn as oracle -----------------------------------------------------------


@pytest.mark.parametrize("name", ["digits", "iris", "wine"])
def test_same_init_matches_sklearn_float64(name, request):
    X, _ = request.getfixturevalue(name)
    k = 10 if name == "digits" else 3
    init = X[np.random.default_rng(1).choice(len(X), k, replace=False)]
    ours = KMeans(k, init=init, dtype="float64", tol=1e-4).fit(X)
    ref = SKKMeans(k, init=init, n_init=1, tol=1e-4).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), rtol=1e-9, atol=1e-9)


def test_tol_zero_runs_to_stable_labels_like_sklearn(wine):
    X, _ = wine
    init = X[:3]
    ours = KMeans(3, init=init, tol=0, dtype="float64").fit(X)
    ref = SKKMeans(3, init=init, n_init=1, tol=0).fit(X)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(ours.labels_, ref.labels_)


def test_kmeans_plusplus_quality_close_to_sklearn(digits):
    X, _ = digits
    ours = [KMeans(10, random_state=s).fit(X).inertia_ for s in range(6)]
    ref = [SKKMeans(10, n_init=1, random_state=s).fit(X).inertia_ for s in range(6)]
    assert np.median(ours) <= 1.02 * np.median(ref)


@pytest.mark.parametrize("init", ["random", "k-means||"])
def test_other_inits_give_good_clusterings(digits, init):
    X, _ = digits
    ref = np.median([SKKMeans(10, n_init=1, random_state=s).fit(X).inertia_ for s in range(4)])
    ours = np.median([KMeans(10, init=init, random_state=s).fit(X).inertia_ for s in range(4)])
    assert ours <= 1.05 * ref


def test_kmeans_plusplus_function(blobs):
    X, y = blobs
    centers, idx = kmeans_plusplus(X, 4, random_state=0, dtype="float64")
    np.testing.assert_array_equal(centers, X[idx])
    assert len(set(y[idx])) == 4  # one seed per well-separated blob
    again, idx2 = kmeans_plusplus(X, 4, random_state=0, dtype="float64")
    np.testing.assert_array_equal(idx, idx2)


def test_small_data_plusplus_is_the_compiled_ops(digits):
    """Small data are seeded by numpy (``_seeding.plusplus``) from the uniforms the
    compiled ``ops.kmeans_plusplus`` draws: the same rows, weighted or not (float64,
    where no two candidates' potentials tie within rounding)."""
    import tensorflow as tf

    from tfcluster.cluster._seeding import _NUMPY_PLUSPLUS, plusplus
    from tfcluster.ops.kmeans import kmeans_plusplus as compiled

    X = digits[0] - digits[0].mean(0)
    assert X.size <= _NUMPY_PLUSPLUS
    rng = np.random.default_rng(0)
    for k in (1, 2, 7, 10, 40):
        for s in range(4):
            w = rng.uniform(0.5, 2.0, len(X)) if s % 2 else np.ones(len(X))
            x, w = tf.constant(X), tf.constant(w)
            seed = tf.constant([s, 3], tf.int64)
            centers, ours = plusplus(x, w, k, seed)
            _, theirs = compiled(x, w, k, seed, 2 + int(np.log(k)))
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            np.testing.assert_array_equal(centers.numpy(), X[ours.numpy()])


# 3. Invariants ---------------------------------------------------------------------


def test_inertia_never_rises_over_lloyd_steps(digits):
    X, _ = digits
    init = X[:10]
    inertias = [
        KMeans(10, init=init, max_iter=i, tol=0, dtype="float64").fit(X).inertia_
        for i in range(1, 12)
    ]
    assert all(b <= a * (1 + 1e-12) for a, b in zip(inertias, inertias[1:], strict=False))
    assert inertias[-1] < inertias[0]


@pytest.mark.parametrize("batch", [7, 256])
def test_streamed_equals_in_memory(digits, batch):
    X, _ = digits
    init = X[10:20]
    mem = KMeans(10, init=init, dtype="float64").fit(X)
    stream = KMeans(10, init=init, dtype="float64").fit(_dataset(X, batch))
    np.testing.assert_allclose(stream.cluster_centers_, mem.cluster_centers_, atol=1e-9)
    np.testing.assert_array_equal(stream.labels_, mem.labels_)
    assert stream.inertia_ == pytest.approx(mem.inertia_, rel=1e-12)
    # Batches sum in another order than chunks: a point within rounding of a tie
    # between two centers may settle one iteration earlier or later.
    assert abs(stream.n_iter_ - mem.n_iter_) <= 1


def test_streamed_weights_equal_in_memory_weights(iris):
    X, _ = iris
    w = np.random.default_rng(0).integers(1, 4, len(X)).astype(float)
    mem = KMeans(3, init=X[:3], dtype="float64").fit(X, sample_weight=w)
    stream = KMeans(3, init=X[:3], dtype="float64").fit(_dataset(X, 32, w))
    np.testing.assert_allclose(stream.cluster_centers_, mem.cluster_centers_, atol=1e-9)


def test_streamed_default_init_is_good(digits):
    X, _ = digits
    ref = np.median([SKKMeans(10, n_init=1, random_state=s).fit(X).inertia_ for s in range(3)])
    ours = KMeans(10, random_state=0).fit(_dataset(X.astype(np.float32), 128))
    assert ours.inertia_ <= 1.05 * ref


def test_integer_weights_equal_repeated_rows(iris):
    X, _ = iris
    w = np.random.default_rng(3).integers(0, 4, len(X))
    w[:3] = 1
    weighted = KMeans(3, init=X[:3], dtype="float64").fit(X, sample_weight=w)
    repeated = KMeans(3, init=X[:3], dtype="float64").fit(np.repeat(X, w, axis=0))
    np.testing.assert_allclose(weighted.cluster_centers_, repeated.cluster_centers_, atol=1e-10)
    assert weighted.inertia_ == pytest.approx(repeated.inertia_, rel=1e-10)


def test_fit_predict_predict_and_labels_agree(blobs):
    X, _ = blobs
    km = KMeans(4, random_state=0)
    labels = km.fit_predict(X)
    np.testing.assert_array_equal(labels, km.labels_)
    np.testing.assert_array_equal(km.predict(X), labels)
    np.testing.assert_array_equal(km.transform(X).argmin(1), labels)
    np.testing.assert_allclose(km.fit_transform(X), km.transform(X), rtol=1e-5)


def test_same_seed_same_result_bit_for_bit(digits):
    X, _ = digits
    a = KMeans(10, random_state=7, n_init=2).fit(X)
    b = KMeans(10, random_state=7, n_init=2).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert a.inertia_ == b.inertia_


def test_n_init_keeps_best_run(digits):
    X, _ = digits
    inits = []

    def recording_init(data, n_clusters, random_state):
        centers = data[np.random.default_rng(random_state).choice(len(data), n_clusters)]
        inits.append(centers)
        return centers

    multi = KMeans(10, init=recording_init, n_init=3, random_state=0, dtype="float64").fit(X)
    assert len(inits) == 3
    runs = [KMeans(10, init=c, dtype="float64").fit(X).inertia_ for c in inits]
    assert multi.inertia_ == pytest.approx(min(runs), rel=1e-12)
    assert len(set(runs)) > 1  # the runs really differed


def test_n_init_auto_as_sklearn(digits):
    X, _ = digits
    inits = []
    KMeans(10, init=lambda d, k, r: inits.append(1) or d[:k], n_init="auto").fit(X)
    assert len(inits) == 10  # a callable init: 10 runs
    assert KMeans(10, n_init="auto", random_state=0).fit(X).n_iter_ >= 1


def test_float32_far_from_origin(iris):
    X, _ = iris
    near = KMeans(3, init=X[:3], dtype="float64").fit(X)
    far = KMeans(3, init=X[:3] + 1e5, dtype="float32").fit(X + 1e5)
    np.testing.assert_array_equal(far.labels_, near.labels_)
    np.testing.assert_array_equal(far.predict(X + 1e5), near.labels_)
    assert far.inertia_ == pytest.approx(near.inertia_, rel=1e-3)


def test_empty_cluster_is_relocated_like_sklearn(iris):
    X, _ = iris
    init = np.vstack([X[:2], [[100.0, 100.0, 100.0, 100.0]]])  # third center attracts nothing
    ours = KMeans(3, init=init, dtype="float64").fit(X)
    ref = SKKMeans(3, init=init, n_init=1).fit(X)
    assert np.all(np.isfinite(ours.cluster_centers_))
    assert len(np.unique(ours.labels_)) == 3
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-6)


def test_duplicate_initial_centers_tie_like_sklearn(iris):
    X, _ = iris
    init = X[[0, 0, 100]]  # every point ties between the first two centers
    ours = KMeans(3, init=init, dtype="float64").fit(X)
    ref = SKKMeans(3, init=init, n_init=1).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-9)
    assert ours.n_iter_ == ref.n_iter_


def test_callable_init_and_tensor_input(iris):
    X, _ = iris

    def first_rows(data, n_clusters, random_state):
        return data[:n_clusters]

    a = KMeans(3, init=first_rows, dtype="float64").fit(tf.constant(X))
    b = KMeans(3, init=X[:3], dtype="float64").fit(X.tolist())
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_clone_and_params():
    km = KMeans(5, init="random", random_state=3)
    copy = clone(km)
    assert copy.get_params() == km.get_params()
    assert "n_clusters=5" in repr(km)
    with pytest.raises(ValueError, match="Invalid parameter"):
        km.set_params(k=3)


def test_float64_kept(iris):
    X, _ = iris
    km = KMeans(3, random_state=0, dtype="float64").fit(X)
    assert km.cluster_centers_.dtype == np.float64
    assert KMeans(3, random_state=0).fit(X).cluster_centers_.dtype == np.float32


# 4. Bad input -----------------------------------------------------------------------

BAD_X = [
    ([[1.0, np.nan], [2.0, 3.0]], ValueError, "NaN"),
    ([[1.0, np.inf], [2.0, 3.0]], ValueError, "NaN or infinity"),
    ([[1.0, 1e19], [2.0, 3.0]], ValueError, "overflow float32 .* use dtype='float64'"),
    (tf.constant([[1.0, 1e19], [2.0, 3.0]]), ValueError, "up to 1e\\+19 in magnitude"),
    (tf.constant([["a", "b"]]), TypeError, "real numbers; got a tensor of string"),
    (scipy.sparse.csr_matrix(np.eye(3)), TypeError, "sparse.*toarray"),
    (np.zeros((0, 2)), ValueError, "0 sample"),
    (np.zeros(5), ValueError, "2-D"),
    (np.zeros((2, 2, 2)), ValueError, "2-D"),
    ([["a", "b"], ["c", "d"]], TypeError, "numbers"),
    ([[1.0, 2.0], [3.0]], ValueError, "ragged"),
    ("abc", TypeError, "string"),
]


@pytest.mark.parametrize(("X", "error", "match"), BAD_X)
def test_bad_X(X, error, match):
    with pytest.raises(error, match=match):
        KMeans(1).fit(X)


def test_predict_transform_and_score_read_datasets_as_arrays(iris):
    X, _ = iris
    stream = _dataset(X.astype(np.float32), 32)
    km = KMeans(3, random_state=0).fit(X)
    np.testing.assert_array_equal(km.predict(stream), km.predict(X))
    np.testing.assert_allclose(km.transform(stream), km.transform(X), rtol=1e-6)
    assert km.score(stream) == pytest.approx(km.score(X), rel=1e-6)
    np.testing.assert_allclose(km.fit_transform(stream), km.transform(X), rtol=1e-6)
    with pytest.raises(ValueError, match="empty"):
        km.predict(stream.take(0))
    with pytest.raises(ValueError, match="3 features"):
        km.predict(_dataset(X[:, :3].astype(np.float32), 32))


def test_data_near_the_float32_limit_fit_as_the_same_data_scaled_down():
    # 2**62 scales exactly in float32; squares reach ~1e38, and float32 sums of
    # them overflow: moments and inertia are summed in float64.
    u = np.random.RandomState(0).uniform(-0.9, 0.9, (2000, 1))
    init = np.array([[-0.9], [-0.8], [-0.7], [-0.6], [-0.5]])
    small = KMeans(5, init=init).fit(u)
    big = KMeans(5, init=init * 2.0**62).fit(u * 2.0**62)
    np.testing.assert_array_equal(big.labels_, small.labels_)
    assert big.n_iter_ == small.n_iter_
    assert big.inertia_ / 2.0**124 == pytest.approx(small.inertia_, rel=1e-5)
    # centring can take rows past the limit; internal data are not refused again
    from tfcluster import GaussianMixture, MiniBatchKMeans
    from tfcluster._validation import largest_value

    L = largest_value(tf.float32, 1)
    X = np.array([[-0.99 * L], [0.99 * L], [-0.99 * L], [0.99 * L], [0.5 * L], [0.0]])
    expected = [0, 1, 0, 1, 1, 0]
    for model in (
        KMeans(2, random_state=0),
        MiniBatchKMeans(2, batch_size=4, random_state=0),
        GaussianMixture(2, random_state=0),
    ):
        labels = expected
        if isinstance(model, MiniBatchKMeans):
            # six rows have two stable 2-clusterings ({0} goes with either side):
            # which one the mini-batches reach depends on the draws, the same on
            # the data scaled down by a power of two
            labels = model.fit(X * 2.0**-100).predict(X * 2.0**-100)
        assert adjusted_rand_score(model.fit(X).predict(X), labels) == 1.0


def test_float64_values_past_float32_are_refused_before_any_cast():
    X = np.array([[1e39, 0.0], [0.0, 1.0]])  # finite in float64, inf in float32
    for given in (X, tf.constant(X)):
        with pytest.raises(ValueError, match="up to 1e\\+39 in magnitude"):
            KMeans(1).fit(given)  # no RuntimeWarning from a cast (an error in tests)


def test_a_random_state_object_resumes_its_checkpoint(iris, tmp_path):
    X, _ = iris
    first = KMeans(3, random_state=np.random.RandomState(0)).fit(X, checkpoint_dir=tmp_path)
    again = KMeans(3, random_state=np.random.RandomState(0)).fit(X, checkpoint_dir=tmp_path)
    np.testing.assert_array_equal(again.cluster_centers_, first.cluster_centers_)
    with pytest.raises(ValueError, match="another fit"):
        KMeans(3, random_state=np.random.RandomState(1)).fit(X, checkpoint_dir=tmp_path)


def test_values_that_would_overflow_are_refused_in_streams_and_fit_in_float64():
    X = np.array([[1.0, 1e19], [2.0, 3.0], [0.0, 1.0]])
    stream = tf.data.Dataset.from_tensor_slices(X).batch(2)
    with pytest.raises(ValueError, match="overflow the dtype; scale the data"):
        KMeans(2).fit(stream)
    km = KMeans(2, dtype="float64", random_state=0).fit(X)  # float64 holds them
    assert km.labels_[1] == km.labels_[2] != km.labels_[0]


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_clusters": 0}, ValueError, "n_clusters"),
        ({"n_clusters": 2.5}, TypeError, "n_clusters"),
        ({"n_clusters": 50}, ValueError, "n_samples=10 should be >= n_clusters=50"),
        ({"init": "kmeans+++"}, ValueError, "k-means\\+\\+"),
        ({"init": np.zeros((3, 5))}, ValueError, "shape"),
        ({"init": 3}, TypeError, "init"),
        ({"max_iter": 0}, ValueError, "max_iter"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"dtype": "int8"}, ValueError, "float32"),
        ({"random_state": "seed"}, TypeError, "random_state"),
    ],
)
def test_bad_params(params, error, match):
    X = np.random.default_rng(0).random((10, 2))
    with pytest.raises(error, match=match):
        KMeans(**{"n_clusters": 2, **params}).fit(X)


@pytest.mark.parametrize(
    ("w", "match"), [([1.0, 2.0], "length"), ([-1.0] + [1.0] * 9, "negative")]
)
def test_bad_sample_weight(w, match):
    X = np.random.default_rng(0).random((10, 2))
    with pytest.raises(ValueError, match=match):
        KMeans(2).fit(X, sample_weight=w)


def test_predict_before_fit_and_wrong_features():
    with pytest.raises(NotFittedError, match="not fitted"):
        KMeans(2).predict([[1.0, 2.0]])
    km = KMeans(2, random_state=0).fit(np.random.default_rng(0).random((10, 2)))
    with pytest.raises(ValueError, match="3 features.*fitted with 2"):
        km.predict(np.zeros((4, 3)))


def test_bad_dataset():
    X = np.random.default_rng(0).random((20, 2))
    X[5, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2, init=X[:2] * 0).fit(_dataset(X, 8))
    with pytest.raises(ValueError, match="batch"):
        KMeans(2).fit(tf.data.Dataset.from_tensor_slices(X))  # rows, not batches
    with pytest.raises(ValueError, match="empty"):
        KMeans(2).fit(_dataset(X[:0], 8))
    with pytest.raises(ValueError, match="sample_weight cannot be given"):
        KMeans(2).fit(_dataset(X, 8), sample_weight=np.ones(20))


def test_fewer_distinct_points_than_clusters_warns():
    X = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    with pytest.warns(ConvergenceWarning, match="Number of distinct clusters \\(2\\)"):
        km = KMeans(3, random_state=0).fit(X)
    assert np.all(np.isfinite(km.cluster_centers_))


# 5. Resumable fits -----------------------------------------------------------------


def test_interrupted_fit_resumes_to_the_same_result(digits, tmp_path, interrupted):
    import tfcluster.kmeans as kmeans_module

    X, _ = digits
    ref = KMeans(10, init=X[:10], dtype="float64", tol=0).fit(X)
    km = KMeans(10, init=X[:10], dtype="float64", tol=0)
    # three saved segments (the first one initialises), then the process dies
    kw = {"checkpoint_dir": tmp_path, "checkpoint_every": 3}
    interrupted(km, X, (kmeans_module, "_lloyd", 4), **kw)
    assert list((tmp_path / "run-0").glob("ckpt-2*"))  # segments were saved (the last two kept)
    km.fit(X, checkpoint_dir=tmp_path, checkpoint_every=3)
    np.testing.assert_array_equal(km.cluster_centers_, ref.cluster_centers_)
    assert km.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(km.labels_, ref.labels_)


def test_checkpoint_of_another_fit_is_refused(iris, tmp_path):
    X, _ = iris
    KMeans(3, random_state=0).fit(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="another fit"):
        KMeans(4, random_state=0).fit(X, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="another fit"):  # same shapes, other data
        KMeans(3, random_state=0).fit(X[::-1] * 2.0, checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="another fit"):
        KMeans(3, random_state=1).fit(X, checkpoint_dir=tmp_path)
    again = KMeans(3, random_state=0).fit(X, checkpoint_dir=tmp_path)  # the same fit resumes
    np.testing.assert_array_equal(
        again.cluster_centers_, KMeans(3, random_state=0).fit(X).cluster_centers_
    )


def test_array_init_with_auto_n_init_runs_once_as_scikit_learn():
    """Issue 14 item 1: ``init=X[:3], n_init="auto"`` compared the array with a string."""
    import warnings

    from sklearn.cluster import KMeans as SKKMeans

    from tfcluster import KMeans

    X = np.random.default_rng(0).normal(size=(60, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn warns only for an explicit n_init > 1
        ours = KMeans(3, init=X[:3], n_init="auto", dtype="float64").fit(X)
        ref = SKKMeans(3, init=X[:3], n_init="auto").fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10)


# scikit-learn's algorithm and verbose (issue 14) ------------------------------------


def test_algorithm_accepts_scikit_learns_names(iris):
    X, _ = iris
    init = X[[0, 60, 120]]
    base = KMeans(3, init=init, dtype="float64").fit(X)
    ref = SKKMeans(3, init=init, n_init=1, algorithm="elkan").fit(X)
    for algorithm in ("lloyd", "elkan"):
        km = KMeans(3, init=init, dtype="float64", algorithm=algorithm).fit(X)
        np.testing.assert_array_equal(km.cluster_centers_, base.cluster_centers_)
        np.testing.assert_array_equal(km.labels_, ref.labels_)  # Elkan ends where Lloyd does
        assert km.n_iter_ == ref.n_iter_
    km = clone(KMeans(3, init=init, dtype="float64")).set_params(algorithm="elkan")
    assert km.get_params()["algorithm"] == "elkan" and "algorithm" in repr(km)
    np.testing.assert_array_equal(km.fit(X).labels_, base.labels_)
    for removed in ("auto", "full", "Lloyd"):  # names scikit-learn no longer accepts either
        with pytest.raises(ValueError, match="'lloyd', 'elkan'"):
            KMeans(3, algorithm=removed).fit(X)


def _numbers(line):
    import re

    return [float(t) for t in re.findall(r"\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)]


def test_verbose_prints_as_scikit_learn_on_stdout(iris, capfd):
    X, _ = iris
    init = X[[0, 60, 120]]
    quiet = KMeans(3, init=init, dtype="float64").fit(X)
    assert capfd.readouterr() == ("", "")  # verbose=0: nothing at all
    km = KMeans(3, init=init, dtype="float64", verbose=1).fit(X)
    ours = capfd.readouterr()
    assert ours.err == ""
    SKKMeans(3, init=init, n_init=1, verbose=1).fit(X)
    theirs = capfd.readouterr().out.strip().splitlines()
    ours = ours.out.strip().splitlines()
    assert len(ours) == len(theirs) == km.n_iter_ + 2  # init, one per iteration, converged
    for a, b in zip(ours, theirs, strict=True):
        assert a.split(",")[0].split(":")[0] == b.split(",")[0].split(":")[0]
        np.testing.assert_allclose(_numbers(a), _numbers(b), rtol=1e-9)
    assert ours[-1] == f"Converged at iteration {km.n_iter_ - 1}: strict convergence."
    # printing between iterations runs the same Lloyd: the same result as the compiled loop
    np.testing.assert_array_equal(km.cluster_centers_, quiet.cluster_centers_)
    assert (km.n_iter_, km.inertia_) == (quiet.n_iter_, quiet.inertia_)


def test_verbose_reports_convergence_by_tol(iris, capfd):
    X, _ = iris
    km = KMeans(3, init=X[[0, 60, 120]], dtype="float64", tol=1e-2, verbose=1).fit(X)
    last = capfd.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"Converged at iteration {km.n_iter_ - 1}: center shift ")
    assert last.endswith(f"within tolerance {float(np.mean(X.var(axis=0))) * 1e-2}.")
    assert km.converged_
