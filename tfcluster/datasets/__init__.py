"""Bundled small real data sets and synthetic generators.

Examples:
    >>> from tfcluster.datasets import load_digits
    >>> X, y = load_digits()
    >>> X.shape, y.shape
    ((1797, 64), (1797,))
"""

from __future__ import annotations

import gzip
from importlib import resources

import numpy as np
import tensorflow as tf

from tfcluster._base import check_dtype, check_number, check_positive_int, make_seed
from tfcluster._validation import check_array

__all__ = ["load_digits", "load_iris", "make_blobs"]


def _data_file(name: str):
    return resources.files(__package__).joinpath("data", name)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: 1,797 images of 8x8 pixels (values 0..16).

    Returns:
        ``(X, y)``: ``X`` float64 ``[1797, 64]`` (rows are images read row by
        row), ``y`` int64 ``[1797]`` the digit 0..9. See
        ``data/ATTRIBUTION.md`` for the source and licence.
    """
    with _data_file("digits.csv.gz").open("rb") as raw, gzip.open(raw, "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    return data[:, :-1], data[:, -1].astype(np.int64)


def load_iris() -> tuple[np.ndarray, np.ndarray]:
    """Fisher's iris: 150 flowers, 4 measurements in cm, 3 species.

    Returns:
        ``(X, y)``: ``X`` float64 ``[150, 4]`` (sepal length, sepal width,
        petal length, petal width), ``y`` int64 ``[150]`` the species 0..2.
    """
    with _data_file("iris.csv").open("r") as f:
        data = np.loadtxt(f, delimiter=",", skiprows=1)
    return data[:, :-1], data[:, -1].astype(np.int64)


def make_blobs(
    n_samples=100,
    n_features: int | None = None,
    centers=None,
    *,
    cluster_std=1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    random_state=None,
    dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs, for tests, examples and benchmarks.

    The arguments are scikit-learn's ``make_blobs`` (without ``shuffle`` and
    ``return_centers``: rows are always shuffled).

    Args:
        n_samples: total number of rows (int >= 1), split as evenly as
            possible over the blobs; or a sequence of rows per blob
            (ints >= 0, at least one row in all).
        n_features: number of columns (int >= 1). None means 2, or the
            number of columns of ``centers`` when it is an array.
        centers: number of blobs (int >= 1; None means 3, or the length of
            ``n_samples`` when it is a sequence), drawn uniformly in
            ``center_box``; or the blob centers themselves, an array
            ``[n_centers, n_features]`` of finite numbers.
        cluster_std: standard deviation of every blob (a number >= 0), or
            one per blob (a sequence ``[n_centers]``).
        center_box: bounds ``(min, max)`` of the uniformly drawn centers.
        random_state: an int (same int, same data), None (fresh data), or a
            numpy ``RandomState`` or ``Generator``, which is drawn from.
        dtype: dtype of ``X``, ``"float32"`` or ``"float64"``.

    Returns:
        ``(X [n_samples, n_features], y [n_samples])``, rows shuffled; ``y``
        (int64) is the blob of each row.

    Raises:
        TypeError: an argument of the wrong type.
        ValueError: an argument out of range, NaN or infinite, or arguments
            that disagree (``n_features`` and the columns of ``centers``, the
            length of ``n_samples``, ``centers`` or ``cluster_std``).

    Examples:
        >>> X, y = make_blobs(6, centers=[[0.0, 0.0], [50.0, 50.0]], cluster_std=0.1,
        ...                   random_state=0)
        >>> X.shape, [bool(abs(X[y == k] - 50 * k).max() < 1) for k in (0, 1)]
        ((6, 2), [True, True])
    """
    dtype = check_dtype(dtype).as_numpy_dtype
    rng = _generator(random_state)
    counts = _samples_per_center(n_samples)
    means = None
    if centers is None:
        centers = 3 if counts is None else len(counts)
    if isinstance(centers, str) or _ndim(centers) == 0:
        n_centers = check_positive_int("centers", centers)
        n_features = 2 if n_features is None else check_positive_int("n_features", n_features)
    else:
        if _ndim(centers) != 2:
            raise ValueError(
                "centers must be an int or an array [n_centers, n_features] of numbers; "
                f"got {_ndim(centers)}-D input (-1: ragged)."
            )
        means = check_array(centers, dtype=tf.float64, name="centers").numpy()
        n_centers = means.shape[0]
        if n_features is not None and n_features != means.shape[1]:
            raise ValueError(
                f"n_features={n_features!r} disagrees with centers of shape {means.shape}; "
                "leave n_features out when giving the centers."
            )
        n_features = means.shape[1]
    if counts is not None and len(counts) != n_centers:
        raise ValueError(
            f"n_samples gives the rows of {len(counts)} blobs but centers gives {n_centers}."
        )
    std = _cluster_std(cluster_std, n_centers)
    low, high = _center_box(center_box)
    if means is None:
        means = rng.uniform(low, high, size=(n_centers, n_features))
    if counts is None:
        y = np.arange(n_samples) % n_centers
    else:
        y = np.repeat(np.arange(n_centers), counts)
    rng.shuffle(y)
    scale = std if np.ndim(std) == 0 else std[y][:, None]  # [] or [n_samples, 1]
    X = means[y] + rng.normal(scale=scale, size=(y.shape[0], n_features))
    return X.astype(dtype), y.astype(np.int64)


def _generator(random_state):
    """A numpy generator from ``random_state``; an int gives ``default_rng(int)``."""
    if random_state is None or isinstance(
        random_state, (np.random.Generator, np.random.RandomState)
    ):
        return np.random.default_rng() if random_state is None else random_state
    make_seed(random_state)  # raises on anything but a non-negative int
    return np.random.default_rng(int(random_state))


def _ndim(value) -> int:
    """``np.ndim(value)``, or -1 for a ragged nested sequence."""
    try:
        return np.ndim(value)
    except ValueError:
        return -1


def _samples_per_center(n_samples):
    """None for an int ``n_samples`` (checked), else the list of rows per blob."""
    if isinstance(n_samples, str) or _ndim(n_samples) == 0:
        check_positive_int("n_samples", n_samples)
        return None
    counts = [check_positive_int(f"n_samples[{i}]", c, minimum=0) for i, c in enumerate(n_samples)]
    if sum(counts) < 1:
        raise ValueError(f"n_samples must give at least one row in all, got {n_samples!r}.")
    return counts


def _cluster_std(cluster_std, n_centers: int):
    """``cluster_std`` as a float, or a float64 array ``[n_centers]``."""
    if _ndim(cluster_std) == 0:
        return check_number("cluster_std", cluster_std)
    if _ndim(cluster_std) != 1 or len(cluster_std) != n_centers:
        raise ValueError(
            "cluster_std must be a number or a sequence of one number per blob "
            f"({n_centers} blobs), got {cluster_std!r}."
        )
    std = [check_number(f"cluster_std[{i}]", s) for i, s in enumerate(cluster_std)]
    return np.asarray(std)


def _center_box(center_box) -> tuple[float, float]:
    """``center_box`` as ``(min, max)`` finite floats with ``min <= max``."""
    pair = isinstance(center_box, (tuple, list, np.ndarray)) and _ndim(center_box) == 1
    box = np.asarray(center_box) if pair else np.empty(0)
    if box.shape != (2,) or box.dtype.kind not in "iuf":
        raise TypeError(f"center_box must be a pair (min, max) of numbers, got {center_box!r}.")
    if not np.all(np.isfinite(box)) or box[0] > box[1]:
        raise ValueError(
            f"center_box must be a pair (min, max) of finite numbers with min <= max, "
            f"got {center_box!r}."
        )
    return float(box[0]), float(box[1])
