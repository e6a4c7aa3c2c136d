"""tfcluster: clustering as compiled TensorFlow ops behind a scikit-learn interface.

K-means, Gaussian mixtures and self-organizing maps written as compiled
TensorFlow ops, with metrics, k selection, plots, an image pipeline and Keras
heads around them. See README.md.
"""

from tfcluster._quiet import import_tensorflow

import_tensorflow()  # before anything imports TensorFlow: no C++ start-up lines

from tfcluster import layers, metrics, plot, selection
from tfcluster._base import ConvergenceWarning, NotFittedError
from tfcluster._dec import DeepClustering
from tfcluster._minibatch import MiniBatchKMeans
from tfcluster.bayesian_mixture import BayesianGaussianMixture
from tfcluster.bisecting import BisectingKMeans
from tfcluster.features import ImageEmbedder
from tfcluster.kmeans import KMeans, kmeans_plusplus
from tfcluster.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_samples,
    silhouette_score,
)
from tfcluster.mixture import GaussianMixture
from tfcluster.pipeline import ImageClusterer
from tfcluster.selection import SweepResult, suggest_k, sweep
from tfcluster.som import SelfOrganizingMap
from tfcluster.spherical import SphericalKMeans

__version__ = "0.1.0"

__all__ = [
    "BayesianGaussianMixture",
    "BisectingKMeans",
    "ConvergenceWarning",
    "DeepClustering",
    "GaussianMixture",
    "ImageClusterer",
    "ImageEmbedder",
    "KMeans",
    "MiniBatchKMeans",
    "NotFittedError",
    "SelfOrganizingMap",
    "SphericalKMeans",
    "SweepResult",
    "adjusted_rand_score",
    "calinski_harabasz_score",
    "davies_bouldin_score",
    "kmeans_plusplus",
    "layers",
    "metrics",
    "normalized_mutual_info_score",
    "plot",
    "selection",
    "silhouette_samples",
    "silhouette_score",
    "suggest_k",
    "sweep",
    "__version__",
]
