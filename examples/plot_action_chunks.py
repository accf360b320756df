"""
==================================================================
Executing action chunks: re-planning and ACT's temporal ensembling
==================================================================

A policy that predicts a chunk of the next actions (``DiffusionBC`` with
``horizon=8``) can execute them in several ways, chosen after fitting:

- all of a chunk, then predict the next one from where the env is
  (``n_action_steps=None``): few predictions, but the actions jump where
  one chunk hands over to the next;
- a few of each chunk, then re-plan (``n_action_steps=4``);
- predict a chunk at every step and execute the weighted mean of what the
  chunks still running predicted for this step
  (``temporal_ensemble_coeff=0.01``, ACT's temporal ensembling): every
  action is an average of up to eight predictions, so the actions move
  smoothly.

The panel shows the action each mode executes in the same episode of the
obstacle task; the legend gives its success rate over 20 episodes and its
mean |a_t - a_{t-1}|. ``benchmarks/bench_chunking.py`` measures the same
over seeds, on the gates too, and under perturbations.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_il import DiffusionBC
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import rollout

X, y, groups = make_obstacle(n_episodes=30, random_state=0)
# A smaller network than the default, so that the example runs in seconds.
policy = DiffusionBC(horizon=8, hidden_layer_sizes=(128, 128), random_state=0)
policy.fit(X, y, groups=groups)

modes = {
    "whole chunk": dict(n_action_steps=None),
    "4 steps, then re-plan": dict(n_action_steps=4),
    "temporal ensembling": dict(temporal_ensemble_coeff=0.01),
}
fig, ax = plt.subplots(figsize=(8, 4))
for name, mode in modes.items():
    policy.set_params(**{"n_action_steps": None, "temporal_ensemble_coeff": None, **mode})
    episodes = rollout(policy, OBSTACLE, n_episodes=20, random_state=1)
    actions = episodes.y.ravel()
    same_episode = episodes.groups[1:] == episodes.groups[:-1]
    jump = np.abs(np.diff(actions))[same_episode].mean()
    first = episodes.groups == episodes.groups[0]
    label = f"{name}: success {episodes.successes.mean():.2f}, mean |Δa| {jump:.3f}"
    print(label)
    ax.step(np.arange(first.sum()), actions[first], where="post", label=label)
ax.set(xlabel="time step", ylabel="steering action", title="one episode, three ways to execute chunks")
ax.legend(loc="best", fontsize="small")
plt.show()

# %%
# Executed open loop, this small policy's chunks turn back from full lock
# too early: four steps in, the car meets the obstacle, whether the chunk
# runs whole or for four steps. With temporal ensembling each step also
# averages in the newest chunk, whose first actions are the ones closest
# to the present observation, and the actions move a little at every step
# instead of jumping where a chunk hands over. With the default network and
# 50 demonstrations (``benchmarks/bench_chunking.py``, 5 seeds) every mode
# succeeds about as often on the obstacle and ensembling gives the smoothest
# actions; on the gates, where the chunks of successive steps can disagree
# about which way to pass, averaging them succeeded less often than
# re-planning every few steps.
