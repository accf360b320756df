"""
Scaling model selection out: a grid search on a Dask cluster
=============================================================

A rollout-scored search fits and rolls out every candidate on every fold:
the cost grows with the grid. scikit-learn hands the jobs to joblib, and
joblib's Dask backend sends them to a ``dask.distributed`` cluster. Nothing
in the search changes but the ``parallel_config`` around it.

Here the cluster is a ``LocalCluster`` on this machine, two workers of one
thread. To use a real cluster, connect to its scheduler instead:
``Client("tcp://scheduler-address:8786")``; the workers need this library
installed. Each worker's torch uses that worker's threads (Dask starts its
worker processes with one OpenMP thread per process), so the jobs do not
fight over the cores. Inside a job, ``make_rollout_scorer`` steps its
``n_envs`` envs together; ``vectorization="async"`` would give each env a
process of its own on the worker, worth it only for envs that are slow to
step.
"""

# %%
import warnings

import joblib
import matplotlib.pyplot as plt
import pandas as pd
import sklearn
from distributed import Client, LocalCluster
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_il import MixtureDensityBC
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import make_rollout_scorer

# The candidates train for 50 epochs and stop with their loss still falling;
# scikit-learn says so with a ConvergenceWarning per fit. It passes this
# filter on to the cluster's workers with each job.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y, groups = make_obstacle(n_episodes=12, random_state=0)


def make_search():
    return GridSearchCV(
        MixtureDensityBC(max_iter=50, random_state=0),
        {"n_components": [1, 2], "hidden_layer_sizes": [(32,), (64, 64)]},
        cv=GroupKFold(2),
        scoring=make_rollout_scorer(OBSTACLE, n_episodes=8, metric="success_rate"),
        n_jobs=-1,
        refit=False,
    )


if __name__ == "__main__":  # Dask's worker processes import this script
    # Metadata routing sends groups to GroupKFold (and to the policy, which
    # requests them by default).
    with sklearn.config_context(enable_metadata_routing=True):
        search = make_search()
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            with Client(cluster), joblib.parallel_config(backend="dask"):
                search.fit(X, y, groups=groups)

    # %%
    # A single component averages the two ways around the obstacle into it
    # and never passes; two components can keep the ways apart.
    results = pd.DataFrame(search.cv_results_)
    labels = [f"{p['n_components']} comp., {p['hidden_layer_sizes']}" for p in results["params"]]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
    ax.set(xlabel="rollout success rate (2 folds)", xlim=(0, 1.05),
           title="Searched on a Dask cluster")
    fig.tight_layout()
    plt.show()
