"""Keras heads of fitted estimators; their public home is ``tfcluster.layers``.

    KMeansHead, GaussianMixtureHead, SOMHead          (_heads: the base head and these)
    SphericalKMeansHead, BisectingKMeansHead,
    BayesianGaussianMixtureHead                       (_variant_heads: built on _heads)
    InputChecked, layer_inputs, value_initializer     (_inputs: what every layer checks)

Every head is registered under the package name "tfcluster" with the name it
had in the flat layout, so ``.keras`` files saved before still load. The heads
are imported on first use (PEP 562): ``tfcluster.deep._layer`` imports
``_inputs`` from here while the heads import ``tfcluster.deep._layer``, and
importing the heads with this package would make that a cycle.
"""

import importlib

_HOMES = {
    "KMeansHead": "_heads",
    "GaussianMixtureHead": "_heads",
    "SOMHead": "_heads",
    "SphericalKMeansHead": "_variant_heads",
    "BisectingKMeansHead": "_variant_heads",
    "BayesianGaussianMixtureHead": "_variant_heads",
}

__all__ = list(_HOMES)


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
