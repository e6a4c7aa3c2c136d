"""Bundled data against scikit-learn's copies; make_blobs' blobs, seeds and input checks."""

import numpy as np
import pytest
from sklearn import datasets as skdatasets

from tfcluster.datasets import load_digits, load_iris, make_blobs


@pytest.mark.parametrize(
    "ours, theirs", [(load_digits, skdatasets.load_digits), (load_iris, skdatasets.load_iris)]
)
def test_bundled_data_equal_to_sklearn(ours, theirs):
    X, y = ours()
    expected = theirs()
    np.testing.assert_array_equal(X, expected.data)
    np.testing.assert_array_equal(y, expected.target)
    assert X.dtype == np.float64 and y.dtype == np.int64


@pytest.mark.parametrize("seed", [0, 1, 123])
def test_int_seed_gives_the_historical_data(seed):
    # The draw sequence make_blobs has always used, so seeded tests and benchmarks keep their data.
    rng = np.random.default_rng(seed)
    means = rng.uniform(-10.0, 10.0, size=(4, 3))
    y = np.arange(50) % 4
    rng.shuffle(y)
    X = means[y] + rng.normal(scale=0.7, size=(50, 3))
    got_X, got_y = make_blobs(50, 3, 4, cluster_std=0.7, random_state=seed)
    np.testing.assert_array_equal(got_X, X.astype(np.float32))
    np.testing.assert_array_equal(got_y, y)
    assert got_X.dtype == np.float32 and got_y.dtype == np.int64


def test_defaults_three_blobs_two_features_split_evenly():
    X, y = make_blobs(10, random_state=0)
    assert X.shape == (10, 2)
    np.testing.assert_array_equal(np.bincount(y), [4, 3, 3])


def test_centers_array_gives_blobs_around_those_centers():
    centers = np.array([[0.0, 0.0, 0.0], [5.0, -5.0, 2.0], [-20.0, 10.0, 7.0]])
    X, y = make_blobs(3000, centers=centers, cluster_std=0.5, random_state=0, dtype="float64")
    assert X.shape == (3000, 3) and X.dtype == np.float64
    np.testing.assert_array_equal(np.bincount(y), [1000, 1000, 1000])
    means = np.stack([X[y == k].mean(0) for k in range(3)])
    # The mean of 1000 draws of std 0.5 is within 4 standard errors (0.063) of the center.
    np.testing.assert_allclose(means, centers, atol=4 * 0.5 / np.sqrt(1000))


def test_centers_array_with_matching_n_features_accepted():
    X, _ = make_blobs(8, 2, [[0, 0], [5, 5]], random_state=0)
    assert X.shape == (8, 2)


def test_cluster_std_per_center():
    stds = [0.1, 1.0, 3.0]
    X, y = make_blobs(3000, 2, [[0, 0], [0, 0], [0, 0]], cluster_std=stds, random_state=1)
    measured = [X[y == k].std(0, ddof=1) for k in range(3)]
    # 1000 draws: the sample std is within about 4 * std / sqrt(2000) of the true one.
    for got, want in zip(measured, stds, strict=True):
        np.testing.assert_allclose(got, want, rtol=4 / np.sqrt(2000))


def test_n_samples_per_center():
    X, y = make_blobs([5, 0, 7], random_state=0)
    assert X.shape == (12, 2)
    np.testing.assert_array_equal(np.bincount(y, minlength=3), [5, 0, 7])
    X, y = make_blobs([2, 3], centers=[[0, 0, 0], [9, 9, 9]], random_state=0)
    assert X.shape == (5, 3)
    np.testing.assert_array_equal(np.bincount(y), [2, 3])


def test_center_box_bounds_the_centers():
    X, y = make_blobs(400, 2, 8, cluster_std=0.0, center_box=(3.0, 4.0), random_state=0)
    assert X.min() >= 3.0 and X.max() <= 4.0
    assert len(np.unique(y)) == 8


@pytest.mark.parametrize("make", [np.random.RandomState, np.random.default_rng])
def test_numpy_random_states_drawn_from(make):
    first = make_blobs(20, random_state=make(5))
    again = make_blobs(20, random_state=make(5))
    np.testing.assert_array_equal(first[0], again[0])
    rng = make(5)
    a, b = make_blobs(20, random_state=rng), make_blobs(20, random_state=rng)
    assert not np.array_equal(a[0], b[0])  # the generator advanced between the two calls


def test_none_seed_gives_fresh_data():
    assert not np.array_equal(make_blobs(20)[0], make_blobs(20)[0])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(n_samples=-5), ValueError, "n_samples must be an integer >= 1"),
        (dict(n_samples=0), ValueError, "n_samples must be an integer >= 1"),
        (dict(n_samples=10.0), TypeError, "n_samples must be an integer"),
        (dict(n_samples=True), TypeError, "n_samples must be an integer"),
        (dict(n_samples="10"), TypeError, "n_samples must be an integer"),
        (dict(n_samples=[3, -1]), ValueError, r"n_samples\[1\] must be an integer >= 0"),
        (dict(n_samples=[0, 0]), ValueError, "n_samples must give at least one row"),
        (dict(n_samples=[3, 4], centers=3), ValueError, "n_samples gives the rows of 2 blobs"),
        (dict(n_features=0), ValueError, "n_features must be an integer >= 1"),
        (dict(n_features=2.0), TypeError, "n_features must be an integer"),
        (dict(centers=0), ValueError, "centers must be an integer >= 1"),
        (dict(centers=2.5), TypeError, "centers must be an integer"),
        (dict(centers="3"), TypeError, "centers must be an integer"),
        (dict(centers=[0.0, 1.0]), ValueError, r"centers must be an int or an array \[n_centers"),
        (dict(centers=[[0], [1, 2]]), ValueError, "centers must be an int or an array"),
        (dict(centers=[[0.0, np.nan]]), ValueError, "centers contains NaN"),
        (dict(centers=np.zeros((0, 2))), ValueError, "centers has 0 sample"),
        (dict(centers=[["a", "b"]]), TypeError, "centers must contain numbers"),
        (dict(n_features=3, centers=[[0, 0]]), ValueError, "n_features=3 disagrees with centers"),
        (dict(cluster_std=float("nan")), ValueError, "cluster_std must be a finite number"),
        (dict(cluster_std=-1), ValueError, "cluster_std must be a finite number >= 0"),
        (dict(cluster_std="1"), TypeError, "cluster_std must be a real number"),
        (dict(cluster_std=[1, 2]), ValueError, "cluster_std must be a number or a sequence"),
        (dict(cluster_std=[[1, 2, 3]]), ValueError, "cluster_std must be a number or a sequence"),
        (dict(cluster_std=[1, 2, np.inf]), ValueError, r"cluster_std\[2\] must be a finite"),
        (dict(center_box=(10, -10)), ValueError, "center_box must be a pair .* min <= max"),
        (dict(center_box=(0, np.inf)), ValueError, "center_box must be a pair .* finite"),
        (dict(center_box=5), TypeError, "center_box must be a pair"),
        (dict(center_box=(1, 2, 3)), TypeError, "center_box must be a pair"),
        (dict(center_box=("a", "b")), TypeError, "center_box must be a pair"),
        (dict(random_state=-1), ValueError, "random_state must be a non-negative int"),
        (dict(random_state="seed"), TypeError, "random_state must be an int, None"),
        (dict(random_state=1.5), TypeError, "random_state must be an int, None"),
        (dict(dtype="int32"), ValueError, "Unknown dtype 'int32'"),
    ],
)
def test_bad_input_names_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_blobs(**{"n_samples": 10, **kwargs})
