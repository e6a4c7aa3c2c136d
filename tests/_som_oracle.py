"""MiniSom as the SOM tests' oracle (test_som.py, test_som_extras.py): a reference map,
and a SelfOrganizingMap given a codebook without fitting."""

from minisom import MiniSom

from tfcluster.som import SelfOrganizingMap


def minisom(m, n, X, seed=0, steps=0, **kw):
    """A MiniSom initialised from rows of X and trained ``steps`` steps.

    A few steps of training make the codebook continuous: the integer digits
    against rows of themselves give exact distance ties, which MiniSom's
    argsort breaks in no defined order.
    """
    ref = MiniSom(m, n, X.shape[1], random_seed=seed, **kw)
    ref.random_weights_init(X)
    if steps:
        ref.train(X, steps, random_order=True)
    return ref


def with_codebook(w, **kw):
    """A float64 SelfOrganizingMap of codebook ``w [m, n, d]``, as if fitted."""
    som = SelfOrganizingMap(w.shape[0], w.shape[1], dtype="float64", **kw)
    som.weights_ = w.copy()
    som.n_features_in_ = w.shape[2]
    return som
