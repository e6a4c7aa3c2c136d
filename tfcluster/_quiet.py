"""Import TensorFlow without its C++ start-up lines on the terminal.

TensorFlow's C++ runtime prints INFO lines (oneDNN, CPU features, "Could not
find cuda drivers", a failed ``cuInit``) while it loads and finds its
devices, before any logging option applies. ``import_tensorflow`` sends
file descriptor 2 to ``/dev/null`` for just that moment, once per process,
and only if TensorFlow is not imported yet; errors raised by the import are
Python exceptions and still reach the user. ``TFCLUSTER_TF_LOGS=1`` keeps
TensorFlow's lines.
"""

from __future__ import annotations

import os
import sys

__all__ = ["import_tensorflow"]


def import_tensorflow():
    """``import tensorflow`` with its start-up C++ lines silenced."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # runtime INFO/WARNING lines
    if os.environ.get("TFCLUSTER_TF_LOGS") == "1":
        import tensorflow

        return tensorflow
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2 (an embedded interpreter)
        import tensorflow

        return tensorflow
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow

        tensorflow.config.list_physical_devices()  # device discovery logs here too
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return tensorflow
