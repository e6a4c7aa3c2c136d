"""The fuzz cases beyond the input table: issue 17's items 4 to 8, one case each,
and the invalid parameters of every constructor and function."""

from __future__ import annotations

import functools

import numpy as np

from ._harness import Case
from ._inputs import BASE, LABELS


def _tc():
    import tfcluster

    return tfcluster


def _images(value=100.0, shape=(2, 32, 32, 3)):
    return np.full(shape, value, dtype=np.float64)


@functools.cache
def _embedder():
    return _tc().ImageEmbedder(weights=None, input_size=32, alpha=0.35, random_state=0)


def _assert_close(got, want, rtol=1e-5):
    np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-12)


def _sklearn_ch(X, labels):
    from sklearn.metrics import calinski_harabasz_score

    return calinski_harabasz_score(X, labels)


# ---------------------------------------------------------------- item 4: NaN


def _huge_weights(make):
    def call():
        return make().fit(BASE, sample_weight=np.full(20, 1e39))

    return call


def _kmeans_score_huge_weights():
    km = _tc().KMeans(2, random_state=0).fit(BASE)
    return km.score(BASE, sample_weight=np.full(20, 1e39))


def _som(**params):
    return lambda: _tc().SelfOrganizingMap(2, 2, random_state=0, **params).fit(BASE)


def _gmm_large_int64():
    X = (BASE * 1e15).astype(np.int64)
    return _tc().GaussianMixture(2, covariance_type="diag", random_state=0).fit(X).lower_bound_


def _gmm_far_points(method):
    def call():
        gm = _tc().GaussianMixture(2, random_state=0).fit(BASE)
        far = BASE + 1e4
        return getattr(gm, method)(far), gm.score_samples(far)

    return call


def _check_score(result):
    score, samples = result
    _assert_close(score, np.mean(samples.astype(np.float64)))


def _embed(images):
    return lambda: _embedder().embed(images)


def _embed_nan_dataset():
    import tensorflow as tf

    images = _images()
    images[0, 0, 0, 0] = np.nan
    return _embedder().embed(tf.data.Dataset.from_tensor_slices(images))


def _gmm(**params):
    return lambda: _tc().GaussianMixture(2, random_state=0, **params).fit(BASE)


# ---------------------------------------------------------------- item 5: wrong


def _labels_equal_predict():
    X = np.array([[-1.0], [0.0], [0.0], [0.0], [0.0]])
    km = _tc().KMeans(4, dtype="float64", random_state=0).fit(X)
    return km.labels_, km.predict(X)


def _equal_pair(result):
    a, b = result
    assert np.array_equal(a, b), f"labels_ {a} != predict(X) {b}"


def _partial_fit_new_k():
    mbk = _tc().MiniBatchKMeans(2, random_state=0).partial_fit(BASE)
    mbk.set_params(n_clusters=3)
    return mbk.partial_fit(BASE).cluster_centers_


def _three_centers(centers):
    assert centers.shape == (3, 3), f"cluster_centers_ has shape {centers.shape}, not (3, 3)"


def _partial_fit_new_dtype():
    mbk = _tc().MiniBatchKMeans(2, random_state=0).partial_fit(BASE)
    mbk.set_params(dtype="float64")
    return mbk.partial_fit(BASE).cluster_centers_


_TIGHT = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
_TIGHT_LABELS = np.repeat([0, 1], 5)


# ---------------------------------------------------------------- items 7, 8


def _head(kind, **params):
    from tfcluster import layers

    def call():
        return getattr(layers, kind)(**params)(BASE.astype(np.float32))

    return call


_GMM_HEAD = {"means": [[1.5] * 3, [8.5] * 3], "covariance_type": "diag"}
_GMM_HEAD_BAD = {  # name: (the bad argument, weights, precisions_cholesky, offset)
    "negative-weights": ("weights", [-0.5, 1.5], np.ones((2, 3)), None),
    "zero-precisions": ("precisions_cholesky", [0.5, 0.5], np.zeros((2, 3)), None),
    "offset-nan": ("offset", [0.5, 0.5], np.ones((2, 3)), [np.nan] * 3),
}


def _dec(**params):
    def call():
        model = _tc().DeepClustering(
            2, hidden=(4,), embedding_dim=2, pretrain_epochs=1, max_iter=2, n_init=1, **params
        )
        return model.fit(BASE).labels_

    return call


@functools.cache
def _gmm_2d():
    return _tc().GaussianMixture(2, random_state=0).fit(BASE[:, :2])


def _plot(fn, **params):
    def call():
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from tfcluster import plot

        try:
            if fn == "gmm_contours":
                return plot.gmm_contours(_gmm_2d(), BASE[:, :2], **params) and None
            return plot.image_grid([_images()[0]] * 4, [0, 0, 1, 1], **params) and None
        finally:
            plt.close("all")

    return call


def _sweep(estimator, k_values=(2, 3), **kwargs):
    """The k that ``suggest_k`` picks from a sweep (a k whose fit found fewer than
    two clusters has a NaN silhouette, which suggest_k ignores, as documented)."""
    tc = _tc()
    return lambda: tc.suggest_k(tc.sweep(estimator(), BASE, k_values, **kwargs))


def _activation_response():
    return _tc().SelfOrganizingMap(2, 2).activation_response(BASE)


def _image_clusterer_class():
    tc = _tc()
    return tc.ImageClusterer(_embedder(), clusterer=tc.KMeans).fit(_images(shape=(4, 32, 32, 3)))


def _metric(name, *args):
    return lambda: getattr(_tc(), name)(*args)


def cases() -> list[Case]:
    tc = _tc()
    huge_weight = ("sample_weight",)
    weighted = {
        "KMeans": lambda: tc.KMeans(2),
        "MiniBatchKMeans": lambda: tc.MiniBatchKMeans(2, random_state=0),
        "SOM-batch": lambda: tc.SelfOrganizingMap(2, 2, mode="batch", epochs=2),
        "GaussianMixture": lambda: tc.GaussianMixture(2, random_state=0),
    }
    out = [
        Case(f"{name}-sample_weight-1e39", _huge_weights(make), huge_weight, either=True)
        for name, make in weighted.items()
    ]
    out += [
        # item 4
        Case(
            "KMeans.score-sample_weight-1e39",
            _kmeans_score_huge_weights,
            huge_weight,
            either=True,
            fast=True,
        ),
        Case("SOM-sigma-1e-20", _som(sigma=1e-20, num_iteration=100), ("sigma",), either=True),
        Case(
            "SOM-online-learning_rate-100",
            _som(learning_rate=100, num_iteration=100),
            ("learning_rate",),
            either=True,
        ),
        Case(
            "SOM-batch-learning_rate-1e30",
            _som(learning_rate=1e30, mode="batch", epochs=2),
            ("learning_rate",),
            either=True,
            fast=True,
        ),
        Case(
            "calinski_harabasz-5e18",
            _metric("calinski_harabasz_score", BASE / 9 * 5e18, LABELS),
            check=lambda v: _assert_close(v, _sklearn_ch(BASE, LABELS)),
            fast=True,
        ),
        Case("GaussianMixture-diag-large-int64", _gmm_large_int64, ("X",), either=True, fast=True),
        Case("GaussianMixture.score-far", _gmm_far_points("score"), check=_check_score, fast=True),
        Case("GaussianMixture.bic-far", _gmm_far_points("bic")),
        Case("ImageEmbedder-pixels-1e30", _embed(_images(1e30)), ("images", "pixel"), fast=True),
        Case("ImageEmbedder-pixels-1e300", _embed(_images(1e300)), ("images", "pixel")),
        Case("ImageEmbedder-dataset-nan", _embed_nan_dataset, ("images", "NaN"), fast=True),
        Case(
            "GaussianMixture-precisions_init-1e300",
            _gmm(covariance_type="spherical", precisions_init=np.full(2, 1e300)),
            ("precisions_init",),
            either=True,
        ),
        Case(
            "GaussianMixture-reg_covar-1e300",
            _gmm(reg_covar=1e300),
            ("reg_covar",),
            either=True,
            fast=True,
        ),
        Case(
            "GaussianMixture-means_init-1e300",
            _gmm(means_init=np.full((2, 3), 1e300)),
            ("means_init",),
        ),
        # item 5
        Case(
            "KMeans-labels_-equal-predict-coincident",
            _labels_equal_predict,
            check=_equal_pair,
            fast=True,
        ),
        Case(
            "MiniBatchKMeans-partial_fit-after-set_params-n_clusters",
            _partial_fit_new_k,
            ("n_clusters",),
            check=_three_centers,
            either=True,
            fast=True,
        ),
        Case(
            "calinski_harabasz-zero-spread",
            _metric("calinski_harabasz_score", _TIGHT, _TIGHT_LABELS),
            check=lambda v: _assert_close(v, _sklearn_ch(_TIGHT, _TIGHT_LABELS)),
            fast=True,
        ),
        # item 6
        Case(
            "MiniBatchKMeans-partial_fit-after-set_params-dtype",
            _partial_fit_new_dtype,
            ("dtype",),
            either=True,
            fast=True,
        ),
        Case(
            "ImageEmbedder-zero-size-images",
            _embed(np.zeros((2, 0, 0, 3))),
            ("images",),
            fast=True,
        ),
        Case("ImageEmbedder-no-images", _embed(np.zeros((0, 32, 32, 3))), ("images",)),
        # item 7
        Case(
            "KMeansHead-offset-nan",
            _head("KMeansHead", cluster_centers=[[1.5] * 3, [8.5] * 3], offset=[np.nan] * 3),
            ("offset",),
            fast=True,
        ),
        Case(
            "KMeansHead-offset-wrong-length",
            _head("KMeansHead", cluster_centers=[[1.5] * 3, [8.5] * 3], offset=[0.0] * 2),
            ("offset",),
        ),
        Case(
            "SOMHead-offset-inf",
            _head("SOMHead", codebook=np.ones((1, 2, 3)), offset=[np.inf] * 3),
            ("offset",),
        ),
        Case("DeepClustering-noise-1.5", _dec(noise=1.5), ("noise",), fast=True),
        Case("DeepClustering-noise-negative", _dec(noise=-0.1), ("noise",)),
        Case(
            "student_t_assignment-alpha-0",
            lambda: tc.layers.student_t_assignment(np.ones((2, 2)), alpha=0.0),
            ("alpha",),
            fast=True,
        ),
        Case(
            "student_t_assignment-alpha-nan",
            lambda: tc.layers.student_t_assignment(np.ones((2, 2)), alpha=np.nan),
            ("alpha",),
        ),
        Case(
            "adjusted_rand_score-complex",
            _metric("adjusted_rand_score", LABELS + 1j, LABELS),
            ("labels_true",),
            fast=True,
        ),
        Case(
            "normalized_mutual_info_score-complex",
            _metric("normalized_mutual_info_score", LABELS, LABELS + 1j),
            ("labels_pred",),
        ),
        *[
            Case(
                f"gmm_contours-{name}",
                _plot("gmm_contours", **params),
                tuple(params),
                fast=name == "levels-0",
                setup=_gmm_2d,
            )
            for name, params in {
                "levels-0": {"levels": 0},
                "levels-str": {"levels": "x"},
                "resolution-1": {"resolution": 1},
                "resolution-huge": {"resolution": 10**6},
            }.items()
        ],
        Case("image_grid-per_cluster-0", _plot("image_grid", per_cluster=0), ("per_cluster",)),
        Case(
            "image_grid-per_cluster-float", _plot("image_grid", per_cluster=2.5), ("per_cluster",)
        ),
        # item 8
        Case(
            "silhouette-ragged-labels",
            _metric("silhouette_score", BASE, [[0, 1], [1]] * 10),
            ("labels",),
            fast=True,
        ),
        Case(
            "adjusted_rand-ragged-labels",
            _metric("adjusted_rand_score", [[0, 1], [1]] * 10, LABELS),
            ("labels_true",),
        ),
        Case("SOM.activation_response-before-fit", _activation_response, ("fit",), fast=True),
        Case("ImageClusterer-clusterer-class", _image_clusterer_class, ("clusterer",), fast=True),
        Case(
            "sweep-DeepClustering-default-scores",
            _sweep(
                lambda: tc.DeepClustering(
                    2,
                    hidden=(4,),
                    embedding_dim=2,
                    pretrain_epochs=1,
                    max_iter=2,
                    n_init=1,
                    random_state=0,
                )
            ),
            ("scores", "estimator"),
            either=True,
        ),
        Case(
            "sweep-k_values-None",
            _sweep(lambda: tc.KMeans(random_state=0), None),
            ("k_values",),
            fast=True,
        ),
        Case("sweep-k_values-str", _sweep(lambda: tc.KMeans(random_state=0), "23"), ("k_values",)),
        Case("suggest_k-dict", lambda: tc.suggest_k({"k_values": [2, 3]}), ("result",), fast=True),
    ]
    for name, (argument, weights, prec, offset) in _GMM_HEAD_BAD.items():
        params = dict(weights=weights, precisions_cholesky=prec, offset=offset, **_GMM_HEAD)
        call = _head("GaussianMixtureHead", **params)
        fast = argument == "weights"
        out.append(Case(f"GaussianMixtureHead-{name}", call, (argument,), fast=fast))
    for alpha in (0, -1, np.nan, 1e6):
        call = _embedder_alpha(alpha)
        out.append(Case(f"ImageEmbedder-alpha-{alpha}", call, ("alpha",), fast=alpha == 0))
    return out + label_cases()


def _embedder_alpha(alpha):
    return lambda: _tc().ImageEmbedder(weights=None, alpha=alpha, input_size=32).embed(_images())


# ---------------------------------------------------------------- labels


def _label_kinds():
    """``name: (make, valid)`` for a ``labels`` argument of 20 rows (two groups)."""
    import tensorflow as tf

    return {
        "list": (lambda: LABELS.tolist(), True),
        "int64": (lambda: LABELS, True),
        "uint8": (lambda: LABELS.astype(np.uint8), True),
        "float": (lambda: LABELS.astype(np.float64), True),
        "str": (lambda: np.where(LABELS == 0, "a", "b"), True),
        "tf_int32": (lambda: tf.constant(LABELS, tf.int32), True),
        "nan": (lambda: np.where(LABELS == 0, np.nan, 1.0), False),
        "complex": (lambda: LABELS + 1j, False),
        "ragged": (lambda: [[0, 1], [1]] * 10, False),
        "two_d": (lambda: LABELS[:, None], False),
        "short": (lambda: LABELS[:-1], False),
        "none": (lambda: None, False),
        "sparse": (lambda: tf.sparse.from_dense(tf.constant(LABELS[None, :])), False),
        "dataset": (lambda: tf.data.Dataset.from_tensor_slices(LABELS), False),
    }


def label_cases() -> list[Case]:
    """Every label kind through the metrics that take labels."""
    from sklearn import metrics as skm

    tc = _tc()
    entries = {
        "silhouette_score": (lambda y: tc.silhouette_score(BASE, y), ("labels",)),
        "calinski_harabasz_score": (
            lambda y: tc.calinski_harabasz_score(BASE, y),
            ("labels",),
        ),
        "adjusted_rand_score": (lambda y: tc.adjusted_rand_score(y, LABELS), ("labels_true",)),
        "normalized_mutual_info_score": (
            lambda y: tc.normalized_mutual_info_score(LABELS, y),
            ("labels_pred",),
        ),
    }
    out = []
    for e, (entry, (call, names)) in enumerate(entries.items()):
        want = getattr(skm, entry)
        reference = 1.0 if entry.startswith(("adjusted", "normalized")) else want(BASE, LABELS)
        for i, (kind, (make, valid)) in enumerate(_label_kinds().items()):
            out.append(
                Case(
                    f"{entry}-labels-{kind}",
                    functools.partial(lambda c, m: c(m()), call, make),
                    None if valid else names,
                    check=functools.partial(_assert_close, want=reference) if valid else None,
                    fast=(e + i) % 5 == 0,
                )
            )
    return out
