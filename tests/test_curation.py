"""Per-row weights for demonstrations of mixed quality."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import GroupKFold

from sklearn_il import BCRegressor
from sklearn_il.curation import typicality_weights, return_weights

from .conftest import FAST


@settings(max_examples=50, deadline=None)
@given(lengths=st.lists(st.integers(1, 6), min_size=1, max_size=8),
       seed=st.integers(0, 2**16), method=st.sampled_from(["top", "exponential"]),
       fraction=st.floats(0.01, 1.0), temperature=st.floats(0.05, 10.0))
def test_weights_are_per_episode_at_most_one_and_favour_higher_returns(
        lengths, seed, method, fraction, temperature):
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(len(lengths)), lengths)
    rewards = rng.normal(size=len(groups))
    weights = return_weights(rewards, groups, method=method, top_fraction=fraction,
                             temperature=temperature)
    assert weights.shape == rewards.shape and weights.dtype == np.float64
    per_episode = np.array([weights[groups == e] for e in range(len(lengths))], dtype=object)
    assert all(np.unique(w).size == 1 for w in per_episode)
    first = np.r_[0, np.cumsum(lengths)[:-1]]
    returns, episode_weights = np.add.reduceat(rewards, first), weights[first]
    assert 0 <= weights.min() and weights.max() == 1.0
    assert episode_weights[np.argmax(returns)] == 1.0
    # Higher return, no lower weight.
    order = np.argsort(returns)
    assert (np.diff(episode_weights[order]) >= 0).all()
    if method == "top":
        assert set(np.unique(weights)) <= {0.0, 1.0}
        assert (episode_weights > 0).sum() >= np.ceil(fraction * len(lengths))


def test_return_weights_as_filtered_and_exponential_cloning():
    rewards = np.array([1.0, 1.0, 0.0, 0.0, 0.5, 0.5, -1.0])
    groups = np.array([0, 0, 1, 1, 2, 2, 3])
    np.testing.assert_array_equal(return_weights(rewards, groups, method="top",
                                                 top_fraction=0.5),
                                  [1, 1, 0, 0, 1, 1, 0])
    returns = np.array([2.0, 0.0, 1.0, -1.0])
    expected = np.exp((returns - 2.0) / (0.5 * returns.std()))
    np.testing.assert_allclose(return_weights(rewards, groups, temperature=0.5),
                               np.repeat(expected, [2, 2, 2, 1]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(rewards=[1.0, np.nan], groups=[0, 1]), "rewards.*NaN"),
    (dict(rewards=[[1.0], [2.0]], groups=[0, 1]), "rewards must be 1-D"),
    (dict(rewards=[1.0, 2.0], groups=[0]), "groups has 1 entries but X has 2 rows"),
    (dict(rewards=[1.0, 2.0, 3.0], groups=[0, 1, 0]), "groups: the rows of episode 0"),
    (dict(rewards=[1.0], groups=[0], method="best"), "'method' parameter"),
    (dict(rewards=[1.0], groups=[0], top_fraction=0.0), "'top_fraction' parameter"),
    (dict(rewards=[1.0], groups=[0], temperature=0.0), "'temperature' parameter"),
])
def test_bad_input_to_return_weights_is_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        return_weights(**kwargs)


def _operators(n_good=9, n_noisy=3, length=40, seed=0):
    """A smooth expert's episodes, then a noisy operator's."""
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for episode in range(n_good + n_noisy):
        x = np.sort(rng.uniform(-2, 2, length))
        action = np.sin(x) + (episode >= n_good) * rng.normal(0, 0.8, length)
        X.append(x[:, None])
        y.append(action)
        groups.append(np.full(length, episode))
    return np.concatenate(X), np.concatenate(y), np.concatenate(groups)


def test_typicality_weights_drop_operators_who_act_or_go_elsewhere():
    X, y, groups = _operators(n_good=20, n_noisy=3)
    # A third operator acts as the good ones would, in states they never visit.
    elsewhere = groups == 19
    X = np.where(elsewhere[:, None], X + 6.0, X)
    y = np.where(elsewhere, np.sin(X[:, 0]), y)
    noisy = groups >= 20
    scorer = BCRegressor(loss="gaussian", **FAST)
    weights = typicality_weights(scorer, X, y, groups, cv=4, top_fraction=0.5)
    assert weights[noisy | elsewhere].max() == 0 and weights.sum() >= 0.5 * 23 * 40
    soft = typicality_weights(scorer, X, y, groups, cv=GroupKFold(4), method="exponential")
    assert soft[noisy | elsewhere].max() < soft[~(noisy | elsewhere)].max()
    # They compose with fit.
    policy = BCRegressor(**FAST).fit(X, y, groups=groups, sample_weight=weights)
    good = ~(noisy | elsewhere)
    assert np.abs(policy.predict(X[good]) - np.sin(X[good, 0])).mean() < 0.2


def test_typicality_weights_refuse_an_estimator_without_a_likelihood():
    X, y, groups = _operators(n_good=3, n_noisy=1, length=5)
    with pytest.raises(ValueError, match="'estimator' parameter"):
        typicality_weights(BCRegressor(), X, y, groups)
    with pytest.raises(ValueError, match="n_splits=5 greater than the number of groups: 4"):
        typicality_weights(BCRegressor(loss="gaussian"), X, y, groups)
