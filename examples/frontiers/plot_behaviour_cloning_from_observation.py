"""
=============================================================
Behaviour cloning from observation: infer the missing actions
=============================================================

Demonstrations often come without actions: videos, motion capture, logs of
states. An inverse dynamics model ``a_t = g(s_t, s_{t+1})`` fitted on the
agent's own play, where it knows what it did, fills them in, and a policy
is cloned from the inferred labels.

Here the agent plays at random on the goal-reaching task, the model labels
50 expert episodes given as states only, and two ``BCRegressor`` policies
are compared: one cloned from the true actions, one from the inferred ones.
The left panel shows how close the inferred actions are to the truth.
"""

import warnings

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCRegressor
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.dynamics import InverseDynamicsRegressor, state_pairs
from sklearn_il.envs import POINT_REACH, PointReachExpert
from sklearn_il.evaluation import evaluate_policy

# Some fits here stop at max_iter while their loss still falls a little;
# scikit-learn says so with a ConvergenceWarning each time, and the output
# shows what they reached.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

space = gym.make(POINT_REACH).action_space
space.seed(0)
play = collect_demonstrations(
    POINT_REACH, lambda X: np.array([space.sample() for _ in X]),
    n_episodes=50, random_state=1)
pairs, rows = state_pairs(play.X, play.groups)
inverse = InverseDynamicsRegressor(hidden_layer_sizes=(64, 64), random_state=0)
inverse.fit(pairs, play.y[rows])

# The expert's episodes, used as states only (and the state after each
# last step).
demos = collect_demonstrations(POINT_REACH, PointReachExpert(),
                               n_episodes=50, random_state=0)
inferred = inverse.label_actions(demos.X, demos.groups,
                                 demos.final_observations)

success = {}
for name, labels in [("true actions", demos.y),
                     ("inferred actions", inferred)]:
    policy = BCRegressor(hidden_layer_sizes=(64, 64), random_state=0)
    policy.fit(demos.X, labels)
    success[name] = evaluate_policy(policy, POINT_REACH, 50,
                                    random_state=2).success_rate
print(success)

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
left.scatter(demos.y[:, 0], inferred[:, 0], s=4, alpha=0.4)
left.plot([-1, 1], [-1, 1], color="black", linewidth=0.8)
left.set(xlabel="expert's action (x velocity)", ylabel="inferred action",
         title="inverse dynamics labels")
right.bar(list(success), list(success.values()),
          color=["tab:green", "tab:blue"])
right.set(ylabel="success rate", ylim=(0, 1),
          title="BC from each set of labels")
fig.tight_layout()
plt.show()
