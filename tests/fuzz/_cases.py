"""The fuzz table: every input kind of ``_inputs`` through every entry point.

An entry point is ``(call(X), streams, summary)``: ``streams`` says whether a
``tf.data.Dataset`` is accepted, ``summary(result)`` what must equal the same
call on the float64 numpy values the input stands for (the reference).
"""

from __future__ import annotations

import functools

import numpy as np

from ._harness import Case
from ._inputs import BASE, DATASET_KINDS, FAST_KINDS, KINDS, LABELS, reference

RTOL = 1e-5
# Keras heads are layers: Keras itself converts (or refuses) lists and object
# arrays before the layer sees them, and a layer maps NaN rows to NaN rows as any
# Keras layer does (a traced model cannot raise per batch). An empty batch is a
# valid batch of a layer.
_LAYER_SKIP = {"list", "ragged_list", "nan", "inf", "tf_nan", "huge_float64", "none"}
_LAYER_SKIP |= {"string", "scalar", "np_object_numeric", "np_object_str", "np_str"}
_LAYER_SKIP |= {"np_datetime"}
_LAYER_VALID = {"empty"}


@functools.cache
def fitted(name):
    """Estimators fitted once on the float64 base data."""
    import tfcluster as tc

    models = {
        "kmeans": lambda: tc.KMeans(2, random_state=0),
        "gmm": lambda: tc.GaussianMixture(2, covariance_type="diag", random_state=0),
        "som": lambda: tc.SelfOrganizingMap(1, 2, mode="batch", epochs=3, random_state=0),
    }
    return models[name]().fit(BASE)


def _partition(labels):
    """Labels renamed by order of first appearance: equal partitions compare equal."""
    _, first, inverse = np.unique(np.asarray(labels), return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse]


def _partition_summary(model):
    return _partition(model.predict(BASE))


def _fit_summary(model):
    out = {"partition": _partition(model.predict(BASE))}
    if hasattr(model, "inertia_"):
        out["inertia"] = np.float64(model.score(BASE))
    return out


def _sklearn(name):
    import sklearn.metrics as skm

    return getattr(skm, name)


def _entries():
    import tensorflow as tf

    import tfcluster as tc
    from tfcluster import metrics

    def kmeans_fit(X):
        return tc.KMeans(2, random_state=0).fit(X)

    def mbk_fit(X):
        return tc.MiniBatchKMeans(2, batch_size=8, random_state=0, n_init=1).fit(X)

    def mbk_partial(X):
        return tc.MiniBatchKMeans(2, random_state=0).partial_fit(X)

    def gmm_fit(X):
        return tc.GaussianMixture(2, covariance_type="diag", random_state=0).fit(X)

    def som_online(X):
        return tc.SelfOrganizingMap(1, 2, num_iteration=200, random_state=0).fit(X)

    def som_batch(X):
        return tc.SelfOrganizingMap(1, 2, mode="batch", epochs=3, random_state=0).fit(X)

    def sweep(X):
        scores = ("inertia",) if isinstance(X, tf.data.Dataset) else None
        result = tc.sweep(tc.KMeans(random_state=0), X, [2, 3], scores=scores)
        return result.scores["inertia"]

    def head(name, output):
        return lambda X: np.asarray(fitted(name).as_layer(output=output)(X))

    def first(f):
        return lambda result: f(result)

    return {
        # name: (call, streams, summary or None)
        "KMeans.fit": (kmeans_fit, True, _fit_summary),
        "KMeans.predict": (lambda X: fitted("kmeans").predict(X), True, None),
        "KMeans.transform": (lambda X: fitted("kmeans").transform(X), True, None),
        "KMeans.score": (lambda X: fitted("kmeans").score(X), True, None),
        "MiniBatchKMeans.fit": (mbk_fit, True, _partition_summary),
        "MiniBatchKMeans.partial_fit": (mbk_partial, False, _fit_summary),
        "GaussianMixture.fit": (gmm_fit, True, _fit_summary),
        "GaussianMixture.score_samples": (lambda X: fitted("gmm").score_samples(X), True, None),
        "GaussianMixture.score": (lambda X: fitted("gmm").score(X), True, None),
        "SelfOrganizingMap.fit(online)": (som_online, False, first(lambda m: m.predict(BASE))),
        "SelfOrganizingMap.fit(batch)": (som_batch, True, first(lambda m: m.predict(BASE))),
        "SelfOrganizingMap.quantization_error": (
            lambda X: fitted("som").quantization_error(X),
            False,
            None,
        ),
        "silhouette_score": (lambda X: metrics.silhouette_score(X, LABELS), False, None),
        "davies_bouldin_score": (lambda X: metrics.davies_bouldin_score(X, LABELS), False, None),
        "calinski_harabasz_score": (
            lambda X: metrics.calinski_harabasz_score(X, LABELS),
            False,
            None,
        ),
        "kmeans_plusplus": (
            lambda X: tc.kmeans_plusplus(X, 2, random_state=0)[0].shape,
            False,
            None,
        ),
        # k=3 splits one of two groups of 10 rows: several optima, which one depends on
        # the batches of a dataset; k=2 has one answer.
        "sweep": (sweep, True, lambda inertia: inertia[0]),
        "KMeansHead": (head("kmeans", "distances"), False, None),
        "GaussianMixtureHead": (head("gmm", "log_prob"), False, None),
        "SOMHead": (head("som", "distances"), False, None),
    }


_SKLEARN = {
    "silhouette_score": "silhouette_score",
    "davies_bouldin_score": "davies_bouldin_score",
    "calinski_harabasz_score": "calinski_harabasz_score",
}


def _close(got, want, what):
    if isinstance(want, dict):
        for key in want:
            _close(got[key], want[key], f"{what}.{key}")
        return
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, reference {want.shape}"
    if got.dtype.kind in "iub":
        assert np.array_equal(got, want), f"{what}: {got} differs from the reference {want}"
    else:
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-9, err_msg=what)


def _check(entry, call, summary, kind):
    def check(result):
        ref_x = reference(kind)
        if entry in _SKLEARN:
            want = _sklearn(_SKLEARN[entry])(ref_x, LABELS)
        else:
            want = call(ref_x)
        if summary is not None:
            result, want = summary(result), summary(want)
        _close(result, want, f"{entry} on {kind}")

    return check


def _empty_rows(result):
    assert np.shape(result)[0] == 0, f"{np.shape(result)} for a batch of no rows"


def table() -> list[Case]:
    """Every (entry point, input kind) case; the fast ones are every kind of
    ``FAST_KINDS`` through ``KMeans.fit`` and, spread over the other entry
    points, one in four of them."""
    cases = []
    kinds = {**KINDS, **DATASET_KINDS}
    for e, (entry, (call, streams, summary)) in enumerate(_entries().items()):
        for i, (kind, (make, valid)) in enumerate(kinds.items()):
            layer = entry.endswith("Head")
            if layer and kind in _LAYER_SKIP:
                continue
            if kind in DATASET_KINDS and not streams:
                valid = False
            valid = True if layer and kind in _LAYER_VALID else valid
            names = None if valid else ("inputs",) if layer else ("X", "dataset", "sample_weight")
            cases.append(
                Case(
                    id=f"{entry}-{kind}",
                    call=functools.partial(lambda c, m: c(m()), call, make),
                    names=names,
                    check=_empty_rows
                    if kind in _LAYER_VALID
                    else _check(entry, call, summary, kind)
                    if valid
                    else None,
                    either=valid is None,
                    fast=kind in FAST_KINDS and (e == 0 or (e + i) % 4 == 0),
                )
            )
    return cases
