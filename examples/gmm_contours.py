"""Density contours of a two-component Gaussian mixture over its training data.

The classic 2-D example: a shifted round Gaussian and a stretched one centred
at the origin. A full-covariance GaussianMixture is fitted and its negative
log-likelihood is drawn as contours over the scatter, saved as a PNG.

    python examples/gmm_contours.py [--output gmm_contours.png] [--force]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from tfcluster.mixture import GaussianMixture  # noqa: E402


def two_components(n=300, seed=0):
    """``[2n, 2]``: a round Gaussian shifted to (20, 20) and a stretched one at 0."""
    rng = np.random.default_rng(seed)
    shifted = rng.normal(size=(n, 2)) + np.array([20.0, 20.0])
    stretched = rng.normal(size=(n, 2)) @ np.array([[0.0, -0.7], [3.5, 0.7]])
    return np.vstack([shifted, stretched])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="gmm_contours.png")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    args = parser.parse_args()
    if os.path.exists(args.output) and not args.force:
        raise SystemExit(f"{args.output} exists; pass --force to overwrite it.")

    X = two_components()
    gm = GaussianMixture(2, covariance_type="full", random_state=0).fit(X)

    xs, ys = np.meshgrid(np.linspace(-20.0, 30.0, 200), np.linspace(-20.0, 40.0, 200))
    grid = np.column_stack([xs.ravel(), ys.ravel()])
    nll = -gm.score_samples(grid).reshape(xs.shape)

    fig, ax = plt.subplots(figsize=(6, 5))
    levels = np.logspace(0, 3, 12)
    contours = ax.contour(xs, ys, nll, norm=LogNorm(vmin=1.0, vmax=1000.0), levels=levels)
    fig.colorbar(contours, ax=ax, shrink=0.8, extend="both", label="negative log-likelihood")
    ax.scatter(X[:, 0], X[:, 1], s=2, c="k")
    ax.scatter(*gm.means_.T, marker="x", s=80, c="r", label="fitted means")
    ax.set_title("Negative log-likelihood predicted by a GaussianMixture")
    ax.legend(loc="upper left")
    ax.axis("tight")
    fig.tight_layout()

    folder = os.path.dirname(os.path.abspath(args.output))
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=folder)
    os.close(fd)
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, args.output)  # written whole, then renamed
    means = np.round(gm.means_.astype(np.float64), 2).tolist()
    print(f"weights {np.round(gm.weights_.astype(np.float64), 3).tolist()}, means {means}")
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
