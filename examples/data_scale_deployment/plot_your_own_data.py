"""
Your own logs: from a CSV file to a policy that acts
=====================================================

Demonstrations rarely start as arrays. Here they are teleoperation logs: a
CSV file with one row per control step, a ``session`` column, a time step
``t`` within the session, the three observation readings of a pendulum and
the ``torque`` the operator applied, with the sessions' rows interleaved as
a logger might write them. From the file to a policy that acts:

1. ``Demonstrations.from_dataframe`` sorts the rows by session and step
   and keeps the column names;
2. a ``GridSearchCV`` splits the folds by session and scores each candidate
   by rolling it out;
3. the chosen policy is written with :func:`sklearn_il.io.dump` (no pickle:
   it loads without running code from the file) and the demonstrations as
   parquet;
4. a fresh Python process loads the policy and rolls it out.
"""

# %%
# The logs
# --------
# Stand-in logs, made by a scripted operator; with real data, only
# ``pd.read_csv`` remains of this cell.
import os
import subprocess
import sys
import tempfile
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_il import BCRegressor
from sklearn_il.datasets import Demonstrations, collect_demonstrations
from sklearn_il.evaluation import make_rollout_scorer
from sklearn_il.experts import PendulumSwingUp
from sklearn_il.io import dump

# Some fits here stop at max_iter while their loss still falls a little;
# scikit-learn says so with a ConvergenceWarning each time, and the output
# shows what they reached.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

folder = tempfile.mkdtemp()
logged = collect_demonstrations("Pendulum-v1", PendulumSwingUp(), 12,
                                random_state=0).to_dataframe()
logged = logged.rename(columns={
    "episode": "session", "step": "t", "obs_0": "cos_theta",
    "obs_1": "sin_theta", "obs_2": "theta_dot", "action": "torque"})
logged = logged.sample(frac=1, random_state=0)  # interleaved sessions
logged.to_csv(os.path.join(folder, "teleop.csv"), index=False)

logs = pd.read_csv(os.path.join(folder, "teleop.csv"))
print(logs.head())

# %%
# Demonstrations from the table
# -----------------------------
# Without ``step_column`` the rows would have to be in time order already;
# interleaved sessions are then refused with the session that is split.
observations = ["cos_theta", "sin_theta", "theta_dot"]
demos = Demonstrations.from_dataframe(
    logs, observations, "torque", episode_column="session", step_column="t",
    reward_column="reward")
print(demos, demos.observation_names)

# %%
# Model selection over sessions
# -----------------------------
# ``demos.X`` is a DataFrame with the frame's column names: the policy is
# fitted on them, and in rollouts the observations reach it under the same
# names. The policy requests the episode ids by default.
X = demos.X
with sklearn.config_context(enable_metadata_routing=True):
    search = GridSearchCV(
        BCRegressor(max_iter=100, random_state=0),
        {"hidden_layer_sizes": [(16,), (64, 64)]},
        cv=GroupKFold(2),
        scoring=make_rollout_scorer("Pendulum-v1", n_episodes=6),
    )
    search.fit(X, demos.y, groups=demos.groups)
results = pd.DataFrame(search.cv_results_)
print(results[["param_hidden_layer_sizes", "mean_test_score"]])

# %%
# Save, then load in a fresh process
# ----------------------------------
policy_path = os.path.join(folder, "policy.safetensors")
dump(search.best_estimator_, policy_path)
demos.save(os.path.join(folder, "demos.parquet"))

script = f"""
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.io import load
result = evaluate_policy(load({policy_path!r}), "Pendulum-v1",
                         n_episodes=10, random_state=1)
print(" ".join(f"{{r:.1f}}" for r in result.returns))
"""
output = subprocess.run([sys.executable, "-c", script],
                        capture_output=True, text=True, check=True)
returns = np.array(output.stdout.split(), dtype=float)
print(f"returns of the loaded policy: "
      f"{returns.mean():.1f} +/- {returns.std():.1f}")

# %%
# The loaded policy against the operator's own sessions:
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.hist(demos.episode_returns(), bins=8, alpha=0.6,
        label="operator's sessions")
ax.hist(returns, bins=8, alpha=0.6, label="loaded policy, fresh process")
ax.set(xlabel="episode return", ylabel="episodes",
       title="Pendulum swing-up from CSV logs")
ax.legend()
fig.tight_layout()
