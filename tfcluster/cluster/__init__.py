"""K-means and its variants: Lloyd, mini-batch, bisecting and spherical.

    KMeans            Lloyd's algorithm (``_kmeans``), k-means++ and k-means|| seeding
    MiniBatchKMeans   scikit-learn's mini-batch updates (``_minibatch``)
    BisectingKMeans   repeated two-way splits (``_bisecting``)
    SphericalKMeans   cosine k-means on the unit sphere (``_spherical``)

Each is an estimator shell: it validates its parameters, calls the compiled
programs of ``tfcluster._engine`` over the ops of ``tfcluster.ops.kmeans`` and
``tfcluster.ops.spherical``, and stores the fitted attributes.
"""

from tfcluster.cluster._bisecting import BisectingKMeans
from tfcluster.cluster._kmeans import KMeans, kmeans_plusplus
from tfcluster.cluster._minibatch import MiniBatchKMeans
from tfcluster.cluster._spherical import SphericalKMeans

__all__ = ["KMeans", "MiniBatchKMeans", "BisectingKMeans", "SphericalKMeans", "kmeans_plusplus"]
