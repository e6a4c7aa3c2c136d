"""Shared fixtures: the real data sets the oracle tests run on."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    from tfcluster.datasets import load_digits

    return load_digits()


@pytest.fixture(scope="session")
def iris():
    from tfcluster.datasets import load_iris

    return load_iris()


@pytest.fixture(scope="session")
def wine():
    from sklearn.datasets import load_wine

    data = load_wine()
    return data.data, data.target


@pytest.fixture(scope="module")
def small(digits):
    """The first 300 digits (the SOM tests' data)."""
    X, y = digits
    return X[:300], y[:300]


@pytest.fixture(scope="session")
def blobs():
    from tfcluster.datasets import make_blobs

    return make_blobs(600, 2, 4, cluster_std=0.8, random_state=0, dtype=np.float64)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A folder of generated images (see ``_image_folder``): ``(path, info)``."""
    from _image_folder import make_image_folder

    root = tmp_path_factory.mktemp("images")
    return str(root), make_image_folder(root)


@pytest.fixture(scope="module")
def embedder():
    """The small offline image embedder of the image tests."""
    from _image_folder import SMALL

    from tfcluster.features import ImageEmbedder

    return ImageEmbedder(**SMALL)


@pytest.fixture
def die_on_call(monkeypatch):
    """``die_on_call(owner, name, n)``: the ``n``-th call of ``owner.name`` (or of
    ``owner[name]`` for a dict) raises KeyboardInterrupt, as a process killed in
    the middle of a fit. Returns a function that puts the original back."""

    def patch(owner, name, n):
        in_dict = isinstance(owner, dict)
        real = owner[name] if in_dict else getattr(owner, name)
        calls = []

        def interrupted(*args, **kwargs):
            calls.append(1)
            if len(calls) == n:
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        put = monkeypatch.setitem if in_dict else monkeypatch.setattr
        put(owner, name, interrupted)
        return lambda: put(owner, name, real)

    return patch


@pytest.fixture
def interrupted(die_on_call):
    """``interrupted(est, X, (owner, name, n), **fit_kw)``: ``est.fit(X, **fit_kw)``
    dies (KeyboardInterrupt) at the ``n``-th call of ``owner.name``, as a process
    killed in the middle of a fit; the original is put back after."""

    def run(est, X, dies_at, **fit_kw):
        restore = die_on_call(*dies_at)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X, **fit_kw)
        restore()

    return run


def _ours(message: str) -> bool:
    """A retracing warning about a function of tfcluster's modules.

    Keras's own train/predict steps and functions written in the tests are
    not tfcluster's: a test that builds many models retraces them, as any
    Keras program would.
    """
    import re
    import sys

    if "retracing" not in message:
        return False
    found = re.search(r"calls to (?:functools\.partial\()?<function ([\w.<>]+) at 0x", message)
    if found is None:
        return "tfcluster" in message
    owner = found.group(1).split(".")[0]
    return any(
        owner in vars(module)
        for name, module in list(sys.modules.items())
        if module is not None and (name == "tfcluster" or name.startswith("tfcluster."))
    )


class _RetracingLog:
    """Collects TensorFlow's "triggered tf.function retracing" warnings."""

    def __init__(self):
        import logging

        self.messages = []
        handler = logging.Handler()
        handler.emit = lambda record: (
            self.messages.append(record.getMessage()) if _ours(record.getMessage()) else None
        )
        self.handler = handler


@pytest.fixture(autouse=True)
def no_retracing_warning():
    """Every test fails if TensorFlow warned about retracing while it ran: the engine
    compiles once per shape family, so such a warning is a regression."""
    import logging

    log = _RetracingLog()
    logger = logging.getLogger("tensorflow")
    logger.addHandler(log.handler)
    try:
        yield
    finally:
        logger.removeHandler(log.handler)
    if log.messages:
        pytest.fail("TensorFlow warned about retracing: " + log.messages[0][:300])
