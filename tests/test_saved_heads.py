"""A ``.keras`` file saved before the package layout changed still loads and predicts the same.

``tests/data/heads_v0.keras`` was written by the flat-layout code (commit 871bd49):
a model with a KMeans head (distances), a GaussianMixture head (proba), a SOM head
(distances) and a DEC ClusteringLayer; ``heads_v0_expected.npz`` holds its input and
predictions. Keras finds the layers by their registered names ("tfcluster>...").
"""

from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"


def test_keras_file_saved_before_the_layout_loads_and_predicts_the_same():
    import keras

    import tfcluster  # noqa: F401  (registers the layers)

    model = keras.models.load_model(DATA / "heads_v0.keras")
    expected = np.load(DATA / "heads_v0_expected.npz")
    pred = model.predict(expected["X"], verbose=0)
    for name in ("kmeans", "gmm", "som", "dec"):
        np.testing.assert_allclose(np.asarray(pred[name]), expected[name], rtol=1e-5, atol=1e-6)
