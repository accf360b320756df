import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCClassifier, BCRegressor
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import OBSTACLE, POINT_REACH, ObstacleEnv
from sklearn_il.evaluation import evaluate_policy, make_rollout_scorer, rollout
from sklearn_il.experts import LunarLanderHeuristic

from .conftest import FAST

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def test_rollout_accepts_env_ids_instances_factories_and_callables():
    expert = lambda X: np.zeros((len(X), 1))  # noqa: E731  drives straight: crashes
    for env in (OBSTACLE, ObstacleEnv(), ObstacleEnv):
        result = evaluate_policy(expert, env, n_episodes=2, random_state=0)
        assert result.success_rate == 0.0 and result.mean_return < 0
    with pytest.raises(TypeError, match="gymnasium Env"):
        rollout(expert, 42)
    with pytest.raises(TypeError, match="predict"):
        rollout(object(), OBSTACLE)


def test_discrete_actions_reach_the_env_as_labels():
    demos = collect_demonstrations("LunarLander-v3", LunarLanderHeuristic(), 2, random_state=0)
    assert demos.y.dtype.kind == "i"
    policy = BCClassifier(**FAST).fit(demos.X, demos.y)
    result = evaluate_policy(policy, "LunarLander-v3", n_episodes=1, random_state=0)
    assert np.isfinite(result.mean_return)


def test_mismatched_env_is_a_clear_error(obstacle_data):
    X, y, _ = obstacle_data
    policy = BCRegressor(**FAST).fit(X, y)
    with pytest.raises(ValueError, match="observation features"):
        rollout(policy, POINT_REACH)
    with pytest.raises(ValueError, match="continuous policy cannot act in the discrete"):
        rollout(BCRegressor(**FAST).fit(np.zeros((5, 8)), np.zeros(5)), "LunarLander-v3")
    strings = BCClassifier(**FAST).fit(np.zeros((4, 8)), ["a", "b", "a", "b"])
    with pytest.raises(ValueError, match="not all in the env's Discrete"):
        rollout(strings, "LunarLander-v3")


def test_rollout_scorer_is_deterministic_and_validated(obstacle_data):
    X, y, _ = obstacle_data
    policy = BCRegressor(**FAST).fit(X, y)
    scorer = make_rollout_scorer(OBSTACLE, n_episodes=3, metric="success_rate")
    assert scorer(policy, X, y) == scorer(policy, X, y)
    with pytest.raises(ValueError, match="metric must be one of"):
        make_rollout_scorer(OBSTACLE, metric="accuracy")
