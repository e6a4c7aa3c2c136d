"""The journal of an output folder: where every placed file came from, and undo.

``OUT/.tfcluster-journal.jsonl`` holds one JSON object a line, appended,
flushed and ``fsync``-ed before the file it describes is placed:

- ``{"t": "run", "run": ID, "mode": ..., "src": ...}`` when a run starts placing;
- ``{"t": "place", "run": ID, "op": "move"|"copy"|"symlink", "src": ABS,
  "dst": REL, "size": N, "sha256": HEX, "cluster": C, "score": S}`` before
  each file (``size``/``sha256`` of the source, for moves);
- ``{"t": "end", "run": ID}`` when the run finished;
- ``{"t": "undone"}`` after ``undo`` put every moved file back.

Names are JSON strings with ``\\udcXX`` escapes for bytes that are not UTF-8,
so they round-trip exactly. A torn last line (a kill during a write) is
ignored: its file had not been touched yet.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field

from tfcluster.images import _fileops as fo

__all__ = ["JOURNAL", "Journal", "read_records", "moved_state", "undo_moves", "UndoReport"]

JOURNAL = ".tfcluster-journal.jsonl"


class Journal:
    """An open journal, appended to by one run (which holds the folder's lock).

    Args:
        folder: the output folder.
        mode: "copy", "symlink" or "move".
        src: the source folder (absolute).
    """

    def __init__(self, folder: str, mode: str, src: str):
        self.folder = folder
        self.path = os.path.join(folder, JOURNAL)
        self.run = uuid.uuid4().hex
        self.mode = mode
        new = not os.path.exists(self.path)
        self._file = open(self.path, "ab")  # closed by close()
        if new:
            fo.fsync_dir(folder)
        self._write({"t": "run", "run": self.run, "mode": mode, "src": src})

    def _write(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n"
        self._file.write(line.encode("ascii"))
        self._file.flush()
        os.fsync(self._file.fileno())

    def place(self, op: str, src: str, dst: str, **info) -> None:
        """Record that ``src`` is about to be placed at ``dst`` (relative to the folder)."""
        self._write({"t": "place", "run": self.run, "op": op, "src": src, "dst": dst, **info})

    def end(self) -> None:
        """Record that the run finished."""
        self._write({"t": "end", "run": self.run})

    def records(self) -> list[dict]:
        """This run's ``place`` records whose file is now at its destination."""
        mine = [r for r in read_records(self.folder) if r["t"] == "place" and r["run"] == self.run]
        return [
            r
            for r in _last_per_source(mine)
            if os.path.lexists(_dst(self.folder, r))
            and (r["op"] != "move" or not os.path.lexists(r["src"]))
        ]

    def close(self) -> None:
        self._file.close()


def read_records(folder: str) -> list[dict]:
    """The records of the journal in ``folder`` (empty if there is none)."""
    try:
        with open(os.path.join(folder, JOURNAL), "rb") as f:
            lines = f.read().split(b"\n")
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a torn last line, or an empty one
        if not isinstance(record, dict) or not isinstance(record.get("t"), str):
            continue
        if record["t"] == "place" and not all(
            isinstance(record.get(k), str) for k in ("run", "op", "src", "dst")
        ):
            continue
        records.append(record)
    return records


def _last_per_source(records):
    """The last record of each (run, source): a placement the disk refused is retried
    under another name with a new record, which supersedes the first."""
    last = {(r["run"], r["src"]): i for i, r in enumerate(records)}
    return [r for i, r in enumerate(records) if last[(r["run"], r["src"])] == i]


def _pending_moves(records):
    """The ``move`` records after the last ``undone`` marker, oldest first."""
    start = max((i + 1 for i, r in enumerate(records) if r["t"] == "undone"), default=0)
    places = [r for r in records[start:] if r["t"] == "place"]
    return [r for r in _last_per_source(places) if r["op"] == "move"]


def _dst(folder, record):
    return os.path.join(folder, *record["dst"].split("/"))


def moved_state(folder: str) -> tuple[int, int]:
    """``(files moved into folder and not put back, of them by runs that never ended)``."""
    records = read_records(folder)
    ended = {r.get("run") for r in records if r["t"] == "end"}
    moved = interrupted = 0
    for r in _pending_moves(records):
        if os.path.lexists(_dst(folder, r)) and not os.path.lexists(r["src"]):
            moved += 1
            interrupted += r.get("run") not in ended
    return moved, interrupted


@dataclass
class UndoReport:
    """What ``undo_moves`` did: counts, and the files it could not put back."""

    restored: int = 0
    already: int = 0
    problems: list = field(default_factory=list)  # (source path, reason)


def _same_bytes(path, record) -> bool:
    try:
        return list(fo.digest(path)) == [record.get("size"), record.get("sha256")]
    except OSError:
        return False


def _undo_one(folder, record, report):
    src, dst = record["src"], _dst(folder, record)
    at_dst, at_src = os.path.lexists(dst), os.path.lexists(src)
    if at_src and not at_dst:
        report.already += 1
    elif at_dst and not at_src:
        os.makedirs(os.path.dirname(src), exist_ok=True)
        fo.move_new(dst, src)
        report.restored += 1
    elif at_dst and at_src:
        # interrupted between placing the new name and removing the source: the
        # source is whole; remove the destination only if it is the same file
        same = os.path.samefile(src, dst) or (
            _same_bytes(src, record) and _same_bytes(dst, record)
        )
        empty_placeholder = os.path.getsize(dst) == 0 and record.get("size") != 0
        if same or empty_placeholder:
            os.remove(dst)
            report.already += 1
        else:
            report.problems.append((src, f"both it and {record['dst']} exist and differ"))
    else:
        report.problems.append((src, f"neither it nor {record['dst']} exists"))


def undo_moves(folder: str) -> UndoReport:
    """Put every file moved into ``folder`` back where it came from, newest first.

    Never replaces a file: a source path that is taken again is reported, not
    overwritten. When every file is back, an ``undone`` record is appended, so
    a later undo has nothing to do. The caller holds the folder's lock.

    Raises:
        FileNotFoundError: ``folder`` holds no journal.
    """
    if not os.path.isfile(os.path.join(folder, JOURNAL)):
        raise FileNotFoundError(f"{folder!r} holds no tfcluster journal ({JOURNAL}).")
    report = UndoReport()
    for record in reversed(_pending_moves(read_records(folder))):
        try:
            _undo_one(folder, record, report)
        except OSError as exc:
            report.problems.append((record["src"], exc.strerror or str(exc)))
    if not report.problems:
        with open(os.path.join(folder, JOURNAL), "ab") as f:
            f.write(b'{"t":"undone"}\n')
            f.flush()
            os.fsync(f.fileno())
    return report
