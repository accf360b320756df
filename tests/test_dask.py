"""Model selection scaled out on a real dask.distributed cluster through joblib."""

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_il import BCRegressor
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import make_rollout_scorer

from .conftest import FAST

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def threads(estimator, X, y):
    """Scorer run in the worker: torch's thread count there."""
    return torch.get_num_threads()


@pytest.mark.slow
def test_grid_search_on_dask_matches_one_process(client, obstacle_data):
    X, y, groups = obstacle_data
    with sklearn.config_context(enable_metadata_routing=True):
        def search(n_jobs):
            policy = BCRegressor(**FAST)
            return GridSearchCV(
                policy, {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-2]},
                cv=GroupKFold(2), n_jobs=n_jobs, refit=False,
                scoring={"return": make_rollout_scorer(OBSTACLE, n_episodes=2), "threads": threads},
            ).fit(X, y, groups=groups)

        local = search(n_jobs=1)
        with joblib.parallel_config(backend="dask"):
            remote = search(n_jobs=-1)
    # Every fit and rollout ran on the cluster's workers, one torch thread
    # each (the worker's), and scored as in one process.
    assert set(remote.cv_results_["mean_test_threads"]) == {1.0}
    np.testing.assert_allclose(remote.cv_results_["mean_test_return"],
                               local.cv_results_["mean_test_return"], rtol=1e-6)
    assert client.run(torch.get_num_threads) == {w: 1 for w in client.scheduler_info()["workers"]}
