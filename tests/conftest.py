import os
import pickle
import signal

import gymnasium as gym
import numpy as np
import pytest
import skops.io
from gymnasium import spaces
from sklearn.base import clone

from sklearn_il.datasets import make_obstacle
from sklearn_il.envs import PointReachEnv
from sklearn_il.io import dump, load, trusted_types


@pytest.fixture(scope="session", autouse=True)
def sb3_log_folder(tmp_path_factory):
    """stable-baselines3's learn() makes a log folder in /tmp unless told
    where (a model without a logger of its own): here, pytest's temporary
    folder, removed with it."""
    previous = os.environ.get("SB3_LOGDIR")
    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3"))
    yield
    if previous is None:
        del os.environ["SB3_LOGDIR"]
    else:
        os.environ["SB3_LOGDIR"] = previous


@pytest.fixture(scope="session")
def obstacle_data():
    """Small expert demonstrations of the bimodal task: X, y, groups."""
    return make_obstacle(n_episodes=6, random_state=0)


# The network settings of the suite, one definition each: small networks and
# few epochs, so that it runs on 2 cores in minutes. The library's defaults
# are exercised by the benchmarks and the demo.
# Shapes, dtypes and round trips: trained barely.
TINY = dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
# Learns small problems (a line, a threshold, a few episodes).
FAST = dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01, random_state=0)
# scikit-learn's estimator checks: fits their toy data well enough to pass them.
CHECKS = dict(hidden_layer_sizes=(32,), max_iter=100, learning_rate_init=0.01, random_state=0)
# Learning tests on the built-in tasks, with the library's epochs.
SMALL = dict(hidden_layer_sizes=(64, 64), random_state=0)


class DictPointReach(PointReachEnv):
    """The goal-reaching task with gymnasium-robotics' dict observations."""

    def __init__(self):
        super().__init__()
        box = spaces.Box(-1.0, 1.0, shape=(2,))
        self.observation_space = spaces.Dict(
            observation=box, achieved_goal=box, desired_goal=box)

    def _split(self, obs):
        return {"observation": obs[:2], "achieved_goal": obs[:2], "desired_goal": obs[2:]}

    def reset(self, **kwargs):
        obs, info = super().reset(**kwargs)
        return self._split(obs), info

    def step(self, action):
        obs, *rest = super().step(action)
        return (self._split(obs), *rest)


class DiesAt(gym.Wrapper):
    """An env whose process is killed (SIGKILL: no exception, no clean-up)
    at step ``step`` of the episode reset with ``seed`` (of every episode
    when ``seed`` is None, if ``step`` is given). It records the seeds it
    is reset with. Only for subprocess envs: it would kill the test run."""

    def __init__(self, env, seed=None, step=None):
        super().__init__(env)
        self.die_seed, self.die_step, self.seeds = seed, step, []

    def reset(self, *, seed=None, options=None):
        self.seeds.append(seed)
        self.t = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        if self.t == self.die_step and self.die_seed in (None, self.seeds[-1]):
            os.kill(os.getpid(), signal.SIGKILL)
        self.t += 1
        return super().step(action)


# Registered, so that it has a spec (Minari stores one).
DICT_POINT_REACH = "sklearn_il_tests/DictPointReach-v0"
if DICT_POINT_REACH not in gym.registry:
    gym.register(DICT_POINT_REACH, entry_point=f"{__name__}:DictPointReach",
                 max_episode_steps=50)


def assert_round_trips(estimator, output, refit=None, path=None):
    """Refitting a clone, pickling, skops, and ``io.dump``/``load`` keep ``output`` exactly.

    The skops file may hold no type from outside this library, scikit-learn
    and imbalanced-learn but the test's own (a user's function): it loads
    with ``trusted=io.trusted_types(file)`` and those.

    Parameters
    ----------
    estimator : fitted estimator
    output : callable
        ``output(estimator)`` -> array, or tuple of arrays, to compare.
    refit : callable, default=None
        ``refit(unfitted_clone)`` -> fitted clone (same ``random_state``).
    path : path-like, default=None
        Where to ``io.dump`` a policy and ``io.load`` it back.
    """
    expected = output(estimator)
    data = skops.io.dumps(estimator)
    users = [t for t in skops.io.get_untrusted_types(data=data) if t.startswith("tests.")]
    others = [pickle.loads(pickle.dumps(estimator)),
              skops.io.loads(data, trusted=trusted_types(data) + users)]
    if refit is not None:
        others.append(refit(clone(estimator)))
    if path is not None:
        dump(estimator, path)
        others.append(load(path))
    expected = expected if isinstance(expected, tuple) else (expected,)
    for other in others:
        got = output(other)
        for a, b in zip(got if isinstance(got, tuple) else (got,), expected, strict=True):
            np.testing.assert_array_equal(a, b)


def regression(n, d, k, seed):
    """Random linear regression data: X (n, d), y (n,) when k == 1 else (n, k)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, k))
    return X, (y.ravel() if k == 1 else y)


def simulate(step, n_episodes, length, seed):
    """Episodes of a 2-D system under random 1-D actions: X, y (1-D), groups.

    ``step(states, actions)`` maps batches of states (n, 2) and actions
    (n, 1) to next states.
    """
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for episode in range(n_episodes):
        s = rng.normal(size=2)
        for _ in range(length):
            a = rng.normal()
            X.append(s)
            y.append(a)
            groups.append(episode)
            s = step(s[None], np.array([[a]]))[0]
    return np.array(X), np.array(y), np.array(groups)


def pytest_xdist_auto_num_workers(config):
    # The cores this process may use (cgroup quotas and affinity included),
    # which os.cpu_count, xdist's own count, does not see in a container.
    import joblib

    return joblib.cpu_count()


def pytest_configure(config):
    # Under pytest-xdist each worker is one of several processes sharing the
    # cores; one torch thread each avoids oversubscribing them (the networks
    # of the suite are too small to gain from more).
    if hasattr(config, "workerinput"):
        import torch

        torch.set_num_threads(1)
