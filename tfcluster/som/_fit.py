"""Parameter checks, decay schedules, initial codebooks and training drivers of the SOM.

Private helpers of ``tfcluster.som.SelfOrganizingMap``: everything between the
user's arguments and the ops of ``tfcluster.ops.som``, compiled here through the
engine's ``Program``: the data's rows, the number of steps or epochs and the
per-step learning rates and spreads are tensor dimensions or values, so a new
``n_samples``, ``num_iteration``, ``epochs``, ``learning_rate`` or ``sigma``
traces and compiles nothing; a program is traced once per (dtype,
n_features, map shape, options).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from tfcluster._base import check_option, check_positive_int, split_seed
from tfcluster._engine import Program, bucket, chunk_size, pad_rows
from tfcluster._engine.checkpoint import resume_loop
from tfcluster._engine.driver import Data, call, moments
from tfcluster._validation import check_array
from tfcluster.ops import som as ops
from tfcluster.ops.batching import gather_rows

MODES = ("online", "batch")
SCALINGS = ("sum", "mean")
INITS = ("random", "pca")
_SHIFTABLE = ("euclidean", "manhattan", "chebyshev")  # distances invariant to translation


@dataclasses.dataclass(frozen=True)
class Config:
    """The validated constructor arguments."""

    m: int
    n: int
    sigma: float
    learning_rate: float
    neighborhood: str
    topology: str
    distance: object  # a name of ops.ACTIVATIONS or a callable (x, w) -> [b, K]
    lr_decay: object
    sigma_decay: object
    toroidal: bool
    dtype: tf.DType

    @property
    def size(self) -> int:
        return self.m * self.n

    @property
    def nodes(self) -> int:
        """Nodes of the compiled programs: ``m * n`` padded to a bucket (16, 32, 64, ...).

        The padding nodes never win; one program (and one XLA kernel) serves
        every map size of a bucket, so 12 x 12 reuses what 16 x 16 compiled.
        """
        return bucket(self.size)

    def grid(self) -> tf.Tensor:
        """``[m, n]`` int32: the map's shape, a tensor argument of the programs."""
        return tf.constant([self.m, self.n], tf.int32)

    @property
    def statics(self) -> dict:
        """The trace-time options of the compiled training ops (the shape is a tensor)."""
        return dict(
            topology=self.topology,
            toroidal=self.toroidal,
            neighborhood=self.neighborhood,
            distance=self.distance,
        )

    def chunk(self, n_features: int, n_rows: int | None = None) -> int:
        """Rows per (padded) chunk: memory ``[chunk, K]``, or ``[chunk, K, d]`` for L1/L-inf.

        A power of two (``tfcluster._engine.chunk_size``), at most ``n_rows``
        rounded up: the chunk shape changes only at a power of two.
        """
        wide = callable(self.distance) or self.distance in ("manhattan", "chebyshev")
        per_row = self.nodes * (n_features if wide else 1)  # a callable may be [b, K, d]
        return chunk_size(n_rows, per_row)

    def shift(self, codebook: np.ndarray) -> np.ndarray:
        """Offset subtracted from data and codebook before computing (float32 accuracy)."""
        if self.distance not in _SHIFTABLE:
            return np.zeros(codebook.shape[-1], np.float64)
        # rounded: integer data stay exact, so exact ties stay ties
        return np.round(codebook.reshape(-1, codebook.shape[-1]).astype(np.float64).mean(axis=0))


# Config field -> the constructor parameter it holds, where the names differ
_PARAMETER = {
    "neighborhood": "neighborhood_function",
    "distance": "activation_distance",
    "lr_decay": "decay_function",
    "sigma_decay": "sigma_decay_function",
}
_FIELDS = dataclasses.fields(Config)


def check_params(est) -> Config:
    """Validate a SelfOrganizingMap's constructor arguments (its ``_constraints``)."""
    p = est._validate_params()
    if p.toroidal and p.topology == "hexagonal" and p.n % 2:
        raise ValueError(
            f"A toroidal hexagonal map needs an even n (columns) to close up; got n={p.n}."
        )
    return Config(**{f.name: getattr(p, _PARAMETER.get(f.name, f.name)) for f in _FIELDS})


# ---------------------------------------------------------------- schedules


def schedule(name: str, fn, value: float, t: np.ndarray, max_iter: int) -> np.ndarray:
    """``fn(value, t, max_iter)`` for every step ``t [T]`` as float64 ``[T]``.

    A callable that does not take arrays is called once per distinct ``t``.
    """
    try:
        out = np.asarray(fn(value, t.astype(np.float64), max_iter), dtype=np.float64)
        out = np.broadcast_to(out, t.shape)
    except (TypeError, ValueError):
        steps = np.unique(t)
        try:
            values = np.array([float(fn(value, int(s), max_iter)) for s in steps])
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must return a number for (initial value, t, max_iter); got error: {exc}"
            ) from None
        out = values[np.searchsorted(steps, t)]
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} gave a NaN or infinite value; it must stay finite.")
    if name == "sigma_decay_function" and np.any(out <= 0):
        raise ValueError("sigma_decay_function must keep sigma > 0 at every step.")
    return out


class Plan(NamedTuple):
    """A checked training length.

    Attributes:
        mode: "online" or "batch".
        steps: updates to make (online steps, or batch epochs).
        decay_t: ``[steps]`` the ``t`` of the decay schedules at each update.
        max_iter: the ``T`` of the decay schedules.
        epochs: online passes over the data (None for ``num_iteration``
            steps); batch: the number of epochs.
        random_order: online only, visit the samples in a random order.
    """

    mode: str
    steps: int
    decay_t: np.ndarray
    max_iter: int
    epochs: int | None
    random_order: bool


def training_length(est, mode=None, num_iteration=None, epochs=None, random_order=None) -> dict:
    """The training length of one fit: each fit argument given, else the constructor's.

    ``num_iteration`` and ``epochs`` are one choice: either one given to ``fit``
    replaces both constructor values. Values are checked by ``iteration_plan``.
    """
    if num_iteration is None and epochs is None:
        num_iteration, epochs = est.num_iteration, est.epochs
    return dict(
        mode=est.mode if mode is None else mode,
        num_iteration=num_iteration,
        epochs=epochs,
        random_order=est.random_order if random_order is None else random_order,
    )


def iteration_plan(length: dict, n_samples: int, size: int) -> Plan:
    """Check a ``training_length`` for ``n_samples`` rows and a map of ``size`` nodes.

    Online: ``num_iteration`` steps (default ``500 * size``) with ``t = step``
    (MiniSom's ``train``), or ``epochs`` passes with ``t = epoch``
    (``use_epochs=True``). Batch: one step per epoch (default 10 epochs).
    """
    mode = check_option("mode", length["mode"], MODES)
    num_iteration, epochs, random_order = (
        length["num_iteration"],
        length["epochs"],
        length["random_order"],
    )
    if not isinstance(random_order, (bool, np.bool_)):
        raise TypeError(f"random_order must be True or False, got {random_order!r}.")
    if num_iteration is not None and epochs is not None:
        raise ValueError("Give num_iteration or epochs, not both.")
    if mode == "batch":
        if num_iteration is not None:
            raise ValueError(
                "mode='batch' runs whole passes over the data: give epochs, not num_iteration."
            )
        epochs = 10 if epochs is None else check_positive_int("epochs", epochs)
        return Plan(mode, epochs, np.arange(epochs), epochs, epochs, bool(random_order))
    if epochs is not None:
        epochs = check_positive_int("epochs", epochs)
        steps = epochs * n_samples
        return Plan(mode, steps, np.arange(steps) // n_samples, epochs, epochs, bool(random_order))
    steps = 500 * size if num_iteration is None else num_iteration
    steps = check_positive_int("num_iteration", steps)
    return Plan(mode, steps, np.arange(steps), steps, None, bool(random_order))


def online_order(n_samples, steps, epochs, random_order, seed) -> tf.Tensor:
    """The sample index of each step ``[steps]`` int32, as MiniSom orders them.

    Without epochs: ``arange(steps) % n_samples``, shuffled as a whole if
    ``random_order``; with epochs: one permutation of the samples repeated.
    """
    if epochs is None:
        order = tf.range(steps) % n_samples
        return tf.random.experimental.stateless_shuffle(order, seed) if random_order else order
    perm = tf.range(n_samples)
    if random_order:
        perm = tf.random.experimental.stateless_shuffle(perm, seed)
    return tf.tile(perm, [epochs])


# ---------------------------------------------------------------- initial codebook


def check_codebook(init, cfg: Config, n_features: int) -> np.ndarray:
    """A user codebook ``[m, n, n_features]`` as a float64 numpy array (checked
    against the limits of the fit dtype)."""
    w = np.asarray(init.numpy() if tf.is_tensor(init) else init)
    expected = (cfg.m, cfg.n, n_features)
    if w.ndim != 3 or w.shape != expected:
        raise ValueError(
            f"init codebook must have shape (m, n, n_features) = {expected}; got {w.shape}."
        )
    check_array(w.reshape(cfg.size, n_features), dtype=cfg.dtype, name="init")
    flat = check_array(w.reshape(cfg.size, n_features), dtype=tf.float64, name="init")
    return flat.numpy().reshape(expected)


def _pca_codebook(data: Data, cfg: Config) -> np.ndarray:
    """MiniSom's pca_weights_init: ``mean + c1 * pc1 + c2 * pc2`` on a
    ``linspace(-1, 1)`` grid of the two leading (unit) eigenvectors.

    Eigenvector signs are fixed so that the largest component is positive.
    """
    d = data.n_features
    if d < 2:
        raise ValueError("init='pca' needs at least 2 features; use init='random'.")
    mean = moments(data)[0]
    mean_t = tf.constant(mean, data.dtype)
    padded = not data.streamed
    chunk = chunk_size(data.n_samples, d)
    cov, _ = call(_covariance, data.source, mean_t, chunk=chunk, padded=padded)
    vals, vecs = np.linalg.eigh(cov.numpy().astype(np.float64))
    pcs = vecs[:, np.argsort(vals)[::-1][:2]].T  # [2, d]
    pcs *= np.sign(pcs[np.arange(2), np.argmax(np.abs(pcs), axis=1)])[:, None]
    c1 = np.linspace(-1, 1, cfg.m)[:, None, None]
    c2 = np.linspace(-1, 1, cfg.n)[None, :, None]
    # the grid spans +-1 of the user's units: +-1 / scale in compute units
    return mean + (c1 * pcs[0] + c2 * pcs[1]) / data.frame.scale


# ---------------------------------------------------------------- compiled programs
# Plain graph code (explicit tf.while_loop): not converted by AutoGraph, whose
# conversion of the SOM ops cost more than their XLA compilation.
_plain = tf.autograph.experimental.do_not_convert


@_plain
def _covariance_fn(source, mean, *, chunk, padded):
    return ops.covariance(source, mean, chunk, padded=padded)


@_plain
def _gather_rows_fn(source, indices, *, chunk):
    return gather_rows(source, indices, chunk)


@_plain
def _online_fn(x, w, order, eta, sigma, grid, fixed, **statics):
    shape = (grid[0], grid[1])
    return ops.train_online(x, w, order, eta, sigma, shape=shape, fixed=fixed, **statics)


@_plain
def _batch_fn(source, w, eta, sigma, grid, *, chunk, padded, **statics):
    shape = (grid[0], grid[1])
    return ops.train_batch(source, w, eta, sigma, chunk, padded=padded, shape=shape, **statics)


# rows: the samples, the per-step (per-epoch) schedules and the sampled indices
_covariance = Program(_covariance_fn, "som.covariance", rows=(0,), free_shapes=True)
_gather_rows = Program(_gather_rows_fn, "som.gather_rows", rows=(0, 1), free_shapes=True)
_online = Program(_online_fn, "som.online", rows=(0, 2, 3, 4, 6), free_shapes=True)
_batch = Program(_batch_fn, "som.batch", rows=(0, 2, 3), free_shapes=True)


def initial_codebook(init, data: Data, cfg: Config, seed) -> np.ndarray:
    """The starting codebook ``[m, n, n_features]`` (numpy, fit dtype), in the
    compute units of ``data`` (``data.frame``)."""
    d = data.n_features
    if not isinstance(init, str):
        w = data.frame.to_internal(check_codebook(init, cfg, d))
        return w.astype(cfg.dtype.as_numpy_dtype)
    if init == "pca":
        w = _pca_codebook(data, cfg)
    else:  # "random": rows of the data drawn uniformly with replacement (MiniSom)
        n = data.n_samples if not data.streamed else moments(data)[3]
        idx = tf.random.stateless_uniform([cfg.size], seed, 0, n, dtype=tf.int32)
        if data.streamed:
            w = call(_gather_rows, data.source, idx, chunk=chunk_size(None, d)).numpy()
        else:
            w = tf.gather(data.x, idx).numpy()
    return w.astype(cfg.dtype.as_numpy_dtype).reshape(cfg.m, cfg.n, d)


# ---------------------------------------------------------------- training


def train(data: Data, w0: np.ndarray, cfg: Config, plan: Plan, seed, checkpoint=None, fixed=None):
    """Run online or batch training from ``w0 [m, n, d]``; the trained codebook.

    Online: one program, the steps ``ONLINE_BLOCK`` at a time through an XLA
    kernel. Batch: every epoch in one compiled loop; with ``checkpoint``
    (``(directory, fingerprint, every)``) one ``ops.batch_epoch`` per epoch
    instead, the codebook saved every ``every`` epochs, and a fit started
    again continues from the last save (each epoch depends only on the
    codebook). ``fixed``: online, the flat node forced as winner of each
    sample ``[n_samples]`` int32, -1 for none (``check_fixed_points``).

    Raises:
        ValueError: the codebook became NaN or infinite (a learning rate far
            too large for the data).
    """
    d = data.n_features
    shift = cfg.shift(w0)
    np_dtype = cfg.dtype.as_numpy_dtype
    w = tf.constant((w0.reshape(cfg.size, d) - shift).astype(np_dtype))
    w = pad_rows(w, cfg.nodes)  # [nodes, d]: the map's nodes, then padding nodes
    shift_t = tf.constant(shift, cfg.dtype)
    eta = schedule("decay_function", cfg.lr_decay, cfg.learning_rate, plan.decay_t, plan.max_iter)
    sig = schedule("sigma_decay_function", cfg.sigma_decay, cfg.sigma, plan.decay_t, plan.max_iter)
    eta_t, sig_t = tf.constant(eta, cfg.dtype), tf.constant(sig, cfg.dtype)
    if plan.mode == "online":
        order = online_order(
            data.n_samples, plan.steps, plan.epochs, plan.random_order, split_seed(seed, 2)[1]
        )
        if fixed is None:
            fixed = np.full(data.n_samples, -1, np.int32)
        fixed = tf.constant(fixed, tf.int32)
        w = _online(data.x - shift_t, w, order, eta_t, sig_t, cfg.grid(), fixed, **cfg.statics)
    else:
        source = data.shifted(shift_t).source
        options = dict(chunk=cfg.chunk(d, data.n_samples), padded=not data.streamed)
        if checkpoint is None:
            w = call(_batch, source, w, eta_t, sig_t, cfg.grid(), **options, **cfg.statics)
        else:
            w = _batch_checkpointed(source, w, eta_t, sig_t, options, cfg, checkpoint)
    out = w[: cfg.size].numpy().astype(np.float64) + shift
    if not np.all(np.isfinite(out)):
        raise ValueError(
            f"The codebook became NaN or infinite: learning_rate={cfg.learning_rate!r} is too "
            f"large for this data (mode={plan.mode!r}); use a smaller learning_rate "
            "(typically 0.01 to 1)."
        )
    return out.astype(np_dtype).reshape(cfg.m, cfg.n, d)


def _batch_checkpointed(source, w, eta, sig, options, cfg: Config, checkpoint):
    """Batch epochs one ``ops.batch_epoch`` call at a time, saved every ``every`` epochs."""
    directory, fingerprint, every = checkpoint
    grid = cfg.grid()

    def segment(state, n):
        w, start = state["codebook"], state["epoch"]
        for epoch in range(start, start + n):
            w = call(
                ops.batch_epoch,
                source,
                w,
                eta[epoch],
                sig[epoch],
                options["chunk"],
                padded=options["padded"],
                shape=(grid[0], grid[1]),
                **cfg.statics,
            )
        return {"codebook": w, "epoch": start + n}

    epochs = int(eta.shape[0])
    state = resume_loop(
        segment,
        {"codebook": w, "epoch": 0},
        epochs,
        every=every,
        checkpoint=(directory, fingerprint),
        count="epoch",
        stop=None,
    )
    return state["codebook"]
