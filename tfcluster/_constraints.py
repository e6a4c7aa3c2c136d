"""Declarative parameter constraints: one table per estimator, one check for all.

An estimator lists its constructor parameters with what each accepts, as
scikit-learn's ``_parameter_constraints`` do::

    _constraints = {
        "n_clusters": Int(1),
        "init": Options(("k-means++", "random"), array="[n_clusters, n_features]", callable=True),
        "tol": Real(),
        "dtype": DType(),
    }

``BaseEstimator._validate_params`` checks them in the table's order and gives
back the checked values by name (``params.dtype`` is a ``tf.DType``,
``params.n_clusters`` an ``int``). A bad value raises TypeError (wrong kind)
or ValueError (right kind, out of range, unknown name) naming the parameter,
the value and what is accepted. Rules that tie two parameters together (a
toroidal hexagonal map needs an even ``n``) stay code, after the table.
"""

from __future__ import annotations

import importlib

import numpy as np
import tensorflow as tf

from tfcluster._base import check_dtype, check_number, check_option, check_positive_int, make_seed

__all__ = ["DType", "Instance", "Int", "OneOf", "Options", "Real", "Seed", "Sequence"]


def _join(parts) -> str:
    """``"a, b or c"``."""
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} or {parts[-1]}"


def _either(values) -> str:
    """``"'a', 'b' or None"``: the reprs of ``values`` joined."""
    return _join([repr(v) for v in values])


def _is(value, literal) -> bool:
    """``value`` is ``literal`` (None, a bool or a string), never comparing arrays."""
    if isinstance(literal, bool):
        return isinstance(value, (bool, np.bool_)) and bool(value) is literal
    if isinstance(literal, str):
        return isinstance(value, str) and value == literal
    return value is literal


def _array_like(value) -> bool:
    """A tensor, or an object numpy converts (``__array__``: pandas, xarray, ...)."""
    return tf.is_tensor(value) or hasattr(value, "__array__")


class Int:
    """An integer ``>= minimum`` (bools refused), or one of the literals ``also``.

    Returns the int, or the literal as given (``None``, ``"auto"``).
    """

    def __init__(self, minimum: int = 1, *, also: tuple = ()):
        self.minimum, self.also = minimum, tuple(also)

    def check(self, name: str, value):
        if any(_is(value, literal) for literal in self.also):
            return value
        try:
            return check_positive_int(name, value, minimum=self.minimum)
        except (TypeError, ValueError) as error:
            if not self.also:
                raise
            raise type(error)(
                f"{name} must be an integer >= {self.minimum} or {_either(self.also)}, "
                f"got {value!r}."
            ) from None


class Real:
    """A finite real ``>= 0`` (``> 0`` if ``strict``), at most ``maximum`` if given.

    ``message`` (formatted with ``name``, ``value`` and ``maximum``) says why
    past ``maximum`` is refused. Returns the float.
    """

    def __init__(self, *, strict: bool = False, maximum: float | None = None, message: str = ""):
        self.strict, self.maximum = strict, maximum
        self.message = message or "{name} must be at most {maximum}, got {value!r}."

    def check(self, name: str, value) -> float:
        number = check_number(name, value, strict=self.strict)
        if self.maximum is not None and number > self.maximum:
            raise ValueError(self.message.format(name=name, value=value, maximum=self.maximum))
        return number


class Options:
    """A name of ``names``; with ``callable``, also any callable; with ``array``
    (the accepted shape, e.g. ``"[n_clusters, n_features]"``), also an array.

    ``names`` is a tuple of names, or a dict name -> what the name stands for
    (a function, a flag). Returns the name (for a dict, its entry), or the
    callable or array itself; the array's shape and values are checked where
    the data are known.
    """

    def __init__(self, names, *, callable: bool = False, array: str = ""):
        self.names, self.callable, self.array = names, callable, array

    def check(self, name: str, value):
        if self.callable and callable(value):
            return value
        if isinstance(value, str) or not self.array:
            if isinstance(value, str) and value in self.names:
                return check_option(name, value, self.names)
            raise ValueError(f"Unknown {name} {value!r}; accepted values are {self._accepted()}.")
        if isinstance(value, (np.ndarray, list, tuple)) or _array_like(value):
            return value
        raise TypeError(f"{name} must be {self._accepted()}; got {type(value).__name__}.")

    def _accepted(self) -> str:
        extras = [f"an array {self.array}"] if self.array else []
        extras += ["a callable"] if self.callable else []
        return _join([", ".join(repr(k) for k in self.names)] + extras)  # as check_option


class OneOf:
    """Exactly one of a few literals (``True``, ``False``, ``"auto"``, None).

    Refused: TypeError where only bools are accepted (a flag), else ValueError.
    """

    def __init__(self, *values):
        self.values = values

    def check(self, name: str, value):
        for literal in self.values:
            if _is(value, literal):
                return literal
        error = TypeError if all(isinstance(v, bool) for v in self.values) else ValueError
        raise error(f"{name} must be {_either(self.values)}; got {value!r}.")


class DType:
    """``"float32"`` or ``"float64"`` (or a numpy/TF equivalent). Returns the ``tf.DType``."""

    def check(self, name: str, value) -> tf.DType:
        return check_dtype(value)


class Seed:
    """``random_state``: an int >= 0, None or a numpy RNG. Returns the stateless
    seed, int64 ``[2]`` (a numpy RNG advances once, as in scikit-learn)."""

    def check(self, name: str, value) -> tf.Tensor:
        return make_seed(value)


class Sequence:
    """A sequence (not a string) of ``what``, each item checked by ``item``
    (named ``"each <noun> in <name>"``). Returns a tuple of the checked items."""

    def __init__(self, item, what: str, noun: str):
        self.item, self.what, self.noun = item, what, noun

    def check(self, name: str, value) -> tuple:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"{name} must be a sequence of {self.what}, got {value!r}.")
        return tuple(self.item.check(f"each {self.noun} in {name}", v) for v in value)


class Instance:
    """An instance of the class at dotted path ``kind`` (imported when checked,
    so ``"keras.Model"`` costs nothing until then), or None with ``none``."""

    def __init__(self, kind: str, *, none: bool = False):
        self.kind, self.none = kind, none

    def check(self, name: str, value):
        if value is None and self.none:
            return None
        module, _, attr = self.kind.rpartition(".")
        if not isinstance(value, getattr(importlib.import_module(module), attr)):
            accepted = f"a {self.kind} or None" if self.none else f"a {self.kind}"
            raise TypeError(f"{name} must be {accepted}, got {type(value).__name__}.")
        return value
