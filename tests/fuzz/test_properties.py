"""Hypothesis properties of the estimators and metrics (issue 17).

Small data drawn by hypothesis: ``labels_`` equals ``predict`` on the training
data, ``inertia_`` is the weighted sum of squared distances to the assigned
centers, probabilities sum to one, and the metrics equal scikit-learn's to
1e-5 relative. ``max_examples`` is kept small: each example fits a model.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tfcluster as tc

# tc.ConvergenceWarning as the first name used raises ImportError on main today
# (the lazy-import hook imports tfcluster.layers while tfcluster._base is half
# initialised); any estimator first avoids it. Reported in issue 17's note.
_ = tc.KMeans

SETTINGS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def data(draw, min_rows=6, max_rows=30):
    """``X [n, d]`` on a grid of step 1/4 in [-100, 100], a few rows repeated (ties,
    coinciding centers). On a grid, values differ exactly or by far more than their
    rounding: differences of 1e-71 next to 1 (the float numerics issue's domain)
    would make any two correct implementations disagree."""
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, 3))
    x = draw(arrays(np.int64, (n, d), elements=st.integers(-400, 400))) / 4.0
    repeats = draw(st.integers(0, n // 2))
    x[:repeats] = x[-1]  # duplicated rows: labels must still equal predict
    return x


@st.composite
def data_and_labels(draw):
    """``(X [n, d], labels [n])`` with 2 to n - 1 distinct labels (as the metrics need)."""
    x = draw(data(min_rows=5))
    n = x.shape[0]
    k = draw(st.integers(2, min(5, n - 1)))
    labels = draw(arrays(np.int64, n, elements=st.integers(0, k - 1)))
    labels[:2] = [0, 1]  # two labels at least
    if len(np.unique(labels)) >= n:
        labels[-1] = labels[0]
    return x, labels


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tc.ConvergenceWarning)  # duplicated rows
        return fit()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@SETTINGS
@given(x=data(), k=st.integers(2, 4), weighted=st.booleans())
def test_kmeans_labels_equal_predict_and_inertia_is_the_weighted_distance_sum(
    dtype, x, k, weighted
):
    w = np.arange(1.0, x.shape[0] + 1) if weighted else None
    km = _quiet(lambda: tc.KMeans(k, dtype=dtype, random_state=0).fit(x, sample_weight=w))
    np.testing.assert_array_equal(km.labels_, km.predict(x))
    xd = x.astype(dtype).astype(np.float64)  # the rows as the model sees them
    centers = km.cluster_centers_.astype(np.float64)
    d2 = np.sum((xd - centers[km.labels_]) ** 2, axis=1)
    want = np.sum(d2 * (1.0 if w is None else w))
    # rows at their center: only the rounding of the rows, eps * |x|, remains
    eps = np.finfo(dtype).eps
    atol = np.sum(1.0 if w is None else w) * x.shape[1] * (4 * eps * np.max(np.abs(x))) ** 2
    np.testing.assert_allclose(km.inertia_, want, rtol=1e-5, atol=atol)


@SETTINGS
@given(x=data(), k=st.integers(2, 4))
def test_minibatch_labels_equal_predict(x, k):
    mbk = _quiet(lambda: tc.MiniBatchKMeans(k, batch_size=8, random_state=0).fit(x))
    np.testing.assert_array_equal(mbk.labels_, mbk.predict(x))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@SETTINGS
@given(x=data(min_rows=8), k=st.integers(1, 3), ct=st.sampled_from(["full", "diag"]))
def test_gmm_probabilities_sum_to_one(dtype, x, k, ct):
    gm = tc.GaussianMixture(k, covariance_type=ct, dtype=dtype, reg_covar=1e-3, random_state=0)
    proba = _quiet(lambda: gm.fit(x)).predict_proba(x)
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(np.isfinite(gm.score_samples(x)))


@SETTINGS
@given(xl=data_and_labels())
def test_metrics_equal_scikit_learn(xl):
    import sklearn.metrics as skm

    x, labels = xl
    # Rows that sit on their label's centroid up to rounding make the ratios 0 / 0:
    # scikit-learn then returns rounding noise (or 1.0 when exactly 0); tfcluster
    # returns the documented 1.0 and 0.0 (tested in test_metrics).
    centroids = np.stack([x[labels == v].mean(0) for v in np.unique(labels)])
    within = np.sum((x - centroids[np.searchsorted(np.unique(labels), labels)]) ** 2)
    assume(within > 1e-9 * np.sum((x - x.mean(0)) ** 2) and within > 1e-12)
    for name in ("silhouette_score", "davies_bouldin_score", "calinski_harabasz_score"):
        got = getattr(tc, name)(x, labels, dtype="float64")
        want = getattr(skm, name)(x, labels)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-12, err_msg=name)


@SETTINGS
@given(
    a=arrays(np.int64, 25, elements=st.integers(0, 4)),
    b=arrays(np.int64, 25, elements=st.integers(0, 6)),
)
def test_external_metrics_equal_scikit_learn(a, b):
    import sklearn.metrics as skm

    for name in ("adjusted_rand_score", "normalized_mutual_info_score"):
        np.testing.assert_allclose(
            getattr(tc, name)(a, b), getattr(skm, name)(a, b), rtol=1e-5, atol=1e-12
        )
