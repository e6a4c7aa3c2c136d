"""tfcluster estimators inside scikit-learn's Pipeline and GridSearchCV.

Chooses a Gaussian mixture for the iris measurements (number of components and
covariance type) by 5-fold cross-validated held-out log-likelihood
(``GaussianMixture.score``), with the features standardised in a Pipeline,
then reports how the chosen model's clusters match the species.

    python examples/sklearn_model_selection.py
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from tfcluster import GaussianMixture  # noqa: E402
from tfcluster.datasets import load_iris  # noqa: E402
from tfcluster.metrics import adjusted_rand_score  # noqa: E402


def main():
    X, y = load_iris()
    pipe = Pipeline([("scale", StandardScaler()), ("gmm", GaussianMixture(random_state=0))])
    grid = {
        "gmm__n_components": list(range(1, 7)),
        "gmm__covariance_type": ["full", "diag", "spherical"],
    }
    folds = KFold(5, shuffle=True, random_state=0)  # iris is sorted by species
    search = GridSearchCV(pipe, grid, cv=folds).fit(X)
    print("held-out log-likelihood per sample (mean of 5 folds):")
    results = search.cv_results_
    order = results["rank_test_score"].argsort()
    for i in order[:5]:
        params = results["params"][i]
        print(
            f"  k={params['gmm__n_components']}  {params['gmm__covariance_type']:9s} "
            f"{results['mean_test_score'][i]:8.3f} +- {results['std_test_score'][i]:.3f}"
        )
    best = search.best_estimator_
    labels = best.predict(X)
    print(f"chosen: {search.best_params_}")
    print(f"ARI of its clusters against the species: {adjusted_rand_score(y, labels):.3f}")


if __name__ == "__main__":
    main()
