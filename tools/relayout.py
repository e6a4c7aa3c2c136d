#!/usr/bin/env python
"""Move tfcluster's flat modules into family folders and rewrite the imports (issue 15).

Usage (from the repository root, or anywhere inside the checkout):

    python tools/relayout.py move      # only ``git mv`` (commit this alone: a pure rename)
    python tools/relayout.py rewrite   # package __init__ files, import paths, ruff --fix/format
    python tools/relayout.py           # both
    python tools/relayout.py check     # list what is left to do; exit 1 if anything is

Idempotent: a move whose source is gone and whose target exists is skipped, a
rewritten path is not rewritten again. If both the old and the new file exist
(a merge that did not follow a rename), nothing is moved and the pair is
reported: merge the old file's changes into the new one by hand, then
``git rm`` the old one and run again.

Rewrites: the dotted module paths (``tfcluster._minibatch`` ->
``tfcluster.cluster._minibatch``, in ``from``/``import`` lines, strings and
prose) and the file paths (``tfcluster/_minibatch.py``) in the package, tests,
benchmarks, examples, docs and README. The public module paths users import
(``tfcluster.kmeans``, ``tfcluster.features``, ``tfcluster.pipeline``, ...)
are rewritten inside the package only; elsewhere they stay, and
``tfcluster._compat`` keeps them importable as aliases of the new modules.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# old file -> new file (relative to the repository root)
MOVES = [
    # cluster/: Lloyd, mini-batch, bisecting, spherical
    ("tfcluster/kmeans.py", "tfcluster/cluster/_kmeans.py"),
    ("tfcluster/_minibatch.py", "tfcluster/cluster/_minibatch.py"),
    ("tfcluster/bisecting.py", "tfcluster/cluster/_bisecting.py"),
    ("tfcluster/spherical.py", "tfcluster/cluster/_spherical.py"),
    # mixture/ (the package replaces the module tfcluster/mixture.py)
    ("tfcluster/mixture.py", "tfcluster/mixture/_gaussian_mixture.py"),
    ("tfcluster/_mixture_init.py", "tfcluster/mixture/_init.py"),
    ("tfcluster/_mixture_units.py", "tfcluster/mixture/_units.py"),
    ("tfcluster/bayesian_mixture.py", "tfcluster/mixture/_bayesian_mixture.py"),
    ("tfcluster/_bayesian_prior.py", "tfcluster/mixture/_bayesian_prior.py"),
    # som/ (the package replaces the module tfcluster/som.py)
    ("tfcluster/som.py", "tfcluster/som/_som.py"),
    ("tfcluster/_som_fit.py", "tfcluster/som/_fit.py"),
    ("tfcluster/_som_extras.py", "tfcluster/som/_extras.py"),
    # deep/: DEC
    ("tfcluster/_dec.py", "tfcluster/deep/_dec.py"),
    ("tfcluster/_dec_layer.py", "tfcluster/deep/_layer.py"),
    # keras/: the heads (tfcluster.layers stays their public home)
    ("tfcluster/_heads.py", "tfcluster/keras/_heads.py"),
    ("tfcluster/_heads_new.py", "tfcluster/keras/_variant_heads.py"),  # issue 16's, if present
    # images/: I/O, embedder, clusterer, the sorter and its file safety
    ("tfcluster/_image_io.py", "tfcluster/images/_io.py"),
    ("tfcluster/features.py", "tfcluster/images/_features.py"),
    ("tfcluster/pipeline.py", "tfcluster/images/_pipeline.py"),
    ("tfcluster/_sort.py", "tfcluster/images/_sort.py"),
    ("tfcluster/_sort_files.py", "tfcluster/images/_sort_files.py"),
    ("tfcluster/_fileops.py", "tfcluster/images/_fileops.py"),
    ("tfcluster/_journal.py", "tfcluster/images/_journal.py"),
    ("tfcluster/_outputs.py", "tfcluster/images/_outputs.py"),
    # _engine/: the data side of the driver and the checkpoints of the fit loop
    ("tfcluster/_driver.py", "tfcluster/_engine/driver.py"),
    ("tfcluster/_checkpoint.py", "tfcluster/_engine/checkpoint.py"),
]

# Old module paths that users may import: kept as aliases (tfcluster/_compat.py),
# so outside the package they are not rewritten.
PUBLIC_OLD = {
    "tfcluster.kmeans",
    "tfcluster.bisecting",
    "tfcluster.spherical",
    "tfcluster.mixture",
    "tfcluster.bayesian_mixture",
    "tfcluster.som",
    "tfcluster.features",
    "tfcluster.pipeline",
}

# Private names reached through a public module that is now a package.
ATTRIBUTE_RULES = [
    (
        r"(?<![\w.])tfcluster\.mixture\.(_(?!gaussian_mixture|init|units|bayesian)\w+)",
        r"tfcluster.mixture._gaussian_mixture.\1",
    ),
    (r"(?<![\w.])tfcluster\.som\.(_(?!som\b|fit\b|extras\b)\w+)", r"tfcluster.som._som.\1"),
]

PACKAGES = ("cluster", "mixture", "som", "deep", "keras", "images")
# the alias table names the old paths; the packages' __init__ import their own modules
NEVER_REWRITTEN = {"tfcluster/_compat.py", "tools/relayout.py"} | {
    f"tfcluster/{p}/__init__.py" for p in PACKAGES
}
TREES = ("tfcluster", "tests", "benchmarks", "examples", "docs", "tools")
SUFFIXES = {".py", ".md", ".rst", ".txt", ".toml", ".cfg"}
TOP_FILES = ("README.md", "pyproject.toml", "setup.cfg", "CHANGELOG.md")


def dotted(path: str) -> str:
    return path[: -len(".py")].replace("/", ".")


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def move() -> list[str]:
    """``git mv`` every file of MOVES that is still at its old place; returns the problems."""
    problems = []
    for old, new in MOVES:
        src, dst = ROOT / old, ROOT / new
        if src.exists() and dst.exists():
            problems.append(f"both {old} and {new} exist: merge by hand, git rm {old}, run again")
        elif src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            git("mv", old, new)
            print(f"moved {old} -> {new}")
    return problems


def rules(inside_package: bool) -> list[tuple[re.Pattern, str]]:
    out = []
    for old, new in MOVES:
        old_mod, new_mod = dotted(old), dotted(new)
        if old_mod in PUBLIC_OLD and not inside_package:
            continue
        # tfcluster.mixture -> tfcluster.mixture._gaussian_mixture must not match its result
        tail = r"(?!\w)"
        if new_mod.startswith(old_mod + "."):  # and not ``from tfcluster.som import _fit``
            inside = [dotted(n) for _, n in MOVES if dotted(n).startswith(old_mod + ".")]
            leaves = [name.rsplit(".", 1)[1] for name in inside]
            tail = r"(?![\w.])(?! import (?:" + "|".join(leaves) + r")\b)"
        out.append((re.compile(r"(?<![\w.])" + re.escape(old_mod) + tail), new_mod))
        out.append((re.compile(r"(?<![\w/])" + re.escape(old) + r"(?!\w)"), new))
    if not inside_package:
        out += [(re.compile(p), r) for p, r in ATTRIBUTE_RULES]
    return out


_FROM_PACKAGE = re.compile(
    r"^(?P<indent>[ \t]*)from tfcluster import (?P<names>[\w ,]+?)[ \t]*$", re.M
)


def _from_package(match: re.Match) -> str:
    """``from tfcluster import _sort, _fileops as fo``: moved modules imported from their
    new package (a module renamed keeps its local name: ``from tfcluster.som import _fit
    as _som_fit``); the other names stay."""
    moved = {dotted(old)[len("tfcluster.") :]: dotted(new) for old, new in MOVES}
    groups: dict[str, list[str]] = {}
    for item in match["names"].split(","):
        name, _, alias = (part.strip() for part in item.strip().partition(" as "))
        if name in moved:
            parent, leaf = moved[name].rsplit(".", 1)
        else:
            parent, leaf = "tfcluster", name
        local = alias or name
        groups.setdefault(parent, []).append(leaf if local == leaf else f"{leaf} as {local}")
    if list(groups) == ["tfcluster"]:
        return match[0]
    return "\n".join(
        f"{match['indent']}from {parent} import {', '.join(names)}"
        for parent, names in groups.items()
    )


def files():
    for tree in TREES:
        base = ROOT / tree
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.suffix in SUFFIXES and path.is_file():
                    yield path
    for name in TOP_FILES:
        if (ROOT / name).is_file():
            yield ROOT / name


def rewrite(apply: bool = True) -> list[Path]:
    changed = []
    package_rules, outside_rules = rules(True), rules(False)
    for path in files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in NEVER_REWRITTEN:
            continue
        text = path.read_text()
        new = text
        for pattern, repl in package_rules if rel.startswith("tfcluster/") else outside_rules:
            new = pattern.sub(repl, new)
        if path.suffix == ".py":
            new = _FROM_PACKAGE.sub(_from_package, new)
        if new != text:
            changed.append(path)
            if apply:
                path.write_text(new)
                print(f"rewrote {rel}")
    return changed


def missing_packages() -> list[str]:
    return [p for p in PACKAGES if not (ROOT / "tfcluster" / p / "__init__.py").exists()]


def tidy(paths: list[Path]) -> None:
    py = [str(p) for p in paths if p.suffix == ".py"]
    if py and shutil.which("ruff"):
        fix = ["ruff", "check", "--no-cache", "--fix", "--select", "I", "-q"]
        subprocess.run([*fix, *py], cwd=ROOT)
        subprocess.run(["ruff", "format", "-q", *py], cwd=ROOT)


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else "all"
    if what not in {"move", "rewrite", "all", "check"}:
        print(__doc__)
        return 2
    if what == "check":
        left = [old for old, _ in MOVES if (ROOT / old).exists()]
        todo = rewrite(apply=False)
        for old in left:
            print(f"not moved: {old}")
        for path in todo:
            print(f"old import path in: {path.relative_to(ROOT)}")
        for pkg in missing_packages():
            print(f"no tfcluster/{pkg}/__init__.py (take it from branch issue15)")
        return 1 if left or todo or missing_packages() else 0
    problems = move() if what in {"move", "all"} else []
    if what in {"rewrite", "all"}:
        tidy(rewrite())
        for pkg in missing_packages():
            problems.append(f"no tfcluster/{pkg}/__init__.py (take it from branch issue15)")
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
