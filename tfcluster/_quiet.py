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

    def __getattr__(self, name):  # the wrapped loader's other methods
        return getattr(self._loader, name)

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


_WAITING: list = []  # (module names, package, callback) for ``when_imported``


def _initialising(module) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _ready(names, package, finished=None) -> bool:
    """Every module of ``names`` imported and none of them, nor any submodule of
    ``package``, still initialising (``finished``: the module whose loader has
    just returned, still flagged)."""
    if any(sys.modules.get(name) is None for name in names):
        return False
    busy = [
        name
        for name, module in list(sys.modules.items())
        if (name in names or name.startswith(package + "."))
        and name != finished
        and _initialising(module)
    ]
    return not busy


def _run_waiting(finished=None) -> None:
    for entry in list(_WAITING):
        if entry in _WAITING and _ready(entry[0], entry[1], finished):
            _WAITING.remove(entry)
            entry[2]()
    if not _WAITING:
        for finder in [f for f in sys.meta_path if isinstance(f, _AfterFinder)]:
            with contextlib.suppress(ValueError):
                sys.meta_path.remove(finder)


class _AfterLoader(importlib.abc.Loader):
    """A module's own loader, then the callbacks of ``when_imported`` now ready."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # get_code (python -m), resource readers, ...
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _run_waiting(module.__name__)


class _AfterFinder(importlib.abc.MetaPathFinder):
    """Finds the modules ``name`` (and, with ``prefix``, its submodules) as the
    other finders do, with an ``_AfterLoader``, while callbacks wait."""

    def __init__(self, name, prefix=False):
        self._name, self._prefix, self._busy = name, prefix, False

    def find_spec(self, fullname, path=None, target=None):
        wanted = fullname == self._name or (self._prefix and fullname.startswith(self._name + "."))
        if not wanted or self._busy:
            return None
        self._busy = True  # the usual finders below, not this one again
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._busy = False
        if spec is not None and spec.loader is not None:
            spec.loader = _AfterLoader(spec.loader)
        return spec


def when_imported(names, callback, package: str) -> None:
    """Call ``callback()`` once every module of ``names`` is imported and no
    module of ``package`` is half imported: now if so, else right after the
    import that completes it ends (``import tensorflow`` imports keras and
    ``import keras`` TensorFlow; a submodule of ``package`` importing them
    finishes first, so the callback may import that submodule again)."""
    if _ready(names, package):
        callback()
        return
    _WAITING.append((tuple(names), package, callback))
    watched = {getattr(f, "_name", None) for f in sys.meta_path if isinstance(f, _AfterFinder)}
    for name in names:
        if name != "tensorflow" and name not in watched:  # TF's quiet loader runs them too
            sys.meta_path.insert(0, _AfterFinder(name))
    if package not in watched:
        sys.meta_path.insert(0, _AfterFinder(package, prefix=True))


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
