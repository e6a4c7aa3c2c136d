"""A temporary folder of generated images for the image tests (not a test module).

Three colour groups (red, green, blue), as PNG, JPEG, BMP and GIF, RGB, grey
and RGBA, in nested folders with spaces and non-ASCII names; plus a corrupt
image and a text file.
"""

import io
import os

import numpy as np
from PIL import Image

# A small, seeded, offline MobileNetV2: fast enough for the tests.
SMALL = {"weights": None, "input_size": 32, "alpha": 0.35, "random_state": 0}

GROUPS = {"red": (220, 20, 20), "green": (20, 200, 30), "blue": (20, 30, 220)}


def _colour_image(rgb, rng, size=(40, 48)):
    noise = rng.integers(-15, 16, (*size, 3))
    return np.clip(np.array(rgb)[None, None, :] + noise, 0, 255).astype(np.uint8)


def _save(path, array, fmt, mode=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = Image.fromarray(array)
    if mode is not None:
        image = image.convert(mode)
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    with open(path, "wb") as f:
        f.write(buf.getvalue())


def make_image_folder(root) -> dict:
    """Write the folder; returns ``{"valid": {rel: group}, "corrupt": [...], "other": [...]}``."""
    rng = np.random.default_rng(0)
    valid = {}
    layout = [
        ("{g} 1.png", "PNG", None),
        ("nested/{g}_2.jpg", "JPEG", None),
        ("nested/deeper dir/{g} é ü 3.PNG", "PNG", "RGBA"),
        ("ünïcode/{g}-4.jpeg", "JPEG", None),
        ("nested/{g}_5.bmp", "BMP", None),
        ("{g}_6.gif", "GIF", None),
    ]
    for group, rgb in GROUPS.items():
        for pattern, fmt, mode in layout:
            rel = pattern.format(g=group)
            _save(os.path.join(root, rel), _colour_image(rgb, rng), fmt, mode)
            valid[rel] = group
    grey = np.full((30, 30), 128, np.uint8) + rng.integers(0, 10, (30, 30)).astype(np.uint8)
    _save(os.path.join(root, "nested", "grey image.png"), grey, "PNG")
    _save(os.path.join(root, "grey photo.JPG"), grey, "JPEG")
    valid["nested/grey image.png"] = "grey"
    valid["grey photo.JPG"] = "grey"
    corrupt = ["nested/broken.png", "truncated.jpg"]
    with open(os.path.join(root, corrupt[0]), "wb") as f:
        f.write(b"this is not a PNG file")
    with open(os.path.join(root, "nested", "red_2.jpg"), "rb") as f:
        head = f.read()[:200]
    with open(os.path.join(root, corrupt[1]), "wb") as f:
        f.write(head)
    other = ["notes.txt", "nested/readme.md"]
    for rel in other:
        with open(os.path.join(root, rel), "w") as f:
            f.write("not an image")
    return {"valid": valid, "corrupt": corrupt, "other": other}


def snapshot(root) -> dict:
    """Every file under ``root`` -> (bytes, mtime_ns), to check a folder is untouched."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = (f.read(), os.stat(path).st_mtime_ns)
    return out


def make_photos(root, names, seed=0, size=(24, 28)) -> dict:
    """Small distinct photos at ``names`` (relative, "/"-separated; str or bytes) under ``root``.

    Each gets the colour of group ``i % 3`` plus its own noise, in the format
    its extension names. Returns ``{relative path (str): sha256 hex}``.
    """
    import hashlib

    rng = np.random.default_rng(seed)
    formats = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".gif": "GIF", ".webp": "WEBP"}
    colours = list(GROUPS.values())
    out = {}
    for i, name in enumerate(names):
        name = os.fsdecode(name)
        fmt = formats[os.path.splitext(name)[1].lower()]
        path = os.path.join(os.fspath(root), *name.split("/"))
        _save(path, _colour_image(colours[i % 3], rng, size), fmt)
        with open(path, "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out
