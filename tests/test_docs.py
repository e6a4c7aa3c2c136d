"""The Examples in docstrings are doctests: they must run and print what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "tfcluster._external_metrics",
    "tfcluster.cluster._minibatch",
    "tfcluster.datasets",
    "tfcluster.features",
    "tfcluster.kmeans",
    "tfcluster.layers",
    "tfcluster.metrics",
    "tfcluster.mixture",
    "tfcluster.pipeline",
    "tfcluster.plot",
    "tfcluster.selection",
    "tfcluster.som",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0
