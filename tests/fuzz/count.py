"""Count the fuzz table's failures by class: ``python -m tests.fuzz.count [--fast]``.

Prints one line per failing case and the counts by class (issue 17's closing
note is made of these counts).
"""

from __future__ import annotations

import collections
import os
import sys
import time

from . import _harness, _specific
from ._cases import table


def main(argv):
    cases = table() + _specific.cases()
    if "--fast" in argv:
        cases = [c for c in cases if c.fast]
    skip = set(os.environ.get("FUZZ_SKIP", "").split(","))
    cases = [c for c in cases if c.id not in skip]
    pattern = next((a for a in argv if not a.startswith("--")), None)
    if pattern:
        cases = [c for c in cases if pattern in c.id]
    counts = collections.Counter()
    start = time.perf_counter()
    for case in cases:
        outcome = _harness.run(case)
        counts[outcome.kind] += 1
        if outcome.kind != "ok":
            print(f"{outcome.kind:16} {case.id}: {outcome.detail[:200]}", flush=True)
    print(f"\n{len(cases)} cases in {time.perf_counter() - start:.0f} s")
    for kind in ("ok", *_harness.CLASSES):
        print(f"{kind:16} {counts[kind]}")


if __name__ == "__main__":
    main(sys.argv[1:])
