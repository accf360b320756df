import warnings

import gymnasium as gym
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCClassifier, BCRegressor
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import (
    OBSTACLE,
    POINT_REACH,
    WINDING_ROAD,
    ObstacleEnv,
    ObstacleExpert,
    WindingRoadExpert,
)
from sklearn_il.evaluation import (
    compounding_error,
    evaluate_policy,
    make_rollout_scorer,
    rollout,
)
from sklearn_il.experts import LunarLanderHeuristic, PendulumSwingUp

from .conftest import FAST, DiesAt

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
    sent = []

    class Recorder(gym.Wrapper):
        def step(self, action):
            sent.append(action)
            return super().step(action)

    trajectories = rollout(policy, lambda: Recorder(gym.make("LunarLander-v3")), random_state=0)
    # Each step sends the label the policy predicts for that observation, as
    # an element of the env's Discrete space, and the record keeps it.
    assert len(sent) == len(trajectories.X) > 1
    assert all(isinstance(a, (int, np.integer)) and 0 <= a < 4 for a in sent)
    np.testing.assert_array_equal(sent, policy.predict(trajectories.X))
    np.testing.assert_array_equal(trajectories.y, sent)


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
    with pytest.raises(ValueError, match="'metric' parameter"):
        make_rollout_scorer(OBSTACLE, metric="accuracy")


class _Drifting:
    """A policy that steers the expert's way plus a constant bias."""

    def __init__(self, bias):
        self.bias = bias

    def predict(self, X):
        return np.clip(WindingRoadExpert().predict(X) + self.bias, -1, 1)


def test_compounding_error_is_zero_for_the_expert_and_grows_with_a_bias():
    expert = WindingRoadExpert()
    same = compounding_error(expert, WINDING_ROAD, expert, n_episodes=3, random_state=0)
    assert same.steps.shape == same.action_error.shape == (200,)
    assert same.cumulative_cost[-1] == 0 and same.action_error.max() == 0
    assert same.state_distance.max() == 0 and (same.n_running == 3).all()
    # A biased driver settles off the centre line but stays on the road: its
    # action error is the bias, and its state distance grows to a new level.
    biased = compounding_error(_Drifting(0.05), WINDING_ROAD, expert, n_episodes=3, random_state=0)
    assert biased.action_error[0] == pytest.approx(0.05)
    assert biased.state_distance[100:].min() > 2 * biased.state_distance[1] > 0
    # A large bias drives off the road: every step after that costs 1.
    off = compounding_error(_Drifting(0.8), WINDING_ROAD, expert, n_episodes=3, random_state=0)
    fell = int(np.argmax(off.failure_rate == 1.0))
    assert 0 < fell < 100 and (off.n_running[fell:] == 0).all()
    assert off.cumulative_cost[-1] == pytest.approx(200 - fell + np.sum(off.failure_rate[:fell]))


def test_compounding_error_checks_the_policy_against_the_env(obstacle_data):
    X, y, _ = obstacle_data
    policy = BCRegressor(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="2 observation features"):
        compounding_error(policy, WINDING_ROAD, WindingRoadExpert(), n_episodes=1)


def _same_episodes(a, b, rtol=0.0):
    """Equal Demonstrations; ``rtol`` allows a torch policy's float32 rounding."""
    for field in ("episode_ids", "terminated", "truncated", "successes"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    for field in ("observations", "actions", "rewards", "final_observations"):
        np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=rtol, atol=rtol,
                                   err_msg=field)


def test_episodes_do_not_depend_on_how_many_envs_run_at_once(obstacle_data):
    X, y, groups = obstacle_data
    policy = BCRegressor(**FAST).fit(X, y)
    # Exactly the same for the expert (it draws a side per episode); for the
    # torch policy up to the rounding of a batch of rows in float32.
    for agent, rtol in ((ObstacleExpert(), 0.0), (policy, 1e-6)):
        one = rollout(agent, OBSTACLE, n_episodes=5, random_state=0, n_envs=1)
        assert len(np.unique(one.groups)) == 5
        for kwargs in (dict(n_envs=2), dict(n_envs=5), dict(n_envs=16),
                       dict(n_envs=2, vectorization="async")):
            _same_episodes(rollout(agent, OBSTACLE, n_episodes=5, random_state=0, **kwargs), one, rtol)
    # The expert's per-episode sides differ between episodes: each env slot's
    # copy was reset with its own episode's seed.
    expert = rollout(ObstacleExpert(), OBSTACLE, n_episodes=5, random_state=0, n_envs=5)
    assert len({np.sign(expert.X[expert.groups == e][10, 1]) for e in range(5)}) == 2


def test_truncated_episodes_and_a_users_vector_env():
    expert = PendulumSwingUp()
    one = rollout(expert, "Pendulum-v1", n_episodes=3, random_state=0, n_envs=1, max_episode_steps=30)
    assert list(one.episode_lengths()) == [30, 30, 30] and one.truncated.sum() == 3
    _same_episodes(rollout(expert, "Pendulum-v1", n_episodes=3, random_state=0, n_envs=3,
                           max_episode_steps=30), one)
    # A VectorEnv the user made (gymnasium's default next-step autoreset).
    envs = gym.make_vec("Pendulum-v1", num_envs=2)
    _same_episodes(rollout(expert, envs, n_episodes=3, random_state=0, max_episode_steps=30), one)
    envs.close()


def test_the_rollout_engine_imports_no_policy_class():
    import ast
    import inspect

    import sklearn_il._rollout as engine

    modules = {node.module for node in ast.walk(ast.parse(inspect.getsource(engine)))
               if isinstance(node, ast.ImportFrom)}
    assert not any("polic" in (m or "") or "interactive" in (m or "") for m in modules), modules


def test_verbose_shows_progress_over_episodes(capsys):
    rollout(ObstacleExpert(), OBSTACLE, n_episodes=3, random_state=0, verbose=1)
    assert "3/3" in capsys.readouterr().err
    rollout(ObstacleExpert(), OBSTACLE, n_episodes=3, random_state=0)
    assert capsys.readouterr().err == ""


def test_an_env_with_a_wrapper_gymnasium_cannot_remake_is_copied_per_env():
    class Shifted(gym.ObservationWrapper):  # records no constructor arguments
        def __init__(self, env, shift):
            super().__init__(env)
            self.shift = shift

        def observation(self, obs):
            return obs + self.shift

    env = Shifted(gym.make("Pendulum-v1"), 0.5)
    expert = PendulumSwingUp()
    one = rollout(expert, env, n_episodes=4, random_state=0, max_episode_steps=20, n_envs=1)
    many = rollout(expert, env, n_episodes=4, random_state=0, max_episode_steps=20, n_envs=4)
    np.testing.assert_array_equal(many.X, one.X)
    plain = rollout(expert, "Pendulum-v1", n_episodes=4, random_state=0, max_episode_steps=20, n_envs=4)
    assert not np.array_equal(plain.X, many.X)  # the copies kept the wrapper


def test_a_subprocess_env_that_dies_ends_the_call_naming_its_slot_and_episode():
    expert = PendulumSwingUp()
    recorder = DiesAt(gym.make("Pendulum-v1"))  # never dies: no step given
    rollout(expert, recorder, n_episodes=4, random_state=0, max_episode_steps=10, n_envs=1)
    # Episode 2 runs in slot 0 (episodes 0 and 1 end together), and its
    # env's process is killed at its fourth step.
    def dies():
        return DiesAt(gym.make("Pendulum-v1"), seed=recorder.seeds[2], step=3)

    with pytest.raises(RuntimeError, match=r"^the process of env slot 0 died \(killed by signal "
                                           r"SIGKILL\) in episode 2, at step 3, of the 4 "
                                           r"episodes this call runs \(2 had finished\)"):
        rollout(expert, dies, n_episodes=4, random_state=0, max_episode_steps=10, n_envs=2,
                vectorization="async")
    # An error of that kind from the agent itself is its own, as it was.
    def broken_link(X):
        raise ConnectionResetError("the expert's server went away")

    with pytest.raises(ConnectionResetError, match="server went away"):
        rollout(broken_link, "Pendulum-v1", n_episodes=2, n_envs=2, vectorization="async")
    # The same env, not killed, runs the same episodes as ever.
    kept = rollout(expert, lambda: DiesAt(gym.make("Pendulum-v1")), n_episodes=4,
                   random_state=0, max_episode_steps=10, n_envs=2, vectorization="async")
    _same_episodes(kept, rollout(expert, "Pendulum-v1", n_episodes=4, random_state=0,
                                 max_episode_steps=10))
