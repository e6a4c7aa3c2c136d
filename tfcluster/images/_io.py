"""Finding and decoding image files, and the tf.data pipelines that feed a backbone.

Private helpers of ``tfcluster.images._features``: listing a folder, turning a folder, a
list of paths, an array or a ``tf.data.Dataset`` into batches of RGB float
images of one size, and finding out why a file could not be decoded.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import warnings

import numpy as np
import tensorflow as tf

from tfcluster._quiet import captured_stderr

__all__ = [
    "IMAGE_EXTENSIONS",
    "list_images",
    "scan_images",
    "is_image_path",
    "file_batches",
    "array_batches",
    "dataset_batches",
    "decode_failure",
    "decoder_messages",
    "short_reason",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
"""File extensions read as images (compared case-insensitively)."""


def is_image_path(path) -> bool:
    """True if ``path`` ends with one of ``IMAGE_EXTENSIONS``, in any case."""
    return os.fspath(path).lower().endswith(IMAGE_EXTENSIONS)


def list_images(folder, *, exclude=None) -> list[str]:
    """Every image file under ``folder``, searched recursively, sorted by path.

    Symbolic links that lead nowhere, unreadable files and folders holding a
    tfcluster output (a manifest) are left out; see ``scan_images``.

    Args:
        folder: a directory.
        exclude: a directory whose contents are left out (e.g. an output folder
            inside the source folder), or None.

    Returns:
        list of paths (str), in a stable sorted order.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        NotADirectoryError: ``folder`` is not a directory.
    """
    return scan_images(folder, exclude=exclude)[0]


def scan_images(folder, *, exclude=None, max_pixels=None):
    """The image files under ``folder``, and those that cannot be used, with the reason.

    Passed over: the folder ``exclude``, sub-folders holding a tfcluster
    manifest (an earlier output) and, in ``folder`` itself, the outputs its
    manifest lists (figures, CSV). Listed as skipped: symbolic links to
    nothing, files that are not regular or not readable, and images with
    more than ``max_pixels`` pixels (read from the file header, not decoded).

    Args:
        folder: a directory.
        exclude: a directory to leave out, or None.
        max_pixels: the largest width * height accepted, or None for no limit.

    Returns:
        ``(paths, skipped, passed_over)``: image paths sorted by path;
        ``[(path, reason)]``; the folders and files passed over.

    Raises:
        FileNotFoundError: ``folder`` does not exist.
        NotADirectoryError: ``folder`` is not a directory.
    """
    from tfcluster.images._outputs import MANIFEST, generated_files

    folder = os.fspath(folder)
    if not os.path.exists(folder):
        raise FileNotFoundError(f"image folder {folder!r} does not exist.")
    if not os.path.isdir(folder):
        raise NotADirectoryError(f"{folder!r} is not a folder.")
    skip = os.path.realpath(exclude) if exclude is not None else None
    ours = {os.path.join(folder, *rel.split("/")) for rel in generated_files(folder)}
    found, skipped, passed = [], [], sorted(ours)
    for root, dirs, files in os.walk(folder):
        keep = []
        for d in sorted(dirs):
            path = os.path.join(root, d)
            if os.path.realpath(path) == skip:
                continue
            if os.path.isfile(os.path.join(path, MANIFEST)):
                passed.append(path)
            else:
                keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            path = os.path.join(root, name)
            if not is_image_path(name) or path in ours:
                continue
            why = _unusable(path, max_pixels)
            if why:
                skipped.append((path, why))
            else:
                found.append(path)
    return found, skipped, passed


def _unusable(path: str, max_pixels) -> str | None:
    """Why the file ``path`` cannot be used as an image, known without decoding it."""
    if not os.path.exists(path):
        return "a symbolic link to a file that does not exist"
    if not os.path.isfile(path):
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    if max_pixels is not None:
        return _over_pixel_limit(path, max_pixels)
    return None


def _over_pixel_limit(path: str, max_pixels: int) -> str | None:
    """The reason if the header of ``path`` gives more than ``max_pixels`` pixels.

    The header is read with Pillow (a dependency of matplotlib) without
    decoding the pixels; a header Pillow cannot read passes (the decoder then
    reports the file).
    """
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - matplotlib requires Pillow
        return None
    limit = f"over the limit of {max_pixels / 1e6:g} MP (--max-pixels)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: we decide
        try:
            with Image.open(path) as image:
                w, h = image.size
        except Image.DecompressionBombError as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            n = int(found.group(1)) if found else Image.MAX_IMAGE_PIXELS * 2
            return f"{n / 1e6:.1f} MP is {limit}" if n > max_pixels else None
        except Exception:
            return None
    if w * h <= max_pixels:
        return None
    return f"{w}x{h} pixels ({w * h / 1e6:.1f} MP) is {limit}"


_TF_NOISE = re.compile(r"\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]")


# What the C image decoders (libjpeg, libpng) print straight to file descriptor 2
# about a damaged file: kept off the terminal, reported with the file instead.
_DECODER_LINES = re.compile(
    r"^(Improper call to JPEG library|Premature end of JPEG file|Corrupt JPEG data|"
    r"Not a JPEG file|Invalid JPEG file structure|Bogus |Unsupported JPEG|"
    r"Huffman table|Quantization table|JPEG datastream|Invalid SOS|Unsupported marker|"
    r"Warning: unknown JFIF|libpng (warning|error))"
)


_DECODER_NOTE = " (decoder: "


@contextlib.contextmanager
def decoder_messages():
    """Keep the decoders' own lines off the terminal for the block.

    Yields the list the decoder lines are appended to after the block; any
    other line written to file descriptor 2 meanwhile is written to
    ``sys.stderr`` again, unchanged.
    """
    found: list[str] = []
    captured = None
    try:
        with captured_stderr() as captured:
            yield found
    finally:  # also when the block raises: nothing else written meanwhile is lost
        for line in captured.lines() if captured is not None else ():
            if _DECODER_LINES.match(line):
                found.append(line.strip())
            else:
                print(line, file=sys.stderr)


def decode_failure(path: str) -> str | None:
    """Why ``path`` cannot be read as an image (one line), or None if it can.

    What the decoder printed about the file (libjpeg's "Improper call to JPEG
    library ...") is appended to the reason instead of reaching the terminal.
    """
    try:
        with open(path, "rb") as f:
            contents = f.read()
    except OSError as exc:
        return exc.strerror or str(exc)
    reason = None
    with decoder_messages() as lines:
        try:
            tf.io.decode_image(contents, channels=3, expand_animations=False)
        except (tf.errors.OpError, ValueError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            reason = _TF_NOISE.sub("", message).strip().splitlines()[0]
    if reason is not None and lines:
        reason += f"{_DECODER_NOTE}{'; '.join(dict.fromkeys(lines))})"
    return reason


def short_reason(reason: str) -> str:
    """``reason`` without the decoder's own lines (for the terminal; the full
    reason goes to skipped.csv)."""
    return reason.split(_DECODER_NOTE, 1)[0]


def _finish(images, size: int, preprocess):
    """uint8 or float RGB ``[..., h, w, 3]`` -> resized, preprocessed float32."""
    images = tf.image.resize(tf.cast(images, tf.float32), [size, size], antialias=True)
    return preprocess(tf.clip_by_value(images, 0.0, 255.0))


def to_rgb(images):
    """``[..., h, w, c]`` with ``c`` in 1 (grey), 2 (grey, alpha), 3, 4 (RGBA) -> RGB."""
    channels = images.shape[-1]
    if channels in (1, 2):
        return tf.image.grayscale_to_rgb(images[..., :1])
    if channels == 4:
        return images[..., :3]
    if channels == 3:
        return images
    raise ValueError(f"images must have 1, 2, 3 or 4 channels; got {channels}.")


def file_batches(paths: list[str], size: int, batch_size: int, preprocess) -> tf.data.Dataset:
    """Batches ``(index [b], images [b, size, size, 3])`` of the files that decode.

    Reading and decoding run in parallel; a file that fails is dropped (its
    index is missing from the output) without stopping the pipeline.
    """

    def load(index, path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image.set_shape([None, None, 3])
        return index, _finish(image, size, preprocess)

    encoded = [os.fsencode(p) for p in paths]
    ds = tf.data.Dataset.from_tensor_slices((tf.range(len(paths), dtype=tf.int64), encoded))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.ignore_errors()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def check_image_array(images) -> np.ndarray:
    """Validate an image array ``[n, h, w]`` or ``[n, h, w, c]`` (pixel values 0..255)."""
    if isinstance(images, (tf.Tensor, tf.Variable)):
        images = images.numpy()
    arr = np.asarray(images)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"images must be an array of numbers; got dtype {arr.dtype}.")
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(
            "images must be an array [n, height, width, channels] with 1, 2, 3 or 4 "
            f"channels (or [n, height, width] grey); got shape {arr.shape}."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"images is empty: shape {arr.shape}.")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("images contains NaN or infinity.")
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError(
            f"images has pixel values from {float(arr.min()):.4g} to {float(arr.max()):.4g}; "
            "pixel values must be in 0..255."
        )
    return arr


_PIXELS = "images must hold pixel values in 0..255 (no NaN or infinity)"
_NO_PIXELS = "images must be at least 1 pixel high and wide"


def _check_pixels(x):
    """``x`` after assertions that it has pixels, all in 0..255 (NaN fails the test)."""
    shape = tf.shape(x)
    checks = [
        tf.debugging.assert_positive(shape[-3] * shape[-2], message=_NO_PIXELS),
        tf.debugging.assert_equal(tf.reduce_all((x >= 0) & (x <= 255)), True, message=_PIXELS),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(x)


def dataset_error(exc: Exception):
    """The ValueError for an error raised by ``_check_pixels``, or None for another one."""
    message = getattr(exc, "message", "")
    known = [m for m in (_PIXELS, _NO_PIXELS) if m in message]
    return ValueError(f"Invalid image in the Dataset: {known[0]}.") if known else None


def array_batches(arr: np.ndarray, size: int, batch_size: int, preprocess) -> tf.data.Dataset:
    """Batches ``images [b, size, size, 3]`` of a checked image array."""
    ds = tf.data.Dataset.from_tensor_slices(arr).batch(batch_size)
    ds = ds.map(lambda x: _finish(to_rgb(x), size, preprocess), num_parallel_calls=2)
    return ds.prefetch(tf.data.AUTOTUNE)


def dataset_batches(ds: tf.data.Dataset, size: int, batch_size: int, preprocess):
    """Batches of a user Dataset of images ``[h, w, c]`` or batches ``[b, h, w, c]``.

    Elements may be tuples such as ``(image, label)``; the first item is used.
    """
    spec = ds.element_spec
    if isinstance(spec, (tuple, list)):
        spec = spec[0]
        ds = ds.map(lambda *element: element[0])
    elif isinstance(spec, dict):
        raise TypeError("a Dataset of images must yield tensors or tuples, not dicts.")
    if not isinstance(spec, tf.TensorSpec) or spec.shape.rank not in (3, 4):
        raise ValueError(
            "a Dataset of images must yield images [height, width, channels] or "
            f"batches [batch, height, width, channels]; got {spec}."
        )
    if spec.shape[-1] not in (1, 2, 3, 4):
        raise ValueError(f"images must have 1, 2, 3 or 4 channels; got element spec {spec}.")
    if spec.dtype == tf.string or not (spec.dtype.is_floating or spec.dtype.is_integer):
        raise TypeError(f"a Dataset of images must yield numbers; got dtype {spec.dtype.name}.")

    def finish(x):
        return _finish(to_rgb(_check_pixels(x)), size, preprocess)

    ds = ds.map(finish, num_parallel_calls=2)
    if spec.shape.rank == 3:
        ds = ds.batch(batch_size)
    return ds.prefetch(tf.data.AUTOTUNE)
