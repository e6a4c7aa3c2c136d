"""The contract of every Keras head (test_layers.py, test_variant_heads.py): in a model,
at each batch size, after save/load and after export, it gives what its estimator gives."""

import keras
import numpy as np
import tensorflow as tf


def assert_same(got, want, atol=1e-5):
    """Integer outputs equal; real ones within ``rtol=1e-5`` and ``atol``."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    if want.dtype.kind in "iu":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=atol)


def check_head(est, make, output, want, X, tmp_path, *, atol=1e-5, batch_sizes=(None,)):
    """``make(est, output=output)`` is ``est.as_layer(output)``'s kind of head and
    gives ``want`` (the estimator's answer on ``X``) in a ``keras.Sequential``
    at each of ``batch_sizes`` (None: Keras's default; 1: the first 120 rows),
    once saved and loaded without custom objects, and once exported."""
    head = make(est, output=output)
    assert type(head) is type(est.as_layer(output))
    assert not head.trainable
    model = keras.Sequential([keras.Input((X.shape[1],)), head])
    for batch in batch_sizes:
        rows = X[:120] if batch == 1 else X  # one row at a time: fewer rows
        got = model.predict(rows, batch_size=batch, verbose=0)
        assert_same(got, want[: len(rows)], atol)
    assert model.output_shape == (None,) + want.shape[1:]
    assert head.compute_output_shape((None, X.shape[1])) == (None,) + want.shape[1:]
    assert not model.trainable_weights and model.non_trainable_weights

    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert_same(loaded.predict(X, batch_size=7, verbose=0), want, atol)
    assert type(loaded.layers[-1]) is type(head)
    assert loaded.layers[-1].get_config() == head.get_config()

    model.export(str(tmp_path / "served"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "served"))
    assert_same(served.serve(tf.constant(X)).numpy(), want, atol)
