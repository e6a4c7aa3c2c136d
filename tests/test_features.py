"""ImageEmbedder: loading (folders, lists, arrays, Datasets), preprocessing, weights, errors."""

import os

import numpy as np
import pytest
import tensorflow as tf
from _image_folder import SMALL

from tfcluster.features import ImageEmbedder, WeightsUnavailableError, list_images


def _mean_backbone(size):
    """A backbone whose features are the mean of each channel: a hand-checkable oracle."""
    import keras

    inputs = keras.Input((size, size, 3))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))


def test_folder_finds_every_image_and_reports_corrupt(folder):
    root, info = folder
    found = sorted(os.path.relpath(p, root).replace(os.sep, "/") for p in list_images(root))
    assert found == sorted([*info["valid"], *info["corrupt"]])
    emb = ImageEmbedder(**SMALL)
    with pytest.warns(UserWarning, match="skipped 2 of 22 image files"):
        X = emb.embed(root)
    kept = [os.path.relpath(p, root).replace(os.sep, "/") for p in emb.paths_]
    assert sorted(kept) == sorted(info["valid"])
    assert X.shape == (len(info["valid"]), 1280) and X.dtype == np.float32
    skipped = {os.path.relpath(p, root).replace(os.sep, "/"): why for p, why in emb.skipped_}
    assert sorted(skipped) == sorted(info["corrupt"])
    assert "Unknown image file format" in skipped["nested/broken.png"]
    assert "JPEG" in skipped["truncated.jpg"]
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)


def test_paths_are_embedded_like_the_same_pixels_as_arrays(tmp_path):
    """PNG files (RGB, grey, RGBA), arrays and Datasets give the same features."""
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (2, 32, 32, 1), dtype=np.uint8)
    rgba = rng.integers(0, 256, (2, 32, 32, 4), dtype=np.uint8)
    paths = []
    for name, images in (("rgb", rgb), ("grey", grey), ("rgba", rgba)):
        for i, image in enumerate(images):
            paths.append(str(tmp_path / f"{name} {i}.png"))
            tf.io.write_file(paths[-1], tf.io.encode_png(image))
    as_rgb = np.concatenate([rgb, np.repeat(grey, 3, axis=-1), rgba[..., :3]]).astype(np.float32)
    emb = ImageEmbedder(**SMALL, normalize=False, batch_size=4)
    from_files = emb.embed(paths)
    assert emb.paths_ == paths and emb.skipped_ == []
    # oracle: the Keras model on preprocess_input(x) = x / 127.5 - 1, called directly
    direct = emb.model(as_rgb / 127.5 - 1.0, training=False).numpy()
    np.testing.assert_allclose(from_files, direct, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(emb.embed(as_rgb), direct, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(emb.embed(grey), direct[5:7], rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(emb.embed(grey[..., 0]), direct[5:7], rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(emb.embed(rgba), direct[7:], rtol=1e-4, atol=1e-9)
    unbatched = tf.data.Dataset.from_tensor_slices((as_rgb, np.arange(9)))
    np.testing.assert_allclose(emb.embed(unbatched), direct, rtol=1e-4, atol=1e-9)
    np.testing.assert_allclose(emb.embed(unbatched.batch(3)), direct, rtol=1e-4, atol=1e-9)
    assert emb.paths_ is None


def test_resize_grey_and_alpha_against_hand_computed_means():
    """A mean-pooling backbone: features are channel means of the resized RGB image."""
    images = np.zeros((2, 8, 8, 4), np.float32)
    images[0, ..., 0], images[0, ..., 1], images[0, ..., 2] = 10.0, 20.0, 30.0
    images[0, ..., 3] = 255.0  # alpha is dropped
    images[1, :4, ..., :3] = 200.0  # top half bright, bottom half dark
    emb = ImageEmbedder(_mean_backbone(8), normalize=False, input_size=32)
    np.testing.assert_allclose(emb.embed(images), [[10, 20, 30], [100, 100, 100]], atol=1e-4)
    grey = np.full((1, 5, 7), 42.0)  # resized from 5x7 to 8x8: a constant stays constant
    np.testing.assert_allclose(emb.embed(grey), [[42.0, 42.0, 42.0]], atol=1e-4)
    normed = ImageEmbedder(_mean_backbone(8), input_size=32).embed(images[:1])
    np.testing.assert_allclose(normed, [np.array([10, 20, 30]) / np.sqrt(1400)], rtol=1e-5)


def test_batch_size_does_not_change_features(folder, embedder):
    root, _ = folder
    with pytest.warns(UserWarning):
        xa = embedder.set_params(batch_size=3).embed(root)
    paths = embedder.paths_
    with pytest.warns(UserWarning):
        xb = embedder.set_params(batch_size=64).embed(root)
    assert embedder.paths_ == paths
    np.testing.assert_allclose(xa, xb, rtol=1e-4, atol=1e-6)


def test_weights_file_round_trip_and_seeds(tmp_path):
    images = np.random.default_rng(2).integers(0, 256, (4, 40, 40, 3))
    first = ImageEmbedder(**{**SMALL, "random_state": 1})
    expected = first.embed(images)
    path = str(tmp_path / "backbone.weights.h5")
    first.model.save_weights(path)
    reloaded = ImageEmbedder(weights=path, input_size=32, alpha=0.35)
    np.testing.assert_array_equal(reloaded.embed(images), expected)
    again = ImageEmbedder(**{**SMALL, "random_state": 1}).embed(images)
    np.testing.assert_array_equal(again, expected)  # same seed, same random weights
    other = ImageEmbedder(**{**SMALL, "random_state": 2}).embed(images)
    assert np.abs(other - expected).max() > 1e-3  # the file really mattered
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="could not load the weights file"):
        ImageEmbedder(weights=str(junk), input_size=32, alpha=0.35).model  # noqa: B018


def test_offline_imagenet_gives_a_clear_error(monkeypatch):
    """Keras raises a bare Exception when the download fails; we turn it into advice."""
    from keras.src.applications import mobilenet_v2

    def offline(fname, origin, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -2] Name or service")

    monkeypatch.setattr(mobilenet_v2.file_utils, "get_file", offline)
    with pytest.raises(WeightsUnavailableError, match="weights=None") as info:
        ImageEmbedder(input_size=32).embed(np.zeros((1, 32, 32, 3)))
    assert "Could not download the ImageNet weights" in str(info.value)
    assert "weights=<path to a weights file>" in str(info.value)


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"pooling": "mean"}, ValueError, "'avg', 'max'"),
        ({"backbone": "resnet"}, ValueError, "'mobilenet_v2'"),
        ({"input_size": 16}, ValueError, ">= 32"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"weights": "/no/such/file.h5"}, FileNotFoundError, "does not exist"),
        ({"weights": 3}, TypeError, "weights must be"),
        ({"progress": "yes"}, ValueError, "progress"),
    ],
)
def test_bad_parameters(params, error, match):
    with pytest.raises(error, match=match):
        ImageEmbedder(**{**SMALL, **params}).embed(np.zeros((1, 32, 32, 3)))


@pytest.mark.parametrize(
    "images, error, match",
    [
        (np.zeros((2, 32, 32, 5)), ValueError, "1, 2, 3 or 4 channels"),
        (np.zeros((32, 32)), ValueError, r"\[n, height, width, channels\]"),
        (np.zeros((0, 32, 32, 3)), ValueError, "empty"),
        (np.full((1, 32, 32, 3), np.nan), ValueError, "NaN"),
        (np.array([["a"]]), TypeError, "numbers"),
        ([], ValueError, "empty list"),
        (["/no/such/image.png"], FileNotFoundError, "does not exist"),
        (tf.data.Dataset.from_tensor_slices(np.zeros((2, 3))), ValueError, "Dataset of images"),
        (tf.data.Dataset.from_tensor_slices(["a.png"]), ValueError, "Dataset of images"),
    ],
)
def test_bad_images(embedder, images, error, match):
    with pytest.raises(error, match=match):
        embedder.embed(images)


def test_folders_without_images(tmp_path, embedder):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("text")
    with pytest.raises(ValueError, match="no image files"):
        embedder.embed(str(tmp_path / "empty"))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"junk")
    with pytest.raises(ValueError, match="none of the 1 image files"):
        embedder.embed(str(tmp_path / "bad"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_images(tmp_path / "missing")


def test_decoder_lines_are_kept_off_the_terminal_and_the_rest_is_not(capfd):
    from tfcluster.images._io import decoder_messages, short_reason

    with decoder_messages() as lines:
        os.write(2, b"Improper call to JPEG library in state 201\nsomething else\n")
    assert lines == ["Improper call to JPEG library in state 201"]
    assert capfd.readouterr().err == "something else\n"
    with pytest.raises(KeyboardInterrupt), decoder_messages() as lines:
        os.write(2, b"Premature end of JPEG file\nstill shown\n")
        raise KeyboardInterrupt
    assert lines == ["Premature end of JPEG file"]
    assert capfd.readouterr().err == "still shown\n"
    reason = "jpeg::Uncompress failed. (decoder: Improper call to JPEG library in state 201)"
    assert short_reason(reason) == "jpeg::Uncompress failed."
