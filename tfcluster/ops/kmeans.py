"""K-means maths: Lloyd statistics and updates, k-means||, mini-batch steps (pure
TensorFlow). k-means++ and the row draws live in ``tfcluster.ops.seeding``
and are importable from here too.

Every function works on a *source* as ``ops.batching`` defines it (in-memory
``(x, w)`` or a ``tf.data.Dataset`` of ``(x, w)`` batches), so the same code
serves in-memory, streamed and, through ``reduce_batches``, distributed fits.
Shapes: ``x [n, d]``, ``w [n]``, ``centers [K, d]``. Centers may be padded to
a bucket of ``K >= k`` rows; a scalar ``k`` says how many are real, the rest
are masked (``masked_norms``: never nearest, statistics zero), so one
compiled program serves every ``k`` of its bucket.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from tfcluster._engine.compile import xla_active
from tfcluster.ops.batching import current_strategy, fold_batches, reduce_batches, source_spec
from tfcluster.ops.distances import (
    cluster_sums,
    masked_norms,
    nearest,
    nearest_sums,
    nearest_sums_onehot,
    squared_norms,
)
from tfcluster.ops.seeding import (  # the seeding's public names are public here too
    _gumbel_fold,
    _gumbel_top_rows,
    _merge_top,
    _sample_from_cdf,
    kmeans_plusplus,
    pad_centers,
    sample_by_weight,
    sample_rows,
)

__all__ = [
    "pad_centers",
    "relocate_empty",
    "lloyd",
    "iterate",
    "assign",
    "assignment_stats",
    "kmeans_plusplus",
    "kmeans_parallel",
    "sample_by_weight",
    "sample_rows",
    "minibatch_update",
    "reassign_low_counts",
    "MiniBatchState",
    "minibatch_step",
    "minibatch_state",
    "minibatch_fit",
]


def _farthest(acc, x, w, centers, centers_sq):
    """Running top-k of the points farthest from their nearest center.

    ``acc`` is ``(dist [k], points [k, d], weights [k], labels [k])``; points of
    zero weight never qualify (they could not move a center).
    """
    labels, dist = nearest(x, centers, centers_sq)
    dist = tf.where(w > 0, dist, -1.0)
    return _merge_top(acc, (dist, x, w, labels))


def relocate_empty(sums, counts, source, centers, k, chunk_size: int, padded: bool = False):
    """Give each empty cluster the point farthest from its center, as scikit-learn does.

    The i-th empty cluster (of the first ``k``; padded centers are not
    clusters) takes the i-th farthest point, which leaves its old cluster. One
    extra pass over the data, run only when a cluster is empty.
    """
    n_centers = tf.shape(centers)[0]
    dtype = centers.dtype
    centers_sq = masked_norms(centers, k)
    init = (
        tf.fill([n_centers], tf.constant(-2.0, dtype)),
        tf.zeros_like(centers),
        tf.zeros([n_centers], dtype),
        tf.zeros([n_centers], tf.int32),
    )
    _, far_x, far_w, far_l = fold_batches(
        lambda acc, x, w: _farthest(acc, x, w, centers, centers_sq),
        init,
        source,
        chunk_size,
        padded=padded,
        merge=_merge_top,
    )
    real = tf.range(n_centers) < k
    empty = tf.cast(tf.where((counts <= 0) & real)[:, 0], tf.int32)  # [e]
    e = tf.shape(empty)[0]
    far_x, far_w, far_l = far_x[:e], far_w[:e], far_l[:e]
    moved = far_x * far_w[:, None]  # [e, d]
    sums = tf.tensor_scatter_nd_sub(sums, far_l[:, None], moved)
    counts = tf.tensor_scatter_nd_sub(counts, far_l[:, None], far_w)
    sums = tf.tensor_scatter_nd_update(sums, empty[:, None], moved)
    counts = tf.tensor_scatter_nd_update(counts, empty[:, None], far_w)
    return sums, counts


def lloyd_step(
    source,
    centers,
    k,
    chunk_size: int,
    weighted: bool = True,
    padded: bool = False,
    splits: int = 1,
):
    """One Lloyd iteration: ``(new_centers [K, d], squared center shift, n_empty)``.

    ``weighted=False`` promises every sample weight is one (a faster pass);
    ``padded`` cuts in-memory data into static chunks (``reduce_batches``);
    ``splits`` runs each (padded) chunk as that many independent passes
    (``nearest_sums``: every CPU core busy).
    """
    centers_sq = masked_norms(centers, k)
    init = (tf.zeros_like(centers), tf.zeros_like(centers[:, 0]))
    sums, counts = reduce_batches(
        lambda x, w: nearest_sums(x, w, centers, centers_sq, weighted=weighted, splits=splits),
        init,
        source,
        chunk_size,
        padded=padded,
    )
    return _update(sums, counts, source, centers, k, chunk_size, padded)


def _one_chunk_step(source, xw1, centers, k, chunk_size: int):
    """``lloyd_step`` on in-memory rows that fit one chunk, as plain unfused ops
    (``nearest_sums_onehot``; ``xw1`` as there)."""
    x, _ = source
    sums, counts = nearest_sums_onehot(x, xw1, centers, masked_norms(centers, k))
    return _update(sums, counts, source, centers, k, chunk_size, False)


def _update(sums, counts, source, centers, k, chunk_size: int, padded: bool):
    """New centers from the per-cluster sums; empty clusters relocated first."""
    real = tf.range(tf.shape(centers)[0]) < k
    n_empty = tf.reduce_sum(tf.cast((counts <= 0) & real, tf.int32))
    sums, counts = tf.cond(
        n_empty > 0,
        lambda: relocate_empty(sums, counts, source, centers, k, chunk_size, padded),
        lambda: (sums, counts),
    )
    safe = tf.where(counts > 0, counts, tf.ones_like(counts))
    new_centers = tf.where((counts > 0)[:, None], sums / safe[:, None], centers)
    shift = _squared_shift(new_centers, centers)
    return new_centers, shift, n_empty


def _squared_shift(new, old):
    """``sum((new - old)**2)`` over ``[K, d]`` centers, summed in float64 (the stopping test)."""
    return tf.reduce_sum(tf.square(tf.cast(new - old, tf.float64)))


def iterate(step, centers, max_iter, tol):
    """``centers, shift = step(centers)`` in a ``tf.while_loop`` until ``max_iter``
    iterations or a squared center shift ``<= tol``.

    Returns:
        ``(centers [K, d], n_iter, converged)``.
    """

    def body(i, centers, _):
        centers, shift = step(centers)
        return i + 1, centers, shift <= tf.cast(tol, shift.dtype)

    start = (tf.constant(0), centers, tf.constant(False))
    i, centers, converged = tf.while_loop(lambda i, _, done: (i < max_iter) & ~done, body, start)
    return centers, i, converged


def lloyd(
    source,
    centers,
    k,
    max_iter,
    tol,
    chunk_size: int,
    weighted: bool = True,
    padded: bool = False,
    splits: int = 1,
):
    """Lloyd's algorithm as one compiled loop, as scikit-learn runs it.

    Stops after ``max_iter`` iterations or when the squared center shift is
    ``<= tol`` (``tol`` already scaled by the data variance). A shift of zero
    means the labels did not change, so ``tol=0`` runs until labels are stable.
    ``weighted=False`` promises every sample weight is one. ``k``, ``max_iter``
    and ``tol`` may be tensors (one trace serves them all); ``padded`` and
    ``splits`` as ``lloyd_step``. Small in-memory data (a program without XLA
    kernels, one chunk of rows, one device) take ``nearest_sums_onehot``.

    Returns:
        ``(centers [K, d], n_iter, converged)``.
    """

    def run(step):
        return iterate(lambda c: step(c)[:2], centers, max_iter, tol)

    def chunked():
        return run(lambda c: lloyd_step(source, c, k, chunk_size, weighted, padded, splits))

    if isinstance(source, tf.data.Dataset) or xla_active() or current_strategy() is not None:
        return chunked()
    x, w = source

    def one_chunk():
        xw1 = tf.concat([x * w[:, None], w[:, None]], 1)  # [n, d + 1], once per fit
        return run(lambda c: _one_chunk_step(source, xw1, c, k, chunk_size))

    return tf.cond(tf.shape(x)[0] <= chunk_size, one_chunk, chunked)


def assign(x, w, centers, centers_sq, splits: int = 1):
    """Nearest center of each row and its exact weighted loss (``splits``: as
    ``ops.distances.nearest``).

    Returns:
        ``(labels [b] int32, w * ||x - c_label||^2 [b])``: the loss is computed
        from the difference, not the matmul expansion, so it is exact.
    """
    labels, d2 = nearest(x, centers, centers_sq, splits=splits)
    return labels, w * d2


def assignment_stats(x, w, centers, centers_sq):
    """Weighted inertia of one batch, exact ``sum w * ||x - c_label||^2``, in float64
    (a float32 sum of squares overflows long before the data do)."""
    return tf.reduce_sum(tf.cast(assign(x, w, centers, centers_sq)[1], tf.float64))


def _kmeans_parallel_round(acc, x, w, centers, centers_sq, n_rows, seed):
    """One batch of a k-means|| round: the running Gumbel top ``n_rows`` by
    ``w * D(x)^2``, i.e. rows drawn without replacement with that probability."""
    _, d2 = nearest(x, centers, centers_sq)  # [b]
    return _gumbel_top_rows(acc, x, w * d2, n_rows, seed)


def _candidate_weights(x, w, candidates, candidates_sq):
    return nearest_sums(x, w, candidates, candidates_sq)[1]  # weight nearest each [m]


def kmeans_parallel(
    source,
    n_clusters,
    seed,
    chunk_size: int,
    n_rounds: int = 5,
    *,
    bucket: int | None = None,
    padded: bool = False,
):
    """Scalable k-means|| (Bahmani et al. 2012): a few passes over a stream.

    Starting from one row drawn with probability proportional to ``w``, each of
    ``n_rounds`` passes draws ``l = 2 * n_clusters`` more rows with probability
    proportional to ``w * D(x)^2`` (``D``: distance to the candidates so far),
    where the paper keeps each row independently with probability
    ``min(1, l * w * D(x)^2 / phi)``: the same expected draw, but every shape
    is fixed (Gumbel top-k), so the whole initialisation compiles with XLA.
    The candidates are weighted by the weight of the rows nearest to them and
    reduced to ``k`` centers by weighted k-means++ and Lloyd on the candidates.

    ``n_clusters`` may be a tensor when ``bucket`` (a Python int ``>= k``)
    fixes the shapes: each round then draws ``2 * bucket`` rows and keeps the
    first ``2 * k``, the same rows as a draw of ``2 * k``.

    Returns:
        ``centers [k, d]``, or ``[bucket, d]`` (rows beyond ``k`` zero) with ``bucket``.
    """
    n_features, dtype = source_spec(source)
    seeds = tf.random.experimental.stateless_split(seed, n_rounds + 2)
    first = sample_rows(source, 1, n_features, seeds[-1], chunk_size, dtype, padded)  # [1, d]
    n_rows = 2 * (n_clusters if bucket is None else bucket)
    kept = tf.range(n_rows) < 2 * n_clusters  # [l]
    centers = first
    for r in range(n_rounds):
        centers_sq = squared_norms(centers)
        init, merge = _gumbel_fold(n_rows, n_features, dtype)
        keys, rows, _ = fold_batches(
            lambda acc, x, w, c=centers, csq=centers_sq, s=seeds[r]: _kmeans_parallel_round(
                acc, x, w, c, csq, n_rows, s
            ),
            init,
            source,
            chunk_size,
            padded=padded,
            merge=merge,
        )
        # Slots no row could fill (fewer rows off the candidates than l) and the
        # slots of a bucket beyond 2k repeat the first candidate; the
        # nearest-first tie rule gives them no weight.
        rows = tf.where(((keys > -float("inf")) & kept)[:, None], rows, first)
        centers = tf.concat([centers, rows], 0)  # [1 + (r + 1) * l, d]
    centers_sq = squared_norms(centers)
    cand_w = reduce_batches(
        lambda x, w: _candidate_weights(x, w, centers, centers_sq),
        tf.zeros(tf.shape(centers)[:1], dtype),
        source,
        chunk_size,
        padded=padded,
    )
    trials = None
    if bucket is not None:  # n_clusters may be a tensor: the trial count as scikit-learn's
        trials = 2 + tf.cast(tf.math.log(tf.cast(n_clusters, tf.float64)), tf.int32)
    init, _ = kmeans_plusplus(centers, cand_w, n_clusters, seeds[-2], trials)
    if bucket is not None:
        init = pad_centers(init, bucket)
    cand_source = (centers, cand_w)
    final, _, _ = lloyd(cand_source, init, n_clusters, 30, tf.constant(0.0, dtype), 65536)
    return final


# Mini-batch k-means (Sculley 2010), with scikit-learn's reassignment and stopping rules.


def minibatch_update(x, w, centers, counts):
    """One mini-batch step: move each center toward its batch mean by its count.

    ``c_new = (c * n_c + sum_batch w x) / (n_c + sum_batch w)``, so each center
    is the running mean of every sample ever assigned to it.

    The batch's statistics go through ``reduce_batches`` (one chunk), so under
    a ``tf.distribute.Strategy`` the replicas share every mini-batch.

    Returns:
        ``(centers [k, d], counts [k], weighted batch inertia)``, the inertia
        summed over the rows in float64.
    """
    centers_sq = squared_norms(centers)

    def stats(xb, wb):
        labels, d2 = nearest(xb, centers, centers_sq)
        sums, weights = cluster_sums(xb, labels, tf.shape(centers)[0], wb)  # [k, d], [k]
        return sums, weights, tf.reduce_sum(tf.cast(wb * d2, tf.float64))  # [b] in float64

    zero = (tf.zeros_like(centers), tf.zeros_like(counts), tf.zeros([], tf.float64))
    batch_sums, batch_w, inertia = reduce_batches(stats, zero, (x, w), 1 << 30)
    new_counts = counts + batch_w
    safe = tf.where(new_counts > 0, new_counts, tf.ones_like(new_counts))
    moved = (centers * counts[:, None] + batch_sums) / safe[:, None]
    new_centers = tf.where((batch_w > 0)[:, None], moved, centers)
    return new_centers, new_counts, inertia


def reassign_low_counts(centers, counts, x, w, ratio, seed):
    """Move centers whose count is below ``ratio * max(counts)`` onto batch rows.

    At most half the batch is used; the moved centers' counts are set to the
    smallest remaining count, as scikit-learn does.
    """
    k = centers.shape[0] or tf.shape(centers)[0]
    b = tf.shape(x)[0]
    to_move = counts < ratio * tf.reduce_max(counts)  # [k]
    limit = b // 2
    rank = tf.math.invert_permutation(tf.argsort(counts, stable=True))  # [k]
    to_move = tf.logical_and(
        to_move, tf.logical_or(tf.reduce_sum(tf.cast(to_move, tf.int32)) <= limit, rank < limit)
    )
    moved_ids = tf.cast(tf.where(to_move)[:, 0], tf.int32)  # [m]
    m = tf.shape(moved_ids)[0]
    d = x.shape[1] or tf.shape(x)[1]
    rows = sample_rows((x, w), k, d, seed, 1 << 30, x.dtype)[:m]  # distinct rows by w
    centers = tf.tensor_scatter_nd_update(centers, moved_ids[:, None], rows)
    kept_min = tf.reduce_min(tf.where(to_move, counts.dtype.max, counts))
    counts = tf.where(to_move & (m < k), kept_min, counts)
    return centers, counts


class MiniBatchState(NamedTuple):
    """The state of the mini-batch loop (its field names are the checkpoint's keys)."""

    centers: tf.Tensor  # [k, d]
    counts: tf.Tensor  # [k] weight each center has seen
    step: tf.Tensor  # int32, steps done
    seen: tf.Tensor  # int64, rows seen
    since: tf.Tensor  # int32, rows since the last reassignment check
    ewa: tf.Tensor  # smoothed batch inertia (NaN before the second step)
    ewa_min: tf.Tensor  # its lowest value
    stale: tf.Tensor  # int32, steps without a new lowest ewa
    stop: tf.Tensor  # bool, a stopping rule fired


def minibatch_step(state, x, w, *, ratio, tol, max_no_improvement, n_samples, seed):
    """One step of the mini-batch loop with scikit-learn's stopping rules.

    ``state`` is a ``MiniBatchState``; the smoothed batch inertia ``ewa`` (float64,
    as the center shift tested against ``tol``) weighs
    a batch of ``b`` rows by ``min(2b / (n_samples + 1), 1)``. Returns the new
    ``MiniBatchState``.
    """
    centers, counts, step, seen, since, ewa, ewa_min, no_improvement, _ = MiniBatchState(*state)
    k = tf.shape(centers)[0]
    b = tf.shape(x)[0]
    alpha = tf.minimum(tf.cast(2 * b, ewa.dtype) / (tf.cast(n_samples, ewa.dtype) + 1), 1.0)
    seen = seen + tf.cast(b, tf.int64)
    since = since + b
    reassign = tf.logical_or(tf.reduce_any(counts == 0), since >= 10 * k)
    since = tf.where(reassign, 0, since)
    new_centers, counts, inertia = minibatch_update(x, w, centers, counts)
    if not isinstance(ratio, (int, float)) or ratio > 0:  # a tensor ratio of 0 moves nothing
        new_centers, counts = tf.cond(
            reassign,
            lambda: reassign_low_counts(
                new_centers,
                counts,
                x,
                w,
                ratio,
                tf.random.experimental.stateless_fold_in(seed, step),
            ),
            lambda: (new_centers, counts),
        )
    shift = _squared_shift(new_centers, centers)
    batch_inertia = inertia / tf.cast(b, inertia.dtype)
    first = step == 0  # the first step only initialises the moving average
    ewa = tf.where(
        first,
        ewa,
        tf.where(tf.math.is_nan(ewa), batch_inertia, ewa * (1 - alpha) + batch_inertia * alpha),
    )
    tol = tf.cast(tol, tf.float64)
    converged = tf.logical_and(tf.logical_not(first), tf.logical_and(tol > 0, shift <= tol))
    improved = ewa < ewa_min
    no_improvement = tf.where(
        first | converged, no_improvement, tf.where(improved, 0, no_improvement + 1)
    )
    ewa_min = tf.where(~first & ~converged & improved, ewa, ewa_min)
    stop = converged | (no_improvement >= max_no_improvement)
    return MiniBatchState(
        new_centers, counts, step + 1, seen, since, ewa, ewa_min, no_improvement, stop
    )


def minibatch_state(centers):
    """The initial state of ``minibatch_step`` for ``centers [k, d]``."""
    nan, inf = tf.constant(float("nan"), tf.float64), tf.constant(float("inf"), tf.float64)
    zero, seen = tf.constant(0), tf.constant(0, tf.int64)
    counts = tf.zeros_like(centers[:, 0])
    return MiniBatchState(centers, counts, zero, seen, zero, nan, inf, zero, tf.constant(False))


def minibatch_fit(source, state, n_steps, batch_size: int, seed, **rules):
    """The mini-batch loop, compiled, from ``state`` (``minibatch_state``) until
    step ``n_steps`` or a stopping rule: batches of ``batch_size`` rows drawn by
    weight (with replacement) from in-memory ``(x, w)``, or the batches of a
    ``tf.data.Dataset`` taken in order. The draws depend only on the seed and
    the step count, so a fit continued from a saved state is the same fit.

    Returns:
        the final ``MiniBatchState``.
    """
    sample_seed, seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if isinstance(source, tf.data.Dataset):
        for x, w in source:
            state = minibatch_step(state, x, w, seed=seed, **rules)
            if state.stop:
                break
        return state
    x, w = source
    # once, in float64: the same mini-batches whatever the dtype (float32 and float64
    # fits comparable step by step), and no cumsum over the weights per step
    cdf = tf.cumsum(tf.cast(w, tf.float64))  # [n]
    state = MiniBatchState(*state)
    while state.step < n_steps and not state.stop:
        idx = _sample_from_cdf(
            cdf, batch_size, tf.random.experimental.stateless_fold_in(sample_seed, state.step)
        )
        xb = tf.gather(x, idx)  # [batch_size, d]
        state = minibatch_step(state, xb, tf.ones_like(idx, x.dtype), seed=seed, **rules)
    return state
