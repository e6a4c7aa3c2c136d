"""Statistics over batches: the loop every algorithm runs (pure TensorFlow).

A *source* is either an in-memory pair ``(x, w)`` (``x`` ``[n, n_features]``,
``w`` ``[n]``), which is cut into chunks of ``chunk_size`` rows, or a
``tf.data.Dataset`` whose elements are ``(x, w)`` batches. ``reduce_batches``
sums ``fn(x_batch, w_batch)`` over all batches of either kind, so one
implementation of an algorithm serves in-memory and streamed data alike; peak
memory is bounded by one chunk, never by the whole data set. These functions
are safe inside ``tf.function`` and hold no Python state.

Under a ``tf.distribute.Strategy`` (traced inside ``strategy.scope()``),
``reduce_batches`` splits the batches over the replicas, runs ``fn`` on each
replica and sums the statistics across replicas: every algorithm written on it
fits on several devices or machines with no other change. ``fold_batches``
given a ``merge`` does the same for folds that are not sums (a running top-k,
a row gather): each replica folds its own consecutive chunks of in-memory
data, and the folds are merged in replica order, so the result is the
single-device one.
"""

from __future__ import annotations

import warnings

import tensorflow as tf

from tfcluster._engine.compile import xla_active

__all__ = [
    "reduce_batches",
    "fold_batches",
    "gather_rows",
    "padded_chunk",
    "map_chunks",
    "source_spec",
    "tree_add",
    "current_strategy",
]


def tree_add(a, b):
    """Element-wise sum of two nested structures of tensors."""
    return tf.nest.map_structure(tf.add, a, b)


def reduce_batches(fn, init, source, chunk_size: int, *, padded: bool = False):
    """Sum ``fn(x_batch, w_batch)`` over every batch of ``source``.

    Args:
        fn: maps ``x [b, n_features]``, ``w [b]`` to a nested structure of
            tensors with the structure and shapes of ``init``.
        init: the zero of the statistics (nested tensors).
        source: ``(x, w)`` tensors or a ``tf.data.Dataset`` of ``(x, w)``.
        chunk_size: rows per chunk for in-memory sources.
        padded: every in-memory chunk ``chunk_size`` rows, the last one padded
            with zero rows of zero weight (for ``fn`` whose sums are weighted),
            when the program being traced uses XLA kernels (``_engine.xla_active``).

    Returns:
        The summed statistics, same structure as ``init``.
    """
    strategy = current_strategy()
    if strategy is not None:
        return _reduce_distributed(fn, init, source, chunk_size, strategy, padded)
    return fold_batches(
        lambda acc, x, w: tree_add(acc, fn(x, w)), init, source, chunk_size, padded=padded
    )


def current_strategy():
    """The ``tf.distribute.Strategy`` being traced under, or None for the default."""
    if tf.distribute.has_strategy() and tf.distribute.in_cross_replica_context():
        return tf.distribute.get_strategy()
    return None


def _reduce_distributed(fn, init, source, chunk_size, strategy, padded=False):
    """``reduce_batches`` over the replicas of ``strategy``: SUM of per-replica sums.

    In-memory data: each replica takes its own contiguous share of the rows and
    sums its chunks, one ``strategy.run`` per pass. A dataset: the strategy
    splits every batch over the replicas.
    """

    def sum_over_replicas(per_replica):
        return tf.nest.map_structure(  # leaf by leaf: collectives cannot mix dtypes
            lambda v: strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None), per_replica
        )

    if not isinstance(source, tf.data.Dataset):
        x, w = source

        def shard_sums():
            context = tf.distribute.get_replica_context()
            replica, replicas = context.replica_id_in_sync_group, context.num_replicas_in_sync
            n = tf.shape(x)[0]
            start, stop = n * replica // replicas, n * (replica + 1) // replicas
            shard = (x[start:stop], w[start:stop])
            return fold_batches(
                lambda acc, xb, wb: tree_add(acc, fn(xb, wb)),
                init,
                shard,
                chunk_size,
                padded=padded,
            )

        return sum_over_replicas(strategy.run(shard_sums))
    with warnings.catch_warnings():  # TF warns that dataset options are read in graph mode
        warnings.filterwarnings("ignore", message="To make it possible to preserve tf.data")
        batches = strategy.experimental_distribute_dataset(source)
        return batches.reduce(
            init, lambda acc, batch: tree_add(acc, sum_over_replicas(strategy.run(fn, args=batch)))
        )


def fold_batches(
    fn,
    init,
    source,
    chunk_size: int,
    *,
    relax_shapes: bool = False,
    padded: bool = False,
    merge=None,
):
    """Fold ``acc = fn(acc, x_batch, w_batch)`` over every batch of ``source``.

    The general form of ``reduce_batches`` for statistics that are not plain
    sums (a running top-k, a growing candidate set, a batch counter).

    Args:
        fn: maps ``acc, x [b, n_features], w [b]`` to the new ``acc``.
        init: the initial accumulator (nested tensors), or a callable
            ``init(first)`` giving the accumulator of a fold that starts at
            batch ``first`` (an int32 scalar; batch ``i`` starts at row
            ``i * chunk_size``), for accumulators that count batches or rows.
        source: ``(x, w)`` tensors or a ``tf.data.Dataset`` of ``(x, w)``.
        chunk_size: rows per chunk for in-memory sources.
        relax_shapes: let every dimension of the accumulator change between
            batches (for accumulators that grow).
        padded: as in ``reduce_batches``: static ``[chunk_size, d]`` chunks, the
            last one padded with zero-weight rows (``fn`` must ignore them).
        merge: ``merge(acc_a, acc_b)``, the fold of two consecutive runs of
            batches from their two folds. With it, under a
            ``tf.distribute.Strategy`` every replica folds its own consecutive
            chunks of in-memory data (a dataset is folded on one device).

    Returns:
        The final accumulator.
    """
    start = init if callable(init) else (lambda _: init)
    if isinstance(source, tf.data.Dataset):
        return source.reduce(start(tf.constant(0)), lambda acc, batch: fn(acc, *batch))
    x, w = source
    n_chunks = (tf.shape(x)[0] + chunk_size - 1) // chunk_size
    # Static chunk shapes matter only to XLA kernels: without them the fit loops skip
    # the padding (map_chunks keeps it: a row's output then never depends on how the
    # rows were batched, the GEMM's blocking included).
    options = dict(relax_shapes=relax_shapes, padded=padded and xla_active())
    strategy = current_strategy()
    if merge is None or strategy is None:
        return _fold_chunks(fn, start, x, w, 0, n_chunks, chunk_size, **options)
    replicas = strategy.num_replicas_in_sync

    def share():
        r = tf.distribute.get_replica_context().replica_id_in_sync_group
        first, last = n_chunks * r // replicas, n_chunks * (r + 1) // replicas
        acc = _fold_chunks(fn, start, x, w, first, last, chunk_size, **options)
        return tf.nest.map_structure(lambda t: t[None], acc)  # [1, ...] to gather

    folds = tf.nest.map_structure(
        lambda v: strategy.gather(v, axis=0), strategy.run(share)
    )  # [replicas, ...] each
    acc = tf.nest.map_structure(lambda t: t[0], folds)
    for r in range(1, replicas):
        acc = merge(acc, tf.nest.map_structure(lambda t, r=r: t[r], folds))
    return acc


def _fold_chunks(fn, start, x, w, first, last, chunk_size, *, relax_shapes, padded):
    """The fold of chunks ``first .. last - 1`` of in-memory ``(x, w)``."""
    init = start(tf.convert_to_tensor(first, tf.int32))

    def body(i, acc):
        if padded:
            xb, wb, _ = padded_chunk(x, w, i, chunk_size)
        else:
            xb, wb = (
                x[i * chunk_size : (i + 1) * chunk_size],
                w[i * chunk_size : (i + 1) * chunk_size],
            )
        return i + 1, fn(acc, xb, wb)

    invariants = None
    if relax_shapes:
        invariants = (
            tf.TensorShape([]),
            tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank), init),
        )
    _, acc = tf.while_loop(
        lambda i, _: i < last,
        body,
        (tf.convert_to_tensor(first, tf.int32), init),
        shape_invariants=invariants,
    )
    return acc


def padded_chunk(x, w, i, chunk_size: int):
    """Chunk ``i`` of in-memory rows, always ``chunk_size`` rows.

    The last chunk is padded with zero rows of zero weight, so every chunk has
    the same static shape (an XLA kernel compiles once, not once per
    last-chunk size); full chunks are slices, not copies.

    Returns:
        ``(x [chunk_size, d], w [chunk_size], rows)``: ``rows`` real rows first.
    """
    start = i * chunk_size
    xb, wb = x[start : start + chunk_size], w[start : start + chunk_size]
    return _pad_rows_to(xb, chunk_size), _pad_rows_to(wb, chunk_size), tf.shape(xb)[0]


def _pad_rows_to(t, size: int):
    """``t [m, ...]`` (``m <= size``) padded with zero rows to the static ``[size, ...]``."""
    pad = [[0, size - tf.shape(t)[0]]] + [[0, 0]] * (t.shape.rank - 1)
    return tf.ensure_shape(tf.pad(t, pad), [size, *t.shape[1:]])  # forwarded when m == size


def source_spec(source):
    """``(n_features, dtype)`` of a source; ``n_features`` static when known."""
    if isinstance(source, tf.data.Dataset):
        spec = source.element_spec[0]
        return spec.shape[1], spec.dtype
    d = source[0].shape[1]
    return (tf.shape(source[0])[1] if d is None else d), source[0].dtype


def gather_rows(source, indices, chunk_size: int):
    """Rows ``indices`` of the data in ``source``, in one pass (works on a stream).

    Args:
        source: ``(x, w)`` tensors or a ``tf.data.Dataset`` of ``(x, w)``.
        indices: ``[m]`` int32 or int64 global row numbers, each in ``[0, n_samples)``.
        chunk_size: rows per chunk for in-memory sources.

    Returns:
        ``[m, n_features]`` the selected rows, in the order of ``indices``.
    """
    d, dtype = source_spec(source)
    indices = tf.cast(indices, tf.int64)

    def take(acc, x, _):
        offset, rows = acc
        b = tf.cast(tf.shape(x)[0], tf.int64)
        local = indices - offset  # [m]
        inside = (local >= 0) & (local < b)
        found = tf.gather(x, tf.clip_by_value(local, 0, tf.maximum(b - 1, 0)))  # [m, d]
        return offset + b, tf.where(inside[:, None], found, rows)

    def init(first):  # rows not found stay zero, so two folds merge by a sum
        offset = tf.cast(first, tf.int64) * chunk_size
        return offset, tf.zeros([tf.shape(indices)[0], d], dtype)

    def merge(a, b):
        return b[0], a[1] + b[1]

    return fold_batches(take, init, source, chunk_size, merge=merge)[1]


def map_chunks(fn, x, chunk_size: int, fn_output_signature, *, padded: bool = False):
    """Apply ``fn`` to ``x [n, ...]`` chunk by chunk and concatenate along rows.

    Args:
        fn: maps ``x [b, ...]`` to a tensor (or tuple of tensors) with ``b`` rows;
            if ``x`` is a tuple of tensors, ``fn`` takes their slices.
        x: the in-memory input, a tensor or a tuple of tensors with ``n`` rows.
        chunk_size: rows per chunk.
        fn_output_signature: ``tf.TensorSpec`` (or tuple of them) of one
            chunk's output, with the row dimension ``None``.
        padded: give ``fn`` static ``[chunk_size, ...]`` chunks (the last one
            padded with zero rows, its outputs cut back) when the program being
            traced uses XLA kernels; ``fn`` must be row-wise.

    Returns:
        ``fn``'s outputs for all rows, ``[n, ...]`` each.
    """
    inputs = x if isinstance(x, tuple) else (x,)
    padded = padded and xla_active()
    n = tf.shape(inputs[0])[0]
    if not padded:  # rows that fit one chunk: fn once, without the loop and its arrays
        return tf.cond(
            n <= chunk_size,
            lambda: fn(*inputs),
            lambda: _map_loop(fn, inputs, n, chunk_size, fn_output_signature, False),
        )
    return _map_loop(fn, inputs, n, chunk_size, fn_output_signature, True)


def _map_loop(fn, inputs, n, chunk_size: int, fn_output_signature, padded: bool):
    """``map_chunks`` as a loop over the chunks of ``inputs``."""
    n_chunks = (n + chunk_size - 1) // chunk_size
    specs = tf.nest.flatten(fn_output_signature)
    arrays = [
        tf.TensorArray(s.dtype, size=n_chunks, infer_shape=False, element_shape=s.shape)
        for s in specs
    ]

    def body(i, arrays):
        start = i * chunk_size
        parts = [t[start : start + chunk_size] for t in inputs]
        rows = tf.shape(parts[0])[0]
        if padded:  # static shapes: every chunk chunk_size rows
            parts = [_pad_rows_to(p, chunk_size) for p in parts]
        out = tf.nest.flatten(fn(*parts))
        if padded:
            out = [o[:rows] for o in out]
        return i + 1, [a.write(i, o) for a, o in zip(arrays, out, strict=True)]

    _, arrays = tf.while_loop(lambda i, _: i < n_chunks, body, (tf.constant(0), arrays))
    outs = [a.concat() for a in arrays]
    return tf.nest.pack_sequence_as(fn_output_signature, outs)
