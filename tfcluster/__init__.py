"""tfcluster: clustering as compiled TensorFlow ops behind a scikit-learn interface."""

from tfcluster._base import NotFittedError

__version__ = "0.1.0"

__all__ = ["NotFittedError", "__version__"]
