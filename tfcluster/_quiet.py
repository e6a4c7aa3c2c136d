"""Import TensorFlow without its C++ start-up lines on the terminal.

TensorFlow's C++ runtime prints INFO lines (oneDNN, CPU features, "Could not
find cuda drivers", a failed ``cuInit``) while it loads and finds its
devices, before any logging option applies. ``import_tensorflow`` sends
file descriptor 2 to ``/dev/null`` for just that moment, once per process,
and only if TensorFlow is not imported yet; errors raised by the import are
Python exceptions and still reach the user. ``TFCLUSTER_TF_LOGS=1`` keeps
TensorFlow's lines.

``import tfcluster`` imports nothing heavy (so that ``tfcluster --help`` is
instant); it calls ``install_quiet_import``, after which the first
``import tensorflow`` of the process, by tfcluster or by the user, runs that
way too.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile

__all__ = [
    "captured_stderr",
    "import_tensorflow",
    "install_quiet_import",
    "quiet_python_loggers",
    "when_imported",
]


def _keep_logs() -> bool:
    return os.environ.get("TFCLUSTER_TF_LOGS") == "1"


@contextlib.contextmanager
def _silenced_fd2():
    """File descriptor 2 to ``/dev/null`` for the block (nothing without a usable fd 2)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no usable fd 2 (an embedded interpreter)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _load_quietly(load, module) -> None:
    """Run ``load()`` (TensorFlow's import) and its device discovery with fd 2 silenced."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # runtime INFO/WARNING lines
    if _keep_logs():
        load()
        return
    with _silenced_fd2():
        load()
        module().config.list_physical_devices()  # device discovery logs here too


def import_tensorflow():
    """``import tensorflow`` with its start-up C++ lines silenced."""
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    _load_quietly(lambda: importlib.import_module("tensorflow"), lambda: sys.modules["tensorflow"])
    return sys.modules["tensorflow"]


def quiet_python_loggers() -> None:
    """TensorFlow's and absl's Python loggers to errors only (for the command line:
    retracing notes and AutoGraph warnings are not for its users)."""
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run through ``_load_quietly``."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader  # TensorFlow's own, as usual
        _load_quietly(lambda: self._loader.exec_module(module), lambda: module)
        _run_waiting(module.__name__)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders do, once, with a loader that
    imports it quietly; then leaves ``sys.meta_path``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # the usual finders
        if spec is not None and spec.loader is not None:  # quiet unless TFCLUSTER_TF_LOGS=1
            spec.loader = _QuietLoader(spec.loader)
        return spec


_WAITING: list = []  # (module names, callback) for ``when_imported``


def _ready(names, finished=None) -> bool:
    """Every module of ``names`` imported, none of them still initialising
    (``finished``: the module whose loader has just returned, still flagged)."""
    modules = [sys.modules.get(name) for name in names if name != finished]
    return all(
        m is not None and not getattr(getattr(m, "__spec__", None), "_initializing", False)
        for m in modules
    ) and (finished is None or finished in sys.modules)


def _run_waiting(finished=None) -> None:
    for entry in list(_WAITING):
        if _ready(entry[0], finished) and entry in _WAITING:
            _WAITING.remove(entry)
            entry[1]()


class _AfterLoader(importlib.abc.Loader):
    """A module's own loader, then the callbacks of ``when_imported`` now ready."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _run_waiting(module.__name__)


class _AfterFinder(importlib.abc.MetaPathFinder):
    """Finds ``name`` as the other finders do, once, with an ``_AfterLoader``."""

    def __init__(self, name):
        self._name = name

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self._name:
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _AfterLoader(spec.loader)
        return spec


def when_imported(names, callback) -> None:
    """Call ``callback()`` once every module of ``names`` is imported: now if
    they are, else right after the outermost of their imports ends (``import
    tensorflow`` imports keras and ``import keras`` TensorFlow: the callback
    never runs with one of them half initialised)."""
    if _ready(names):
        callback()
        return
    _WAITING.append((tuple(names), callback))
    for name in names:
        if name not in sys.modules and not any(
            isinstance(f, (_AfterFinder, _QuietTensorFlowFinder))
            and getattr(f, "_name", "tensorflow") == name
            for f in sys.meta_path
        ):
            if name != "tensorflow":  # TensorFlow's quiet loader runs the callbacks too
                sys.meta_path.insert(0, _AfterFinder(name))


def install_quiet_import() -> None:
    """Make the first ``import tensorflow`` of the process quiet (a no-op once
    TensorFlow is imported)."""
    if "tensorflow" not in sys.modules and not any(
        isinstance(f, _QuietTensorFlowFinder) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())


class CapturedStderr:
    """What was written to file descriptor 2 inside ``captured_stderr()``: ``text``."""

    text = ""

    def lines(self) -> list[str]:
        return [line for line in self.text.splitlines() if line.strip()]


@contextlib.contextmanager
def captured_stderr():
    """Send file descriptor 2 to a temporary file for the block (C libraries such as
    libjpeg write there directly, past Python's ``sys.stderr``); the text is in
    the yielded ``CapturedStderr`` afterwards. Without a usable fd 2 (an embedded
    interpreter), nothing is captured."""
    out = CapturedStderr()
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield out
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield out
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            out.text = sink.read().decode("utf-8", "replace")
