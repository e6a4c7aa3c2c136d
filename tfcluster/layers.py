"""Keras 3 clustering layers: heads from fitted estimators and the trainable DEC layer.

The heads hold a fitted model's parameters as non-trainable weights and call
the same ops as the estimators (``tfcluster.ops.distances``,
``tfcluster.ops.mixture``, ``tfcluster.ops.som``), after the same shift of the
data by an ``offset`` weight, so inside a Keras model, after
``model.save("m.keras")`` and ``keras.models.load_model``, and after
``model.export(path)`` they predict what the estimator predicts. Every layer
here is registered under the package name "tfcluster": ``load_model`` needs
no ``custom_objects`` once tfcluster is imported.

    KMeansHead           output "labels" [b] int32, "distances" [b, k], "soft" [b, k]
    GaussianMixtureHead  output "proba" [b, k], "log_prob" [b], "labels" [b] int32
    SOMHead              output "bmu" [b] int32, "coords" [b, 2] int32, "distances" [b, K]
    ClusteringLayer      Student-t soft assignment with trainable centers (DEC)

Examples:
    >>> import numpy as np, keras
    >>> from tfcluster.layers import KMeansHead
    >>> head = KMeansHead(np.array([[0.0, 0.0], [10.0, 0.0]]))
    >>> model = keras.Sequential([keras.Input((2,)), head])
    >>> model.predict(np.array([[1.0, 0.0], [9.0, 1.0]]), verbose=0).tolist()
    [0, 1]
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfcluster._base import check_option
from tfcluster._driver import chunk_rows
from tfcluster.ops import mixture as mixture_ops
from tfcluster.ops import som as som_ops
from tfcluster.ops.distances import nearest, squared_distances

__all__ = [
    "KMeansHead",
    "GaussianMixtureHead",
    "SOMHead",
    "ClusteringLayer",
    "student_t_assignment",
    "target_distribution",
    "clustering_loss",
    "kmeans_layer",
    "gmm_layer",
    "som_layer",
]

_register = keras.saving.register_keras_serializable(package="tfcluster")


def student_t_assignment(sq_distances, alpha=1.0):
    """Student-t soft assignment of DEC (van der Maaten's kernel), rows sum to one.

    ``q[i, j] = (1 + d[i, j] / alpha) ** (-(alpha + 1) / 2)``, normalised over
    ``j``; ``d`` are squared distances ``[b, k]``. Computed as a softmax of the
    log kernel, so far-away rows do not underflow to 0 / 0.

    Returns:
        ``[b, k]``.
    """
    logits = -0.5 * (alpha + 1.0) * tf.math.log1p(sq_distances / alpha)  # [b, k]
    return tf.nn.softmax(logits, axis=-1)


def target_distribution(q):
    """DEC's auxiliary target ``p``: ``q**2 / f`` with ``f = sum_i q``, rows normalised.

    Squaring sharpens confident assignments; dividing by the cluster
    frequency ``f [k]`` keeps large clusters from taking over.

    Args:
        q: soft assignments ``[n, k]``, a tensor or an array.

    Returns:
        ``[n, k]`` (a tf.Tensor), rows summing to one.
    """
    q = tf.convert_to_tensor(q)
    weight = tf.square(q) / tf.reduce_sum(q, axis=0)  # [n, k]
    return weight / tf.reduce_sum(weight, axis=1, keepdims=True)


def clustering_loss(p, q):
    """DEC's clustering loss ``KL(p || q)``: ``sum_j p log(p / q)``, averaged over rows.

    Terms with ``p = 0`` count zero; ``q`` is clipped at the float epsilon.

    Args:
        p: target ``[b, k]`` (``target_distribution``; not differentiated).
        q: soft assignments ``[b, k]`` (``ClusteringLayer`` output).

    Returns:
        Scalar.
    """
    q = tf.convert_to_tensor(q)
    p = tf.stop_gradient(tf.cast(p, q.dtype))
    eps = np.finfo(q.dtype.as_numpy_dtype).eps
    log_ratio = tf.math.log(tf.maximum(p, eps)) - tf.math.log(tf.maximum(q, eps))
    return tf.reduce_mean(tf.reduce_sum(tf.where(p > 0, p * log_ratio, 0.0), axis=-1))


class _FittedHead(keras.layers.Layer):
    """A non-trainable layer holding a fitted model's parameters as weights.

    Subclasses set ``_OUTPUTS`` (output name -> per-row shape maker, dtype) and
    ``_weight_shapes()``; ``call`` dispatches on ``self.output_kind``. Values
    given at construction are assigned when the layer is built; a layer made
    by ``from_config`` starts at zeros and receives its weights from the file.
    """

    _OUTPUTS: dict = {}

    def __init__(self, output, n_features, values, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        check_option("output", output, self._OUTPUTS)
        self.output_kind = output
        self.n_features = _positive("n_features", n_features)
        self._values = values  # name -> array or None

    def _weight_shapes(self) -> dict:
        raise NotImplementedError

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] != self.n_features:
            raise ValueError(
                f"{type(self).__name__} expects inputs [batch, {self.n_features}]; "
                f"got shape {tuple(input_shape)}."
            )
        for name, shape in self._weight_shapes().items():
            weight = self.add_weight(name=name, shape=shape, initializer="zeros", trainable=False)
            setattr(self, name, weight)
            value = (self._values or {}).get(name)
            if value is not None:
                weight.assign(np.asarray(value, dtype=weight.dtype))
        self._values = None

    def _shifted(self, inputs, *params):
        """``inputs`` and each of ``params`` minus the ``offset`` weight (as the estimator)."""
        offset = tf.convert_to_tensor(self.offset)
        x = tf.convert_to_tensor(inputs) - offset
        return (x,) + tuple(tf.convert_to_tensor(p) - offset for p in params)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self._OUTPUTS[self.output_kind][0](self)

    def compute_output_spec(self, inputs):
        shape, dtype = self._OUTPUTS[self.output_kind]
        dtype = self.compute_dtype if dtype is None else dtype
        return keras.KerasTensor((inputs.shape[0],) + shape(self), dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.update(output=self.output_kind, n_features=self.n_features)
        return config


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    return int(value)


def _matrix(name, value, ndim=2):
    arr = np.asarray(value)
    if arr.ndim != ndim or not np.issubdtype(arr.dtype, np.number) or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty numeric {ndim}-D array; got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


_ROW = (lambda self: (), None)


@_register
class KMeansHead(_FittedHead):
    """K-means assignment of each input row to fixed, fitted centers.

    Args:
        cluster_centers: ``[n_clusters, n_features]`` (or None with
            ``n_clusters``/``n_features`` given, when loading).
        output: "labels" (nearest center, int32 ``[b]``, as ``KMeans.predict``),
            "distances" (Euclidean distance to every center ``[b, k]``, as
            ``KMeans.transform``) or "soft" (DEC's Student-t soft assignment
            ``q ∝ (1 + d**2 / alpha) ** (-(alpha + 1) / 2)`` of the squared
            distances ``d**2``, ``[b, k]``, rows summing to one).
        alpha: degrees of freedom of the "soft" kernel (> 0).
        offset: ``[n_features]`` subtracted from inputs and centers before the
            distances (float32 accuracy); default the mean of the centers, as
            ``KMeans``.
        **kwargs: Keras layer arguments (``name``, ``dtype``).
    """

    _OUTPUTS = {
        "labels": (lambda self: (), "int32"),
        "distances": (lambda self: (self.n_clusters,), None),
        "soft": (lambda self: (self.n_clusters,), None),
    }

    def __init__(
        self,
        cluster_centers=None,
        output="labels",
        alpha=1.0,
        offset=None,
        n_clusters=None,
        n_features=None,
        **kwargs,
    ):
        values = None
        if cluster_centers is not None:
            centers = _matrix("cluster_centers", cluster_centers)
            n_clusters, n_features = centers.shape
            if offset is None:
                offset = tf.reduce_mean(tf.constant(centers), axis=0).numpy()  # as KMeans
            values = {"cluster_centers": centers, "offset": np.asarray(offset)}
        elif n_clusters is None or n_features is None:
            raise ValueError("Give cluster_centers, or n_clusters and n_features.")
        if not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a number > 0, got {alpha!r}.")
        super().__init__(output, n_features, values, **kwargs)
        self.n_clusters = _positive("n_clusters", n_clusters)
        self.alpha = float(alpha)

    def _weight_shapes(self):
        return {
            "cluster_centers": (self.n_clusters, self.n_features),
            "offset": (self.n_features,),
        }

    def call(self, inputs):
        x, centers = self._shifted(inputs, self.cluster_centers)
        if self.output_kind == "labels":
            return nearest(x, centers)[0]  # [b]
        d2 = squared_distances(x, centers)  # [b, k]
        if self.output_kind == "distances":
            return tf.sqrt(d2)
        return student_t_assignment(d2, self.alpha)

    def get_config(self):
        config = super().get_config()
        config.update(n_clusters=self.n_clusters, alpha=self.alpha)
        return config


@_register
class GaussianMixtureHead(_FittedHead):
    """Posterior of a fitted Gaussian mixture for each input row.

    Args:
        weights: mixing weights ``[k]``.
        means: ``[k, n_features]``.
        precisions_cholesky: ``GaussianMixture.precisions_cholesky_``: ``[k, d, d]``
            ("full"), ``[d, d]`` ("tied"), ``[k, d]`` ("diag") or ``[k]`` ("spherical").
        covariance_type: "full", "tied", "diag" or "spherical".
        output: "proba" (responsibilities ``[b, k]``, as ``predict_proba``),
            "log_prob" (log-likelihood of each row ``[b]``, as
            ``score_samples``) or "labels" (most probable component, int32 ``[b]``).
        offset: ``[n_features]`` subtracted from inputs and means; default
            ``weights @ means``, as ``GaussianMixture``.
        n_components, n_features: shapes, needed only without parameters (loading).
        **kwargs: Keras layer arguments (``name``, ``dtype``).
    """

    _OUTPUTS = {
        "proba": (lambda self: (self.n_components,), None),
        "log_prob": _ROW,
        "labels": (lambda self: (), "int32"),
    }

    def __init__(
        self,
        weights=None,
        means=None,
        precisions_cholesky=None,
        covariance_type="full",
        output="proba",
        offset=None,
        n_components=None,
        n_features=None,
        **kwargs,
    ):
        check_option("covariance_type", covariance_type, _COVARIANCE_TYPES)
        self.covariance_type = covariance_type
        values = None
        if means is not None:
            means = _matrix("means", means)
            n_components, n_features = means.shape
            weights = _matrix("weights", weights, ndim=1)
            prec = np.asarray(precisions_cholesky)
            expected = _precision_shape(covariance_type, n_components, n_features)
            if weights.shape != (n_components,) or prec.shape != expected:
                raise ValueError(
                    f"weights must be [{n_components}] and precisions_cholesky "
                    f"{list(expected)} for covariance_type={covariance_type!r}; got "
                    f"{list(weights.shape)} and {list(prec.shape)}."
                )
            if offset is None:
                offset = weights @ means
            values = {
                "mixture_weights": weights,
                "means": means,
                "precisions_cholesky": prec,
                "offset": np.asarray(offset),
            }
        elif n_components is None or n_features is None:
            raise ValueError("Give weights, means and precisions_cholesky, or the shapes.")
        super().__init__(output, n_features, values, **kwargs)
        self.n_components = _positive("n_components", n_components)

    def _weight_shapes(self):
        k, d = self.n_components, self.n_features
        return {
            "mixture_weights": (k,),
            "means": (k, d),
            "precisions_cholesky": _precision_shape(self.covariance_type, k, d),
            "offset": (d,),
        }

    def call(self, inputs):
        x, means = self._shifted(inputs, self.means)
        norm, resp, labels = mixture_ops.score_and_resp(
            x,
            tf.convert_to_tensor(self.mixture_weights),
            means,
            tf.convert_to_tensor(self.precisions_cholesky),
            self.covariance_type,
        )
        return {"proba": resp, "log_prob": norm, "labels": labels}[self.output_kind]

    def get_config(self):
        config = super().get_config()
        config.update(n_components=self.n_components, covariance_type=self.covariance_type)
        return config


_COVARIANCE_TYPES = {name: name for name in mixture_ops.COVARIANCE_TYPES}


def _precision_shape(covariance_type, k, d):
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


_DISTANCES = {name: name for name in som_ops.ACTIVATIONS}


@_register
class SOMHead(_FittedHead):
    """Best-matching unit of each input row on a fitted self-organizing map.

    Args:
        codebook: ``[m, n, n_features]`` (``SelfOrganizingMap.weights_``).
        output: "bmu" (flat node index ``i * n + j``, int32 ``[b]``, as
            ``predict``), "coords" (grid position ``(i, j)`` of that node, int32
            ``[b, 2]``, as ``winner``) or "distances" (activation distance to every
            node ``[b, m * n]``, as ``transform``).
        activation_distance: "euclidean", "cosine", "manhattan" or "chebyshev".
        offset: ``[n_features]`` subtracted from inputs and codebook; default
            zero (``som_layer`` passes the estimator's).
        grid_shape, n_features: shapes, needed only without a codebook (loading).
        **kwargs: Keras layer arguments (``name``, ``dtype``).
    """

    _OUTPUTS = {
        "bmu": (lambda self: (), "int32"),
        "coords": (lambda self: (2,), "int32"),
        "distances": (lambda self: (self.grid_shape[0] * self.grid_shape[1],), None),
    }

    def __init__(
        self,
        codebook=None,
        output="bmu",
        activation_distance="euclidean",
        offset=None,
        grid_shape=None,
        n_features=None,
        **kwargs,
    ):
        check_option("activation_distance", activation_distance, _DISTANCES)
        self.activation_distance = activation_distance
        values = None
        if codebook is not None:
            w = _matrix("codebook", codebook, ndim=3)
            grid_shape, n_features = w.shape[:2], w.shape[2]
            offset = np.zeros(n_features) if offset is None else np.asarray(offset)
            values = {"codebook": w.reshape(-1, n_features), "offset": offset}
        elif grid_shape is None or n_features is None:
            raise ValueError("Give codebook, or grid_shape and n_features.")
        super().__init__(output, n_features, values, **kwargs)
        self.grid_shape = tuple(_positive("grid_shape", int(v)) for v in grid_shape)
        if len(self.grid_shape) != 2:
            raise ValueError(f"grid_shape must be (m, n); got {grid_shape!r}.")

    def _weight_shapes(self):
        m, n = self.grid_shape
        return {"codebook": (m * n, self.n_features), "offset": (self.n_features,)}

    def call(self, inputs):
        x, w = self._shifted(inputs, self.codebook)
        if self.output_kind == "distances":
            return som_ops.activation(x, w, self.activation_distance)  # [b, K]
        per_row = 1 if self.activation_distance in ("euclidean", "cosine") else self.n_features
        chunk = chunk_rows(self.grid_shape[0] * self.grid_shape[1] * per_row)
        bmu = som_ops.winners(x, w, self.activation_distance, chunk)  # [b]
        if self.output_kind == "bmu":
            return bmu
        n = self.grid_shape[1]
        return tf.stack([bmu // n, bmu % n], axis=1)  # [b, 2]

    def get_config(self):
        config = super().get_config()
        config.update(
            grid_shape=list(self.grid_shape), activation_distance=self.activation_distance
        )
        return config


@_register
class ClusteringLayer(keras.layers.Layer):
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
        self.n_clusters = _positive("n_clusters", n_clusters)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha > 0:
            raise ValueError(f"alpha must be a number > 0, got {alpha!r}.")
        self.alpha = float(alpha)
        if initial_centers is not None:
            initial_centers = _matrix("initial_centers", initial_centers)
            if initial_centers.shape[0] != self.n_clusters:
                raise ValueError(
                    f"initial_centers must have n_clusters={self.n_clusters} rows; "
                    f"got shape {initial_centers.shape}."
                )
        self._initial = initial_centers

    @classmethod
    def from_kmeans(cls, kmeans, alpha=1.0, **kwargs):
        """A layer whose centers start at a fitted ``KMeans``'s ``cluster_centers_``."""
        from tfcluster._base import check_is_fitted

        check_is_fitted(kmeans, "cluster_centers_")
        centers = np.asarray(kmeans.cluster_centers_)
        return cls(centers.shape[0], alpha=alpha, initial_centers=centers, **kwargs)

    def build(self, input_shape):
        d = input_shape[-1]
        if len(input_shape) != 2 or d is None:
            raise ValueError(f"ClusteringLayer expects inputs [batch, d]; got {input_shape}.")
        if self._initial is not None and self._initial.shape[1] != d:
            raise ValueError(
                f"initial_centers have {self._initial.shape[1]} features; inputs have {d}."
            )
        self.clusters = self.add_weight(
            name="clusters", shape=(self.n_clusters, d), initializer="glorot_uniform"
        )
        if self._initial is not None:
            self.clusters.assign(self._initial.astype(self.clusters.dtype))
        self._initial = None

    def call(self, inputs):
        d2 = squared_distances(inputs, tf.convert_to_tensor(self.clusters))  # [b, k]
        return student_t_assignment(d2, self.alpha)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_clusters)

    def get_config(self):
        config = super().get_config()
        config.update(n_clusters=self.n_clusters, alpha=self.alpha)
        return config


# ------------------------------------------------------------ heads from estimators


def _dtype_name(estimator):
    from tfcluster._base import check_dtype

    return check_dtype(getattr(estimator, "dtype", "float32")).name


def kmeans_layer(estimator, output="labels", **kwargs):
    """``KMeansHead`` of a fitted ``KMeans``/``MiniBatchKMeans`` (its ``as_layer``)."""
    from tfcluster._base import check_is_fitted

    check_is_fitted(estimator, "cluster_centers_")
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return KMeansHead(np.asarray(estimator.cluster_centers_), output=output, **kwargs)


def gmm_layer(estimator, output="proba", **kwargs):
    """``GaussianMixtureHead`` of a fitted ``GaussianMixture`` (its ``as_layer``)."""
    offset = estimator._offset()  # raises NotFittedError before fit
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return GaussianMixtureHead(
        estimator.weights_,
        estimator.means_,
        estimator.precisions_cholesky_,
        estimator.covariance_type,
        output=output,
        offset=offset,
        **kwargs,
    )


def som_layer(estimator, output="bmu", **kwargs):
    """``SOMHead`` of a fitted ``SelfOrganizingMap`` (its ``as_layer``)."""
    cfg, codebook = estimator._fitted()  # raises NotFittedError before fit
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return SOMHead(
        codebook,
        output=output,
        activation_distance=cfg.distance,
        offset=cfg.shift(codebook),
        **kwargs,
    )
