"""HistoryStacker, SequenceBC, and rollouts that keep the history."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline

from sklearn_il import BCRegressor, SequenceBC
from sklearn_il.envs import WINDING_ROAD
from sklearn_il.evaluation import rollout
from sklearn_il.preprocessing import HistoryStacker, stack_history

from .conftest import FAST, assert_round_trips


def delayed(n_episodes, length, seed):
    """Episodes whose action is the observation two steps earlier: X, y, groups."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_episodes * length, 1))
    groups = np.repeat(np.arange(n_episodes), length)
    return X, stack_history(X, groups, 2)[:, 2], groups


def test_stacking_stays_within_episodes_and_pads_with_the_first_frame():
    X = np.arange(1.0, 7.0)[:, None]
    stacked = HistoryStacker(n_frames=2).fit_transform(X, groups=[0, 0, 0, 0, 1, 1])
    np.testing.assert_array_equal(stacked, [[1, 1, 1], [2, 1, 1], [3, 2, 1], [4, 3, 2],
                                            [5, 5, 5], [6, 5, 5]])
    names = HistoryStacker(n_frames=1).fit(np.zeros((2, 2))).get_feature_names_out()
    assert names.tolist() == ["x0", "x1", "x0_lag1", "x1_lag1"]


def test_errors_name_the_problem():
    stacker = HistoryStacker(n_frames=2).fit(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="needs `groups`.*enable_metadata_routing=True\\): the step requests"):
        stacker.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="X has 3 features"):
        stacker.transform(np.zeros((4, 3)), groups=[0, 0, 1, 1])
    with pytest.raises(ValueError, match="split into 2 separate runs"):
        stacker.transform(np.zeros((4, 2)), groups=[0, 1, 1, 0])
    with pytest.raises(ValueError, match="not a multiple of n_frames \\+ 1 = 3"):
        SequenceBC(n_frames=2, **FAST).fit(np.zeros((6, 4)), np.zeros(6))
    with pytest.raises(ValueError, match="n_heads=3 does not divide.*hidden_layer_sizes\\[0\\]=16"):
        SequenceBC(n_frames=2, encoder="transformer", n_heads=3, **FAST).fit(np.zeros((6, 3)),
                                                                            np.zeros(6))
    with pytest.raises(ValueError, match="encoder"):
        SequenceBC(encoder="lstm", **FAST).fit(np.zeros((8, 4)), np.zeros(8))


@pytest.mark.parametrize("policy", [
    BCRegressor(**{**FAST, "max_iter": 200}),
    SequenceBC(n_frames=2, **{**FAST, "max_iter": 200}),
    SequenceBC(n_frames=2, encoder="transformer", n_layers=1, **{**FAST, "max_iter": 200}),
], ids=["BCRegressor", "SequenceBC-gru", "SequenceBC-transformer"])
def test_history_lets_a_policy_act_on_the_past(policy):
    X, y, groups = delayed(40, 20, seed=0)
    X_test, y_test, groups_test = delayed(10, 20, seed=1)
    one_frame = BCRegressor(**{**FAST, "max_iter": 200}).fit(X, y)
    assert r2_score(y_test, one_frame.predict(X_test)) < 0.1  # the past is not in the row
    with_history = make_pipeline(HistoryStacker(n_frames=2), clone(policy))
    with_history.fit(X, y, historystacker__groups=groups)
    stacked = with_history[0].transform(X_test, groups=groups_test)
    assert r2_score(y_test, with_history[1:].predict(stacked)) > 0.9


class Recorder(RegressorMixin, BaseEstimator):
    """A stand-in policy that records the rows it is asked about."""

    def fit(self, X, y):
        self.n_features_in_ = X.shape[1]
        self.rows_ = []
        return self

    def predict(self, X):
        self.rows_.append(np.array(X))
        return np.zeros(len(X))


@pytest.mark.parametrize("n_envs", [1, 3])
@pytest.mark.parametrize("n_frames", [0, 2])
def test_rollouts_keep_the_history_the_policy_was_trained_with(n_frames, n_envs):
    pipe = make_pipeline(HistoryStacker(n_frames), Recorder())
    pipe.fit(np.zeros((3, 4)), np.zeros(3), historystacker__groups=[0, 0, 0])
    episodes = rollout(pipe, WINDING_ROAD, n_episodes=3, random_state=0, max_episode_steps=5,
                       n_envs=n_envs)
    assert set(episodes.episode_lengths()) == {5}
    seen = pipe[-1].rows_
    # One call per step, on the rows of every env running, each with its
    # own episode's history.
    assert len(seen) == 5 * 3 // n_envs and {len(rows) for rows in seen} == {n_envs}
    steps = np.concatenate([np.arange(5)] * 3)
    order = np.lexsort((episodes.groups, steps)) if n_envs == 3 else np.arange(15)
    expected = stack_history(episodes.X, episodes.groups, n_frames)[order]
    np.testing.assert_array_equal(np.vstack(seen), expected)


def test_sequence_policy_rolls_out_on_its_own():
    X = np.zeros((6, 8))  # 4 road features, two frames
    policy = SequenceBC(n_frames=1, **FAST).fit(X, np.zeros(6))
    episodes = rollout(policy, WINDING_ROAD, n_episodes=1, random_state=0, max_episode_steps=3)
    assert len(episodes) == 3
    narrow = SequenceBC(n_frames=1, **FAST).fit(np.zeros((6, 6)), np.zeros(6))
    with pytest.raises(ValueError, match="fitted on 3 observation features"):
        rollout(narrow, WINDING_ROAD, n_episodes=1)


@settings(max_examples=6, deadline=None)
@given(n=st.integers(2, 20), width=st.integers(1, 3), n_frames=st.integers(0, 2),
       k=st.integers(1, 2), encoder=st.sampled_from(["gru", "transformer"]))
def test_sequence_shapes_reproducibility_and_round_trips(n, width, n_frames, k, encoder):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, width * (n_frames + 1)))
    y = rng.normal(size=(n, k)) if k > 1 else rng.normal(size=n)
    policy = SequenceBC(n_frames=n_frames, encoder=encoder, n_heads=2, **FAST).fit(X, y)
    prediction = policy.predict(X)
    assert prediction.dtype == np.float64 and prediction.shape == y.shape
    assert_round_trips(policy, lambda p: p.predict(X), refit=lambda p: p.fit(X, y))
