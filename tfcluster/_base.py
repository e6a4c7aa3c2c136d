"""Estimator base: parameters, fitted checks, option registries and seeds.

Estimators follow the scikit-learn contract without importing scikit-learn:
``__init__`` only stores its arguments, ``get_params``/``set_params`` read them
back, so ``sklearn.base.clone`` works on every estimator.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import tensorflow as tf

__all__ = [
    "BaseEstimator",
    "ConvergenceWarning",
    "NotFittedError",
    "check_is_fitted",
    "clone",
    "check_option",
    "check_positive_int",
    "check_number",
    "check_dtype",
    "make_seed",
    "split_seed",
]


class ConvergenceWarning(UserWarning):
    """A fit ended in a degenerate or unfinished state (fewer distinct clusters
    than asked, EM stopped by ``max_iter`` before ``tol``)."""


class NotFittedError(ValueError, AttributeError):
    """Raised when a method that needs a fitted estimator is called before ``fit``."""


class BaseEstimator:
    """Parameter handling shared by every tfcluster estimator."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict:
        """Return the constructor arguments as a dict (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> BaseEstimator:
        """Set constructor arguments by name; unknown names raise ValueError."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {sorted(valid)}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            if isinstance(value, np.ndarray) or isinstance(default, np.ndarray):
                changed = True
            else:
                try:
                    changed = bool(value != default)
                except Exception:  # objects whose comparison is not a bool
                    changed = True
            if changed:
                text = "array(...)" if isinstance(value, np.ndarray) else repr(value)
                shown.append(f"{name}={text}")
        return f"{type(self).__name__}({', '.join(shown)})"


def clone(estimator, **params):
    """A fresh, unfitted copy of ``estimator`` with ``params`` changed.

    The scikit-learn protocol (``type(est)(**est.get_params())``) without
    importing scikit-learn.
    """
    return type(estimator)(**{**estimator.get_params(deep=False), **params})


def check_is_fitted(estimator, attribute: str) -> None:
    """Raise NotFittedError unless ``estimator`` has the fitted ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet; "
            "call 'fit' with appropriate arguments before using this method."
        )


def check_option(name: str, value, registry: dict, *, allow_callable: bool = False):
    """Look ``value`` up in ``registry``; unknown names raise ValueError listing valid ones.

    Returns the registry entry, or ``value`` itself if it is an allowed callable.
    """
    if allow_callable and callable(value):
        return value
    if isinstance(value, str) and value in registry:
        return registry[value]
    accepted = ", ".join(repr(k) for k in registry)
    extra = " or a callable" if allow_callable else ""
    raise ValueError(f"Unknown {name} {value!r}; accepted values are {accepted}{extra}.")


def check_positive_int(name: str, value, *, minimum: int = 1) -> int:
    """Return ``value`` as int if it is an integer >= ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_number(name: str, value, *, strict: bool = False) -> float:
    """Return ``value`` as float if it is a finite real ``>= 0`` (``> 0`` if strict).

    Raises:
        TypeError: not a real number (bools included).
        ValueError: NaN, infinite, negative (or zero when ``strict``).
    """
    bound = "> 0" if strict else ">= 0"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number {bound}, got {value!r}.")
    if not np.isfinite(value) or value < 0 or (strict and value == 0):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}.")
    return float(value)


_DTYPES = {"float32": tf.float32, "float64": tf.float64}


def check_dtype(dtype) -> tf.DType:
    """Map ``"float32"``/``"float64"`` (or numpy/TF equivalents) to a tf.DType."""
    try:
        name = tf.as_dtype(dtype).name
    except TypeError:
        name = str(dtype)
    return check_option("dtype", name, _DTYPES)


def make_seed(random_state) -> tf.Tensor:
    """Turn ``random_state`` (int or None) into a stateless TF seed, int64 ``[2]``.

    The same int always gives the same seed; None draws a fresh one.
    """
    if random_state is None:
        random_state = int(np.random.default_rng().integers(0, 2**31 - 1))
    elif isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(f"random_state must be an int or None, got {random_state!r}.")
    if random_state < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state}.")
    return tf.constant([int(random_state) % (2**31 - 1), 0x5EED], dtype=tf.int64)


def split_seed(seed: tf.Tensor, n: int) -> tf.Tensor:
    """Derive ``n`` independent stateless seeds ``[n, 2]`` from one seed."""
    return tf.random.experimental.stateless_split(seed, num=n)
