"""Choosing the number of clusters: fit a sweep over k, score it, suggest a k.

``sweep`` clones an estimator for every k (``n_clusters`` for KMeans and
MiniBatchKMeans, ``n_components`` for GaussianMixture, an ``m x n`` map for
SelfOrganizingMap), fits it and records the requested scores;
``suggest_k`` applies a documented rule to one of them.

Examples:
    >>> from tfcluster import KMeans
    >>> from tfcluster.datasets import make_blobs
    >>> from tfcluster.selection import suggest_k, sweep
    >>> X, _ = make_blobs(300, 2, 4, cluster_std=0.5, random_state=0)
    >>> result = sweep(KMeans(random_state=0), X, range(2, 9))
    >>> suggest_k(result, "elbow"), suggest_k(result, "silhouette")
    (4, 4)
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from tfcluster._base import BaseEstimator, check_option, check_positive_int, clone
from tfcluster._validation import is_dataset
from tfcluster.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

__all__ = ["SweepResult", "sweep", "suggest_k", "grid_shape"]


def grid_shape(k: int) -> tuple[int, int]:
    """The ``m x n = k`` map closest to a square, ``m <= n``.

    ``m`` is the largest divisor of ``k`` not above ``sqrt(k)``: 6 -> (2, 3),
    9 -> (3, 3), 12 -> (3, 4); a prime k gives a ``1 x k`` strip.
    """
    k = check_positive_int("k", k)
    m = max(d for d in range(1, math.isqrt(k) + 1) if k % d == 0)
    return m, k // m


def _size_params(estimator, k: int) -> dict:
    """The constructor arguments that make ``estimator`` use ``k`` clusters."""
    params = estimator.get_params()
    if "n_clusters" in params:
        return {"n_clusters": k}
    if "n_components" in params:
        return {"n_components": k}
    if "m" in params and "n" in params:
        m, n = grid_shape(k)
        return {"m": m, "n": n}
    raise TypeError(
        f"{type(estimator).__name__} has no number of clusters to sweep: expected a "
        "parameter 'n_clusters', 'n_components', or a map size 'm' and 'n'."
    )


def _labels(model, X) -> np.ndarray:
    labels = getattr(model, "labels_", None)
    if labels is None:
        if not callable(getattr(model, "predict", None)):
            raise ValueError(
                "scores 'silhouette', 'davies_bouldin' and 'calinski_harabasz' need cluster "
                f"labels ('labels_' or 'predict'), which {type(model).__name__} does not give."
            )
        labels = model.predict(X)
    return np.asarray(labels)


def _label_score(fn):
    def score(model, X, options):
        labels = _labels(model, X)
        found = np.unique(labels).size
        if not 1 < found < len(labels):
            return float("nan")  # undefined for one cluster (or one sample per cluster)
        return fn(X, labels, **options)

    return score


def _inertia(model, X, options):
    if not hasattr(model, "inertia_"):
        raise ValueError(
            f"score 'inertia' needs a fitted 'inertia_' attribute, which "
            f"{type(model).__name__} does not have."
        )
    return float(model.inertia_)


def _criterion(name):
    def score(model, X, options):
        return float(getattr(model, name)(X))

    return score


_LABEL_SCORES = ("silhouette", "davies_bouldin", "calinski_harabasz")
_SCORES = {
    "inertia": _inertia,
    "silhouette": _label_score(silhouette_score),
    "davies_bouldin": _label_score(davies_bouldin_score),
    "calinski_harabasz": _label_score(calinski_harabasz_score),
    "bic": _criterion("bic"),
    "aic": _criterion("aic"),
}


def _check_capable(estimator, X, scores) -> None:
    """Raise for a score this estimator or this X cannot give (before any fit)."""
    own = isinstance(estimator, BaseEstimator)  # others may still set inertia_
    for name in scores:
        if name in ("bic", "aic") and not callable(getattr(estimator, name, None)):
            raise ValueError(
                f"score {name!r} needs a '{name}(X)' method, which "
                f"{type(estimator).__name__} does not have."
            )
        if name == "inertia" and own and not _has_inertia(estimator):
            raise ValueError(
                f"score 'inertia' is the k-means objective; {type(estimator).__name__} "
                f"has none. Use {_default_scores(estimator)} for it."
            )
        if name in _LABEL_SCORES and is_dataset(X):
            raise ValueError(
                f"score {name!r} needs X in memory, not a tf.data.Dataset; on a "
                "stream, sweep 'inertia', 'bic' or 'aic'."
            )


def _has_inertia(estimator) -> bool:
    """Whether fits of ``estimator`` have the k-means objective ``inertia_``: ours
    with ``n_clusters`` and a ``score`` (KMeans, MiniBatchKMeans; not
    DeepClustering); another library's with ``n_clusters`` (it may set one)."""
    sized = "n_clusters" in estimator.get_params(deep=False)
    if isinstance(estimator, BaseEstimator):
        return sized and callable(getattr(estimator, "score", None))
    return sized


def _default_scores(estimator) -> tuple:
    """What a sweep of ``estimator`` records unless told: its own criterion and
    the silhouette."""
    if _has_inertia(estimator):
        return ("inertia", "silhouette")
    if callable(getattr(estimator, "bic", None)):
        return ("bic", "silhouette")
    return ("silhouette",)


def _estimator_maker(estimator, k_first: int):
    """``(k -> unfitted estimator, an estimator to check)`` for an estimator or a
    factory ``k -> estimator``."""
    if hasattr(estimator, "get_params") and hasattr(estimator, "fit"):
        _size_params(estimator, k_first)  # TypeError before any fit
        return (lambda k: clone(estimator, **_size_params(estimator, k))), estimator
    if callable(estimator) and not isinstance(estimator, type):
        probe = estimator(k_first)
        if not (hasattr(probe, "get_params") and hasattr(probe, "fit")):
            raise TypeError(
                f"estimator(k) must return an estimator with fit and get_params; "
                f"got {type(probe).__name__}."
            )
        return estimator, probe
    raise TypeError(
        "estimator must be an unfitted estimator (with fit and get_params) or a "
        f"function k -> estimator; got {estimator!r}."
    )


def _check_k_values(k_values) -> list[int]:
    if isinstance(k_values, (str, bytes)) or not hasattr(k_values, "__iter__"):
        raise TypeError(
            f"k_values must be a sequence of integers, e.g. range(2, 11); got {k_values!r}."
        )
    ks = [check_positive_int("each of k_values", k) for k in k_values]
    if not ks:
        raise ValueError("k_values is empty; give at least one number of clusters.")
    if len(set(ks)) != len(ks):
        raise ValueError(f"k_values has repeated values: {ks}.")
    return sorted(ks)


@dataclasses.dataclass
class SweepResult:
    """The outcome of ``sweep``.

    Attributes:
        k_values: the numbers of clusters fitted, ascending, ``[n_k]``.
        scores: score name -> numpy ``[n_k]`` (NaN where a score is undefined,
            such as the silhouette of a single cluster).
        models: the fitted estimators, one per k.
        fit_seconds: numpy ``[n_k]`` wall time of each fit.
    """

    k_values: list
    scores: dict
    models: list
    fit_seconds: np.ndarray

    def model(self, k: int):
        """The fitted estimator for ``k`` clusters."""
        if k not in self.k_values:
            raise ValueError(f"k={k} was not swept; swept k_values are {self.k_values}.")
        return self.models[self.k_values.index(k)]


def sweep(
    estimator,
    X,
    k_values,
    *,
    scores=None,
    sample_size=None,
    random_state=None,
    verbose=False,
) -> SweepResult:
    """Fit a copy of ``estimator`` for every k and record the requested scores.

    Each copy is ``type(estimator)(**estimator.get_params())`` with the number of
    clusters changed: ``n_clusters`` (KMeans, MiniBatchKMeans), ``n_components``
    (GaussianMixture), or for a map with parameters ``m`` and ``n``
    (SelfOrganizingMap) the ``m x n = k`` grid closest to a square (see
    ``grid_shape``; a prime k gives a ``1 x k`` strip). Every other parameter
    is kept: a map's ``sigma`` and its training length (``mode``,
    ``num_iteration``, ``epochs``, ``random_order``) are the same for every
    k, so ``SelfOrganizingMap(mode="batch", epochs=5)`` makes every fit 5
    batch epochs, and ``num_iteration=None`` gives each map its default
    ``500 * m * n`` online steps (more for a larger k). The estimator passed
    in is not changed. When other parameters must change with k too (a map's
    ``sigma``), pass a function ``k -> unfitted estimator`` instead.

    Args:
        estimator: an unfitted estimator following the scikit-learn protocol,
            or a function ``k -> unfitted estimator``.
        X: samples ``[n_samples, n_features]`` (a ``tf.data.Dataset`` for
            "inertia", "bic" and "aic" only).
        k_values: the numbers of clusters to try, e.g. ``range(2, 11)``.
        scores: names among "inertia" (the k-means objective ``inertia_``),
            "silhouette", "davies_bouldin", "calinski_harabasz" (on the model's
            ``labels_``, or ``predict(X)``), "bic" and "aic" (the model's
            ``bic(X)``/``aic(X)``). Default: "inertia" and "silhouette" for
            k-means, "bic" and "silhouette" for a Gaussian mixture,
            "silhouette" otherwise; on a dataset, without "silhouette".
        sample_size: if given, the silhouette is computed on this many samples
            (see ``metrics.silhouette_score``).
        random_state: seeds that subset.
        verbose: print one line per k as it is fitted.

    Returns:
        SweepResult with ``k_values``, ``scores`` and the fitted ``models``.

    Raises:
        ValueError: an unknown score, a score the estimator or X cannot give,
            empty or repeated ``k_values``.
        TypeError: not an estimator, or one with no number of clusters to set.
    """
    ks = _check_k_values(k_values)
    make, probe = _estimator_maker(estimator, ks[0])
    if scores is None:
        scores = _default_scores(probe)
        if is_dataset(X):  # the label scores need X in memory
            scores = tuple(name for name in scores if name not in _LABEL_SCORES) or scores
    if isinstance(scores, str):
        scores = (scores,)
    scores = tuple(scores)
    if not scores:
        raise ValueError("scores is empty; ask for at least one score.")
    for name in scores:
        check_option("score", name, _SCORES)
    _check_capable(probe, X, scores)
    options = {"sample_size": sample_size, "random_state": random_state}
    values = {name: np.full(len(ks), np.nan) for name in scores}
    models, seconds = [], np.zeros(len(ks))
    for i, k in enumerate(ks):
        start = time.perf_counter()
        model = make(k).fit(X)
        seconds[i] = time.perf_counter() - start
        for name in scores:
            opts = options if name == "silhouette" else {}
            values[name][i] = _SCORES[name](model, X, opts)
        models.append(model)
        if verbose:
            shown = "  ".join(f"{name}={values[name][i]:.6g}" for name in scores)
            print(f"[sweep] k={k} ({i + 1}/{len(ks)}) fit in {seconds[i]:.2f}s  {shown}")
    return SweepResult(ks, values, models, seconds)


def _argbest(k, v, sign):
    ok = np.isfinite(v)
    if not ok.any():
        raise ValueError("no finite score to choose k from.")
    return int(k[ok][np.argmax(sign * v[ok])])  # the smallest k among ties


def _elbow(k, inertia):
    """The k after which inertia stops dropping sharply.

    ``L = log(inertia)``, made non-increasing (a run stuck in a worse local
    optimum cannot hide an earlier drop). ``g_k = (L[k_prev] - L[k]) / (k - k_prev)``
    is the drop per added cluster. The elbow is the k with the largest ratio
    ``g_k / g_k_next``: a big drop followed by a small one. Drops below
    ``1e-3 * max(g)`` count as ``1e-3 * max(g)``, so a flat tail of noise does
    not make a large ratio. The first and last k cannot be chosen.
    """
    ok = np.isfinite(inertia)
    k, inertia = k[ok], inertia[ok]
    if k.size < 3:
        raise ValueError(f"the elbow rule needs inertia at 3 or more values of k; got {k.size}.")
    inertia = np.minimum.accumulate(np.maximum(inertia, 1e-300))
    drop = -np.diff(np.log(inertia)) / np.diff(k)  # [n_k - 1]
    floor = 1e-3 * drop.max() if drop.max() > 0 else 1.0
    drop = np.maximum(drop, floor)
    return int(k[1:-1][np.argmax(drop[:-1] / drop[1:])])


_METHODS = {
    "elbow": ("inertia", _elbow),
    "silhouette": ("silhouette", lambda k, v: _argbest(k, v, 1.0)),
    "calinski_harabasz": ("calinski_harabasz", lambda k, v: _argbest(k, v, 1.0)),
    "davies_bouldin": ("davies_bouldin", lambda k, v: _argbest(k, v, -1.0)),
    "bic": ("bic", lambda k, v: _argbest(k, v, -1.0)),
    "aic": ("aic", lambda k, v: _argbest(k, v, -1.0)),
}

SCORE_METHOD = {score: method for method, (score, _) in _METHODS.items()}
"""The ``suggest_k`` method that reads each score (``"inertia"`` -> ``"elbow"``)."""


def suggest_k(result: SweepResult, method: str = "silhouette") -> int:
    """Suggest a number of clusters from a sweep.

    The rules:

    - "elbow": on the inertia curve, the k with the largest ratio of the drop
      in ``log(inertia)`` before it to the drop after it (per added cluster);
      never the first or last k swept.
    - "silhouette": the largest mean silhouette.
    - "calinski_harabasz": the largest Calinski-Harabasz index.
    - "davies_bouldin": the smallest Davies-Bouldin index.
    - "bic", "aic": the smallest criterion.

    Ties go to the smallest k; NaN scores are ignored.

    Args:
        result: the output of ``sweep``.
        method: one of the names above.

    Returns:
        int, one of ``result.k_values``.

    Raises:
        ValueError: an unknown method, or one whose score was not recorded.
    """
    if not isinstance(result, SweepResult):
        raise TypeError(f"result must be the SweepResult of sweep(); got {type(result).__name__}.")
    score, rule = check_option("method", method, _METHODS)
    if score not in result.scores:
        raise ValueError(
            f"method {method!r} needs the score {score!r}, which this sweep did not "
            f"record (recorded: {sorted(result.scores)}); pass scores=(..., {score!r}) "
            "to sweep."
        )
    k = np.asarray(result.k_values)
    return rule(k, np.asarray(result.scores[score], dtype=np.float64))
