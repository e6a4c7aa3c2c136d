"""Keras heads holding a fitted estimator's parameters: KMeansHead, GaussianMixtureHead, SOMHead.

Each head keeps the parameters as non-trainable float64 weights and calls
the estimator's own ops in the estimator's compute units: the data and the
parameters shifted by an ``offset`` weight and divided by ``scale`` (a power
of two in the config) in float64, then cast to the layer's compute dtype, as
the estimator's inference frame does, so it predicts what the estimator
predicts, in a model, after ``keras.models.load_model`` and after
``model.export``, far from the origin too (feed float64 inputs there, e.g.
``keras.Input((d,), dtype="float64")``: float32 rows 1e8 from the origin are
8 apart). Keras's ``model.predict`` casts a numpy array to float32 before
any layer sees it, so far from the origin call the model directly
(``model(x)``) or pass a ``tf.data.Dataset`` of float64 batches. Files saved
when the weights were float32 load into the float64 weights unchanged.
Public through
``tfcluster.layers``; every head is registered under the package name
"tfcluster".
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfcluster._base import check_number, check_option, check_positive_int
from tfcluster._engine.driver import chunk_rows, frame_of
from tfcluster._validation import check_array
from tfcluster.deep._layer import student_t_assignment
from tfcluster.keras._inputs import (
    InputChecked,
    check_input_shape,
    layer_inputs,
    value_initializer,
)
from tfcluster.ops import mixture as mixture_ops
from tfcluster.ops import som as som_ops
from tfcluster.ops.distances import nearest

__all__ = ["KMeansHead", "GaussianMixtureHead", "SOMHead"]

_register = keras.saving.register_keras_serializable(package="tfcluster")


class _FittedHead(InputChecked, keras.layers.Layer):
    """A non-trainable layer holding a fitted model's parameters as weights.

    Subclasses set ``_OUTPUTS`` (output name -> per-row shape maker, dtype) and
    ``_weight_shapes()``; ``call`` dispatches on ``self.output_kind``. Values
    given at construction are the weights' initializers, so they hold whatever
    the build path (eager, ``keras.Input``, a traced ``predict``/``fit`` or
    ``tf.function``, a ``tf.distribute`` scope); a layer made by
    ``from_config`` starts at zeros and receives its weights from the file.
    """

    _OUTPUTS: dict = {}

    @property
    def input_dtype(self):
        """Inputs reach ``call`` in float64 (floating ones cast exactly by Keras):
        they are shifted in float64 before the cast to the compute dtype."""
        return "float64"

    def __init__(self, output, n_features, values, scale=1.0, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.scale = _check_scale(scale)
        check_option("output", output, self._OUTPUTS)
        self.output_kind = output
        self.n_features = check_positive_int("n_features", n_features)
        self._values = values  # name -> array or None

    def _weight_shapes(self) -> dict:
        raise NotImplementedError

    def _n_features(self):
        return self.n_features, ""

    def build(self, input_shape):
        check_input_shape(self, input_shape, self.n_features)
        for name, shape in self._weight_shapes().items():
            value = (self._values or {}).get(name)
            initializer = "zeros" if value is None else value_initializer(value)
            weight = self.add_weight(  # float64: the offset and far parameters exact
                name=name,
                shape=shape,
                initializer=initializer,
                trainable=False,
                dtype="float64",
                autocast=False,
            )
            setattr(self, name, weight)
        self._values = None

    def _shifted(self, inputs, *params):
        """``inputs`` and each of ``params`` in compute units: minus the ``offset``
        weight, over ``scale``, in float64, then cast to the compute dtype (as
        the estimator's frame, ``_engine.frame.Frame.to_internal``).

        ``inputs`` is checked to be ``[batch, n_features]`` where its shape is
        known (integer inputs are accepted).
        """
        offset = _wide(self.offset)  # [d]
        inverse = tf.constant(1.0 / self.scale, tf.float64)  # a power of two: exact

        def internal(t):
            return tf.cast((_wide(t) - offset) * inverse, self.compute_dtype)

        x = layer_inputs(self, inputs, *self._n_features(), dtype=tf.float64)  # [b, d]
        return (internal(x),) + tuple(internal(p) for p in params)

    def compute_output_shape(self, input_shape):
        check_input_shape(self, input_shape, self.n_features)
        return (input_shape[0],) + self._OUTPUTS[self.output_kind][0](self)

    def compute_output_spec(self, inputs):
        shape, dtype = self._OUTPUTS[self.output_kind]
        dtype = self.compute_dtype if dtype is None else dtype
        return keras.KerasTensor((inputs.shape[0],) + shape(self), dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.update(output=self.output_kind, n_features=self.n_features, scale=self.scale)
        return config


def _wide(value):
    """A weight or tensor as a float64 tensor."""
    return tf.cast(tf.convert_to_tensor(value), tf.float64)


def _check_scale(scale) -> float:
    """``scale`` as a float: a positive power of two (exact to divide by)."""
    scale = check_number("scale", scale, strict=True)
    if not np.isfinite(scale) or np.frexp(scale)[0] != 0.5:
        raise ValueError(
            f"scale must be a positive power of two (e.g. 1.0, 2.0**-40); got {scale}."
        )
    return float(scale)


def _parameter(name, value, axes):
    """``value`` as a numpy array with one dimension per entry of ``axes``, checked by check_array.

    ``axes`` names or sizes the dimensions, for the message. The rows of the
    last axis go through ``check_array`` (numeric, non-empty, finite). float32
    stays float32, as in the estimator's own offset arithmetic; anything else
    becomes float64, which holds it exactly.
    """
    arr = np.asarray(value)
    if arr.ndim != len(axes):
        shape = "[" + ", ".join(map(str, axes)) + "]"
        raise ValueError(f"{name} must be {len(axes)}-D {shape}; got shape {arr.shape}.")
    dtype = tf.float32 if arr.dtype == np.float32 else tf.float64
    rows = arr.reshape(int(np.prod(arr.shape[:-1])), arr.shape[-1])  # [1, k] for a vector
    return check_array(rows, dtype=dtype, name=name).numpy().reshape(arr.shape)


def _offset(offset, default, n_features):
    """``offset`` (or ``default`` when None) checked as a finite ``[n_features]`` vector."""
    value = _parameter("offset", default if offset is None else offset, ("n_features",))
    if value.shape != (n_features,):
        raise ValueError(f"offset must be [n_features={n_features}]; got shape {value.shape}.")
    return value


def _check_mixture(weights, prec, covariance_type):
    """Mixing weights ``>= 0`` with a positive sum; precision Cholesky factors with a
    positive diagonal (as ``GaussianMixture.precisions_cholesky_``)."""
    if np.any(weights < 0) or not np.sum(weights) > 0:
        raise ValueError(f"weights must be >= 0 with a positive sum; got {weights.tolist()}.")
    matrices = covariance_type in ("full", "tied")
    diagonal = np.diagonal(prec, axis1=-2, axis2=-1) if matrices else prec
    if np.any(diagonal <= 0):
        raise ValueError(
            "precisions_cholesky must be Cholesky factors of precisions: positive "
            f"(on the diagonal for covariance_type={covariance_type!r}); got values <= 0."
        )


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
            distances (float32 accuracy); default, with ``scale``, the frame of
            the centers, as ``KMeans`` (``tfcluster._engine.driver.frame_of``).
        scale: a power of two the shifted values are divided by.
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
        scale=None,
        **kwargs,
    ):
        values = None
        if cluster_centers is not None:
            centers = _parameter("cluster_centers", cluster_centers, ("n_clusters", "n_features"))
            n_clusters, n_features = centers.shape
            if offset is None:  # as KMeans
                frame = frame_of(centers)
                offset, scale = frame.offset, frame.scale if scale is None else scale
            values = {"cluster_centers": centers, "offset": _offset(offset, None, n_features)}
        elif n_clusters is None or n_features is None:
            raise ValueError("Give cluster_centers, or n_clusters and n_features.")
        self.alpha = check_number("alpha", alpha, strict=True)
        super().__init__(output, n_features, values, 1.0 if scale is None else scale, **kwargs)
        self.n_clusters = check_positive_int("n_clusters", n_clusters)

    def _weight_shapes(self):
        return {
            "cluster_centers": (self.n_clusters, self.n_features),
            "offset": (self.n_features,),
        }

    def call(self, inputs):
        x, centers = self._shifted(inputs, self.cluster_centers)
        if self.output_kind == "labels":
            return nearest(x, centers)[0]  # [b]
        # the difference form, as KMeans.transform: a center is at 0 from itself
        d = tf.norm(x[:, None, :] - centers[None, :, :], axis=-1)  # [b, k]
        d = d * tf.constant(self.scale, d.dtype) if self.scale != 1.0 else d
        if self.output_kind == "distances":
            return d
        return student_t_assignment(tf.square(d), self.alpha)

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
        offset: ``[n_features]`` subtracted from inputs and means; default, with
            ``scale``, the inference frame of ``GaussianMixture``.
        scale: a power of two the shifted values are divided by (the
            precision factors multiplied by, the log-densities lowered by
            ``n_features * log(scale)``).
        n_components, n_features: shapes, needed only without parameters (loading).
        **kwargs: Keras layer arguments (``name``, ``dtype``).
    """

    _OUTPUTS = {
        "proba": (lambda self: (self.n_components,), None),
        "log_prob": (lambda self: (), None),
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
        scale=None,
        **kwargs,
    ):
        check_option("covariance_type", covariance_type, _COVARIANCE_TYPES)
        self.covariance_type = covariance_type
        values = None
        if means is not None:
            means = _parameter("means", means, ("n_components", "n_features"))
            n_components, n_features = means.shape
            weights = _parameter("weights", weights, ("n_components",))
            expected = mixture_ops.covariance_shape(covariance_type, n_components, n_features)
            prec = _parameter("precisions_cholesky", precisions_cholesky, expected)
            if weights.shape != (n_components,) or prec.shape != expected:
                raise ValueError(
                    f"weights must be [{n_components}] and precisions_cholesky "
                    f"{list(expected)} for covariance_type={covariance_type!r}; got "
                    f"{list(weights.shape)} and {list(prec.shape)}."
                )
            _check_mixture(weights, prec, covariance_type)
            if offset is None:  # as GaussianMixture
                frame = _mixture_frame(weights, means, prec, covariance_type)
                offset, scale = frame.offset, frame.scale if scale is None else scale
            values = {
                "mixture_weights": weights,
                "means": means,
                "precisions_cholesky": prec,
                "offset": _offset(offset, None, n_features),
            }
        elif n_components is None or n_features is None:
            raise ValueError("Give weights, means and precisions_cholesky, or the shapes.")
        super().__init__(output, n_features, values, 1.0 if scale is None else scale, **kwargs)
        self.n_components = check_positive_int("n_components", n_components)

    def _weight_shapes(self):
        k, d = self.n_components, self.n_features
        return {
            "mixture_weights": (k,),
            "means": (k, d),
            "precisions_cholesky": mixture_ops.covariance_shape(self.covariance_type, k, d),
            "offset": (d,),
        }

    def call(self, inputs):
        x, means = self._shifted(inputs, self.means)
        # in compute units, as the estimator's: times scale in float64, then the cast
        prec_chol = _wide(self.precisions_cholesky) * self.scale
        norm, resp, labels = mixture_ops.score_and_resp(
            x,
            tf.cast(self.mixture_weights, self.compute_dtype),
            means,
            tf.cast(prec_chol, self.compute_dtype),
            self.covariance_type,
        )
        if self.scale != 1.0:
            norm = norm - tf.constant(self.n_features * np.log(self.scale), norm.dtype)
        return {"proba": resp, "log_prob": norm, "labels": labels}[self.output_kind]

    def get_config(self):
        config = super().get_config()
        config.update(n_components=self.n_components, covariance_type=self.covariance_type)
        return config


_COVARIANCE_TYPES = mixture_ops.COVARIANCE_TYPES


def _mixture_frame(weights, means, prec_chol, covariance_type):
    """The inference frame of a mixture given by its precision Cholesky factors."""
    from tfcluster.mixture._units import inference_frame

    prec = np.asarray(prec_chol, np.float64)
    if covariance_type in ("full", "tied"):
        eye = np.eye(prec.shape[-1])
        inv = np.linalg.solve(prec, np.broadcast_to(eye, prec.shape))  # U^-1
        cov = np.swapaxes(inv, -1, -2) @ inv  # inv(U U^T)
    else:
        cov = 1.0 / np.square(prec)
    return inference_frame(weights, means, cov, covariance_type)


_DISTANCES = tuple(som_ops.ACTIVATIONS)


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
        scale: a power of two the shifted values are divided by (``som_layer``
            passes the estimator's); "distances" are given back in input units.
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
        scale=1.0,
        **kwargs,
    ):
        check_option("activation_distance", activation_distance, _DISTANCES)
        self.activation_distance = activation_distance
        values = None
        if codebook is not None:
            w = _parameter("codebook", codebook, ("m", "n", "n_features"))
            grid_shape, n_features = w.shape[:2], w.shape[2]
            offset = _offset(offset, np.zeros(n_features), n_features)
            values = {"codebook": w.reshape(-1, n_features), "offset": offset}
        elif grid_shape is None or n_features is None:
            raise ValueError("Give codebook, or grid_shape and n_features.")
        if len(grid_shape) != 2:
            raise ValueError(f"grid_shape must be (m, n); got {grid_shape!r}.")
        super().__init__(output, n_features, values, scale, **kwargs)
        self.grid_shape = tuple(
            check_positive_int(f"grid_shape[{i}]", v) for i, v in enumerate(grid_shape)
        )

    def _weight_shapes(self):
        m, n = self.grid_shape
        return {"codebook": (m * n, self.n_features), "offset": (self.n_features,)}

    def call(self, inputs):
        x, w = self._shifted(inputs, self.codebook)
        if self.output_kind == "distances":
            out = som_ops.activation(x, w, self.activation_distance)  # [b, K]
            if self.activation_distance == "cosine" or self.scale == 1.0:
                return out
            return out * tf.constant(self.scale, out.dtype)
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
