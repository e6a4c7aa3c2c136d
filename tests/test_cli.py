"""The tfcluster command: sorting a folder safely, exit codes, weights, modes, demo."""

import csv
import hashlib
import os
import shutil
import subprocess
import sys

import pytest
from _image_folder import make_image_folder, snapshot

from tfcluster.cli import main
from tfcluster.images._outputs import MANIFEST

FAST = ["--weights", "none", "--input-size", "32", "--batch-size", "16"]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("src")
    return str(root), make_image_folder(root)


def _digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _rows(out, name="assignments.csv"):
    with open(os.path.join(out, name), newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def _one_line_error(capsys):
    """The error line: exactly one, the last line of stderr, no traceback."""
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("tfcluster: error: ")]
    assert len(errors) == 1 and err[-1] == errors[0], err
    assert not any("Traceback" in line for line in err)
    return errors[0]


def test_sorts_every_valid_image_and_leaves_source_untouched(source, tmp_path, capsys):
    src, info = source
    before = snapshot(src)
    out = str(tmp_path / "out")
    assert main(["images", src, "--out", out, "--k", "4", *FAST]) == 0
    captured = capsys.readouterr()
    for rel in info["corrupt"]:
        assert f"skipped: {os.path.join(src, rel)}: " in captured.err
    assert snapshot(src) == before
    rows = _rows(out)
    assert rows[0] == ["path", "cluster", "distance", "output"]
    assert sorted(r[0] for r in rows[1:]) == sorted(info["valid"])
    placed = {}
    for path, cluster, distance, output in rows[1:]:
        assert output.startswith(f"cluster_{cluster}/") and float(distance) >= 0
        assert _digest(os.path.join(out, output)) == _digest(os.path.join(src, path))
        placed.setdefault(cluster, set()).add(info["valid"][path])
    assert sorted(len(g) for g in placed.values()) == [1, 1, 1, 1]  # colour groups kept whole
    files = [os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs]
    assert len([f for f in files if f.startswith("cluster_")]) == len(info["valid"])
    assert not [f for f in files if "tfcluster-tmp" in f]
    skipped = _rows(out, "skipped.csv")
    assert sorted(r[0] for r in skipped[1:]) == sorted(info["corrupt"])
    assert os.path.isfile(os.path.join(out, "examples.png"))

    # a second run into the same folder is refused and changes nothing
    written = snapshot(out)
    assert main(["images", src, "--out", out, "--k", "4", *FAST]) == 2
    assert "not empty" in _one_line_error(capsys)
    assert snapshot(out) == written


def test_force_keeps_every_file_and_replaces_only_unchanged_outputs(source, tmp_path, capsys):
    src, info = source
    out = tmp_path / "out"
    assert main(["images", src, "--out", str(out), "--k", "4", *FAST]) == 0
    first = snapshot(out)
    (out / "my notes.txt").write_text("mine")
    (out / "cluster_3" / "my photo.png").write_bytes(b"mine too")
    capsys.readouterr()
    assert main(["images", src, "--out", str(out), "--k", "2", "--force", *FAST]) == 0
    said = capsys.readouterr().out
    assert "--force: kept " in said and "assignments.csv" in said
    assert (out / "my notes.txt").read_text() == "mine"
    assert (out / "cluster_3" / "my photo.png").read_bytes() == b"mine too"
    now = snapshot(out)
    for rel, (data, _) in first.items():  # the first run's copies are all still there
        if rel.startswith("cluster_"):
            assert now[rel][0] == data, rel
    rows = _rows(out)  # replaced: it was tfcluster's and unchanged
    assert len(rows) == len(info["valid"]) + 1 and {r[1] for r in rows[1:]} == {"0", "1"}
    for path, _, _, output in rows[1:]:
        assert _digest(out / output) == _digest(os.path.join(src, path))
    # a foreign file where an output would go is kept; the output takes a free name
    other = tmp_path / "other"
    other.mkdir()
    (other / "assignments.csv").write_text("user data")
    assert main(["images", src, "--out", str(other), "--k", "2", "--force", *FAST]) == 0
    assert (other / "assignments.csv").read_text() == "user data"
    assert _rows(str(other), "assignments_1.csv")[0][0] == "path"
    assert (other / MANIFEST).is_file()
    capsys.readouterr()


def test_auto_k_writes_figures_and_symlink_mode(source, tmp_path):
    src, info = source
    out = str(tmp_path / "out")
    args = ["images", src, "--out", out, "--k", "auto", "--k-max", "5", "--mode", "symlink"]
    assert main([*args, *FAST]) == 0
    assert os.path.isfile(os.path.join(out, "k_scores.png"))
    rows = _rows(out)[1:]
    assert 2 <= len({r[1] for r in rows}) <= 5
    for path, _, _, output in rows:
        link = os.path.join(out, output)
        assert os.path.islink(link)
        assert os.path.samefile(link, os.path.join(src, path))


def test_move_mode_moves_and_nothing_else(source, tmp_path):
    src = str(tmp_path / "src")
    shutil.copytree(source[0], src)
    info = source[1]
    digests = {rel: _digest(os.path.join(src, rel)) for rel in info["valid"]}
    out = str(tmp_path / "out")
    assert main(["images", src, "--out", out, "--k", "3", "--mode", "move", *FAST]) == 0
    for path, _, _, output in _rows(out)[1:]:
        assert not os.path.exists(os.path.join(src, path))
        assert _digest(os.path.join(out, output)) == digests[path]
    for rel in info["corrupt"] + info["other"]:
        assert os.path.isfile(os.path.join(src, rel))  # skipped and other files stay


def test_weights_file_and_python_api_agree(source, tmp_path, capsys):
    import numpy as np

    from tfcluster.features import ImageEmbedder
    from tfcluster.kmeans import KMeans
    from tfcluster.pipeline import ImageClusterer

    src, _ = source
    embedder = ImageEmbedder(weights=None, input_size=32, random_state=5)
    weights = str(tmp_path / "mobilenet.weights.h5")
    embedder.model.save_weights(weights)
    outs = [str(tmp_path / name) for name in ("a", "b")]
    for out in outs:
        args = ["images", src, "--out", out, "--k", "3", "--weights", weights]
        assert main([*args, "--input-size", "32", "--seed", "7"]) == 0
    assert _rows(outs[0]) == _rows(outs[1])
    model = ImageClusterer(embedder, KMeans(3, n_init=3, random_state=7))
    with pytest.warns(UserWarning, match="skipped 2"):
        model.fit(src)
    rows = {r[0]: int(r[1]) for r in _rows(outs[0])[1:]}
    cli_labels = [rows[os.path.relpath(p, src).replace(os.sep, "/")] for p in model.paths_]
    np.testing.assert_array_equal(cli_labels, model.labels_)
    capsys.readouterr()


@pytest.mark.parametrize("algorithm", ["gmm", "som"])
def test_other_algorithms(source, tmp_path, algorithm, capsys):
    src, info = source
    out = str(tmp_path / algorithm)
    assert main(["images", src, "--out", out, "--k", "4", "--algorithm", algorithm, *FAST]) == 0
    rows = _rows(out)
    assert rows[0][2] == ("probability" if algorithm == "gmm" else "distance")
    assert len(rows) == len(info["valid"]) + 1
    capsys.readouterr()


@pytest.mark.parametrize(
    "args, match",
    [
        ([], "choose a command"),
        (["images", "SRC"], "--out"),
        (["images", "SRC", "--out", "OUT", "--k", "0"], "--k"),
        (["images", "SRC", "--out", "OUT", "--k", "many"], "--k"),
        (["images", "SRC", "--out", "OUT", "--algorithm", "dbscan"], "--algorithm"),
        (["images", "SRC", "--out", "OUT", "--weights", "/no/such.h5"], "not a file"),
        (["images", "SRC", "--out", "OUT", "--input-size", "16"], ">= 32"),
        (["images", "SRC", "--out", "OUT", "--mode", "delete"], "--mode"),
        (["images", "SRC", "--out", "OUT", "--k", "3", "--k-max", "5"], "--k auto"),
        (["images", "MISSING", "--out", "OUT"], "does not exist"),
        (["images", "SRC", "--out", "SRC"], "another folder"),
        (["images", "SRC", "--out", "FILE"], "not a folder"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(source, tmp_path, capsys, args, match):
    (tmp_path / "file").write_text("x")
    names = {"SRC": source[0], "OUT": str(tmp_path / "o"), "FILE": str(tmp_path / "file")}
    names["MISSING"] = str(tmp_path / "missing")
    assert main([names.get(a, a) for a in args]) == 2
    assert match in _one_line_error(capsys)
    assert not (tmp_path / "o").exists()


def test_failures_exit_1(tmp_path, capsys, monkeypatch):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.png").write_bytes(b"junk")
    assert main(["images", str(bad), "--out", str(tmp_path / "o1"), *FAST]) == 1
    assert "could be decoded" in _one_line_error(capsys)
    from keras.src.applications import mobilenet_v2

    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: [Errno -2] Name or service not known")

    monkeypatch.setattr(mobilenet_v2.file_utils, "get_file", offline)
    good = tmp_path / "good"
    good.mkdir()
    make_image_folder(good)
    assert main(["images", str(good), "--out", str(tmp_path / "o2"), "--input-size", "32"]) == 1
    assert "--weights none" in _one_line_error(capsys)
    # a --k the images cannot support is the user's to change: a usage error
    assert main(["images", str(good), "--out", str(tmp_path / "o3"), "--k", "99", *FAST]) == 2
    assert "more than the 20 images" in _one_line_error(capsys)


def test_module_entry_point_usage_error():
    run = subprocess.run(
        [sys.executable, "-m", "tfcluster", "images", "--k", "3"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines()[-1].startswith("tfcluster: error: ")
    assert "Traceback" not in run.stderr


def test_demo_refuses_a_non_empty_folder(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert main(["demo", "--out", str(tmp_path)]) == 2
    assert "not empty" in _one_line_error(capsys)
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_demo_runs_offline(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    for name in (
        "digits_pixels_silhouette.png",
        "iris_gmm_contours.png",
        "digits_som_umatrix.png",
    ):
        assert (out / name).is_file()
    assert (out / "sorted" / "k_scores.png").is_file()
    assert "ARI=" in text and "NMI=" in text


def test_force_never_follows_a_manifest_out_of_the_folder(source, tmp_path, capsys):
    import json

    src, _ = source
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "also.txt").write_text("precious too")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(tmp_path / "linked", out / "escape")  # a folder link leading out of OUT
    entries = {"../victim.txt": "copy", str(victim): "output", "escape/also.txt": "copy"}
    (out / MANIFEST).write_text(json.dumps({"files": entries}))
    assert main(["images", src, "--out", str(out), "--k", "2", "--force", *FAST]) == 0
    assert victim.read_text() == "precious"
    assert (tmp_path / "linked" / "also.txt").read_text() == "precious too"
    capsys.readouterr()


def test_help_says_how_the_som_is_trained(capsys):
    from tfcluster.images._sort import make_clusterer

    assert main(["images", "--help"]) == 0
    assert "batch map for 20 epochs" in " ".join(capsys.readouterr().out.split())
    som = make_clusterer("som", 6, 0)
    assert (som.m, som.n, som.mode, som.epochs, som.sigma) == (2, 3, "batch", 20, 1.0)


def test_import_prints_no_tensorflow_start_up_lines():
    """TensorFlow's C++ start-up lines (oneDNN, CUDA drivers, CPU features) stay off
    the terminal: ``import tfcluster`` and a fit print nothing on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TFCLUSTER"))}
    code = "import numpy as np, tfcluster; tfcluster.KMeans(2).fit(np.random.rand(20, 3))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    shown = subprocess.run(
        [sys.executable, "-c", "import tfcluster"],
        env={**env, "TFCLUSTER_TF_LOGS": "1"},
        capture_output=True,
        text=True,
    )
    assert shown.returncode == 0  # the escape hatch imports as usual


# A quiet terminal (issue 14) ---------------------------------------------------------

# TensorFlow's C++ (absl) log lines ("I0000 00:00:...", "E0000 ... cuInit"), absl's
# "All log messages before absl::InitializeLog()", its Python loggers, libjpeg's lines.
_TF_LINE = (
    r"^([IWEF]\d{4} \d\d:\d\d|WARNING: All log messages before absl|WARNING:(tensorflow|absl)"
    r"|.*(cuInit|cuda|oneDNN|cpu_feature_guard|TF_ENABLE_ONEDNN|rebuild TensorFlow)"
    r"|Improper call to JPEG library)"
)


def _clean_env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "TFCLUSTER"))}


def test_help_and_version_are_instant_and_import_no_tensorflow():
    import time

    env = _clean_env()
    for flag, text in (("--help", "images"), ("--version", "tfcluster ")):
        start = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "tfcluster", flag],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        elapsed = time.perf_counter() - start
        assert run.returncode == 0 and text in run.stdout and run.stderr == ""
        assert elapsed < 5, f"tfcluster {flag} took {elapsed:.1f} s"
    code = (
        "import sys; from tfcluster.cli import main; main(['--help']); main(['--version']); "
        "import tfcluster; tfcluster.__version__; "
        "print('TensorFlow imported:', 'tensorflow' in sys.modules, file=sys.stderr)"
    )
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.stderr.strip() == "TensorFlow imported: False"


def test_images_prints_no_tensorflow_or_decoder_line(tmp_path):
    import re

    src, out = tmp_path / "src", tmp_path / "out"
    info = make_image_folder(src)
    run = subprocess.run(
        [sys.executable, "-m", "tfcluster", "images", str(src), "--out", str(out), "--k", "3",
         *FAST],
        env=_clean_env(),
        capture_output=True,
        text=True,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = (run.stdout + run.stderr).splitlines()
    assert [line for line in lines if re.match(_TF_LINE, line)] == []
    # stderr holds tfcluster's own lines only: one per skipped file
    assert sorted(run.stderr.splitlines()) == sorted(
        line for line in run.stderr.splitlines() if line.startswith("skipped: ")
    )
    assert len(run.stderr.splitlines()) == len(info["corrupt"])
    # libjpeg's own line about the truncated file goes with it to skipped.csv only
    skipped = dict(_rows(str(out), "skipped.csv")[1:])
    assert "Improper call to JPEG library" in skipped["truncated.jpg"]
    assert "Improper call to JPEG library" not in run.stderr
