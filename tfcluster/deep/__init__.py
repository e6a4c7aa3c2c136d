"""Deep embedded clustering (DEC): the trainable ``ClusteringLayer`` and ``DeepClustering``.

DeepClustering   autoencoder pretraining, k-means on the codes, then DEC refinement
                 (``_dec``)
ClusteringLayer  Student-t soft assignment with trainable centers, and its target
                 distribution and loss (``_layer``); public home ``tfcluster.layers``
"""

from tfcluster.deep._dec import DeepClustering
from tfcluster.deep._layer import (
    ClusteringLayer,
    clustering_loss,
    student_t_assignment,
    target_distribution,
)

__all__ = [
    "DeepClustering",
    "ClusteringLayer",
    "student_t_assignment",
    "target_distribution",
    "clustering_loss",
]
