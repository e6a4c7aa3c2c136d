"""k buckets: the number of clusters padded to a few sizes, masked entries beyond k.

A sweep over k then reuses one program per bucket instead of tracing and
compiling for every k. Padded centers get an infinite squared norm, so no
row is ever nearest to them, and their statistics stay zero.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

from tfcluster._engine.compile import XLA_MIN_ROWS

__all__ = ["bucket", "pass_bucket", "pad_rows", "chunk_size", "parallel_splits", "MIN_BUCKET"]

MIN_BUCKET = 16
_ELEMENTS = 2**20  # elements of one [chunk, n_columns] block
_MIN_CHUNK = 4096  # small data share one chunk shape (padding them costs microseconds)


_LARGE = 2**23  # work per pass (n_samples * n_features * k) from which padding k costs more
# over a fit than the trace it saves


def bucket(k: int, data_size: int | None = None) -> int:
    """The padded size for ``k`` clusters: 16, 32, 64, ... (the next power of two >= k).

    ``data_size`` (the work per row and cluster of a pass times n_samples: n_samples
    * n_features for k-means, times n_features again for full covariances, if
    known) marks large fits: when ``data_size * k >= 2**23`` the padded work
    summed over a fit's iterations costs more than the trace a bucket saves,
    so k is padded only to a multiple of 8 (a fit of k=100 on 100,000 x 64
    runs 104 centers, not 128; a sweep on the digits stays bucketed).
    """
    k = int(k)
    if data_size is not None and int(data_size) * k >= _LARGE:
        return -(-k // 8) * 8
    size = MIN_BUCKET
    while size < k:
        size *= 2
    return size


def pass_bucket(k: int, n_rows: int | None, data_size: int | None = None) -> int:
    """The padded size of ``k`` centers for a pass over ``n_rows`` in-memory rows
    (None: a stream): ``k`` itself below ``XLA_MIN_ROWS`` rows, else ``bucket(k,
    data_size)``.

    Small data run their kernels as plain ops whose shapes are free, so nothing
    traces or compiles per k, and padded centers would only cost work: on the
    digits (1,797 x 64) a one-chunk Lloyd iteration takes 0.17 ms with k=8 and
    0.50 ms with the 8 centers padded to 16 (2 CPU cores).
    """
    if n_rows is not None and int(n_rows) < XLA_MIN_ROWS:
        return int(k)
    return bucket(k, data_size)


# Elements of an eager tensor that pad_rows and first_rows reshape through numpy:
# an eager op costs ~0.2 ms (a slice of [16, 64] took 0.24 ms, numpy and back 0.02).
_HOST_ELEMENTS = 2**16


def _on_host(t) -> bool:
    return tf.executing_eagerly() and t.shape.num_elements() <= _HOST_ELEMENTS


def pad_rows(t, size: int):
    """``t [m, ...]`` padded with zero rows to ``[size, ...]`` (``m <= size``)."""
    t = tf.convert_to_tensor(t)
    extra = size - int(t.shape[0])
    if extra < 0:
        raise ValueError(f"cannot pad {int(t.shape[0])} rows to {size}")
    if extra == 0:
        return t
    if _on_host(t):
        a = t.numpy()
        return tf.constant(np.concatenate([a, np.zeros((extra, *a.shape[1:]), a.dtype)]))
    return tf.concat([t, tf.zeros([extra, *t.shape[1:]], t.dtype)], 0)


def first_rows(t, k: int):
    """``t[:k]`` of a tensor (e.g. centers cut back from their bucket)."""
    if int(t.shape[0]) == k:
        return t
    return tf.constant(t.numpy()[:k]) if _on_host(t) else t[:k]


def chunk_size(n_rows: int | None, n_columns: int) -> int:
    """Rows per chunk of a ``[chunk, n_columns]`` block (about 4 MiB in float32).

    A power of two from 4096 to 65536, and no more than ``n_rows`` rounded up
    to a power of two (small data are not padded to a big chunk): so the
    chunk shape, and with it every kernel, changes only when n_samples
    crosses a power of two below 65536.
    """
    size = int(min(max(_ELEMENTS // max(int(n_columns), 1), 256), 65536))
    size = 1 << (size.bit_length() - 1)  # a power of two
    if n_rows is not None:
        size = min(size, max(_MIN_CHUNK, 1 << max(int(n_rows) - 1, 0).bit_length()))
    return size


def parallel_splits(chunk: int) -> int:
    """Independent pieces per chunk for the fused CPU passes (``nearest_sums``).

    An XLA fused pass runs on one CPU thread; cutting each chunk into as many
    independent pieces as there are cores (at most 8, a power of two that
    divides ``chunk``) lets TensorFlow's inter-op pool run them at once. With
    a GPU visible, 1: there the pass is one fused kernel.
    """
    if tf.config.list_logical_devices("GPU"):
        return 1
    cores = min(os.cpu_count() or 1, 8)
    splits = 1
    while splits * 2 <= cores and chunk % (splits * 2) == 0 and chunk // (splits * 2) >= 512:
        splits *= 2
    return splits
