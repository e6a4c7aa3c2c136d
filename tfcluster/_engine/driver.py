"""The data side of the statistics-over-batches driver.

``as_data`` turns whatever the user passed (numpy array, nested list,
tf.Tensor, or a ``tf.data.Dataset``) into a validated ``Data``: either an
in-memory pair ``(x, w)`` cut into chunks, or a streamed dataset of ``(x, w)``
batches. The compiled algorithms in ``tfcluster.ops`` then run
``ops.batching.reduce_batches`` over ``data.source``, the same code for both.
``call`` runs a compiled function and turns errors raised by the dataset's
checks (NaN in a batch, negative weights) into ValueError.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from tfcluster._engine import Program, chunk_size
from tfcluster._engine.frame import (
    PLAIN,
    Frame,
    _frame_from_head,
    _warn_lost_columns,
    attribute_dtype,
    frame_of,
)
from tfcluster._validation import (
    check_n_features,
    check_raw_array,
    check_sample_weight,
    is_dataset,
    largest_value,
)
from tfcluster.ops.batching import reduce_batches

__all__ = [
    "Data",
    "Frame",
    "PLAIN",
    "attribute_dtype",
    "as_data",
    "call",
    "chunk_rows",
    "frame_of",
    "map_rows",
    "moments",
]

_NON_FINITE = "X contains NaN or infinity; only finite values are accepted."
_W_NON_FINITE = "sample_weight contains NaN or infinity."
_TOO_LARGE = (
    "X has values so large that squared distances between rows overflow the dtype; "
    "scale the data, or use dtype float64."
)
_W_NEGATIVE = "sample_weight contains negative values; weights must be >= 0."
_W_TOO_LARGE = (
    "sample_weight has values so large that their sum overflows the dtype; only the "
    "ratios of the weights matter to the clusters: divide them by their maximum."
)
_WIDTH = "a batch has a different number of features than the first batch"
_W_LENGTH = "the sample_weight of a batch has a different length than its samples"
_SPREAD = (
    "a batch spreads so much wider than the first batch that it overflows the dtype "
    "in the first batch's scale; shuffle the dataset, or use dtype='float64'."
)
_DATASET_CHECKS = (_NON_FINITE, _TOO_LARGE, _W_NON_FINITE, _W_NEGATIVE, _W_TOO_LARGE, _WIDTH)
_DATASET_CHECKS += (_W_LENGTH, _SPREAD)
_CHUNK_ELEMENTS = 2**20  # elements of one [chunk, n_columns] block (4 MiB in float32)


def chunk_rows(n_columns: int) -> int:
    """Rows per chunk so that a ``[chunk, n_columns]`` block stays about 4 MiB."""
    return int(np.clip(_CHUNK_ELEMENTS // max(int(n_columns), 1), 256, 65536))


@dataclasses.dataclass
class Data:
    """Validated input for the compiled algorithms, in compute units.

    Attributes:
        source: ``(x [n, n_features], w [n])`` tensors, or a ``tf.data.Dataset``
            of such pairs, in compute units: ``(X - frame.offset) / frame.scale``.
        n_features: number of columns.
        n_samples: number of rows, or None for a stream (not read yet).
        dtype: tf.float32 or tf.float64.
        weighted: False when every weight is one (none were given), which lets
            an algorithm skip multiplying by them.
        frame: the ``Frame`` of the compute units.
        raw: the in-memory rows in the input's own precision (float32 or
            float64 tensor), or None.
    """

    source: object
    n_features: int
    n_samples: int | None
    dtype: tf.DType
    weighted: bool = True
    frame: Frame | None = None
    raw: object = None

    def __post_init__(self):
        if self.frame is None:
            self.frame = Frame(np.zeros([self.n_features]))

    @property
    def streamed(self) -> bool:
        return isinstance(self.source, tf.data.Dataset)

    @property
    def x(self) -> tf.Tensor:
        """The in-memory samples ``[n, n_features]`` (not for streams)."""
        return self.source[0]

    @property
    def w(self) -> tf.Tensor:
        """The in-memory sample weights ``[n]`` (not for streams)."""
        return self.source[1]

    def shifted(self, offset) -> Data:
        """The same data with ``offset [n_features]`` (compute units) subtracted
        from every row; the frame moves with it."""
        exact = tf.cast(offset, self.dtype)
        frame = self.frame.moved(exact.numpy())
        if self.streamed:
            source = self.source.map(lambda x, w: (x - exact, w))
        else:
            source = (self.x - exact, self.w)
        return dataclasses.replace(self, source=source, frame=frame)

    def user_rows(self):
        """The rows in the user's units: a float64 numpy array, or for a stream a
        dataset of ``(x, w)`` in the compute dtype."""
        if not self.streamed:
            if self.raw is not None:
                return self.raw.numpy().astype(np.float64)
            return self.frame.to_user(self.x.numpy())
        offset, scale, dtype = tf.constant(self.frame.offset), self.frame.scale, self.dtype
        return self.source.map(
            lambda x, w: (tf.cast(tf.cast(x, tf.float64) * scale + offset, dtype), w)
        )


def _to_compute_fn(x, offset, inverse, *, dtype):
    """``(x - offset) * inverse`` in float64 (exact for float32 ``x`` and an
    offset of the input's precision), then the cast: one fused pass."""
    return tf.cast((tf.cast(x, tf.float64) - offset) * inverse, dtype)


_to_compute = Program(
    _to_compute_fn, "driver.to_compute", rows=(0,), free_shapes=True, autograph=False
)  # not XLA: it would compile for every new n_samples; the elementwise ops use every core


def _in_memory(X, sample_weight, dtype, n_features, min_samples, frame) -> Data:
    raw, largest = check_raw_array(X, dtype=dtype, min_samples=min_samples, n_features=n_features)
    n, d = int(raw.shape[0]), int(raw.shape[1])
    w = check_sample_weight(sample_weight, n, dtype)
    if frame is None:
        rows = chunk_rows(d)
        if isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64):
            head = X[:rows]  # raw's values, without a slice op or a copy
        else:
            head = raw[:rows].numpy().astype(np.float64)
        frame = _frame_from_head(head, raw.dtype)
        # the shifted values stay within largest + |offset|: keep their squares finite
        bound = (largest + float(np.max(np.abs(frame.offset), initial=0.0))) / frame.scale
        limit = largest_value(dtype, d)
        if bound > limit:
            frame = Frame(frame.offset, frame.scale * 2.0 ** np.ceil(np.log2(bound / limit)))
        _warn_lost_columns(head, frame, dtype)
    if frame.scale == 1.0 and not np.any(frame.offset):
        x = tf.cast(raw, dtype)  # nothing to shift: the plain cast (none for float32 data)
    else:
        offset = tf.constant(frame.offset, tf.float64)
        inverse = tf.constant(1.0 / frame.scale, tf.float64)
        x = _to_compute(raw, offset, inverse, dtype=dtype.name)
    weighted = sample_weight is not None
    return Data((x, w), d, n, dtype, weighted=weighted, frame=frame, raw=raw)


def as_data(
    X,
    sample_weight=None,
    *,
    dtype=tf.float32,
    n_features: int | None = None,
    min_samples: int = 1,
    frame: Frame | None = None,
) -> Data:
    """Validate ``X`` (and ``sample_weight``) into a ``Data`` in compute units.

    The rows are shifted by the mean of the first chunk (or first batch) and,
    where their spread is far from 1, scaled by a power of two, both in the
    input's own precision before the cast to ``dtype``: ``data.frame`` maps
    the results back to the user's units. A given ``frame`` is used instead
    (``Frame(zeros)`` for the plain cast).

    A ``tf.data.Dataset`` must yield batches ``[batch, n_features]``, or tuples
    whose first element is such a batch; a third element, as in Keras's
    ``(x, y, sample_weight)``, is taken as the batch's sample weights. It must
    be finite: an infinite cardinality (``.repeat()`` without a count) is
    refused; an unknown cardinality (a generator, a ``filter``) is accepted
    and read to its end, so such a dataset must end.

    Raises:
        TypeError, ValueError: as ``check_array``; for datasets, elements that
            are not batched 2-D numeric tensors, or an infinite dataset.
    """
    if not is_dataset(X):
        return _in_memory(X, sample_weight, dtype, n_features, min_samples, frame)
    if sample_weight is not None:
        raise ValueError(
            "sample_weight cannot be given with a tf.data.Dataset; yield "
            "(x, y, sample_weight) tuples from the dataset instead."
        )
    return _as_streamed(X, dtype, n_features, frame)


def _as_streamed(dataset: tf.data.Dataset, dtype, n_features, frame) -> Data:
    if int(dataset.cardinality()) == int(tf.data.INFINITE_CARDINALITY):
        raise ValueError(
            "The dataset is infinite (built with .repeat() and no count?); a fit reads "
            "the dataset to its end each pass. Pass a finite dataset, e.g. "
            "dataset.take(n_batches), or .repeat(n) with a count."
        )
    if int(dataset.cardinality()) == 0:
        raise ValueError("The dataset is empty; at least 1 sample is required.")
    spec = dataset.element_spec
    if isinstance(spec, dict):
        raise TypeError("Dataset elements must be tensors or tuples, not dicts.")
    if isinstance(spec, tuple):
        if not spec:
            raise TypeError("Dataset elements are empty tuples; expected (x, ...).")
        x_spec = spec[0]
        w_spec = spec[2] if len(spec) >= 3 else None
    else:
        x_spec, w_spec = spec, None
    if not isinstance(x_spec, tf.TensorSpec):
        raise TypeError(f"Dataset elements must be dense tensors; got {x_spec}.")
    if not (x_spec.dtype.is_floating or x_spec.dtype.is_integer):
        raise TypeError(f"Dataset samples must be numbers; got dtype {x_spec.dtype.name}.")
    if x_spec.shape.rank != 2:
        raise ValueError(
            "Dataset elements must be batches [batch, n_features] (rank 2); got shape "
            f"{x_spec.shape}. Call dataset.batch(batch_size) on a dataset of rows."
        )
    d = x_spec.shape[1]
    if d is None:
        first = next(iter(dataset.take(1)), None)
        if first is None:
            raise ValueError("The dataset is empty; at least 1 sample is required.")
        d = int((first[0] if isinstance(first, tuple) else first).shape[1])
    check_n_features(int(d), n_features)
    if w_spec is not None and not (
        isinstance(w_spec, tf.TensorSpec) and (w_spec.dtype.is_floating or w_spec.dtype.is_integer)
    ):
        raise TypeError(
            "The dataset's third element is taken as sample_weight and must be a numeric "
            f"tensor [batch]; got {w_spec}."
        )
    precision = tf.float32 if x_spec.dtype == tf.float32 else tf.float64
    if frame is None:
        first = next(iter(dataset.take(1)), None)
        head = (
            np.zeros([0, d]) if first is None else first[0] if isinstance(first, tuple) else first
        )
        head = np.asarray(head, np.float64)
        frame = _frame_from_head(head[np.all(np.isfinite(head), axis=1)], precision)
    offset = tf.constant(frame.offset, tf.float64)
    inverse = tf.constant(1.0 / frame.scale, tf.float64)
    limit = tf.constant(largest_value(dtype, d), precision)

    def prepare(*element):
        x = element[0]
        width = tf.debugging.assert_equal(tf.shape(x)[1], d, message=_WIDTH)
        with tf.control_dependencies([width]):
            x = tf.ensure_shape(tf.cast(x, precision), [None, d])
        x = tf.debugging.assert_all_finite(x, _NON_FINITE)
        check = tf.debugging.assert_less_equal(tf.reduce_max(tf.abs(x)), limit, message=_TOO_LARGE)
        with tf.control_dependencies([check]):  # in float64: exact for float32 batches
            x = tf.cast((tf.cast(x, tf.float64) - offset) * inverse, dtype)
        if frame.scale < 1.0:  # scaled up from the first batch: later ones may not fit
            big = tf.reduce_max(tf.abs(x)) <= tf.cast(limit, dtype)
            check = tf.debugging.Assert(big, [_SPREAD])
            with tf.control_dependencies([check]):
                x = tf.identity(x)
        if w_spec is None:
            w = tf.ones(tf.shape(x)[:1], dtype)
        else:
            w = tf.reshape(element[2], [-1])
            length = tf.debugging.assert_equal(tf.size(w), tf.shape(x)[0], message=_W_LENGTH)
            wide = tf.cast(w, tf.float64)  # the check before a cast to dtype overflows
            wide = tf.debugging.assert_all_finite(wide, _W_NON_FINITE)
            w_limit = tf.constant(np.finfo(dtype.as_numpy_dtype).max / 4, tf.float64)
            checks = [
                length,
                tf.debugging.assert_non_negative(wide, message=_W_NEGATIVE),
                tf.debugging.assert_less_equal(tf.reduce_sum(wide), w_limit, message=_W_TOO_LARGE),
            ]
            with tf.control_dependencies(checks):
                w = tf.cast(wide, dtype)
        return x, w

    # An empty batch adds nothing to any statistic; left out, no op sees a [0, d] batch.
    source = dataset.filter(lambda *element: tf.shape(element[0])[0] > 0)
    source = source.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return Data(source, int(d), None, dtype, weighted=w_spec is not None, frame=frame)


def call(fn, *args, **kwargs):
    """Run ``fn``; errors raised by a dataset's own checks become ValueError."""
    try:
        return fn(*args, **kwargs)
    except tf.errors.InvalidArgumentError as exc:
        known = [m for m in _DATASET_CHECKS if m in exc.message]
        if not known:
            raise
        raise ValueError(f"Invalid data from the dataset: {known[0]}") from None


def _moments_fn(source, shift, *, chunk_size: int, wide: bool):
    dtype = tf.float64 if wide else shift.dtype

    def stats(x, w):
        xs = tf.cast(x, dtype) - shift  # shifted: the variance stays exact far from 0
        w = tf.cast(w, dtype)
        wx = w[:, None] * xs
        n = tf.cast(tf.shape(x)[0], tf.int64)
        return tf.reduce_sum(w), tf.reduce_sum(wx, 0), tf.reduce_sum(wx * xs, 0), n

    shift = tf.cast(shift, dtype)
    zero = tf.zeros_like(shift)
    init = (tf.zeros([], dtype), zero, zero, tf.constant(0, tf.int64))
    return reduce_batches(stats, init, source, chunk_size)


_moments = Program(_moments_fn, "driver.moments", rows=(0,), free_shapes=True, autograph=False)


def moments(data: Data):
    """Weighted mean and variance per feature, total weight and row count.

    One pass over the data, shifted by the first batch's mean so that data far
    from the origin keep an accurate variance, summed in the data's dtype, and
    once more in float64 if a sum of squares overflowed it. For a stream this
    is also where an empty dataset is found.

    Returns:
        ``(mean [n_features], var [n_features], total_weight, n_samples)`` as
        numpy float64 values.

    Raises:
        ValueError: no samples, or all weights zero.
    """
    if not data.streamed and data.n_samples * data.n_features <= _NUMPY_MOMENTS:
        return _small_moments(data)
    if data.streamed:
        first = call(next, iter(data.source.take(1)), None)
        if first is None:
            raise ValueError("The dataset is empty; at least 1 sample is required.")
        head = first[0]
    else:
        head = data.x[: chunk_rows(data.n_features)]
    shift = tf.reduce_mean(head, axis=0) if int(head.shape[0]) else tf.zeros([data.n_features])
    shift = tf.cast(shift, data.dtype)
    chunk = chunk_size(data.n_samples, data.n_features)  # small data: one shape for every d
    out = call(_moments, data.source, shift, chunk_size=chunk, wide=False)
    if not all(np.all(np.isfinite(v.numpy())) for v in out[:3]):
        # the sums of squares overflowed the data's dtype: again, in float64
        out = call(_moments, data.source, shift, chunk_size=chunk, wide=True)
    total, s1, s2, n = (np.asarray(v.numpy(), dtype=np.float64) for v in out)
    if n == 0:
        raise ValueError("The dataset is empty; at least 1 sample is required.")
    if total <= 0:
        raise ValueError("sample_weight is zero everywhere; at least one weight must be > 0.")
    mean_shifted = s1 / total
    var = np.maximum(s2 / total - mean_shifted**2, 0.0)
    return shift.numpy().astype(np.float64) + mean_shifted, var, float(total), int(n)


_NUMPY_MOMENTS = 2**18  # elements of in-memory data whose moments numpy computes


def _small_moments(data: Data):
    """``moments`` of small in-memory data, by numpy in float64 (more exact than the
    program, which sums in the data's dtype; it costs about 2 ms of program call
    and reads back for the digits, numpy 0.2 ms)."""
    x = data.x.numpy().astype(np.float64)
    w = data.w.numpy().astype(np.float64)
    total = float(w.sum())
    if total <= 0:
        raise ValueError("sample_weight is zero everywhere; at least one weight must be > 0.")
    mean = np.average(x, axis=0, weights=w)  # without weights: np.mean and np.var's sums
    var = np.average(np.square(x - mean), axis=0, weights=w)
    return mean, var, total, int(data.n_samples)


def map_rows(fn, X, *, dtype, n_features: int, frame: Frame | None = None):
    """Per-row outputs of ``fn`` for an array, or for each batch of a dataset.

    Args:
        fn: maps a checked ``x [b, n_features]`` tensor to a numpy array (or a
            tuple of them) with ``b`` rows.
        X: an array, nested list or tensor ``[n, n_features]``, or a
            ``tf.data.Dataset`` as ``as_data`` takes it (read batch by batch).
        dtype: tf.float32 or tf.float64.
        n_features: the number of columns required.
        frame: the ``Frame`` the rows are put in before the cast (in the
            input's precision), e.g. ``frame_of`` a model's centers; None for
            the plain cast.

    Returns:
        ``fn``'s output(s) for all rows, concatenated: ``[n, ...]``.

    Raises:
        ValueError, TypeError: as ``check_array``/``as_data``.
    """
    frame = Frame(np.zeros([n_features])) if frame is None else frame
    data = as_data(X, dtype=dtype, n_features=n_features, frame=frame)
    if not data.streamed:
        return fn(data.x)
    source = data.source
    parts = call(lambda: [fn(x) for x, _ in source])
    if not parts:
        raise ValueError("The dataset is empty; at least 1 sample is required.")
    if isinstance(parts[0], tuple):
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))
    return np.concatenate(parts)
