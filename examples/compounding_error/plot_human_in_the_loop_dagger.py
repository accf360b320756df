"""
======================================================
DAgger with a human expert: label a CSV between rounds
======================================================

DAgger needs the expert to label the states the learner visits. When the
expert is a person, the loop runs one round at a time: the wrapper rolls out
the current policy and exports the states, the person labels them in a
spreadsheet, and ``partial_fit`` reads the labels back, aggregates them with
everything seen so far, and refits.

Here the "person" is the winding road's analytic expert reading the CSV, so
the example runs on its own; replace that one line with whatever your
labellers produce.
"""

import pathlib
import tempfile

import matplotlib.pyplot as plt
import pandas as pd

from sklearn_il import BCRegressor
from sklearn_il.datasets import make_winding_road
from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.interactive import DAggerWrapper

features = ["offset", "heading", "curvature", "curvature_ahead"]
X, y, groups = make_winding_road(n_episodes=1, random_state=0)
demonstrations = pd.DataFrame(X, columns=features)

# No expert to call: a human labels. n_iter=0, so fit trains on the
# demonstrations only.
dagger = DAggerWrapper(
    BCRegressor(hidden_layer_sizes=(64, 64), random_state=0),
    env=WINDING_ROAD,
    expert=None,
    n_iter=0,
    n_episodes_per_iter=2,
).fit(demonstrations, y.ravel(), groups)

folder = pathlib.Path(tempfile.mkdtemp())


def success_rate(policy):
    episodes = evaluate_policy(policy, WINDING_ROAD, 10, random_state=1)
    return episodes.success_rate


success = [success_rate(dagger)]
for round_ in range(3):
    # 1. Roll out the current policy; export the states it visited.
    states = dagger.collect_states(random_state=round_, as_frame=True)
    states.to_csv(folder / f"round_{round_}.csv", index=False)

    # 2. A person fills in the "steering" column (here: the analytic expert).
    table = pd.read_csv(folder / f"round_{round_}.csv")
    steering = WindingRoadExpert().predict(table[features].to_numpy())
    table["steering"] = steering.ravel()
    table.to_csv(folder / f"round_{round_}_labelled.csv", index=False)

    # 3. Read the labels back, aggregate and refit.
    labelled = pd.read_csv(folder / f"round_{round_}_labelled.csv")
    dagger.partial_fit(labelled[features], labelled["steering"],
                       groups=labelled["episode"])
    success.append(success_rate(dagger))

labels = [record["n_labels_total"] for record in dagger.history_]
print(pd.DataFrame({"expert labels": labels, "success rate": success}))

# %%
fig, ax = plt.subplots()
ax.plot(labels, success, marker="o")
ax.set(xlabel="expert labels so far", ylabel="success rate",
       ylim=(-0.05, 1.05),
       title="one demonstration, then three labelled rounds")
plt.show()
