"""``tfcluster images`` never loses, overwrites or orphans a photo (issue 12).

Every case checks the checksum of every file before and after, and adds a row
to the table printed at the end (run with ``-s`` to see it): the files in SRC
and OUT before and after, and how many of the original pictures are still
somewhere in SRC or OUT.
"""

import csv
import errno
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest
from _image_folder import make_photos

from tfcluster.cli import main
from tfcluster.features import ImageEmbedder
from tfcluster.images import _fileops, _outputs
from tfcluster.images._journal import JOURNAL

FAST = ["--weights", "none", "--input-size", "32", "--batch-size", "16"]
WORKER = os.path.join(os.path.dirname(__file__), "_workers", "sort_worker.py")
_OWN = (_outputs.MANIFEST, JOURNAL, _fileops.LOCK)
TABLE = []


@pytest.fixture(scope="module", autouse=True)
def case_table():
    yield
    head = ("case", "SRC before", "SRC after", "OUT before", "OUT after", "pictures kept")
    rows = [head, *TABLE]
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(head))]
    print("\n\nissue 12 safety cases (files; OUT without tfcluster's bookkeeping files)")
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))


def files(root) -> dict:
    """``{relative path: sha256}`` of every file under ``root`` (links: ``-> target``).

    tfcluster's bookkeeping files (manifest, journal, lock) are left out.
    """
    out = {}
    for dirpath, dirnames, names in os.walk(root):
        for name in names + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if rel in _OWN:
                continue
            if os.path.islink(path):
                out[rel] = "-> " + os.readlink(path)
            else:
                with open(path, "rb") as f:
                    out[rel] = hashlib.sha256(f.read()).hexdigest()
    return out


def note(case, pictures, src, out, before):
    """Add a table row: ``before`` is ``(files(src), files(out))`` from before the run."""
    after = files(src), files(out) if os.path.isdir(out) else {}
    present = set(after[0].values()) | set(after[1].values())
    kept = sum(sha in present for sha in pictures.values())
    TABLE.append(
        (case, len(before[0]), len(after[0]), len(before[1]), len(after[1]),
         f"{kept}/{len(pictures)}")
    )  # fmt: skip
    assert kept == len(pictures), f"{case}: {len(pictures) - kept} pictures lost"
    return after


def once_in(pictures, *roots):
    """Assert each picture is in exactly one file of ``roots`` (after a move)."""
    counts = {}
    for root in roots:
        for sha in files(root).values():
            counts[sha] = counts.get(sha, 0) + 1
    for rel, sha in pictures.items():
        assert counts.get(sha, 0) == 1, f"{rel}: in {counts.get(sha, 0)} places"


def rows(out, name="assignments.csv"):
    with open(
        os.path.join(out, name), newline="", encoding="utf-8", errors="surrogateescape"
    ) as f:
        return list(csv.reader(f))


def error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("tfcluster: error: ") and "Traceback" not in "".join(err)
    return err[-1]


def no_embedding(monkeypatch):
    """Make embedding fail the test: the check must come before it."""

    def embed(self, images):
        raise AssertionError("embedding started before the output folder was checked")

    monkeypatch.setattr(ImageEmbedder, "embed", embed)


# ------------------------------------------------------------------ names


def test_case_colliding_names_from_two_folders(tmp_path, capsys):
    src, out = tmp_path / "card", tmp_path / "sorted"
    names = ["camera/IMG_0001.JPG", "phone/img_0001.jpg", "camera/Straße.png", "phone/STRASSE.png"]
    names += ["camera/e\u0301t\u00e9.png", "phone/\u00e9t\u00e9.png"]  # NFD and NFC spellings
    pictures = make_photos(src, names)
    before = files(src), {}
    assert main(["images", str(src), "--out", str(out), "--k", "1", "--mode", "move", *FAST]) == 0
    after = note("case-colliding names (move, k=1)", pictures, src, out, before)
    once_in(pictures, src, out)
    placed = [r[3] for r in rows(out)[1:]]
    assert len(placed) == len(names) == len({_fileops.name_key(p) for p in placed})
    assert sorted(after[1][p] for p in placed) == sorted(pictures.values())
    capsys.readouterr()


def test_a_disk_that_refuses_a_name_planning_missed(tmp_path, monkeypatch, capsys):
    """A case-insensitive disk simulated: planning compares names exactly (patched),
    the disk refuses any name equal case-folded; no photo may be replaced."""
    src, out = tmp_path / "card", tmp_path / "sorted"
    names = ["camera/IMG_0001.JPG", "phone/img_0001.jpg", "tablet/Img_0001.jpg"]
    pictures = make_photos(src, names)
    real_link, refused = os.link, []

    def case_insensitive_link(a, b, *, follow_symlinks=True):
        folder, name = os.path.split(b)
        if any(n.casefold() == name.casefold() for n in os.listdir(folder)):
            refused.append(name)
            raise FileExistsError(errno.EEXIST, "File exists", b)
        return real_link(a, b, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(_fileops, "name_key", lambda name: name)
    monkeypatch.setattr(os, "link", case_insensitive_link)
    before = files(src), {}
    args = ["images", str(src), "--out", str(out), "--k", "1", "--mode", "move", *FAST]
    assert main(args) == 0
    monkeypatch.undo()
    note("disk refuses a case-equal name (move)", pictures, src, out, before)
    once_in(pictures, src, out)
    assert refused  # the disk, not the planning, caught these
    placed = [r[3] for r in rows(out)[1:]]
    assert len({p.casefold() for p in placed}) == 3 and all(
        os.path.isfile(out / p) for p in placed
    )
    capsys.readouterr()


# ------------------------------------------------------------------ --force


def test_force_over_an_earlier_run_keeps_its_copies(tmp_path, capsys):
    lib = tmp_path / "lib"
    y2019, y2020 = tmp_path / "2019", tmp_path / "2020"
    old = make_photos(y2019, [f"IMG_{i:04d}.jpg" for i in range(6)], seed=1)
    new = make_photos(y2020, [f"IMG_{i:04d}.jpg" for i in range(6)], seed=2)  # same names
    assert main(["images", str(y2019), "--out", str(lib), "--k", "2", *FAST]) == 0
    shutil.rmtree(y2019)  # the user deletes the originals: lib/ holds the only copies
    before = files(y2020), files(lib)
    assert main(["images", str(y2020), "--out", str(lib), "--k", "2", "--force", *FAST]) == 0
    both = {**{f"2019/{k}": v for k, v in old.items()}, **{f"2020/{k}": v for k, v in new.items()}}
    note("--force over an earlier run's copies", both, y2020, lib, before)
    after = files(lib)
    for rel, sha in before[1].items():
        if rel.startswith("cluster_"):
            assert after[rel] == sha, rel  # every 2019 copy still there, unchanged
    assert sorted(after[r[3]] for r in rows(lib)[1:]) == sorted(new.values())
    assert "--force: kept" in capsys.readouterr().out


def test_force_never_replaces_an_edited_copy(tmp_path, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [f"p{i}.png" for i in range(6)])
    assert main(["images", str(src), "--out", str(out), "--k", "2", *FAST]) == 0
    edited = next(r[3] for r in rows(out)[1:])
    with open(out / edited, "ab") as f:
        f.write(b"the user's edit")
    before = files(src), files(out)
    assert main(["images", str(src), "--out", str(out), "--k", "2", "--force", *FAST]) == 0
    note("--force over a user-edited copy", pictures, src, out, before)
    after = files(out)
    assert after[edited] == before[1][edited]  # the edit is kept
    assert after[rows(out)[1][3]] == pictures["p0.png"] and rows(out)[1][3] != edited
    capsys.readouterr()


def test_force_sorting_one_cluster_into_its_output_loses_no_other(tmp_path, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [f"p{i}.png" for i in range(6)])
    assert main(["images", str(src), "--out", str(out), "--k", "2", *FAST]) == 0
    before = files(out / "cluster_0"), files(out)
    args = ["images", str(out / "cluster_0"), "--out", str(out), "--k", "1", "--force", *FAST]
    assert main(args) == 0
    note("--force: sort cluster_0 into its OUT", pictures, out / "cluster_0", out, before)
    after = files(out)
    assert all(after[rel] == sha for rel, sha in before[1].items() if rel.startswith("cluster_"))
    capsys.readouterr()


# ------------------------------------------------------------------ interrupted moves


def _run_worker(action, arg, argv, **kwargs):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cmd = [sys.executable, WORKER, action, str(arg), "--", *argv]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


@pytest.mark.parametrize(
    "action, arg",
    [("kill-after-record", 1),
     pytest.param("kill-after-record", 5, marks=pytest.mark.slow),  # 10 s each
     ("kill-after-move", 8),
     pytest.param("kill-at-outputs", 0, marks=pytest.mark.slow)],
)  # fmt: skip
def test_a_move_killed_at_any_point_can_be_undone(tmp_path, capsys, action, arg):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    names = [f"{d}/photo {i}.{e}" for i, (d, e) in enumerate([("a", "png"), ("b", "jpg")] * 6)]
    pictures = make_photos(src, names)
    start = files(src)
    args = ["images", str(src), "--out", str(out), "--k", "3", "--mode", "move", *FAST]
    proc = _run_worker(action, arg, args)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == -9, err.decode(errors="replace")[-2000:]
    killed = files(src), files(out)
    once_in(pictures, src, out)  # every picture exactly once in SRC or OUT
    moved = len(pictures) - len(killed[0])
    assert moved == {"kill-after-record": arg - 1, "kill-after-move": arg}.get(action, 12)
    if moved:  # a new run into OUT is refused until the move is undone, even with --force
        assert main([*args, "--force"]) == 2
        assert "--undo" in error_line(capsys)
        assert files(out) == killed[1] and files(src) == killed[0]
    assert main(["images", "--undo", str(out)]) == 0
    assert f"put back {moved} moved files" in capsys.readouterr().out
    note(f"move SIGKILLed ({action} {arg}), undo", pictures, src, out, (start, {}))
    assert files(src) == start  # byte for byte, under the same names
    assert main(["images", "--undo", str(out)]) == 0  # nothing left to do
    assert files(src) == start
    capsys.readouterr()


def test_two_concurrent_runs(tmp_path, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [f"p{i}.png" for i in range(8)])
    gate = tmp_path / "gate"
    gate.mkdir()
    args = ["images", str(src), "--out", str(out), "--k", "2", *FAST]
    proc = _run_worker("pause-after-plan", gate, args)
    deadline = time.monotonic() + 300
    while not (gate / "paused").exists():
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.1)
    before = files(src), files(out)
    assert main([*args, "--force"]) == 2  # the first run has chosen its names: refused
    assert "another tfcluster run" in error_line(capsys)
    assert files(out) == before[1]
    (gate / "go").touch()
    assert proc.wait(timeout=300) == 0
    note("second run while one is running", pictures, src, out, before)
    assert files(src) == before[0]
    placed = files(out)
    assert sorted(placed[r[3]] for r in rows(out)[1:]) == sorted(pictures.values())
    assert not os.path.exists(out / _fileops.LOCK)  # released


# ------------------------------------------------------------------ full disk


def test_full_disk_while_copying(tmp_path, monkeypatch, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [f"p{i}.png" for i in range(10)])
    real_copy, real_write, calls = _fileops.copy_to_temp, os.write, []

    def disk_fills(source, folder):  # the 5th copy writes half its bytes, then ENOSPC
        calls.append(source)
        if len(calls) < 5:
            return real_copy(source, folder)

        def short(fd, data):
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "write", short)
        try:
            return real_copy(source, folder)
        finally:
            monkeypatch.setattr(os, "write", real_write)

    monkeypatch.setattr(_fileops, "copy_to_temp", disk_fills)
    before = files(src), {}
    assert main(["images", str(src), "--out", str(out), "--k", "2", *FAST]) == 1
    line = error_line(capsys)
    assert "No space left on device" in line and "stopped after placing 4 of 10" in line
    after = note("disk full while copying", pictures, src, out, before)
    assert after[0] == before[0]
    assert len(after[1]) == 4 and set(after[1].values()) <= set(pictures.values())  # complete
    assert not any(_fileops.TEMP_PREFIX in rel for rel in after[1])


def test_full_disk_while_moving(tmp_path, monkeypatch, capsys):
    from tfcluster.images._journal import Journal

    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [f"p{i}.jpg" for i in range(10)])
    start = files(src)
    real, calls = Journal._write, []

    def fills(self, record):
        calls.append(1)
        if len(calls) > 7:  # the run record and 6 moves fit
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, record)

    monkeypatch.setattr(Journal, "_write", fills)
    args = ["images", str(src), "--out", str(out), "--k", "2", "--mode", "move", *FAST]
    assert main(args) == 1
    monkeypatch.undo()
    line = error_line(capsys)
    assert "stopped after moving 6 of 10 files" in line and f"--undo {out}" in line
    once_in(pictures, src, out)
    assert main(["images", "--undo", str(out)]) == 0
    note("disk full while moving, undo", pictures, src, out, (start, {}))
    assert files(src) == start
    capsys.readouterr()


# ------------------------------------------------------------------ odd sources


def test_a_name_that_is_not_utf8(tmp_path, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [b"caf\xe9.jpg", "plain.png", "other.png"])
    start = files(src)
    args = ["images", str(src), "--out", str(out), "--k", "1", "--mode", "move", *FAST]
    assert main(args) == 0
    once_in(pictures, src, out)
    with open(out / "assignments.csv", "rb") as f:
        assert b"caf\xe9.jpg" in f.read()  # the exact bytes (surrogateescape)
    table = {r[0]: r[3] for r in rows(out)[1:]}
    assert files(out)[table[os.fsdecode(b"caf\xe9.jpg")]] == pictures[os.fsdecode(b"caf\xe9.jpg")]
    assert main(["images", "--undo", str(out)]) == 0
    note("non-UTF-8 name (move, undo)", pictures, src, out, (start, {}))
    assert files(src) == start
    capsys.readouterr()


def test_dangling_and_relative_links(tmp_path, capsys):
    src, out, elsewhere = tmp_path / "photos", tmp_path / "sorted", tmp_path / "elsewhere"
    pictures = make_photos(src, ["a.png", "b.png", "c.png"])
    linked = make_photos(elsewhere, ["linked.png"], seed=3)
    os.symlink(tmp_path / "gone.jpg", src / "gone.jpg")
    os.symlink(os.path.relpath(elsewhere / "linked.png", src), src / "rel.png")
    before = files(src), {}
    copied = tmp_path / "copied"
    assert main(["images", str(src), "--out", str(copied), "--k", "1", *FAST]) == 0
    note("dangling + relative link (copy)", pictures, src, copied, before)
    assert files(src) == before[0]
    skipped = {r[0]: r[1] for r in rows(copied, "skipped.csv")[1:]}
    assert list(skipped) == ["gone.jpg"] and "does not exist" in skipped["gone.jpg"]
    wanted = sorted([*pictures.values(), *linked.values()])
    assert sorted(files(copied)[r[3]] for r in rows(copied)[1:]) == wanted  # the link's file
    assert main(["images", str(src), "--out", str(out), "--k", "1", "--mode", "move", *FAST]) == 0
    after = note("dangling + relative link (move)", pictures, src, out, before)
    once_in(pictures, src, out)
    skipped = {r[0]: r[1] for r in rows(out, "skipped.csv")[1:]}
    assert "does not exist" in skipped["gone.jpg"] and "symbolic link" in skipped["rel.png"]
    assert after[0] == {k: v for k, v in before[0].items() if k.startswith(("gone", "rel"))}
    assert os.path.isfile(src / "rel.png")  # not moved: still leads to its file
    capsys.readouterr()


def test_an_earlier_output_inside_src_is_not_sorted_again(tmp_path, capsys):
    src = tmp_path / "photos"
    pictures = make_photos(src, [f"p{i}.png" for i in range(6)])
    assert main(["images", str(src), "--out", str(src / "sorted"), "--k", "2", *FAST]) == 0
    out = tmp_path / "again"
    before = files(src), {}
    assert main(["images", str(src), "--out", str(out), "--k", "2", *FAST]) == 0
    note("earlier output inside SRC", pictures, src, out, before)
    assert sorted(r[0] for r in rows(out)[1:]) == sorted(pictures)
    assert files(src) == before[0]
    assert "passed over 1 earlier tfcluster outputs" in capsys.readouterr().out


def test_webp_and_the_pixel_limit(tmp_path, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, ["a.webp", "b.png", "c.jpg"])
    pictures.update(make_photos(src, ["big.png"], size=(1200, 1000)))
    before = files(src), {}
    args = ["images", str(src), "--out", str(out), "--k", "1", "--max-pixels", "1000000"]
    assert main([*args, *FAST]) == 0
    note("webp + image over --max-pixels", pictures, src, out, before)
    assert sorted(r[0] for r in rows(out)[1:]) == ["a.webp", "b.png", "c.jpg"]
    (reason,) = [r[1] for r in rows(out, "skipped.csv")[1:] if r[0] == "big.png"]
    assert "1000x1200 pixels (1.2 MP) is over the limit of 1 MP" in reason
    capsys.readouterr()


def test_examples_figure_labels_real_cluster_sizes(tmp_path, monkeypatch, capsys):
    from tfcluster import plot

    src, out = tmp_path / "photos", tmp_path / "sorted"
    make_photos(src, [f"p{i:02d}.png" for i in range(21)])
    grids, real = [], plot.image_grid
    monkeypatch.setattr(
        plot, "image_grid", lambda *a, **k: grids.append(real(*a, **k)) or grids[-1]
    )
    assert main(["images", str(src), "--out", str(out), "--k", "2", *FAST]) == 0
    sizes = {}
    for r in rows(out)[1:]:
        sizes[r[1]] = sizes.get(r[1], 0) + 1
    assert max(sizes.values()) > 6  # more than the thumbnails of a row
    labels = [t.get_text() for t in grids[0].get_yticklabels()]
    assert labels == [f"{c} ({n})" for c, n in sorted(sizes.items())]
    capsys.readouterr()


# ------------------------------------------------------------------ unusable OUT or SRC


def test_read_only_out_is_found_before_embedding(tmp_path, monkeypatch, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, ["a.png", "b.png"])
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    before = files(src), files(out)
    no_embedding(monkeypatch)
    if os.geteuid() == 0:  # root writes through chmod: a read-only disk simulated instead
        real_open, real_mkdir, prefix = os.open, os.mkdir, str(out) + os.sep

        def refuse(path, *args, **kwargs):
            if os.fspath(path).startswith(prefix):
                raise OSError(errno.EROFS, "Read-only file system", path)

        monkeypatch.setattr(os, "open", lambda p, *a, **k: refuse(p) or real_open(p, *a, **k))
        monkeypatch.setattr(os, "mkdir", lambda p, *a, **k: refuse(p) or real_mkdir(p, *a, **k))
    else:
        out.chmod(0o555)
    try:
        assert main(["images", str(src), "--out", str(out), "--force", *FAST]) == 2
    finally:
        out.chmod(0o755)
        monkeypatch.undo()
    line = error_line(capsys)
    assert f"output folder {str(out)!r} is not writable" in line
    assert _fileops.TEMP_PREFIX not in line and _fileops.LOCK not in line
    note("read-only OUT", pictures, src, out, before)
    assert files(out) == before[1] and files(src) == before[0]


@pytest.mark.parametrize("problem", ["no space", "no symlinks"])
def test_out_without_space_or_symlinks_is_found_before_embedding(
    tmp_path, monkeypatch, capsys, problem
):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, ["a.png", "b.png"])
    no_embedding(monkeypatch)
    mode = "copy"
    if problem == "no space":
        usage = shutil.disk_usage(tmp_path)
        monkeypatch.setattr(_outputs.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    else:
        mode = "symlink"

        def no_links(target, folder):
            raise OSError(errno.EPERM, "Operation not permitted")

        monkeypatch.setattr(_fileops, "symlink_to_temp", no_links)
    before = files(src), {}
    assert main(["images", str(src), "--out", str(out), "--mode", mode, *FAST]) == 2
    line = error_line(capsys)
    assert repr(str(out)) in line
    assert ("not enough free space" if problem == "no space" else "symbolic links") in line
    note(f"OUT with {problem}", pictures, src, out, before)
    assert not out.exists()  # created for the check, removed again


def test_move_from_a_read_only_source_leaves_no_duplicate(tmp_path, monkeypatch, capsys):
    src, out = tmp_path / "photos", tmp_path / "sorted"
    pictures = make_photos(src, [f"p{i}.png" for i in range(6)])
    before = files(src), {}
    args = ["images", str(src), "--out", str(out), "--k", "1", "--mode", "move", *FAST]
    # found before anything is done where the platform says so (os.access) ...
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m, **k: False if p == str(src) else real_access(p, m, **k)
    )
    assert main(args) == 2 and "read-only folder" in error_line(capsys)
    assert files(src) == before[0] and not out.exists()
    monkeypatch.undo()
    # ... and when a source cannot be removed after all, its new name is taken back
    real_remove = os.remove

    def read_only(path, *a, **k):
        if os.fspath(path).startswith(str(src)):
            raise PermissionError(errno.EACCES, "Permission denied", path)
        return real_remove(path, *a, **k)

    monkeypatch.setattr(os, "remove", read_only)
    assert main(args) == 1
    monkeypatch.undo()
    assert "stopped after moving 0 of 6" in error_line(capsys)
    note("move from a read-only SRC", pictures, src, out, before)
    once_in(pictures, src, out)
    assert files(src) == before[0]
