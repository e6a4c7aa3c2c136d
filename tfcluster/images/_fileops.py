"""File operations that never replace an existing file, and the lock of an output folder.

Every name is claimed exclusively: a finished temporary file gets its final
name with ``os.link`` (which fails if anything, in any case on a
case-insensitive disk, already has that name) or, where hard links are not
supported, by creating the final name with ``O_EXCL`` first and renaming onto
that empty placeholder. A move on one file system is a hard link plus the
removal of the source; across file systems it is a verified copy plus the
removal of the source. Names are compared by ``name_key``: case-folded and
Unicode-NFC-normalised, as exFAT, FAT, APFS and NTFS compare them.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
import unicodedata

__all__ = [
    "name_key",
    "digest",
    "copy_to_temp",
    "symlink_to_temp",
    "claim",
    "move_new",
    "remove_temp",
    "fsync_dir",
    "OutputLock",
    "LockHeld",
    "LOCK",
    "TEMP_PREFIX",
]

LOCK = ".tfcluster-lock"
TEMP_PREFIX = ".tfcluster-tmp-"
_CHUNK = 1 << 20
# errors of os.link meaning "this file system has no hard links" (not "name taken")
_NO_HARDLINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.ENOSYS}


def name_key(name: str) -> str:
    """``name`` as case-insensitive file systems compare it: NFC, case-folded, NFC again."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def digest(path: str) -> tuple[int, str]:
    """``(size in bytes, sha256 hex)`` of the file ``path``."""
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def fsync_dir(path: str) -> None:
    """Make the entries of folder ``path`` durable (where the platform allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_temp(path) -> None:
    """Remove a temporary file of ours, if it is still there."""
    if path is not None:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def copy_to_temp(source: str, folder: str) -> tuple[str, int, str]:
    """Copy ``source`` to a new hidden temporary file in ``folder``, synced to disk.

    Args:
        source: the file to copy.
        folder: where the temporary file goes (the final name's folder).

    Returns:
        ``(temporary path, size, sha256 hex)`` of the bytes written.
    """
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    h, size = hashlib.sha256(), 0
    try:
        with open(source, "rb") as f:
            while chunk := f.read(_CHUNK):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
                h.update(chunk)
                size += len(chunk)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        remove_temp(tmp)
        raise
    os.close(fd)
    with contextlib.suppress(OSError):
        shutil.copystat(source, tmp)  # times and mode, as a copy2
    return tmp, size, h.hexdigest()


def symlink_to_temp(target: str, folder: str) -> str:
    """A new symbolic link to ``target`` at a hidden temporary name in ``folder``."""
    for _ in range(100):
        tmp = os.path.join(folder, f"{TEMP_PREFIX}{os.urandom(6).hex()}")
        try:
            os.symlink(target, tmp)
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder!r}")


def _reserve(final: str) -> None:
    """Create ``final`` empty with ``O_EXCL``: the name is ours (FileExistsError if taken)."""
    os.close(os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def claim(tmp: str, final: str, *, hardlinks: bool = True) -> None:
    """Give the finished temporary file ``tmp`` the name ``final``; never replace anything.

    Raises:
        FileExistsError: ``final`` (or a name equal to it on this disk) exists;
            ``tmp`` is left in place for the caller to retry or remove.
    """
    if hardlinks:
        try:
            os.link(tmp, final, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno not in _NO_HARDLINKS:
                raise
        else:
            os.remove(tmp)
            return
    _reserve(final)
    try:
        os.replace(tmp, final)
    except BaseException:
        remove_temp(final)  # our empty placeholder
        raise


def move_new(source: str, final: str, *, hardlinks: bool = True) -> None:
    """Move the file ``source`` to the new name ``final``; never replace anything.

    On one file system: a hard link then the removal of ``source`` (or an
    exclusive placeholder then a rename). Across file systems: a synced copy
    whose checksum is compared with the source's, claimed, then ``source``
    removed. If ``source`` cannot be removed (a read-only folder) the new
    name is removed again, so no duplicate is left.

    Raises:
        FileExistsError: ``final`` exists (nothing was changed).
        OSError: the move failed; ``source`` is still in place.
    """
    if hardlinks:
        try:
            os.link(source, final, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError as exc:
            if exc.errno == errno.EXDEV:
                return _move_across(source, final, hardlinks)
            if exc.errno not in _NO_HARDLINKS:
                raise
        else:
            _drop_source(source, final)
            return
    _reserve(final)
    try:
        os.rename(source, final)
    except OSError as exc:
        remove_temp(final)
        if exc.errno == errno.EXDEV:
            return _move_across(source, final, hardlinks)
        raise
    except BaseException:
        remove_temp(final)
        raise


def _move_across(source, final, hardlinks):
    before = digest(source)
    tmp, size, sha = copy_to_temp(source, os.path.dirname(final))
    if (size, sha) != before:
        remove_temp(tmp)
        raise OSError(errno.EIO, f"the copy of {source!r} differs from it; nothing was moved")
    try:
        claim(tmp, final, hardlinks=hardlinks)
    except BaseException:
        remove_temp(tmp)
        raise
    _drop_source(source, final)


def _drop_source(source, final):
    """Remove ``source`` now that ``final`` holds its bytes; on failure remove ``final``."""
    try:
        os.remove(source)
    except OSError as exc:
        os.remove(final)  # the source stays: take back the new name, leave no duplicate
        raise OSError(
            exc.errno, f"cannot remove {source!r} after moving it ({exc.strerror}); left in place"
        ) from None


class LockHeld(OSError):
    """Another tfcluster run holds the lock of the output folder."""


class OutputLock:
    """An exclusive lock on an output folder: the file ``LOCK`` in it.

    With ``fcntl`` (Linux, macOS) the lock is an ``flock`` on that file, so a
    run that was killed leaves no stale lock. Elsewhere the file is created
    with ``O_EXCL`` and a stale one must be removed by hand.

    Args:
        folder: the output folder (must exist).
    """

    def __init__(self, folder: str):
        self.path = os.path.join(folder, LOCK)
        self._fd = None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            LockHeld: another run holds it.
            OSError: the folder is not writable.
        """
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            fcntl = None
        for _ in range(10):
            if fcntl is None:  # pragma: no cover
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    raise LockHeld(self._held_message(stale_hint=True)) from None
            else:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise LockHeld(self._held_message(stale_hint=False)) from None
                try:
                    same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
                except FileNotFoundError:
                    same = False
                if not same:  # the holder removed the file as we opened it: try again
                    os.close(fd)
                    continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return
        raise LockHeld(self._held_message(stale_hint=False))  # pragma: no cover

    def _held_message(self, stale_hint: bool) -> str:
        try:
            with open(self.path, encoding="ascii", errors="replace") as f:
                pid = f.read().strip() or "?"
        except OSError:
            pid = "?"
        text = f"another tfcluster run (pid {pid}) is using {os.path.dirname(self.path)!r}"
        if stale_hint:  # pragma: no cover
            text += f"; if none is running, remove {self.path!r}"
        return text + "; wait for it to end or choose another --out."

    def release(self) -> None:
        """Remove the lock file and let go of the lock."""
        if self._fd is not None:
            remove_temp(self.path)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
