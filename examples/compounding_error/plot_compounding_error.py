"""
==============================================================
Compounding error: O(eps H^2) for cloning, O(eps H) for DAgger
==============================================================

On the winding road the expert never errs, so its demonstrations sit exactly
on the centre line and show no recovery. A cloned policy makes small
mistakes; they carry it off the line, into states it has never seen, where
its mistakes grow, until it leaves the road. Counting every step after
leaving the road as cost 1 (the lecture's "if you fall off, assume the
worst"), the cost accumulated up to step ``H`` bends upwards for behaviour
cloning, while DAgger, which labels the states the learner itself reaches,
stays near zero.

Both policies are the same ``BCRegressor``; DAgger starts from the same
single demonstration and adds three rounds of two episodes of its own.
"""

import matplotlib.pyplot as plt

from sklearn_il import BCRegressor
from sklearn_il.datasets import make_winding_road
from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
from sklearn_il.inspection import CompoundingErrorDisplay
from sklearn_il.interactive import DAggerWrapper

expert = WindingRoadExpert()
X, y, groups = make_winding_road(n_episodes=1, random_state=0)

policy = BCRegressor(hidden_layer_sizes=(64, 64), random_state=0)
cloned = policy.fit(X, y)
dagger = DAggerWrapper(
    BCRegressor(hidden_layer_sizes=(64, 64), random_state=0),
    env=WINDING_ROAD,
    expert=expert,
    n_iter=3,
    n_episodes_per_iter=2,
    random_state=0,
).fit(X, y, groups)
print(f"expert labels: cloning {len(y)}, DAgger {len(dagger.y_)}")

# %%
# Left: the expected number of steps lost up to each step. Right: how far
# each policy's action is from what the expert would do, at the policy's own
# states, while its episodes last.
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for name, model in [("behaviour cloning", cloned), ("DAgger", dagger)]:
    for ax, kind in [(left, "cumulative_cost"), (right, "action_error")]:
        CompoundingErrorDisplay.from_estimator(
            model, WINDING_ROAD, expert, kind=kind, n_episodes=10,
            random_state=1, name=name, ax=ax,
        )
left.set_title("cost so far (1 per step off the road)")
right.set_title("action error at the policy's states")
fig.tight_layout()
plt.show()
