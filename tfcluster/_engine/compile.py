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

``trace_counts()`` tells how often each program and kernel was traced; the
tests hold the bounds the README documents.
"""

from __future__ import annotations

import collections
import functools

import tensorflow as tf

__all__ = ["Program", "kernel", "trace_counts"]

_TRACES: collections.Counter = collections.Counter()


def trace_counts() -> dict:
    """``{name: number of traces}`` of every program and kernel so far."""
    return dict(_TRACES)


def _spec(value, rows: bool):
    """The ``TypeSpec`` of one argument leaf; the leading dimension free if ``rows``."""
    if isinstance(value, tf.data.Dataset):
        return tf.data.DatasetSpec.from_value(value)
    if not tf.is_tensor(value):
        raise TypeError(f"program arguments must be tensors or datasets; got {type(value)}")
    shape = value.shape.as_list()
    if rows and shape:
        shape[0] = None
    return tf.TensorSpec(shape, value.dtype)


class Program:
    """A compiled function of tensors with an explicit signature per shape family.

    Args:
        fn: ``fn(*tensors, **static)``; pure TensorFlow.
        name: the name counted in ``trace_counts``.
        rows: positions of the arguments (each a tensor or a nest of tensors)
            whose leading dimension varies between calls.
        jit: compile the whole program with XLA.
        autograph: convert Python control flow on tensors (``while t:``,
            ``for x in dataset``). Converting costs tracing time (a large part
            of a first fit), so programs written with ``tf.while_loop`` and
            ``tf.cond`` pass False.
    """

    def __init__(self, fn, name: str, *, rows=(), jit: bool = False, autograph: bool = True):
        self._fn = fn
        self.name = name
        self._rows = frozenset(rows)
        self._jit = jit
        self._autograph = autograph
        self._functions: dict = {}
        functools.update_wrapper(self, fn)

    def _traced(self, static, *args):
        _TRACES[self.name] += 1
        return self._fn(*args, **dict(static))

    def __call__(self, *args, **static):
        signature = tuple(
            tf.nest.map_structure(lambda v, r=(i in self._rows): _spec(v, r), a)
            for i, a in enumerate(args)
        )
        key = (signature, tuple(sorted(static.items())))
        function = self._functions.get(key)
        if function is None:
            function = tf.function(
                functools.partial(self._traced, key[1]),
                input_signature=signature,
                jit_compile=self._jit or None,
                autograph=self._autograph,
            )
            self._functions[key] = function
        return function(*args)


def kernel(fn=None, *, name: str | None = None):
    """Decorator: ``fn`` as an XLA-compiled inner pass (called inside programs)."""
    if fn is None:
        return functools.partial(kernel, name=name)
    label = name or fn.__name__

    @functools.wraps(fn)
    def traced(*args, **kwargs):
        _TRACES[label] += 1
        return fn(*args, **kwargs)

    # No AutoGraph: kernels are straight-line maths, and converting them costs tracing time.
    return tf.function(traced, jit_compile=True, reduce_retracing=True, autograph=False)
