"""BisectingKMeans: a toy case, scikit-learn as oracle (inertia, predict on a shared tree)."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.cluster import BisectingKMeans as SKBisecting
from sklearn.cluster._bisect_k_means import _BisectingTree
from sklearn.metrics import adjusted_rand_score

from tfcluster import BisectingKMeans, NotFittedError
from tfcluster._engine import trace_counts
from tfcluster.datasets import make_blobs


def _three_groups():
    return np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0], [20.0, 0.0], [20.0, 1.0]])


def test_toy_exact():
    X = _three_groups()
    # "random" init finds the three groups for half the seeds here (141 of 300;
    # scikit-learn's BisectingKMeans 140): a seed that does
    bkm = BisectingKMeans(3, random_state=2, dtype="float64").fit(X)
    order = np.argsort(bkm.cluster_centers_[:, 0])
    np.testing.assert_allclose(bkm.cluster_centers_[order], [[0, 0.5], [10, 0.5], [20, 0.5]])
    assert bkm.inertia_ == pytest.approx(6 * 0.25)
    assert len(set(bkm.labels_[[0, 2, 4]])) == 3 and np.all(bkm.labels_[::2] == bkm.labels_[1::2])
    assert bkm.score(X) == pytest.approx(-1.5)
    np.testing.assert_allclose(
        bkm.transform(X)[0, order], [0.5, np.hypot(10, 0.5), np.hypot(20, 0.5)]
    )
    one = BisectingKMeans(1).fit(X)
    np.testing.assert_array_equal(one.labels_, 0)
    assert one.inertia_ == pytest.approx(np.sum((X - X.mean(0)) ** 2), rel=1e-6)


@pytest.fixture(scope="module")
def blobs10():
    return make_blobs(1000, 5, 10, cluster_std=1.5, random_state=0, dtype=np.float64)


@pytest.mark.parametrize("name", ["digits", "iris", "blobs10"])
def test_median_inertia_as_sklearn(name, request):
    X = request.getfixturevalue(name)[0]
    ours = [BisectingKMeans(10, random_state=s).fit(X).inertia_ for s in range(5)]
    theirs = [SKBisecting(10, random_state=s).fit(X).inertia_ for s in range(5)]
    assert np.median(ours) <= np.median(theirs) * 1.01


@pytest.mark.slow
def test_largest_cluster_and_kmeanspp(digits):
    X = digits[0]
    for params in ({"bisecting_strategy": "largest_cluster"}, {"init": "k-means++"}):
        ours = [BisectingKMeans(8, random_state=s, **params).fit(X).inertia_ for s in range(5)]
        theirs = [SKBisecting(8, random_state=s, **params).fit(X).inertia_ for s in range(5)]
        assert np.median(ours) <= np.median(theirs) * 1.03, params  # bimodal: 5 seeds vary


@pytest.mark.parametrize("strategy", ["biggest_inertia", "largest_cluster"])
def test_a_leaf_of_one_row_is_never_split(strategy):
    """When every leaf's inertia is zero, the first leaf that has two rows is split, never
    a leaf of one row (scikit-learn's random init raises a ValueError there for 29 of
    100 seeds). Equal rows stay together, as in scikit-learn's fits that do not
    raise: the leaf of two equal rows splits into those rows (ties go to the first
    center) and an empty leaf."""
    for X, k in (([[0.0], [0.0], [1.0]], 3), ([[5.0], [5.0], [0.0], [0.0], [9.0]], 4)):
        X = np.asarray(X)
        ours = [
            BisectingKMeans(k, random_state=s, bisecting_strategy=strategy).fit(X)
            for s in range(20)
        ]
        theirs = []
        for s in range(20):
            try:
                theirs.append(SKBisecting(k, random_state=s).fit(X).labels_)
            except ValueError:
                pass  # "Cannot take a larger sample than population"
        assert theirs  # (scikit-learn 1.9 raised for some of these seeds, not all)
        for bkm in ours:
            assert bkm.inertia_ == 0.0 and bkm.cluster_centers_.shape == (k, 1)
            assert all(adjusted_rand_score(bkm.labels_, t) == 1.0 for t in theirs)


def test_largest_cluster_splits_the_biggest(digits):
    # each split took the leaf with the most rows then; leaves only shrink, so every
    # split node (but the root, scored 0 as in scikit-learn) has more rows than any leaf
    bkm = BisectingKMeans(6, bisecting_strategy="largest_cluster", random_state=0).fit(digits[0])
    leaves = list(bkm._tree.leaves())
    np.testing.assert_array_equal(
        sorted(n.score for n in leaves), np.sort(np.bincount(bkm.labels_))
    )
    for node in bkm._tree.nodes():
        if node.left is not None and node is not bkm._tree:
            assert node.score >= max(n.score for n in leaves)
            assert node.score == node.left.score + node.right.score


def _as_sklearn(bkm, n_features):
    """A scikit-learn BisectingKMeans holding our fitted tree (its own predict runs on it)."""
    frame = bkm._fit_frame  # the tree's centers are in its compute units

    def copy(node):
        center = node.center * frame.scale
        out = _BisectingTree(center=center, indices=None, score=node.score)
        if node.left is None:
            out.label = node.label
        else:
            out.left, out.right = copy(node.left), copy(node.right)
        return out

    sk = SKBisecting(bkm.n_clusters)
    sk._bisecting_tree = copy(bkm._tree)
    sk._X_mean = frame.offset
    sk.cluster_centers_ = bkm.cluster_centers_.astype(np.float64)
    sk.n_features_in_, sk._n_threads = n_features, 1
    return sk


def test_predict_walks_the_tree_as_sklearn(digits):
    X = digits[0].astype(np.float64)
    bkm = BisectingKMeans(10, random_state=0, dtype="float64").fit(X[:1200])
    new = X[1200:]
    theirs = _as_sklearn(bkm, X.shape[1]).predict(new)
    np.testing.assert_array_equal(bkm.predict(new), theirs)
    # the tree's answer, not the nearest leaf center's (they differ on 79 of these rows)
    assert np.sum(theirs != np.argmin(bkm.transform(new), axis=1)) > 20
    np.testing.assert_array_equal(bkm.predict(X[:1200]), bkm.labels_)
    ds = tf.data.Dataset.from_tensor_slices(new).batch(100)
    np.testing.assert_array_equal(bkm.predict(ds), theirs)


def test_labels_and_inertia_consistent(iris):
    X = iris[0]
    bkm = BisectingKMeans(5, random_state=1, dtype="float64").fit(X)
    centers = bkm.cluster_centers_
    assert bkm.inertia_ == pytest.approx(np.sum((X - centers[bkm.labels_]) ** 2))
    assert np.bincount(bkm.labels_).size == 5
    np.testing.assert_allclose(
        bkm.transform(X), np.linalg.norm(X[:, None] - centers[None], axis=2), atol=1e-9
    )
    np.testing.assert_array_equal(clone(bkm).fit_predict(X), bkm.labels_)  # same seed


def test_sample_weight_is_repetition():
    X, _ = make_blobs(90, 2, 3, cluster_std=0.3, random_state=2, dtype=np.float64)
    w = np.random.default_rng(0).integers(1, 4, len(X))
    a = BisectingKMeans(3, random_state=0, dtype="float64").fit(X, sample_weight=w)
    b = BisectingKMeans(3, random_state=0, dtype="float64").fit(np.repeat(X, w, 0))
    key = np.lexsort(a.cluster_centers_.T)
    np.testing.assert_allclose(
        a.cluster_centers_[key], b.cluster_centers_[np.lexsort(b.cluster_centers_.T)]
    )
    assert a.inertia_ == pytest.approx(b.inertia_)
    zero = BisectingKMeans(3, random_state=0).fit(
        X, sample_weight=np.r_[np.ones(60), np.zeros(30)]
    )
    assert zero.inertia_ == pytest.approx(
        BisectingKMeans(3, random_state=0).fit(X[:60]).inertia_, rel=1e-4
    )


def test_stream_equals_memory(iris):
    X = iris[0]
    a = BisectingKMeans(4, random_state=3, dtype="float64").fit(X)
    b = BisectingKMeans(4, random_state=3, dtype="float64")
    b.fit(tf.data.Dataset.from_tensor_slices(X).batch(32))
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_)


def test_splits_reuse_programs(iris, digits):
    BisectingKMeans(3, random_state=0).fit(iris[0])
    before = trace_counts()
    BisectingKMeans(9, random_state=1, max_iter=20, tol=1e-2).fit(iris[0][:120])
    BisectingKMeans(4, random_state=2, n_init=2).fit(iris[0])
    after = trace_counts()
    changed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert not changed, changed


def test_small_clusters_of_large_data_share_one_compiled_block():
    """Clusters of at most 16,384 rows in data of at least as many split through one
    XLA kernel of a fixed row block: new n_samples, k, max_iter and tol compile
    nothing more."""
    X, _ = make_blobs(40000, 3, 6, cluster_std=1.0, random_state=0, dtype=np.float32)
    BisectingKMeans(4, random_state=0).fit(X[:20000])
    before = trace_counts()
    BisectingKMeans(6, random_state=1).fit(X[:33000])
    BisectingKMeans(9, random_state=2, max_iter=50, tol=1e-3).fit(X)
    after = trace_counts()
    changed = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert not changed, changed
    assert before.get("bisecting.block", 0) >= 1 and before.get("bisecting.split", 0) >= 1


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"n_clusters": 0}, ValueError, "n_clusters"),
        ({"init": "k-means||"}, ValueError, "'random', 'k-means\\+\\+'"),
        ({"bisecting_strategy": "x"}, ValueError, "biggest_inertia"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"tol": -1}, ValueError, "tol"),
        ({"dtype": "float16"}, ValueError, "float32"),
    ],
)
def test_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        BisectingKMeans(**{"n_clusters": 2, **params}).fit(_three_groups())


def test_errors():
    with pytest.raises(NotFittedError):
        BisectingKMeans(2).predict(_three_groups())
    with pytest.raises(ValueError, match="n_samples=6 should be >= n_clusters=7"):
        BisectingKMeans(7).fit(_three_groups())
    bkm = BisectingKMeans(2, random_state=0).fit(_three_groups())
    with pytest.raises(ValueError, match="feature"):
        bkm.predict(np.zeros((2, 3)))


def test_docstring_examples_and_pipeline(iris):
    import doctest

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import tfcluster.bisecting

    result = doctest.testmod(tfcluster.bisecting, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
    X = iris[0]
    pipe = make_pipeline(StandardScaler(), BisectingKMeans(3, random_state=0)).fit(X)
    alone = BisectingKMeans(3, random_state=0).fit(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(pipe.predict(X), alone.labels_)
    assert list(pipe.get_feature_names_out()) == [
        "bisectingkmeans0",
        "bisectingkmeans1",
        "bisectingkmeans2",
    ]


def test_sweep(iris):
    from tfcluster import suggest_k, sweep

    result = sweep(BisectingKMeans(random_state=0), iris[0], range(2, 6))
    assert np.all(np.diff(result.scores["inertia"]) < 0)  # each k splits one more leaf
    assert suggest_k(result, "silhouette") in range(2, 6)


def test_interrupted_fit_resumes_to_the_same_result(digits, tmp_path, die_on_call, monkeypatch):
    X = digits[0][:800]
    params = {"n_clusters": 8, "random_state": 0, "dtype": "float64"}
    ref = BisectingKMeans(**params).fit(X)
    # the fifth split dies: two saves (after splits 2 and 4) are on disk
    restore = die_on_call(BisectingKMeans, "_two_means", 5)
    bkm = BisectingKMeans(**params)
    with pytest.raises(KeyboardInterrupt):
        bkm.fit(X, checkpoint_dir=tmp_path, checkpoint_every=2)
    restore()
    real, calls = BisectingKMeans._two_means, []
    monkeypatch.setattr(
        BisectingKMeans, "_two_means", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    bkm.fit(X, checkpoint_dir=tmp_path, checkpoint_every=2)
    assert len(calls) == 7 - 4  # resumed after the 4 saved splits
    np.testing.assert_array_equal(bkm.labels_, ref.labels_)
    np.testing.assert_array_equal(bkm.cluster_centers_, ref.cluster_centers_)
    assert bkm.inertia_ == ref.inertia_
    np.testing.assert_array_equal(bkm.predict(X), ref.predict(X))
    with pytest.raises(ValueError, match="another fit"):
        BisectingKMeans(**{**params, "n_clusters": 5}).fit(X, checkpoint_dir=tmp_path)


def test_gathered_splits_equal_masked_splits(digits, monkeypatch):
    """A small cluster's rows gathered for its Lloyd passes give the 2-means of all
    rows with zero weight outside it (only the order of the float sums differs)."""
    import tfcluster.bisecting as bisecting

    X = digits[0].astype(np.float64)
    gathered = []
    real = bisecting._split_rows
    monkeypatch.setattr(
        bisecting, "_split_rows", lambda *a: gathered.append(real(*a).gathered) or real(*a)
    )
    fast = BisectingKMeans(10, random_state=0, dtype="float64").fit(X)
    assert sum(gathered) >= 5  # most splits gathered their rows
    monkeypatch.setattr(
        bisecting,
        "_split_rows",
        lambda data, inside, c: bisecting._Part(data, c, False),  # zero weights outside
    )
    masked = BisectingKMeans(10, random_state=0, dtype="float64").fit(X)
    np.testing.assert_array_equal(fast.labels_, masked.labels_)
    # equal up to the order of the float64 sums (Lloyd on rows that fit one chunk sums by
    # a one-hot GEMM): the digits' all-zero columns differ by 1e-16
    np.testing.assert_allclose(
        fast.cluster_centers_, masked.cluster_centers_, rtol=1e-10, atol=1e-12
    )
    assert fast.inertia_ == pytest.approx(masked.inertia_, rel=1e-12)


def _numpy_two_means(x, w, centers, max_iter, tol):
    """Lloyd with two centers in float64 numpy, empty side relocated as scikit-learn."""
    centers = centers.copy()
    for i in range(max_iter):
        d2 = ((x[:, None, :] - centers[None]) ** 2).sum(-1)  # [n, 2]
        labels = np.argmin(d2, 1)
        counts = np.bincount(labels, w, minlength=2)
        sums = np.stack([(w * (labels == j)) @ x for j in (0, 1)])
        if np.any(counts <= 0) and np.any(counts > 0):
            empty, other = (0, 1) if counts[0] <= 0 else (1, 0)
            far = np.argmax(np.where(w > 0, d2[:, other], -1.0))
            sums[other] -= w[far] * x[far]
            counts[other] -= w[far]
            sums[empty], counts[empty] = w[far] * x[far], w[far]
        new = np.where(
            counts[:, None] > 0, sums / np.where(counts > 0, counts, 1)[:, None], centers
        )
        shift = np.sum((new - centers) ** 2)
        centers = new
        if shift <= tol:
            return centers, i + 1
    return centers, max_iter


@pytest.mark.parametrize("xla", [False, True], ids=["plain", "xla"])
def test_split_op_equals_numpy(xla):
    from tfcluster.ops import bisecting as ops

    x, _ = make_blobs(3000, 4, 3, cluster_std=1.0, random_state=1, dtype=np.float64)
    x -= x.mean(0)
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 2.0, len(x)) * (rng.uniform(size=len(x)) < 0.8)  # zeros: outside
    split = ops.split.compiled if xla else ops.split
    # from two rows, then from one row twice (an empty side: the farthest row moves)
    for start in (x[[0, 5]], x[[7, 7]]):
        for max_iter, tol in ((300, 1e-4), (2, 0.0)):
            centers, n_iter, labels, sse = (
                v.numpy()
                for v in split(tf.constant(x.T), tf.constant(w), tf.constant(start), max_iter, tol)
            )
            ref, ref_iter = _numpy_two_means(x, w, start, max_iter, tol)
            np.testing.assert_allclose(centers, ref, rtol=1e-10, atol=1e-10)
            assert n_iter == ref_iter
            d2 = ((x[:, None, :] - centers[None]) ** 2).sum(-1)
            np.testing.assert_array_equal(labels, np.argmin(d2, 1))
            np.testing.assert_allclose(sse, [np.sum((w * d2[:, j])[labels == j]) for j in (0, 1)])


def test_random_pair_draws_distinct_rows_by_weight():
    """A split's "random" pair: two distinct rows of positive weight, drawn with
    probability proportional to the weights (sampling without replacement: the
    first row's frequencies are the weights'), the same for the same seed."""
    from tfcluster.cluster._bisecting import _random_pair

    weights = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 4.0])
    counts = np.zeros(len(weights))
    for s in range(4000):
        pair = _random_pair(weights, np.array([s, 7]))
        assert pair[0] != pair[1] and np.all(weights[pair] > 0)
        counts[pair[0]] += 1
    # binomial standard deviations of 4,000 draws: under 0.008 of each share
    np.testing.assert_allclose(counts / counts.sum(), weights / weights.sum(), atol=0.03)
    seed = np.array([3, 1])
    np.testing.assert_array_equal(_random_pair(weights, seed), _random_pair(weights, seed))
    # fewer than two rows of positive weight: those, then the first others
    np.testing.assert_array_equal(_random_pair(np.array([0.0, 0.0, 5.0]), seed), [2, 0])
    np.testing.assert_array_equal(_random_pair(np.zeros(3), seed), [0, 1])


@pytest.mark.parametrize("m", [2, 3, 12_500, 100_000])
def test_random_pair_of_unit_weights_draws_as_the_inverse_cdf(m):
    """Unweighted data skip the cumulative sum (the floor of ``u * m``): the same
    pairs as the inverse CDF of weights 1."""
    from tfcluster.cluster._bisecting import _random_pair

    for s in range(200):
        seed = np.array([s, 11])
        np.testing.assert_array_equal(
            _random_pair(np.ones(m), seed, unit=True), _random_pair(np.ones(m), seed)
        )


def test_the_rows_of_every_leaf_round_trip_through_the_leaf_of_every_row():
    """The rows a fit keeps per leaf (ascending indices), and the node of every row a
    checkpoint saves, are one another's inverse (leaves only: a split node keeps no
    rows)."""
    from tfcluster.cluster._bisecting_tree import _leaf_of, _members, _Node

    nodes = [_Node(i, np.zeros(2), 0.0, 0.0) for i in range(5)]
    nodes[0].left, nodes[0].right = nodes[1], nodes[2]
    nodes[2].left, nodes[2].right = nodes[3], nodes[4]
    leaf = np.random.default_rng(0).choice([1, 3, 4], size=1000).astype(np.int32)
    members = _members(leaf, nodes)
    assert sorted(members) == [1, 3, 4]
    for index, rows in members.items():
        np.testing.assert_array_equal(rows, np.flatnonzero(leaf == index))
    np.testing.assert_array_equal(_leaf_of(members, leaf.size), leaf)
    np.testing.assert_array_equal(_members(np.zeros(7, np.int32), nodes[:1])[0], np.arange(7))


def test_large_fit_runs_the_split_kernel(monkeypatch):
    """On data large enough for XLA (2**20 rows; here lowered to 16,384) the splits
    run the compiled kernel, with the result of the same splits as plain
    TensorFlow ops."""
    from tfcluster._engine import compile as engine
    from tfcluster.cluster import _bisecting

    X, _ = make_blobs(20000, 3, 5, cluster_std=1.0, random_state=0, dtype=np.float64)
    before = trace_counts().get("bisecting.split", 0)
    monkeypatch.setattr(_bisecting._bisect, "_xla_rows", 2**14)
    xla = BisectingKMeans(5, random_state=0, dtype="float64").fit(X)
    assert trace_counts().get("bisecting.split", 0) > before
    monkeypatch.setattr(_bisecting._bisect, "_xla_rows", 10**9)
    monkeypatch.setattr(engine, "XLA_MIN_ROWS", 10**9)
    plain = BisectingKMeans(5, random_state=0, dtype="float64").fit(X)
    np.testing.assert_array_equal(xla.labels_, plain.labels_)
    np.testing.assert_allclose(xla.cluster_centers_, plain.cluster_centers_, rtol=1e-10)
    assert xla.inertia_ == pytest.approx(plain.inertia_, rel=1e-10)
