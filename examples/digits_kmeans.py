"""Cluster the bundled handwritten digits with KMeans and score against the true digits.

Run: python examples/digits_kmeans.py
"""

from tfcluster import KMeans
from tfcluster._external_metrics import adjusted_rand_score, normalized_mutual_info_score
from tfcluster.datasets import load_digits


def main():
    X, y = load_digits()
    km = KMeans(10, n_init=4, random_state=0).fit(X)
    print(f"KMeans on the digits: {X.shape[0]} images, {km.n_iter_} Lloyd iterations")
    print(f"inertia {km.inertia_:.1f}")
    print(f"ARI {adjusted_rand_score(y, km.labels_):.3f}")
    print(f"NMI {normalized_mutual_info_score(y, km.labels_):.3f}")


if __name__ == "__main__":
    main()
