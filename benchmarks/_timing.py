"""Timing shared by the benchmark scripts (run as ``python benchmarks/<script>.py``)."""

from __future__ import annotations

import time


def timed(fn):
    """``(seconds, fn())``: the wall time of one call, and its result."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out
