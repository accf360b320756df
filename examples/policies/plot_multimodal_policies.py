"""
=======================================================
Mode averaging: why the policy drives into the obstacle
=======================================================

The expert passes the obstacle on the left or on the right, chosen at random
in each episode, so at the start its action is +1 or -1, never 0. A policy
fitted by maximum likelihood with one Gaussian per state learns the mean of
the two, 0, and drives straight into the obstacle. A richer distribution
class keeps the two modes apart.

Here each policy is fitted on the same 30 demonstrations and drawn from at
three states: the start, where the expert's two modes meet, and a point on
each side, where the expert's action is settled. The red crosses are the
expert's actions (re-drawing its choice of side), the blue points the
policy's draws.
"""

import warnings

import matplotlib.pyplot as plt
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import (
    AutoregressiveBC,
    BCRegressor,
    DiffusionBC,
    ImplicitBC,
    LatentBC,
    MixtureDensityBC,
)
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.inspection import ActionDistributionDisplay

# Some fits here stop at max_iter while their loss still falls a little;
# scikit-learn says so with a ConvergenceWarning each time, and the output
# shows what they reached.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y, groups = make_obstacle(n_episodes=30, random_state=0)

# Smaller networks than the defaults, so that the example runs in seconds.
policies = {
    "BCRegressor(loss='gaussian')": BCRegressor(
        loss="gaussian", hidden_layer_sizes=(64, 64)),
    "MixtureDensityBC": MixtureDensityBC(hidden_layer_sizes=(64, 64)),
    "DiffusionBC": DiffusionBC(hidden_layer_sizes=(128, 128)),
    "AutoregressiveBC": AutoregressiveBC(hidden_layer_sizes=(64, 64)),
    "LatentBC": LatentBC(latent_dim=2, hidden_layer_sizes=(64, 64)),
    "ImplicitBC": ImplicitBC(hidden_layer_sizes=(64, 64), max_iter=50),
}
states = [[0.0, 0.0], [0.4, 0.5], [0.4, -0.5]]

# Two rows of three panels: six side by side would be shrunk to fit the page.
fig, axes = plt.subplots(2, 3, figsize=(10, 7.5), sharey=True)
axes = axes.ravel()
for ax, (name, policy) in zip(axes, policies.items()):
    policy.set_params(random_state=0).fit(X, y)
    success = evaluate_policy(policy, OBSTACLE, n_episodes=20,
                              random_state=1).success_rate
    print(f"{name:<30} success rate {success:.2f}")
    ActionDistributionDisplay.from_estimator(
        policy, states, expert=ObstacleExpert(), random_state=0,
        name=f"{name}\nsuccess {success:.2f}", ax=ax,
    )
for i, ax in enumerate(axes):
    if i % 3:
        ax.set_ylabel("")
    if i:
        ax.get_legend().remove()
fig.tight_layout()
plt.show()

# %%
# The Gaussian policy's draws at the start state spread across both modes
# and the gap between them, and its ``predict`` (the mean) is 0: it hits the
# obstacle every time. The mixture puts a component on each mode and
# predicts the mean of the one at the mixture's highest peak; the
# autoregressive (binned) policy draws the two modes and nothing between;
# the diffusion policy draws mostly on them (a few between at these small
# settings, 4% with the defaults); the conditional VAE's draws are
# blurrier, but its ``predict`` (the densest of its decoded prior draws)
# commits to one side. Away from the start, every policy agrees with the
# expert: there is only one mode to learn there.
# ``benchmarks/bench_multimodal.py`` measures this over 10 seeds with the
# library's defaults.
