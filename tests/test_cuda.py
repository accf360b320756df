"""Policies fitted with ``device="cuda"`` act through the batched rollout engine.

Run where a GPU is available; skipped elsewhere (the project builds and
passes its tests without one).
"""

import gymnasium as gym
import numpy as np
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sklearn_il import (
    AutoregressiveBC, BCClassifier, BCRegressor, DAggerWrapper, DiffusionBC, ImplicitBC, LatentBC,
    MixtureDensityBC, SequenceBC,
)
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.evaluation import rollout
from sklearn_il.experts import PendulumSwingUp
from sklearn_il.preprocessing import HistoryStacker

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

SETTINGS = dict(hidden_layer_sizes=(64, 64), max_iter=20, random_state=0, device="cuda")

CONTINUOUS = {
    "BCRegressor": lambda: BCRegressor(**SETTINGS),
    "MixtureDensityBC": lambda: MixtureDensityBC(**SETTINGS),
    "DiffusionBC": lambda: DiffusionBC(**SETTINGS),
    "DiffusionBC-chunks": lambda: DiffusionBC(horizon=4, n_action_steps=2, **SETTINGS),
    "DiffusionBC-ensembled": lambda: DiffusionBC(horizon=4, temporal_ensemble_coeff=0.01, **SETTINGS),
    "AutoregressiveBC": lambda: AutoregressiveBC(**SETTINGS),
    "LatentBC": lambda: LatentBC(**SETTINGS),
    "ImplicitBC": lambda: ImplicitBC(**SETTINGS),
    "ImplicitBC-langevin": lambda: ImplicitBC(gradient_penalty=1.0, inference="langevin",
                                              n_langevin_iter=5, **SETTINGS),
    "SequenceBC": lambda: make_pipeline(HistoryStacker(n_frames=2), SequenceBC(n_frames=2, **SETTINGS)),
    "SequenceBC-transformer": lambda: make_pipeline(
        HistoryStacker(n_frames=2), SequenceBC(n_frames=2, encoder="transformer", **SETTINGS)),
}


@pytest.fixture(scope="module")
def pendulum():
    return collect_demonstrations("Pendulum-v1", PendulumSwingUp(), 3, random_state=0)


def parameter_bytes(policy):
    net = (policy[-1] if hasattr(policy, "steps") else policy).net_
    return sum(p.numel() * p.element_size() for p in net.module_.parameters())


@pytest.mark.parametrize("name", list(CONTINUOUS))
def test_cuda_policy_acts_in_many_envs_without_copies(name, pendulum):
    policy = CONTINUOUS[name]()
    key = "historystacker__groups" if hasattr(policy, "steps") else "groups"
    policy.fit(pendulum.X, pendulum.y, **{key: pendulum.groups})
    assert next((policy[-1] if hasattr(policy, "steps") else policy).net_.module_.parameters()).is_cuda
    if key == "groups":  # (a history pipeline predicts on stacked rows: the rollouts check it)
        prediction = policy.predict(pendulum.X[:5])
        assert isinstance(prediction, np.ndarray) and prediction.dtype == np.float64
        assert np.isfinite(prediction).all()

    one = rollout(policy, "Pendulum-v1", n_episodes=4, random_state=0, max_episode_steps=30, n_envs=1)
    base, held = torch.cuda.memory_allocated(), []

    def probed_env():
        return MemoryProbe(gym.make("Pendulum-v1"), held)

    many = rollout(policy, probed_env, n_episodes=4, random_state=0, max_episode_steps=30, n_envs=4)
    # While the envs step, only what acting keeps between steps is allocated:
    # a copy of the network per env would be 4x its weights.
    assert max(held) - base < parameter_bytes(policy) / 2
    np.testing.assert_array_equal(many.groups, one.groups)
    # The same episodes, up to a GPU kernel rounding a batch differently from one row.
    np.testing.assert_allclose(many.X, one.X, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(many.rewards, one.rewards, rtol=1e-4, atol=1e-4)


class MemoryProbe(gym.Wrapper):
    """Records the GPU memory allocated at each step of the env."""

    def __init__(self, env, held):
        super().__init__(env)
        self.held = held

    def step(self, action):
        self.held.append(torch.cuda.memory_allocated())
        return super().step(action)


def test_cuda_classifier_acts_in_a_discrete_env():
    def balance(X):  # push the cart towards where the pole falls
        return (X[:, 2] + X[:, 3] > 0).astype(int)

    demos = collect_demonstrations("CartPole-v1", balance, 3, random_state=0)
    policy = BCClassifier(**SETTINGS).fit(demos.X, demos.y)
    result = rollout(policy, "CartPole-v1", n_episodes=4, random_state=0, n_envs=4)
    assert result.n_episodes == 4 and set(np.unique(result.y)) <= {0, 1}


def test_dagger_with_a_cuda_learner():
    demos = collect_demonstrations(OBSTACLE, ObstacleExpert(), 3, random_state=0)
    learner = DAggerWrapper(BCRegressor(**SETTINGS), OBSTACLE, ObstacleExpert(),
                            n_iter=2, n_episodes_per_iter=4, n_envs=4, random_state=0)
    learner.fit(demos.X, demos.y, groups=demos.groups)
    X = demos.X
    assert learner.predict(X[:3]).shape == (3,)


def test_a_cuda_file_loads_on_the_gpu_or_on_the_cpu(tmp_path, pendulum):
    from sklearn_il.io import dump, load

    policy = BCRegressor(**SETTINGS).fit(pendulum.X, pendulum.y)
    path = tmp_path / "policy.safetensors"
    dump(policy, path)
    on_gpu, on_cpu = load(path), load(path, device="cpu")
    assert on_gpu.net_.device == "cuda" and on_cpu.net_.device == "cpu"
    X = pendulum.X[:5]
    np.testing.assert_allclose(on_cpu.predict(X), policy.predict(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(on_gpu.predict(X), policy.predict(X))


def test_a_failed_warm_start_on_the_gpu_leaves_the_policy_as_it_was(pendulum):
    policy = BCRegressor(warm_start=True, **SETTINGS).fit(pendulum.X, pendulum.y)
    before = policy.predict(pendulum.X[:5])
    policy.set_params(learning_rate_init=1e30)
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        policy.fit(pendulum.X, pendulum.y)
    np.testing.assert_array_equal(policy.predict(pendulum.X[:5]), before)
    assert policy.net_.module_.body[0].weight.device.type == "cuda"
