"""The file side of ``tfcluster images``: checks of the sources, placing, CSV and figures.

Placing is journalled (``_journal``): every source -> destination pair is
synced to ``OUT/.tfcluster-journal.jsonl`` before the file is touched, and
``assignments.csv`` is written from the journal. A run that stops while
placing raises ``SortStopped`` saying how many files were placed and, after
a move, how to put them back (``tfcluster images --undo OUT``).
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from tfcluster.images._journal import JOURNAL, Journal

__all__ = [
    "SortStopped",
    "show",
    "check_sources",
    "bytes_needed",
    "place_all",
    "force_summary",
    "write_tables",
    "write_figures",
]


class SortStopped(RuntimeError):
    """Placing the images stopped part way (interrupted, disk full, ...); says how far."""


def show(path) -> str:
    """``path`` printable anywhere: bytes that are not UTF-8 as ``\\xNN``."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_sources(paths, mode):
    """Split ``paths`` into those ``mode`` can use and ``[(path, reason)]`` skipped.

    A move skips symbolic links (moving a link moves no photo, and a relative
    one would lead nowhere from OUT); copy and symlink modes use every path.

    Raises:
        PermissionError: a move from a folder whose files cannot be removed
            (read-only), found before anything is done.
    """
    if mode != "move":
        return list(paths), []
    kept, skipped = [], []
    for p in paths:
        if os.path.islink(p):
            skipped.append((p, "a symbolic link: --mode move moves only regular files"))
        else:
            kept.append(p)
    for folder in sorted({os.path.dirname(os.path.abspath(p)) for p in kept}):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(
                f"--mode move cannot remove files from the read-only folder {show(folder)!r}; "
                "use --mode copy (the default) or make it writable."
            )
    return kept, skipped


def bytes_needed(paths, mode, out) -> int:
    """Bytes the new files take in ``out``: copies, and moves from another disk."""
    if mode == "symlink":
        return 0
    existing = os.path.abspath(out)
    while not os.path.isdir(existing):  # OUT may not exist yet: the disk it will be on
        existing = os.path.dirname(existing)
    device = os.stat(existing).st_dev
    total = 0
    for p in paths:
        st = os.stat(p)
        if mode == "copy" or st.st_dev != device:
            total += st.st_size
    return total


def place_all(folder, src, paths, labels, scores, mode, log) -> Journal:
    """Place ``paths`` into ``cluster_*/`` folders of ``folder``, journalled.

    Returns:
        the open journal (its ``records()`` are the files placed).

    Raises:
        SortStopped: placing stopped (Ctrl-C, a full disk, ...): says how many
            files were placed and how to undo a move.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    width = len(str(max(k - 1, 0)))
    dirs = {c: folder.plan_dir(f"cluster_{c:0{width}d}") for c in range(k)}
    kind = "moved" if mode == "move" else mode
    targets = [
        folder.plan(f"{dirs[int(c)]}/{os.path.basename(p)}", kind, source=p)
        for p, c in zip(paths, labels, strict=True)
    ]
    folder.write_manifest()
    journal = Journal(folder.path, mode, os.path.abspath(src))
    try:
        for p, rel, c, s in zip(paths, targets, labels, scores, strict=True):
            folder.place(p, rel, mode, journal, cluster=int(c), score=f"{s:.6g}")
    except (Exception, KeyboardInterrupt) as exc:
        raise stopped(exc, folder, journal, len(paths), src) from exc
    return journal


def force_summary(folder, removed) -> str | None:
    """The line saying what ``--force`` replaced, removed and kept, or None if nothing."""
    if not folder.existing:
        return None
    replaced = sorted(folder.replacing)
    kept = folder.existing - len(replaced) - len(removed)
    text = f"--force: kept {kept} of the {folder.existing} files already in {show(folder.shown)}"
    if replaced:
        shown = ", ".join(show(r) for r in replaced[:4]) + (", ..." if len(replaced) > 4 else "")
        text += (
            f"; replaced {len(replaced)} that tfcluster wrote and that were unchanged "
            f"(outputs, identical copies or links: {shown})"
        )
    if removed:
        text += (
            f"; removed {len(removed)} unchanged outputs of an earlier run ({', '.join(removed)})"
        )
    return text


def stopped(exc, folder, journal, total, src) -> SortStopped:
    """The ``SortStopped`` for ``exc`` raised after placing began (manifest and journal kept)."""
    try:
        folder.write_manifest()  # the files placed so far, with their checksums
    except OSError:
        pass  # the journal has them too
    records = journal.records()
    journal.close()
    cause = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
    if not isinstance(exc, (OSError, ValueError, RuntimeError, KeyboardInterrupt)):
        cause = f"{type(exc).__name__}: {exc}"
    out = show(folder.shown)
    if journal.mode == "move":
        moved = sum(r["op"] == "move" for r in records)
        return SortStopped(
            f"{cause}; stopped after moving {moved} of {total} files into {out!r}; to put "
            f"them back: tfcluster images --undo {out}"
        )
    return SortStopped(
        f"{cause}; stopped after placing {len(records)} of {total} files in {out!r} "
        f"(listed in {JOURNAL} there); {show(src)!r} is unchanged"
    )


def _csv(rows) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _relative(path, root) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def write_tables(folder, src, records, score_name, skipped) -> list[str]:
    """``assignments.csv`` (from the journal ``records``) and ``skipped.csv``; their names.

    Written as UTF-8 with ``surrogateescape``: a file name that is not valid
    UTF-8 keeps its exact bytes.
    """
    rows = [["path", "cluster", score_name, "output"]]
    rows += [[_relative(r["src"], src), r["cluster"], r["score"], r["dst"]] for r in records]
    names = [folder.write_text(folder.plan("assignments.csv", "output"), _csv(rows), errors=_ESC)]
    if skipped:
        rows = [["path", "reason"]] + [[_relative(p, src), why] for p, why in skipped]
        rel = folder.plan("skipped.csv", "output")
        names.append(folder.write_text(rel, _csv(rows), errors=_ESC))
    return names


_ESC = "surrogateescape"


def _thumbnails(paths, labels, per_cluster=6):
    """Decoded RGB arrays of the first images of each cluster (for the grid figure)."""
    import tensorflow as tf

    chosen = np.concatenate([np.flatnonzero(labels == c)[:per_cluster] for c in np.unique(labels)])
    chosen.sort()
    images = []
    for i in chosen:
        with open(paths[i], "rb") as f:
            img = tf.io.decode_image(f.read(), channels=3, expand_animations=False)
        img = tf.image.resize(img, [64, 64], preserve_aspect_ratio=True, antialias=True)
        images.append(np.clip(img.numpy(), 0, 255).astype(np.uint8))
    return images, labels[chosen]


def write_figures(folder, records, sweep_result, score, log) -> list[str]:
    """``k_scores.png`` (after a sweep) and ``examples.png`` of the placed files."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from tfcluster import plot

    written = []
    if sweep_result is not None:
        ax = plot.k_scores(sweep_result, score)
        written.append(folder.save_figure(folder.plan("k_scores.png", "output"), ax.figure))
        plt.close(ax.figure)
    placed = [folder.abs(r["dst"]) for r in records]  # sources are gone after a move
    labels = np.array([r["cluster"] for r in records])
    images, shown_labels = _thumbnails(placed, labels)
    ax = plot.image_grid(images, shown_labels)
    uniques, counts = np.unique(labels, return_counts=True)
    ax.set_yticklabels([f"{u} ({n})" for u, n in zip(uniques, counts, strict=True)])
    ax.set_title("examples of each cluster (one row per cluster)")
    written.append(folder.save_figure(folder.plan("examples.png", "output"), ax.figure))
    plt.close(ax.figure)
    log(f"figures: {', '.join(written)}")
    return written
