"""Keras heads of SphericalKMeans, BisectingKMeans and BayesianGaussianMixture.

As the heads of ``tfcluster.keras._heads`` (whose base class and checks they reuse):
the fitted parameters are non-trainable weights (a bisection tree's shape is
in the config), the layer calls the estimator's own ops in the estimator's
compute units, and it predicts what the estimator predicts in a model, after
``keras.models.load_model`` and after ``model.export``. Public through
``tfcluster.layers``, registered under the package name "tfcluster".
"""

from __future__ import annotations

import numbers

import keras
import numpy as np
import tensorflow as tf

from tfcluster._base import check_number, check_positive_int
from tfcluster.keras._heads import GaussianMixtureHead, _FittedHead, _offset, _parameter
from tfcluster.keras._inputs import layer_inputs
from tfcluster.ops.distances import nearest, squared_distances
from tfcluster.ops.spherical import cosine_distances, normalize_rows

__all__ = ["SphericalKMeansHead", "BisectingKMeansHead", "BayesianGaussianMixtureHead"]

_register = keras.saving.register_keras_serializable(package="tfcluster")


@_register
class SphericalKMeansHead(_FittedHead):
    """Spherical k-means assignment of each input row by cosine similarity.

    Each row is scaled to unit L2 norm in float64 (after division by
    its largest magnitude, so tiny and huge rows neither under- nor overflow),
    as ``SphericalKMeans`` does before its assignment.

    A row of zero norm has no direction. ``SphericalKMeans.predict`` raises
    ValueError for it; a served model cannot raise for one row of a batch, so
    the head gives such a row the label ``-1`` (no cluster) and the cosine
    distance ``1`` (cosine 0) to every center, never NaN.

    Args:
        cluster_centers: ``[n_clusters, n_features]`` unit centers
            (``SphericalKMeans.cluster_centers_``; rows are normalised here too),
            or None with ``n_clusters``/``n_features`` given, when loading.
        output: "labels" (center of largest cosine, int32 ``[b]``, as
            ``predict``; -1 for a zero row) or "distances" (``1 - cos`` to every
            center ``[b, k]``, as ``transform``).
        n_clusters, n_features: shapes, needed only without centers (loading).
        scale: kept for the config of the base class; must be 1.
        **kwargs: Keras layer arguments (``name``, ``dtype``).

    Examples:
        >>> import numpy as np
        >>> from tfcluster.layers import SphericalKMeansHead
        >>> head = SphericalKMeansHead(np.array([[1.0, 0.0], [0.0, 1.0]]))
        >>> head(np.array([[5.0, 1.0], [0.1, 3.0], [0.0, 0.0]])).numpy().tolist()
        [0, 1, -1]
    """

    _OUTPUTS = {
        "labels": (lambda self: (), "int32"),
        "distances": (lambda self: (self.n_clusters,), None),
    }

    def __init__(
        self,
        cluster_centers=None,
        output="labels",
        n_clusters=None,
        n_features=None,
        scale=1.0,
        **kwargs,
    ):
        values = None
        if cluster_centers is not None:
            centers = _parameter("cluster_centers", cluster_centers, ("n_clusters", "n_features"))
            norms = np.linalg.norm(centers.astype(np.float64), axis=1, keepdims=True)
            if np.any(norms == 0):
                raise ValueError("cluster_centers must be nonzero directions; a row is zero.")
            n_clusters, n_features = centers.shape
            values = {"cluster_centers": (centers / norms).astype(centers.dtype)}
        elif n_clusters is None or n_features is None:
            raise ValueError("Give cluster_centers, or n_clusters and n_features.")
        if check_number("scale", scale, strict=True) != 1.0:
            raise ValueError(f"SphericalKMeansHead takes no scale (directions); got {scale}.")
        super().__init__(output, n_features, values, 1.0, **kwargs)
        self.n_clusters = check_positive_int("n_clusters", n_clusters)

    def _weight_shapes(self):
        return {"cluster_centers": (self.n_clusters, self.n_features)}

    def call(self, inputs):
        # normalised in float64 (the inputs' precision), then cast, as the estimator
        x = layer_inputs(self, inputs, *self._n_features(), dtype=tf.float64)  # [b, d]
        top = tf.reduce_max(tf.abs(x), axis=1, keepdims=True)  # [b, 1]
        zero = top[:, 0] == 0  # [b]
        x = normalize_rows(x / tf.where(top > 0, top, tf.ones_like(top)))  # zero rows stay 0
        x = tf.cast(x, self.compute_dtype)
        centers = tf.cast(self.cluster_centers, self.compute_dtype)
        if self.output_kind == "distances":
            return cosine_distances(x, centers)  # [b, k]; 1 for a zero row
        labels = nearest(x, centers)[0]  # [b]: on unit rows, the largest cosine
        return tf.where(zero, tf.constant(-1, labels.dtype), labels)

    def get_config(self):
        config = super().get_config()
        config.update(n_clusters=self.n_clusters)
        return config


def _leaf_order(children):
    """The leaves of the tree ``children [m, 2]`` (-1 for a leaf), left before right,
    and the depth of the tree (0 for a single node)."""
    leaves, depth, stack = [], 0, [(0, 0)]
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        left, right = children[node]
        if left < 0:
            leaves.append(node)
        else:
            stack += [(right, level + 1), (left, level + 1)]
    return leaves, depth


def _check_tree(children, m: int):
    """``children`` as ``[m, 2]`` ints describing a binary tree rooted at node 0."""
    children = np.asarray(children, np.int64).reshape(-1, 2) if len(children) else None
    if children is None or children.shape[0] != m:
        raise ValueError(f"children must be [n_nodes={m}, 2]; got {np.shape(children)}.")
    inner = children[:, 0] >= 0
    if np.any((children[:, 1] >= 0) != inner) or np.any(children >= m):
        raise ValueError("children must hold two node indices (or -1, -1 for a leaf) per node.")
    seen = np.sort(children[inner].ravel())
    if not np.array_equal(seen, np.arange(1, m)):
        raise ValueError("children must form one binary tree rooted at node 0.")
    return children


@_register
class BisectingKMeansHead(_FittedHead):
    """The leaf of a fitted bisection tree each input row reaches, as
    ``BisectingKMeans.predict``: from the root, at each split the nearer of the
    two child centers, down to a leaf (not the nearest leaf center).

    Args:
        node_centers: ``[n_nodes, n_features]`` the centers of every node of the
            tree, in compute units (``(x - offset) / scale``).
        children: ``[n_nodes, 2]`` the node indices of each node's two children,
            ``[-1, -1]`` for a leaf; node 0 is the root. The leaves, left before
            right, are the labels ``0 .. n_clusters - 1`` (scikit-learn's order).
            Kept in the config (the tree's shape); the centers are weights.
        output: "labels" (int32 ``[b]``, as ``predict``) or "distances"
            (Euclidean distance to every leaf center ``[b, n_clusters]``, as
            ``transform``, in input units).
        offset: ``[n_features]`` subtracted from inputs (in float64, a float64
            weight); with ``scale`` the estimator's frame (``bisecting_layer``
            passes them).
        scale: a power of two the shifted inputs are divided by.
        n_features: needed only without centers (loading).
        **kwargs: Keras layer arguments (``name``, ``dtype``).

    Examples:
        A root at 0 split into nodes 1 (center -10) and 2 (center 10); node 2
        split into nodes 3 (center 0) and 4 (center 20): leaves 1, 3, 4 are
        labels 0, 1, 2. A row at -4 goes left at the root, to label 0, though
        the leaf center 0 is nearer:

        >>> import numpy as np
        >>> from tfcluster.layers import BisectingKMeansHead
        >>> centers = np.array([[0.0], [-10.0], [10.0], [0.0], [20.0]])
        >>> children = [[1, 2], [-1, -1], [3, 4], [-1, -1], [-1, -1]]
        >>> head = BisectingKMeansHead(centers, children)
        >>> head(np.array([[-4.0], [1.0], [16.0]])).numpy().tolist()
        [0, 1, 2]
    """

    _OUTPUTS = {
        "labels": (lambda self: (), "int32"),
        "distances": (lambda self: (len(self._leaves),), None),
    }

    def __init__(
        self,
        node_centers=None,
        children=None,
        output="labels",
        offset=None,
        n_features=None,
        scale=1.0,
        **kwargs,
    ):
        values = None
        if children is None:
            raise ValueError("children (the tree's shape [n_nodes, 2]) is required.")
        if node_centers is not None:
            centers = _parameter("node_centers", node_centers, ("n_nodes", "n_features"))
            m, n_features = centers.shape
            offset = _offset(offset, np.zeros(n_features), n_features)
            values = {"node_centers": centers, "offset": offset}
        elif n_features is None:
            raise ValueError("Give node_centers, or n_features (when loading).")
        else:
            m = len(children)
        self.children = _check_tree(children, m)
        self._leaves, self._depth = _leaf_order(self.children)
        super().__init__(output, n_features, values, scale, **kwargs)

    def _weight_shapes(self):
        return {
            "node_centers": (self.children.shape[0], self.n_features),
            "offset": (self.n_features,),
        }

    def call(self, inputs):
        (x,) = self._shifted(inputs)  # [b, d] in compute units
        d2 = squared_distances(x, tf.cast(self.node_centers, x.dtype))  # [b, m]
        if self.output_kind == "distances":
            leaves = tf.gather(d2, tf.constant(self._leaves, tf.int32), axis=1)  # [b, k]
            out = tf.sqrt(leaves)
            return out * tf.constant(self.scale, out.dtype) if self.scale != 1.0 else out
        m = self.children.shape[0]
        # a leaf's children are itself: the walk stays there
        own = np.arange(m)
        left = tf.constant(np.where(self.children[:, 0] < 0, own, self.children[:, 0]), tf.int32)
        right = tf.constant(np.where(self.children[:, 1] < 0, own, self.children[:, 1]), tf.int32)
        at = tf.zeros(tf.shape(x)[:1], tf.int32)  # [b] the node each row has reached
        for _ in range(self._depth):  # the tree's depth: a fixed, unrolled walk
            lt, rt = tf.gather(left, at), tf.gather(right, at)  # [b]
            dl = tf.gather(d2, lt, batch_dims=1)  # [b]
            dr = tf.gather(d2, rt, batch_dims=1)
            at = tf.where(dl <= dr, lt, rt)  # as the estimator: left on ties
        label = np.full(m, -1, np.int32)
        label[self._leaves] = np.arange(len(self._leaves))
        return tf.gather(tf.constant(label), at)

    def get_config(self):
        config = super().get_config()
        config.update(children=self.children.tolist())
        return config


@_register
class BayesianGaussianMixtureHead(GaussianMixtureHead):
    """Posterior of a fitted ``BayesianGaussianMixture`` for each input row.

    The variational E step weighs each component's Gaussian density (posterior
    means and precisions) by ``exp(bias_j)``, ``bias_j = E[log pi_j] - d/2 log
    nu_j + (E[log |Lambda_j|] - d / beta_j) / 2`` (scikit-learn's
    ``_estimate_weighted_log_prob``): a Gaussian mixture head with weights
    ``exp(bias - log_prob_shift)`` whose "log_prob" is raised by
    ``log_prob_shift`` (``max(bias)``).

    Args:
        weights: ``exp(bias - log_prob_shift)`` ``[k]`` (not summing to one).
        means, precisions_cholesky, covariance_type, output, offset, scale,
            n_components, n_features: as ``GaussianMixtureHead`` (``offset`` and
            ``means`` are float64 weights, the shift taken in float64).
        log_prob_shift: added to the "log_prob" output.
        **kwargs: Keras layer arguments (``name``, ``dtype``).
    """

    def __init__(self, *args, log_prob_shift=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        if isinstance(log_prob_shift, bool) or not isinstance(log_prob_shift, numbers.Real):
            raise TypeError(f"log_prob_shift must be a real number; got {log_prob_shift!r}.")
        if not np.isfinite(log_prob_shift):
            raise ValueError(f"log_prob_shift must be finite; got {log_prob_shift!r}.")
        self.log_prob_shift = float(log_prob_shift)

    def call(self, inputs):
        out = super().call(inputs)
        if self.output_kind != "log_prob" or self.log_prob_shift == 0.0:
            return out
        return out + tf.constant(self.log_prob_shift, out.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(log_prob_shift=self.log_prob_shift)
        return config
