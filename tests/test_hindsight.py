"""HindsightRelabeler, and goal-conditioned policies in goal-reaching envs."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_il import BCRegressor
from sklearn_il.augment import HindsightRelabeler
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import POINT_REACH, PointReachEnv, PointReachExpert
from sklearn_il.evaluation import evaluate_policy

from .conftest import DictPointReach, assert_round_trips

GROUPS = np.repeat([0, 1, 2], [5, 1, 6])  # episode 1 has a single row


def indexed():
    """X whose first column is the row index, so goals can be traced to rows."""
    X = np.c_[np.arange(12.0), np.ones(12)]
    return X, np.arange(12.0) * 10


@pytest.mark.parametrize("strategy, window", [("future", None), ("window", 2), ("final", None)])
def test_goals_are_later_states_of_the_same_episode(strategy, window):
    X, y = indexed()
    n_relabels = 1 if strategy == "final" else 3
    relabeler = HindsightRelabeler(strategy, window=window, n_relabels=n_relabels, random_state=0)
    X_goal, y_goal = relabeler.fit_resample(X, y, GROUPS)
    source, goal = X_goal[:, 0].astype(int), X_goal[:, 2].astype(int)
    end = np.array([4, 5, 11])[GROUPS[source]]
    # Every row but each episode's last (and the single-row episode) is relabeled.
    assert sorted(set(source)) == [0, 1, 2, 3, 6, 7, 8, 9, 10]
    assert len(source) == 9 * n_relabels and relabeler.n_goal_features_ == 2
    np.testing.assert_array_equal(y_goal, y[source])  # the action taken at s_t
    assert (goal > source).all() and (goal <= end).all()
    if strategy == "window":
        assert (goal <= source + 2).all()
    if strategy == "final":
        np.testing.assert_array_equal(goal, end)
    if strategy == "future":  # reaches beyond the next row
        assert (goal > source + 1).any()


def test_goal_fn_picks_the_goal_features_and_labels_pass_through():
    X, _ = indexed()
    labels = np.array(["left", "right"] * 6)
    X_goal, y_goal = HindsightRelabeler("final", goal_fn=lambda s: s[:, :1] * 2).fit_resample(
        X, labels, GROUPS)
    assert X_goal.shape == (9, 3) and y_goal.dtype.kind == "U"
    np.testing.assert_array_equal(X_goal[:, 2], 2 * np.array([4, 4, 4, 4, 11, 11, 11, 11, 11]))


def test_errors_name_the_problem():
    X, y = indexed()
    with pytest.raises(ValueError, match="needs `groups`.*requests groups by default"):
        HindsightRelabeler().fit_resample(X, y)
    with pytest.raises(ValueError, match="window is the horizon"):
        HindsightRelabeler("window").fit_resample(X, y, GROUPS)
    with pytest.raises(ValueError, match="window is the horizon"):
        HindsightRelabeler("future", window=3).fit_resample(X, y, GROUPS)
    with pytest.raises(ValueError, match="n_relabels"):
        HindsightRelabeler("final", n_relabels=2).fit_resample(X, y, GROUPS)
    with pytest.raises(ValueError, match="at least 2 rows"):
        HindsightRelabeler().fit_resample(X[:3], y[:3], [0, 1, 2])
    bad = X.copy()
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        HindsightRelabeler().fit_resample(bad, y, GROUPS)


@settings(max_examples=8, deadline=None)
@given(lengths=st.lists(st.integers(1, 6), min_size=1, max_size=4).filter(lambda ls: max(ls) > 1),
       n_features=st.integers(1, 3), n_relabels=st.integers(1, 3),
       strategy=st.sampled_from(["future", "window", "final"]))
def test_shapes_reproducibility_and_round_trips(lengths, n_features, n_relabels, strategy):
    groups = np.repeat(np.arange(len(lengths)), lengths)
    X = np.random.default_rng(0).normal(size=(len(groups), n_features))
    y = np.random.default_rng(1).normal(size=(len(groups), 2))
    relabeler = HindsightRelabeler(strategy, window=2 if strategy == "window" else None,
                                   n_relabels=1 if strategy == "final" else n_relabels,
                                   random_state=0)
    X_goal, y_goal = relabeler.fit_resample(X, y, groups)
    n_rows = (len(groups) - len(lengths)) * (1 if strategy == "final" else n_relabels)
    assert X_goal.shape == (n_rows, 2 * n_features) and y_goal.shape == (n_rows, 2)
    assert X_goal.dtype == y_goal.dtype == np.float64
    assert_round_trips(relabeler, lambda r: r.fit_resample(X, y, groups), refit=lambda r: r)


@pytest.fixture(scope="module")
def play():
    """Undirected play on the goal-reaching task: uniformly random actions."""
    rng = np.random.default_rng(0)
    return collect_demonstrations(POINT_REACH, lambda X: rng.uniform(-1, 1, (len(X), 2)),
                                  n_episodes=100, random_state=0)


@pytest.mark.slow
def test_relabeled_play_reaches_goals_the_raw_play_never_aimed_at(play):
    policy = BCRegressor(hidden_layer_sizes=(64, 64), random_state=0)
    raw = clone(policy).fit(play.X, play.y)
    X_goal, y_goal = HindsightRelabeler("window", window=1).fit_resample(
        play.X[:, :2], play.y, play.groups)
    relabeled = clone(policy).fit(X_goal, y_goal)
    assert evaluate_policy(raw, POINT_REACH, 20, random_state=1).success_rate <= 0.2
    assert evaluate_policy(relabeled, POINT_REACH, 20, random_state=1).success_rate >= 0.8


def test_a_goal_env_shows_the_policy_its_observation_and_goal():
    expert = PointReachExpert()
    on_box = evaluate_policy(expert, PointReachEnv(), 5, random_state=0)
    on_dict = evaluate_policy(expert, DictPointReach(), 5, random_state=0)
    assert on_dict.success_rate == on_box.success_rate == 1.0
    np.testing.assert_array_equal(on_dict.lengths, on_box.lengths)
    narrow = BCRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(
        np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="fitted on 2 observation features but the env's observations have 4"):
        evaluate_policy(narrow, DictPointReach(), 1)
