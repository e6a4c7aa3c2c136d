"""Embed-then-cluster for images: an ImageEmbedder followed by any tfcluster estimator."""

from __future__ import annotations

import numpy as np

from tfcluster._base import BaseEstimator, check_is_fitted, clone

__all__ = ["ImageClusterer", "assignment_scores"]


def assignment_scores(clusterer, X, labels) -> tuple[str, np.ndarray]:
    """How well each row fits its cluster: ``(name, values [n_samples])``.

    "probability" (``predict_proba`` of the assigned component) for mixtures,
    otherwise "distance" (Euclidean distance to the assigned center or map node,
    from ``transform``).
    """
    labels = np.asarray(labels)
    rows = np.arange(labels.shape[0])
    if callable(getattr(clusterer, "predict_proba", None)):
        return "probability", np.asarray(clusterer.predict_proba(X))[rows, labels]
    if callable(getattr(clusterer, "transform", None)):
        return "distance", np.asarray(clusterer.transform(X))[rows, labels]
    raise TypeError(
        f"{type(clusterer).__name__} gives neither predict_proba nor transform; "
        "no per-image score is available."
    )


class ImageClusterer(BaseEstimator):
    """Cluster images: features from ``embedder``, clusters from ``clusterer``.

    Args:
        embedder: a ``tfcluster.images._features.ImageEmbedder`` (None: the default,
            MobileNetV2 with ImageNet weights).
        clusterer: an unfitted tfcluster estimator with ``fit`` and ``predict``
            (KMeans, MiniBatchKMeans, GaussianMixture, SelfOrganizingMap); None
            means ``KMeans(8)``. It is copied, not changed, by ``fit``, and its
            copy is fitted with ``fit(features)`` alone: set everything,
            including a map's training length, in its constructor (e.g.
            ``SelfOrganizingMap(3, 3, mode="batch", epochs=20)``).

    Attributes:
        clusterer_: the fitted copy of ``clusterer``.
        embedder_: the embedder used (``embedder`` itself, or the default one).
        embeddings_: ``[n_images, n_features]`` the features of the images of ``fit``.
        labels_: ``[n_images]`` the cluster of each image of ``fit``.
        paths_: the image paths of ``fit`` in row order (None for arrays/Datasets).
        skipped_: ``[(path, reason), ...]`` files of ``fit`` that could not be decoded.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import KMeans
        >>> from tfcluster.images._features import ImageEmbedder
        >>> from tfcluster.images._pipeline import ImageClusterer
        >>> images = np.zeros((6, 32, 32, 3))
        >>> images[3:] = 255.0
        >>> emb = ImageEmbedder(weights=None, input_size=32, alpha=0.35)
        >>> labels = ImageClusterer(emb, KMeans(2, random_state=0)).fit_predict(images)
        >>> labels[:3].tolist() == [labels[0]] * 3, labels[3:].tolist() == [labels[3]] * 3
        (True, True)
        >>> bool(labels[0] != labels[3])
        True
    """

    def __init__(self, embedder=None, clusterer=None):
        self.embedder = embedder
        self.clusterer = clusterer

    def _embedder(self):
        """The embedder used: ``embedder_`` once fitted, else ``embedder`` (or the default)."""
        embedder = getattr(self, "embedder_", None) or self.embedder
        if embedder is None:
            from tfcluster.images._features import ImageEmbedder

            embedder = ImageEmbedder()
        if not callable(getattr(embedder, "embed", None)):
            raise TypeError(
                f"embedder must have an embed(images) method (an ImageEmbedder); "
                f"got {type(embedder).__name__}."
            )
        return embedder

    def _new_clusterer(self):
        if self.clusterer is None:
            from tfcluster.cluster._kmeans import KMeans

            return KMeans(8)
        if isinstance(self.clusterer, type):
            raise TypeError(
                f"clusterer must be an estimator instance, e.g. {self.clusterer.__name__}(8); "
                f"got the class {self.clusterer.__name__} itself."
            )
        if not callable(getattr(self.clusterer, "fit", None)) or not callable(
            getattr(self.clusterer, "get_params", None)
        ):
            raise TypeError(
                "clusterer must be an estimator with fit, predict and get_params "
                f"(e.g. tfcluster.KMeans); got {type(self.clusterer).__name__}."
            )
        return clone(self.clusterer)

    def embed(self, images) -> np.ndarray:
        """Features ``[n_images, n_features]`` of ``images`` (see ``ImageEmbedder.embed``)."""
        return self._embedder().embed(images)

    def fit(self, images, y=None) -> ImageClusterer:
        """Embed ``images`` and fit a copy of the clusterer on the features.

        Args:
            images: a folder, a list of paths, an array ``[n, h, w, c]`` or a
                ``tf.data.Dataset`` (see ``ImageEmbedder.embed``).
            y: ignored.

        Returns:
            self.
        """
        clusterer = self._new_clusterer()
        self.__dict__.pop("embedder_", None)
        embedder = self._embedder()
        X = embedder.embed(images)
        clusterer.fit(X)
        labels = getattr(clusterer, "labels_", None)
        self.labels_ = np.asarray(clusterer.predict(X) if labels is None else labels)
        self.clusterer_, self.embedder_ = clusterer, embedder
        self.embeddings_ = X
        self.paths_ = embedder.paths_
        self.skipped_ = list(embedder.skipped_)
        return self

    def fit_predict(self, images, y=None) -> np.ndarray:
        """``fit(images).labels_``: the cluster of each image ``[n_images]``."""
        return self.fit(images).labels_

    def predict(self, images) -> np.ndarray:
        """The cluster of each of ``images`` ``[n_images]`` (decodable files only).

        After a call on files, ``embedder_.paths_`` lists the files in row order.
        """
        check_is_fitted(self, "clusterer_")
        return np.asarray(self.clusterer_.predict(self.embed(images)))

    def scores(self) -> tuple[str, np.ndarray]:
        """Per-image fit of the training images to their cluster (see ``assignment_scores``)."""
        check_is_fitted(self, "clusterer_")
        return assignment_scores(self.clusterer_, self.embeddings_, self.labels_)
