"""Input conversion and validation shared by every estimator and metric.

Everything a user passes goes through here first, so that bad input ends in a
ValueError or TypeError that names the problem, never in a TensorFlow error
or a NaN result.
"""

from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

__all__ = [
    "check_array",
    "check_dense",
    "check_raw_array",
    "check_sample_weight",
    "check_labels",
    "check_n_features",
    "is_dataset",
    "largest_value",
    "largest_weight",
]


def is_dataset(X) -> bool:
    """True if ``X`` is a ``tf.data.Dataset``."""
    return isinstance(X, tf.data.Dataset)


def check_dense(X, name: str = "X") -> None:
    """Raise for the inputs no array check can take: datasets, sparse and ragged tensors.

    Raises:
        TypeError: a ``tf.data.Dataset``, a ``tf.SparseTensor`` or scipy sparse
            matrix, or a ``tf.RaggedTensor``; the message names ``name`` and
            says what to pass instead (never the value itself).
    """
    if is_dataset(X):
        raise TypeError(
            f"{name} must be an array (numpy, nested list or tf.Tensor) here; a "
            "tf.data.Dataset is not accepted."
        )
    if isinstance(X, tf.SparseTensor) or hasattr(X, "tocsr"):  # scipy.sparse as well
        raise TypeError(
            f"{name} is sparse; only dense input is supported. Pass X.toarray() "
            "(scipy) or tf.sparse.to_dense(X)."
        )
    if isinstance(X, tf.RaggedTensor):
        raise TypeError(
            f"{name} is a tf.RaggedTensor; rows of equal length are required. Pass "
            "X.to_tensor() if padding the short rows with zeros is meant."
        )


def _to_numpy(X, name: str) -> np.ndarray:
    check_dense(X, name)
    if isinstance(X, (tf.Tensor, tf.Variable)):
        if not (X.dtype.is_floating or X.dtype.is_integer or X.dtype.is_bool):
            raise TypeError(f"{name} must contain real numbers; got a tensor of {X.dtype.name}.")
        X = X.numpy()
    if isinstance(X, (str, bytes)):
        raise TypeError(f"{name} must be a 2-D array of numbers, got a string.")
    try:
        arr = np.asarray(X)
    except ValueError as exc:  # ragged nested lists (numpy >= 1.24)
        raise ValueError(
            f"{name} must be a 2-D array of numbers with rows of equal length; "
            f"got a ragged sequence ({exc})."
        ) from None
    if arr.dtype == object:
        arr = _numeric_objects(arr, name)
    if arr.dtype.kind in "USV":
        raise TypeError(f"{name} must contain numbers; got an array of dtype {arr.dtype}.")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers; got an array of dtype {arr.dtype}.")
    return arr


def _numeric_objects(arr: np.ndarray, name: str) -> np.ndarray:
    """An object array of numbers as float64, as scikit-learn converts it."""
    if arr.ndim == 1 and any(isinstance(v, (list, tuple, np.ndarray)) for v in arr):
        raise ValueError(
            f"{name} must be a 2-D array of numbers with rows of equal length; "
            "got a ragged sequence."
        )
    try:
        return arr.astype(np.float64)
    except TypeError as exc:  # a dict, None, complex: "argument must be a string or..."
        raise TypeError(f"{name} of dtype object must hold real numbers only: {exc}.") from None
    except ValueError as exc:  # a string that is not a number
        raise ValueError(f"{name} of dtype object must hold real numbers only: {exc}.") from None


def check_array(
    X,
    *,
    dtype=tf.float32,
    name: str = "X",
    min_samples: int = 1,
    n_features: int | None = None,
) -> tf.Tensor:
    """Validate ``X`` and return it as a 2-D tf.Tensor ``[n_samples, n_features]``.

    Args:
        X: numpy array, nested list or tf.Tensor of shape ``[n_samples, n_features]``.
        dtype: tf.float32 or tf.float64, the dtype of the result.
        name: the argument's name, used in error messages.
        min_samples: the fewest rows accepted.
        n_features: if given, the number of columns required (from ``fit``).

    Returns:
        tf.Tensor of ``dtype``, shape ``[n_samples, n_features]``.

    Raises:
        TypeError: strings, objects or complex numbers.
        ValueError: wrong number of dimensions, ragged rows, too few rows, no
            columns, NaN or infinity, or a different number of features.
    """
    x, _ = _checked(X, dtype, name, min_samples, n_features)
    if tf.is_tensor(x):
        return tf.cast(x, dtype)
    return to_tensor(x.astype(dtype.as_numpy_dtype, copy=False))


def check_raw_array(X, *, dtype=tf.float32, name="X", min_samples=1, n_features=None):
    """As ``check_array``, but the tensor keeps the input's own precision.

    Float32 input stays float32; float64, integer and boolean input become
    float64, so no digit is lost before the data are shifted (and scaled)
    into the compute ``dtype``. The checks are those of ``check_array``, in
    one pass.

    Returns:
        ``(x [n_samples, n_features], largest)``: the float32 or float64 tensor
        and the largest magnitude in it.

    Raises:
        As ``check_array`` (the overflow limit is that of ``dtype``).
    """
    x, largest = _checked(X, dtype, name, min_samples, n_features)
    own = tf.float32 if tf.as_dtype(x.dtype) == tf.float32 else tf.float64
    if tf.is_tensor(x):
        return tf.cast(x, own), largest
    return to_tensor(x.astype(own.as_numpy_dtype, copy=False)), largest


_LARGE = 2**20  # elements from which to_tensor copies through an aligned buffer
_ALIGN = 64  # bytes: the alignment TensorFlow requires of a buffer it adopts


def to_tensor(arr: np.ndarray) -> tf.Tensor:
    """A copy of the numpy array ``arr`` as a tensor (on the host).

    A large float array is copied by numpy into an aligned buffer that the
    tensor then adopts through DLPack: on 1,000,000 x 32 float32 rows this
    takes 20 ms against 105 ms for ``tf.convert_to_tensor``'s own copy. The
    buffer belongs to the tensor alone (the user's array is never aliased).
    """
    if arr.size < _LARGE or arr.dtype not in (np.float32, np.float64):
        return tf.convert_to_tensor(arr)
    raw = np.empty(arr.nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    out = raw[start : start + arr.nbytes].view(arr.dtype).reshape(arr.shape)
    np.copyto(out, arr)
    return tf.experimental.dlpack.from_dlpack(out.__dlpack__())


def _checked(X, dtype, name, min_samples, n_features):
    """``(x, largest)``: ``X`` checked, as a tensor or numpy array of its own dtype."""
    check_dense(X, name)
    # A numpy array is checked by numpy, whatever its size: its min and max take
    # 0.2 ms on 100,000 x 16 float32 and 14 ms on 1,000,000 x 32, TensorFlow's
    # three reductions 1.2 and 19.5 ms (2 CPU cores).
    if tf.is_tensor(X) and (X.dtype.is_floating or X.dtype.is_integer):
        # A numeric tensor is checked where it lives (no copy to the host), in
        # its own dtype: a cast first could turn large values into infinity.
        # min and max rather than abs, which has no kernel for unsigned integers.
        _check_shape(tuple(X.shape), name, min_samples, n_features)
        finite = not X.dtype.is_floating or bool(tf.reduce_all(tf.math.is_finite(X)))
        largest = 0.0
        if finite and X.shape[0]:
            largest = max(abs(float(tf.reduce_min(X))), abs(float(tf.reduce_max(X))))
        x = X
    else:
        arr = _to_numpy(X, name)
        _check_shape(arr.shape, name, min_samples, n_features)
        low, high = (np.min(arr), np.max(arr)) if arr.size else (0.0, 0.0)  # NaN propagates
        finite = bool(np.isfinite(low) and np.isfinite(high))
        largest = max(abs(float(low)), abs(float(high))) if finite else 0.0
        x = arr
    if not finite:
        raise ValueError(f"{name} contains NaN or infinity; only finite values are accepted.")
    limit = largest_value(dtype, int(x.shape[1]))
    if largest > limit:
        raise ValueError(
            f"{name} has values up to {largest:.3g} in magnitude: squared distances "
            f"between such rows overflow {dtype.name} (values must stay within "
            f"{limit:.3g} for {int(x.shape[1])} features). Scale the data, or use "
            "dtype='float64'."
        )
    return x, largest


def largest_value(dtype, n_features: int) -> float:
    """The largest magnitude whose squared distances ``[d]`` cannot overflow ``dtype``.

    Two rows within ``+-v`` are at most ``4 * d * v^2`` apart squared, so ``v``
    must stay below ``sqrt(max / (4 d))`` (about ``9e18 / sqrt(d)`` in float32).
    """
    return float(np.sqrt(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).max / (4 * n_features)))


def _check_shape(shape: tuple, name, min_samples, n_features) -> None:
    if len(shape) != 2:
        hint = (
            " Reshape your data either using X.reshape(-1, 1) if it has a single feature or "
            "X.reshape(1, -1) if it contains a single sample."
            if len(shape) == 1
            else ""
        )
        raise ValueError(
            f"{name} must be 2-D [n_samples, n_features]; got {len(shape)}-D "
            f"with shape {shape}.{hint}"
        )
    if shape[0] < min_samples:
        raise ValueError(f"{name} has {shape[0]} sample(s); at least {min_samples} required.")
    if shape[1] < 1:
        raise ValueError(f"{name} has no features (shape {shape}); at least 1 required.")
    check_n_features(shape[1], n_features, name)


def check_n_features(got: int, expected: int | None, name: str = "X") -> None:
    """Raise ValueError if ``got`` differs from the ``expected`` number of features."""
    if expected is not None and got != expected:
        raise ValueError(
            f"{name} has {got} features, but this estimator was fitted with {expected} features."
        )


def check_sample_weight(sample_weight, n_samples: int, dtype=tf.float32) -> tf.Tensor:
    """Return ``sample_weight`` as a ``[n_samples]`` tensor; None means all ones.

    Raises:
        ValueError: wrong length, negative, non-finite, or all zero.
        TypeError: not numeric.
    """
    if sample_weight is None:
        return tf.ones([n_samples], dtype=dtype)
    if isinstance(sample_weight, numbers.Number) and not isinstance(sample_weight, bool):
        sample_weight = np.full(n_samples, sample_weight)
    w = _to_numpy(sample_weight, "sample_weight")
    if w.ndim != 1 or w.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight must be 1-D of length n_samples={n_samples}; got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)):
        raise ValueError("sample_weight contains NaN or infinity; only finite values accepted.")
    if np.any(w < 0):
        raise ValueError("sample_weight contains negative values; weights must be >= 0.")
    if not np.any(w > 0):
        raise ValueError("sample_weight is zero everywhere; at least one weight must be > 0.")
    limit = largest_weight(dtype, n_samples)
    if np.max(w) > limit:
        raise ValueError(
            f"sample_weight has values up to {float(np.max(w)):.3g}: their sum overflows "
            f"{dtype.name} (weights must stay within {limit:.3g} for {n_samples} samples). "
            "Only the ratios of the weights matter to the clusters: divide them by their "
            "maximum, or use dtype='float64'."
        )
    return tf.convert_to_tensor(w.astype(dtype.as_numpy_dtype))


def largest_weight(dtype, n_samples) -> float:
    """The largest sample weight whose sum over ``n_samples`` rows (and whose
    products with squared distances within ``largest_value``, summed in
    float64) cannot overflow ``dtype``."""
    return float(np.finfo(tf.as_dtype(dtype).as_numpy_dtype).max) / max(int(n_samples), 1) / 4


def check_labels(labels, n_samples: int, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as a 1-D array of length ``n_samples``.

    Raises:
        ValueError: not 1-D of length ``n_samples`` (a ragged sequence included).
    """
    check_dense(labels, name)
    try:
        arr = np.asarray(labels)
    except ValueError:  # ragged nested lists (numpy >= 1.24)
        raise ValueError(f"{name} must be 1-D [n_samples]; got a ragged sequence.") from None
    if arr.ndim != 1 or arr.shape[0] != n_samples:
        raise ValueError(
            f"{name} must be 1-D of length n_samples={n_samples}; got shape {arr.shape}."
        )
    return arr
