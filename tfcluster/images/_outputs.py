"""Safe output folders: never replace a user's file, write through temporary names.

An ``OutputFolder`` keeps a manifest (``.tfcluster-manifest.json``) of the
files tfcluster wrote into it, each with its kind, size and sha256 (or link
target). A non-empty folder is refused unless ``force``. With ``force`` a file
already there is replaced only if tfcluster wrote it, it is unchanged since
(same size and checksum, or same link target) and it is a generated output
(CSV, figure) being written again, or a copy or link identical to the new
one. Anything else keeps its name and the new file takes a free one
(``name_1.png``); names are compared case-folded and NFC-normalised. Files
of earlier runs are never removed, except generated outputs that are
unchanged (``remove_stale``). Every file is written to a hidden temporary
name, synced, and given its final name exclusively (see ``_fileops``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile

from tfcluster.images import _fileops as fo
from tfcluster.images._journal import JOURNAL, moved_state

__all__ = ["OutputFolder", "OutputRefused", "MANIFEST", "generated_files"]

MANIFEST = ".tfcluster-manifest.json"
_OWN = (MANIFEST, JOURNAL, fo.LOCK)  # bookkeeping files (never planned, never images)
_KINDS = ("copy", "symlink", "moved", "output")
_SPACE_MARGIN = 4 << 20  # bytes kept free beyond the copies (CSV, figures, manifest)


class OutputRefused(ValueError):
    """The output folder cannot be used as asked (not empty without force, a file, ...)."""


def _read_manifest(folder: str) -> dict:
    """``{relative path: entry dict}`` of the manifest in ``folder`` ({} if none or unreadable)."""
    try:
        with open(os.path.join(folder, MANIFEST), encoding="utf-8") as f:
            files = json.load(f).get("files", {})
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(files, dict):
        return {}
    out = {}
    for rel, entry in files.items():
        entry = {"kind": entry} if isinstance(entry, str) else entry  # version 1: kind only
        if isinstance(entry, dict) and entry.get("kind") in _KINDS:
            out[str(rel)] = entry
    return out


def generated_files(folder: str) -> set[str]:
    """Relative paths that the manifest in ``folder`` lists as generated outputs."""
    return {rel for rel, e in _read_manifest(folder).items() if e["kind"] == "output"}


class OutputFolder:
    """The output folder of one run.

    Args:
        path: the folder (created when first written, parents included).
        force: allow a non-empty folder (see the module docstring for what
            may be replaced).

    Raises:
        OutputRefused: ``path`` is a file, or a non-empty folder without ``force``.
    """

    def __init__(self, path, *, force: bool = False):
        self.shown = os.fspath(path)
        self.path = os.path.abspath(self.shown)
        self.force = bool(force)
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise OutputRefused(f"output {self.shown!r} exists and is not a folder.")
        self._check_empty()
        self._check_no_interrupted_move()
        self.previous = {r: e for r, e in _read_manifest(self.path).items() if self._inside(r)}
        self.planned: dict[str, str] = {}  # relative path -> kind
        self.written: dict[str, dict] = {}  # relative path -> manifest entry
        self.replacing: list[str] = []  # files of an earlier run this run replaces
        self._keys: set[str] = set()  # name_key of planned (and refused) paths
        self._origin: dict[str, str] = {}
        self._listing: dict[str, dict] = {}  # folder rel -> {name_key: name}
        self._lock = None
        self._created = False
        self.hardlinks = True
        self.existing = 0  # files in the folder when opened (bookkeeping files aside)

    def _check_empty(self):
        if self.force or not os.path.isdir(self.path):
            return
        if [e for e in os.listdir(self.path) if e != fo.LOCK]:
            raise OutputRefused(
                f"output folder {self.shown!r} is not empty; choose another --out or pass "
                "--force (it keeps every file there and replaces only unchanged outputs "
                "tfcluster wrote)."
            )

    def _check_no_interrupted_move(self):
        moved, interrupted = moved_state(self.path)
        if interrupted:
            raise OutputRefused(
                f"output folder {self.shown!r} holds {moved} files moved by a run that was "
                f"interrupted; put them back first: tfcluster images --undo {self.shown}"
            )

    def _inside(self, rel: str) -> bool:
        """True if ``rel`` is a plain relative path that stays inside the folder."""
        parts = rel.split("/")
        if (
            not rel
            or os.path.isabs(rel)
            or "\\" in rel
            or any(p in ("", ".", "..") for p in parts)
        ):
            return False
        # The entry itself may be a symlink we made (to a source image): resolve
        # only the folders above it, which must not lead out of this folder.
        root = os.path.realpath(self.path)
        parent = os.path.realpath(os.path.dirname(self.abs(rel)))
        return os.path.commonpath([parent, root]) == root

    def abs(self, rel: str) -> str:
        """The absolute path of ``rel`` (a "/"-separated path inside the folder)."""
        return os.path.join(self.path, *rel.split("/"))

    # ------------------------------------------------------------ preflight

    def open(self, *, mode: str = "copy", need_bytes: int = 0) -> OutputFolder:
        """Create the folder, take its lock and check it can hold this run's files.

        Args:
            mode: "copy", "symlink" or "move" (symlink mode checks links work).
            need_bytes: bytes the new files need (copies; moves across disks).

        Raises:
            OutputRefused: not creatable or writable, locked by another run,
                holding files an interrupted move left, no symlinks, no space.
        """
        where = self.shown
        try:
            self._created = not os.path.isdir(self.path)
            os.makedirs(self.path, exist_ok=True)
            self._lock = fo.OutputLock(self.path)
            self._lock.acquire()
        except fo.LockHeld as exc:
            self._lock = None
            self.close()
            raise OutputRefused(str(exc)) from None
        except OSError as exc:
            self._lock = None
            self.close()
            raise OutputRefused(
                f"output folder {where!r} is not writable: {exc.strerror}"
            ) from None
        try:
            self._check_empty()  # again, now that no other run can write there
            self.existing = sum(
                name not in _OWN for _, _, names in os.walk(self.path) for name in names
            )
            self._check_no_interrupted_move()
            self._probe(mode)
            free = shutil.disk_usage(self.path).free
            if need_bytes + _SPACE_MARGIN > free:
                raise OutputRefused(
                    f"not enough free space in output folder {where!r}: the new files need "
                    f"{_mb(need_bytes + _SPACE_MARGIN)}, {_mb(free)} free."
                )
        except BaseException:
            self.close()
            raise
        return self

    def _probe(self, mode):
        where, tmp = self.shown, None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=fo.TEMP_PREFIX)
            try:
                os.write(fd, b"tfcluster")
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, tmp + "-link")
                os.remove(tmp + "-link")
            except OSError:
                self.hardlinks = False
            if mode == "symlink":
                try:
                    fo.remove_temp(fo.symlink_to_temp(tmp, self.path))
                except OSError as exc:
                    raise OutputRefused(
                        f"output folder {where!r} does not support symbolic links "
                        f"({exc.strerror}); use --mode copy."
                    ) from None
        except OSError as exc:
            raise OutputRefused(
                f"output folder {where!r} is not writable: {exc.strerror}"
            ) from None
        finally:
            fo.remove_temp(tmp)

    def close(self) -> None:
        """Let go of the lock; remove the folder if this run created it and left it empty."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if self._created:
            with contextlib.suppress(OSError):
                os.rmdir(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ names

    def _names(self, folder_rel: str) -> dict:
        if folder_rel not in self._listing:
            try:
                names = os.listdir(self.abs(folder_rel) if folder_rel else self.path)
            except (FileNotFoundError, NotADirectoryError):
                names = []
            self._listing[folder_rel] = {fo.name_key(n): n for n in names}
        return self._listing[folder_rel]

    def unchanged(self, rel: str) -> bool:
        """True if tfcluster wrote ``rel`` (manifest) and it is as it wrote it."""
        entry, path = self.previous.get(rel), self.abs(rel)
        if entry is None:
            return False
        if entry["kind"] == "symlink":
            return os.path.islink(path) and os.readlink(path) == entry.get("target")
        try:
            if os.path.islink(path) or os.path.getsize(path) != entry.get("size"):
                return False
            return fo.digest(path)[1] == entry.get("sha256")
        except OSError:
            return False

    def _may_replace(self, rel, kind, source) -> bool:
        old = self.previous.get(rel, {}).get("kind")
        if not self.force or old != kind or kind == "moved" or not self.unchanged(rel):
            return False
        entry = self.previous[rel]
        if kind == "symlink":
            return entry.get("target") == os.path.abspath(source)
        if kind == "copy":
            return list(fo.digest(source)) == [entry.get("size"), entry.get("sha256")]
        return True  # a generated output written again

    def plan(self, rel: str, kind: str, source=None) -> str:
        """Reserve a name for a new file, ``rel`` itself or ``stem_1.ext``, ``stem_2.ext``, ...

        A name is free if no planned name and no file in its folder equals it
        case-folded and NFC-normalised, or if the file there may be replaced
        (see the module docstring).

        Args:
            rel: the wanted "/"-separated path inside the folder.
            kind: "copy", "symlink", "moved" or "output".
            source: the source file of a copy or link (to compare with a file there).

        Returns:
            the reserved relative path.
        """
        if kind not in _KINDS:
            raise ValueError(f"unknown kind {kind!r}; accepted: {', '.join(_KINDS)}.")
        folder_rel, _, name = rel.rpartition("/")
        stem, ext = os.path.splitext(name)
        existing = self._names(folder_rel)
        candidate, i = name, 0
        while True:
            crel = f"{folder_rel}/{candidate}" if folder_rel else candidate
            if fo.name_key(crel) not in self._keys and candidate not in _OWN:
                there = existing.get(fo.name_key(candidate))
                if there is None:
                    break
                if there == candidate and self._may_replace(crel, kind, source):
                    self.replacing.append(crel)
                    break
            i += 1
            candidate = f"{stem}_{i}{ext}"
        self.planned[crel] = kind
        self._keys.add(fo.name_key(crel))
        self._origin[crel] = self._origin.get(rel, rel)
        return crel

    def plan_dir(self, rel: str) -> str:
        """A folder for new files: ``rel`` if free or a real folder, else ``rel_1``, ``rel_2``, ...

        A name held by a file or a symbolic link (which could lead out of the
        output folder) is passed over.
        """
        candidate, i = rel, 0
        while True:
            path = self.abs(candidate)
            if not os.path.lexists(path) or (os.path.isdir(path) and not os.path.islink(path)):
                return candidate
            i += 1
            candidate = f"{rel}_{i}"

    def _replan(self, rel: str) -> str:
        """``rel`` was refused by the disk (taken after all): reserve the next free name."""
        kind = self.planned.pop(rel)
        if rel in self.replacing:
            self.replacing.remove(rel)
        return self.plan(self._origin[rel], kind)

    # ------------------------------------------------------------ writing

    def write_manifest(self) -> None:
        """Record this run's files (planned, then written) and the earlier ones still present."""
        files = {r: e for r, e in self.previous.items() if os.path.lexists(self.abs(r))}
        files.update({r: {"kind": k} for r, k in self.planned.items() if r not in files})
        files.update(self.written)
        text = json.dumps({"tool": "tfcluster", "version": 2, "files": files}, indent=1)
        os.makedirs(self.path, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=fo.TEMP_PREFIX)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(self.path, MANIFEST))  # the manifest is always ours
        finally:
            fo.remove_temp(tmp)

    def _finish(self, tmp: str, rel: str, entry: dict) -> str:
        """Give ``tmp`` the planned name ``rel`` (or the next free one); returns the name."""
        while True:
            final = self.abs(rel)
            try:
                if rel in self.replacing and self.unchanged(rel):
                    os.replace(tmp, final)
                else:
                    fo.claim(tmp, final, hardlinks=self.hardlinks)
            except FileExistsError:
                rel = self._replan(rel)
                continue
            except BaseException:
                fo.remove_temp(tmp)
                raise
            self.written[rel] = entry
            return rel

    def _write(self, rel: str, make) -> str:
        """``make(tmp_path)`` writes the file at a temporary name; returns its final name."""
        folder = os.path.dirname(self.abs(rel))
        os.makedirs(folder, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=fo.TEMP_PREFIX)
        os.close(fd)
        try:
            make(tmp)
            size, sha = fo.digest(tmp)
        except BaseException:
            fo.remove_temp(tmp)
            raise
        return self._finish(tmp, rel, {"kind": "output", "size": size, "sha256": sha})

    def write_text(self, rel: str, text: str, *, errors: str = "strict") -> str:
        """Write ``text`` as UTF-8 (``errors``: e.g. "surrogateescape"); returns the name."""

        def make(tmp):
            with open(tmp, "w", encoding="utf-8", errors=errors, newline="") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())

        return self._write(rel, make)

    def write_bytes(self, rel: str, data: bytes) -> str:
        """Write ``data``; returns the name it got."""

        def make(tmp):
            with open(tmp, "wb") as f:
                f.write(data)

        return self._write(rel, make)

    def save_figure(self, rel: str, fig) -> str:
        """Save a matplotlib figure as PNG; returns the name it got."""
        return self._write(rel, lambda tmp: fig.savefig(tmp, format="png", dpi=110))

    def place(self, source: str, rel: str, mode: str, journal=None, **info) -> str:
        """Copy, link or move the file ``source`` to the planned name ``rel``.

        With a ``journal``, the source, destination and ``info`` are recorded
        (and synced) before the file is touched. Returns the final name (the
        next free one if the disk refused ``rel``).
        """
        if mode not in ("copy", "symlink", "move"):
            raise ValueError(f"unknown mode {mode!r}; accepted: 'copy', 'symlink', 'move'.")
        source = os.path.abspath(source)
        os.makedirs(os.path.dirname(self.abs(rel)), exist_ok=True)
        if mode == "move":
            size, sha = fo.digest(source)
            while True:
                if journal is not None:
                    journal.place("move", source, rel, size=size, sha256=sha, **info)
                try:
                    fo.move_new(source, self.abs(rel), hardlinks=self.hardlinks)
                except FileExistsError:
                    rel = self._replan(rel)
                    continue
                self.written[rel] = {"kind": "moved", "size": size, "sha256": sha}
                return rel
        if journal is not None:
            journal.place(mode, source, rel, **info)
        folder = os.path.dirname(self.abs(rel))
        if mode == "symlink":
            tmp = fo.symlink_to_temp(source, folder)
            return self._finish(tmp, rel, {"kind": "symlink", "target": source})
        tmp, size, sha = fo.copy_to_temp(source, folder)
        return self._finish(tmp, rel, {"kind": "copy", "size": size, "sha256": sha})

    def remove_stale(self) -> list[str]:
        """Remove generated outputs of an earlier run that this run did not write again.

        Only files the manifest lists as generated outputs (CSV, figures) and
        that are unchanged; copies, links and moved files are never removed.
        """
        removed = []
        for rel, entry in self.previous.items():
            stale = entry["kind"] == "output" and rel not in self.planned
            if stale and self.force and self.unchanged(rel):
                os.remove(self.abs(rel))
                removed.append(rel)
        return removed


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"
