"""Safe output folders: never overwrite a user's file, write through temporary names.

An ``OutputFolder`` keeps a manifest (``.tfcluster-manifest.json``) of the
files tfcluster wrote into it. A non-empty folder is refused unless ``force``;
with ``force`` only files listed in the manifest as written by tfcluster
(copies, links, generated outputs) are replaced or removed, and a new file
whose name is taken by anything else gets a free name (``name_1.png``) instead.
Every file is written to a hidden temporary name in its final folder and
renamed with ``os.replace``, so an interruption leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil

__all__ = ["OutputFolder", "OutputRefused", "MANIFEST"]

MANIFEST = ".tfcluster-manifest.json"
_REPLACEABLE = ("copy", "symlink", "output")  # kinds tfcluster may replace or remove


class OutputRefused(ValueError):
    """The output folder cannot be used as asked (not empty without force, a file, ...)."""


class OutputFolder:
    """The output folder of one run.

    Args:
        path: the folder (created if missing, parents included).
        force: allow a non-empty folder; replace only tfcluster's own files.
    """

    def __init__(self, path, *, force: bool = False):
        self.path = os.path.abspath(os.fspath(path))
        if os.path.lexists(self.path) and not os.path.isdir(self.path):
            raise OutputRefused(f"output {path!r} exists and is not a folder.")
        self.previous = self._read_manifest()
        if os.path.isdir(self.path) and os.listdir(self.path) and not force:
            raise OutputRefused(
                f"output folder {os.fspath(path)!r} is not empty; choose another --out or "
                "pass --force (it replaces only files tfcluster wrote there and keeps the rest)."
            )
        self.planned: dict[str, str] = {}  # relative path -> kind

    def _read_manifest(self) -> dict:
        try:
            with open(os.path.join(self.path, MANIFEST), encoding="utf-8") as f:
                files = json.load(f).get("files", {})
            if not isinstance(files, dict):
                return {}
        except (OSError, ValueError, AttributeError):
            return {}  # no manifest, or unreadable: nothing in the folder counts as ours
        # A manifest is a file in a folder the user points to: only entries that
        # name a file strictly inside this folder can count as ours.
        return {str(k): str(v) for k, v in files.items() if self._inside(str(k))}

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

    def ours(self, rel: str) -> bool:
        """True if tfcluster wrote ``rel`` and may replace it."""
        return self.previous.get(rel) in _REPLACEABLE

    def plan(self, rel: str, kind: str) -> str:
        """Reserve a free relative path for a new file, close to ``rel``.

        ``rel`` itself if nothing is there or it is tfcluster's own file, else
        ``stem_1.ext``, ``stem_2.ext``, ...
        """
        stem, ext = os.path.splitext(rel)
        candidate, i = rel, 0
        while candidate in self.planned or (
            os.path.lexists(self.abs(candidate)) and not self.ours(candidate)
        ):
            i += 1
            candidate = f"{stem}_{i}{ext}"
        self.planned[candidate] = kind
        return candidate

    def abs(self, rel: str) -> str:
        return os.path.join(self.path, *rel.split("/"))

    def write_manifest(self) -> None:
        """Record the planned files and the earlier ones still present.

        Called before writing (so an interrupted run's files are known as ours)
        and after (when stale files of an earlier run are gone).
        """
        files = {r: k for r, k in self.previous.items() if os.path.lexists(self.abs(r))}
        files.update(self.planned)
        text = json.dumps({"tool": "tfcluster", "version": 1, "files": files}, indent=1)
        self.write_text(MANIFEST, text)

    # ------------------------------------------------------------ writing

    def _atomic(self, rel: str, make) -> None:
        """``make(tmp_path)`` creates the file at a temporary name; then rename it to ``rel``."""
        final = self.abs(rel)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        if os.path.isdir(final) and not os.path.islink(final):
            raise OSError(f"cannot write {final!r}: a folder is in the way.")
        tmp = os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.tfcluster-tmp")
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        try:
            make(tmp)
            os.replace(tmp, final)
        finally:
            if os.path.lexists(tmp):
                os.remove(tmp)

    def write_text(self, rel: str, text: str) -> None:
        def make(tmp):
            with open(tmp, "w", encoding="utf-8", newline="") as f:
                f.write(text)

        self._atomic(rel, make)

    def write_bytes(self, rel: str, data: bytes) -> None:
        def make(tmp):
            with open(tmp, "wb") as f:
                f.write(data)

        self._atomic(rel, make)

    def save_figure(self, rel: str, fig) -> None:
        self._atomic(rel, lambda tmp: fig.savefig(tmp, format="png", dpi=110))

    def place(self, source: str, rel: str, mode: str) -> None:
        """Copy, link or move the file ``source`` to ``rel`` (planned before)."""
        if mode == "copy":
            self._atomic(rel, lambda tmp: shutil.copy2(source, tmp))
        elif mode == "symlink":
            self._atomic(rel, lambda tmp: os.symlink(os.path.abspath(source), tmp))
        elif mode == "move":
            final = self.abs(rel)
            os.makedirs(os.path.dirname(final), exist_ok=True)
            try:
                os.rename(source, final)  # atomic on one file system
            except OSError:  # another file system: copy through a temporary name, then remove
                self._atomic(rel, lambda tmp: shutil.copy2(source, tmp))
                os.remove(source)
        else:
            raise ValueError(f"unknown mode {mode!r}; accepted: 'copy', 'symlink', 'move'.")

    def remove_stale(self) -> list[str]:
        """Remove tfcluster's own files of an earlier run that this run did not rewrite."""
        removed = []
        for rel, kind in self.previous.items():
            if kind in _REPLACEABLE and rel not in self.planned:
                path = self.abs(rel)
                if os.path.lexists(path) and not os.path.isdir(path):
                    os.remove(path)
                    removed.append(rel)
                    with contextlib.suppress(OSError):  # only if now empty
                        parent = os.path.dirname(path)
                        if parent != self.path:
                            os.rmdir(parent)
        return removed
