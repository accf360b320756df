"""Safe persistence: policies' round trips live in test_policies; here,
workflows (Pipelines, interactive wrappers) and tampered files."""

import os
import pickle
import subprocess
import sys
import zipfile

import gymnasium as gym
import numpy as np
import pytest

import skops.io
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import BCRegressor, DAggerWrapper, NoiseAugmenter, SequenceBC
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.io import dump, load, trusted_types
from sklearn_il.preprocessing import HistoryStacker

from .conftest import FAST


class _Payload:
    """Pickling this runs os.system on load: what a malicious pickle does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_disguised_as_a_policy_file_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "policy.safetensors"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match="not a valid policy file"):
        load(path)
    assert not marker.exists()


def test_dump_refuses_unfitted_and_foreign_estimators(tmp_path):
    from sklearn.linear_model import LinearRegression

    with pytest.raises(ValueError, match="not fitted"):
        dump(BCRegressor(), tmp_path / "a")
    with pytest.raises(TypeError, match="contains no fitted policy"):
        dump(LinearRegression().fit(np.ones((3, 1)), np.ones(3)), tmp_path / "b")
    with pytest.raises(TypeError, match="random_state"):
        policy = BCRegressor(**{**FAST, "random_state": np.random.RandomState(0)})
        dump(policy.fit(np.ones((4, 1)), np.ones(4)), tmp_path / "c")


def test_pipelines_round_trip_with_their_policies(tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    pipelines = [
        make_pipeline(StandardScaler(), BCRegressor(**FAST)).fit(X, y),
        make_pipeline(HistoryStacker(n_frames=2), SequenceBC(n_frames=2, **FAST)).fit(
            X, y, historystacker__groups=groups),
        make_imb_pipeline(NoiseAugmenter(random_state=0), BCRegressor(**FAST)).fit(X, y),
    ]
    for i, pipeline in enumerate(pipelines):
        path = tmp_path / f"pipeline-{i}.zip"
        dump(pipeline, path)
        loaded = load(path)
        assert type(loaded) is type(pipeline) and loaded is not pipeline
        rows = X[:20] if i != 1 else loaded[0].transform(X[:20], groups=groups[:20])
        expected = pipeline.predict(X[:20]) if i != 1 else pipeline[-1].predict(rows)
        got = loaded.predict(X[:20]) if i != 1 else loaded[-1].predict(rows)
        np.testing.assert_array_equal(got, expected)


def _dagger(**params):
    params = {"env": OBSTACLE, "expert": ObstacleExpert(), **params}
    return DAggerWrapper(BCRegressor(**FAST), n_episodes_per_iter=2, n_envs=2, random_state=0,
                         **params)


def test_a_labelling_session_resumes_in_a_new_process(tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    # Round 1 and 2 here: initial data, then states labelled by the expert.
    session = _dagger(n_iter=0).partial_fit(X, y, groups=groups)
    states, ids = session.collect_states(random_state=1)
    session.partial_fit(states, ObstacleExpert().predict(states), groups=ids)
    path = tmp_path / "session.zip"
    dump(session, path)
    # Round 3 continues in another process, from the file alone.
    script = f"""
import numpy as np
from sklearn_il.envs import ObstacleExpert
from sklearn_il.io import dump, load, trusted_types
session = load({str(path)!r})
states, ids = session.collect_states(random_state=2)
session.partial_fit(states, ObstacleExpert().predict(states), groups=ids)
dump(session, {str(tmp_path / "after.zip")!r})
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    resumed = load(tmp_path / "after.zip")
    # The same as a session that never stopped.
    states, ids = session.collect_states(random_state=2)
    session.partial_fit(states, ObstacleExpert().predict(states), groups=ids)
    for name in ("X_", "y_", "groups_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(session, name))
    assert [r["iteration"] for r in resumed.history_] == [1, 2, 3]
    np.testing.assert_equal(resumed.history_, session.history_)  # NaN returns equal too
    np.testing.assert_array_equal(resumed.predict(X[:10]), session.predict(X[:10]))


def test_a_workflow_with_a_foreign_type_is_refused_before_anything_is_built(tmp_path):
    path = tmp_path / "pipeline.skops"
    # A skops file holding an object of a class from outside the trusted packages.
    path.write_bytes(skops.io.dumps({"payload": _Payload(str(tmp_path / "pwned"))}))
    with pytest.raises(ValueError, match=r"refused: \['tests\.test_io\._Payload'\]"):
        load(path)
    assert not (tmp_path / "pwned").exists()


def test_dump_names_what_cannot_be_written_safely(tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    session = DAggerWrapper(BCRegressor(**FAST), OBSTACLE, lambda X: -X[:, :1], n_iter=0)
    session.partial_fit(X, y, groups=groups)
    with pytest.raises(TypeError, match="cannot be written safely"):
        dump(session, tmp_path / "session.zip")
    assert not (tmp_path / "session.zip").exists()


class Controller:
    """A user's own expert class: the obstacle's expert, behind an interface
    of the user's."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def predict(self, X):
        return self.gain * ObstacleExpert().predict(X)


def test_a_session_with_your_own_expert_and_env_loads_when_its_types_are_trusted(
        tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    session = DAggerWrapper(BCRegressor(**FAST), gym.make(OBSTACLE), Controller(gain=0.5),
                            n_iter=1, n_episodes_per_iter=2, n_envs=2, random_state=0)
    session.fit(X, y, groups=groups)
    path = tmp_path / "session.skops"
    dump(session, path)
    foreign = sorted(set(skops.io.get_untrusted_types(file=path)) - set(trusted_types(path)))
    assert "tests.test_io.Controller" in foreign
    assert all(t.startswith(("tests.", "gymnasium.")) for t in foreign), foreign
    # Refused until trusted by name, the foreign types listed in the message.
    with pytest.raises(ValueError, match=r"refused: \[.*'tests\.test_io\.Controller'"):
        load(path)
    script = f"""
import numpy as np
from sklearn_il.io import load
session = load({str(path)!r}, trusted={foreign!r})
assert type(session.expert).__name__ == "Controller" and session.expert.gain == 0.5
np.save({str(tmp_path / "out.npy")!r}, session.predict(np.load({str(tmp_path / "X.npy")!r})))
"""
    np.save(tmp_path / "X.npy", X)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=_ROOT)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), session.predict(X))


_ROOT = os.path.dirname(os.path.dirname(__file__))


def test_a_killed_run_resumes_from_its_checkpoint(tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    checkpoint = tmp_path / "run.zip"
    # The run, with the user's own expert class and env instance, is killed
    # once its checkpoint holds the initial data and one round.
    script = f"""
import gymnasium as gym
import numpy as np
from sklearn_il import BCRegressor, DAggerWrapper
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from tests.conftest import FAST

class MyController:  # tests.test_io.Controller's behaviour, in a class of its own
    def predict(self, X):
        return ObstacleExpert().predict(X)

X, y, groups = make_obstacle(n_episodes=6, random_state=0)
DAggerWrapper(BCRegressor(**FAST), gym.make(OBSTACLE), MyController(), n_iter=200,
              n_episodes_per_iter=2, n_envs=2, random_state=0,
              checkpoint={str(checkpoint)!r}).fit(X, y, groups=groups)
"""
    run = subprocess.Popen([sys.executable, "-c", script], cwd=_ROOT)
    try:
        while True:
            assert run.poll() is None, "the run ended before it was killed"
            if checkpoint.exists() and len(load(checkpoint).history_) >= 2:
                break
    finally:
        run.kill()
        run.wait()
    saved = load(checkpoint)  # no foreign type to trust: the expert and env are left out
    assert saved.expert is None and saved.env is None
    rounds_done = len(saved.history_)
    assert 2 <= rounds_done < 201
    n_iter = rounds_done + 1  # resume, and run two rounds more
    # Resumed with this process's own expert and env, as the user would.
    resumed = _dagger(n_iter=n_iter, checkpoint=checkpoint, expert=Controller(),
                      env=gym.make(OBSTACLE)).fit(X, y, groups=groups)
    uninterrupted = _dagger(n_iter=n_iter, expert=Controller()).fit(X, y, groups=groups)
    assert len(resumed.history_) == n_iter + 1
    np.testing.assert_equal(resumed.history_, uninterrupted.history_)
    for name in ("X_", "y_", "groups_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(uninterrupted, name))
    # Another run's checkpoint is not taken for this one's.
    with pytest.raises(ValueError, match="different DAggerWrapper"):
        _dagger(n_iter=n_iter, checkpoint=checkpoint).fit(X[:50], y[:50], groups=groups[:50])


def _every_estimator(X, y, groups):
    """Each public estimator (and composite) fitted small, by name."""
    from sklearn.model_selection import GridSearchCV, GroupKFold

    from sklearn_il import CorrectiveAugmenter, DARTWrapper, HistoryStacker
    from sklearn_il.dynamics import state_pairs, transitions

    from .test_bad_input import POLICIES, fit

    stacked = HistoryStacker(n_frames=1).fit_transform(X, groups=groups)
    fitted = {name: fit(name, X=stacked if name.startswith("SequenceBC") else X, y=y,
                        groups=groups)
              for name in POLICIES if "Dynamics" not in name and name != "BCClassifier"}
    fitted["BCClassifier"] = fit("BCClassifier", X=X, y=(y[:, 0] > 0).astype(int), groups=groups)
    state_action, next_state, _ = transitions(X, y, groups)
    fitted["DynamicsRegressor"] = fit("DynamicsRegressor", X=state_action, y=next_state,
                                      groups=None)
    pairs, rows = state_pairs(X, groups)
    fitted["InverseDynamicsRegressor"] = fit("InverseDynamicsRegressor", X=pairs, y=y[rows],
                                             groups=None)
    fitted["DAggerWrapper"] = _dagger(n_iter=1).fit(X, y, groups=groups)
    fitted["DARTWrapper"] = DARTWrapper(BCRegressor(**FAST), OBSTACLE, ObstacleExpert(), n_iter=1,
                                        n_episodes_per_iter=2, n_envs=2, random_state=0
                                        ).fit(X, y, groups=groups)
    augmenter = CorrectiveAugmenter(random_state=0)
    augmenter.fit_resample(X, y, groups=groups)
    fitted["CorrectiveAugmenter"] = augmenter
    fitted["NoiseAugmenter"] = NoiseAugmenter(random_state=0)
    fitted["HistoryStacker"] = HistoryStacker(n_frames=1).fit(X)
    fitted["Pipeline"] = make_pipeline(StandardScaler(), BCRegressor(**FAST)).fit(X, y)
    fitted["imblearn Pipeline"] = make_imb_pipeline(NoiseAugmenter(random_state=0),
                                                    BCRegressor(**FAST)).fit(X, y)
    fitted["GridSearchCV"] = GridSearchCV(
        BCRegressor(**FAST), {"alpha": [1e-4, 1e-3]}, cv=GroupKFold(2)).fit(X, y, groups=groups)
    return fitted


def _outputs(estimator, X, y, groups):
    """What an estimator computes, as a dict of arrays: predict (and sample),
    transform, resampled rows, or a fitted model's predictions."""
    from sklearn_il.preprocessing import stack_history

    if type(estimator).__name__ == "SequenceBC":
        X = stack_history(X, groups, estimator.n_frames)
    if type(estimator).__name__ == "DynamicsRegressor":
        X = np.hstack([X, y])
    if type(estimator).__name__ == "InverseDynamicsRegressor":
        X = np.hstack([X, X])
    out = {}
    if hasattr(estimator, "predict"):
        out["predict"] = estimator.predict(X)
    if hasattr(estimator, "sample"):
        out["sample"] = estimator.sample(X, n_samples=2, random_state=0)
    if hasattr(estimator, "transform"):
        out["transform"] = estimator.transform(X, groups=groups)
    if hasattr(estimator, "dynamics_"):  # fit_resample would refit it
        out["dynamics"] = estimator.dynamics_.predict(np.hstack([X, y]))
    elif hasattr(estimator, "fit_resample"):
        out["resampled"] = np.hstack(estimator.fit_resample(X, y, groups=groups)[:2])
    assert out, type(estimator).__name__
    return out


def test_every_estimator_round_trips_through_skops_in_a_fresh_process(tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    expected = {}
    for i, (name, estimator) in enumerate(_every_estimator(X, y, groups).items()):
        path = tmp_path / f"{i}.skops"
        skops.io.dump(estimator, path)
        with zipfile.ZipFile(path) as archive:  # no pickle anywhere in the file
            assert not [n for n in archive.namelist() if not n.endswith((".npy", ".json"))], name
            assert not any(b"pickle" in archive.read(n) for n in archive.namelist()
                           if n.endswith(".json")), name
        # Beyond skops' defaults: this library's types, and scikit-learn's
        # and imbalanced-learn's that skops does not list (GroupKFold).
        untrusted = skops.io.get_untrusted_types(file=path)
        assert untrusted == trusted_types(path), (name, untrusted)
        mine = [t for t in untrusted if t.startswith("sklearn_il.")]
        assert mine and set(mine) <= set(trusted_types()), (name, untrusted)
        assert set(untrusted) - set(mine) <= {
            "sklearn.model_selection._split.GroupKFold", "imblearn.pipeline.Pipeline",
            "sklearn.metrics._scorer._PassthroughScorer"}, name
        expected[str(path)] = _outputs(estimator, X, y, groups)
    script = """
import pickle, sys, numpy as np, skops.io
from sklearn_il.datasets import make_obstacle
from sklearn_il.io import trusted_types
from tests.test_io import _outputs
X, y, groups = make_obstacle(n_episodes=6, random_state=0)
out = {}
for path in sys.argv[1:]:
    estimator = skops.io.load(path, trusted=trusted_types(path))
    for key, value in _outputs(estimator, X, y, groups).items():
        np.save(f"{path}.{key}.npy", value)
"""
    subprocess.run([sys.executable, "-c", script, *expected], check=True, cwd=_ROOT)
    for path, outputs in expected.items():
        for key, value in outputs.items():
            np.testing.assert_array_equal(np.load(f"{path}.{key}.npy"), value, err_msg=path)
