"""DEC's trainable clustering layer and its loss (Xie et al. 2016).

``ClusteringLayer`` holds trainable centers and outputs the Student-t soft
assignments ``q [b, k]`` of its inputs; ``target_distribution(q)`` is the
sharpened target ``p`` and ``clustering_loss(p, q)`` is ``KL(p || q)``.
``tfcluster.DeepClustering`` trains an encoder with them. Public through
``tfcluster.layers``; ``ClusteringLayer`` is registered under the package name
"tfcluster".
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfcluster._base import check_is_fitted, check_number, check_positive_int
from tfcluster._validation import check_array
from tfcluster.keras._inputs import (  # here before they moved to keras/: still importable
    InputChecked,
    _input_shape_error,
    check_input_shape,
    layer_inputs,
    value_initializer,
)
from tfcluster.ops.distances import exact_squared_distances

__all__ = ["ClusteringLayer", "student_t_assignment", "target_distribution", "clustering_loss"]


def student_t_assignment(sq_distances, alpha=1.0):
    """Student-t soft assignment of DEC (van der Maaten's kernel), rows sum to one.

    ``q[i, j] = (1 + d[i, j] / alpha) ** (-(alpha + 1) / 2)``, normalised over
    ``j``; ``d`` are squared distances ``[b, k]``. Computed as a softmax of the
    log kernel, so far-away rows do not underflow to 0 / 0.

    Returns:
        ``[b, k]``.
    """
    if not tf.is_tensor(alpha):
        alpha = check_number("alpha", alpha, strict=True)
    logits = -0.5 * (alpha + 1.0) * tf.math.log1p(sq_distances / alpha)  # [b, k]
    return tf.nn.softmax(logits, axis=-1)


def _soft_assignments(name, value):
    """``value`` as a floating tensor ``[n, k]`` (integers become floatx); static rank checked."""
    x = tf.convert_to_tensor(value)
    if x.dtype.is_integer or x.dtype.is_bool:
        x = tf.cast(x, keras.config.floatx())
    if not x.dtype.is_floating:
        raise TypeError(f"{name} must contain real numbers; got dtype {x.dtype.name}.")
    if x.shape.rank is not None and x.shape.rank != 2:
        raise ValueError(
            f"{name} must be 2-D soft assignments [n_samples, n_clusters]; "
            f"got shape {tuple(x.shape.as_list())}."
        )
    return x


def target_distribution(q):
    """DEC's auxiliary target ``p``: ``q**2 / f`` with ``f = sum_i q``, rows normalised.

    Squaring sharpens confident assignments; dividing by the cluster
    frequency ``f [k]`` keeps large clusters from taking over. The result is
    never NaN: a cluster with ``f = 0`` gets target 0, and a row of zeros
    gets a row of zeros (it then adds nothing to ``clustering_loss``). Rows
    are scaled by their largest entry before squaring, so tiny probabilities
    do not underflow. Works eagerly and inside ``tf.function``.

    Args:
        q: soft assignments ``[n, k]``, a tensor or an array (non-negative).

    Returns:
        ``[n, k]`` (a tf.Tensor), rows summing to one (zeros for a row of zeros).

    Raises:
        ValueError: ``q`` is not 2-D (checked when the rank is known); called
            eagerly, ``q`` has negative, NaN or infinite entries.
        TypeError: ``q`` is not numeric.

    Examples:
        >>> target_distribution([[0.5, 0.5], [0.0, 0.0]]).numpy().tolist()
        [[0.5, 0.5], [0.0, 0.0]]
    """
    q = _soft_assignments("q", q)
    if tf.executing_eagerly() and not bool(tf.reduce_all(tf.math.is_finite(q) & (q >= 0))):
        raise ValueError("q must contain finite non-negative soft assignments.")
    f = tf.reduce_sum(q, axis=0)  # [k]
    scaled = tf.math.divide_no_nan(q, tf.reduce_max(q, axis=1, keepdims=True))  # [n, k] <= 1
    weight = tf.math.divide_no_nan(tf.square(scaled), f)  # [n, k]
    return tf.math.divide_no_nan(weight, tf.reduce_sum(weight, axis=1, keepdims=True))


def clustering_loss(p, q):
    """DEC's clustering loss ``KL(p || q)``: ``sum_j p log(p / q)``, averaged over rows.

    Terms with ``p = 0`` count zero; ``q`` is clipped at the float epsilon.

    Args:
        p: target ``[b, k]`` (``target_distribution``; not differentiated).
        q: soft assignments ``[b, k]`` (``ClusteringLayer`` output).

    Returns:
        Scalar.

    Raises:
        ValueError: ``p`` or ``q`` is not 2-D, or their shapes differ (checked
            where the shapes are known: always eagerly, statically in a graph).
        TypeError: ``p`` or ``q`` is not numeric.
    """
    q = _soft_assignments("q", q)
    p = _soft_assignments("p", p)
    if not p.shape.is_compatible_with(q.shape):
        raise ValueError(
            f"p and q must have the same shape [b, k]; got p {tuple(p.shape.as_list())} "
            f"and q {tuple(q.shape.as_list())}."
        )
    p = tf.stop_gradient(tf.cast(p, q.dtype))
    eps = np.finfo(q.dtype.as_numpy_dtype).eps
    log_ratio = tf.math.log(tf.maximum(p, eps)) - tf.math.log(tf.maximum(q, eps))
    return tf.reduce_mean(tf.reduce_sum(tf.where(p > 0, p * log_ratio, 0.0), axis=-1))


@keras.saving.register_keras_serializable(package="tfcluster")
class ClusteringLayer(InputChecked, keras.layers.Layer):
    """DEC's clustering layer: Student-t soft assignment to trainable centers.

    ``q[i, j] ∝ (1 + ||z_i - mu_j||**2 / alpha) ** (-(alpha + 1) / 2)`` for
    embeddings ``z [b, d]`` and centers ``mu [k, d]``; rows sum to one. Train
    it (with the encoder) on ``clustering_loss(target_distribution(q), q)``.

    Args:
        n_clusters: number of centers ``k``.
        alpha: degrees of freedom of the Student-t kernel (> 0).
        initial_centers: ``[k, d]`` starting centers (for instance
            ``KMeans.cluster_centers_`` of the embeddings), or None for Glorot
            uniform ones; see also ``from_kmeans``.
        **kwargs: Keras layer arguments (``name``, ``dtype``, ``trainable``).

    Examples:
        >>> import numpy as np
        >>> layer = ClusteringLayer(2, initial_centers=np.array([[0.0, 0.0], [3.0, 4.0]]))
        >>> q = layer(np.array([[0.0, 0.0]])).numpy()  # squared distances 0 and 25
        >>> [round(float(v), 3) for v in q[0]]  # 1 / (1 + 1 / 26), (1 / 26) / (1 + 1 / 26)
        [0.963, 0.037]
    """

    def __init__(self, n_clusters, alpha=1.0, initial_centers=None, **kwargs):
        super().__init__(**kwargs)
        self.n_clusters = check_positive_int("n_clusters", n_clusters)
        self.alpha = check_number("alpha", alpha, strict=True)
        if initial_centers is not None:
            # float64 holds float32 and float64 centers exactly; the weight's initializer casts
            # them to its dtype.
            initial_centers = check_array(
                initial_centers, dtype=tf.float64, name="initial_centers"
            ).numpy()
            if initial_centers.shape[0] != self.n_clusters:
                raise ValueError(
                    f"initial_centers must have n_clusters={self.n_clusters} rows; "
                    f"got shape {initial_centers.shape}."
                )
        self._initial = initial_centers

    @classmethod
    def from_kmeans(cls, kmeans, alpha=1.0, **kwargs):
        """A layer whose centers start at a fitted ``KMeans``'s ``cluster_centers_``."""
        check_is_fitted(kmeans, "cluster_centers_")
        centers = np.asarray(kmeans.cluster_centers_)
        return cls(centers.shape[0], alpha=alpha, initial_centers=centers, **kwargs)

    def build(self, input_shape):
        check_input_shape(self, input_shape, None)
        d = input_shape[-1]
        if d is None:
            raise _input_shape_error(self, input_shape, None, " with a known d")
        if self._initial is not None and self._initial.shape[1] != d:
            raise ValueError(
                f"initial_centers have {self._initial.shape[1]} features; inputs have {d}."
            )
        initial = "glorot_uniform" if self._initial is None else value_initializer(self._initial)
        self.clusters = self.add_weight(
            name="clusters", shape=(self.n_clusters, d), initializer=initial
        )
        self._initial = None

    def _n_features(self):
        if self.built:
            d = self.clusters.shape[1]
            return d, f" (its centers have {d} features)"
        if self._initial is not None:
            d = self._initial.shape[1]
            return d, f" (its initial_centers have {d} features)"
        return None, ""  # any d: the centers are made when the layer is built

    def call(self, inputs):
        x = layer_inputs(self, inputs, *self._n_features())
        # from the differences: the same q for a row whatever the batch (Keras predicts in 32s)
        d2 = exact_squared_distances(x, tf.convert_to_tensor(self.clusters))  # [b, k]
        return student_t_assignment(d2, self.alpha)

    def compute_output_shape(self, input_shape):
        check_input_shape(self, input_shape, *self._n_features())
        return (input_shape[0], self.n_clusters)

    def get_config(self):
        config = super().get_config()
        config.update(n_clusters=self.n_clusters, alpha=self.alpha)
        return config
