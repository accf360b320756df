"""
Scaling model selection out: a grid search on a Dask cluster
=============================================================

A rollout-scored search fits and rolls out every candidate on every fold:
the cost grows with the grid. scikit-learn hands the jobs to joblib, and
:class:`~sklearn_il.parallel.DaskBackend` sends them to a
``dask.distributed`` cluster, where a lost worker costs only the fits it
was running. Nothing in the search changes but the ``parallel_config``
around it.

Here the cluster is a ``LocalCluster`` in this process, two workers of one
thread, so that the script runs as it is, in a notebook or in the gallery.
To use a real cluster, connect to its scheduler instead:
``Client("tcp://scheduler-address:8786")``; the workers need this library
installed. Their worker processes start with one OpenMP thread each, so
each job's torch uses its worker's threads and the jobs do not fight over
the cores (the test suite's ``tests/test_dask.py`` checks it on a cluster
of processes).
"""

# %%
# The search, as on one machine
# -----------------------------
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
from sklearn_il.parallel import DaskBackend

# A mixture's likelihood keeps rising while its components narrow around
# the expert's actions, so a fit can stop at ``max_iter`` with scikit-learn's
# ConvergenceWarning while its predicted actions barely move any more:
# harmless here, and filtered.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y, groups = make_obstacle(n_episodes=20, random_state=0)
search = GridSearchCV(
    MixtureDensityBC(random_state=0),
    {"n_components": [1, 2], "hidden_layer_sizes": [(32,), (64, 64)]},
    cv=GroupKFold(2),
    scoring=make_rollout_scorer(OBSTACLE, n_episodes=8,
                                metric="success_rate"),
    n_jobs=-1,
    refit=False,
)

# %%
# Run it on the cluster
# ---------------------
# The fits go to the workers; the search collects their scores. Metadata
# routing sends ``groups`` to ``GroupKFold`` (and to the policy, which
# requests them by default). The dashboard takes any free port: Dask's
# default, 8787, may be held by another cluster.
with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                  dashboard_address=":0") as cluster, Client(cluster):
    with sklearn.config_context(enable_metadata_routing=True), \
            joblib.parallel_config(backend=DaskBackend()):
        search.fit(X, y, groups=groups)

results = pd.DataFrame(search.cv_results_)
print(results[["param_n_components", "param_hidden_layer_sizes",
               "mean_test_score"]].to_string(index=False))

# %%
# A single component averages the two ways around the obstacle into it
# and never passes; two components keep the ways apart.
labels = [f"{p['n_components']} comp., {p['hidden_layer_sizes']}"
          for p in results["params"]]
fig, ax = plt.subplots(figsize=(6, 3))
ax.barh(labels, results["mean_test_score"], xerr=results["std_test_score"])
ax.set(xlabel="rollout success rate (2 folds)", xlim=(0, 1.05),
       title="Searched on a Dask cluster")
fig.tight_layout()
plt.show()
