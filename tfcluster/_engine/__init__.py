"""The engine: the only part of tfcluster that compiles.

``compile`` holds the two ways code becomes a TensorFlow program:
``Program`` (a whole fit or pass, one trace per shape family) and ``kernel``
(an XLA-fused inner pass called from inside programs). ``buckets`` pads the
number of clusters to a few sizes so a sweep over k reuses its programs.
"""

from tfcluster._engine.buckets import (
    bucket,
    chunk_size,
    first_rows,
    pad_rows,
    parallel_splits,
    pass_bucket,
)
from tfcluster._engine.compile import XLA_MIN_ROWS, Program, kernel, trace_counts, xla_active

__all__ = [
    "Program",
    "kernel",
    "trace_counts",
    "xla_active",
    "XLA_MIN_ROWS",
    "bucket",
    "pass_bucket",
    "chunk_size",
    "pad_rows",
    "first_rows",
    "parallel_splits",
]
