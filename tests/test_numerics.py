"""float32 that never lies: data far from the origin or at extreme scales.

The data are shifted (and scaled by a power of two) in their own precision
before the cast to float32, and every fitted attribute and reported number is
given back in the user's units. Each test compares float32 with float64 from
the same initialisation, and the reported objective with the objective of the
returned model recomputed here in float64 with numpy.
"""

import keras
import numpy as np
import pytest
from scipy.special import logsumexp

from tfcluster import (
    BayesianGaussianMixture,
    ConvergenceWarning,
    GaussianMixture,
    KMeans,
    MiniBatchKMeans,
    SelfOrganizingMap,
)
from tfcluster.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    silhouette_score,
)

SHIFTS = [("shift", 1e4), ("shift", 1e6), ("shift", 1e8)]
SCALES = [("scale", 1e-20), ("scale", 1e-12), ("scale", 1e12)]
TRANSFORMS = SHIFTS + SCALES
IDS = [f"{kind}{value:g}" for kind, value in TRANSFORMS]


def _transformed(X, kind, value):
    X = np.asarray(X, np.float64)
    return X + value if kind == "shift" else X * value


def _data(request, name, kind, value):
    X, _ = request.getfixturevalue(name)
    return _transformed(X, kind, value)


def _same_labels(a, b):
    assert adjusted_rand_score(a, b) == 1.0


def _inertia(X, centers, weights=None):
    """sum_i w_i min_j ||x_i - c_j||^2, in float64."""
    d2 = ((X[:, None, :] - np.asarray(centers, np.float64)[None]) ** 2).sum(-1)
    w = np.ones(len(X)) if weights is None else weights
    return float(np.sum(w * d2.min(axis=1)))


def _log_likelihood(X, gm):
    """Per-row log-likelihood of the fitted mixture, in float64 from its attributes."""
    means = np.asarray(gm.means_, np.float64)
    cov = np.asarray(gm.covariances_, np.float64)
    k, d = means.shape
    if gm.covariance_type == "tied":
        cov = np.broadcast_to(cov, (k, d, d))
    elif gm.covariance_type == "diag":
        cov = np.stack([np.diag(c) for c in cov])
    elif gm.covariance_type == "spherical":
        cov = np.stack([c * np.eye(d) for c in cov])
    out = np.empty((len(X), k))
    for j in range(k):
        chol = np.linalg.cholesky(cov[j])
        z = np.linalg.solve(chol, (X - means[j]).T)  # [d, n]
        log_det = 2.0 * np.sum(np.log(np.diag(chol)))
        out[:, j] = -0.5 * (d * np.log(2 * np.pi) + log_det + np.sum(z**2, axis=0))
    return logsumexp(out + np.log(np.asarray(gm.weights_, np.float64)), axis=1)


def _relative(got, expected):
    return abs(got - expected) / max(abs(expected), 1e-300)


# K-means -----------------------------------------------------------------------------

KMEANS_CASES = [("iris", 3, [0, 50, 100]), ("digits", 10, list(range(10)))]


@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
@pytest.mark.parametrize(("name", "k", "rows"), KMEANS_CASES, ids=["iris", "digits"])
def test_kmeans_float32_equals_float64_far_and_at_extreme_scales(
    request, name, k, rows, kind, value
):
    X = _data(request, name, kind, value)
    fits = {
        dtype: KMeans(k, init=X[rows], max_iter=100, dtype=dtype).fit(X)
        for dtype in ("float32", "float64")
    }
    _same_labels(fits["float32"].labels_, fits["float64"].labels_)
    km = fits["float32"]
    truth = _inertia(X, km.cluster_centers_)
    assert truth > 0
    assert _relative(km.inertia_, truth) < 1e-3
    assert _relative(-km.score(X), truth) < 1e-3
    np.testing.assert_array_equal(km.predict(X), km.labels_)
    # a center is at ~0 from itself; the other distances are the float64 ones
    d = km.transform(km.cluster_centers_)
    spread = np.sqrt(truth / len(X))
    assert np.all(np.abs(np.diag(d)) <= 1e-5 * spread)
    expected = np.sqrt(
        ((X[:5, None, :] - km.cluster_centers_[None].astype(np.float64)) ** 2).sum(-1)
    )
    np.testing.assert_allclose(km.transform(X[:5]), expected, rtol=1e-4, atol=1e-5 * spread)


@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
@pytest.mark.parametrize(("name", "k", "rows"), KMEANS_CASES, ids=["iris", "digits"])
def test_minibatch_kmeans_far_and_at_extreme_scales(request, name, k, rows, kind, value):
    X = _data(request, name, kind, value)
    # whole fits to the early stop on the smoothed inertia: the same mini-batches
    # (drawn in float64) and that inertia in float64 stop both dtypes at the same step
    kw = dict(batch_size=64, max_iter=20, random_state=0)
    fits = {
        dtype: MiniBatchKMeans(k, init=X[rows], dtype=dtype, **kw).fit(X)
        for dtype in ("float32", "float64")
    }
    assert fits["float32"].converged_  # stopped early: the stopping rule is what is compared
    assert fits["float32"].n_steps_ == fits["float64"].n_steps_
    _same_labels(fits["float32"].labels_, fits["float64"].labels_)
    km = fits["float32"]
    assert _relative(km.inertia_, _inertia(X, km.cluster_centers_)) < 1e-3


@pytest.mark.parametrize(("kind", "value"), SHIFTS, ids=IDS[:3])
def test_minibatch_partial_fit_far_from_the_origin_equals_float64(iris, kind, value):
    X = _transformed(iris[0], kind, value)
    order = np.random.default_rng(0).permutation(len(X))
    batches = [order[start : start + 50] for start in range(0, len(X), 50)] * 4
    fits = {}
    for dtype in ("float32", "float64"):
        mbk = MiniBatchKMeans(3, init=X[[0, 50, 100]], random_state=0, dtype=dtype)
        for rows in batches:
            mbk.partial_fit(X[rows])
        fits[dtype] = mbk
    km, reference = fits["float32"], fits["float64"]
    assert km.cluster_centers_.dtype == np.float64  # float32 would lose the digits
    spread = np.sqrt(_inertia(X, reference.cluster_centers_) / len(X))
    np.testing.assert_allclose(
        km.cluster_centers_, reference.cluster_centers_, rtol=0, atol=1e-5 * spread
    )
    _same_labels(km.predict(X), reference.predict(X))
    last = X[batches[-1]]
    assert _relative(km.inertia_, _inertia(last, km.cluster_centers_)) < 1e-3


@pytest.mark.parametrize(("kind", "value"), SHIFTS, ids=IDS[:3])
def test_minibatch_partial_fit_after_fit_keeps_the_fitted_centers(iris, kind, value):
    X = _transformed(iris[0], kind, value)
    kw = dict(max_iter=2, batch_size=32, reassignment_ratio=0.0, random_state=0)
    mbk = MiniBatchKMeans(3, init=X[[0, 50, 100]], **kw).fit(X)
    centers, counts = np.asarray(mbk.cluster_centers_, np.float64), mbk._counts.astype(np.float64)
    batch = X[::3]
    # one mini-batch step from the fitted state, in float64: each center moves to the
    # running mean of its rows
    labels = ((batch[:, None] - centers[None]) ** 2).sum(-1).argmin(1)
    sums = np.stack([batch[labels == j].sum(0) for j in range(3)])
    n = np.bincount(labels, minlength=3)
    expected = (centers * counts[:, None] + sums) / (counts + n)[:, None]
    mbk.partial_fit(batch)
    spread = np.sqrt(_inertia(X, centers) / len(X))
    np.testing.assert_allclose(mbk.cluster_centers_, expected, rtol=0, atol=1e-5 * spread)


def test_kmeans_from_a_stream_is_shifted_by_its_first_batch(iris):
    import tensorflow as tf

    X = iris[0] + 1e8
    init = X[[0, 50, 100]]
    stream = tf.data.Dataset.from_tensor_slices(X).batch(32)
    streamed = KMeans(3, init=init).fit(stream)
    in_memory = KMeans(3, init=init, dtype="float64").fit(X)
    _same_labels(streamed.labels_, in_memory.labels_)
    assert _relative(streamed.inertia_, _inertia(X, streamed.cluster_centers_)) < 1e-3


# Gaussian mixture --------------------------------------------------------------------

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _gmm_pair(X, k, covariance_type, unit=1.0, whole=True):
    """float32 and float64 fits from the same rows: ``whole`` fits to the default
    tol, tested on the float64 lower bound, which stop both at the same iteration;
    otherwise 40 EM steps (digits' full covariances stop float32 one or two
    iterations after float64). ``reg_covar`` is in squared units of the data:
    scaled with them (``unit``), the fit is that of the original data."""
    kw = dict(covariance_type=covariance_type, init_params="random_from_data", random_state=0)
    if whole:
        fits = {
            dtype: GaussianMixture(k, reg_covar=1e-6 * unit**2, dtype=dtype, **kw).fit(X)
            for dtype in ("float32", "float64")
        }
        assert fits["float32"].converged_
        assert fits["float32"].n_iter_ == fits["float64"].n_iter_
        return fits
    with pytest.warns(ConvergenceWarning):
        return {
            dtype: GaussianMixture(
                k, max_iter=40, tol=0.0, reg_covar=1e-6 * unit**2, dtype=dtype, **kw
            ).fit(X)
            for dtype in ("float32", "float64")
        }


def _n_parameters(gm):
    k, d = gm.means_.shape
    cov = {"full": k * d * (d + 1) / 2, "tied": d * (d + 1) / 2, "diag": k * d, "spherical": k}
    return cov[gm.covariance_type] + k * d + k - 1


# float32 log-densities of these data carry terms of magnitude ~1e2-1e3, so float32
# cannot order two components whose log posteriors are closer than ~1e-4
FLOAT32_TIE = 1e-4


def _same_gmm_labels(X, fits):
    """float32 labels equal float64's (up to renaming) on every row, except on at
    most one row in a thousand that the float64 fit itself puts within
    ``FLOAT32_TIE`` of a tie (its two largest log posteriors): those no float32
    computation can decide. (The digits' tied fit has one: its two best posteriors
    0.21032226 and 0.21032249 in float64; scikit-learn's own float32 and float64
    fits of the digits differ by 0-2 rows too.)"""
    a, b = fits["float32"].predict(X), fits["float64"].predict(X)
    k = max(a.max(), b.max()) + 1
    table = np.zeros((k, k), np.int64)
    np.add.at(table, (a, b), 1)
    renamed = table.argmax(1)[a]  # each float32 label as the float64 label it mostly is
    differ = np.flatnonzero(renamed != b)
    log_post = np.sort(np.log(fits["float64"].predict_proba(X)[differ]), axis=1)
    gaps = log_post[:, -1] - log_post[:, -2]
    assert differ.size <= len(X) // 1000 and np.all(gaps < FLOAT32_TIE), (differ, gaps)


def _check_gmm(X, fits, tol=1e-3):
    _same_gmm_labels(X, fits)
    gm = fits["float32"]
    truth = _log_likelihood(X, gm)
    assert _relative(gm.score(X), truth.mean()) < tol
    np.testing.assert_allclose(
        gm.score_samples(X), truth, rtol=tol, atol=tol * np.abs(truth).mean()
    )
    p = _n_parameters(gm)
    assert _relative(gm.bic(X), -2 * truth.sum() + p * np.log(len(X))) < tol
    assert _relative(gm.aic(X), -2 * truth.sum() + 2 * p) < tol


def _unit(kind, value):
    return value if kind == "scale" else 1.0


EXTREMES = [("shift", 1e8), ("scale", 1e-20), ("scale", 1e12)]
EXTREME_IDS = ["shift1e+08", "scale1e-20", "scale1e+12"]
MILDER = [("shift", 1e4), ("shift", 1e6), ("scale", 1e-12)]
MILDER_IDS = ["shift10000", "shift1e+06", "scale1e-12"]


IRIS_GMM = [pytest.param(*t, id=i) for t, i in zip(EXTREMES, EXTREME_IDS, strict=True)] + [
    pytest.param(*t, id=i, marks=pytest.mark.slow) for t, i in zip(MILDER, MILDER_IDS, strict=True)
]


@pytest.mark.parametrize(("kind", "value"), IRIS_GMM)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_far_and_at_extreme_scales_iris(iris, covariance_type, kind, value):
    X = _transformed(iris[0], kind, value)
    _check_gmm(X, _gmm_pair(X, 3, covariance_type, _unit(kind, value)))


@pytest.mark.parametrize(("kind", "value"), EXTREMES[:2], ids=EXTREME_IDS[:2])
@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_gaussian_mixture_far_and_at_extreme_scales_digits(digits, covariance_type, kind, value):
    X = _transformed(digits[0], kind, value)
    _check_gmm(X, _gmm_pair(X, 5, covariance_type, _unit(kind, value)))


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_far_and_at_extreme_scales_digits_all(
    digits, covariance_type, kind, value
):
    X = _transformed(digits[0], kind, value)
    _check_gmm(X, _gmm_pair(X, 5, covariance_type, _unit(kind, value), whole=False))


def test_gaussian_mixture_means_keep_the_digits_of_a_narrow_column(digits):
    """A constant column weighs with precision 1 / reg_covar: 1e4 from the origin,
    float32 means_ (off by 5e-4 there) moved 5% of the digits to another component
    (ARI 0.95 against float64); float64 means_ leave only the rows that float32's
    own rounding of the tied covariance decides (3 of 1,797 at any offset)."""
    kw = dict(covariance_type="tied", init_params="random_from_data", random_state=0)
    kw.update(max_iter=40, tol=0.0, reg_covar=1e-6)
    labels = {}
    for shift in (0.0, 1e4):
        X = digits[0] + shift
        with pytest.warns(ConvergenceWarning):
            fits = {d: GaussianMixture(5, dtype=d, **kw).fit(X) for d in ("float32", "float64")}
        assert fits["float32"].means_.dtype == (np.float32 if shift == 0 else np.float64)
        labels[shift] = fits["float32"].predict(X)
        assert adjusted_rand_score(labels[shift], fits["float64"].predict(X)) > 0.995
    np.testing.assert_array_equal(labels[1e4], labels[0.0])
    # the Bayesian mixture's means_ follow the same rule
    for shift in (0.0, 1e4):
        with pytest.warns(ConvergenceWarning):
            bgm = BayesianGaussianMixture(n_components=5, dtype="float32", **kw)
            bgm.fit(digits[0] + shift)
        assert bgm.means_.dtype == (np.float32 if shift == 0 else np.float64)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset", [0.0, 1e6])
def test_gaussian_mixture_fits_a_constant_column_in_float32(iris, covariance_type, offset):
    X = np.column_stack([iris[0], np.full(len(iris[0]), 7.0)]) + offset
    fits = {
        dtype: GaussianMixture(
            3, covariance_type=covariance_type, random_state=0, dtype=dtype
        ).fit(X)
        for dtype in ("float32", "float64")
    }
    assert abs(fits["float32"].score(X) - fits["float64"].score(X)) < 1e-2
    truth = _log_likelihood(X, fits["float32"])
    assert abs(fits["float32"].score(X) - truth.mean()) < 1e-3 * abs(truth.mean())


def _full_covariances(gm):
    """``[k, d, d]`` covariances of a fitted mixture, in float64."""
    cov = np.asarray(gm.covariances_, np.float64)
    k, d = gm.means_.shape
    return {
        "full": lambda: cov,
        "tied": lambda: np.broadcast_to(cov, (k, d, d)),
        "diag": lambda: np.stack([np.diag(c) for c in cov]),
        "spherical": lambda: np.stack([c * np.eye(d) for c in cov]),
    }[gm.covariance_type]()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gaussian_mixture_sample_and_distribution_far_from_the_origin(iris, covariance_type):
    X = iris[0] + 1e8
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    x, y = gm.sample(30000)
    assert x.dtype == np.float64  # float32 rows 1e8 from the origin are 8 apart
    means, covariances = np.asarray(gm.means_, np.float64), _full_covariances(gm)
    for j in range(3):
        rows = x[y == j]
        n, cov = len(rows), covariances[j]
        sd = np.sqrt(np.diag(cov))
        # sample moments within 6 standard errors of the model's
        assert np.all(np.abs(rows.mean(0) - means[j]) < 6 * sd / np.sqrt(n)), j
        error = np.sqrt((np.outer(sd**2, sd**2) + cov**2) / n)
        assert np.all(np.abs(np.cov(rows.T) - cov) < 6 * error), j
    # the distribution holds the model's float64 digits: its log_prob is the
    # model's log-likelihood computed in float64 from the attributes
    log_prob = gm.distribution.log_prob(X).numpy()
    assert log_prob.dtype == np.float64
    k, d = means.shape
    u = np.asarray(gm.precisions_cholesky_, np.float64)  # the distribution's parameters
    u = {
        "full": lambda: u,
        "tied": lambda: np.broadcast_to(u, (k, d, d)),
        "diag": lambda: np.stack([np.diag(c) for c in u]),
        "spherical": lambda: np.stack([c * np.eye(d) for c in u]),
    }[covariance_type]()
    per_component = np.stack(
        [
            np.sum(np.log(np.diag(u[j])))
            - 0.5 * (d * np.log(2 * np.pi) + np.sum(((X - means[j]) @ u[j]) ** 2, axis=1))
            for j in range(k)
        ],
        axis=1,
    )  # [n, k]
    weights = np.asarray(gm.weights_, np.float64)  # normalised, as tfp's Categorical does
    truth = logsumexp(per_component + np.log(weights / weights.sum()), axis=1)
    np.testing.assert_allclose(log_prob, truth, rtol=1e-9)
    # score_samples computes in float32 (in the model's frame): equal within float32
    # rounding of log-densities of magnitude ~1 (1e-5 relative on values near 0, as
    # at the origin)
    np.testing.assert_allclose(gm.score_samples(X), log_prob, rtol=0, atol=1e-5)


# Self-organizing map -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
def test_som_far_and_at_extreme_scales(iris, kind, value):
    X = _transformed(iris[0], kind, value)
    fits = {
        dtype: SelfOrganizingMap(3, 3, mode="batch", random_state=0, dtype=dtype).fit(X, epochs=5)
        for dtype in ("float32", "float64")
    }
    som = fits["float32"]
    codebook = np.asarray(som.weights_, np.float64).reshape(-1, X.shape[1])
    d = np.sqrt(((X[:, None] - codebook[None]) ** 2).sum(-1))  # [n, nodes] in float64
    truth = np.mean(d.min(axis=1))
    # The batch SOM's winners of near-tied rows follow float32 rounding (one or two
    # iris rows differ between float32 and float64 even untransformed): every row
    # not tied within 1e-4 of its distance has the float64 winner of the model.
    gap = np.sort(d, axis=1)[:, 1] - d.min(axis=1)
    clear = gap > 1e-4 * d.min(axis=1).mean()
    np.testing.assert_array_equal(som.labels_[clear], d.argmin(axis=1)[clear])
    assert adjusted_rand_score(som.labels_, fits["float64"].labels_) > 0.98
    reference = np.asarray(fits["float64"].weights_)
    np.testing.assert_allclose(som.weights_, reference, atol=5e-2 * truth, rtol=0)
    assert _relative(som.quantization_error(X), truth) < 1e-3
    np.testing.assert_array_equal(som.predict(X), som.labels_)
    distances = som.transform(X[:5])
    expected = np.sqrt(((X[:5, None] - codebook[None]) ** 2).sum(-1))
    np.testing.assert_allclose(distances, expected, rtol=1e-3, atol=1e-4 * truth)


# Metrics -----------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "value"), TRANSFORMS, ids=IDS)
def test_metrics_are_those_of_the_untransformed_data(iris, kind, value):
    X, y = iris
    far = _transformed(X, kind, value)
    for metric in (silhouette_score, davies_bouldin_score, calinski_harabasz_score):
        expected = metric(X, y, dtype="float64")
        assert _relative(metric(far, y), expected) < 1e-3, metric.__name__


# Keras heads -------------------------------------------------------------------------

BATCH_SIZES = [1, 7, 32, 2000]


def _model(head, d):
    return keras.Sequential([keras.Input((d,)), head])


@pytest.fixture(scope="module")
def pixels(digits):
    return digits[0][:400].astype(np.float32)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_gmm_head_equals_estimator_at_every_batch_size(pixels, covariance_type):
    gm = GaussianMixture(4, covariance_type=covariance_type, random_state=0).fit(pixels)
    pixels = pixels[:120]  # predicted one row at a time too
    model = _model(gm.as_layer("proba"), pixels.shape[1])
    log_prob = _model(gm.as_layer("log_prob"), pixels.shape[1])
    expected, expected_log = gm.predict_proba(pixels), gm.score_samples(pixels)
    for batch in BATCH_SIZES:
        got = model.predict(pixels, batch_size=batch, verbose=0)
        np.testing.assert_allclose(got, expected, atol=1e-5, err_msg=f"batch {batch}")
        got = log_prob.predict(pixels, batch_size=batch, verbose=0)
        # float32 log-densities of ~25 to ~170 in magnitude: 1e-5 of that
        atol = 1e-5 * np.abs(expected_log).mean()
        np.testing.assert_allclose(got, expected_log, atol=atol, err_msg=f"batch {batch}")


def test_kmeans_and_som_heads_equal_estimators_at_every_batch_size(pixels, tmp_path):
    km = KMeans(6, random_state=0).fit(pixels)
    som = SelfOrganizingMap(3, 4, random_state=0).fit(pixels, num_iteration=300)
    pixels = pixels[:120]  # predicted one row at a time too
    cases = [
        (km.as_layer("distances"), km.transform(pixels)),
        (km.as_layer("labels"), km.predict(pixels)),
        (som.as_layer("distances"), som.transform(pixels)),
        (som.as_layer("bmu"), som.predict(pixels)),
    ]
    for head, expected in cases:
        model = _model(head, pixels.shape[1])
        for batch in BATCH_SIZES:
            got = model.predict(pixels, batch_size=batch, verbose=0)
            np.testing.assert_allclose(
                got, expected, rtol=1e-5, atol=1e-5, err_msg=f"{head} batch {batch}"
            )
    path = tmp_path / "m.keras"
    model = _model(km.as_layer("distances"), pixels.shape[1])
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(pixels, batch_size=7, verbose=0), cases[0][1], atol=1e-5
    )


@pytest.mark.parametrize(("kind", "value"), SCALES, ids=IDS[3:])
def test_heads_follow_the_estimators_scale(iris, kind, value):
    X = _transformed(iris[0], kind, value)
    gm = GaussianMixture(3, covariance_type="full", random_state=0).fit(X)
    km = KMeans(3, random_state=0).fit(X)
    x32 = X.astype(np.float32)
    got = _model(gm.as_layer("proba"), 4).predict(x32, batch_size=32, verbose=0)
    np.testing.assert_allclose(got, gm.predict_proba(X), atol=1e-5)
    got = _model(gm.as_layer("log_prob"), 4).predict(x32, batch_size=32, verbose=0)
    np.testing.assert_allclose(got, gm.score_samples(X), rtol=1e-5)
    got = _model(km.as_layer("distances"), 4).predict(x32, batch_size=32, verbose=0)
    np.testing.assert_allclose(got, km.transform(X), rtol=1e-5)


def _batches(X, batch):
    """``X`` as a dataset of batches: ``model.predict`` casts float64 arrays to
    floatx (Keras's data adapter), a dataset keeps them float64."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(X).batch(batch)


def _far_heads(X, covariance_type):
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    km = KMeans(3, random_state=0).fit(X)
    som = SelfOrganizingMap(2, 3, random_state=0).fit(X, num_iteration=200)
    return [
        (gm.as_layer("proba"), gm.predict_proba(X)),
        (gm.as_layer("log_prob"), gm.score_samples(X)),  # magnitudes ~1: 1e-5 absolute
        (gm.as_layer("labels"), gm.predict(X)),
        (km.as_layer("distances"), km.transform(X)),
        (km.as_layer("labels"), km.predict(X)),
        (som.as_layer("distances"), som.transform(X)),
        (som.as_layer("bmu"), som.predict(X)),
    ]


@pytest.mark.parametrize(
    "covariance_type",  # the other three types: 5 s each
    ["full"] + [pytest.param(t, marks=pytest.mark.slow) for t in COVARIANCE_TYPES if t != "full"],
)
def test_heads_equal_estimators_far_from_the_origin(iris, covariance_type, tmp_path):
    import tensorflow as tf

    X = iris[0] + 1e8
    for i, (head, expected) in enumerate(_far_heads(X, covariance_type)):
        if covariance_type != "full" and i > 2:
            break  # the k-means and SOM heads once
        model = keras.Sequential([keras.Input((4,), dtype="float64"), head])
        name = f"{head.output_kind} of {type(head).__name__}"
        for batch in BATCH_SIZES:
            got = model.predict(_batches(X, batch), verbose=0)
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=f"{name} {batch}")
        np.testing.assert_allclose(model(X), expected, rtol=0, atol=1e-5, err_msg=name)
        model.save(tmp_path / f"{i}.keras")
        loaded = keras.models.load_model(tmp_path / f"{i}.keras")
        got = loaded.predict(_batches(X, 7), verbose=0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5, err_msg=f"{name} loaded")
        model.export(tmp_path / f"{i}", verbose=False)
        reloaded = tf.saved_model.load(str(tmp_path / f"{i}"))  # kept: it owns the variables
        served = reloaded.serve(tf.constant(X))
        np.testing.assert_allclose(served, expected, rtol=0, atol=1e-5, err_msg=f"{name} export")


def test_heads_saved_with_float32_weights_still_load():
    """A .keras file saved before the heads' weights were float64 (KMeans and a
    diagonal mixture 1e4 from the origin) loads and predicts what it predicted."""
    import pathlib

    folder = pathlib.Path(__file__).parent / "data"
    saved = np.load(folder / "heads_float32_weights.npz")
    model = keras.models.load_model(folder / "heads_float32_weights.keras")
    assert all(w.dtype == "float64" for w in model.weights)
    distances, log_prob = model.predict(saved["x"], verbose=0)
    np.testing.assert_allclose(distances, saved["distances"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(log_prob, saved["log_prob"], rtol=1e-6, atol=1e-6)


# Output dtypes -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_tags_tell_the_output_dtype_of_transform(iris, dtype):
    km = KMeans(3, random_state=0, dtype=dtype).fit(iris[0])
    preserved = km.__sklearn_tags__().transformer_tags.preserves_dtype
    assert preserved == [dtype]
    for given in ("float32", "float64"):
        out = km.transform(iris[0].astype(given))
        assert (out.dtype == np.dtype(given)) == (given in preserved)


@pytest.mark.parametrize("offset", [0.0, 1e8])
def test_tags_tell_the_output_dtype_of_every_transform_far_too(iris, offset):
    X = iris[0] + offset
    fitted = [
        KMeans(3, random_state=0).fit(X),
        MiniBatchKMeans(3, random_state=0, batch_size=50).fit(X),
        MiniBatchKMeans(3, random_state=0).partial_fit(X),
        SelfOrganizingMap(2, 2, random_state=0).fit(X, num_iteration=50),
    ]
    for estimator in fitted:
        preserved = estimator.__sklearn_tags__().transformer_tags.preserves_dtype
        assert preserved == ["float32"], type(estimator).__name__
        for given in ("float32", "float64"):
            out = estimator.transform(X.astype(given))
            assert (out.dtype == np.dtype(given)) == (given in preserved), type(estimator)


def test_float32_attributes_far_from_the_origin_are_float64(iris):
    near = KMeans(3, random_state=0).fit(iris[0])
    far = KMeans(3, random_state=0).fit(iris[0] + 1e6)
    assert near.cluster_centers_.dtype == np.float32
    assert far.cluster_centers_.dtype == np.float64
    np.testing.assert_allclose(far.cluster_centers_ - 1e6, near.cluster_centers_, atol=1e-4)


# What float32 cannot hold ----------------------------------------------------------


def test_a_column_float32_cannot_represent_next_to_the_others_warns():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(0, 1e18, 200), rng.normal(0, 1e-3, 200)])
    with pytest.warns(UserWarning, match="dtype='float64'"):
        KMeans(2, random_state=0).fit(X)
    KMeans(2, random_state=0, dtype="float64").fit(X)  # no warning in float64


def test_ill_defined_covariance_in_float32_names_float64():
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]]), 10, axis=0)
    with pytest.raises(ValueError, match="reg_covar.*dtype='float64'"):
        GaussianMixture(4, reg_covar=0.0, random_state=0).fit(X)
    with pytest.raises(ValueError, match="reg_covar") as info:
        GaussianMixture(4, reg_covar=0.0, random_state=0, dtype="float64").fit(X)
    assert "float64" not in str(info.value)
