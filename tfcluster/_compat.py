"""Import paths kept from the flat layout, and lazy package exports.

The families moved into folders (``tfcluster/cluster/``, ``mixture/``,
``som/``, ``deep/``, ``keras/``, ``images/``; see docs/architecture.md). The
module paths users imported before stay importable: ``import
tfcluster.kmeans`` gives the module ``tfcluster.cluster._kmeans`` itself (the
same object, so its functions and classes are the same ones), through a finder
that ``tfcluster/__init__.py`` installs. ``tfcluster.mixture`` and
``tfcluster.som`` are packages now and export what the modules did.

Nothing here imports TensorFlow.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ["ALIASES", "doctests_of", "install_aliases", "lazy_exports"]

# old public module path -> the module that holds its code now
ALIASES = {
    "tfcluster.kmeans": "tfcluster.cluster._kmeans",
    "tfcluster.bisecting": "tfcluster.cluster._bisecting",
    "tfcluster.spherical": "tfcluster.cluster._spherical",
    "tfcluster.bayesian_mixture": "tfcluster.mixture._bayesian_mixture",
    "tfcluster.features": "tfcluster.images._features",
    "tfcluster.pipeline": "tfcluster.images._pipeline",
}


class _AliasLoader(importlib.abc.Loader):
    """Loads an old path as the module that holds its code now (the same object)."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return importlib.import_module(self.target)

    def exec_module(self, module):
        # the import system stamped the alias's spec on the module: give its own back
        module.__spec__ = sys.modules[self.target].__spec__ = self._spec
        return None


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ALIASES:
            return None
        loader = _AliasLoader(ALIASES[fullname])
        real = sys.modules.get(ALIASES[fullname])
        loader._spec = real.__spec__ if real is not None else None
        if loader._spec is None:  # not imported yet: its spec, without importing it
            loader._spec = importlib.util.find_spec(ALIASES[fullname])
        return importlib.machinery.ModuleSpec(fullname, loader)


def install_aliases() -> None:
    """Put the finder of the old paths first on ``sys.meta_path`` (once): it wins over
    a stale ``tfcluster/kmeans.py`` that another installation may still hold."""
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())


def lazy_exports(package: str, exports: dict[str, str]):
    """``(__getattr__, __dir__)`` for a package whose public names are imported on first use.

    Args:
        package: the package's ``__name__``.
        exports: public name -> module that defines it.
    """

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)  # later uses skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__


def doctests_of(*modules) -> dict:
    """A package's ``__test__``: the docstrings of ``modules`` and of what they define.

    ``doctest.testmod(package)`` then runs the examples it ran when those modules
    were the public modules themselves (it skips objects defined elsewhere).
    """
    tests = {}
    for module in modules:
        short = module.__name__.rsplit(".", 1)[-1]
        tests[short] = module
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != module.__name__:
                continue
            if isinstance(obj, type):
                tests[f"{short}.{name}"] = obj
                for attr, member in vars(obj).items():
                    func = getattr(member, "__func__", getattr(member, "fget", member))
                    if isinstance(func, types.FunctionType) and func.__doc__:
                        tests[f"{short}.{name}.{attr}"] = func
            elif isinstance(obj, types.FunctionType):
                tests[f"{short}.{name}"] = obj
    return tests
