"""Safe persistence: policies' round trips live in test_policies; here,
workflows (Pipelines, interactive wrappers) and tampered files."""

import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import skops.io
from imblearn.pipeline import make_pipeline as make_imb_pipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import BCRegressor, DAggerWrapper, NoiseAugmenter, SequenceBC
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.io import dump, load
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
    return DAggerWrapper(BCRegressor(**FAST), OBSTACLE, ObstacleExpert(), n_episodes_per_iter=2,
                         n_envs=2, random_state=0, **params)


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
from sklearn_il.io import dump, load
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


def test_a_workflow_with_a_foreign_type_is_refused_before_anything_is_built(tmp_path, obstacle_data):
    X, y, _ = obstacle_data
    path = tmp_path / "pipeline.zip"
    dump(make_pipeline(StandardScaler(), BCRegressor(**FAST)).fit(X, y), path)
    # Swap the skops member for one holding an object of a class from outside
    # the trusted packages.
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["workflow.skops"] = skops.io.dumps({"payload": _Payload(str(tmp_path / "pwned"))})
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
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


def test_a_killed_run_resumes_from_its_checkpoint(tmp_path, obstacle_data):
    X, y, groups = obstacle_data
    checkpoint = tmp_path / "run.zip"
    # The run is killed once its checkpoint holds the initial data and one round.
    script = f"""
import numpy as np
from sklearn_il import BCRegressor, DAggerWrapper
from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from tests.conftest import FAST
X, y, groups = make_obstacle(n_episodes=6, random_state=0)
DAggerWrapper(BCRegressor(**FAST), OBSTACLE, ObstacleExpert(), n_iter=200, n_episodes_per_iter=2,
              n_envs=2, random_state=0, checkpoint={str(checkpoint)!r}).fit(X, y, groups=groups)
"""
    run = subprocess.Popen([sys.executable, "-c", script], cwd=os.path.dirname(os.path.dirname(__file__)))
    try:
        while True:
            assert run.poll() is None, "the run ended before it was killed"
            if checkpoint.exists() and len(load(checkpoint).history_) >= 2:
                break
    finally:
        run.kill()
        run.wait()
    rounds_done = len(load(checkpoint).history_)
    assert 2 <= rounds_done < 201
    n_iter = rounds_done + 1  # resume, and run two rounds more
    resumed = _dagger(n_iter=n_iter, checkpoint=checkpoint).fit(X, y, groups=groups)
    uninterrupted = _dagger(n_iter=n_iter).fit(X, y, groups=groups)
    assert len(resumed.history_) == n_iter + 1
    np.testing.assert_equal(resumed.history_, uninterrupted.history_)
    for name in ("X_", "y_", "groups_"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(uninterrupted, name))
    # Another run's checkpoint is not taken for this one's.
    with pytest.raises(ValueError, match="different DAggerWrapper"):
        _dagger(n_iter=n_iter, checkpoint=checkpoint).fit(X[:50], y[:50], groups=groups[:50])
