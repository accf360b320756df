"""
Model selection over episodes: held-out R² versus rollouts
==========================================================

A policy is a scikit-learn estimator, so it goes into a ``Pipeline`` and a
``GridSearchCV`` like any other. Two things are particular to imitation
learning:

* the rows of one episode are strongly correlated, so the folds must split
  by **episode** (``GroupKFold`` with ``groups=episode_ids``), never by row;
* the score that matters is what the policy achieves when it acts, which
  :func:`~sklearn_il.evaluation.make_rollout_scorer` measures by rolling each
  candidate out in the environment.

Here both scores are computed for the same candidates on the bimodal obstacle
task, and they disagree.
"""

# %%
# Demonstrations and the search
# -----------------------------
import warnings

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import BCRegressor
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import make_rollout_scorer

# Some fits here stop at max_iter while their loss still falls a little;
# scikit-learn says so with a ConvergenceWarning each time, and the output
# shows what they reached.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y, groups = make_obstacle(n_episodes=40, random_state=0)

search = GridSearchCV(
    make_pipeline(StandardScaler(), BCRegressor(max_iter=60, random_state=0)),
    param_grid={"bcregressor__hidden_layer_sizes": [(8,), (64,), (256, 256)]},
    cv=GroupKFold(n_splits=4),
    scoring={
        "r2": "r2",
        "success": make_rollout_scorer(OBSTACLE, n_episodes=10,
                                       metric="success_rate"),
    },
    refit="r2",
)
search.fit(X, y, groups=groups)

results = pd.DataFrame(search.cv_results_)[[
    "param_bcregressor__hidden_layer_sizes", "mean_test_r2",
    "mean_test_success"]]
print(results.to_string(index=False))

# %%
# The two scores side by side
# ---------------------------
fig, ax = plt.subplots(figsize=(5, 3.5))
labels = [str(h) for h in results["param_bcregressor__hidden_layer_sizes"]]
ax.plot(labels, results["mean_test_r2"], "o-", label="held-out R² of actions")
ax.plot(labels, results["mean_test_success"], "s-",
        label="rollout success rate")
ax.set(xlabel="hidden_layer_sizes", ylim=(-0.05, 1.05),
       title="Same candidates, two scores")
ax.legend()
fig.tight_layout()

# %%
# Why the two disagree
# --------------------
# R² is computed on the expert's own states in held-out episodes: it asks
# how close the predicted action is to the expert's, one state at a time, on
# the states the expert visited. Most of those states are easy (the expert is
# already on its side of the obstacle), so R² is high and grows with the
# network.
#
# The rollout asks what happens when the policy acts. At the start, the
# demonstrator went left in some episodes and right in others from the same
# state; a policy fitted by squared error predicts the mean of the two, goes
# nearly straight, and hits the obstacle. That one state barely moves R², but
# it decides every episode. Afterwards the policy is in states the expert
# never showed, where its errors compound. Selecting by R² picks the biggest
# network; the rollouts show that no behaviour-cloning candidate solves the
# task, which calls for a richer policy class, not a better fit.
