"""MiniBatchKMeans: scikit-learn as the quality oracle, invariants, bad input."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn.base import clone
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans

from tfcluster import KMeans, MiniBatchKMeans


def test_two_far_groups_exact():
    X = np.r_[np.zeros((60, 2)), np.full((60, 2), 10.0)]
    mbk = MiniBatchKMeans(2, batch_size=16, random_state=0, dtype="float64").fit(X)
    np.testing.assert_allclose(np.sort(mbk.cluster_centers_[:, 0]), [0.0, 10.0])
    assert mbk.inertia_ == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_array_equal(mbk.labels_[:60], mbk.labels_[0])
    assert mbk.labels_[0] != mbk.labels_[-1]


def test_quality_close_to_sklearn(digits):
    X, _ = digits
    ours = [MiniBatchKMeans(10, batch_size=256, random_state=s).fit(X).inertia_ for s in range(5)]
    ref = [
        SKMiniBatchKMeans(10, batch_size=256, n_init=1, random_state=s).fit(X).inertia_
        for s in range(5)
    ]
    assert np.median(ours) <= 1.05 * np.median(ref)


def test_streamed_fit_and_partial_fit_are_good(digits):
    X, _ = digits
    full = np.median([KMeans(10, random_state=s).fit(X).inertia_ for s in range(3)])
    ds = tf.data.Dataset.from_tensor_slices(X).batch(128)
    stream = MiniBatchKMeans(10, random_state=0, max_iter=20).fit(ds)
    assert stream.inertia_ <= 1.08 * full
    assert stream.labels_.shape == (len(X),)
    online = MiniBatchKMeans(10, random_state=0)
    for _ in range(3):
        for start in range(0, len(X), 200):
            online.partial_fit(X[start : start + 200])
    assert online.n_steps_ == 3 * 9
    inertia = -online.score(X)
    assert inertia <= 1.1 * full


def test_reassignment_rescues_collapsed_init(blobs):
    X, y = blobs
    init = np.repeat(X[:1], 4, axis=0) + np.arange(4)[:, None] * 1e-3  # all centers in one blob
    mbk = MiniBatchKMeans(4, init=init, batch_size=64, random_state=0, dtype="float64").fit(X)
    assert len(np.unique(mbk.labels_)) == 4
    good = KMeans(4, random_state=0, dtype="float64").fit(X).inertia_
    assert mbk.inertia_ <= 1.05 * good


def test_same_seed_same_result_and_labels_agree(digits):
    X, _ = digits
    a = MiniBatchKMeans(10, batch_size=100, random_state=3).fit(X)
    b = MiniBatchKMeans(10, batch_size=100, random_state=3).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    np.testing.assert_array_equal(a.predict(X), a.labels_)
    np.testing.assert_array_equal(clone(a).fit_predict(X), a.labels_)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"reassignment_ratio": -0.1}, ValueError, "reassignment_ratio"),
        ({"n_init": 0}, ValueError, "n_init"),
        ({"init": "best"}, ValueError, "k-means"),
        ({"max_no_improvement": -1}, ValueError, "max_no_improvement"),
        ({"n_clusters": 30}, ValueError, "n_clusters=30"),
    ],
)
def test_bad_params(params, error, match):
    X = np.random.default_rng(0).random((20, 2))
    with pytest.raises(error, match=match):
        MiniBatchKMeans(**{"n_clusters": 2, **params}).fit(X)


def test_partial_fit_checks_features():
    mbk = MiniBatchKMeans(2, random_state=0).partial_fit(np.random.default_rng(0).random((10, 2)))
    with pytest.raises(ValueError, match="3 features"):
        mbk.partial_fit(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="NaN"):
        mbk.partial_fit([[np.nan, 1.0]])


def test_fit_then_partial_fit_and_small_data():
    X = np.r_[np.zeros((20, 2)), np.full((30, 2), 10.0)]
    mbk = MiniBatchKMeans(2, max_iter=10, random_state=0, dtype="float64").fit(X)  # n < batch_size
    assert mbk.n_steps_ == 10 and mbk.n_iter_ == 10  # batch clipped to 50 rows, 10 passes
    np.testing.assert_allclose(np.sort(mbk.cluster_centers_[:, 0]), [0.0, 10.0])
    mbk.partial_fit(X[::2])
    assert mbk.n_steps_ == 11
    np.testing.assert_allclose(np.sort(mbk.cluster_centers_[:, 0]), [0.0, 10.0])
    with pytest.raises(TypeError, match="not a tf.data.Dataset"):
        mbk.partial_fit(tf.data.Dataset.from_tensor_slices(X).batch(5))


@pytest.mark.parametrize("streamed", [False, True])
def test_interrupted_fit_resumes_to_the_same_result(digits, tmp_path, interrupted, streamed):
    import tfcluster.cluster._minibatch as module

    X, _ = digits
    X = tf.data.Dataset.from_tensor_slices(X).batch(128) if streamed else X
    params = {"batch_size": 128, "random_state": 0, "dtype": "float64", "max_iter": 3}
    params["max_no_improvement"] = None  # run every step: several segments
    ref = MiniBatchKMeans(10, **params).fit(X)
    mbk = MiniBatchKMeans(10, **params)
    # two saved segments, then the process dies
    interrupted(mbk, X, (module, "_fit", 3), checkpoint_dir=tmp_path, checkpoint_every=7)
    mbk.fit(X, checkpoint_dir=tmp_path, checkpoint_every=7)
    assert mbk.n_steps_ == ref.n_steps_ > 14
    np.testing.assert_array_equal(mbk.cluster_centers_, ref.cluster_centers_)
    with pytest.raises(ValueError, match="another fit"):
        MiniBatchKMeans(9, **params).fit(X, checkpoint_dir=tmp_path)


# scikit-learn's verbose output and warnings (issue 14) ------------------------------


def test_verbose_prints_as_scikit_learn_on_stdout(iris, capfd):
    X, _ = iris
    kw = dict(batch_size=20, random_state=0, n_init=2, init="random")
    quiet = MiniBatchKMeans(3, **kw).fit(X)
    assert capfd.readouterr() == ("", "")  # verbose=0: nothing at all
    mbk = MiniBatchKMeans(3, verbose=1, **kw).fit(X)
    out = capfd.readouterr()
    assert out.err == ""
    lines = out.out.strip().splitlines()
    n_steps = 100 * len(X) // 20
    assert lines[:4:2] == ["Init 1/2 with method random", "Init 2/2 with method random"]
    assert lines[1].startswith("Inertia for init 1/2: ")
    assert lines[4] == f"Minibatch step 1/{n_steps}: initialised the ewa inertia"
    steps = [line for line in lines if line.startswith("Minibatch step")]
    assert len(steps) == mbk.n_steps_
    assert steps[-1].startswith(f"Minibatch step {mbk.n_steps_}/{n_steps}: ewa inertia: ")
    assert lines[-1] == (
        f"Converged (lack of improvement in inertia) at step {mbk.n_steps_}/{n_steps}"
    )
    # one step per call gives the compiled loop's result
    np.testing.assert_array_equal(mbk.cluster_centers_, quiet.cluster_centers_)
    assert mbk.n_steps_ == quiet.n_steps_
    # scikit-learn's lines for the same settings start the same way
    SKMiniBatchKMeans(3, verbose=1, **kw).fit(X)
    theirs = capfd.readouterr().out.strip().splitlines()
    assert theirs[:4:2] == lines[:4:2] and theirs[1].startswith("Inertia for init 1/2: ")
    assert theirs[-1].startswith("Converged (lack of improvement in inertia) at step ")


def test_verbose_on_a_dataset_prints_the_last_step(capfd):
    X = np.random.default_rng(0).normal(size=(200, 2))
    ds = tf.data.Dataset.from_tensor_slices(X).batch(50)
    mbk = MiniBatchKMeans(2, max_iter=2, max_no_improvement=None, verbose=1, random_state=0)
    mbk.fit(ds)
    steps = [line for line in capfd.readouterr().out.splitlines() if "step" in line]
    assert mbk.n_steps_ == 8 and len(steps) == 1  # the steps stay one compiled call
    assert steps[0].startswith("Minibatch step 8: ewa inertia: ")
    assert np.isfinite(float(steps[0].split()[-1]))


def test_adjusted_init_size_and_n_init_warn_as_scikit_learn(iris):
    X, _ = iris
    cases = [
        (dict(init_size=2), "init_size=2 should be larger than n_clusters=3"),
        (dict(init=X[:3], n_init=3), "performing only one init in MiniBatchKMeans instead of n"),
    ]
    for kw, message in cases:
        with pytest.warns(RuntimeWarning, match=message):
            SKMiniBatchKMeans(3, random_state=0, **kw).fit(X)
        with pytest.warns(RuntimeWarning, match=message) as record:
            MiniBatchKMeans(3, random_state=0, **kw).fit(X)
        assert record[0].filename == __file__  # attributed to the caller's fit
    # init_size below n_clusters becomes 3 * n_clusters rows, as in scikit-learn
    with pytest.warns(RuntimeWarning, match="init_size=2"):
        assert MiniBatchKMeans(3, init_size=2)._init_size(len(X)) == 9
    with pytest.warns(RuntimeWarning, match="init_size=2"):
        assert MiniBatchKMeans(3, init_size=2)._init_size(5) == 5
    assert MiniBatchKMeans(3, batch_size=20)._init_size(len(X)) == 60
