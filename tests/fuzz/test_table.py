"""The fuzz table (issue 17): each case ends in a clear ValueError/TypeError naming
the argument, or a finite result equal to the reference, within a deadline.

The default run takes a representative subset (``Case.fast``); ``-m slow`` runs
the rest. ``python -m tests.fuzz.count`` counts the failures by class.
"""

import pytest

from . import _harness, _specific
from ._cases import table

CASES = table() + _specific.cases()


def _check(case):
    outcome = _harness.run(case)
    assert outcome.kind == "ok", f"{outcome.kind}: {outcome.detail}"


@pytest.mark.parametrize("case", [c for c in CASES if c.fast], ids=lambda c: c.id)
def test_fast_case(case):
    _check(case)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if not c.fast], ids=lambda c: c.id)
def test_slow_case(case):
    _check(case)


def test_the_harness_tells_each_class_apart():
    """The classifier can fail: each class is found for a call that shows it."""
    import numpy as np
    import tensorflow as tf

    def raise_(exc):
        def call():
            raise exc

        return call

    def expect(kind, case):
        assert _harness.run(case, deadline=2.0).kind == kind, case.id

    import time

    expect("hang", _harness.Case("sleep", lambda: time.sleep(5), names=("X",)))
    expect("nan", _harness.Case("nan", lambda: np.array([np.nan])))
    expect("accepted_invalid", _harness.Case("accepted", lambda: 1.0, names=("X",)))
    expect("valid_refused", _harness.Case("refused", raise_(ValueError("X is bad"))))
    expect("wrong_exception", _harness.Case("key", raise_(KeyError("X")), names=("X",)))
    expect("unclear_message", _harness.Case("msg", raise_(ValueError("bad")), names=("X",)))
    expect("raw_tf", _harness.Case("tf", raise_(tf.errors.InvalidArgumentError(None, None, "x"))))

    def wrong(value):
        assert value == 2, "not 2"

    expect("wrong", _harness.Case("wrong", lambda: 1, check=wrong))
    expect("ok", _harness.Case("ok", lambda: 2, check=wrong))
    expect("ok", _harness.Case("clear", raise_(TypeError("X must be 2-D")), names=("X",)))
