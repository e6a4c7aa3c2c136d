"""The package layout: family folders, the public paths of the flat layout, ``tfcluster.ops``."""

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import tfcluster
from tfcluster._compat import ALIASES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("old, new", sorted(ALIASES.items()))
def test_flat_layout_module_paths_are_the_new_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_public_names_import_from_their_families():
    from tfcluster.cluster import BisectingKMeans, KMeans, MiniBatchKMeans, SphericalKMeans
    from tfcluster.deep import ClusteringLayer, DeepClustering
    from tfcluster.images import ImageClusterer, ImageEmbedder
    from tfcluster.keras import GaussianMixtureHead, KMeansHead, SOMHead
    from tfcluster.mixture import BayesianGaussianMixture, GaussianMixture
    from tfcluster.som import SelfOrganizingMap

    for cls in (BisectingKMeans, KMeans, MiniBatchKMeans, SphericalKMeans, DeepClustering):
        assert getattr(tfcluster, cls.__name__) is cls
    for cls in (ImageClusterer, ImageEmbedder, BayesianGaussianMixture, GaussianMixture):
        assert getattr(tfcluster, cls.__name__) is cls
    assert tfcluster.SelfOrganizingMap is SelfOrganizingMap
    for cls in (ClusteringLayer, GaussianMixtureHead, KMeansHead, SOMHead):
        assert getattr(tfcluster.layers, cls.__name__) is cls


def test_every_public_name_imports():
    for name in tfcluster.__all__:
        assert getattr(tfcluster, name) is not None


def test_ops_is_documented_with_examples():
    import tfcluster.ops

    result = doctest.testmod(tfcluster.ops, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_relayout_has_nothing_left_to_do():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "relayout.py"), "check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout


def test_every_module_comes_from_this_tree():
    """No ``from tfcluster import _old_name`` left: it would find a stale file elsewhere."""
    import pkgutil

    here = Path(tfcluster.__file__).parent
    for info in pkgutil.walk_packages(tfcluster.__path__, "tfcluster."):
        module = importlib.import_module(info.name)
        assert Path(module.__file__).is_relative_to(here), info.name


@pytest.mark.parametrize(
    "old, part",
    [
        ("tfcluster.ops.mixture", "tfcluster.ops.gaussian"),
        ("tfcluster.ops.som", "tfcluster.ops.som_map"),
    ],
)
def test_split_ops_modules_keep_their_names(old, part):
    """ops.mixture and ops.som were split: every public name of the part is still
    importable from the old module, as the same object (ops.bayesian, user code)."""
    old, part = importlib.import_module(old), importlib.import_module(part)
    assert set(part.__all__) <= set(old.__all__)
    for name in part.__all__:
        assert getattr(old, name) is getattr(part, name), name
    from tfcluster.ops.mixture import _log_det_cholesky  # what ops.bayesian imports

    assert _log_det_cholesky is importlib.import_module("tfcluster.ops.gaussian")._log_det_cholesky
