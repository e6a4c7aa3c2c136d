"""Image folders to clusters: reading images, embedding them, clustering, sorting the files.

    ImageEmbedder    pretrained MobileNetV2 features (``_features``); image I/O in ``_io``
    ImageClusterer   embedder + any estimator (``_pipeline``)
    the sorter       ``tfcluster images`` (``_sort``, ``_sort_files``), which writes only
                     through ``_fileops`` and ``_outputs`` and records moves in ``_journal``

The names are imported on first use: the command line reads this package
without TensorFlow.
"""

from tfcluster._compat import lazy_exports

__all__ = ["ImageEmbedder", "ImageClusterer", "WeightsUnavailableError"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "ImageEmbedder": "tfcluster.images._features",
        "WeightsUnavailableError": "tfcluster.images._features",
        "ImageClusterer": "tfcluster.images._pipeline",
    },
)
