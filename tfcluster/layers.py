"""Keras 3 clustering layers: heads from fitted estimators and the trainable DEC layer.

The heads hold a fitted model's parameters as non-trainable weights and call
the same ops as the estimators (``tfcluster.ops.distances``,
``tfcluster.ops.mixture``, ``tfcluster.ops.som``), in the same compute units
(the data shifted by an ``offset`` weight and divided by a power-of-two
``scale``), so inside a Keras model, after
``model.save("m.keras")`` and ``keras.models.load_model``, and after
``model.export(path)`` they predict what the estimator predicts. Every layer
here is registered under the package name "tfcluster": ``load_model`` needs
no ``custom_objects`` once tfcluster is imported.

Every layer takes ``[batch, n_features]``: integer and boolean inputs are cast
to the layer's dtype, and a wrong rank or feature count raises ValueError
wherever the shape is known (arrays, tensors, ``keras.Input``).

    KMeansHead           output "labels" [b] int32, "distances" [b, k], "soft" [b, k]
    GaussianMixtureHead  output "proba" [b, k], "log_prob" [b], "labels" [b] int32
    SOMHead              output "bmu" [b] int32, "coords" [b, 2] int32, "distances" [b, K]
    ClusteringLayer      Student-t soft assignment with trainable centers (DEC)

The heads live in ``tfcluster.keras._heads``, the DEC layer and its loss in
``tfcluster.deep._layer``; this module is their public home and builds heads
from fitted estimators (``kmeans_layer``, ``gmm_layer``, ``som_layer``, the
estimators' ``as_layer``).

Examples:
    >>> import numpy as np, keras
    >>> from tfcluster.layers import KMeansHead
    >>> head = KMeansHead(np.array([[0.0, 0.0], [10.0, 0.0]]))
    >>> model = keras.Sequential([keras.Input((2,)), head])
    >>> model.predict(np.array([[1.0, 0.0], [9.0, 1.0]]), verbose=0).tolist()
    [0, 1]
"""

from __future__ import annotations

import numpy as np

from tfcluster._base import check_dtype
from tfcluster.deep._layer import (
    ClusteringLayer,
    clustering_loss,
    student_t_assignment,
    target_distribution,
)
from tfcluster.keras._heads import GaussianMixtureHead, KMeansHead, SOMHead

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

# doctest.testmod(tfcluster.layers) also runs the examples of the objects defined elsewhere.
__test__ = {
    obj.__name__: obj
    for obj in (KMeansHead, GaussianMixtureHead, SOMHead, ClusteringLayer)
    + (student_t_assignment, target_distribution, clustering_loss)
}


def _dtype_name(estimator):
    return check_dtype(getattr(estimator, "dtype", "float32")).name


def kmeans_layer(estimator, output="labels", **kwargs):
    """``KMeansHead`` of a fitted ``KMeans``/``MiniBatchKMeans`` (its ``as_layer``)."""
    frame = estimator._frame()  # raises NotFittedError before fit
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return KMeansHead(
        np.asarray(estimator.cluster_centers_),
        output=output,
        offset=frame.offset,
        scale=frame.scale,
        **kwargs,
    )


def gmm_layer(estimator, output="proba", **kwargs):
    """``GaussianMixtureHead`` of a fitted ``GaussianMixture`` (its ``as_layer``)."""
    frame = estimator._frame()  # raises NotFittedError before fit
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return GaussianMixtureHead(
        estimator.weights_,
        estimator.means_,
        estimator.precisions_cholesky_,
        estimator.covariance_type,
        output=output,
        offset=frame.offset,
        scale=frame.scale,
        **kwargs,
    )


def som_layer(estimator, output="bmu", **kwargs):
    """``SOMHead`` of a fitted ``SelfOrganizingMap`` (its ``as_layer``)."""
    cfg, codebook = estimator._fitted()  # raises NotFittedError before fit
    frame = estimator._frame()
    kwargs.setdefault("dtype", _dtype_name(estimator))
    # the estimator's frame, then its integer shift in compute units
    offset = frame.offset + cfg.shift(frame.to_internal(codebook)) * frame.scale
    return SOMHead(
        codebook,
        output=output,
        activation_distance=cfg.distance,
        offset=offset,
        scale=frame.scale,
        **kwargs,
    )
