"""Deep embedded clustering (DEC, Xie et al. 2016; IDEC, Guo et al. 2017): DeepClustering.

Three stages: an autoencoder learns an embedding by reconstruction; tfcluster
``KMeans`` clusters the embeddings; then the encoder and the cluster centers
(a ``tfcluster.layers.ClusteringLayer``) are refined together by minimising
``KL(p || q)`` between the Student-t soft assignments ``q`` and the sharpened
target ``p = target_distribution(q)``, recomputed on all the data every
``update_interval`` steps, plus ``gamma`` times the reconstruction error
(IDEC; ``gamma=0`` is DEC). Training stops when fewer than ``tol`` of the
labels change between two target updates, or after ``max_iter`` steps.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tfcluster._base import (
    BaseEstimator,
    check_is_fitted,
)
from tfcluster._constraints import Instance, Int, Real, Seed, Sequence
from tfcluster._engine import Program
from tfcluster._validation import check_array
from tfcluster.deep._layer import ClusteringLayer, clustering_loss, target_distribution
from tfcluster.ops.distances import first_argmin

__all__ = ["DeepClustering"]


def _dense_stack(n_inputs, units, n_outputs, name):
    """``n_inputs -> units... (relu) -> n_outputs (linear)`` as a keras.Sequential."""
    layers = [keras.Input((n_inputs,))]
    layers += [keras.layers.Dense(u, activation="relu") for u in units]
    layers.append(keras.layers.Dense(n_outputs))
    return keras.Sequential(layers, name=name)


def _copy(model):
    """A copy of a user's Keras model with the same weights (the original stays untouched)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def _encoder_row_shape(encoder):
    """The shape of one input row the Keras ``encoder`` declares (``None`` where free), or None.

    None when the encoder has no single known input (not built, or several inputs).
    """
    try:
        shape = encoder.input_shape
    except (AttributeError, ValueError):  # a model never called has no input shape
        return None
    if not isinstance(shape, tuple) or not all(d is None or isinstance(d, int) for d in shape):
        return None  # several inputs: a list or a nested structure of shapes
    return shape[1:]


def _check_rows_fit_encoder(arr, encoder):
    """Raise ValueError unless rows of ``arr`` have the shape the ``encoder`` declares."""
    expected = _encoder_row_shape(encoder)
    if expected is None:
        return
    got = arr.shape[1:]
    if tf.TensorShape(expected).is_compatible_with(got):
        return
    if len(got) == len(expected) == 1:
        raise ValueError(
            f"X has {got[0]} features, but the encoder expects {expected[0]} "
            f"(its input shape is {(None,) + expected})."
        )
    raise ValueError(
        f"X rows have shape {got} (X is {arr.shape}), but the encoder expects rows of shape "
        f"{expected} (its input shape is {(None,) + expected})."
    )


def _argmax(q):
    return first_argmin(-q)[0]  # first index of the largest probability, int32 [n]


class DeepClustering(BaseEstimator):
    """Deep embedded clustering: autoencoder, k-means on the embedding, joint refinement.

    Args:
        n_clusters: number of clusters ``k``.
        encoder: a Keras model ``[b, ...] -> [b, embedding]``, or None for a
            dense one ``n_features -> hidden -> embedding_dim`` (ReLU, linear
            embedding). A given encoder is copied, never trained in place.
        decoder: a Keras model ``[b, embedding] -> [b, ...]`` mirroring a given
            encoder; needed for pretraining and the IDEC term. With
            ``encoder=None`` a dense mirror of the encoder is built. With an
            encoder and no decoder, the encoder is taken as pretrained and only
            the clustering loss is used.
        hidden: widths of the default encoder's hidden layers (the decoder
            uses them reversed).
        embedding_dim: width of the default encoder's embedding.
        pretrain_epochs: autoencoder epochs (Adam, mean squared error).
        noise: standard deviation of the Gaussian noise added to the inputs
            while pretraining (a denoising autoencoder); 0 for none.
        max_iter: most refinement steps (one mini-batch each).
        batch_size: rows per step.
        update_interval: steps between two recomputations of the target ``p``.
        tol: stop when fewer than this fraction of labels changed between two
            target updates.
        gamma: weight of the reconstruction error in the refinement loss
            ``KL(p || q) + gamma * mse`` (IDEC); 0 gives DEC.
        alpha: degrees of freedom of the Student-t kernel.
        learning_rate: Adam learning rate of both stages.
        n_init: k-means runs on the embedding (the best inertia is kept).
        random_state: int or None; seeds Keras (``keras.utils.set_random_seed``,
            which also seeds Python's and NumPy's global generators) and k-means.
        verbose: print the progress of the refinement.

    Attributes:
        cluster_centers_: ``[n_clusters, embedding]`` refined centers.
        labels_: ``[n_samples]`` cluster of each training row.
        encoder_: the trained encoder (a Keras model).
        decoder_: the trained decoder, or None.
        model_: ``keras.Sequential([encoder_, ClusteringLayer])``, inputs to
            soft assignments ``[b, n_clusters]``; save or export it to serve.
        kmeans_: the ``KMeans`` fitted on the pretrained embedding.
        n_iter_: refinement steps run.
        converged_: whether ``tol`` was met before ``max_iter``.
        n_features_in_: number of features seen in ``fit``.
    """

    _constraints = {
        "n_clusters": Int(1),
        "embedding_dim": Int(1),
        "pretrain_epochs": Int(0),
        "max_iter": Int(0),
        "batch_size": Int(1),
        "update_interval": Int(1),
        "n_init": Int(1),
        "tol": Real(),
        "gamma": Real(),
        "noise": Real(  # keras.layers.GaussianNoise's range
            maximum=1, message="noise must be a standard deviation in [0, 1]; got {value!r}."
        ),
        "alpha": Real(strict=True),
        "learning_rate": Real(strict=True),
        "hidden": Sequence(Int(1), "layer widths", "width"),
        "encoder": Instance("keras.Model", none=True),
        "decoder": Instance("keras.Model", none=True),
        "random_state": Seed(),
    }

    def __init__(
        self,
        n_clusters=10,
        *,
        encoder=None,
        decoder=None,
        hidden=(500, 500, 2000),
        embedding_dim=10,
        pretrain_epochs=200,
        noise=0.0,
        max_iter=2000,
        batch_size=256,
        update_interval=30,
        tol=1e-3,
        gamma=1.0,
        alpha=1.0,
        learning_rate=1e-3,
        n_init=10,
        random_state=None,
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.encoder = encoder
        self.decoder = decoder
        self.hidden = hidden
        self.embedding_dim = embedding_dim
        self.pretrain_epochs = pretrain_epochs
        self.noise = noise
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.update_interval = update_interval
        self.tol = tol
        self.gamma = gamma
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.n_init = n_init
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------ checks

    def _check_params(self) -> int:
        params = self._validate_params()
        if self.decoder is not None and self.encoder is None:
            raise ValueError("decoder is given without an encoder; give both, or neither.")
        return int(params.random_state[0])

    def _networks(self, n_features):
        if self.encoder is None:
            hidden = [int(h) for h in self.hidden]
            dim = int(self.embedding_dim)
            encoder = _dense_stack(n_features, hidden, dim, "encoder")
            decoder = _dense_stack(dim, hidden[::-1], n_features, "decoder")
            return encoder, decoder
        decoder = None if self.decoder is None else _copy(self.decoder)
        return _copy(self.encoder), decoder

    # ------------------------------------------------------------ fitting

    def fit(self, X, y=None) -> DeepClustering:
        """Pretrain the autoencoder, run k-means on the embedding, refine both.

        Args:
            X: ``[n_samples, n_features]`` (for a given encoder, any array it takes).
            y: ignored.

        Returns:
            self.

        Raises:
            ValueError, TypeError: bad parameters or bad input.
        """
        from tfcluster.cluster._kmeans import KMeans

        seed = self._check_params()
        x = self._check_X(X, n_features=None)
        n = x.shape[0]
        if n < self.n_clusters:
            raise ValueError(f"n_samples={n} should be >= n_clusters={self.n_clusters}.")
        keras.utils.set_random_seed(seed)
        encoder, decoder = self._networks(x.shape[1] if x.ndim == 2 else None)
        if not encoder.built:  # a Sequential without keras.Input: give it a batch-free shape
            encoder.build((None,) + x.shape[1:])
        if decoder is not None and self.pretrain_epochs > 0:
            noisy = [keras.layers.GaussianNoise(self.noise)] if self.noise > 0 else []
            autoencoder = keras.Sequential(noisy + [encoder, decoder])
            autoencoder.compile(keras.optimizers.Adam(self.learning_rate), "mse")
            autoencoder.fit(
                x, x, batch_size=int(self.batch_size), epochs=int(self.pretrain_epochs), verbose=0
            )
        z = encoder.predict(x, batch_size=1024, verbose=0)
        if z.ndim != 2:
            raise ValueError(f"encoder must output [batch, embedding]; got shape {z.shape}.")
        kmeans = KMeans(self.n_clusters, n_init=self.n_init, random_state=seed).fit(z)
        clustering = ClusteringLayer.from_kmeans(kmeans, alpha=self.alpha, name="clustering")
        model = keras.Sequential([encoder, clustering], name="deep_clustering")
        model.build((None,) + x.shape[1:])
        self._refine(x, model, decoder, seed)
        self.kmeans_ = kmeans
        self.encoder_, self.decoder_, self.model_ = encoder, decoder, model
        self.cluster_centers_ = clustering.clusters.numpy()
        self.n_features_in_ = int(np.prod(x.shape[1:]))
        return self

    def _refine(self, x, model, decoder, seed):
        encoder, clustering = model.layers
        use_decoder = decoder is not None and self.gamma > 0
        variables = list(model.trainable_variables)
        if use_decoder:
            variables += decoder.trainable_variables
        optimizer = keras.optimizers.Adam(self.learning_rate)
        optimizer.build(variables)
        gamma = tf.constant(self.gamma, tf.float32)

        def step_fn(xb, pb):
            with tf.GradientTape() as tape:
                z = encoder(xb, training=True)
                loss = clustering_loss(pb, clustering(z))
                if use_decoder:
                    loss += gamma * tf.reduce_mean(tf.square(decoder(z, training=True) - xb))
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            return loss

        # Programs of this fit's model: one trace each, whatever the batch size.
        step = Program(step_fn, "dec.step", rows=(0, 1))
        soft = Program(lambda xs: model(xs, training=False), "dec.soft", rows=(0,))

        rng = np.random.default_rng(seed)
        n, bs = x.shape[0], int(self.batch_size)
        order, start = rng.permutation(n), 0
        labels, converged, it = None, False, 0
        for it in range(self.max_iter + 1):
            if it % self.update_interval == 0 or it == self.max_iter:
                q = self._soft_all(soft, x)
                new = _argmax(q).numpy()
                changed = 1.0 if labels is None else float(np.mean(new != labels))
                labels, p = new, target_distribution(q).numpy()
                if self.verbose:
                    print(f"DeepClustering step {it}: {changed:.4f} of the labels changed")
                if it > 0 and changed < self.tol:
                    converged = True
                    break
            if it == self.max_iter:
                break
            if start >= n:
                order, start = rng.permutation(n), 0
            idx = order[start : start + bs]
            start += bs
            step(tf.constant(x[idx]), tf.constant(p[idx]))
        self.labels_ = labels.astype(np.int32)
        self.n_iter_, self.converged_ = it, converged

    @staticmethod
    def _soft_all(soft, x, batch=2048):
        parts = [soft(tf.constant(x[i : i + batch])) for i in range(0, x.shape[0], batch)]
        return tf.concat(parts, axis=0)

    # ------------------------------------------------------------ inference

    def _check_X(self, X, n_features):
        """``X`` as float32 numpy: ``[n, n_features]`` for the default encoder, else any batch.

        A given encoder's rows must have the shape of its declared input
        (the fitted copy ``encoder_`` after ``fit``).
        """
        if self.encoder is None:
            return check_array(X, dtype=tf.float32, n_features=n_features).numpy()
        arr = np.asarray(X, dtype=np.float32)  # a custom encoder takes any shape
        if arr.ndim < 2 or arr.shape[0] == 0:
            raise ValueError(f"X must be a non-empty batch [n_samples, ...]; got {arr.shape}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError("X contains NaN or infinity; only finite values are accepted.")
        _check_rows_fit_encoder(arr, getattr(self, "encoder_", self.encoder))
        return arr

    def predict_proba(self, X) -> np.ndarray:
        """Student-t soft assignments ``[n_samples, n_clusters]`` (rows sum to one)."""
        check_is_fitted(self, "model_")
        x = self._check_X(X, self.n_features_in_ if self.encoder is None else None)
        return self.model_.predict(x, batch_size=2048, verbose=0)

    def predict(self, X) -> np.ndarray:
        """Cluster of each row (largest soft assignment), int32 ``[n_samples]``."""
        return _argmax(tf.constant(self.predict_proba(X))).numpy()

    def transform(self, X) -> np.ndarray:
        """The encoder's embedding of each row ``[n_samples, embedding]``."""
        check_is_fitted(self, "model_")
        x = self._check_X(X, self.n_features_in_ if self.encoder is None else None)
        return self.encoder_.predict(x, batch_size=2048, verbose=0)

    def fit_predict(self, X, y=None) -> np.ndarray:
        """``fit(X).labels_`` ``[n_samples]``."""
        return self.fit(X).labels_

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X).transform(X)``: the embedding ``[n_samples, embedding]``."""
        return self.fit(X).transform(X)
