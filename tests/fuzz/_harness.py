"""Running one fuzz case: a deadline, and the class of what went wrong.

A case is a call of a public entry point with an expectation: either a clear
error (ValueError or TypeError whose message names the argument) or a finite
result (checked further against a reference where one exists). ``run`` calls
it in a thread with a deadline and returns ``"ok"`` or the class of the
failure, as counted in issue 17:

    hang, nan, wrong, raw_tf, accepted_invalid, valid_refused,
    wrong_exception, unclear_message
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable

import numpy as np

CLASSES = (
    "hang",
    "nan",
    "wrong",
    "raw_tf",
    "accepted_invalid",
    "valid_refused",
    "wrong_exception",
    "unclear_message",
)
MAX_MESSAGE = 600  # characters: longer messages dump data instead of explaining
DEADLINE = 90.0  # seconds for one call; a hang fails the case


@dataclasses.dataclass
class Case:
    """One call of an entry point and what it must do.

    Attributes:
        id: a readable name, ``"<entry point>-<input kind>"``.
        call: runs the entry point; returns its result.
        names: for an expected error, words of which the message must contain
            one (the argument's name); None when a result is expected.
        check: for an expected result, raises AssertionError if it is wrong
            (a comparison with scikit-learn or numpy); None for finite only.
        either: a clear error is as good as a correct result (inputs whose
            acceptance another issue decides).
        fast: part of the default run (the rest runs with ``-m slow``).
        setup: called before the deadline starts (a model the case needs,
            whose first fit compiles), or None.
    """

    id: str
    call: Callable
    names: tuple | None = None
    check: Callable | None = None
    either: bool = False
    fast: bool = False
    setup: Callable | None = None


@dataclasses.dataclass
class Outcome:
    kind: str  # "ok" or one of CLASSES
    detail: str = ""


def _with_deadline(fn, seconds):
    box = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as exc:  # noqa: BLE001 - classified by the caller
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return "hang", None
    if "error" in box:
        return "error", box["error"]
    return "result", box.get("result")


def _numbers(value):
    """Every float found in a result (arrays, numbers, fitted attributes)."""
    if value is None or isinstance(value, (str, bytes, bool)):
        return []
    if isinstance(value, (int, float, np.number)):
        return [float(value)] if np.isrealobj(value) else [abs(complex(value))]
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biuf":
            return [value.astype(np.float64)]
        if value.dtype.kind == "c":
            return [np.abs(value)]
        return []
    if isinstance(value, (tuple, list)):
        return [n for v in value for n in _numbers(v)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in _numbers(v)]
    if hasattr(value, "numpy") and hasattr(value, "dtype"):
        try:
            return _numbers(np.asarray(value))
        except Exception:  # noqa: BLE001
            return []
    if hasattr(value, "get_params"):  # a fitted estimator: its fitted attributes
        found = []
        for name, attr in vars(value).items():
            if name.endswith("_") and not name.startswith("_") and name != "labels_":
                found += _numbers(attr)
        return found
    return []


def _finite(value) -> bool:
    return all(np.all(np.isfinite(n)) for n in _numbers(value))


def _is_raw_tf(exc) -> bool:
    import tensorflow as tf

    if isinstance(exc, tf.errors.OpError):
        return True
    text = str(exc)
    return "Graph execution error" in text or "{{node " in text or "tensorflow/core" in text


def classify(case: Case, kind: str, value) -> Outcome:
    """The class of one call's outcome (``kind`` is "hang", "error" or "result")."""
    if kind == "hang":
        return Outcome("hang", f"no answer within {DEADLINE} s")
    if kind == "error":
        exc = value
        text = f"{type(exc).__name__}: {str(exc)[:300]}"
        if _is_raw_tf(exc):
            return Outcome("raw_tf", text)
        if case.names is None and not case.either:
            return Outcome("valid_refused", text)
        if not isinstance(exc, (ValueError, TypeError)):
            return Outcome("wrong_exception", text)
        message = str(exc)
        names = case.names or ()
        if len(message) > MAX_MESSAGE or (
            names and not any(n.lower() in message.lower() for n in names)
        ):
            return Outcome("unclear_message", text)
        return Outcome("ok")
    if not _finite(value):
        return Outcome("nan", repr(value)[:300])
    if case.names is not None and not case.either:
        return Outcome("accepted_invalid", repr(value)[:300])
    if case.check is not None:
        import warnings

        try:
            with warnings.catch_warnings():  # the reference call's warnings, as the call's
                warnings.simplefilter("ignore")
                case.check(value)
        except AssertionError as exc:
            return Outcome("wrong", str(exc)[:300])
    return Outcome("ok")


def run(case: Case, deadline: float = DEADLINE) -> Outcome:
    """Call ``case`` with a deadline and classify what happened."""
    import warnings

    if case.setup is not None:
        case.setup()

    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning etc. are not failures here
            return case.call()

    kind, value = _with_deadline(call, deadline)
    return classify(case, kind, value)
