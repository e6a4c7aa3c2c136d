"""One place that calls ``tf.function``: programs traced once per shape family.

A ``Program`` wraps a pure function of tensors (and ``tf.data`` datasets).
Each call builds the input signature from its arguments: every dimension is
static, except the leading (row) dimension of the arguments named in
``rows``. The function is traced once per distinct signature and static
keyword set, so a new ``n_samples`` (rows), ``max_iter`` or ``tol`` (scalar
tensors) or ``k`` within a bucket (a scalar tensor beside ``[bucket, d]``
centers) reuses the program: one trace per (algorithm, dtype, n_features,
bucket). Python values that select code (a flag, a covariance type, the
bucket) go in as static keywords and are part of the key.

``kernel`` marks an inner function for XLA (``jit_compile=True``); inside a
program every chunk has the same static shape, so a kernel compiles once per
(chunk rows, bucket, n_features) and never per last-chunk size.

With ``free_shapes`` every dimension of every tensor argument is free, so
one trace serves every n_features and bucket too (one trace per algorithm,
dtype and static options); the XLA kernels inside still compile per concrete
shape.

XLA compiles a kernel in about 0.1-0.2 s on a CPU, far more than a fused
pass saves on small data (a pass over the digits takes well under a
millisecond either way). So a program called on in-memory data of fewer
than ``XLA_MIN_ROWS`` rows (or a dataset of batches of unknown or smaller
size) runs its kernels as plain TensorFlow ops, and on more rows through
XLA: the choice is part of the program's key, so each family traces at most
twice (small and large data). Kernels
marked ``always`` (the online SOM's step loop, which XLA makes many times
faster at any size) always compile.

``trace_counts()`` tells how often each program and kernel was traced; the
tests hold the bounds the README documents.
"""

from __future__ import annotations

import collections
import contextvars
import functools

import tensorflow as tf

__all__ = ["Program", "kernel", "trace_counts", "xla_active", "XLA_MIN_ROWS"]

_TRACES: collections.Counter = collections.Counter()

XLA_MIN_ROWS = 16384  # in-memory rows from which a program's kernels compile with XLA
_XLA = contextvars.ContextVar("tfcluster_xla", default=True)  # set while a program traces


def xla_active() -> bool:
    """Whether the program being traced runs its kernels through XLA (large data).

    Without XLA nothing needs static chunk shapes, so in-memory chunks are not
    padded (``ops.batching``) and fused passes are not cut into pieces.
    """
    return _XLA.get()


def trace_counts() -> dict:
    """``{name: number of traces}`` of every program and kernel so far."""
    return dict(_TRACES)


def _spec(value, rows: bool, free: bool = False):
    """The ``TypeSpec`` of one argument leaf; the leading dimension free if ``rows``,
    every dimension if ``free``."""
    if isinstance(value, tf.data.Dataset):
        return tf.data.DatasetSpec.from_value(value)
    if not tf.is_tensor(value):
        raise TypeError(f"program arguments must be tensors or datasets; got {type(value)}")
    shape = value.shape.as_list()
    if free:
        shape = [None] * len(shape)
    elif rows and shape:
        shape[0] = None
    return tf.TensorSpec(shape, value.dtype)


def _min_rows(min_rows: int | None) -> int:
    """The rows from which kernels use XLA: ``min_rows``, or ``XLA_MIN_ROWS``."""
    return XLA_MIN_ROWS if min_rows is None else min_rows


def _use_xla(leaves, min_rows: int | None = None) -> bool:
    """XLA for the kernels: in-memory data of ``XLA_MIN_ROWS`` rows or more, or a
    dataset whose batches are statically that large. Batches of unknown size (a
    dataset's last batch is usually smaller) run as plain ops: every distinct
    batch shape would compile every kernel again (0.1-0.2 s each)."""
    min_rows = _min_rows(min_rows)
    for value in leaves:
        if isinstance(value, tf.data.Dataset):
            spec = tf.nest.flatten(value.element_spec)[0]
            return (spec.shape.rank or 0) > 0 and (spec.shape[0] or 0) >= min_rows
        if tf.is_tensor(value) and value.shape.rank:
            return (value.shape[0] or 0) >= min_rows
    return True


class Program:
    """A compiled function of tensors with an explicit signature per shape family.

    Args:
        fn: ``fn(*tensors, **static)``; pure TensorFlow.
        name: the name counted in ``trace_counts``.
        rows: positions of the arguments (each a tensor or a nest of tensors)
            whose leading dimension varies between calls.
        free_shapes: every dimension of every tensor argument varies (one
            trace per dtype and static options, whatever n_features or
            bucket), and the first tensor of the ``rows`` arguments decides
            whether the kernels use XLA (``XLA_MIN_ROWS``).
        jit: compile the whole program with XLA.
        autograph: convert Python control flow on tensors (``while t:``,
            ``for x in dataset``). Converting costs tracing time (a large part
            of a first fit), so programs written with ``tf.while_loop`` and
            ``tf.cond`` pass False.
        xla_rows: the rows from which the kernels use XLA (None:
            ``XLA_MIN_ROWS``; more for a program whose kernels compile per
            shape bucket).
    """

    def __init__(
        self,
        fn,
        name: str,
        *,
        rows=(),
        free_shapes: bool = False,
        jit: bool = False,
        autograph: bool = True,
        xla_rows: int | None = None,
    ):
        self._fn = fn
        self.name = name
        self._rows = tuple(rows)
        self._free = free_shapes
        self._jit = jit
        self._autograph = autograph
        self._xla_rows = xla_rows
        self._functions: dict = {}
        self._concrete: dict = {}  # fast key -> concrete function
        functools.update_wrapper(self, fn)

    def xla_for(self, n_rows: int) -> bool:
        """Whether a call on ``n_rows`` rows runs the kernels through XLA (then static
        shapes matter: callers pad rows to a bucket; else they need not)."""
        return int(n_rows) >= _min_rows(self._xla_rows)

    def _traced(self, static, xla, *args):
        _TRACES[self.name] += 1
        token = _XLA.set(xla)
        try:
            return self._fn(*args, **dict(static))
        finally:
            _XLA.reset(token)

    def __call__(self, *args, **static):
        xla = True
        if self._free and self._rows:  # the clustering programs choose XLA by size (the
            # others, a Keras model's forward pass, keep one trace whatever the rows)
            leaves = tf.nest.flatten([args[i] for i in self._rows if i < len(args)])
            xla = _use_xla(leaves, self._xla_rows)
        fast = _fast_key(args, self._rows, self._free)
        if fast is not None:
            concrete = self._concrete.get((fast, tuple(sorted(static.items())), xla))
            if concrete is not None:  # the common case: no signature to build
                return concrete(*args)
        signature = tuple(
            tf.nest.map_structure(lambda v, r=(i in self._rows): _spec(v, r, self._free), a)
            for i, a in enumerate(args)
        )
        key = (signature, tuple(sorted(static.items())), xla)
        function = self._functions.get(key)
        if function is None:
            function = tf.function(
                functools.partial(self._traced, key[1], xla),
                input_signature=signature,
                jit_compile=self._jit or None,
                autograph=self._autograph,
            )
            self._functions[key] = function
        if fast is None:  # a dataset or a variable among the arguments
            return function(*args)
        concrete = function.get_concrete_function()
        self._concrete[(fast, key[1], xla)] = concrete
        return concrete(*args)


def _fast_key(args, rows, free):
    """A cheap key equal for arguments of one signature (dtypes, ranks, static dims),
    or None when an argument is not a plain tensor (e.g. a dataset)."""
    key = []
    for i, arg in enumerate(args):
        leaf = _leaf_key(arg, i in rows, free)
        if leaf is None:
            return None
        key.append(leaf)
    return tuple(key)


def _leaf_key(value, rows, free):
    if isinstance(value, tuple):
        keys = tuple(_leaf_key(v, rows, free) for v in value)
        return None if None in keys else (type(value), keys)
    if not isinstance(value, tf.Tensor) or isinstance(value, tf.Variable):
        return None
    shape = value.shape
    if free:
        return value.dtype, shape.rank
    dims = tuple(shape.as_list())
    return value.dtype, ((None,) + dims[1:]) if rows and dims else dims


def kernel(fn=None, *, name: str | None = None, always: bool = False):
    """Decorator: ``fn`` as an XLA-compiled inner pass (called inside programs).

    Inside a program traced for small data (see ``XLA_MIN_ROWS``) the kernel
    runs as plain TensorFlow ops, unless ``always``.
    """
    if fn is None:
        return functools.partial(kernel, name=name, always=always)
    label = name or fn.__name__

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        _TRACES[label] += 1
        return fn(*args, **kwargs)

    # No AutoGraph: kernels are straight-line maths, and converting them costs tracing time.
    compiled = tf.function(traced, jit_compile=True, reduce_retracing=True, autograph=False)

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if always or _XLA.get():
            return compiled(*args, **kwargs)
        return fn(*args, **kwargs)

    call.compiled = compiled
    return call
