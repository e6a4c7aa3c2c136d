"""The ``tfcluster`` command: sort a folder of images into clusters, or run the demo.

Exit status: 0 on success, 2 on a usage error, 1 on a failure; errors are one
line on stderr, never a traceback (set ``TFCLUSTER_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import os
import sys

__all__ = ["main", "build_parser"]

_PROG = "tfcluster"


class _Usage(Exception):
    """Raised by the parser instead of printing usage and exiting."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (raised, reported by main)
        raise _Usage(f"{message} (see '{self.prog} --help')")


def _k(text: str):
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer >= 1 or 'auto', got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1 or 'auto', got {text!r}")
    return value


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def _weights(text: str):
    if text.lower() == "imagenet":
        return "imagenet"
    if text.lower() == "none":
        return None
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError(
            f"must be 'imagenet', 'none' or the path of a weights file; {text!r} is not a file"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tfcluster`` command."""
    parser = _Parser(
        prog=_PROG,
        description="Clustering with TensorFlow: sort a folder of images by content.",
    )
    from tfcluster import __version__

    parser.add_argument("--version", action="version", version=f"tfcluster {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{images,demo}", parser_class=_Parser)
    images = sub.add_parser(
        "images",
        help="sort the images of a folder into cluster folders",
        description=(
            "Embed every image under SRC with a MobileNetV2 backbone, cluster the features and "
            "write OUT/cluster_*/ with the images, OUT/assignments.csv and figures. No file is "
            "ever overwritten or deleted: a non-empty OUT needs --force, and a second run into "
            "OUT at the same time is refused (a lock file). SRC is never changed, except with "
            "--mode move, which is journalled and undone by 'tfcluster images --undo OUT'."
        ),
    )
    images.add_argument(
        "src", nargs="?", metavar="SRC", help="folder of images (searched recursively)"
    )
    images.add_argument("--out", metavar="OUT", help="output folder (required with SRC)")
    images.add_argument(
        "--undo", metavar="OUT",
        help=(
            "put every file that --mode move runs moved into OUT back where it was (from "
            "OUT's journal; nothing is overwritten); takes no SRC or other option"
        ),
    )  # fmt: skip
    images.add_argument(
        "--k", type=_k, default="auto", metavar="N|auto",
        help="number of clusters, or 'auto' to choose it (default: auto)",
    )  # fmt: skip
    images.add_argument(
        "--k-max", type=_int_at_least(2), default=None, metavar="N",
        help="largest k tried by --k auto (default: 10)",
    )  # fmt: skip
    images.add_argument(
        "--algorithm", choices=("kmeans", "gmm", "som", "spherical"), default="kmeans",
        help=(
            "kmeans (default), gmm (diagonal Gaussian mixture) or som (self-organizing map "
            "of k nodes trained as a batch map for 20 epochs: as accurate as online training "
            "on the digits, iris and wine, and --k auto runs up to twice as fast) or "
            "spherical (k-means by cosine similarity of the embeddings)"
        ),
    )  # fmt: skip
    images.add_argument(
        "--weights", type=_weights, default="imagenet", metavar="imagenet|none|PATH",
        help="backbone weights: imagenet (downloaded once, cached), none (random), or a file",
    )  # fmt: skip
    images.add_argument("--input-size", type=_int_at_least(32), default=224, metavar="PIXELS")
    images.add_argument("--batch-size", type=_int_at_least(1), default=64, metavar="N")
    images.add_argument(
        "--mode", choices=("copy", "symlink", "move"), default="copy",
        help="how images get into OUT (default: copy; move changes SRC)",
    )  # fmt: skip
    images.add_argument("--seed", type=_int_at_least(0), default=0, metavar="N")
    images.add_argument(
        "--force", action="store_true",
        help=(
            "use a non-empty OUT: every file there is kept, except that outputs tfcluster "
            "wrote and that are unchanged (CSV, figures, copies identical to the new ones) "
            "are replaced; new files whose name is taken get a free name"
        ),
    )  # fmt: skip
    images.add_argument(
        "--max-pixels", type=_int_at_least(0), default=None, metavar="N",
        help="skip images with more than N pixels, read from the header (default: "
        "50000000; 0: no limit)",
    )  # fmt: skip
    demo = sub.add_parser(
        "demo",
        help="a walk-through of the library on bundled data (offline, ~1-2 minutes)",
        description="Cluster the bundled digits as image files, a GMM on iris, a SOM on digits.",
    )
    demo.add_argument("--out", default="tfcluster-demo", metavar="DIR", help="figures folder")
    demo.add_argument("--force", action="store_true", help="reuse a non-empty DIR")
    return parser


def _run(args) -> None:
    if args.command == "images":
        from tfcluster.images._sort import DEFAULT_MAX_PIXELS, UsageError, run_images, undo_images

        if args.undo is not None:
            names = {"src": "SRC", "out": "--out", "k_max": "--k-max"}
            names["max_pixels"] = "--max-pixels"
            given = [flag for a, flag in names.items() if getattr(args, a) is not None]
            if given:
                raise UsageError(f"--undo OUT takes no SRC or other option; got {given[0]}.")
            undo_images(args.undo)
            return
        for name, value in (("SRC", args.src), ("--out", args.out)):
            if value is None:
                raise UsageError(f"the following argument is required: {name} (or --undo OUT).")
        if args.k_max is not None and args.k != "auto":
            raise UsageError("--k-max is only used with --k auto.")
        max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels
        run_images(
            args.src,
            args.out,
            k=args.k,
            k_max=args.k_max or 10,
            algorithm=args.algorithm,
            weights=args.weights,
            input_size=args.input_size,
            batch_size=args.batch_size,
            mode=args.mode,
            seed=args.seed,
            force=args.force,
            max_pixels=max_pixels or None,
        )
    else:
        from tfcluster._demo import run_demo

        run_demo(args.out, force=args.force)


def _fail(message: str, status: int) -> int:
    text = " ".join(str(message).split()) or "failed"
    print(f"{_PROG}: error: {text}", file=sys.stderr)
    return status


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    # no C++ log lines (corrupt files, cuInit): set before TensorFlow is imported, which
    # ``import tfcluster`` no longer does
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise _Usage(f"choose a command: images or demo (see '{_PROG} --help')")
    except _Usage as exc:
        return _fail(str(exc), 2)
    except SystemExit as exc:  # --help and --version (TensorFlow is not imported for them)
        return int(exc.code or 0)
    from tfcluster._quiet import quiet_python_loggers

    quiet_python_loggers()
    from tfcluster.images._sort import UsageError

    try:
        _run(args)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except KeyboardInterrupt:  # placing images reports its own count (SortStopped)
        return _fail("interrupted; files already written are complete, none is half-written", 1)
    except Exception as exc:
        if os.environ.get("TFCLUSTER_DEBUG"):
            raise
        kind = "" if isinstance(exc, (ValueError, OSError, RuntimeError)) else "unexpected "
        name = type(exc).__name__
        if name == "WeightsUnavailableError":
            return _fail(f"{exc} On the command line: --weights PATH or --weights none.", 1)
        return _fail(f"{kind}{name}: {exc}" if kind else str(exc) or name, 1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
