"""The input kinds of the fuzz table: every way a user can pass ``X``.

``KINDS`` maps a name to ``(make, valid)``: ``make()`` builds the input from
the base data (20 rows, 3 features, two groups of small integers, so every
dtype holds it exactly) and ``valid`` says whether it must be accepted
(True), refused (False) or either (None: numeric object arrays, whose
acceptance scikit-learn compatibility decides).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

BASE = np.array(
    [[1, 2, 1], [2, 1, 1], [1, 1, 2], [2, 2, 2], [1, 2, 2], [2, 1, 2], [1, 1, 1], [2, 2, 1]]
    + [[1, 1, 1], [2, 2, 2]]
    + [[8, 9, 8], [9, 8, 8], [8, 8, 9], [9, 9, 9], [8, 9, 9], [9, 8, 9], [8, 8, 8], [9, 9, 8]]
    + [[8, 8, 8], [9, 9, 9]],
    dtype=np.float64,
)  # [20, 3]
LABELS = np.repeat([0, 1], 10)  # [20]


def reference(kind: str) -> np.ndarray:
    """The float64 values an accepted input stands for."""
    if kind.endswith("bool"):
        return (BASE > 4).astype(np.float64)
    return BASE


def _dataset(x, batch=7):
    return tf.data.Dataset.from_tensor_slices(x).batch(batch)


def _generator_dataset(batches, *, weights=None):
    """A dataset of the given numpy batches (any widths), with optional weights."""

    def gen():
        for i, b in enumerate(batches):
            if weights is None:
                yield b
            else:
                yield b, np.zeros(len(b)), weights[i]

    x_sig = tf.TensorSpec([None, None], tf.float64)
    if weights is None:
        return tf.data.Dataset.from_generator(gen, output_signature=x_sig)
    w_sig = tf.TensorSpec([None], tf.as_dtype(np.asarray(weights[0]).dtype))
    y_sig = tf.TensorSpec([None], tf.float64)
    return tf.data.Dataset.from_generator(gen, output_signature=(x_sig, y_sig, w_sig))


def _numpy(dtype):
    return lambda: BASE.astype(dtype) if dtype is not bool else BASE > 4


def _tensor(dtype):
    def make():
        if dtype == tf.bool:
            return tf.constant(BASE > 4)
        if dtype == tf.string:
            return tf.strings.as_string(tf.constant(BASE))
        return tf.cast(tf.constant(BASE), dtype)

    return make


KINDS: dict[str, tuple] = {}
for _name in "float16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64".split():
    KINDS[f"np_{_name}"] = (_numpy(np.dtype(_name)), True)
KINDS["np_bool"] = (_numpy(bool), True)
KINDS["list"] = (lambda: BASE.tolist(), True)
for (
    _name
) in "float16 bfloat16 float32 float64 int8 int16 int32 int64 uint8 uint16 uint32 uint64".split():
    KINDS[f"tf_{_name}"] = (_tensor(tf.as_dtype(_name)), True)
KINDS["tf_bool"] = (_tensor(tf.bool), True)
KINDS["tf_variable"] = (lambda: tf.Variable(BASE.astype(np.float32)), True)
KINDS["np_object_numeric"] = (lambda: BASE.astype(object), None)
KINDS.update(
    {
        "np_complex64": (lambda: BASE.astype(np.complex64), False),
        "np_complex128": (lambda: BASE + 1j, False),
        # words: numeric strings in an object array are numbers to scikit-learn
        "np_object_str": (lambda: np.where(BASE > 4, "high", "low").astype(object), False),
        "np_str": (lambda: BASE.astype(str), False),
        "np_datetime": (lambda: BASE.astype("datetime64[s]"), False),
        "tf_complex64": (_tensor(tf.complex64), False),
        "tf_string": (_tensor(tf.string), False),
        "sparse_tensor": (lambda: tf.sparse.from_dense(tf.constant(BASE)), False),
        "ragged_tensor": (lambda: tf.ragged.constant([[1.0, 2.0], [3.0]] * 10), False),
        "ragged_list": (lambda: [[1.0, 2.0], [3.0]] * 10, False),
        "none": (lambda: None, False),
        "string": (lambda: "data.csv", False),
        "scalar": (lambda: 3.0, False),
        "empty": (lambda: np.zeros((0, 3)), False),
        "no_features": (lambda: np.zeros((20, 0)), False),
        "one_d": (lambda: BASE[:, 0], False),
        "three_d": (lambda: BASE[:, :, None], False),
        "nan": (lambda: np.where(BASE == 9, np.nan, BASE), False),
        "inf": (lambda: np.where(BASE == 9, np.inf, BASE), False),
        "tf_nan": (lambda: tf.constant(np.where(BASE == 9, np.nan, BASE)), False),
        "huge_float64": (lambda: BASE * 1e300, False),
    }
)

# Datasets: accepted by the entry points that stream, refused by the others.
DATASET_KINDS: dict[str, tuple] = {
    "ds_float32": (lambda: _dataset(BASE.astype(np.float32)), True),
    "ds_int64": (lambda: _dataset(BASE.astype(np.int64)), True),
    "ds_uint8": (lambda: _dataset(BASE.astype(np.uint8)), True),
    "ds_tuple_xyw": (
        lambda: tf.data.Dataset.from_tensor_slices((BASE, LABELS, np.ones(20))).batch(7),
        True,
    ),
    "ds_unknown_width": (lambda: _generator_dataset([BASE[:7], BASE[7:]]), True),
    "ds_width_changes": (lambda: _generator_dataset([BASE[:7], BASE[7:, :2]]), False),
    "ds_empty_batch": (lambda: _generator_dataset([BASE[:7], BASE[:0], BASE[7:]]), True),
    "ds_empty": (lambda: _dataset(BASE.astype(np.float32)).take(0), False),
    "ds_weights_short": (
        lambda: _generator_dataset([BASE[:7], BASE[7:]], weights=[np.ones(6), np.ones(13)]),
        False,
    ),
    "ds_weights_string": (
        lambda: _generator_dataset([BASE[:7], BASE[7:]], weights=[np.array(["a"] * 7)] * 2),
        False,
    ),
    "ds_weights_negative": (
        lambda: _generator_dataset([BASE[:7], BASE[7:]], weights=[-np.ones(7), np.ones(13)]),
        False,
    ),
    "ds_weights_huge": (
        lambda: _generator_dataset([BASE[:7], BASE[7:]], weights=[np.full(7, 1e300)] * 2),
        False,
    ),
    "ds_nan": (lambda: _dataset(np.where(BASE == 9, np.nan, BASE)), False),
    "ds_rows": (lambda: tf.data.Dataset.from_tensor_slices(BASE), False),
    "ds_dict": (lambda: tf.data.Dataset.from_tensor_slices({"x": BASE}).batch(7), False),
    "ds_infinite": (lambda: _dataset(BASE).repeat(), False),
    "ds_strings": (lambda: _dataset(BASE.astype(str)), False),
}

# A representative subset for the default run.
FAST_KINDS = {
    "np_float64",
    "np_uint64",
    "np_bool",
    "tf_uint32",
    "tf_bfloat16",
    "np_complex64",
    "np_object_str",
    "sparse_tensor",
    "ragged_tensor",
    "nan",
    "empty",
    "one_d",
    "ds_width_changes",
    "ds_empty_batch",
    "ds_weights_short",
    "ds_weights_string",
    "ds_weights_huge",
}
