"""Keras heads of fitted estimators (``_heads``); their public home is ``tfcluster.layers``.

    KMeansHead, GaussianMixtureHead, SOMHead

Every head is registered under the package name "tfcluster" with the name it
had in the flat layout, so ``.keras`` files saved before still load.
"""

from tfcluster.keras._heads import GaussianMixtureHead, KMeansHead, SOMHead

__all__ = ["KMeansHead", "GaussianMixtureHead", "SOMHead"]
