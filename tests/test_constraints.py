"""The declarative parameter tables (``tfcluster._constraints``) and their one check."""

import numpy as np
import pytest
import tensorflow as tf

import tfcluster
from tfcluster._base import BaseEstimator
from tfcluster._constraints import DType, Instance, Int, OneOf, Options, Real, Seed, Sequence

TABLED = [
    "KMeans",
    "MiniBatchKMeans",
    "BisectingKMeans",
    "SphericalKMeans",
    "GaussianMixture",
    "BayesianGaussianMixture",
    "SelfOrganizingMap",
    "DeepClustering",
    "ImageEmbedder",
]


@pytest.mark.parametrize("name", TABLED)
def test_every_table_names_constructor_parameters_and_accepts_the_defaults(name):
    cls = getattr(tfcluster, name)
    assert cls._constraints, name
    assert set(cls._constraints) <= set(cls._param_names()), name
    params = cls()._validate_params()
    assert set(vars(params)) == set(cls._constraints)


def _checked(rule, value):
    return rule.check("p", value)


def test_int():
    assert _checked(Int(1), np.int64(3)) == 3 and type(_checked(Int(1), np.int64(3))) is int
    assert _checked(Int(0), 0) == 0
    with pytest.raises(ValueError, match=r"^p must be an integer >= 1, got 0\.$"):
        _checked(Int(1), 0)
    with pytest.raises(TypeError, match="p must be an integer >= 1, got True"):
        _checked(Int(1), True)
    rule = Int(1, also=("auto", None))
    assert _checked(rule, "auto") == "auto" and _checked(rule, None) is None
    with pytest.raises(ValueError, match=r"p must be an integer >= 1 or 'auto' or None, got 0"):
        _checked(rule, 0)
    with pytest.raises(TypeError, match=r"or 'auto' or None, got 'automatic'"):
        _checked(rule, "automatic")


def test_real():
    assert _checked(Real(), 0) == 0.0
    with pytest.raises(ValueError, match=r"p must be a finite number > 0, got 0"):
        _checked(Real(strict=True), 0)
    with pytest.raises(TypeError, match="p must be a real number >= 0, got '1'"):
        _checked(Real(), "1")
    with pytest.raises(ValueError, match=r"p must be at most 2, got 3"):
        _checked(Real(maximum=2), 3)
    with pytest.raises(ValueError, match=r"^too big: 3 > 2$"):
        _checked(Real(maximum=2, message="too big: {value!r} > {maximum}"), 3)


def test_options():
    assert _checked(Options(("a", "b")), "b") == "b"
    assert _checked(Options({"a": len}), "a") is len  # a dict gives the entry
    with pytest.raises(ValueError, match=r"^Unknown p 'c'; accepted values are 'a', 'b'\.$"):
        _checked(Options(("a", "b")), "c")
    with pytest.raises(ValueError, match="Unknown p 3"):
        _checked(Options(("a", "b")), 3)
    rule = Options(("a",), array="[k, d]", callable=True)
    assert _checked(rule, np.sum) is np.sum
    array = np.zeros((2, 2))
    assert _checked(rule, array) is array and tf.is_tensor(_checked(rule, tf.zeros(2)))
    with pytest.raises(ValueError, match=r"'a', an array \[k, d\] or a callable\.$"):
        _checked(rule, "b")
    with pytest.raises(
        TypeError, match=r"^p must be 'a', an array \[k, d\] or a callable; got int"
    ):
        _checked(rule, 3)
    with pytest.raises(TypeError, match="got dict"):
        _checked(rule, {})  # it has a length, but it is no array


def test_one_of_sequence_instance_dtype_seed():
    assert _checked(OneOf(True, False), np.bool_(True)) is True
    with pytest.raises(TypeError, match="p must be True or False; got 'yes'"):
        _checked(OneOf(True, False), "yes")
    with pytest.raises(ValueError, match="p must be True, False or 'auto'; got 'yes'"):
        _checked(OneOf(True, False, "auto"), "yes")
    assert _checked(Sequence(Int(1), "widths", "width"), [2, np.int32(3)]) == (2, 3)
    with pytest.raises(TypeError, match="p must be a sequence of widths, got '8'"):
        _checked(Sequence(Int(1), "widths", "width"), "8")
    with pytest.raises(ValueError, match="each width in p must be an integer >= 1, got 0"):
        _checked(Sequence(Int(1), "widths", "width"), [4, 0])
    assert _checked(Instance("numpy.ndarray", none=True), None) is None
    with pytest.raises(TypeError, match=r"p must be a numpy.ndarray or None, got list"):
        _checked(Instance("numpy.ndarray", none=True), [1])
    with pytest.raises(TypeError, match=r"p must be a numpy.ndarray, got list"):
        _checked(Instance("numpy.ndarray"), [1])
    assert _checked(DType(), np.float64) == tf.float64
    assert _checked(Seed(), 3).numpy().tolist() == tfcluster._base.make_seed(3).numpy().tolist()


def test_the_table_is_checked_in_order_and_names_the_parameter():
    class Toy(BaseEstimator):
        _constraints = {"k": Int(1), "how": Options(("x", "y")), "dtype": DType()}

        def __init__(self, k=2, how="x", dtype="float32"):
            self.k, self.how, self.dtype = k, how, dtype

    params = Toy(k=np.int64(5), dtype="float64")._validate_params()
    assert (params.k, params.how, params.dtype) == (5, "x", tf.float64)
    with pytest.raises(ValueError, match="^k must be"):  # the first bad one in table order
        Toy(k=0, how="z")._validate_params()
    with pytest.raises(ValueError, match="Unknown how 'z'; accepted values are 'x', 'y'"):
        Toy(how="z")._validate_params()
    with pytest.raises(ValueError, match="Unknown dtype 'int8'"):
        Toy(dtype="int8")._validate_params()
