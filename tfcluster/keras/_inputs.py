"""Input checks of tfcluster's Keras layers: every layer takes ``[batch, n_features]``.

``InputChecked`` (mixin of every head and of ``ClusteringLayer``) checks the
static shape of what a layer is called on before Keras's call machinery
would wrap the error; ``layer_inputs`` converts and checks inputs inside
``call``; ``value_initializer`` gives a weight its fitted value on every
build path.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfcluster._validation import check_dense

__all__ = ["InputChecked", "check_input_shape", "layer_inputs", "value_initializer"]


def _input_shape_error(layer, shape, n_features, why=""):
    """The ValueError for ``shape`` given to ``layer``, which takes ``[batch, n_features]``."""
    d = "d" if n_features is None else n_features
    return ValueError(
        f"{type(layer).__name__} expects inputs [batch, {d}]{why}; got shape {tuple(shape)}."
    )


def check_input_shape(layer, shape, n_features, why=""):
    """Raise ValueError unless the static ``shape`` can be ``[batch, n_features]``.

    Only what is known is checked: an unknown rank or dimension passes (a
    ``tf.function`` traced with ``None`` dimensions). ``n_features=None``
    checks the rank only. ``why`` is added to the message after the shape.
    """
    shape = tf.TensorShape(shape)
    if shape.rank is None:
        return
    if not shape.is_compatible_with([None, n_features]):
        raise _input_shape_error(layer, shape.as_list(), n_features, why)


def layer_inputs(layer, inputs, n_features, why="", dtype=None):
    """``inputs`` as a tensor of ``dtype`` (None: the layer's compute dtype),
    checked to be ``[batch, n_features]``.

    Integer and boolean inputs are cast too (Keras itself casts floating
    inputs only); other dtypes raise TypeError.
    """
    check_dense(inputs, f"{type(layer).__name__} inputs")
    x = tf.convert_to_tensor(inputs)
    if not (x.dtype.is_floating or x.dtype.is_integer or x.dtype.is_bool):
        raise TypeError(
            f"{type(layer).__name__} takes real numbers (float, int or bool); "
            f"got inputs of dtype {x.dtype.name}."
        )
    check_input_shape(layer, x.shape, n_features, why)
    return tf.cast(x, layer.compute_dtype if dtype is None else dtype)  # [b, d]


def value_initializer(value):
    """A Keras initializer returning ``value`` (an array) cast to the weight's dtype.

    Given to ``add_weight``, the value is part of the variable's creation, so
    the weight holds it whatever the build path: eager, symbolic
    (``keras.Input``), inside a traced function (``Sequential.predict``/``fit``
    without ``keras.Input``, ``tf.function``) or under a ``tf.distribute``
    scope. (A ``weight.assign`` in ``build`` is lost when ``build`` runs in a
    trace.)
    """
    value = np.asarray(value)

    def initializer(shape, dtype=None):
        if tuple(shape) != value.shape:
            raise ValueError(f"expected a weight of shape {value.shape}; got {tuple(shape)}.")
        return tf.cast(value, dtype or keras.config.floatx())

    return initializer


class InputChecked:
    """Mixin for a Keras layer taking ``[batch, n_features]``: checks inputs before Keras does.

    ``__call__`` checks the static shape of the inputs (arrays, tensors,
    symbolic ``keras.Input``), so a wrong rank or feature count raises this
    module's plain ValueError rather than one wrapped by Keras's call
    machinery. Subclasses give ``_n_features() -> (n_features or None, why)``.
    """

    def _n_features(self):
        raise NotImplementedError

    def __call__(self, inputs, *args, **kwargs):
        try:
            shape = inputs.shape if hasattr(inputs, "shape") else np.shape(inputs)
        except ValueError:  # a ragged nested list: left to the conversion
            shape = None
        check_input_shape(self, shape, *self._n_features())
        return super().__call__(inputs, *args, **kwargs)
