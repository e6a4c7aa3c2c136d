"""Pure TensorFlow building blocks: tf.function- and XLA-safe, no numpy, no side effects.

``tfcluster.ops`` is public: the functions below are the maths every estimator
and Keras head of tfcluster runs, usable in your own TensorFlow code (eagerly,
inside ``tf.function`` or a Keras layer). Nothing here compiles (that is
``tfcluster._engine``) or validates input (that is the estimators'). Names with
a leading underscore are private. Shapes: ``x [n, d]`` rows, ``w [n]`` sample
weights, ``centers [K, d]`` (``K >= k`` when padded to a bucket, with a scalar
``k`` of real rows), ``labels [n]`` int32.

A *source* is ``(x, w)`` in memory or a ``tf.data.Dataset`` of ``(x, w)``
batches; ``chunk_size`` is the static number of rows per step.

Modules:
    batching    ``reduce_batches(fn, init, source, chunk_size)`` sums per-batch
                statistics (across replicas under a tf.distribute strategy);
                ``fold_batches``, ``map_chunks``, ``gather_rows``, ``padded_chunk``.
    distances   ``squared_distances(x, y) [n, K]`` as a GEMM, ``squared_norms(x) [n]``,
                ``nearest(x, centers) -> (labels [n], min_sq [n])``,
                ``nearest_sums(x, w, centers) -> (sums [K, d], counts [K])`` (the per-cluster
                sums of one batch: one GEMM and one fused pass).
    seeding     ``kmeans_plusplus(x, w, k, seed) -> (centers [k, d], indices [k])``,
                ``sample_rows``, ``sample_by_weight`` (also importable from ``kmeans``).
    kmeans      ``kmeans_parallel``; ``lloyd_step``/``lloyd(source,
                centers, k, max_iter, tol, chunk_size) -> (centers [K, d], n_iter,
                converged)``; ``assign(x, w, centers, centers_sq) -> (labels [n],
                inertia)``; mini-batch ``minibatch_state``/``minibatch_step``/
                ``minibatch_fit``.
    spherical   cosine k-means: normalised rows, ``spherical_lloyd``.
    gaussian    ``log_gaussian_prob(x, means [k, d], prec_chol, covariance_type)
                [n, k]``, ``log_resp``, ``e_step_statistics -> (log_lik, nk [k],
                sx [k, d], s2)``, ``m_step -> (nk [k], means [k, d],
                covariances, prec_chol, ok)``, Cholesky factors;
                ``prec_chol`` is [k, d, d] "full", [d, d] "tied", [k, d] "diag",
                [k] "spherical".
    mixture     ``em`` (a loop over an ``EMState``), ``init_statistics``, ``sample``,
                ``to_distribution`` (TFP); every name of ``gaussian`` too.
    bayesian    variational posterior (``Posterior``), its E step and lower bound.
    som_map     ``Grid`` of an ``m x n`` map, topologies, neighbourhoods, decays,
                activation distances.
    som         ``winners(x, codebook [K, d], distance, chunk_size) [n]``,
                ``train_online``, ``batch_epoch``/``train_batch`` (loops over a
                ``Training`` state), ``umatrix``, ``topographic_errors``; every
                name of ``som_map`` too.
    metrics     ``silhouette_samples(x, labels, n_labels, block_size) [n]``,
                ``label_sums``, ``davies_bouldin``, ``calinski_harabasz``.

Examples:
    >>> import tensorflow as tf
    >>> from tfcluster.ops.distances import nearest
    >>> labels, min_sq = nearest(tf.constant([[0.0, 1.0], [9.0, 0.0]]),
    ...                          tf.constant([[0.0, 0.0], [10.0, 0.0]]))
    >>> labels.numpy().tolist(), min_sq.numpy().tolist()
    ([0, 1], [1.0, 1.0])
"""
