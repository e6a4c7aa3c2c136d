"""The per-row outputs both mixtures give from their ``_per_row`` pass, and their Keras head."""

from __future__ import annotations

import numpy as np

__all__ = ["MixtureOutputs"]


class MixtureOutputs:
    """``score_samples``, ``predict_proba``, ``predict``, ``fit_predict`` and ``as_layer``
    of a mixture whose ``_per_row(X)`` gives ``(log density [n], responsibilities
    [n, k], labels [n])`` in one pass, and whose ``_layer`` names the
    ``tfcluster.layers`` function that builds its head."""

    _layer = "gmm_layer"

    def score_samples(self, X) -> np.ndarray:
        """Log density of each row under the model, ``[n_samples]``: the
        log-likelihood for ``GaussianMixture``, scikit-learn's
        ``log sum_j exp(E[log pi_j] + E[log N(x | mu_j, Lambda_j)])`` for
        ``BayesianGaussianMixture``."""
        return self._per_row(X)[0]

    def predict_proba(self, X) -> np.ndarray:
        """Posterior probability (responsibility) of each component for each row,
        ``[n_samples, k]``."""
        return self._per_row(X)[1]

    def predict(self, X) -> np.ndarray:
        """Most probable component of each row (first on ties), int32 ``[n_samples]``."""
        return self._per_row(X)[2]

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then ``predict(X)`` ``[n_samples]``."""
        return self.fit(X, sample_weight=sample_weight).predict(X)

    def as_layer(self, output="proba", **kwargs):
        """This fitted model as a Keras layer (``tfcluster.layers.GaussianMixtureHead``,
        or ``BayesianGaussianMixtureHead`` for a ``BayesianGaussianMixture``).

        Args:
            output: "proba" ``[batch, n_components]``, "log_prob" ``[batch]``
                (as ``score_samples``) or "labels" ``[batch]``.
            **kwargs: passed to the layer (``name``, ...).
        """
        from tfcluster import layers

        return getattr(layers, self._layer)(self, output=output, **kwargs)
