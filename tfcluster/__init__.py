"""tfcluster: clustering as compiled TensorFlow ops behind a scikit-learn interface."""

from tfcluster._base import NotFittedError
from tfcluster._minibatch import MiniBatchKMeans
from tfcluster.kmeans import KMeans, kmeans_plusplus

__version__ = "0.1.0"

__all__ = ["KMeans", "MiniBatchKMeans", "NotFittedError", "kmeans_plusplus", "__version__"]
