"""Row invariances of the policies that score actions.

scikit-learn's ``check_methods_subset_invariance`` and
``check_methods_sample_order_invariance`` call ``score_samples(X)``; these
policies score actions, ``score_samples(X, y)``, so the checks are expected
failures for them (tests/test_estimator_checks.py). Here ``predict``,
``score_samples`` and ``sample`` are checked for the same invariances: a
row's output depends on that row only, not on the rows beside it. So is
``ImplicitBC``'s ``sample``, which draws its search's random numbers per call.
"""

import numpy as np
import pytest

from sklearn_il import AutoregressiveBC, BCRegressor, FDivergenceBC, ImplicitBC, MixtureDensityBC

from .conftest import FAST

POLICIES = [
    BCRegressor(loss="gaussian", **FAST),
    MixtureDensityBC(**FAST),
    AutoregressiveBC(n_bins=16, **FAST),
    FDivergenceBC(n_adversarial_steps=20, **FAST),
    # A call's draws share one search's candidates: as many as the draws.
    ImplicitBC(n_counter_examples=16, n_candidates=4096, **FAST),
    pytest.param(ImplicitBC(n_counter_examples=16, n_candidates=4096, gradient_penalty=1.0,
                            inference="langevin", n_langevin_iter=10, **FAST),
                 id="ImplicitBC-langevin"),
]


@pytest.fixture(scope="module", params=POLICIES, ids=lambda p: type(p).__name__)
def fitted(request, obstacle_data):
    X, y, _ = obstacle_data
    return request.param.fit(X, y), X, y


def test_predict_and_score_samples_are_row_invariant(fitted):
    policy, X, y = fitted
    X, y = X[:40], y[:40]
    perm = np.random.default_rng(0).permutation(len(X))
    for method, args in [("predict", (X,)), ("score_samples", (X, y))]:
        if not hasattr(policy, method):  # ImplicitBC: an energy, no likelihood
            continue
        output = getattr(policy, method)
        full = output(*args)
        by_row = np.concatenate([output(*(a[i : i + 1] for a in args)) for i in range(len(X))])
        by_batch = np.concatenate([output(*(a[i : i + 7] for a in args)) for i in range(0, len(X), 7)])
        shuffled = output(*(a[perm] for a in args))
        # float32 networks: a batch's size may change the rounding, no more.
        for other in (by_row, by_batch, shuffled[np.argsort(perm)]):
            np.testing.assert_allclose(other, full, rtol=1e-4, atol=1e-5, err_msg=method)


def test_sample_draws_do_not_depend_on_the_other_rows(fitted):
    policy, X, _ = fitted
    rows = X[[0, 60, 120]]
    # The same seed draws the same; a row's draws are its own distribution's,
    # alone or beside other rows, in any order.
    draws = policy.sample(rows, 5, random_state=0)
    np.testing.assert_array_equal(draws, policy.sample(rows, 5, random_state=0))
    alone = np.stack([policy.sample(row[None], 4000, random_state=1)[0] for row in rows])
    together = policy.sample(rows[::-1], 4000, random_state=2)[::-1]
    assert alone.shape == together.shape == (3, 4000, 1)
    spread = alone.std(axis=1)
    standard_error = spread * np.sqrt(2 / 4000)
    np.testing.assert_array_less(
        np.abs(alone.mean(axis=1) - together.mean(axis=1)), 5 * standard_error + 1e-6
    )
    np.testing.assert_allclose(together.std(axis=1), spread, rtol=0.1, atol=1e-6)
