"""
============================================================
History-conditioned policies: acting on what happened before
============================================================

Some demonstrators do not act on the present alone: an operator who reacts
with a delay, a hidden velocity, an intention formed earlier. Here the
demonstrator's action is the observation it saw two steps earlier. A policy
of the current observation cannot know that value; one that is given the
last frames (``HistoryStacker``), or reads them with an encoder
(``SequenceBC``: a GRU, or a small causal transformer), can.

The panel shows one held-out episode: the demonstrator's actions and each
policy's predictions.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline

from sklearn_il import BCRegressor, SequenceBC
from sklearn_il.preprocessing import HistoryStacker, stack_history


def delayed_operator(n_episodes, seed, length=30):
    """Observations, and actions equal to the observation two steps before."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(scale=0.3, size=(n_episodes * length, 1))
    X = np.cumsum(steps, axis=0) % 2 - 1
    groups = np.repeat(np.arange(n_episodes), length)
    return X, stack_history(X, groups, 2)[:, 2], groups


X, y, groups = delayed_operator(60, seed=0)
X_test, y_test, groups_test = delayed_operator(1, seed=1)
small = dict(hidden_layer_sizes=(64, 64), random_state=0)
policies = {
    "BC, one frame": BCRegressor(**small).fit(X, y),
    "BC on HistoryStacker(2)": make_pipeline(
        HistoryStacker(2), BCRegressor(**small)),
    "SequenceBC(2), GRU": make_pipeline(
        HistoryStacker(2), SequenceBC(n_frames=2, **small)),
    "SequenceBC(2), transformer": make_pipeline(
        HistoryStacker(2),
        SequenceBC(n_frames=2, encoder="transformer", **small)),
}
for name, policy in list(policies.items())[1:]:
    policy.fit(X, y, historystacker__groups=groups)

# %%
fig, ax = plt.subplots(figsize=(8, 4))
ax.plot(y_test, color="black", linewidth=3, alpha=0.3, label="demonstrator")
for name, policy in policies.items():
    if isinstance(policy, BCRegressor):
        predicted = policy.predict(X_test)
    else:  # stack the held-out episode's history, then predict
        stacked = policy[0].transform(X_test, groups=groups_test)
        predicted = policy[1:].predict(stacked)
    ax.plot(predicted, label=f"{name} (R² {r2_score(y_test, predicted):.2f})")
ax.set(xlabel="time step", ylabel="action",
       title="acting on the observation two steps back")
ax.legend(loc="best", fontsize="small")
plt.show()
