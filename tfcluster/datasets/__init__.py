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
    n_samples: int = 100,
    n_features: int = 2,
    centers: int = 3,
    *,
    cluster_std: float = 1.0,
    center_box: tuple[float, float] = (-10.0, 10.0),
    random_state: int | None = None,
    dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Isotropic Gaussian blobs, for tests, examples and benchmarks.

    Args:
        n_samples: total number of rows, split as evenly as possible.
        n_features: number of columns.
        centers: number of blobs.
        cluster_std: standard deviation of every blob.
        center_box: bounds of the uniformly drawn blob centers.
        random_state: seed (int) or None.
        dtype: dtype of ``X``.

    Returns:
        ``(X [n_samples, n_features], y [n_samples])``, rows shuffled.
    """
    rng = np.random.default_rng(random_state)
    means = rng.uniform(*center_box, size=(centers, n_features))
    y = np.arange(n_samples) % centers
    rng.shuffle(y)
    X = means[y] + rng.normal(scale=cluster_std, size=(n_samples, n_features))
    return X.astype(dtype), y.astype(np.int64)
