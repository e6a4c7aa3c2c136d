"""tfcluster: clustering as compiled TensorFlow ops behind a scikit-learn interface.

K-means, Gaussian mixtures and self-organizing maps written as compiled
TensorFlow ops, with metrics, k selection, plots, an image pipeline and Keras
heads around them. See README.md.
"""

import importlib
import importlib.util

from tfcluster._compat import install_aliases
from tfcluster._quiet import install_quiet_import, when_imported

# Nothing here imports TensorFlow: the public names are imported on first use
# (PEP 562), so ``tfcluster --help`` starts in a fraction of a second; the first
# ``import tensorflow`` after this one (by tfcluster or the user) prints no C++
# start-up lines on the terminal (see ``tfcluster._quiet``).
install_quiet_import()
# The module paths of the flat layout still import (aliases, see ``tfcluster._compat``).
install_aliases()
# Keras finds tfcluster's layers in a .keras file once they are registered, which
# importing ``tfcluster.layers`` does: at once if Keras is here, else right after it
# and TensorFlow are imported (nothing heavy is imported for that).
when_imported(
    ("tensorflow", "keras"), lambda: importlib.import_module("tfcluster.layers"), "tfcluster"
)

_PUBLIC = {
    "ConvergenceWarning": "tfcluster._base",
    "NotFittedError": "tfcluster._base",
    "DeepClustering": "tfcluster.deep._dec",
    "MiniBatchKMeans": "tfcluster.cluster._minibatch",
    "ImageEmbedder": "tfcluster.images._features",
    "KMeans": "tfcluster.cluster._kmeans",
    "kmeans_plusplus": "tfcluster.cluster._kmeans",
    "adjusted_rand_score": "tfcluster.metrics",
    "calinski_harabasz_score": "tfcluster.metrics",
    "davies_bouldin_score": "tfcluster.metrics",
    "normalized_mutual_info_score": "tfcluster.metrics",
    "silhouette_samples": "tfcluster.metrics",
    "silhouette_score": "tfcluster.metrics",
    "GaussianMixture": "tfcluster.mixture._gaussian_mixture",
    "ImageClusterer": "tfcluster.images._pipeline",
    "SweepResult": "tfcluster.selection",
    "suggest_k": "tfcluster.selection",
    "sweep": "tfcluster.selection",
    "SelfOrganizingMap": "tfcluster.som._som",
    "BayesianGaussianMixture": "tfcluster.mixture._bayesian_mixture",
    "BisectingKMeans": "tfcluster.cluster._bisecting",
    "SphericalKMeans": "tfcluster.cluster._spherical",
}
_SUBMODULES = ("layers", "metrics", "plot", "selection")

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


def __getattr__(name: str):
    """Import a public name, or a submodule, on first use (PEP 562)."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _SUBMODULES or (
        not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None
    ):  # ``tfcluster.datasets`` after ``import tfcluster``, as when everything was imported
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later uses skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
