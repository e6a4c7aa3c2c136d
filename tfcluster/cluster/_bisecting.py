"""BisectingKMeans: divisive hierarchical k-means, as scikit-learn's.

A thin shell: every split is one call of a compiled program, which gathers
the rows of the cluster being split (by their indices; padded with rows of
weight zero where the kernel runs through XLA), lays them out as columns,
starts from two of them (the "random" pair drawn on the host by weight, or
k-means++ on the device), and runs the whole 2-means Lloyd loop and the last
labelling pass as one kernel (``tfcluster.ops.bisecting``). Which program:

- ``_bisect_block``: a cluster of at most ``_BLOCK`` rows in data of at least
  ``XLA_MIN_ROWS`` rows, padded to ``_BLOCK`` rows, through XLA: one compile
  per dtype, n_features and init, whatever the data's size, k or the cluster.
  Small clusters are where splits take many iterations (a Gaussian blob of
  12,500 x 16 cut in two took 40-140) and where plain ops cost most per
  iteration: 0.31 ms against 0.08 ms through XLA (2 CPU cores).
- ``_bisect``: larger clusters, unpadded, as plain TensorFlow ops (a
  compile per size would cost more than it saves), and through XLA per
  power-of-two row bucket from 2**20 rows. A cluster whose bucket is the
  whole data's runs on all rows with the weights masked instead.

The programs trace once per dtype and init. The tree lives on the host; per
leaf only its rows' indices are kept.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfcluster._base import (
    BaseEstimator,
    FeatureNamesOutMixin,
    check_dtype,
    check_is_fitted,
    check_positive_int,
    make_seed,
)
from tfcluster._constraints import DType, Int, Options, Real
from tfcluster._engine import XLA_MIN_ROWS, Program, chunk_size
from tfcluster._engine.checkpoint import fit_settings, resume_loop
from tfcluster._engine.driver import Data, as_data, attribute_dtype, call, map_rows, moments
from tfcluster.cluster._bisecting_tree import (
    _leaf_of,
    _members,
    _n_splits,
    _Node,
    _tree_from_state,
    _tree_state,
)
from tfcluster.cluster._kmeans import assign
from tfcluster.ops import bisecting as ops
from tfcluster.ops.batching import map_chunks
from tfcluster.ops.distances import squared_distances

__all__ = ["BisectingKMeans"]

_INITS = ("random", "k-means++")
_STRATEGIES = ("biggest_inertia", "largest_cluster")


def _bisect_fn(x, ws, rows, pair, seed, max_iter, tol, trials, *, init, whole=False):
    """One 2-means run on the rows ``rows [P]`` of ``x [n, d]``, of weights ``ws [P]``
    (zero past the cluster's rows: padding): ``(centers [2, d], n_iter, right
    [P] bool, sse [2])``. The "random" init starts from the rows at positions
    ``pair [2]`` of ``rows`` (drawn on the host, ``_random_pair``); "k-means++"
    draws its pair here from ``seed``. ``whole``: ``rows`` are all rows of ``x`` in
    order (the root's split), so ``x`` is used without a gather (1.5 ms on 100,000
    x 16)."""
    xs = x if whole else tf.gather(x, rows)  # [P, d]
    if init == "random":
        centers = tf.gather(xs, pair)
    else:
        centers = ops.plusplus_pair(xs, ws, seed, trials)
    return ops.split(tf.transpose(xs), ws, centers, max_iter, tol)  # the rows as columns


def _random_pair(weights: np.ndarray, seed, unit: bool = False) -> np.ndarray:
    """Two distinct positions of ``weights [m]`` (of a split's rows) drawn without
    replacement with probability proportional to the weights, ``[2]``: a split's
    "random" init, drawn by numpy (on the device it took ~2 ms a split: a key for
    every row of the data). Rows of zero weight are drawn only while fewer than
    two rows weigh more than zero. ``unit``: every weight is 1, so the inverse
    CDF is the floor of ``u * m`` (the same draws, without the cumulative sum:
    ~0.5 ms a split of 100,000 rows)."""
    positive = np.arange(weights.size) if unit else np.flatnonzero(weights > 0)
    if positive.size < 2:
        rest = np.setdiff1d(np.arange(weights.size), positive)[: 2 - positive.size]
        return np.concatenate([positive, rest])
    rng = np.random.default_rng(np.asarray(seed).astype(np.uint64))
    # strictly increasing; for unit weights the integers 1..m, searched by the floor
    cdf = None if unit else np.cumsum(weights[positive])

    def draw(cdf, rows):  # one row by inverse CDF
        if cdf is None:
            return rows[min(int(rng.random() * rows.size), rows.size - 1)]
        return rows[min(int(np.searchsorted(cdf, rng.random() * cdf[-1], "right")), rows.size - 1)]

    first = draw(cdf, positive)
    for _ in range(64):  # the second draw, conditioned on another row by rejection
        second = draw(cdf, positive)
        if second != first:
            return np.array([first, second])
    others = positive[positive != first]  # the first row holds nearly all the weight
    return np.array([first, draw(np.cumsum(weights[others]), others)])


def _node_distances_fn(x, centers, *, chunk):
    """Squared distances of every row to every node center ``[n, n_nodes]``."""
    spec = tf.TensorSpec([None, centers.shape[0]], x.dtype)
    return map_chunks(lambda xb: squared_distances(xb, centers), x, chunk, spec, padded=True)


def _split_program(name: str, xla_rows: int) -> Program:
    """A program of ``_bisect_fn`` whose kernel runs through XLA from ``xla_rows`` rows
    (the length of its ``rows`` argument, not the data's)."""
    return Program(
        _bisect_fn, name, rows=(2, 0), free_shapes=True, autograph=False, xla_rows=xla_rows
    )


# Larger clusters: XLA from 2**20 rows only. It compiles once per row bucket, and a
# split gains less than a compile costs: on 100,000 x 16, k=10 (2 CPU cores), XLA per
# bucket from 16,384 rows (four buckets) made a first fit 1.9-2.3 s and the next ones
# 0.09-0.13 s; plain ops 0.54 s and 0.14 s.
_bisect = _split_program("bisecting.bisect", 2**20)
_BLOCK = XLA_MIN_ROWS  # the rows of _bisect_block's XLA kernel
_bisect_block = _split_program("bisecting.block", _BLOCK)
_node_distances = Program(
    _node_distances_fn, "bisecting.distances", rows=(0,), free_shapes=True, autograph=False
)


class _Part(NamedTuple):
    """The rows a split runs on: the cluster's rows (``gathered``, their indices
    ``rows``) or all rows of ``data`` (whose weights are zero outside the
    cluster); ``size`` is their row bucket, the rows they are padded to where
    the split's kernel runs through XLA (``_padded_rows``); ``block``: the split
    runs ``_bisect_block`` (``size`` is ``_BLOCK``)."""

    data: Data
    size: int
    gathered: bool
    rows: np.ndarray | None = None
    block: bool = False


def _row_bucket(n_rows: int) -> int:
    """Rows a split pads ``n_rows`` to: the next power of two, at least 256. The
    split's kernel compiles once per bucket (0.3-1 s each on 2 CPU cores), so
    finer buckets, less padding, cost more than they save over a first fit."""
    return max(256, 1 << max(int(n_rows) - 1, 0).bit_length())


def _split_rows(data: Data, rows: np.ndarray, size: int) -> _Part:
    """The rows ``rows`` (their indices, ascending) of the cluster being split:
    gathered (a copy of those rows), unless the split's kernel runs through XLA
    and their bucket is not smaller than ``size``, the bucket of all rows: then
    all rows of ``data`` with zero weight outside the cluster (set on the host),
    which saves a copy of the same size. Rows of zero weight add exactly zero to
    every sum and are never drawn, so both give the same 2-means up to the order
    of the float sums. (Plain ops take the rows unpadded, so gathering never costs
    more work: a cluster of 70,000 of 100,000 rows split in 14 ms masked, in 10 ms
    gathered.)"""
    if data.n_samples >= XLA_MIN_ROWS and rows.size <= _BLOCK:
        return _Part(data, _BLOCK, True, rows, block=True)
    part_size = _row_bucket(rows.size)
    if part_size >= size and _bisect.xla_for(size):
        return _Part(data, size, False)
    return _Part(data, part_size, True, rows)


def _padded_rows(part: _Part, weights: np.ndarray) -> tuple[tf.Tensor, tf.Tensor]:
    """``(rows [P] int32, weights [P])``: the indices of the part's rows and their
    weights ``weights`` (zero outside the cluster where the part is all rows), both
    zero-padded to its bucket where the split's kernel runs through XLA (static
    shapes); else the rows alone (plain ops take any shape, and padding rows only
    cost work: a cluster of 70,000 rows ran 131,072). The weights come from the
    host: masking them on the device took ~2 ms a split of 100,000 rows."""
    rows = np.arange(part.data.n_samples, dtype=np.int32) if part.rows is None else part.rows
    size = part.size if part.block or _bisect.xla_for(part.size) else rows.size
    padded = np.zeros(size, np.int32)
    padded[: rows.size] = rows
    padded_weights = np.zeros(size, part.data.dtype.as_numpy_dtype)
    padded_weights[: rows.size] = weights
    return tf.constant(padded), tf.constant(padded_weights)


def _in_memory(data: Data) -> Data:
    """``data`` with a stream read into memory once (``labels_`` needs every row)."""
    if not data.streamed:
        return data
    parts = call(lambda: [(x, w) for x, w in data.source])
    x = tf.concat([p[0] for p in parts], 0)
    w = tf.concat([p[1] for p in parts], 0)
    n = int(x.shape[0])
    return Data((x, w), data.n_features, n, data.dtype, data.weighted, frame=data.frame)


class BisectingKMeans(FeatureNamesOutMixin, BaseEstimator):
    """Bisecting k-means: split one cluster in two until there are ``n_clusters``.

    Starting from one cluster of all rows, each step picks a leaf by
    ``bisecting_strategy`` and splits it with 2-means (best of ``n_init``
    runs), as ``sklearn.cluster.BisectingKMeans``. A split runs on the leaf's
    rows gathered into a power-of-two bucket (or on all rows with zero weight
    outside the leaf when that bucket is the whole data's), as one compiled
    call. A ``tf.data.Dataset`` is read into memory once.

    Args:
        n_clusters: number of leaves ``k``.
        init: "random" (two rows of the leaf drawn by weight) or "k-means++".
        n_init: 2-means runs per split; the lowest inertia is kept.
        random_state: int, None, or a numpy RandomState or Generator.
        max_iter: most Lloyd iterations per 2-means run.
        tol: stop a 2-means run when the squared center shift is at most
            ``tol`` (absolute, as scikit-learn's BisectingKMeans passes it).
        bisecting_strategy: "biggest_inertia" (split the leaf with the largest
            weighted sum of squared distances to its center) or
            "largest_cluster" (the leaf with the most rows).
        dtype: "float32" or "float64".

    Attributes:
        cluster_centers_: ``[n_clusters, n_features]`` the leaves' centers.
        labels_: ``[n_samples]`` the leaf of each training row.
        inertia_: weighted sum of squared distances of the rows to their leaf's center.
        n_features_in_: number of features seen in ``fit``.

    ``predict`` walks the tree (at each split, the nearer of the two child
    centers), as scikit-learn's, so it may differ from the nearest leaf center;
    the Keras head of ``as_layer`` walks the same tree.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import BisectingKMeans
        >>> X = np.array([[0., 0.], [0., 1.], [10., 0.], [10., 1.], [20., 0.], [20., 1.]])
        >>> bkm = BisectingKMeans(3, random_state=2).fit(X)
        >>> sorted(bkm.cluster_centers_[:, 0].tolist()), bkm.inertia_
        ([0.0, 10.0, 20.0], 1.5)
        >>> bool(np.all(bkm.predict(X) == bkm.labels_))
        True
    """

    _constraints = {
        "n_clusters": Int(1),
        "init": Options(_INITS),
        "n_init": Int(1),
        "max_iter": Int(1),
        "tol": Real(),
        "bisecting_strategy": Options(_STRATEGIES),
        "dtype": DType(),
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="random",
        n_init=1,
        random_state=None,
        max_iter=300,
        tol=1e-4,
        bisecting_strategy="biggest_inertia",
        dtype="float32",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.bisecting_strategy = bisecting_strategy
        self.dtype = dtype

    def _check_params(self) -> tf.DType:
        return self._validate_params().dtype

    def fit(
        self, X, y=None, sample_weight=None, *, checkpoint_dir=None, checkpoint_every=10
    ) -> BisectingKMeans:
        """Build the bisection tree.

        Args:
            X: ``[n_samples, n_features]`` array, nested list or tf.Tensor, or a
                ``tf.data.Dataset`` of batches (or ``(x, y[, sample_weight])`` tuples).
            y: ignored.
            sample_weight: ``[n_samples]`` non-negative weights, or None.
            checkpoint_dir: if given, the tree so far (and the leaf of every row)
                is saved there with ``tf.train.Checkpoint`` every
                ``checkpoint_every`` splits; a fit started again with the same
                directory continues from the last save to the same result
                (another fit's checkpoint is refused).
            checkpoint_every: splits between saves.

        Returns:
            self.

        Raises:
            ValueError, TypeError: bad parameters or bad input (see messages).
        """
        dtype = self._check_params()
        # shifted (and scaled) in the input's precision before the cast, as KMeans
        data = as_data(X, sample_weight, dtype=dtype)
        mean, var, _, n_samples = moments(data)
        if self.n_clusters > n_samples:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        data = _in_memory(data).shifted(mean)  # scikit-learn centers the data too
        frame = data.frame  # the compute units: the tree's centers are in them
        tol = tf.constant(float(self.tol) / frame.scale**2, dtype)  # tol is absolute
        # k-means++ candidates: 2 + int(log(2)), as KMeans
        limits = (tf.constant(int(self.max_iter), tf.int32), tol, tf.constant(2, tf.int32))
        x, w = data.x, data.w
        weights = w.numpy().astype(np.float64)
        leaf = np.zeros(n_samples, np.int32)  # the node index of every row
        unit = not data.weighted  # every weight is 1
        center = (np.asarray(tf.linalg.matvec(x, w, transpose_a=True)) / weights.sum())[None]
        # the root's SSE is read only when it stays a leaf (n_clusters=1): a pass saved
        sse = assign(data, tf.constant(center, dtype))[1] if self.n_clusters == 1 else np.nan
        root = _Node(0, center[0], 0.0, sse)
        nodes = [root]
        seed = make_seed(self.random_state)
        n_seeds = max(self.n_clusters - 1, 1) * self.n_init
        seeds = tf.random.experimental.stateless_split(seed, n_seeds).numpy()  # [n_seeds, 2]
        size = _row_bucket(n_samples)
        checkpoint = None
        if checkpoint_dir is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
            settings = fit_settings(self, seed)
            fingerprint = repr((mean.tolist(), float(weights.sum()), n_samples, settings))
            checkpoint = (checkpoint_dir, fingerprint)

        def segment(state, n):  # n more splits of the tree in ``state``
            nodes, leaf = _tree_from_state(state)
            members = _members(leaf, nodes)
            for _ in range(n):
                self._split(nodes, members, data, weights, unit, seeds, limits, size)
            return _tree_state(nodes, _leaf_of(members, n_samples))

        state = resume_loop(
            segment,
            _tree_state([root], leaf),
            self.n_clusters - 1,
            every=None if checkpoint is None else checkpoint_every,
            checkpoint=checkpoint,
            count=_n_splits,
            stop=None,
        )
        nodes, leaf = _tree_from_state(state)
        root = nodes[0]
        leaves = list(root.leaves())
        index_to_label = np.zeros(len(nodes), np.int32)
        for label, node in enumerate(leaves):
            node.label = label
            index_to_label[node.index] = label
        self.labels_ = index_to_label[leaf]
        centers = frame.to_user(np.stack([n.center for n in leaves]))  # [k, d]
        self.cluster_centers_ = centers.astype(attribute_dtype(frame, var, dtype))
        self.inertia_ = float(sum(n.sse for n in leaves)) * frame.scale**2
        self.n_features_in_ = data.n_features
        self._tree, self._fit_frame = root, frame
        return self

    def _split(self, nodes, members, data: Data, weights, unit, seeds, limits, size: int) -> None:
        """Split the leaf chosen by ``bisecting_strategy`` (best of ``n_init`` 2-means):
        its two children appended to ``nodes``, their rows to ``members`` (the
        rows of every leaf: ``{node index: ascending row indices}``) in place of
        the leaf's. ``unit``: every weight is 1; ``limits``: the tensors ``(max_iter,
        tol, k-means++ trials)`` of every 2-means run."""
        # the first of equal scores among the leaves of two rows or more: a leaf of one
        # row (chosen when every leaf's score is zero) cannot be cut in two, and
        # scikit-learn's random init then raises "Cannot take a larger sample than
        # population" (29 of 100 seeds on [[0], [0], [1]], k=3)
        leaves = (n for n in nodes[0].leaves() if members[n.index].size >= 2)
        node = max(leaves, key=lambda n: n.score)
        step = (len(nodes) - 1) // 2  # the splits done: each added two nodes
        rows = members[node.index]
        part = _split_rows(data, rows, size)
        if part.gathered:
            part_weights = np.ones(rows.size) if unit else weights[rows]
        else:  # all rows, zero weight outside the leaf
            part_weights = np.zeros(data.n_samples)
            part_weights[rows] = weights[rows]
        best = None
        for run in range(self.n_init):
            seed = seeds[step * self.n_init + run]
            centers, right, sse = self._two_means(part, part_weights, seed, limits, unit)
            right = right if part.gathered else right[rows]
            if best is None or sse.sum() < best[0] * (1 - 1e-6):
                best = (sse.sum(), right, centers, sse)
        _, right, centers, sse = best  # right: the side of each of the leaf's rows
        if self.bisecting_strategy == "biggest_inertia":
            scores = sse
        else:
            n_right = int(np.count_nonzero(right))
            scores = np.array([right.size - n_right, n_right])
        node.left, node.right = (
            _Node(len(nodes) + j, centers[j], float(scores[j]), float(sse[j])) for j in (0, 1)
        )
        nodes += [node.left, node.right]
        del members[node.index]
        members[node.left.index], members[node.right.index] = rows[~right], rows[right]

    def _two_means(self, part: _Part, weights: np.ndarray, seed, limits, unit: bool):
        """One 2-means run on the rows of nonzero weight of ``part`` (``weights [m]``
        those of its rows): ``(centers [2, d], right [m] bool: the side of each of
        the part's rows, sse [2])`` as numpy arrays. The "random" init draws among
        the cluster's rows in the order of their index in the data, so the draw does
        not depend on how the rows are held (gathered, or all rows with zero weight
        outside). ``limits``: as ``_split``'s; ``unit``: every weight of the data is 1."""
        rows, ws = _padded_rows(part, weights)  # rows [P]: unpadded for a plain-ops split
        if self.init == "random":
            pair = _random_pair(weights, seed, unit and part.gathered)
        else:
            pair = np.zeros(2)
        whole = not part.block and part.gathered and rows.shape[0] == part.data.n_samples
        centers, _, right, sse = call(
            _bisect_block if part.block else _bisect,
            part.data.x,
            ws,
            rows,
            tf.constant(pair, tf.int32),
            tf.constant(seed),
            *limits,
            init=self.init,
            whole=whole,
        )
        return centers.numpy(), right.numpy()[: weights.size], sse.numpy()

    def _n_features_out(self) -> int:
        check_is_fitted(self, "cluster_centers_")
        return int(self.cluster_centers_.shape[0])

    def _walk(self, X):
        """``(labels [n], squared distances to the leaves [n, k])`` of the rows of ``X``."""
        check_is_fitted(self, "_tree")
        dtype = check_dtype(self.dtype)
        nodes = list(self._tree.nodes())
        centers = tf.constant(np.stack([n.center for n in nodes]), dtype)  # [m, d]
        leaves = [n.index for n in self._tree.leaves()]
        column = {n.index: i for i, n in enumerate(nodes)}

        def run(x):  # in the compute units of the fit
            d2 = call(_node_distances, x, centers, chunk=chunk_size(int(x.shape[0]), len(nodes)))
            d2 = d2.numpy()
            at = np.zeros(d2.shape[0], np.int64)  # the node each row has reached
            for node in nodes:  # parents before children
                if node.left is not None:
                    rows = at == node.index
                    left = d2[:, column[node.left.index]] <= d2[:, column[node.right.index]]
                    at[rows] = np.where(left[rows], node.left.index, node.right.index)
            labels = np.zeros(len(nodes), np.int32)
            labels[leaves] = np.arange(len(leaves))
            return labels[at], d2[:, [column[i] for i in leaves]]

        frame = self._fit_frame
        return map_rows(run, X, dtype=dtype, n_features=self.n_features_in_, frame=frame)

    def _tree_arrays(self):
        """``(node centers [m, d] in compute units, children [m, 2])`` of the tree,
        nodes in preorder (the root first), ``[-1, -1]`` for a leaf."""
        check_is_fitted(self, "_tree")
        nodes = list(self._tree.nodes())
        position = {n.index: i for i, n in enumerate(nodes)}
        children = [
            [-1, -1] if n.left is None else [position[n.left.index], position[n.right.index]]
            for n in nodes
        ]
        return np.stack([n.center for n in nodes]), np.asarray(children, np.int64)

    def as_layer(self, output="labels", **kwargs):
        """This fitted model as a Keras layer (``tfcluster.layers.BisectingKMeansHead``).

        Args:
            output: "labels" ``[batch]`` (down the tree, as ``predict``) or
                "distances" ``[batch, n_clusters]`` (as ``transform``).
            **kwargs: passed to the layer (``name``, ...).
        """
        from tfcluster.layers import bisecting_layer

        return bisecting_layer(self, output=output, **kwargs)

    def predict(self, X) -> np.ndarray:
        """The leaf each row reaches going down the tree, int32 ``[n_samples]``.

        Args:
            X: ``[n_samples, n_features]``, or a ``tf.data.Dataset`` of batches.
        """
        return self._walk(X)[0]

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of each row to every leaf center, ``[n_samples, n_clusters]``."""
        return np.sqrt(self._walk(X)[1]) * self._fit_frame.scale

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``labels_`` ``[n_samples]``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``transform(X)`` ``[n_samples, n_clusters]``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Negative weighted inertia of ``X`` to the nearest leaf center, as scikit-learn."""
        check_is_fitted(self, "cluster_centers_")
        dtype = check_dtype(self.dtype)
        frame = self._fit_frame
        data = as_data(X, sample_weight, dtype=dtype, n_features=self.n_features_in_, frame=frame)
        centers = tf.constant(np.stack([n.center for n in self._tree.leaves()]), dtype)
        return -assign(data, centers)[1] * frame.scale**2
