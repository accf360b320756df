import numpy as np
import pytest

from sklearn_il.datasets import (
    Demonstrations,
    collect_demonstrations,
    make_obstacle,
    make_particle,
    make_point_reach,
    make_winding_road,
)
from sklearn_il.envs import OBSTACLE, ObstacleExpert


def test_collected_demonstrations_are_consistent():
    demos = collect_demonstrations(OBSTACLE, ObstacleExpert(), n_episodes=5, random_state=0)
    assert demos.n_episodes == 5 and len(demos) == demos.episode_lengths().sum()
    assert demos.final_observations.shape == (5, 2)
    ends = np.r_[np.flatnonzero(np.diff(demos.groups)), len(demos) - 1]
    assert (demos.terminated | demos.truncated)[ends].all()
    assert np.isclose(demos.episode_returns().sum(), demos.rewards.sum())
    np.testing.assert_array_equal(demos.successes, 1.0)


def test_same_seed_same_data_and_both_sides_demonstrated():
    X1, y1, g1 = make_obstacle(n_episodes=20, random_state=3)
    X2, y2, g2 = make_obstacle(n_episodes=20, random_state=3)
    np.testing.assert_array_equal(X1, X2)
    passed_right = [X1[g1 == e, 1].max() > 1.0 for e in np.unique(g1)]
    assert 0 < np.mean(passed_right) < 1, "the expert must pass on both sides"


def test_split_and_concatenate_keep_whole_episodes():
    demos = make_obstacle(n_episodes=10, random_state=0, return_X_y=False).demonstrations
    train, test = demos.split(test_size=0.3, random_state=0)
    assert (train.n_episodes, test.n_episodes) == (7, 3)
    assert len(train) + len(test) == len(demos)
    joined = Demonstrations.concatenate([train, test])
    assert joined.n_episodes == 10 and len(np.unique(joined.groups)) == 10


@pytest.mark.parametrize("make, shape", [(make_winding_road, (4, 1)), (make_point_reach, (4, 2)),
                                         (make_particle, (8, 2))])
def test_loaders(make, shape):
    X, y, groups = make(n_episodes=2, random_state=0)
    assert (X.shape[1], y.shape[1]) == shape and len(X) == len(y) == len(groups)
    bunch = make(n_episodes=2, random_state=0, return_X_y=False)
    np.testing.assert_array_equal(bunch.data, X)


def test_demonstrations_reject_inconsistent_arrays():
    with pytest.raises(ValueError, match="separate runs"):
        Demonstrations(np.zeros((3, 1)), np.zeros(3), [0, 1, 0])
    with pytest.raises(ValueError, match="rewards must have shape"):
        Demonstrations(np.zeros((3, 1)), np.zeros(3), [0, 0, 0], rewards=[1, 2])
    with pytest.raises(ValueError, match="2-D"):
        Demonstrations(np.zeros(3), np.zeros(3), [0, 0, 0])
    with pytest.raises(ValueError, match="final_observations"):
        Demonstrations(np.zeros((3, 1)), np.zeros(3), [0, 0, 1], final_observations=np.zeros((1, 1)))
