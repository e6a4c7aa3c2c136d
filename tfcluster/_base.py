"""Estimator base: parameters, fitted checks, option registries and seeds.

Estimators follow the scikit-learn contract without importing scikit-learn:
``__init__`` only stores its arguments, ``get_params``/``set_params`` read them
back, so ``sklearn.base.clone`` works on every estimator.
"""

from __future__ import annotations

import copy
import functools
import inspect
import numbers
import sys
import types

import numpy as np
import tensorflow as tf

__all__ = [
    "BaseEstimator",
    "ConvergenceWarning",
    "FeatureNamesOutMixin",
    "NotFittedError",
    "check_is_fitted",
    "clone",
    "convergence_warning",
    "check_option",
    "check_positive_int",
    "check_number",
    "check_dtype",
    "make_seed",
    "split_seed",
]


class ConvergenceWarning(UserWarning):
    """A fit ended in a degenerate or unfinished state (fewer distinct clusters
    than asked, EM stopped by ``max_iter`` before ``tol``).

    Once scikit-learn is imported, the warning issued is also an instance of
    ``sklearn.exceptions.ConvergenceWarning``, so scikit-learn's filters,
    ``ignore_warnings`` and ``pytest.warns`` with its class apply too.
    """


class NotFittedError(ValueError, AttributeError):
    """Raised when a method that needs a fitted estimator is called before ``fit``.

    Once scikit-learn is imported, the error raised is also an instance of
    ``sklearn.exceptions.NotFittedError``, so scikit-learn code catches it too
    (tfcluster never imports scikit-learn itself).
    """


@functools.cache
def _bridged_with(own: type, sklearn_class: type) -> type:
    """A subclass of ``own`` that is also scikit-learn's ``sklearn_class``."""
    return type(own.__name__, (own, sklearn_class), {"__module__": __name__})


def _bridged(own: type) -> type:
    """``own``, or once scikit-learn is imported, ``own`` bridged to the
    ``sklearn.exceptions`` class of the same name."""
    exceptions = sys.modules.get("sklearn.exceptions")
    if exceptions is None:
        return own
    return _bridged_with(own, getattr(exceptions, own.__name__))


def _not_fitted_error() -> type:
    return _bridged(NotFittedError)


def convergence_warning() -> type:
    """The category to warn with: ConvergenceWarning, bridged to scikit-learn's
    once scikit-learn is imported (see ``ConvergenceWarning``)."""
    return _bridged(ConvergenceWarning)


class BaseEstimator:
    """Parameter handling shared by every tfcluster estimator."""

    _estimator_type = "clusterer"  # what scikit-learn's tools (before 1.6) read

    # parameter name -> what it accepts (``tfcluster._constraints``), in the order checked
    _constraints: dict = {}

    def _validate_params(self) -> types.SimpleNamespace:
        """Check each parameter of the class's ``_constraints`` table, in its order.

        Returns:
            The checked values by name (``params.dtype`` is a ``tf.DType``,
            an ``Int`` an ``int``, ...): what a fit needs from its parameters.

        Raises:
            TypeError, ValueError: a parameter the table refuses; the message
            names it, its value and what is accepted.
        """
        return types.SimpleNamespace(
            **{
                name: rule.check(name, getattr(self, name))
                for name, rule in self._constraints.items()
            }
        )

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]

    def get_params(self, deep: bool = True) -> dict:
        """Return the constructor arguments as a dict (scikit-learn protocol).

        With ``deep=True``, the parameters of nested estimators are included too,
        as ``"<name>__<parameter>"``.
        """
        params = {name: getattr(self, name) for name in self._param_names()}
        if deep:
            for name, value in list(params.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    for sub, sub_value in value.get_params(deep=True).items():
                        params[f"{name}__{sub}"] = sub_value
        return params

    def set_params(self, **params) -> BaseEstimator:
        """Set constructor arguments by name, ``"<name>__<parameter>"`` for a nested
        estimator's; unknown names raise ValueError."""
        valid = self._param_names()
        nested = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; "
                    f"valid parameters are {sorted(valid)}."
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            inner = getattr(self, name)
            if not hasattr(inner, "set_params"):
                raise ValueError(
                    f"Invalid parameter {name}__...: {name} of {type(self).__name__} is "
                    f"{inner!r}, not an estimator with parameters."
                )
            inner.set_params(**sub_params)
        return self

    def __sklearn_tags__(self):
        """scikit-learn's estimator tags (read by its Pipeline, search and checks;
        scikit-learn is imported only when scikit-learn itself asks)."""
        from sklearn.utils import Tags, TargetTags, TransformerTags

        return Tags(
            estimator_type=self._estimator_type,
            target_tags=TargetTags(required=False),
            transformer_tags=TransformerTags(preserves_dtype=self._preserves_dtype())
            if hasattr(self, "transform")
            else None,
        )

    def _preserves_dtype(self) -> list:
        """The input dtypes ``transform`` gives back unchanged: the compute dtype's
        (outputs are in ``dtype``, whatever the input's)."""
        try:
            return [check_dtype(getattr(self, "dtype", "float32")).name]
        except (TypeError, ValueError):  # an invalid dtype: fit will say so
            return []

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()
        }
        shown = []
        for name, value in self.get_params(deep=False).items():
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


class FeatureNamesOutMixin:
    """``get_feature_names_out`` for estimators whose ``transform`` gives one
    column per cluster or node, named as scikit-learn names them ("kmeans0", ...)."""

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the ``transform`` output columns, ``[n_features_out]`` (object)."""
        n = self._n_features_out()  # raises NotFittedError before fit
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}{i}" for i in range(n)], dtype=object)


_RNGS = (np.random.RandomState, np.random.Generator)


def clone(estimator, **params):
    """A fresh, unfitted copy of ``estimator`` with ``params`` changed.

    The scikit-learn protocol (``type(est)(**est.get_params())``) without
    importing scikit-learn.
    """
    own = {
        name: copy.deepcopy(value) if isinstance(value, _RNGS) else value
        for name, value in estimator.get_params(deep=False).items()
    }  # a numpy RandomState/Generator is copied, as scikit-learn's clone does
    return type(estimator)(**{**own, **params})


def check_is_fitted(estimator, attribute: str) -> None:
    """Raise NotFittedError unless ``estimator`` has the fitted ``attribute``."""
    if not hasattr(estimator, attribute):
        raise _not_fitted_error()(
            f"This {type(estimator).__name__} instance is not fitted yet; "
            "call 'fit' with appropriate arguments before using this method."
        )


def check_option(name: str, value, registry, *, allow_callable: bool = False):
    """Look ``value`` up in ``registry``; unknown names raise ValueError listing valid ones.

    ``registry`` is a tuple of the valid names, or a dict name -> entry where a
    name stands for something else (``{"elkan": "lloyd"}``). Returns the entry
    (the name itself for a tuple), or ``value`` itself if it is an allowed callable.
    """
    if allow_callable and callable(value):
        return value
    if isinstance(value, str) and value in registry:
        return registry[value] if isinstance(registry, dict) else value
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
    """Turn ``random_state`` into a stateless TF seed, int64 ``[2]``.

    An int always gives the same seed; None draws a fresh one; a numpy
    ``RandomState`` or ``Generator`` (as scikit-learn code passes) gives the
    seed it draws next, so it advances as in scikit-learn.
    """
    if random_state is None:
        random_state = int(np.random.default_rng().integers(0, 2**31 - 1))
    elif isinstance(random_state, np.random.RandomState):
        random_state = int(random_state.randint(0, 2**31 - 1))
    elif isinstance(random_state, np.random.Generator):
        random_state = int(random_state.integers(0, 2**31 - 1))
    elif isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            "random_state must be an int, None, or a numpy RandomState or Generator, "
            f"got {random_state!r}."
        )
    if random_state < 0:
        raise ValueError(f"random_state must be a non-negative int, got {random_state}.")
    return tf.constant([int(random_state) % (2**31 - 1), 0x5EED], dtype=tf.int64)


def split_seed(seed: tf.Tensor, n: int) -> tf.Tensor:
    """Derive ``n`` independent stateless seeds ``[n, 2]`` from one seed."""
    return tf.random.experimental.stateless_split(seed, num=n)
