"""``tfcluster.ops``, each op against a numpy reference (small, eager, float64)."""

import numpy as np
import pytest
import tensorflow as tf

from tfcluster.ops import batching, distances, kmeans, metrics, mixture, som

RNG = np.random.default_rng(0)
X = RNG.normal(size=(50, 3))
W = RNG.uniform(0.5, 2.0, size=50)
C = RNG.normal(size=(4, 3))


def _t(a):
    return tf.constant(a, tf.float64)


def _sq(x, c):
    return ((x[:, None, :] - c[None, :, :]) ** 2).sum(-1)  # [n, k]


def test_squared_distances_and_norms():
    np.testing.assert_allclose(distances.squared_distances(_t(X), _t(C)), _sq(X, C), atol=1e-12)
    np.testing.assert_allclose(distances.squared_norms(_t(X)), (X**2).sum(1), atol=1e-12)


def test_nearest():
    labels, min_sq = distances.nearest(_t(X), _t(C))
    np.testing.assert_array_equal(labels, _sq(X, C).argmin(1))
    np.testing.assert_allclose(min_sq, _sq(X, C).min(1), atol=1e-12)


def test_nearest_sums_are_the_per_cluster_sums():
    sums, counts = distances.nearest_sums(_t(X), _t(W), _t(C))[:2]
    labels = _sq(X, C).argmin(1)
    onehot = np.eye(4)[labels]  # [n, k]
    np.testing.assert_allclose(sums, onehot.T @ (W[:, None] * X), atol=1e-12)
    np.testing.assert_allclose(counts, onehot.T @ W, atol=1e-12)


def test_assign_gives_the_exact_weighted_loss():
    labels, loss = kmeans.assign(_t(X), _t(W), _t(C), distances.squared_norms(_t(C)))
    np.testing.assert_array_equal(labels, _sq(X, C).argmin(1))
    np.testing.assert_allclose(loss, W * _sq(X, C).min(1), atol=1e-12)


def test_lloyd_step_moves_centers_to_the_weighted_means():
    new, shift, _ = kmeans.lloyd_step((_t(X), _t(W)), _t(C), 4, 16, True, False, 1)
    labels = _sq(X, C).argmin(1)
    expected = np.stack(
        [np.average(X[labels == j], axis=0, weights=W[labels == j]) for j in range(4)]
    )
    np.testing.assert_allclose(new, expected, atol=1e-12)
    np.testing.assert_allclose(shift, ((expected - C) ** 2).sum(), atol=1e-12)


def test_minibatch_update_is_a_running_mean():
    counts = np.array([1.0, 2.0, 3.0, 4.0])
    new, new_counts, _ = kmeans.minibatch_update(_t(X), _t(W), _t(C), _t(counts))
    labels = _sq(X, C).argmin(1)
    onehot = np.eye(4)[labels]
    wsum = onehot.T @ W
    expected = (C * counts[:, None] + onehot.T @ (W[:, None] * X)) / (counts + wsum)[:, None]
    np.testing.assert_allclose(new, expected, atol=1e-12)
    np.testing.assert_allclose(new_counts, counts + wsum, atol=1e-12)


def test_reduce_batches_sums_over_chunks():
    total = batching.reduce_batches(
        lambda x, w: tf.reduce_sum(w[:, None] * x, 0), tf.zeros([3], tf.float64), (_t(X), _t(W)), 7
    )
    np.testing.assert_allclose(total, (W[:, None] * X).sum(0), atol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_log_gaussian_prob(covariance_type):
    k, d = 4, 3
    a = RNG.normal(size=(k, d, d))
    cov = {
        "full": a @ a.transpose(0, 2, 1) + np.eye(d),
        "diag": RNG.uniform(0.5, 2.0, size=(k, d)),
        "spherical": RNG.uniform(0.5, 2.0, size=k),
        "tied": a[0] @ a[0].T + np.eye(d),
    }[covariance_type]
    prec_chol, ok = mixture.precision_cholesky(_t(cov), covariance_type)
    assert bool(ok)
    full = {
        "full": cov,
        "diag": np.stack([np.diag(c) for c in cov]) if covariance_type == "diag" else None,
        "spherical": np.stack([c * np.eye(d) for c in cov])
        if covariance_type == "spherical"
        else None,
        "tied": np.stack([cov] * k) if covariance_type == "tied" else None,
    }[covariance_type]
    expected = np.stack(
        [
            -0.5 * np.einsum("ni,ij,nj->n", X - C[j], np.linalg.inv(full[j]), X - C[j])
            - 0.5 * np.linalg.slogdet(2 * np.pi * full[j])[1]
            for j in range(k)
        ],
        axis=1,
    )  # [n, k]
    got = mixture.log_gaussian_prob(_t(X), _t(C), prec_chol, covariance_type)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)
    # the fit's E step: float64 "full" maps the rows by one GEMM (the others ignore it)
    got = mixture.log_gaussian_prob(_t(X), _t(C), prec_chol, covariance_type, expanded=True)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_resp_statistics_equal_numpys(dtype):
    """The "full" M-step sums, ``[k, b, d]`` products in float64 and ``[b, k, d]`` in
    float32: ``nk``, ``sum r (x - c)`` and ``sum r (x - c)(x - c)^T`` per component."""
    resp = RNG.dirichlet(np.ones(4), size=len(X)) * W[:, None]  # [n, k]
    nk, sx, s2 = mixture.resp_statistics(
        tf.constant(X, dtype),
        tf.constant(W, dtype),
        tf.constant(resp, dtype),
        tf.constant(C, dtype),
        "full",
    )
    diff = X[:, None, :] - C[None]  # [n, k, d]
    tol = {"rtol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}
    np.testing.assert_allclose(nk, resp.sum(0), **tol)
    np.testing.assert_allclose(sx, np.einsum("nk,nki->ki", resp, diff), **tol)
    np.testing.assert_allclose(s2, np.einsum("nk,nki,nkj->kij", resp, diff, diff), **tol)


def test_log_resp_and_e_step_statistics():
    weights = np.array([0.1, 0.2, 0.3, 0.4])
    prec_chol = _t(np.ones([4, 3]))  # unit diagonal covariances
    norm, log_resp = mixture.log_resp(_t(X), _t(weights), _t(C), prec_chol, "diag")
    logp = -0.5 * _sq(X, C) - 1.5 * np.log(2 * np.pi) + np.log(weights)  # [n, k]
    expected_norm = np.log(np.exp(logp).sum(1))
    np.testing.assert_allclose(norm, expected_norm, atol=1e-10)
    np.testing.assert_allclose(log_resp, logp - expected_norm[:, None], atol=1e-10)
    stats = mixture.e_step_statistics(_t(X), _t(W), _t(weights), _t(C), prec_chol, "diag")
    resp = np.exp(logp - expected_norm[:, None])
    np.testing.assert_allclose(stats[0], (W * expected_norm).sum(), atol=1e-9)
    np.testing.assert_allclose(stats[1], (W[:, None] * resp).sum(0), atol=1e-9)


def test_som_winners():
    got = som.winners(_t(X), _t(C), "euclidean", 16)
    np.testing.assert_array_equal(got, _sq(X, C).argmin(1))


def test_silhouette_samples():
    labels = _sq(X, C).argmin(1)
    _, labels = np.unique(labels, return_inverse=True)
    n_labels = labels.max() + 1
    dist = np.sqrt(_sq(X, X))
    expected = []
    for i in range(len(X)):
        own = labels == labels[i]
        if own.sum() == 1:
            expected.append(0.0)
            continue
        a = dist[i, own].sum() / (own.sum() - 1)
        b = min(dist[i, labels == j].mean() for j in range(n_labels) if j != labels[i])
        expected.append((b - a) / max(a, b))
    got = metrics.silhouette_samples(
        _t(X), tf.constant(labels, tf.int32), int(n_labels), block_size=16
    )
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_label_sums():
    labels = RNG.integers(0, 3, size=50)
    sums, counts = metrics.label_sums((_t(X), tf.constant(labels, tf.int32)), 3, 16)
    onehot = np.eye(3)[labels]
    np.testing.assert_allclose(sums, onehot.T @ X, atol=1e-12)
    np.testing.assert_allclose(counts, onehot.sum(0), atol=1e-12)


@pytest.mark.parametrize("segments", [False, True])
def test_cluster_sums(segments):
    labels = RNG.integers(0, 5, size=50)
    onehot = np.eye(5)[labels]
    l32 = tf.constant(labels, tf.int32)
    sums, weights = distances.cluster_sums(_t(X), l32, 5, _t(W), segments=segments)
    np.testing.assert_allclose(sums, onehot.T @ (W[:, None] * X), atol=1e-12)
    np.testing.assert_allclose(weights, onehot.T @ W, atol=1e-12)
    sums, counts = distances.cluster_sums(_t(X), l32, 5, segments=segments)
    np.testing.assert_allclose(sums, onehot.T @ X, atol=1e-12)
    np.testing.assert_allclose(counts, onehot.sum(0), atol=1e-12)
