"""Built-in tasks pass gymnasium's checker; each shipped expert solves its task."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import (
    OBSTACLE, OBSTACLE_OFFSET, PARTICLE, POINT_REACH, WINDING_ROAD, ObstacleExpert, ParticleExpert,
)
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import make_expert


@pytest.mark.parametrize("env_id", [OBSTACLE, OBSTACLE_OFFSET, WINDING_ROAD, POINT_REACH, PARTICLE])
def test_builtin_tasks_follow_the_gymnasium_api_and_experts_succeed(env_id):
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)
    result = evaluate_policy(make_expert(env_id), env_id, n_episodes=20, random_state=0)
    assert result.success_rate == 1.0


# Usual "solved" scores: LunarLander 200, Pendulum about -200 (no official
# threshold), InvertedPendulum 950, InvertedDoublePendulum 9100, Reacher -3.75
# (ours: -3.9).
@pytest.mark.parametrize(
    "env_id, n_episodes, solved",
    [
        ("LunarLander-v3", 10, 200),
        ("LunarLanderContinuous-v3", 10, 200),
        ("Pendulum-v1", 10, -200),
        ("InvertedPendulum-v5", 3, 950),
        ("InvertedDoublePendulum-v5", 3, 9100),
        ("Reacher-v5", 20, -4.5),  # gymnasium's reward threshold: -3.75; random: about -43
    ],
)
def test_shipped_experts_reach_solved_scores(env_id, n_episodes, solved):
    result = evaluate_policy(make_expert(env_id), env_id, n_episodes=n_episodes, random_state=0)
    assert result.mean_return >= solved


def test_unknown_task_has_no_expert():
    with pytest.raises(ValueError, match="no shipped expert"):
        make_expert("CartPole-v1")


def test_point_reach_reset_options_set_the_start_and_the_goal():
    from sklearn_il.envs import PointReachEnv

    obs, _ = PointReachEnv().reset(seed=0, options={"position": (0.5, -0.5), "goal": (0.0, 0.25)})
    np.testing.assert_allclose(obs, [0.5, -0.5, 0.0, 0.25])


def test_the_offset_expert_passes_on_the_side_it_starts_on():
    X, y, groups = make_obstacle(40, side_from="offset", random_state=0)
    first = np.r_[True, groups[1:] != groups[:-1]]
    starts, actions = X[first, 1], y[first, 0]
    assert np.abs(starts).max() <= 0.2 and np.abs(starts).max() > 0.1
    assert (starts > 0).any() and (starts < 0).any()
    np.testing.assert_array_equal(np.sign(actions), np.where(starts >= 0, 1.0, -1.0))
    # The coin's expert, from the same start, may pass on either side.
    coin = ObstacleExpert()
    sides = set()
    for seed in range(10):
        coin.reset(seed)
        sides.add(float(np.sign(coin.predict([[0.0, 0.05]])[0, 0])))
    assert sides == {-1.0, 1.0}
    with pytest.raises(ValueError, match="side must be"):
        ObstacleExpert(side="left")
    with pytest.raises(ValueError, match="start_offset"):
        gym.make(OBSTACLE, start_offset=-0.1)


def test_the_particle_expert_switches_goals_once_it_has_been_near_the_first():
    goals = [0.2, 0.2, 0.8, 0.8]
    far, near = [0.5, 0.5, 0, 0] + goals, [0.21, 0.2, 0, 0] + goals
    expert = ParticleExpert()
    # Rows are the next states of one episode: near the first goal, then away again.
    np.testing.assert_array_equal(expert.predict([far, near, far]), [[0.2, 0.2], [0.8, 0.8], [0.8, 0.8]])
    np.testing.assert_array_equal(expert.predict([far]), [[0.8, 0.8]])  # it remembers
    expert.reset()
    np.testing.assert_array_equal(expert.predict([far]), [[0.2, 0.2]])
    env = gym.make(PARTICLE)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (8,) and np.linalg.norm(obs[4:6] - obs[6:8]) >= 0.3
