"""Self-organizing map ops: online and batch training, best-matching units, diagnostics.

Pure TensorFlow, safe inside ``tf.function`` and XLA; no ``tf.function`` here
(the shells compile through ``tfcluster._engine``; the online inner loop is
an engine ``kernel``). Codebooks are ``[K, n_features]`` with ``K = m * n``,
node ``k`` at grid index ``(k // n, k % n)``. The map itself (``Grid``,
topologies, neighbourhoods, decays, activation distances, as MiniSom 2.3.6
defines them) is ``tfcluster.ops.som_map``; its public names are importable
from here too.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from tfcluster._engine.compile import kernel
from tfcluster.ops.batching import map_chunks, reduce_batches
from tfcluster.ops.distances import (
    _row_min,
    cluster_sums,
    first_argmin,
    masked_norms,
    nearest,
    squared_distances,
)
from tfcluster.ops.som_map import (  # the map, public here too
    ACTIVATIONS,
    HEX_Y,
    LEARNING_RATE_DECAYS,
    NEIGHBORHOODS,
    SIGMA_DECAYS,
    TOPOLOGIES,
    Grid,
    activation,
)

__all__ = [
    "HEX_Y",
    "Grid",
    "NEIGHBORHOODS",
    "ACTIVATIONS",
    "LEARNING_RATE_DECAYS",
    "SIGMA_DECAYS",
    "TOPOLOGIES",
    "activation",
    "winners",
    "Training",
    "NodeSums",
    "train_online",
    "online_block",
    "ONLINE_BLOCK",
    "batch_epoch",
    "train_batch",
    "best_two",
    "topographic_errors",
    "umatrix",
    "covariance",
]


def _winners(x, w, name: str, size=None):
    """Best-matching unit (first on ties) of each row of ``x [b, d]``: ``[b]`` int32.

    ``size``: only the first ``size`` rows of ``w`` are nodes (the rest pad a
    bucket and never win); None: all of them.
    """
    if name == "euclidean":
        norms = None if size is None else masked_norms(w, size)
        return nearest(x, w, norms)[0]
    scores = activation(x, w, name)  # [b, K]
    if size is not None:
        valid = tf.range(tf.shape(w)[0]) < size
        scores = tf.where(valid[None, :], scores, tf.constant(float("inf"), scores.dtype))
    return first_argmin(scores)[0]


def winners(x, w, name: str, chunk_size: int, *, padded: bool = False, size=None):
    """Best-matching unit of every row of ``x [n, d]``, chunk by chunk: ``[n]`` int32.

    ``padded``: every chunk ``[chunk_size, d]`` (the last padded, cut back).
    ``size``: nodes of the map, the first rows of ``w`` (None: all rows).
    """
    spec = tf.TensorSpec([None], tf.int32)
    return map_chunks(lambda xb: _winners(xb, w, name, size), x, chunk_size, spec, padded=padded)


# ---------------------------------------------------------------- online training


def _column_scores(x, wt, diff, name: str):
    """Distances from one sample ``x [d]`` to the codebook held as columns ``wt [d, K]``.

    ``diff = x[:, None] - wt`` is shared with the update. Reducing over the
    leading axis vectorises over the nodes, which makes the sequential loop
    about twice as fast on CPU as the row layout of ``ops.distances``.
    Euclidean scores are squared (same winner); a callable gets ``x [1, d]``
    and ``w [K, d]``.
    """
    if callable(name):
        return name(x[None, :], tf.transpose(wt))[0]
    if name == "euclidean":
        return tf.reduce_sum(tf.square(diff), axis=0)
    if name == "manhattan":
        return tf.reduce_sum(tf.abs(diff), axis=0)
    if name == "chebyshev":
        return tf.reduce_max(tf.abs(diff), axis=0)
    dot = tf.linalg.matvec(wt, x, transpose_a=True)  # [K]
    norms = tf.sqrt(tf.reduce_sum(tf.square(wt), axis=0) * tf.reduce_sum(tf.square(x)))
    return 1.0 - dot / (norms + 1e-8)


class Training(NamedTuple):
    """The state of a SOM training loop (``train_online``, ``train_batch``)."""

    step: tf.Tensor  # int32: unrolled step pairs, blocks or epochs done
    codebook: tf.Tensor  # [K, d]; the online kernels carry its transpose [d, K]


class NodeSums(NamedTuple):
    """What one batch-map pass sums per node (``batch_epoch``)."""

    counts: tf.Tensor  # [K] weight of the samples each node wins
    sums: tf.Tensor  # [K, d] their weighted sum


_UNROLL = 2
ONLINE_BLOCK = 512  # steps per kernel call: the kernel's shapes never depend on T or N


@kernel(always=True)
@tf.autograph.experimental.do_not_convert  # plain graph code: converting it cost seconds
def online_block(v, wt, eta, sigma, m, n, fixed, *, topology, toroidal, neighborhood, distance):
    """``ONLINE_BLOCK`` sequential Kohonen steps, XLA-compiled: the new ``wt [d, K]``.

    Args:
        v: the samples of the steps, in order ``[B, d]``.
        wt: the codebook as columns ``[d, K]``, ``K >= m * n`` (the columns
            beyond ``m * n`` pad a bucket of nodes: they never win).
        eta: learning rate of each step ``[B]`` (0 for a padding step: no change).
        sigma: neighbourhood spread of each step ``[B]``.
        m, n: the map's shape, int32 scalars.
        fixed: the winner forced on each step ``[B]`` int32, -1 for none
            (MiniSom's ``fixed_points``).
        topology, toroidal, neighborhood, distance: names.
    """
    # the kernel may be traced with a relaxed (unknown) node count: read it at run time
    grid = Grid(m, n, topology, toroidal, wt.dtype, size=tf.shape(wt)[1])
    spread = NEIGHBORHOODS[neighborhood]
    block = v.shape[0]
    inf = tf.constant(float("inf"), wt.dtype)
    valid = grid.node_mask()  # [K]

    def step(s, wt):  # wt [d, K]
        x = v[s]  # [d]
        diff = x[:, None] - wt  # [d, K]
        # the maths of first_argmin, inline: already inside this XLA kernel, a
        # nested kernel per unrolled step only costs tracing
        scores = tf.where(valid, _column_scores(x, wt, diff, distance), inf)  # [K]
        c = _row_min(scores[None, :])[0]  # [1]
        forced = tf.gather(fixed, s)  # a gather, not a slice: XLA keeps one program
        c = tf.where(forced >= 0, forced[None], c)  # [1]
        h = spread(grid, c, sigma[s])[0] * eta[s]  # [K]
        return wt + h[None, :] * diff

    def unrolled(state):  # unrolled by _UNROLL steps (about 20% faster on CPU)
        wt = state.codebook
        for u in range(_UNROLL):
            wt = step(state.step * _UNROLL + u, wt)
        return (Training(state.step + 1, wt),)

    (state,) = tf.while_loop(
        lambda state: state.step < block // _UNROLL, unrolled, (Training(tf.constant(0), wt),)
    )
    return state.codebook


def train_online(
    x, w, order, eta, sigma, *, shape, topology, toroidal, neighborhood, distance, fixed=None
):
    """The sequential Kohonen rule, one sample per step.

    At step ``s`` with sample ``v = x[order[s]]`` and winner ``c``:
    ``w += eta[s] * h(c, sigma[s])[:, None] * (v - w)`` (MiniSom's ``update``).
    The steps run ``ONLINE_BLOCK`` at a time through the XLA kernel
    ``online_block``, whose shapes depend on neither ``T`` nor ``N``: a new
    number of steps or samples compiles nothing. The last block is padded
    with steps of ``eta = 0``, which leave the codebook unchanged.

    Args:
        x: samples ``[N, d]``.
        w: initial codebook ``[K, d]``.
        order: the sample index of each step ``[T]`` int32.
        eta: learning rate of each step ``[T]``.
        sigma: neighbourhood spread of each step ``[T]``.
        shape: ``(m, n)``, ints or int32 scalars (``K >= m * n``: the rows of
            ``w`` beyond ``m * n`` pad a bucket, never win, and are returned
            as they come out).
        topology, toroidal, neighborhood, distance: names (``distance`` may
            be a callable, see ``activation``).
        fixed: the winner forced for each sample ``[N]`` int32, -1 for none
            (MiniSom's ``fixed_points``); None: none.

    Returns:
        The trained codebook ``[K, d]``.
    """
    m, n = (tf.cast(v, tf.int32) for v in shape)
    statics = dict(
        topology=topology,
        toroidal=toroidal,
        neighborhood=neighborhood,
        distance=distance,
    )
    block = ONLINE_BLOCK
    steps = tf.shape(order)[0]
    pad = (-steps) % block
    order = tf.concat([order, tf.zeros([pad], order.dtype)], 0)
    eta = tf.concat([eta, tf.zeros([pad], eta.dtype)], 0)
    sigma = tf.concat([sigma, tf.ones([pad], sigma.dtype)], 0)
    d = x.shape[1]
    if fixed is None:
        fixed = tf.fill(tf.shape(x)[:1], -1)
    fixed = tf.gather(fixed, order)  # [T + pad]: the winner forced on each step

    def body(state):
        b, wt = state.step, state.codebook
        rows = tf.range(b * block, (b + 1) * block)  # [B]
        v = tf.ensure_shape(tf.gather(x, tf.gather(order, rows)), [block, d])  # [B, d]
        eta_b = tf.ensure_shape(tf.gather(eta, rows), [block])
        sigma_b = tf.ensure_shape(tf.gather(sigma, rows), [block])
        fixed_b = tf.ensure_shape(tf.gather(fixed, rows), [block])
        new = online_block(v, wt, eta_b, sigma_b, m, n, fixed_b, **statics)
        return (Training(b + 1, tf.ensure_shape(new, wt.shape)),)  # the kernel may relax shapes

    blocks = (steps + pad) // block
    start = Training(tf.constant(0), tf.transpose(w))
    (state,) = tf.while_loop(lambda state: state.step < blocks, body, (start,))
    return tf.transpose(state.codebook)


# ---------------------------------------------------------------- batch training


def _bmu_sums(x, sw, w, distance: str, size=None):
    """Weight and weighted sum of the samples won by each node: ``[K]``, ``[K, d]``.

    Not under XLA: TensorFlow's own GEMM is faster than XLA's on CPU here.
    """
    c = _winners(x, w, distance, size)  # [b]
    # segment sums: K is the node count (1,024 for 32x32), too many for a one-hot GEMM
    sums, counts = cluster_sums(x, c, tf.shape(w)[0], sw, segments=True)  # [K, d], [K]
    return NodeSums(counts, sums)


def batch_epoch(
    source,
    w,
    learning_rate,
    sigma,
    chunk_size,
    *,
    shape,
    topology,
    toroidal,
    neighborhood,
    distance,
    padded=False,
):
    """One epoch of the batch map (MiniSom's ``train_batch_offline`` step).

    One pass accumulates, per node, the weight and weighted sum of the
    samples it wins; spreading these over the grid with the neighbourhood
    matrix ``G [K, K]`` gives ``num = G.T @ sums``, ``den = G.T @ counts``.
    Nodes with ``den > 0`` move to ``(1 - lr) * w + lr * num / den``
    (``learning_rate=1`` is Kohonen's classic batch map).

    Args:
        source: ``(x [N, d], sample_weight [N])`` or a ``tf.data.Dataset`` of such batches.
        w: codebook ``[K, d]``.
        learning_rate, sigma: this epoch's values (scalars).
        chunk_size: rows per chunk for in-memory sources.
        shape: ``(m, n)``, ints or int32 scalars; ``K >= m * n`` (the rows
            of ``w`` beyond pad a bucket: they win nothing).
        padded: static ``[chunk_size, d]`` chunks, the last padded with
            zero-weight rows (which add nothing to the weighted sums).

    Returns:
        The new codebook ``[K, d]``.
    """
    k_static = w.shape[0]
    k = tf.shape(w)[0] if k_static is None else k_static  # traced with free shapes: a tensor
    grid = Grid(shape[0], shape[1], topology, toroidal, w.dtype, size=k)
    size = shape[0] * shape[1]
    if not tf.is_tensor(size) and size == k_static:
        size = None  # no padding nodes
    init = NodeSums(tf.zeros([k], w.dtype), tf.zeros_like(w))
    node = reduce_batches(
        lambda x, sw: _bmu_sums(x, sw, w, distance, size),
        init,
        source,
        chunk_size,
        padded=padded,
    )
    g = NEIGHBORHOODS[neighborhood](grid, tf.range(k), sigma)  # [K winners, K nodes]
    num = tf.matmul(g, node.sums, transpose_a=True)  # [K, d]
    den = tf.linalg.matvec(g, node.counts, transpose_a=True)  # [K]
    moved = den > 0
    new = num / tf.where(moved, den, 1.0)[:, None]
    return tf.where(moved[:, None], (1.0 - learning_rate) * w + learning_rate * new, w)


def train_batch(source, w, eta, sigma, chunk_size, **options):
    """Every epoch of the batch map as one loop: ``batch_epoch`` with ``eta[e]``, ``sigma[e]``.

    Args:
        source: as ``batch_epoch``.
        w: the initial codebook ``[K, d]``.
        eta, sigma: this fit's learning rate and spread of each epoch ``[E]``
            (``E`` a tensor dimension: a new number of epochs retraces nothing).
        chunk_size: rows per chunk for in-memory sources.
        **options: ``batch_epoch``'s keywords (shape, topology, ..., padded).

    Returns:
        The trained codebook ``[K, d]``.
    """

    def body(state):
        e = state.step
        w = batch_epoch(source, state.codebook, eta[e], sigma[e], chunk_size, **options)
        return (Training(e + 1, w),)

    epochs = tf.shape(eta)[0]
    (state,) = tf.while_loop(
        lambda state: state.step < epochs, body, (Training(tf.constant(0), w),)
    )
    return state.codebook


# ---------------------------------------------------------------- diagnostics


def best_two(x, w):
    """The two nearest nodes (Euclidean, first on ties) of each row: ``[b, 2]`` int32."""
    return tf.math.top_k(-squared_distances(x, w), k=2, sorted=True).indices


def topographic_errors(pairs, shape, topology: str, toroidal: bool, dtype):
    """1.0 where the two best units ``pairs [b, 2]`` are not grid neighbours, else 0.0.

    Rectangular: neighbours if their index distance is at most 1.42 (the 8
    around a node); hexagonal: if their Euclidean distance is 1 (MiniSom).
    """
    grid = Grid(shape[0], shape[1], topology, toroidal, dtype)
    dx, dy = grid.pair_gaps(pairs[:, 0], pairs[:, 1])  # [b]
    dist = tf.sqrt(tf.square(dx) + tf.square(dy))
    if topology == "hexagonal":
        far = tf.abs(dist - 1.0) > 1e-8 + 1e-5 * dist  # not numpy.isclose(1, dist)
    else:
        far = dist > 1.42
    return tf.cast(far, dtype)


# Neighbour offsets (di, dj) of MiniSom's distance_map. Hexagonal: the set for
# columns shifted by -0.5 and for the others; MiniSom picks them by the parity
# of j, which agrees with its layout for odd n (and is fixed here for even n).
_RECT_OFFSETS = [(0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1)]
_HEX_SHIFTED = [(0, 1), (1, 0), (0, -1), (-1, -1), (-1, 0), (-1, 1)]
_HEX_UNSHIFTED = [(1, 1), (1, 0), (1, -1), (0, -1), (-1, 0), (0, 1)]


def umatrix(w, shape, topology: str, toroidal: bool, scaling: str):
    """MiniSom's ``distance_map``: per node, the sum or mean of the Euclidean
    distances to its grid neighbours, divided by the largest value ``[m, n]``.

    A constant codebook gives zeros (MiniSom returns NaN).
    """
    m, n = shape
    k = tf.range(m * n)
    i, j = k // n, k % n
    if topology == "hexagonal":
        shifted = (tf.math.floormod(n - 1 - j, 2) == 0)[:, None]  # [K, 1]
        on, off = tf.constant(_HEX_SHIFTED), tf.constant(_HEX_UNSHIFTED)
        di = tf.where(shifted, on[None, :, 0], off[None, :, 0])  # [K, 6]
        dj = tf.where(shifted, on[None, :, 1], off[None, :, 1])
    else:
        offsets = tf.constant(_RECT_OFFSETS)
        di = tf.broadcast_to(offsets[None, :, 0], [m * n, 8])
        dj = tf.broadcast_to(offsets[None, :, 1], [m * n, 8])
    ni, nj = i[:, None] + di, j[:, None] + dj  # [K, P]
    if toroidal:
        ni, nj = tf.math.floormod(ni, m), tf.math.floormod(nj, n)
    valid = (ni >= 0) & (ni < m) & (nj >= 0) & (nj < n)
    neighbour = tf.where(valid, ni * n + nj, 0)
    gaps = tf.norm(tf.gather(w, neighbour) - w[:, None, :], axis=-1)  # [K, P]
    gaps = tf.where(valid, gaps, tf.zeros_like(gaps))
    um = tf.reduce_sum(gaps, axis=1)
    if scaling == "mean":
        count = tf.reduce_sum(tf.cast(valid, w.dtype), axis=1)
        um = um / tf.maximum(count, 1.0)
    top = tf.reduce_max(um)
    um = tf.where(top > 0, um / tf.where(top > 0, top, 1.0), tf.zeros_like(um))
    return tf.reshape(um, [m, n])


# ---------------------------------------------------------------- initialisation


def covariance(source, mean, chunk_size, *, padded=False):
    """Weighted covariance ``[d, d]`` about ``mean [d]``, with ``sum(w) - 1`` in the
    denominator (numpy.cov for unit weights), and the total weight.

    ``padded``: static chunks, the last padded with zero-weight rows."""

    def stats(x, sw):
        xc = x - mean
        return tf.reduce_sum(sw), tf.matmul(sw[:, None] * xc, xc, transpose_a=True)

    d = tf.shape(mean)[0]
    init = (tf.zeros([], mean.dtype), tf.zeros([d, d], mean.dtype))
    total, scatter = reduce_batches(stats, init, source, chunk_size, padded=padded)
    return scatter / tf.maximum(total - 1.0, 1.0), total
