"""Image features from a pretrained backbone: files or arrays in, vectors out.

``ImageEmbedder`` reads a folder of images (or a list of paths, an array, a
``tf.data.Dataset``) through a tf.data pipeline, runs a Keras backbone
(MobileNetV2 by default) and returns one feature vector per image, ready for
any tfcluster estimator.
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import tensorflow as tf

from tfcluster._base import BaseEstimator, check_option, check_positive_int
from tfcluster._constraints import Int, OneOf, Options, Real
from tfcluster._engine import Program
from tfcluster.images import _io as io
from tfcluster.images._io import IMAGE_EXTENSIONS, list_images

__all__ = ["ImageEmbedder", "WeightsUnavailableError", "list_images", "IMAGE_EXTENSIONS"]


class WeightsUnavailableError(RuntimeError):
    """Pretrained weights could not be downloaded and none are cached."""


def _mobilenet_v2(input_size: int, pooling: str, weights, alpha: float):
    import keras

    return keras.applications.MobileNetV2(
        input_shape=(input_size, input_size, 3),
        alpha=alpha,
        include_top=False,
        pooling=pooling,
        weights=weights,
    )


def _mobilenet_v2_preprocess(x):
    import keras

    return keras.applications.mobilenet_v2.preprocess_input(x)


_BACKBONES = {"mobilenet_v2": (_mobilenet_v2, _mobilenet_v2_preprocess)}
_POOLINGS = {"avg": tf.reduce_mean, "max": tf.reduce_max}
_MIN_INPUT_SIZE = 32
_MAX_ALPHA = 1.4  # MobileNetV2's widest published width multiplier


def _check_weights(weights):
    """``"imagenet"``, None, or an existing file path (returned as str)."""
    if weights is None or weights == "imagenet":
        return weights
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"weights file {path!r} does not exist; weights must be 'imagenet', None "
                "or the path of a weights file (.h5 or .weights.h5)."
            )
        return path
    raise TypeError(
        f"weights must be 'imagenet', None or the path of a weights file; got {weights!r}."
    )


def _offline_message(backbone: str, exc: Exception) -> str:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return (
        f"Could not download the ImageNet weights of {backbone} and none are cached in "
        f"~/.keras/models ({reason}). Without internet, pass weights=<path to a weights "
        "file> (a .h5 / .weights.h5 file of this model, e.g. downloaded elsewhere and "
        "copied to ~/.keras/models), or weights=None for random, untrained features "
        "(much poorer clusters)."
    )


class ImageEmbedder(BaseEstimator):
    """Feature vectors of images from a Keras backbone, loaded with tf.data.

    Images are read in parallel, decoded (``tf.io.decode_image``; GIFs give
    their first frame), converted to RGB (grey replicated, alpha dropped),
    resized to ``input_size x input_size``, preprocessed as the backbone
    expects, batched and prefetched; the backbone runs compiled, batch by batch.

    Args:
        backbone: "mobilenet_v2" (``keras.applications.MobileNetV2`` without its
            classifier), or any ``keras.Model`` taking images
            ``[batch, h, w, 3]`` with pixel values 0..255 (it must do its own
            preprocessing); a 4-D output is pooled with ``pooling``.
        weights: "imagenet" (downloaded once by Keras and cached in
            ``~/.keras/models``), None (random initialisation), or the path of
            a weights file for the backbone (``.h5`` or ``.weights.h5``, e.g.
            written by ``model.save_weights``). Ignored for a ``keras.Model``.
        input_size: side of the square images fed to the backbone (>= 32).
        pooling: "avg" or "max" over the last feature map.
        batch_size: images per batch.
        alpha: MobileNetV2 width multiplier (ImageNet weights exist for 0.35,
            0.5, 0.75, 1.0, 1.3, 1.4).
        normalize: scale each feature vector to unit Euclidean length (then
            squared distances are ``2 - 2 * cosine``, the usual choice for
            clustering image embeddings).
        progress: True, False or "auto" (a progress bar on a terminal when
            more than 8 batches are to be read).
        random_state: int or None. With ``weights=None`` and an int, the random
            initialisation is made reproducible by calling
            ``keras.utils.set_random_seed(random_state)`` before building (this
            seeds Python's, NumPy's and TensorFlow's global generators).

    Attributes:
        model: the Keras model used (built on first use).
        paths_: after ``embed`` of files, the paths embedded, in output order
            (None after an array or Dataset).
        skipped_: after ``embed``, ``[(path, reason), ...]`` of image files that
            could not be decoded.

    Examples:
        >>> import numpy as np
        >>> from tfcluster.images._features import ImageEmbedder
        >>> images = np.random.default_rng(0).integers(0, 256, (3, 40, 40, 3))
        >>> emb = ImageEmbedder(weights=None, input_size=32, alpha=0.35)
        >>> emb.embed(images).shape
        (3, 1280)
    """

    _estimator_type = None  # a feature extractor, not a clusterer

    _constraints = {
        "input_size": Int(_MIN_INPUT_SIZE),
        "batch_size": Int(1),
        "pooling": Options(_POOLINGS),
        "alpha": Real(
            strict=True,
            maximum=_MAX_ALPHA,
            message="alpha is MobileNetV2's width multiplier, > 0 and at most {maximum} (ImageNet "
            "weights exist for 0.35, 0.5, 0.75, 1.0, 1.3, 1.4); got {value!r}.",
        ),
        "progress": OneOf(True, False, "auto"),
    }

    def __init__(
        self,
        backbone="mobilenet_v2",
        *,
        weights="imagenet",
        input_size=224,
        pooling="avg",
        batch_size=64,
        alpha=1.0,
        normalize=True,
        progress="auto",
        random_state=None,
    ):
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.pooling = pooling
        self.batch_size = batch_size
        self.alpha = alpha
        self.normalize = normalize
        self.progress = progress
        self.random_state = random_state

    # ------------------------------------------------------------ the model

    def _check_params(self) -> int:
        params = self._validate_params()
        if not self._is_keras_model(self.backbone):  # a name: its weights are checked too
            check_option("backbone", self.backbone, _BACKBONES)
            _check_weights(self.weights)
        return params.input_size

    @staticmethod
    def _is_keras_model(backbone) -> bool:
        import keras

        return isinstance(backbone, keras.Model)

    def _key(self):
        params = (self.weights, self.input_size, self.pooling, self.alpha, self.random_state)
        params += (bool(self.normalize),)
        return (id(self.backbone), *params)

    @property
    def model(self):
        """The Keras model that maps preprocessed images to features (built once)."""
        if getattr(self, "_built_key", None) != self._key():
            self._build()
        return self._model

    def _build(self):
        size = self._check_params()
        if self._is_keras_model(self.backbone):
            model, preprocess = self.backbone, tf.identity
            shape = model.input_shape
            if isinstance(shape, tuple) and None not in shape[1:3]:
                size = int(shape[1])
        else:
            build, preprocess = _BACKBONES[self.backbone]
            model = self._build_keras(build, size)
        self._model, self._preprocess, self._size = model, preprocess, size
        pool = _POOLINGS[self.pooling]
        normalize = bool(self.normalize)

        def forward(images):
            out = model(images, training=False)
            if out.shape.rank == 4:
                out = pool(out, axis=[1, 2])
            elif out.shape.rank != 2:
                out = tf.reshape(out, [tf.shape(out)[0], -1])
            out = tf.cast(out, tf.float32)
            if normalize:  # rescale first: random-weight features can be ~1e-6 in size
                out = out / tf.maximum(tf.reduce_max(tf.abs(out), axis=1, keepdims=True), 1e-30)
                out = tf.math.l2_normalize(out, axis=1)
            return out

        # One program per built model: every batch size reuses its one trace.
        self._forward = Program(forward, "embedder.forward", rows=(0,))
        self._built_key = self._key()

    def _build_keras(self, build, size):
        weights = _check_weights(self.weights)
        if weights == "imagenet":
            try:
                with warnings.catch_warnings():  # "weights for 224 will be loaded": fine
                    warnings.simplefilter("ignore", UserWarning)
                    return build(size, self.pooling, "imagenet", self.alpha)
            except ValueError:
                raise
            except Exception as exc:  # Keras raises a bare Exception on a failed fetch
                raise WeightsUnavailableError(_offline_message(self.backbone, exc)) from None
        if weights is None and self.random_state is not None:
            import keras

            keras.utils.set_random_seed(
                check_positive_int("random_state", self.random_state, minimum=0)
            )
        model = build(size, self.pooling, None, self.alpha)
        if weights is not None:
            try:
                with warnings.catch_warnings():  # Keras notes on nested containers: harmless
                    warnings.filterwarnings("ignore", "Skipping nested container", UserWarning)
                    model.load_weights(weights)
            except Exception as exc:
                raise ValueError(
                    f"could not load the weights file {weights!r} into {self.backbone} "
                    f"(alpha={self.alpha}): {str(exc).splitlines()[0]}"
                ) from None
        return model

    # ------------------------------------------------------------ embedding

    def embed(self, images) -> np.ndarray:
        """Feature vectors of ``images``.

        Args:
            images: a folder (searched recursively for .jpg, .jpeg, .png, .bmp,
                .gif in any case; other files are ignored), a list of image paths,
                an array ``[n, h, w, c]`` (or ``[n, h, w]``) of pixel values
                0..255 with 1 to 4 channels, or a ``tf.data.Dataset`` of images
                ``[h, w, c]`` or batches ``[b, h, w, c]`` (or tuples whose first
                item is that).

        Returns:
            float32 ``[n_images, n_features]``. With files, row ``i`` is
            ``paths_[i]``; files that cannot be decoded are left out, listed in
            ``skipped_`` and reported with a warning.

        Raises:
            ValueError: no images, or none that can be decoded; bad parameters.
            TypeError: an input of an unsupported kind.
            FileNotFoundError: a folder or listed file that does not exist.
            WeightsUnavailableError: ``weights="imagenet"``, offline, nothing cached.
        """
        self._check_params()
        self.paths_, self.skipped_ = None, []
        if isinstance(images, tf.data.Dataset):
            return self._run(io.dataset_batches, images, None)
        if isinstance(images, (str, os.PathLike)):
            if os.path.isdir(images):
                return self._embed_files(list_images(images), f"folder {os.fspath(images)!r}")
            return self._embed_files([images], "the list")
        if (
            isinstance(images, (list, tuple))
            and images
            and all(isinstance(p, (str, os.PathLike)) for p in images)
        ):
            return self._embed_files(list(images), "the list")
        if isinstance(images, (list, tuple)) and not images:
            raise ValueError("images is an empty list.")
        return self._run(io.array_batches, io.check_image_array(images), len(images))

    def _embed_files(self, paths, where) -> np.ndarray:
        paths = [os.fspath(p) for p in paths]
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            raise FileNotFoundError(f"image file {missing[0]!r} does not exist.")
        if not paths:
            raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) found in {where}.")
        _ = self.model
        batches = io.file_batches(paths, self._size, self.batch_size, self._preprocess)
        with io.decoder_messages():  # a damaged file's decoder lines: see decode_failure
            out, index = self._loop(batches, len(paths), with_index=True)
        kept = set(index.tolist())
        self.skipped_ = [(p, io.decode_failure(p)) for i, p in enumerate(paths) if i not in kept]
        self.skipped_ = [(p, why or "could not be decoded") for p, why in self.skipped_]
        self.paths_ = [paths[i] for i in index]
        if not self.paths_:
            raise ValueError(
                f"none of the {len(paths)} image files in {where} could be decoded; first: "
                f"{self.skipped_[0][0]!r}: {self.skipped_[0][1]}"
            )
        if self.skipped_:
            shown = "; ".join(f"{p}: {why}" for p, why in self.skipped_[:5])
            more = f" (and {len(self.skipped_) - 5} more)" if len(self.skipped_) > 5 else ""
            warnings.warn(
                f"skipped {len(self.skipped_)} of {len(paths)} image files that could not "
                f"be decoded: {shown}{more}",
                UserWarning,
                stacklevel=3,
            )
        return out

    def _run(self, make_batches, source, n) -> np.ndarray:
        _ = self.model
        out, _ = self._loop(make_batches(source, self._size, self.batch_size, self._preprocess), n)
        if out.shape[0] == 0:
            raise ValueError("the Dataset of images is empty.")
        return out

    @staticmethod
    def _next(batches):
        """The next batch, or None at the end; a Dataset's bad images raise ValueError."""
        try:
            return next(batches, None)
        except tf.errors.InvalidArgumentError as exc:
            error = io.dataset_error(exc)
            if error is None:
                raise
            raise error from None

    def _loop(self, batches, n, with_index=False):
        """Run the backbone over ``batches``; returns ``(features [n, d], index [n])``."""
        show = self.progress is True or (
            self.progress == "auto"
            and n is not None
            and n > 8 * self.batch_size
            and sys.stdout.isatty()
        )
        bar = None
        if show:
            import keras

            bar = keras.utils.Progbar(n, unit_name="image", stateful_metrics=None)
        features, indices, done = [], [], 0
        batches = iter(batches)
        while (batch := self._next(batches)) is not None:
            index, images = batch if with_index else (None, batch)
            features.append(self._forward(images).numpy())
            if with_index:
                indices.append(index.numpy())
            done += features[-1].shape[0]
            if bar is not None:
                bar.update(done)
        if bar is not None and n is not None and done < n:
            sys.stdout.write("\n")
        if features:
            out = np.concatenate(features).astype(np.float32, copy=False)
        else:
            out = np.zeros([0, 0], np.float32)
        index = np.concatenate(indices) if indices else np.zeros([0], np.int64)
        return out, index
