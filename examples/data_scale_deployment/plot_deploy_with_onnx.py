"""
From a fitted policy to a controller: ONNX, and a loop without sklearn_il
==========================================================================

A policy that works in the notebook goes next onto the machine that runs
the controller, where scikit-learn, skorch and this library are not
installed. :func:`sklearn_il.io.export` writes ``predict`` as one ONNX
graph: float32 observations in, actions in the units of ``y`` out, the
scalers of the Pipeline and the policy's scaling inside it. Here a
behaviour-cloned swing-up controller for ``Pendulum-v1`` is exported, and
a separate Python process that imports only numpy, gymnasium and
onnxruntime runs it in closed loop. Its returns are those of
:func:`~sklearn_il.evaluation.evaluate_policy` on the same episodes.
"""

# %%
# Fit a policy on an expert's demonstrations
# ------------------------------------------
import json
import os
import subprocess
import sys
import tempfile
import time

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime as ort
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import BCRegressor
from sklearn_il._seeding import SeedStreams
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import PendulumSwingUp
from sklearn_il.io import export

demos = collect_demonstrations("Pendulum-v1", PendulumSwingUp(),
                               n_episodes=20, random_state=0)
policy = make_pipeline(StandardScaler(), BCRegressor(random_state=0))
policy.fit(demos.X, demos.y)

# %%
# Export it, and check the graph against ``predict``
# --------------------------------------------------
# The graph takes any number of rows; a controller passes one.
folder = tempfile.mkdtemp()
path = os.path.join(folder, "pendulum.onnx")
export(policy, path)
session = ort.InferenceSession(path)
rows = demos.X[:1000].astype(np.float32)
graph_actions = session.run(None, {"observations": rows})[0]
print(f"largest difference from predict on 1,000 rows: "
      f"{np.abs(graph_actions - policy.predict(rows)).max():.1e}")

start = time.perf_counter()
for row in rows[:200]:
    session.run(None, {"observations": row[None]})
graph_time = (time.perf_counter() - start) / 200
start = time.perf_counter()
for row in rows[:200]:
    policy.predict(row[None])
predict_time = (time.perf_counter() - start) / 200
print(f"one row through onnxruntime takes {graph_time / predict_time:.2f}"
      " times as long as through the Pipeline's predict")

# %%
# The controller: numpy, gymnasium and onnxruntime, nothing else
# ---------------------------------------------------------------
# This script runs in a process of its own; it checks that no module of
# this library was imported. It resets each episode with the seeds
# ``evaluate_policy(..., random_state=1)`` uses, and clips each action to
# the action space as the library's rollouts do.
CONTROLLER = """
import json, sys
import gymnasium as gym
import numpy as np
import onnxruntime as ort

session = ort.InferenceSession(sys.argv[1])
env = gym.make("Pendulum-v1")
low, high = env.action_space.low, env.action_space.high
returns, angles = [], []
for seed in json.loads(sys.argv[2]):
    obs, _ = env.reset(seed=seed)
    total, done, episode = 0.0, False, []
    while not done:
        batch = obs.astype(np.float32)[None]
        action = session.run(None, {"observations": batch})[0]
        obs, reward, terminated, truncated, _ = env.step(
            np.clip(action.reshape(env.action_space.shape), low, high))
        total += float(reward)
        episode.append(float(np.arctan2(obs[1], obs[0])))
        done = terminated or truncated
    returns.append(total)
    angles.append(episode)
assert not any(name.startswith("sklearn_il") for name in sys.modules)
print(json.dumps({"returns": returns, "angles": angles}))
"""

n_episodes = 5
seeds = [int(seed) for seed in SeedStreams(1).seeds("rollout", n_episodes)]
run = subprocess.run(
    [sys.executable, "-c", CONTROLLER, path, json.dumps(seeds)],
    check=True, capture_output=True, text=True)
controller = json.loads(run.stdout)
evaluation = evaluate_policy(policy, "Pendulum-v1", n_episodes=n_episodes,
                             random_state=1)
for graph_return, library_return in zip(controller["returns"],
                                        evaluation.returns):
    print(f"return through onnxruntime {graph_return:9.3f}   "
          f"evaluate_policy {library_return:9.3f}")

# %%
# The episodes the controller ran
# -------------------------------
fig, ax = plt.subplots(figsize=(6, 3.5))
for episode in controller["angles"]:
    ax.plot(np.abs(episode))
ax.set_xlabel("step")
ax.set_ylabel("|angle from upright| (rad)")
ax.set_title("Pendulum-v1 swung up by the exported policy (onnxruntime)")
fig.tight_layout()
plt.show()
