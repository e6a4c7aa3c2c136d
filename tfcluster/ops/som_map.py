"""The map of a self-organizing map: grid, topologies, neighbourhoods, decays, distances.

Pure TensorFlow, safe inside ``tf.function`` and XLA, as ``tfcluster.ops.som``
(which uses these in its training loops and exports every public name here).
The map has ``m x n`` nodes, flattened row by row: node ``k`` sits at grid
index ``(k // n, k % n)``. The definitions follow MiniSom (2.3.6) exactly:
the hexagonal layout shifts every other column ``j`` (counted from the last)
by ``-0.5`` along ``i`` and scales ``j`` by ``sqrt(3) / 2``; gaussian and
mexican hat use these coordinates, bubble and triangle the integer grid
indices. A toroidal map wraps both axes (minimum-image distances), which
MiniSom lacks.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfcluster.ops.distances import squared_distances, squared_norms

__all__ = [
    "HEX_Y",
    "TOPOLOGIES",
    "Grid",
    "NEIGHBORHOODS",
    "LEARNING_RATE_DECAYS",
    "SIGMA_DECAYS",
    "ACTIVATIONS",
    "activation",
]

HEX_Y = math.sqrt(3.0) / 2.0  # MiniSom's Y_HEX_CONV_FACTOR
TOPOLOGIES = ("rectangular", "hexagonal")


class Grid:
    """Node positions of an ``m x n`` map.

    ``m`` and ``n`` are Python ints or int32 scalar tensors (then one compiled
    program serves every map of ``size`` nodes or fewer). With ``size`` above
    ``m * n`` the nodes ``k >= m * n`` are padding (a bucket of nodes): they
    get positions beyond the map, and callers mask them (``node_mask``).

    Attributes:
        m, n: the map's shape; ``size``: the number of nodes ``K`` (a Python
            int, ``m * n`` unless given).
        rows, cols: integer grid index of each node as ``dtype`` ``[K]``.
        x, y: Euclidean position of each node ``[K]`` (MiniSom's
            ``get_euclidean_coordinates``).
        period_x, period_y: the wrap-around periods of ``x``/``y`` on a torus
            (None if not toroidal).
    """

    def __init__(self, m, n, topology: str, toroidal: bool, dtype=tf.float32, size=None):
        self.m, self.n, self.size = m, n, m * n if size is None else size
        self.topology, self.toroidal, self.dtype = topology, toroidal, dtype
        k = tf.range(self.size)
        self.rows = tf.cast(k // n, dtype)  # [K]
        self.cols = tf.cast(k % n, dtype)  # [K]
        if topology == "hexagonal":
            shifted = tf.cast(tf.math.floormod(n - 1 - k % n, 2) == 0, dtype)
            self.x = self.rows - 0.5 * shifted
            self.y = self.cols * HEX_Y
        else:
            self.x, self.y = self.rows, self.cols
        if toroidal:  # the periods rounded from float64, as Python constants would be
            m64, n64 = (tf.cast(v, tf.float64) if tf.is_tensor(v) else float(v) for v in (m, n))
            y_period = n64 * HEX_Y if topology == "hexagonal" else n64
            self.period_x = self.period_rows = _as(m64, dtype)
            self.period_y, self.period_cols = _as(y_period, dtype), _as(n64, dtype)
        else:
            self.period_x = self.period_y = self.period_rows = self.period_cols = None

    def node_mask(self):
        """``[K]`` True for the nodes of the map, False for padding nodes."""
        return tf.range(self.size) < self.m * self.n

    @staticmethod
    def gap(a, b, period):
        """``|a - b|``, the shorter way round if ``period`` is set."""
        d = tf.abs(a - b)
        return d if period is None else tf.minimum(d, period - d)

    def coordinate_gaps(self, c):
        """Euclidean offsets ``(|dx|, |dy|)`` ``[b, K]`` from winners ``c [b]`` to all nodes."""
        dx = self.gap(self.x[None, :], tf.gather(self.x, c)[:, None], self.period_x)
        dy = self.gap(self.y[None, :], tf.gather(self.y, c)[:, None], self.period_y)
        return dx, dy

    def pair_gaps(self, a, b):
        """Euclidean offsets ``(|dx|, |dy|)`` ``[b]`` between nodes ``a [b]`` and ``b [b]``."""
        dx = self.gap(tf.gather(self.x, a), tf.gather(self.x, b), self.period_x)
        dy = self.gap(tf.gather(self.y, a), tf.gather(self.y, b), self.period_y)
        return dx, dy

    def index_gaps(self, c):
        """Integer grid offsets ``(|di|, |dj|)`` ``[b, K]`` from winners ``c [b]`` to all nodes."""
        di = self.gap(self.rows[None, :], tf.gather(self.rows, c)[:, None], self.period_rows)
        dj = self.gap(self.cols[None, :], tf.gather(self.cols, c)[:, None], self.period_cols)
        return di, dj


def _as(value, dtype):
    """A period as ``dtype``: a Python float stays one (converted where it is used)."""
    return tf.cast(value, dtype) if tf.is_tensor(value) else value


# ---------------------------------------------------------------- neighbourhoods
# Each maps (grid, winners c [b] int32, sigma scalar) to weights h [b, K].


def _spread(sigma, dtype):
    """``2 sigma^2``, at least the smallest normal number of ``dtype``.

    A sigma so small that ``2 sigma^2`` underflows (1e-20 in float32) would
    make ``0 / 0`` at the winner; clamped, the neighbourhood is the winner
    alone, the limit MiniSom reaches in float64.
    """
    tiny = 2.0**-126 if dtype == tf.float32 else 2.0**-1022
    return tf.maximum(2.0 * sigma * sigma, tf.constant(tiny, dtype))


def _gaussian(grid, c, sigma):
    dx, dy = grid.coordinate_gaps(c)
    d = _spread(sigma, grid.dtype)
    return tf.exp(-tf.square(dx) / d) * tf.exp(-tf.square(dy) / d)


def _mexican_hat(grid, c, sigma):
    dx, dy = grid.coordinate_gaps(c)
    p = tf.square(dx) + tf.square(dy)
    d = _spread(sigma, grid.dtype)
    e = tf.exp(-p / d)
    # where the exponential underflows to 0 the product is 0 (not 0 * inf)
    return tf.where(e > 0, e * (1.0 - 2.0 / d * p), tf.zeros_like(e))


def _bubble(grid, c, sigma):
    di, dj = grid.index_gaps(c)
    return tf.cast((di < sigma) & (dj < sigma), grid.dtype)


def _triangle(grid, c, sigma):
    di, dj = grid.index_gaps(c)
    return tf.nn.relu(sigma - di) * tf.nn.relu(sigma - dj)


NEIGHBORHOODS = {
    "gaussian": _gaussian,
    "mexican_hat": _mexican_hat,
    "bubble": _bubble,
    "triangle": _triangle,
}

# ---------------------------------------------------------------- decay schedules
# f(initial_value, t, max_iter) with t a number or an array; MiniSom's formulas.


def _asymptotic(value, t, max_iter):
    return value / (1 + t / (max_iter / 2))


def _inverse_to_zero(value, t, max_iter):
    c = max_iter / 100.0
    return value * c / (c + t)


def _linear_to_zero(value, t, max_iter):
    return value * (1 - t / max_iter)


def _inverse_to_one(value, t, max_iter):
    c = (value - 1) / max_iter
    return value / (1 + t * c)


def _linear_to_one(value, t, max_iter):
    return value + t * (1 - value) / max_iter


LEARNING_RATE_DECAYS = {
    "asymptotic": _asymptotic,
    "inverse": _inverse_to_zero,
    "linear": _linear_to_zero,
    "asymptotic_decay": _asymptotic,
    "inverse_decay_to_zero": _inverse_to_zero,
    "linear_decay_to_zero": _linear_to_zero,
}
SIGMA_DECAYS = {
    "asymptotic": _asymptotic,
    "inverse": _inverse_to_one,
    "linear": _linear_to_one,
    "asymptotic_decay": _asymptotic,
    "inverse_decay_to_one": _inverse_to_one,
    "linear_decay_to_one": _linear_to_one,
}

# ---------------------------------------------------------------- activation distances
# Each maps x [b, d], codebook w [K, d] to distances [b, K] (MiniSom's
# ``activate``; chebyshev takes the absolute difference, see below).


def _euclidean(x, w):
    return tf.sqrt(squared_distances(x, w))


def _cosine(x, w):
    dot = tf.matmul(x, w, transpose_b=True)  # [b, K]
    norms = tf.sqrt(squared_norms(x))[:, None] * tf.sqrt(squared_norms(w))[None, :]
    return 1.0 - dot / (norms + 1e-8)


def _manhattan(x, w):
    return tf.reduce_sum(tf.abs(x[:, None, :] - w[None, :, :]), axis=-1)


def _chebyshev(x, w):
    # max |x - w|: MiniSom 2.3.6 omits the abs (max(x - w)), not a distance.
    return tf.reduce_max(tf.abs(x[:, None, :] - w[None, :, :]), axis=-1)


ACTIVATIONS = {
    "euclidean": _euclidean,
    "cosine": _cosine,
    "manhattan": _manhattan,
    "chebyshev": _chebyshev,
}


def activation(x, w, name):
    """Distances ``[b, K]`` from samples ``x [b, d]`` to codebook ``w [K, d]``.

    ``name``: a name of ``ACTIVATIONS`` or a callable ``(x, w) -> [b, K]``.
    """
    return name(x, w) if callable(name) else ACTIVATIONS[name](x, w)
