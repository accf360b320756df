"""The built-in tasks show the failures they are built for, and only those.

Each test pairs a failure of behaviour cloning with a control that succeeds,
so what fails is the effect the task isolates (averaged modes, missing
recoveries), not a weak learner.
"""

import gymnasium as gym
import pytest

from sklearn_il import BCRegressor
from sklearn_il.datasets import collect_demonstrations, make_obstacle, make_winding_road
from sklearn_il.envs import (
    OBSTACLE,
    WINDING_ROAD,
    ObstacleExpert,
    WindingRoadEnv,
    WindingRoadExpert,
)
from sklearn_il.evaluation import evaluate_policy

POLICY = dict(hidden_layer_sizes=(64, 64), max_iter=100, random_state=0)


@pytest.mark.slow
def test_obstacle_bc_averages_the_two_sides_and_crashes():
    X, y, _ = make_obstacle(n_episodes=30, random_state=0)
    averaged = BCRegressor(**POLICY).fit(X, y)
    assert evaluate_policy(averaged, OBSTACLE, n_episodes=10, random_state=1).success_rate == 0.0
    # Control: demonstrations of one side only, same learner: no modes to average.
    one_side = collect_demonstrations(OBSTACLE, ObstacleExpert(side=1), 30, random_state=0)
    committed = BCRegressor(**POLICY).fit(one_side.X, one_side.y)
    assert evaluate_policy(committed, OBSTACLE, n_episodes=10, random_state=1).success_rate == 1.0


@pytest.mark.slow
def test_winding_road_bc_drifts_without_demonstrated_recoveries():
    X, y, _ = make_winding_road(n_episodes=10, random_state=0)
    cloned = BCRegressor(**POLICY).fit(X, y)
    drifting = evaluate_policy(cloned, WINDING_ROAD, n_episodes=10, random_state=1)
    assert drifting.success_rate == 0.0 and drifting.mean_length < 120
    # Control: a gusty road makes the expert show recoveries; BC then holds the road.
    gusty = lambda: gym.make(WINDING_ROAD, gust=0.002)  # noqa: E731
    demos = collect_demonstrations(gusty, WindingRoadExpert(), 10, random_state=0)
    recovering = BCRegressor(**POLICY).fit(demos.X, demos.y)
    assert evaluate_policy(recovering, gusty, n_episodes=10, random_state=1).success_rate >= 0.6
    assert WindingRoadEnv().gust == 0.0
