"""sklearn_il.io.export: each policy's predict as one ONNX or TorchScript graph,
checked against predict and in a control loop that imports no sklearn_il."""

import json
import os
import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

from sklearn_il import BCRegressor, HistoryStacker, NoiseAugmenter
from sklearn_il._seeding import SeedStreams
from sklearn_il.datasets import collect_demonstrations, make_obstacle
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import PendulumSwingUp
from sklearn_il.io import export
from sklearn_il.preprocessing import stack_history

from .conftest import FAST, TINY
from .test_bad_input import POLICIES, make

# 1,000 rows of the obstacle's demonstrations: the training distribution.
X, Y, GROUPS = make_obstacle(n_episodes=34, random_state=0)
X, Y, GROUPS = X[:1000], Y[:1000], GROUPS[:1000]
EXPORTABLE = [name for name in POLICIES if "Dynamics" not in name and name != "ImplicitBC"]


def _run(path, fmt, rows):
    """The exported graph's outputs on float32 ``rows``, as a dict."""
    rows = np.asarray(rows, dtype=np.float32)
    if fmt == "onnx":
        session = ort.InferenceSession(str(path))
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(None, {"observations": rows})))
    graph = torch.jit.load(str(path))
    metadata = _metadata(path, fmt)
    return dict(zip(metadata["outputs"], (t.numpy() for t in graph(torch.from_numpy(rows)))))


def _metadata(path, fmt):
    if fmt == "onnx":
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        return json.loads(props["sklearn_il"])
    files = {"sklearn_il.json": ""}
    torch.jit.load(str(path), _extra_files=files)
    return json.loads(files["sklearn_il.json"])


def assert_close(got, expected):
    """Within 1e-5 of the actions' scale: float32 rounding, not a different action."""
    expected = np.asarray(expected, dtype=np.float64)
    assert got.dtype == np.float32 and got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def _fitted(name):
    """The policy named (``"BCRegressor-mse"``: with the MSE loss) fitted, and its rows."""
    policy = make("BCRegressor", loss="mse") if name == "BCRegressor-mse" else make(name)
    if name == "BCClassifier":
        return policy.fit(X, (Y > 0).astype(int)), X
    rows = stack_history(X, GROUPS, 1) if name.startswith("SequenceBC") else X
    return policy.fit(rows, Y, groups=GROUPS), rows


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
@pytest.mark.parametrize("name", EXPORTABLE + ["BCRegressor-mse"])
def test_the_exported_graph_computes_predict(tmp_path, name, fmt):
    policy, rows = _fitted(name)
    path = tmp_path / f"policy.{fmt}"
    export(policy, path, format=fmt)
    out = _run(path, fmt, rows)
    metadata = _metadata(path, fmt)
    assert metadata["n_features_in"] == rows.shape[1]
    if name == "BCClassifier":
        assert metadata["classes"] == [0, 1]
        np.testing.assert_array_equal(np.array(metadata["classes"])[out["label"]],
                                      policy.predict(rows))
        np.testing.assert_allclose(out["probabilities"], policy.predict_proba(rows), atol=1e-6)
        return
    assert_close(out["actions"], policy.predict(rows))
    # One row alone, as a controller asks: the same action.
    assert_close(_run(path, fmt, rows[:1])["actions"], policy.predict(rows[:1]))


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_pipeline_folds_its_scalers_and_takes_stacked_frames(tmp_path, fmt):
    scaled = make_pipeline(StandardScaler(), MinMaxScaler(), MaxAbsScaler(), RobustScaler(),
                           make("MixtureDensityBC")).fit(X, Y)
    export(scaled, tmp_path / "scaled", format=fmt)
    assert_close(_run(tmp_path / "scaled", fmt, X)["actions"], scaled.predict(X))
    # Through a search and an imbalanced-learn Pipeline (samplers act in fit only).
    search = GridSearchCV(make_imb_pipeline(NoiseAugmenter(random_state=0), StandardScaler(),
                                            BCRegressor(**FAST)),
                          {"bcregressor__alpha": [1e-4]}, cv=2).fit(X, Y)
    export(search, tmp_path / "search", format=fmt)
    assert_close(_run(tmp_path / "search", fmt, X)["actions"], search.predict(X))
    # A scaler before HistoryStacker acts on every frame of the stacked input.
    history = make_pipeline(StandardScaler(), HistoryStacker(n_frames=2), RobustScaler(),
                            make("SequenceBC", n_frames=2))
    history.fit(X, Y, historystacker__groups=GROUPS)
    export(history, tmp_path / "history", format=fmt)
    assert _metadata(tmp_path / "history", fmt)["n_frames"] == 2
    stacked = history[2].transform(history[1].transform(history[0].transform(X), groups=GROUPS))
    assert_close(_run(tmp_path / "history", fmt, stack_history(X, GROUPS, 2))["actions"],
                 history[-1].predict(stacked))


def test_what_cannot_be_one_graph_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="ImplicitBC cannot be exported as one graph"):
        export(make("ImplicitBC").fit(X, Y), tmp_path / "p.onnx")
    with pytest.raises(ValueError, match=r"step 'pca' \(PCA\) cannot be folded"):
        export(make_pipeline(PCA(1), BCRegressor(**TINY)).fit(X, Y), tmp_path / "p.onnx")
    with pytest.raises(ValueError, match="format='tflite'"):
        export(make("BCRegressor").fit(X, Y), tmp_path / "p", format="tflite")
    with pytest.raises(ValueError, match="not a policy of this library"):
        export(make_pipeline(StandardScaler(), PCA(1)).fit(X, Y), tmp_path / "p.onnx")
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        export(BCRegressor(), tmp_path / "p.onnx")
    assert not os.listdir(tmp_path)


# The control loop of a controller: numpy, gymnasium and a graph runtime only.
_CONTROLLER = """
import json, sys
import gymnasium as gym
import numpy as np
fmt, path, seeds = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
if fmt == "onnx":
    import onnxruntime as ort
    session = ort.InferenceSession(path)
    act = lambda obs: session.run(None, {"observations": obs})[0]
else:
    import torch
    graph = torch.jit.load(path)
    act = lambda obs: graph(torch.from_numpy(obs))[0].numpy()
env = gym.make("Pendulum-v1")
space = env.action_space
returns = []
for seed in seeds:
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        action = act(obs.astype(np.float32)[None]).reshape(space.shape)
        obs, reward, terminated, truncated, _ = env.step(
            np.clip(action, space.low, space.high).astype(space.dtype))
        total += float(reward)
        done = terminated or truncated
    returns.append(total)
assert not any(name.startswith("sklearn_il") for name in sys.modules)
print(json.dumps(returns))
"""


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_a_control_loop_on_the_graph_alone_gets_evaluate_policys_returns(tmp_path, fmt):
    demos = collect_demonstrations("Pendulum-v1", PendulumSwingUp(), n_episodes=4, random_state=0)
    policy = make_pipeline(StandardScaler(), BCRegressor(**FAST)).fit(demos.X, demos.y)
    export(policy, tmp_path / "policy", format=fmt)
    expected = evaluate_policy(policy, "Pendulum-v1", n_episodes=3, random_state=1).returns
    seeds = [int(s) for s in SeedStreams(1).seeds("rollout", 3)]
    run = subprocess.run([sys.executable, "-c", _CONTROLLER, fmt, str(tmp_path / "policy"),
                          json.dumps(seeds)], check=True, capture_output=True, text=True)
    np.testing.assert_allclose(json.loads(run.stdout), expected, rtol=1e-5)
