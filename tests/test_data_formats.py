"""Demonstrations in and out: DataFrames, parquet and npz files, Minari datasets."""

import os

import numpy as np
import pandas as pd
import pytest

from sklearn_il import BCRegressor
from sklearn_il.datasets import Demonstrations, collect_demonstrations, load_minari
from sklearn_il.envs import OBSTACLE, POINT_REACH, ObstacleExpert, PointReachExpert
from sklearn_il.evaluation import evaluate_policy

from .conftest import DICT_POINT_REACH, FAST

FIELDS = ("observations", "actions", "episode_ids", "rewards", "terminated", "truncated",
          "final_observations", "successes")


@pytest.fixture(scope="module")
def demos():
    return collect_demonstrations(OBSTACLE, ObstacleExpert(), 4, random_state=0)


def assert_same(a, b, fields=FIELDS):
    for name in fields:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        np.testing.assert_array_equal(x, y, err_msg=name)


def test_dataframe_round_trip_sorts_by_step_and_keeps_names(demos):
    df = demos.to_dataframe()
    assert list(df.columns) == ["episode", "step", "obs_0", "obs_1", "action", "reward",
                                "terminated", "truncated"]
    assert len(df) == len(demos) and df["step"].iloc[0] == 0
    shuffled = df.sample(frac=1, random_state=0).rename(columns={"obs_0": "x", "obs_1": "y"})
    back = Demonstrations.from_dataframe(
        shuffled, ["x", "y"], "action", "episode", step_column="step", reward_column="reward",
        terminated_column="terminated", truncated_column="truncated")
    assert_same(back, demos, ("observations", "episode_ids", "rewards", "terminated", "truncated"))
    np.testing.assert_array_equal(back.actions, demos.actions.ravel())
    assert back.observation_names == ["x", "y"] and back.action_names == ["action"]
    assert list(back.to_dataframe().columns[2:4]) == ["x", "y"]


def test_dataframe_errors_name_the_problem(demos):
    df = demos.to_dataframe()
    with pytest.raises(TypeError, match="DataFrame"):
        Demonstrations.from_dataframe(df.to_numpy(), ["obs_0"], "action", "episode")
    with pytest.raises(ValueError, match="no column.*'speed'"):
        Demonstrations.from_dataframe(df, ["obs_0", "speed"], "action", "episode")
    # Episode 0's rows in two places, no step column to sort them.
    split = pd.concat([df.iloc[:5], df.iloc[40:], df.iloc[5:40]])
    with pytest.raises(ValueError, match="episode 0 are not contiguous.*step_column"):
        Demonstrations.from_dataframe(split, ["obs_0", "obs_1"], "action", "episode")
    twice = pd.concat([df, df.iloc[:1]])
    with pytest.raises(ValueError, match="episode 0 has step 0 twice"):
        Demonstrations.from_dataframe(twice, ["obs_0", "obs_1"], "action", "episode",
                                      step_column="step")
    text = df.assign(obs_1=df["obs_1"].astype(str))
    with pytest.raises(ValueError, match=r"observation_columns.*\['obs_1'\].*not numeric"):
        Demonstrations.from_dataframe(text, ["obs_0", "obs_1"], "action", "episode")


def test_string_episode_ids_and_a_policy_fitted_on_named_columns(demos):
    df = demos.to_dataframe().rename(columns={"obs_0": "position", "obs_1": "offset"})
    df["episode"] = "run-" + df["episode"].astype(str)
    named = Demonstrations.from_dataframe(df, ["position", "offset"], "action", "episode")
    assert named.groups.dtype.kind == "U"
    # Feature names travel: fitted on the frame's columns, it rolls out as is.
    policy = BCRegressor(**FAST).fit(df[["position", "offset"]], df["action"], groups=df["episode"])
    assert list(policy.feature_names_in_) == ["position", "offset"]
    result = evaluate_policy(policy, OBSTACLE, n_episodes=2, random_state=0)
    assert np.isfinite(result.mean_return)


@pytest.mark.parametrize("suffix", [".npz", ".parquet"])
def test_save_load_is_exact(demos, tmp_path, suffix):
    path = tmp_path / f"demos{suffix}"
    demos.save(path)
    back = Demonstrations.load(path)
    assert_same(back, demos)
    assert back.observation_names is None and back.action_names is None
    # Names and string ids too, and the parquet is an ordinary table.
    df = demos.to_dataframe()
    df["episode"] = "e" + df["episode"].astype(str)
    named = Demonstrations.from_dataframe(df, ["obs_0", "obs_1"], "action", "episode",
                                          reward_column="reward")
    named.save(path)
    back = Demonstrations.load(path)
    assert_same(back, named, FIELDS[:6])
    assert back.observation_names == ["obs_0", "obs_1"]
    if suffix == ".parquet":
        assert len(pd.read_parquet(path)) == len(demos)


def test_save_refuses_bad_paths_and_writes_atomically(demos, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"\.parquet or \.npz"):
        demos.save(tmp_path / "demos.csv")
    with pytest.raises(ValueError, match="does not exist"):
        demos.save(tmp_path / "missing" / "demos.npz")
    path = tmp_path / "demos.npz"
    demos.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        demos.take_episodes([0]).save(path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["demos.npz"]


def test_load_runs_no_code_from_the_file(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, observations=np.array([object()], dtype=object), actions=np.zeros(1),
             episode_ids=np.zeros(1))
    with pytest.raises(ValueError, match="allow_pickle"):
        Demonstrations.load(path)
    pd.DataFrame({"a": [1.0]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(ValueError, match="from_dataframe"):
        Demonstrations.load(tmp_path / "other.parquet")


@pytest.fixture
def minari_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    return tmp_path / "minari"


METADATA = dict(author="tests", author_email="tests@example.com",
                code_permalink="https://example.com", description="a test dataset")


def test_minari_round_trip_is_exact_and_the_policy_rolls_out(demos, minari_root):
    import minari

    demos.to_minari("sklearn_il/obstacle/expert-v0", env=OBSTACLE, **METADATA)
    data = load_minari("sklearn_il/obstacle/expert-v0")
    back = data.demonstrations
    assert_same(back, demos, ("rewards", "terminated", "truncated"))
    np.testing.assert_array_equal(back.observations, demos.observations)
    np.testing.assert_array_equal(back.final_observations, demos.final_observations)
    np.testing.assert_array_equal(back.actions, demos.actions)
    np.testing.assert_array_equal(back.episode_lengths(), demos.episode_lengths())
    assert data.env_spec.id == OBSTACLE
    # Minari itself reads what was written.
    episodes = list(minari.load_dataset("sklearn_il/obstacle/expert-v0").iterate_episodes())
    assert [len(e.rewards) for e in episodes] == demos.episode_lengths().tolist()
    # By path too; then fit and roll out in the recovered env.
    X, y, groups = load_minari(minari_root / "sklearn_il" / "obstacle" / "expert-v0",
                               return_X_y=True)
    policy = BCRegressor(**FAST).fit(X, y, groups=groups)
    result = evaluate_policy(policy, data.recover_environment(), n_episodes=2, random_state=0)
    assert len(result.returns) == 2 and np.isfinite(result.mean_return)


def test_minari_goal_env_rows_are_the_rollouts_flat_rows(minari_root):
    demos = collect_demonstrations(DICT_POINT_REACH, PointReachExpert(), 2, random_state=0)
    demos.to_minari("sklearn_il/dict-point-reach/expert-v0", env=DICT_POINT_REACH, **METADATA)
    data = load_minari("sklearn_il/dict-point-reach/expert-v0")
    back = data.demonstrations
    np.testing.assert_array_equal(back.observations, demos.observations)
    np.testing.assert_array_equal(back.final_observations, demos.final_observations)
    # Stored as the env's dicts (as d3rlpy's loader reads goal envs), which
    # join into the same rows.
    episode = next(data.dataset.iterate_episodes())
    n = demos.episode_lengths()[0]
    assert set(episode.observations) == {"observation", "desired_goal"}
    joined = np.concatenate([episode.observations["observation"],
                             episode.observations["desired_goal"]], axis=1)
    np.testing.assert_array_equal(joined[:n], demos.observations[:n])
    np.testing.assert_array_equal(joined[n], demos.final_observations[0])
    policy = BCRegressor(**FAST).fit(back.X, back.y, groups=back.groups)
    result = evaluate_policy(policy, data.recover_environment(), n_episodes=2, random_state=0)
    assert len(result.returns) == 2 and np.isfinite(result.mean_return)


def test_minari_errors(demos, minari_root):
    with pytest.raises(ValueError, match="download=True"):
        load_minari("nobody/nothing/here-v0")
    with pytest.raises(ValueError, match="not a Minari id"):
        demos.to_minari("no-version", env=OBSTACLE, **METADATA)
    with pytest.raises(ValueError, match="env=.*features"):
        demos.to_minari("sklearn_il/point-reach/wrong-v0", env=POINT_REACH, **METADATA)
    no_finals = Demonstrations(demos.X, demos.y, demos.groups)
    with pytest.raises(ValueError, match="final observation"):
        no_finals.to_minari("sklearn_il/obstacle/none-v0", env=OBSTACLE, **METADATA)
