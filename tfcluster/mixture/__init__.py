"""Gaussian mixtures fitted by EM, and their variational Bayesian form.

    GaussianMixture          EM (``_gaussian_mixture``), initial responsibilities
                             (``_init``), units of the fitted parameters (``_units``)
    BayesianGaussianMixture  variational EM with a Dirichlet (process) prior
                             (``_bayesian_mixture``, ``_bayesian_prior``)

The maths is in ``tfcluster.ops.mixture`` and ``tfcluster.ops.bayesian``.
This package replaces the module ``tfcluster.mixture`` of the flat layout and
exports what it did.
"""

from tfcluster._compat import doctests_of
from tfcluster.mixture import _bayesian_mixture, _gaussian_mixture
from tfcluster.mixture._bayesian_mixture import BayesianGaussianMixture
from tfcluster.mixture._gaussian_mixture import GaussianMixture

__all__ = ["GaussianMixture", "BayesianGaussianMixture"]

# doctest.testmod(tfcluster.mixture) runs the examples of the modules here
__test__ = doctests_of(_gaussian_mixture, _bayesian_mixture)
