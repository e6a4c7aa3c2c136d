"""scikit-learn's own estimator checks on SphericalKMeans, BisectingKMeans and
BayesianGaussianMixture, with the failures by design of ``test_sklearn_checks``
(the shared input checks' wording, float32 by default, random draws that make
weights differ from repeated rows) and their own, each with its reason; strict."""

import warnings

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks
from test_sklearn_checks import _WEIGHTS_ARE_NOT_REPEATS, _WORDING

from tfcluster import BayesianGaussianMixture, BisectingKMeans, SphericalKMeans

ESTIMATORS = [
    SphericalKMeans(2, n_init=2, max_iter=5, random_state=0),
    BisectingKMeans(2, max_iter=5, random_state=0),
    BayesianGaussianMixture(n_components=2, max_iter=5, random_state=0),
]

_ZERO_ROWS = {
    "check_estimators_dtypes": (
        "the check's integer data hold a row of zeros, which has no direction: "
        "SphericalKMeans raises a ValueError for it by design (documented)"
    ),
}


def expected_failed_checks(estimator) -> dict:
    expected = {**_WORDING, **_WEIGHTS_ARE_NOT_REPEATS}
    if isinstance(estimator, SphericalKMeans):
        expected.update(_ZERO_ROWS)
    return expected


with warnings.catch_warnings():  # "does not inherit from sklearn.base.BaseEstimator": by design
    warnings.filterwarnings("ignore", "Estimator .* does not inherit", UserWarning)
    _CHECKS = parametrize_with_checks(
        ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
    )


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::tfcluster.ConvergenceWarning")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")
@_CHECKS
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
