"""Policies in Pipelines and searches, split by episode; torch threads in workers."""

import joblib
import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_il import BCRegressor
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import make_rollout_scorer

from .conftest import FAST, TINY

pytestmark = pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)


def test_pipeline_in_grid_search_over_episodes_with_two_scorers(obstacle_data):
    X, y, groups = obstacle_data
    search = GridSearchCV(
        make_pipeline(StandardScaler(), BCRegressor(**FAST)),
        {"bcregressor__alpha": [1e-4, 1.0]},
        cv=GroupKFold(n_splits=3),
        scoring={"r2": "r2", "success": make_rollout_scorer(OBSTACLE, n_episodes=2, metric="success_rate")},
        refit="r2",
    )
    search.fit(X, y, groups=groups)
    results = search.cv_results_
    assert np.isfinite(results["mean_test_r2"]).all()
    assert set(np.unique(results["mean_test_success"])) <= {0.0, 0.5, 1.0, 1 / 3, 2 / 3, 1 / 6, 5 / 6}
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


def test_metadata_routing_delivers_groups_to_early_stopping(obstacle_data):
    import sklearn

    X, y, groups = obstacle_data
    with sklearn.config_context(enable_metadata_routing=True):
        policy = BCRegressor(early_stopping=True, **FAST)  # requests groups by default
        pipe = make_pipeline(StandardScaler(), policy)
        pipe.fit(X, y, groups=groups)
        assert "valid_loss" in pipe[-1].net_.history[-1]


@pytest.mark.slow
def test_policies_run_within_the_thread_limit_they_are_given(obstacle_data):
    X, y, groups = obstacle_data

    def threads(estimator, X, y):  # runs in the worker, after fit, with predict
        estimator.predict(X)
        return torch.get_num_threads()

    result = cross_validate(
        BCRegressor(**FAST), X, y, groups=groups, cv=GroupKFold(2), n_jobs=2, scoring=threads
    )
    # joblib gives each of its n_jobs workers cpu_count() // n_jobs threads
    # (cgroup- and affinity-aware); torch honours the limit and fitting keeps it.
    assert list(result["test_score"]) == [max(1, joblib.cpu_count() // 2)] * 2
    before = torch.get_num_threads()
    with threadpool_limits(limits=1):
        assert torch.get_num_threads() == 1
        BCRegressor(**TINY).fit(X, y).predict(X)
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
