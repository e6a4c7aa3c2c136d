"""The classic self-organizing map picture of the handwritten digits.

Trains a 20x20 map on the bundled digits (columns scaled to unit variance),
then draws its U-matrix in grey with one marker and colour per digit class at
each sample's winning node, and saves it as a PNG.

Run: python examples/som_digits.py [--output som_digits.png] [--force]
"""

from __future__ import annotations

import argparse
import os
import tempfile

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfcluster.datasets import load_digits  # noqa: E402
from tfcluster.plot import som_umatrix  # noqa: E402
from tfcluster.som import SelfOrganizingMap  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="som_digits.png", help="PNG file to write")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--steps", type=int, default=20_000, help="online training steps")
    args = parser.parse_args(argv)
    if os.path.exists(args.output) and not args.force:
        parser.error(f"{args.output} exists; pass --force to overwrite it.")

    X, y = load_digits()
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)

    som = SelfOrganizingMap(
        20, 20, sigma=3.0, learning_rate=0.5, init="pca", num_iteration=args.steps, random_state=0
    )
    som.fit(X)
    print(f"20x20 map, {som.n_iter_} online steps on {len(X)} digits")
    print(f"quantization error {som.quantization_error(X):.3f}")
    print(f"topographic error  {som.topographic_error(X):.3f}")

    fig, ax = plt.subplots(figsize=(8, 6.5))
    som_umatrix(som, X, y, ax=ax)
    ax.set_title("Digits on a self-organizing map (U-matrix, winners by digit)")
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(args.output))
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".png", delete=False) as tmp:
        fig.savefig(tmp.name, dpi=120)
    os.replace(tmp.name, args.output)
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
