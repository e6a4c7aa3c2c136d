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
    SphericalKMeansHead  output "labels" [b] int32 (-1 for a zero row), "distances" [b, k]
    BisectingKMeansHead  output "labels" [b] int32 (down the tree), "distances" [b, k]
    BayesianGaussianMixtureHead  output "proba" [b, k], "log_prob" [b], "labels" [b] int32
    ClusteringLayer      Student-t soft assignment with trainable centers (DEC)

The heads live in ``tfcluster.keras._heads`` (those of SphericalKMeans,
BisectingKMeans and BayesianGaussianMixture in ``tfcluster.keras._variant_heads``), the
DEC layer and its loss in ``tfcluster.deep._layer``; this module is their
public home and builds heads from fitted estimators (``kmeans_layer``,
``gmm_layer``, ``som_layer``, ``spherical_layer``, ``bisecting_layer``,
``bgm_layer``, the estimators' ``as_layer``).

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
from tfcluster.keras._variant_heads import (
    BayesianGaussianMixtureHead,
    BisectingKMeansHead,
    SphericalKMeansHead,
)

__all__ = [
    "KMeansHead",
    "GaussianMixtureHead",
    "SOMHead",
    "SphericalKMeansHead",
    "BisectingKMeansHead",
    "BayesianGaussianMixtureHead",
    "ClusteringLayer",
    "student_t_assignment",
    "target_distribution",
    "clustering_loss",
    "kmeans_layer",
    "gmm_layer",
    "som_layer",
    "spherical_layer",
    "bisecting_layer",
    "bgm_layer",
]

# doctest.testmod(tfcluster.layers) also runs the examples of the objects defined elsewhere.
__test__ = {
    obj.__name__: obj
    for obj in (KMeansHead, GaussianMixtureHead, SOMHead, ClusteringLayer)
    + (SphericalKMeansHead, BisectingKMeansHead, BayesianGaussianMixtureHead)
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
    return _mixture_head(GaussianMixtureHead, estimator, None, output, **kwargs)


def _mixture_head(cls, estimator, weights, output, **kwargs):
    """A ``cls`` head of a fitted mixture in its inference frame (``weights`` None:
    its ``weights_``)."""
    frame = estimator._frame()  # raises NotFittedError before fit
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return cls(
        estimator.weights_ if weights is None else weights,
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


def spherical_layer(estimator, output="labels", **kwargs):
    """``SphericalKMeansHead`` of a fitted ``SphericalKMeans`` (its ``as_layer``)."""
    centers = estimator._centers(check_dtype(estimator.dtype)).numpy()  # NotFittedError
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return SphericalKMeansHead(centers, output=output, **kwargs)


def bisecting_layer(estimator, output="labels", **kwargs):
    """``BisectingKMeansHead`` of a fitted ``BisectingKMeans`` (its ``as_layer``)."""
    centers, children = estimator._tree_arrays()  # raises NotFittedError before fit
    frame = estimator._fit_frame
    kwargs.setdefault("dtype", _dtype_name(estimator))
    return BisectingKMeansHead(
        centers, children, output=output, offset=frame.offset, scale=frame.scale, **kwargs
    )


def bgm_layer(estimator, output="proba", **kwargs):
    """``BayesianGaussianMixtureHead`` of a fitted ``BayesianGaussianMixture`` (its
    ``as_layer``): the weights are the exponentials of its E step's per-component
    bias (``ops.bayesian.log_weight_bias``, in its dtype), over their largest."""
    bias = estimator._log_weight_bias().astype(np.float64)  # [k]; NotFittedError before fit
    top = float(np.max(bias))
    weights = np.exp(bias - top)
    return _mixture_head(
        BayesianGaussianMixtureHead, estimator, weights, output, log_prob_shift=top, **kwargs
    )
