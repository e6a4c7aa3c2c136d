"""The scikit-learn contract, checked with scikit-learn's own tools."""

import numpy as np
import pytest
from sklearn.base import clone, is_clusterer
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tfcluster import (
    DeepClustering,
    GaussianMixture,
    ImageClusterer,
    ImageEmbedder,
    KMeans,
    MiniBatchKMeans,
    SelfOrganizingMap,
)

ESTIMATORS = {
    "kmeans": lambda: KMeans(3, random_state=0),
    "minibatch": lambda: MiniBatchKMeans(3, batch_size=32, random_state=0),
    "gmm": lambda: GaussianMixture(3, random_state=0),
    "som": lambda: SelfOrganizingMap(1, 3, num_iteration=300, random_state=0),
}


@pytest.fixture(scope="module")
def X(iris):
    return iris[0]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_pipeline_predict_equals_the_estimator_on_scaled_data(name, X):
    pipe = make_pipeline(StandardScaler(), ESTIMATORS[name]()).fit(X)
    scaled = StandardScaler().fit_transform(X)
    alone = ESTIMATORS[name]().fit(scaled)
    assert is_clusterer(pipe[-1])
    np.testing.assert_array_equal(pipe.predict(X), alone.predict(scaled))
    if hasattr(alone, "transform"):
        np.testing.assert_allclose(pipe.transform(X), alone.transform(scaled), rtol=1e-5)


@pytest.mark.parametrize(("name", "n_out"), [("kmeans", 3), ("minibatch", 3), ("som", 3)])
def test_feature_names_out_name_the_transform_columns(name, n_out, X):
    from tfcluster import NotFittedError

    with pytest.raises(NotFittedError):
        ESTIMATORS[name]().get_feature_names_out()
    pipe = make_pipeline(StandardScaler(), ESTIMATORS[name]()).fit(X)
    names = pipe.get_feature_names_out()  # scikit-learn asks each step in turn
    prefix = type(pipe[-1]).__name__.lower()
    assert list(names) == [f"{prefix}{i}" for i in range(n_out)]
    assert pipe.transform(X).shape == (len(X), n_out)


@pytest.mark.parametrize("name", ["kmeans", "gmm"])
def test_grid_search_over_numpy_integers_picks_the_best_score(name, X):
    # GridSearchCV hands over numpy integers; each fold's score is the estimator's own.
    key = "n_clusters" if name == "kmeans" else "n_components"
    search = GridSearchCV(ESTIMATORS[name](), {key: np.arange(2, 5)}, cv=3).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_params_[key] == 2 + int(np.argmax(scores))
    folds = cross_val_score(clone(search.best_estimator_), X, cv=3)
    np.testing.assert_allclose(folds.mean(), scores.max(), rtol=1e-5)


def test_numpy_integer_parameters_fit_as_python_ints(X):
    i = np.int64
    pairs = [
        (
            KMeans(i(3), n_init=i(2), max_iter=i(20), random_state=i(0)),
            KMeans(3, n_init=2, max_iter=20, random_state=0),
        ),
        (
            KMeans(i(3), init="k-means||", random_state=0),
            KMeans(3, init="k-means||", random_state=0),
        ),
        (
            MiniBatchKMeans(i(3), batch_size=i(20), max_iter=i(5), max_no_improvement=i(3)),
            MiniBatchKMeans(3, batch_size=20, max_iter=5, max_no_improvement=3),
        ),
        (
            GaussianMixture(i(2), max_iter=i(10), n_init=i(2), random_state=0),
            GaussianMixture(2, max_iter=10, n_init=2, random_state=0),
        ),
        (
            SelfOrganizingMap(i(2), i(2), num_iteration=i(50), random_state=0),
            SelfOrganizingMap(2, 2, num_iteration=50, random_state=0),
        ),
    ]
    for ours, ref in pairs:
        ours.set_params(random_state=0), ref.set_params(random_state=0)
        np.testing.assert_array_equal(ours.fit(X).predict(X), ref.fit(X).predict(X))


def test_deep_clustering_takes_numpy_integer_parameters(X):
    i = np.int64
    settings = dict(hidden=(8,), pretrain_epochs=1, max_iter=4, update_interval=2, n_init=1)
    ours = DeepClustering(i(3), embedding_dim=i(2), batch_size=i(32), random_state=0, **settings)
    ref = DeepClustering(3, embedding_dim=2, batch_size=32, random_state=0, **settings)
    np.testing.assert_array_equal(ours.fit(X).labels_, ref.fit(X).labels_)


def test_numpy_random_states_are_accepted_and_advance(X):
    a = KMeans(3, random_state=np.random.RandomState(0)).fit(X)
    b = KMeans(3, random_state=np.random.RandomState(0)).fit(X)
    np.testing.assert_array_equal(a.labels_, b.labels_)  # same state, same fit
    rs = np.random.RandomState(0)
    first = KMeans(3, init="random", n_init=1, random_state=rs).fit(X).cluster_centers_
    second = KMeans(3, init="random", n_init=1, random_state=rs).fit(X).cluster_centers_
    assert not np.allclose(first, second)  # the state moved on
    KMeans(3, random_state=np.random.default_rng(0)).fit(X)
    with pytest.raises(TypeError, match="random_state must be an int, None, or a numpy"):
        KMeans(3, random_state="0").fit(X)


def test_clone_and_sweep_leave_the_callers_random_state_alone(X):
    from tfcluster.selection import sweep

    rs = np.random.RandomState(0)
    before = rs.get_state()[2]
    km = KMeans(3, random_state=rs)
    sweep(km, X, [2, 3], scores="inertia")
    assert rs.get_state()[2] == before and km.random_state is rs
    assert clone(km).random_state is not rs


def test_callable_init_gets_a_random_state_as_in_scikit_learn(X):
    def init(data, n_clusters, random_state):
        assert isinstance(random_state, np.random.RandomState)
        return data[random_state.choice(len(data), n_clusters, replace=False)]

    a = KMeans(3, init=init, n_init=2, random_state=0).fit(X)
    b = KMeans(3, init=init, n_init=2, random_state=0).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)


def test_not_fitted_errors_are_scikit_learns_too(X):
    import sklearn.exceptions

    from tfcluster import NotFittedError

    for make in ESTIMATORS.values():
        with pytest.raises(sklearn.exceptions.NotFittedError) as caught:
            make().predict(X)
        assert isinstance(caught.value, NotFittedError)  # and tfcluster's own


def test_nested_parameters_route_to_the_inner_estimator():
    model = ImageClusterer(ImageEmbedder(weights=None), KMeans(3))
    params = model.get_params(deep=True)
    assert params["clusterer__n_clusters"] == 3
    assert params["embedder__weights"] is None
    assert "clusterer__n_clusters" not in model.get_params(deep=False)
    model.set_params(clusterer__n_clusters=5, clusterer__random_state=1)
    assert (model.clusterer.n_clusters, model.clusterer.random_state) == (5, 1)
    assert clone(model).clusterer.n_clusters == 5
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        model.set_params(nope__n_clusters=2)
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        model.set_params(clusterer__bogus=2)


def test_model_selection_example_picks_three_full_components(capsys):
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).parent.parent / "examples" / "sklearn_model_selection.py"
    spec = importlib.util.spec_from_file_location("sklearn_model_selection", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main()
    out = capsys.readouterr().out
    assert "chosen: {'gmm__covariance_type': 'full', 'gmm__n_components': 3}" in out
    ari = float(out.rsplit("species: ", 1)[1])
    assert ari > 0.85  # the three iris species, as the best known mixtures find them


# scikit-learn's warning class and object arrays (issue 14) ---------------------------


def test_convergence_warning_is_scikit_learns_too(X):
    import warnings

    from sklearn.exceptions import ConvergenceWarning as SKConvergenceWarning
    from sklearn.utils._testing import ignore_warnings

    import tfcluster

    same = np.zeros((10, 2))  # fewer distinct points than clusters
    for expected in (SKConvergenceWarning, tfcluster.ConvergenceWarning):
        with pytest.warns(expected, match="distinct clusters"):
            KMeans(3, random_state=0).fit(same)
        with pytest.warns(expected, match="did not converge"):
            GaussianMixture(3, max_iter=1, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=SKConvergenceWarning)
        KMeans(3, random_state=0).fit(same)
        GaussianMixture(3, max_iter=1, random_state=0).fit(X)
        ignore_warnings(category=SKConvergenceWarning)(MiniBatchKMeans(3).fit)(same)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_numeric_object_arrays_fit_as_numbers(name, X):
    # as scikit-learn's check_array: X.astype(object) holding numbers is converted
    numeric = ESTIMATORS[name]().fit(X)
    objects = ESTIMATORS[name]().fit(X.astype(object))
    np.testing.assert_array_equal(objects.predict(X.astype(object)), numeric.predict(X))
    weighted = X.astype(object)
    if name != "som":  # online SOM takes no sample_weight
        ESTIMATORS[name]().fit(weighted, sample_weight=np.ones(len(X), dtype=object))
    weighted[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="argument must be a string or a real number"):
        ESTIMATORS[name]().fit(weighted)
    weighted[0, 0] = "a"
    with pytest.raises(ValueError, match="real numbers only"):
        ESTIMATORS[name]().fit(weighted)
