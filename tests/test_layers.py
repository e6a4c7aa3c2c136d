"""Keras clustering layers: heads equal their estimators in models, after save/load and export."""

import json
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import warnings
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from _heads_contract import assert_same, check_head

import tfcluster.layers
from tfcluster import KMeans, NotFittedError
from tfcluster.layers import (
    ClusteringLayer,
    GaussianMixtureHead,
    KMeansHead,
    SOMHead,
    clustering_loss,
    gmm_layer,
    kmeans_layer,
    som_layer,
    student_t_assignment,
    target_distribution,
)
from tfcluster.mixture import GaussianMixture
from tfcluster.som import SelfOrganizingMap


@pytest.fixture(scope="module")
def X(digits):
    return (digits[0][:600] / 16.0).astype(np.float32)


@pytest.fixture(scope="module")
def kmeans(X):
    return KMeans(10, random_state=0).fit(X)


@pytest.fixture(scope="module")
def gmm(X):
    return GaussianMixture(6, covariance_type="diag", random_state=0).fit(X)


@pytest.fixture(scope="module")
def som(X):
    return SelfOrganizingMap(4, 5, random_state=0).fit(X, num_iteration=600)


def _reference(est, output):
    """What the estimator itself says for each head output."""
    if isinstance(est, KMeans):
        return {
            "labels": est.predict,
            "distances": est.transform,
            "soft": lambda X: _student_t(est.transform(X).astype(np.float64) ** 2),
        }[output]
    if isinstance(est, GaussianMixture):
        return {"proba": est.predict_proba, "log_prob": est.score_samples, "labels": est.predict}[
            output
        ]

    def coords(X):
        return np.stack(np.unravel_index(est.predict(X), est.weights_.shape[:2]), axis=1)

    return {"bmu": est.predict, "coords": coords, "distances": est.transform}[output]


CASES = [
    ("kmeans", kmeans_layer, "labels"),
    ("kmeans", kmeans_layer, "distances"),
    ("gmm", gmm_layer, "proba"),
    ("gmm", gmm_layer, "log_prob"),
    ("gmm", gmm_layer, "labels"),
    ("som", som_layer, "bmu"),
    ("som", som_layer, "coords"),
    ("som", som_layer, "distances"),
]


@pytest.mark.parametrize("name, make, output", CASES)
def test_head_equals_estimator_in_model_saved_and_exported(
    name, make, output, X, request, tmp_path
):
    est = request.getfixturevalue(name)
    check_head(est, make, output, _reference(est, output)(X), X, tmp_path)


# Build paths: a layer first built in any of these ways holds its given values ----------------


def _no_loss(y, p):
    return 0.0 * tf.reduce_mean(tf.cast(p, "float32"))


def _eager(make, X, tmp_path):
    return [make()(X)]


def _keras_input(make, X, tmp_path):
    return [keras.Sequential([keras.Input((X.shape[1],)), make()]).predict(X, verbose=0)]


def _traced_predict(make, X, tmp_path):  # no keras.Input: built inside the traced predict step
    return [keras.Sequential([make()]).predict(X, verbose=0)]


def _traced_fit(make, X, tmp_path):  # built inside the traced train step; lr 0 moves nothing
    model = keras.Sequential([make()])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=_no_loss)
    with warnings.catch_warnings():  # the heads are non-trainable
        warnings.filterwarnings("ignore", "The model does not have any trainable weights")
        model.fit(X, np.zeros(len(X)), batch_size=len(X), epochs=1, verbose=0)
    return [model.predict(X, verbose=0)]


def _tf_function(make, X, tmp_path):
    layer = make()
    return [tf.function(lambda x: layer(x))(tf.constant(X)).numpy()]


def _strategy_scope(make, X, tmp_path):
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = keras.Sequential([make()])
    return [model.predict(X, verbose=0)]


def _saved_loaded_and_exported(make, X, tmp_path):
    """Built in a traced predict, saved, loaded (weights from the file), then exported."""
    model = keras.Sequential([make()])
    model.predict(X[:1], verbose=0)
    model.save(str(tmp_path / "m.keras"))
    loaded = keras.models.load_model(str(tmp_path / "m.keras"))
    loaded.export(str(tmp_path / "served"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "served"))  # kept alive while serving
    return [loaded.predict(X, verbose=0), served.serve(tf.constant(X)).numpy()]


# Each path makes a layer with make(), builds it in its way and returns its outputs on X.
BUILD_PATHS = [
    _eager,
    _keras_input,
    _traced_predict,
    _traced_fit,
    _tf_function,
    _strategy_scope,
    _saved_loaded_and_exported,
]


def _student_t(d2, alpha=1.0):
    """DEC's soft assignment of squared distances ``d2 [n, k]``, by hand (float64)."""
    kernel = (1.0 + np.asarray(d2, np.float64) / alpha) ** (-(alpha + 1) / 2)
    return kernel / kernel.sum(1, keepdims=True)


@pytest.fixture(scope="module")
def fitted(iris):
    """Iris (well conditioned in float32) and an estimator of each head kind fitted on it."""
    X = iris[0].astype(np.float32)
    return X, {
        "kmeans": KMeans(3, random_state=0).fit(X),
        "gmm": GaussianMixture(3, random_state=0).fit(X),
        "som": SelfOrganizingMap(3, 4, random_state=0).fit(X, num_iteration=300),
    }


HEAD_OUTPUTS = CASES[:2] + [("kmeans", kmeans_layer, "soft")] + CASES[2:]


@pytest.mark.parametrize("path", BUILD_PATHS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("name, make, output", HEAD_OUTPUTS)
def test_head_holds_fitted_values_whatever_the_build_path(
    name, make, output, path, fitted, tmp_path
):
    X, estimators = fitted
    est = estimators[name]
    want = _reference(est, output)(X)
    for got in path(lambda: make(est, output=output), X, tmp_path):
        assert_same(got, want)


CENTERS = np.array([[0.0, 0.0], [3.0, 4.0], [-2.0, 1.0]])


@pytest.mark.parametrize("path", BUILD_PATHS, ids=lambda f: f.__name__.strip("_"))
def test_clustering_layer_starts_at_initial_centers_whatever_the_build_path(path, tmp_path):
    Z = np.random.default_rng(0).normal(scale=2.0, size=(40, 2)).astype(np.float32)
    want = _student_t(((Z[:, None, :] - CENTERS[None]) ** 2).sum(-1))  # [40, 3]
    for got in path(lambda: ClusteringLayer(3, initial_centers=CENTERS), Z, tmp_path):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_clustering_layer_built_in_fit_trains_from_initial_centers():
    Z = np.random.default_rng(0).normal(scale=2.0, size=(40, 2)).astype(np.float32)
    p = target_distribution(_student_t(((Z[:, None, :] - CENTERS[None]) ** 2).sum(-1)))
    layer = ClusteringLayer(3, initial_centers=CENTERS)
    model = keras.Sequential([layer])  # no keras.Input: built inside the traced train step
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=clustering_loss)
    model.fit(Z, p.numpy().astype(np.float32), batch_size=40, epochs=3, verbose=0)
    assert [w.name for w in layer.trainable_weights] == ["clusters"]
    centers = layer.clusters.numpy()
    assert not np.array_equal(centers, CENTERS.astype(np.float32))  # trained
    np.testing.assert_allclose(centers, CENTERS, atol=0.1)  # from the initial centers


def test_functional_model_with_preprocessing(X, kmeans):
    km = kmeans
    inputs = keras.Input((8, 8), name="image")
    flat = keras.layers.Flatten()(inputs)
    labels = kmeans_layer(km, output="labels", name="cluster")(flat)
    dist = kmeans_layer(km, output="distances")(flat)
    model = keras.Model(inputs, {"label": labels, "distance": dist})
    out = model.predict(X.reshape(-1, 8, 8), verbose=0)
    np.testing.assert_array_equal(out["label"], km.predict(X))
    np.testing.assert_allclose(out["distance"], km.transform(X), rtol=1e-5, atol=1e-5)


def test_kmeans_soft_is_student_t_of_distances(X, kmeans):
    km = kmeans
    for alpha in (1.0, 3.0):
        q = kmeans_layer(km, output="soft", alpha=alpha)(X).numpy()
        d2 = km.transform(X).astype(np.float64) ** 2
        kernel = (1.0 + d2 / alpha) ** (-(alpha + 1) / 2)  # hand formula (van der Maaten)
        np.testing.assert_allclose(q, kernel / kernel.sum(1, keepdims=True), rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-6)
        np.testing.assert_array_equal(q.argmax(1), km.predict(X))


@pytest.mark.parametrize("covariance_type", ["full", "tied", "spherical"])
def test_gmm_head_every_covariance_type(covariance_type, iris):
    X = iris[0]
    gm = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    for output, ref in [("proba", gm.predict_proba), ("log_prob", gm.score_samples)]:
        np.testing.assert_allclose(gmm_layer(gm, output=output)(X), ref(X), rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(gmm_layer(gm, output="labels")(X), gm.predict(X))


@pytest.mark.parametrize("distance", ["cosine", "manhattan"])
def test_som_head_other_distances(distance, iris):
    X = iris[0]
    som = SelfOrganizingMap(3, 4, activation_distance=distance, random_state=1)
    som.fit(X, num_iteration=300)
    np.testing.assert_array_equal(som_layer(som)(X), som.predict(X))
    np.testing.assert_allclose(
        som_layer(som, output="distances")(X), som.transform(X), rtol=1e-5, atol=1e-5
    )
    i, j = som.winner(X[7])
    np.testing.assert_array_equal(som_layer(som, output="coords")(X[7:8]), [[i, j]])


def test_float64_estimator_gives_float64_head(iris):
    X = iris[0]
    km = KMeans(3, random_state=0, dtype="float64").fit(X)
    head = kmeans_layer(km, output="distances")
    assert head.dtype == "float64"
    np.testing.assert_allclose(head(X).numpy(), km.transform(X), rtol=1e-12)


def test_mobilenet_backbone_with_kmeans_head_saved_as_one_model(digits, tmp_path):
    images = digits[0][:48].reshape(-1, 8, 8) / 16.0
    images = np.repeat(np.kron(images, np.ones((4, 4)))[..., None], 3, axis=-1)  # [48, 32, 32, 3]
    images = images.astype(np.float32)
    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNetV2(
        include_top=False, pooling="avg", weights=None, input_shape=(32, 32, 3)
    )
    features = backbone.predict(images, verbose=0)
    km = KMeans(4, random_state=0).fit(features)
    model = keras.Sequential([backbone, kmeans_layer(km)])
    np.testing.assert_array_equal(model.predict(images, verbose=0), km.predict(features))
    path = str(tmp_path / "mobilenet_kmeans.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), km.predict(features))


def test_fresh_process_serves_export_and_loads_with_plain_import(X, kmeans, tmp_path):
    """The SavedModel serves without tfcluster; ``.keras`` loads after ``import tfcluster``."""
    model = keras.Sequential([keras.Input((X.shape[1],)), kmeans_layer(kmeans)])
    model.export(str(tmp_path / "served"), verbose=False)
    model.save(str(tmp_path / "m.keras"))
    np.save(tmp_path / "x.npy", X[:50])
    code = textwrap.dedent(
        f"""
        import sys, numpy as np, tensorflow as tf
        x = np.load({str(tmp_path / "x.npy")!r})
        served = tf.saved_model.load({str(tmp_path / "served")!r})
        labels = served.serve(tf.constant(x)).numpy()
        assert not any(m.startswith("tfcluster") for m in sys.modules)
        print(",".join(map(str, labels)))
        import keras, tfcluster  # no custom_objects below
        loaded = keras.models.load_model({str(tmp_path / "m.keras")!r})
        print(",".join(map(str, loaded.predict(x, verbose=0))))
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    root = str(pathlib.Path(__file__).parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=root
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for line in out.stdout.strip().splitlines()[-2:]:
        np.testing.assert_array_equal(np.array(line.split(","), dtype=int), kmeans.predict(X[:50]))


def test_registered_under_tfcluster_package():
    for cls in (KMeansHead, GaussianMixtureHead, SOMHead, ClusteringLayer):
        assert keras.saving.get_registered_name(cls) == f"tfcluster>{cls.__name__}"


def _as_saved_before_the_split(path, old_path):
    """Copy of the ``.keras`` file at ``path`` as tfcluster wrote it before layers.py was split.

    The only difference was the ``module`` of the tfcluster layers in config.json
    ("tfcluster.layers", now "tfcluster.keras._heads" or "tfcluster.deep._layer").
    """
    renamed = []

    def rename(node):
        if isinstance(node, dict):
            if str(node.get("registered_name")).startswith("tfcluster>"):
                renamed.append(node["module"])
                node["module"] = "tfcluster.layers"
            for value in node.values():
                rename(value)
        elif isinstance(node, list):
            for value in node:
                rename(value)

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(old_path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                rename(config)
                data = json.dumps(config)
            dst.writestr(item, data)
    return renamed


@pytest.mark.parametrize(
    "make, module",
    [
        (lambda km, gm, som: kmeans_layer(km, output="soft", alpha=2.0), "tfcluster.keras._heads"),
        (lambda km, gm, som: gmm_layer(gm, output="log_prob"), "tfcluster.keras._heads"),
        (lambda km, gm, som: som_layer(som, output="coords"), "tfcluster.keras._heads"),
        (lambda km, gm, som: ClusteringLayer.from_kmeans(km, alpha=2.0), "tfcluster.deep._layer"),
    ],
)
def test_file_saved_before_the_split_loads_without_custom_objects(
    make, module, X, kmeans, gmm, som, tmp_path
):
    layer = make(kmeans, gmm, som)
    model = keras.Sequential([keras.Input((X.shape[1],)), layer])
    want = model.predict(X[:100], verbose=0)
    model.save(str(tmp_path / "new.keras"))
    old = str(tmp_path / "old.keras")
    assert _as_saved_before_the_split(str(tmp_path / "new.keras"), old) == [module]
    loaded = keras.models.load_model(old)  # found by registered name "tfcluster>..."
    assert type(loaded.layers[-1]) is type(layer)
    assert loaded.layers[-1].get_config() == layer.get_config()
    np.testing.assert_array_equal(loaded.predict(X[:100], verbose=0), want)


def test_public_names_of_tfcluster_layers():
    assert sorted(tfcluster.layers.__all__) == sorted(
        ["KMeansHead", "GaussianMixtureHead", "SOMHead", "ClusteringLayer"]
        + ["SphericalKMeansHead", "BisectingKMeansHead", "BayesianGaussianMixtureHead"]
        + ["student_t_assignment", "target_distribution", "clustering_loss"]
        + ["kmeans_layer", "gmm_layer", "som_layer"]
        + ["spherical_layer", "bisecting_layer", "bgm_layer"]
    )
    for name in tfcluster.layers.__all__:
        assert getattr(tfcluster.layers, name).__name__ == name


def test_head_config_round_trip(kmeans, gmm, som):
    head = kmeans_layer(kmeans, output="soft", alpha=2.0, name="h")
    config = head.get_config()
    assert config["output"] == "soft" and config["n_clusters"] == 10 and config["alpha"] == 2.0
    assert KMeansHead.from_config(config).get_config() == config
    for est, make, cls in [(gmm, gmm_layer, GaussianMixtureHead), (som, som_layer, SOMHead)]:
        config = make(est).get_config()
        assert cls.from_config(config).get_config() == config


# ClusteringLayer ------------------------------------------------------------------------


def test_clustering_layer_hand_case_and_rows_sum_to_one():
    centers = np.array([[0.0, 0.0], [3.0, 4.0]])  # squared distances 0 and 25 from the origin
    layer = ClusteringLayer(2, initial_centers=centers)
    q = layer(np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]], np.float32)).numpy()
    np.testing.assert_allclose(q[0], [1 / (1 + 1 / 26), (1 / 26) / (1 + 1 / 26)], rtol=1e-6)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-6)
    big = layer(np.full((3, 2), 1e6, np.float32)).numpy()  # far away: no 0 / 0
    assert np.all(np.isfinite(big)) and np.allclose(big.sum(1), 1.0)
    exact = np.array([[0.1, 1 / 3], [np.pi, 1e-300]])  # not float32 numbers
    layer64 = ClusteringLayer(2, alpha=np.float32(2.0), initial_centers=exact, dtype="float64")
    layer64(exact)
    np.testing.assert_array_equal(layer64.clusters.numpy(), exact)
    assert layer64.alpha == 2.0


def test_clustering_layer_from_kmeans_trainable_and_config(iris, tmp_path):
    X = iris[0].astype(np.float32)
    km = KMeans(3, random_state=0).fit(X)
    layer = ClusteringLayer.from_kmeans(km, alpha=2.0, name="dec")
    q = layer(X)
    np.testing.assert_allclose(layer.clusters.numpy(), km.cluster_centers_)
    np.testing.assert_array_equal(np.argmax(q, 1), km.predict(X))
    assert [w.name for w in layer.trainable_weights] == ["clusters"]
    with tf.GradientTape() as tape:
        loss = clustering_loss(target_distribution(layer(X)), layer(X))
    grad = tape.gradient(loss, layer.trainable_weights)[0]
    assert grad is not None and np.any(grad.numpy() != 0)
    config = layer.get_config()
    assert config["n_clusters"] == 3 and config["alpha"] == 2.0
    assert ClusteringLayer.from_config(config).get_config() == config
    model = keras.Sequential([keras.Input((4,)), layer])
    model.save(str(tmp_path / "dec.keras"))
    loaded = keras.models.load_model(str(tmp_path / "dec.keras"))
    np.testing.assert_allclose(loaded.predict(X, verbose=0), q.numpy(), rtol=1e-6)
    assert loaded.layers[0].trainable_weights


def test_target_distribution_and_kl_loss_against_formulas():
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(4), size=20)
    f = q.sum(0)
    p_hand = q**2 / f
    p_hand /= p_hand.sum(1, keepdims=True)
    p = target_distribution(q).numpy()
    np.testing.assert_allclose(p, p_hand, rtol=1e-12)
    kl_hand = np.mean(np.sum(p * np.log(p / q), axis=1))
    assert float(clustering_loss(p, q)) == pytest.approx(kl_hand, rel=1e-10)
    oracle = keras.losses.KLDivergence()(p.astype(np.float32), q.astype(np.float32))
    assert float(clustering_loss(p, q.astype(np.float32))) == pytest.approx(float(oracle), 1e-4)
    assert float(clustering_loss(q, q)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(student_t_assignment(tf.zeros([2, 5])).numpy(), 0.2)


# Bad input ---------------------------------------------------------------------------------


def test_bad_arguments(X, kmeans, gmm, som):
    with pytest.raises(ValueError, match="'labels', 'distances', 'soft'"):
        kmeans_layer(kmeans, output="proba")
    with pytest.raises(ValueError, match="'proba', 'log_prob', 'labels'"):
        gmm_layer(gmm, output="bmu")
    with pytest.raises(ValueError, match="'bmu', 'coords', 'distances'"):
        som_layer(som, output="labels")
    with pytest.raises(ValueError, match=r"inputs \[batch, 64\]"):
        kmeans_layer(kmeans)(X[:, :10])
    with pytest.raises(ValueError, match="alpha"):
        KMeansHead(np.eye(2), alpha=0)
    with pytest.raises(ValueError, match="NaN"):
        KMeansHead(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="n_clusters and n_features"):
        KMeansHead()
    with pytest.raises(ValueError, match="covariance_type"):
        GaussianMixtureHead(np.ones(2) / 2, np.eye(2), np.ones(2), covariance_type="bad")
    with pytest.raises(ValueError, match="precisions_cholesky"):
        GaussianMixtureHead(np.ones(2) / 2, np.eye(2), np.ones(3), covariance_type="spherical")
    with pytest.raises(ValueError, match="activation_distance"):
        SOMHead(np.zeros((2, 2, 3)), activation_distance="hamming")
    with pytest.raises(ValueError, match="n_clusters"):
        ClusteringLayer(0)
    with pytest.raises(ValueError, match="alpha"):
        ClusteringLayer(2, alpha=-1.0)
    with pytest.raises(ValueError, match="rows"):
        ClusteringLayer(3, initial_centers=np.eye(2))
    with pytest.raises(ValueError, match="features"):
        ClusteringLayer(2, initial_centers=np.eye(2))(np.zeros((1, 5), np.float32))
    with pytest.raises(TypeError, match="n_clusters must be an integer >= 1, got 2.0"):
        ClusteringLayer(2.0)
    with pytest.raises(ValueError, match="n_clusters must be an integer >= 1, got 0"):
        KMeansHead(n_clusters=0, n_features=2)
    with pytest.raises(ValueError, match=r"grid_shape\[1\] must be an integer >= 1, got 0"):
        SOMHead(grid_shape=(2, 0), n_features=3)
    with pytest.raises(ValueError, match=r"codebook must be 3-D \[m, n, n_features\]"):
        SOMHead(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"precisions_cholesky must be 1-D \[2\]"):
        GaussianMixtureHead(np.ones(2) / 2, np.eye(2), np.ones((2, 2)), "spherical")
    with pytest.raises(ValueError, match="precisions_cholesky contains NaN"):
        GaussianMixtureHead(np.ones(2) / 2, np.eye(2), np.array([1.0, np.nan]), "spherical")
    with pytest.raises(TypeError, match="cluster_centers must contain numbers"):
        KMeansHead(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="initial_centers contains NaN"):
        ClusteringLayer(1, initial_centers=[[np.inf, 0.0]])


def test_unfitted_estimators_raise_not_fitted():
    with pytest.raises(NotFittedError):
        kmeans_layer(KMeans(2))
    with pytest.raises(NotFittedError):
        gmm_layer(GaussianMixture(2))
    with pytest.raises(NotFittedError):
        som_layer(SelfOrganizingMap(2, 2))
    with pytest.raises(NotFittedError):
        ClusteringLayer.from_kmeans(KMeans(2))


def test_as_layer_methods_equal_the_builders(X, kmeans):
    from tfcluster import MiniBatchKMeans, SelfOrganizingMap

    head = kmeans.as_layer("distances")
    np.testing.assert_allclose(head(X).numpy(), kmeans.transform(X), rtol=1e-4, atol=1e-4)
    mbk = MiniBatchKMeans(4, random_state=0).fit(X)
    np.testing.assert_array_equal(mbk.as_layer()(X).numpy(), mbk.predict(X))
    som = SelfOrganizingMap(3, 4, random_state=0).fit(X, num_iteration=200)
    np.testing.assert_array_equal(som.as_layer("bmu")(X).numpy(), som.predict(X))


# Integer inputs and input shapes -----------------------------------------------------------


@pytest.fixture(scope="module")
def iris_int_estimators(iris):
    """Estimators fitted on iris * 10 (integer-valued floats), for integer inputs."""
    X = np.round(iris[0] * 10).astype(np.float32)
    return X, [
        (KMeans(3, random_state=0).fit(X), kmeans_layer, "labels"),
        (GaussianMixture(3, covariance_type="diag", random_state=0).fit(X), gmm_layer, "labels"),
        (SelfOrganizingMap(3, 3, random_state=0).fit(X, num_iteration=300), som_layer, "bmu"),
    ]


def test_heads_take_integer_inputs_eagerly_in_models_and_traced(iris_int_estimators):
    X, cases = iris_int_estimators
    for est, make, output in cases:
        want = est.predict(X)
        assert len(np.unique(want)) > 1
        head = make(est, output=output)
        for dtype in ("int32", "int64"):
            np.testing.assert_array_equal(head(X.astype(dtype)).numpy(), want)
        np.testing.assert_array_equal(head(X).numpy(), want)  # float inputs, same head
        model = keras.Sequential([keras.Input((4,), dtype="int32"), make(est, output=output)])
        np.testing.assert_array_equal(model.predict(X.astype(np.int32), verbose=0), want)
        traced = tf.function(head, input_signature=[tf.TensorSpec([None, None], tf.int64)])
        np.testing.assert_array_equal(traced(X.astype(np.int64)).numpy(), want)
    km64 = KMeans(3, random_state=0, dtype="float64").fit(X)
    head = kmeans_layer(km64, output="distances")
    np.testing.assert_allclose(head(X.astype(np.int32)).numpy(), km64.transform(X), rtol=1e-12)
    layer = ClusteringLayer.from_kmeans(cases[0][0])
    np.testing.assert_array_equal(layer(X.astype(np.int32)).numpy(), layer(X).numpy())


def test_heads_refuse_wrong_feature_count_or_rank(iris_int_estimators):
    X, cases = iris_int_estimators
    makers = [lambda est=est, make=make: make(est) for est, make, _ in cases]
    makers.append(lambda: ClusteringLayer.from_kmeans(cases[0][0]))
    wide, flat, deep = np.zeros((3, 5), np.float32), np.zeros(4, np.float32), X[:3, :, None]
    for new_layer in makers:
        with pytest.raises(ValueError, match=r"expects inputs \[batch, 4\].*got shape \(3, 5\)"):
            new_layer()(wide)  # not built yet
        with pytest.raises(ValueError, match=r"\[batch, 4\].*got shape \(None, 4, 1\)"):
            keras.Sequential([keras.Input((4, 1)), new_layer()])
        head = new_layer()
        head(X[:3])  # built for [batch, 4]
        for bad in (wide, wide.astype(np.int32), flat, deep):
            with pytest.raises(
                ValueError, match=rf"\[batch, 4\][^;]*; got shape {re.escape(str(bad.shape))}\.$"
            ):
                head(bad)
        with pytest.raises(ValueError, match=r"\[batch, 4\].*got shape \(None, 5\)"):
            head(keras.Input((5,)))  # symbolic, after build
        assert head.compute_output_shape((None, 4))[0] is None
        with pytest.raises(ValueError, match=r"\[batch, 4\].*got shape \(None, 5\)"):
            head.compute_output_shape((None, 5))
        with pytest.raises(TypeError, match="real numbers.*string"):
            head(tf.constant([["a"] * 4]))
    with pytest.raises(ValueError, match=r"centers have 4 features\); got shape \(3, 5\)"):
        head(wide)  # the ClusteringLayer, built
    with pytest.raises(ValueError, match=r"initial_centers have 4 features\); got shape \(3, 5\)"):
        makers[-1]()(wide)
    free = ClusteringLayer(2)  # no initial centers: any d, then only that d
    assert free(wide).shape == (3, 2)
    with pytest.raises(ValueError, match=r"\[batch, 5\] \(its centers have 5 features\)"):
        free(X[:3])


# target_distribution and clustering_loss on edge cases --------------------------------------


def _target_by_hand(q):
    f = q.sum(0)
    w = np.divide(q**2, f, out=np.zeros_like(q), where=f > 0)
    s = w.sum(1, keepdims=True)
    return np.divide(w, s, out=np.zeros_like(w), where=s > 0)


def test_target_distribution_never_nan():
    np.testing.assert_array_equal(target_distribution(tf.zeros((2, 3))).numpy(), 0.0)
    q = np.array([[0.6, 0.4, 0.0], [0.0, 0.0, 0.0], [0.2, 0.8, 0.0]])  # empty column and row
    p = target_distribution(q).numpy()
    np.testing.assert_allclose(p, _target_by_hand(q), rtol=1e-12)
    np.testing.assert_allclose(p.sum(1), [1.0, 0.0, 1.0], rtol=1e-12)
    tiny = np.array([[1e-30, 3e-30], [0.5, 0.5]], np.float32)  # squares underflow float32
    p = target_distribution(tiny).numpy()
    np.testing.assert_allclose(p, _target_by_hand(tiny.astype(np.float64)), rtol=1e-6)
    traced = tf.function(target_distribution, input_signature=[tf.TensorSpec([None, None])])
    np.testing.assert_allclose(traced(q.astype(np.float32)), _target_by_hand(q), rtol=1e-6)
    loss = clustering_loss(target_distribution(q), q)  # the empty row adds zero
    assert float(loss) == pytest.approx(_kl_by_hand(_target_by_hand(q), q), rel=1e-12)


def _kl_by_hand(p, q):
    """``mean_i sum_j p log(p / q)`` over the terms with ``p > 0``."""
    pos = p > 0
    return np.sum(p[pos] * np.log(p[pos] / q[pos])) / len(p)


def test_target_distribution_and_loss_refuse_bad_shapes_and_values():
    with pytest.raises(ValueError, match=r"q must be 2-D .*got shape \(3,\)"):
        target_distribution(tf.ones((3,)))
    with pytest.raises(ValueError, match=r"q must be 2-D .*got shape \(2, 3, 1\)"):
        target_distribution(np.ones((2, 3, 1)))
    with pytest.raises(ValueError, match="finite non-negative"):
        target_distribution([[0.5, np.nan]])
    with pytest.raises(ValueError, match="finite non-negative"):
        target_distribution([[1.5, -0.5]])
    with pytest.raises(TypeError, match="q must contain real numbers"):
        target_distribution(tf.constant([["a"]]))
    with pytest.raises(ValueError, match=r"same shape.*p \(2, 3\) and q \(2, 4\)"):
        clustering_loss(tf.ones((2, 3)) / 3, tf.ones((2, 4)) / 4)
    with pytest.raises(ValueError, match=r"p must be 2-D .*got shape \(3,\)"):
        clustering_loss(tf.ones(3) / 3, tf.ones((1, 3)) / 3)

    @tf.function(input_signature=[tf.TensorSpec([None, 3]), tf.TensorSpec([None, 4])])
    def loss(p, q):
        return clustering_loss(p, q)

    with pytest.raises(ValueError, match=r"p \(None, 3\) and q \(None, 4\)"):
        loss.get_concrete_function()  # static shapes checked when traced


@pytest.mark.parametrize(
    "order",
    [
        "import tfcluster, keras",
        pytest.param("import keras, tfcluster", marks=pytest.mark.slow),  # 8 s each
        # TensorFlow first imported by a submodule: the layers wait for it to finish
        pytest.param("import tfcluster; tfcluster.ConvergenceWarning", marks=pytest.mark.slow),
        pytest.param("from tfcluster.kmeans import KMeans", marks=pytest.mark.slow),
    ],
)
def test_layers_are_registered_once_both_are_imported(order):
    """``import tfcluster`` imports no Keras (the command line starts at once), yet the
    layers are registered for ``load_model`` whichever of the two comes first."""
    code = (
        f"import sys; {order}; import keras; "
        "print(keras.saving.get_registered_object('tfcluster>KMeansHead') is not None)"
    )
    root = str(pathlib.Path(__file__).parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        cwd=root,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"
