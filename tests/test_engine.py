"""The compiled engine: one trace per shape family, never per k, n_samples or max_iter.

Each test first fits once (the configuration's family is traced), then
counts the traces that more fits add with ``trace_counts()``: the bounds here
are the ones the README documents.
"""

import warnings

import numpy as np
import pytest
import tensorflow as tf

from tfcluster import (
    ConvergenceWarning,
    GaussianMixture,
    KMeans,
    MiniBatchKMeans,
    SelfOrganizingMap,
)
from tfcluster._engine import (
    XLA_MIN_ROWS,
    Program,
    bucket,
    chunk_size,
    pad_rows,
    pass_bucket,
    trace_counts,
)
from tfcluster._validation import to_tensor


def _added(before: dict, prefix: str) -> dict:
    after = trace_counts()
    return {
        name: after[name] - before.get(name, 0)
        for name in after
        if name.startswith(prefix) and after[name] != before.get(name, 0)
    }


def _data(n, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def test_bucket_and_chunk_sizes():
    assert [bucket(k) for k in (1, 2, 16, 17, 32, 33, 100)] == [16, 16, 16, 32, 32, 64, 128]
    assert bucket(100, 100_000 * 64) == 104 and bucket(100, 500 * 64) == 128  # large: to 8
    assert bucket(12, 1797 * 64) == 16  # a sweep on the digits stays bucketed
    assert chunk_size(10, 16) == chunk_size(4000, 16) == 4096  # small data share one shape
    assert chunk_size(5000, 16) == 8192
    assert chunk_size(10**7, 16) == 65536 and chunk_size(10**7, 1024) == 1024
    assert pad_rows(tf.ones([3, 2]), 16).shape == (16, 2)
    with pytest.raises(ValueError):
        pad_rows(tf.ones([3, 2]), 2)
    # passes over small in-memory data run exact k (plain ops, free shapes)
    assert pass_bucket(8, 1797) == 8 and pass_bucket(8, XLA_MIN_ROWS - 1) == 8
    assert pass_bucket(8, XLA_MIN_ROWS) == 16 and pass_bucket(8, None) == 16
    assert pass_bucket(100, 100_000, 100_000 * 64) == 104


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_large_arrays_become_tensors_by_an_aligned_copy(dtype, layout):
    base = np.random.default_rng(0).normal(size=(2**15, 64)).astype(dtype)
    X = {"C": base, "F": np.asfortranarray(base), "strided": base[:, ::2]}[layout]
    assert X.size >= 2**20 or layout == "strided"
    t = to_tensor(X)
    assert t.dtype == tf.as_dtype(dtype) and tuple(t.shape) == X.shape
    np.testing.assert_array_equal(t.numpy(), X)
    before = X.copy()
    X[0, 0] += 1.0  # the tensor holds its own copy, never the user's buffer
    np.testing.assert_array_equal(t.numpy(), before)
    total = tf.reduce_sum(tf.cast(t, tf.float64), 0).numpy()  # ops read the adopted buffer
    np.testing.assert_allclose(total, before.astype(np.float64).sum(0), rtol=1e-12)


def test_program_traces_once_per_signature_family():
    calls = []

    def double(x, scale, *, flag):
        calls.append(1)
        return x * scale if flag else x

    prog = Program(double, "test.double", rows=(0,))
    for n in (3, 7, 11):
        out = prog(tf.ones([n, 2]), tf.constant(2.0), flag=True)
        np.testing.assert_array_equal(out.numpy(), np.full((n, 2), 2.0))
    assert len(calls) == 1  # new row counts and scalar values: the same program
    prog(tf.ones([4, 3]), tf.constant(2.0), flag=True)  # another n_features: a new trace
    prog(tf.ones([4, 3]), tf.constant(2.0), flag=False)  # another static option: a new trace
    assert len(calls) == 3 and trace_counts()["test.double"] == 3
    with pytest.raises(TypeError, match="tensors or datasets"):
        prog(np.ones([2, 2]), 2.0, flag=True)


def test_kmeans_sweep_over_k_and_n_samples_traces_once_per_bucket():
    KMeans(3, random_state=0).fit(_data(50))  # the family (float32, 5 features, bucket 16)
    KMeans(20, random_state=0).fit(_data(50))  # and bucket 32
    before = trace_counts()
    for n in (300, 700, 1500):
        X = _data(n, seed=n)
        for k in range(2, 31):
            KMeans(k, random_state=0, max_iter=20).fit(X)
    assert _added(before, "kmeans.") == {}
    assert _added(before, "_nearest") == {}  # the XLA kernels: no recompile per k or n


def test_kmeans_refits_with_new_settings_add_no_trace():
    X = _data(900)
    KMeans(4, random_state=0).fit(X)
    before = trace_counts()
    for n, max_iter, tol, k in [(800, 10, 1e-4, 4), (600, 300, 1e-2, 5), (901, 7, 0.0, 9)]:
        km = KMeans(k, random_state=1, max_iter=max_iter, tol=tol).fit(_data(n, seed=n))
        km.predict(X[:17]), km.transform(X[:33]), km.score(X)
    KMeans(4, init="random", random_state=0).fit(X)  # the other inits trace once each
    KMeans(4, init="k-means||", random_state=0).fit(X)
    assert set(_added(before, "kmeans.")) <= {
        "kmeans.random_rows",
        "kmeans.parallel",
        "kmeans.nearest",
        "kmeans.distances",
        "kmeans.inertia",
    }
    before = trace_counts()
    for n, k in [(500, 3), (700, 11)]:
        km = KMeans(k, init="random", random_state=0).fit(_data(n, seed=k))
        km = KMeans(k, init="k-means||", random_state=0).fit(_data(n, seed=k))
        km.predict(X[:5]), km.transform(X[:5]), km.score(X[:99])
    assert _added(before, "kmeans.") == {}


def test_minibatch_over_dataset_sizes_traces_once():
    MiniBatchKMeans(4, batch_size=64, random_state=0).fit(_data(300))
    before = trace_counts()
    for n, batch in [(500, 64), (1000, 100), (2000, 256), (3000, 1024)]:
        MiniBatchKMeans(4, batch_size=batch, max_iter=3, random_state=0).fit(_data(n, seed=n))
    assert _added(before, "minibatch.") == {}
    assert _added(before, "kmeans.") == {}


@pytest.mark.parametrize("init", ["k-means++", "k-means||", "random"])
def test_kmeans_refit_on_other_n_features(init):
    """Issue 17 item 2: a second fit with another width used to crash in a relaxed trace."""
    km = KMeans(2, init=init, random_state=0)
    for d in (3, 2, 4):
        X = np.r_[np.zeros((10, d)), np.ones((10, d)) * 5] + _data(20, d) * 0.01
        labels = km.fit(X).labels_
        assert km.cluster_centers_.shape == (2, d)
        assert len(set(labels[:10])) == 1 and len(set(labels[10:])) == 1
        ds = tf.data.Dataset.from_tensor_slices(X.astype(np.float32)).batch(7)
        np.testing.assert_allclose(
            KMeans(2, init=init, random_state=0).fit(ds).inertia_, km.inertia_, rtol=1e-4
        )
        mbk = MiniBatchKMeans(2, random_state=0, batch_size=8).fit(ds)
        assert mbk.cluster_centers_.shape == (2, d)


@pytest.mark.parametrize(
    "estimator",
    [KMeans(2), MiniBatchKMeans(2), GaussianMixture(2), SelfOrganizingMap(2, 2, mode="batch")],
)
def test_infinite_dataset_is_refused(estimator):
    """Issue 17 item 3: an infinite dataset used to hang the fit."""
    ds = tf.data.Dataset.from_tensor_slices(_data(20)).batch(7).repeat()
    with pytest.raises(ValueError, match="infinite"):
        estimator.fit(ds)


def test_metrics_over_k_trace_once_per_bucket():
    from sklearn import metrics as sk

    from tfcluster import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    X = _data(400, seed=3)
    silhouette_score(X, np.arange(400) % 2)
    davies_bouldin_score(X, np.arange(400) % 2)
    calinski_harabasz_score(X, np.arange(400) % 2)
    before = trace_counts()
    for k in (3, 7, 12, 16):
        labels = np.arange(400) % k
        np.testing.assert_allclose(silhouette_score(X, labels), sk.silhouette_score(X, labels),
                                   rtol=1e-4, atol=1e-6)  # fmt: skip
        np.testing.assert_allclose(
            davies_bouldin_score(X, labels), sk.davies_bouldin_score(X, labels), rtol=1e-4
        )
        np.testing.assert_allclose(
            calinski_harabasz_score(X, labels), sk.calinski_harabasz_score(X, labels), rtol=1e-4
        )
    assert _added(before, "metrics.") == {}


def test_choosing_k_on_new_data_adds_no_trace_and_no_xla_compile():
    """Programs have free shapes: after one fit on other data (another n_features),
    a sweep over k on the digits traces nothing, and small data compile no XLA kernel."""
    from tfcluster.datasets import load_digits

    X = load_digits()[0]
    other = _data(300, d=10, seed=1)
    KMeans(3, random_state=0).fit(other)
    KMeans(3, random_state=0).fit(other.astype(np.float64) + 1e6)  # shifted before the cast
    GaussianMixture(3, covariance_type="diag", random_state=0).fit(other)
    before = trace_counts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for k in range(2, 13):
            KMeans(k, random_state=0).fit(X)
        for k in range(2, 9):
            GaussianMixture(k, covariance_type="diag", random_state=0).fit(X)
    assert _added(before, "") == {}


def test_small_data_run_the_kernels_as_plain_ops_with_the_same_results(monkeypatch):
    """Below XLA_MIN_ROWS the kernels are plain TensorFlow ops and the fit loops are
    not padded; forcing XLA (and padding) on the same data gives the same fit."""
    from tfcluster._engine import compile as engine
    from tfcluster.datasets import load_digits

    X = load_digits()[0]
    plain = KMeans(10, random_state=0, dtype="float64").fit(X)
    gm = {"covariance_type": "full", "random_state": 0, "dtype": "float64"}
    gm_plain = GaussianMixture(4, **gm).fit(X[:600])
    monkeypatch.setattr(engine, "XLA_MIN_ROWS", 0)
    xla = KMeans(10, random_state=0, dtype="float64").fit(X)
    gm_xla = GaussianMixture(4, **gm).fit(X[:600])
    np.testing.assert_array_equal(plain.labels_, xla.labels_)
    assert plain.n_iter_ == xla.n_iter_
    np.testing.assert_allclose(plain.inertia_, xla.inertia_, rtol=1e-12)
    # plain small data sum by a one-hot GEMM, XLA by segment sums: the same centers up
    # to the order of the float64 sums (columns that are all zero differ by 1e-15)
    np.testing.assert_allclose(
        plain.cluster_centers_, xla.cluster_centers_, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(gm_plain.predict(X[:600]), gm_xla.predict(X[:600]))
    assert gm_plain.n_iter_ == gm_xla.n_iter_
    np.testing.assert_allclose(gm_plain.lower_bound_, gm_xla.lower_bound_, rtol=1e-10)
    np.testing.assert_allclose(gm_plain.means_, gm_xla.means_, rtol=1e-8, atol=1e-10)


def test_labelling_in_independent_pieces_gives_the_same_labels_and_inertia():
    """On large data KMeans' final labelling and predict cut each chunk into
    independent pieces, one per CPU core (the XLA pass runs on one thread), as the
    Lloyd passes do; a row's label and loss do not depend on its piece."""
    from tfcluster.cluster import _kmeans

    X = _data(3 * XLA_MIN_ROWS + 123, d=8, seed=3)
    x, w = tf.constant(X), tf.ones([len(X)])
    centers = pad_rows(tf.constant(X[:20]), 32)
    k = tf.constant(20)
    chunk = chunk_size(len(X), 32)
    one = _kmeans._assign(x, w, centers, k, chunk=chunk, splits=1)
    for splits in (2, 4):
        many = _kmeans._assign(x, w, centers, k, chunk=chunk, splits=splits)
        np.testing.assert_array_equal(many[0].numpy(), one[0].numpy())
        assert many[1].numpy() == one[1].numpy()
        labels = _kmeans._nearest(x, centers, k, chunk=chunk, splits=splits).numpy()
        np.testing.assert_array_equal(labels, one[0].numpy())
    d2 = ((X[:, None, :].astype(np.float64) - X[None, :20]) ** 2).sum(-1)
    assert np.mean(one[0].numpy() == d2.argmin(1)) > 0.999  # float32 ties aside


def test_programs_use_xla_kernels_from_xla_min_rows():
    """The XLA decision is part of a program's key: fewer rows than XLA_MIN_ROWS
    trace a plain program, more one whose kernels compile; a dataset compiles them
    only when its batches are statically that large (each new batch shape would
    compile again)."""
    from tfcluster._engine import XLA_MIN_ROWS, xla_active

    seen = []

    def fn(x):
        seen.append(xla_active())
        return tf.constant(0.0)

    prog = Program(fn, "test.xla", rows=(0,), free_shapes=True)
    for n in (10, XLA_MIN_ROWS - 1, XLA_MIN_ROWS, 3 * XLA_MIN_ROWS, 50):
        prog(tf.ones([n, 3]))
    prog(tf.data.Dataset.from_tensor_slices(tf.ones([5, 3])).batch(2))
    big = tf.data.Dataset.from_tensor_slices(tf.ones([XLA_MIN_ROWS + 5, 3]))
    prog(big.batch(XLA_MIN_ROWS, drop_remainder=True))
    assert seen == [False, True, False, True]  # small rows, large rows, two datasets
    assert trace_counts()["test.xla"] == 4


def test_frame_extremes_equal_numpys():
    """The frame's column extremes (rows folded into blocks) and its largest deviation
    equal numpy's plain column reductions, bit for bit, whatever the shape."""
    from tfcluster._engine.frame import _column_reduce, _largest_deviation

    rng = np.random.default_rng(0)
    for n, d in ((1, 1), (5, 3), (63, 16), (64, 16), (1000, 7), (3, 2000), (70001, 16)):
        for dtype in (np.float32, np.float64):
            head = (rng.standard_normal((n, d)) * 1e3 + 5e4).astype(dtype)
            assert np.array_equal(_column_reduce(head, np.minimum), head.min(axis=0))
            assert np.array_equal(_column_reduce(head, np.maximum), head.max(axis=0))
            center = head.astype(np.float64).mean(axis=0)
            want = np.max(np.abs(head.astype(np.float64) - center), axis=0)
            assert np.array_equal(_largest_deviation(head, center), want)


def test_frame_mean_equals_numpys():
    """The frame's column means (rows folded into blocks, summed in float64) equal
    numpy's float64 column means up to the order of the sums: within the bound of
    recursive summation, ``n`` float64 epsilons (the values share their sign)."""
    from tfcluster._engine.frame import _column_mean

    rng = np.random.default_rng(0)
    for n, d in ((1, 1), (5, 3), (63, 16), (64, 16), (1000, 7), (3, 2000), (70001, 16)):
        for dtype in (np.float32, np.float64):
            head = (rng.standard_normal((n, d)) * 1e3 + 5e4).astype(dtype)
            want = np.mean(head, axis=0, dtype=np.float64)
            bound = n * np.finfo(np.float64).eps
            np.testing.assert_allclose(_column_mean(head), want, rtol=bound, atol=0)
