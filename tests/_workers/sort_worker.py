"""Run ``tfcluster images`` and stop it at a chosen point (run as a subprocess).

Usage: python sort_worker.py ACTION ARG -- tfcluster arguments...

ACTION:
    kill-after-record N   SIGKILL right after the N-th journal record is synced
                          (before its file is moved)
    kill-after-move N     SIGKILL right after the N-th file is moved
    kill-at-outputs 0     SIGKILL when assignments.csv is about to be written
                          (every file moved)
    pause-after-plan DIR  after the names are chosen (first manifest write),
                          create DIR/paused and wait until DIR/go exists
"""

import os
import signal
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _after_nth(owner, name, n, then):
    real = getattr(owner, name)
    calls = []

    def wrapped(*args, **kwargs):
        result = real(*args, **kwargs)
        calls.append(1)
        if len(calls) == n:
            then()
        return result

    setattr(owner, name, wrapped)


def _kill():
    os.kill(os.getpid(), signal.SIGKILL)


def _pause(folder):
    def wait():
        open(os.path.join(folder, "paused"), "w").close()
        while not os.path.exists(os.path.join(folder, "go")):
            time.sleep(0.05)

    return wait


def main(action, arg, argv):
    from tfcluster.cli import main as cli
    from tfcluster.images import _fileops, _journal, _outputs, _sort

    if action == "kill-after-record":
        _after_nth(_journal.Journal, "place", int(arg), _kill)
    elif action == "kill-after-move":
        _after_nth(_fileops, "move_new", int(arg), _kill)
    elif action == "kill-at-outputs":
        _sort.write_tables = lambda *a, **k: _kill()
    elif action == "pause-after-plan":
        _after_nth(_outputs.OutputFolder, "write_manifest", 1, _pause(arg))
    else:
        raise SystemExit(f"unknown action {action!r}")
    return cli(argv)


if __name__ == "__main__":
    if len(sys.argv) < 4 or sys.argv[3] != "--":
        raise SystemExit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[4:]))
