"""
==================================================================
f-divergence imitation: a unimodal policy that commits to one side
==================================================================

Behaviour cloning by maximum likelihood minimises the forward KL divergence
from the expert's actions to the policy's. It is mode covering: where the
expert passes the obstacle on either side, a Gaussian policy stretches over
both sides and the gap between them, and its mean drives into the
obstacle. The reverse KL is mode seeking: a policy that puts mass where the
expert never acts pays an unbounded price, one that misses a mode only a
bounded one. ``FDivergenceBC`` starts from the maximum-likelihood fit and
moves it to another f-divergence through the f-GAN game: a discriminator
estimates the divergence, the policy's reparameterised draws minimise it.

The panels show each Gaussian policy's draws (blue) at three states: the
start, where the expert's two modes meet, and a point on each side. The red
crosses are the expert's actions. The last panel is the reverse-KL game's
divergence estimate as it trains.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_il import BCRegressor, FDivergenceBC
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.inspection import ActionDistributionDisplay

X, y, groups = make_obstacle(n_episodes=50, random_state=0)

reverse_kl = FDivergenceBC(divergence="reverse_kl")
policies = {
    "forward KL\nBCRegressor(loss='gaussian')": BCRegressor(loss="gaussian"),
    "Jensen-Shannon\nFDivergenceBC('js')": FDivergenceBC(divergence="js"),
    "reverse KL\nFDivergenceBC('reverse_kl')": reverse_kl,
}
states = [[0.0, 0.0], [0.4, 0.5], [0.4, -0.5]]

n_panels = len(policies) + 1
fig, axes = plt.subplots(1, n_panels, figsize=(3.4 * n_panels, 3.8))
for ax, (name, policy) in zip(axes, policies.items()):
    policy.set_params(random_state=0).fit(X, y)
    success = evaluate_policy(policy, OBSTACLE, n_episodes=20,
                              random_state=1).success_rate
    print(f"{name.splitlines()[1]:<30} success rate {success:.2f}")
    ActionDistributionDisplay.from_estimator(
        policy, states, expert=ObstacleExpert(), random_state=0,
        name=f"{name}\nsuccess {success:.2f}", ax=ax,
    )
for ax in axes[:-1]:
    ax.set_ylim(-2.2, 2.2)
for ax in axes[1:-1]:
    ax.set_ylabel("")
    ax.get_legend().remove()

curve = reverse_kl.adversarial_loss_curve_
axes[-1].plot(100 * np.arange(len(curve)), curve)
axes[-1].set(xlabel="adversarial step", ylabel="divergence estimate",
             title="reverse KL game")
fig.tight_layout()
plt.show()

# %%
# Maximum likelihood spreads the Gaussian over both sides at the start
# state, and its mean, between them, hits the obstacle. After the game, the
# reverse-KL policy's draws at the start sit on one side only: it has
# committed, and passes. ``benchmarks/bench_fdivergence.py`` measures the
# success rate and the draws between the modes for every divergence over
# 10 seeds.
