"""
================================================
Hindsight relabeling: goals from undirected play
================================================

Play data aim at nothing: here a point moves under uniformly random
velocity commands. Cloned as it is, it teaches a policy to wander. But every
stretch of play demonstrates how to get from where it started to where it
ended up: ``HindsightRelabeler`` turns each row into "at ``s_t``, to reach
``s_{t+k}``, do ``a_t``", with the goal appended as new columns, and the
cloned policy becomes goal-conditioned.

Below, both policies are sent to the same four goals (crosses) from the
centre: the policy cloned from the raw play drifts, the one cloned from the
relabeled play goes where it is told.
"""

import matplotlib.pyplot as plt
import numpy as np

from sklearn_il import BCRegressor
from sklearn_il.augment import HindsightRelabeler
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import POINT_REACH, PointReachEnv

rng = np.random.default_rng(0)
play = collect_demonstrations(
    POINT_REACH, lambda X: rng.uniform(-1, 1, (len(X), 2)), n_episodes=40,
    random_state=0)
raw = BCRegressor(hidden_layer_sizes=(64, 64), random_state=0)
raw.fit(play.X, play.y)
# States are the positions (first two columns); the relabeler appends the
# goal.
relabeler = HindsightRelabeler("window", window=3, n_relabels=4,
                               random_state=0)
X_goal, y_goal = relabeler.fit_resample(play.X[:, :2], play.y, play.groups)
relabeled = BCRegressor(hidden_layer_sizes=(64, 64), random_state=0)
relabeled.fit(X_goal, y_goal)


def drive(policy, goal, steps=40):
    """Positions visited from the centre towards ``goal``."""
    env = PointReachEnv()
    obs, _ = env.reset(seed=0, options={"position": (0.0, 0.0), "goal": goal})
    path = [obs[:2]]
    for _ in range(steps):
        action = policy.predict(obs[None, :].astype(float))[0]
        obs, _, done, _, _ = env.step(action)
        path.append(obs[:2])
        if done:
            break
    return np.array(path)


# %%
goals = [(0.7, 0.6), (-0.6, 0.7), (-0.7, -0.5), (0.5, -0.7)]
fig, axes = plt.subplots(1, 2, figsize=(9, 4.5), sharey=True)
for ax, (name, policy) in zip(axes, [("raw play", raw),
                                      ("relabeled play", relabeled)]):
    for goal in goals:
        path = drive(policy, goal)
        (line,) = ax.plot(path[:, 0], path[:, 1])
        ax.scatter(*goal, marker="x", s=80, color=line.get_color())
    ax.set(xlim=(-1, 1), ylim=(-1, 1), aspect="equal", title=f"BC on {name}")
fig.tight_layout()
plt.show()
