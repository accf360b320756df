"""stable-baselines3 agents as experts: real models, trained here for a few
steps (their skill does not matter, only that the library asks them as
stable-baselines3 itself would)."""

import numpy as np
import pytest

from sklearn_il import BCClassifier, BCRegressor
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.evaluation import compounding_error
from sklearn_il.experts import SB3Expert
from sklearn_il.interactive import DAggerWrapper, DARTWrapper

from .conftest import TINY

sb3 = pytest.importorskip("stable_baselines3")
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402


def _train(env_id, normalize, folder):
    """A PPO agent after one short update; saved in ``folder``, with its
    statistics."""
    venv = make_vec_env(env_id, n_envs=1, seed=0)
    if normalize:
        venv = VecNormalize(venv, norm_reward=False)
    model = sb3.PPO("MlpPolicy", venv, n_steps=64, batch_size=64, n_epochs=1, seed=0,
                    policy_kwargs={"net_arch": [16]}, device="cpu")
    model.learn(128)
    model.save(folder / "model.zip")
    if normalize:
        venv.save(folder / "vecnormalize.pkl")
    return model, venv, folder


class Counting:
    """The model, with the batch size of each ``predict`` call recorded."""

    def __init__(self, model):
        self.model, self.batches = model, []
        self._predict = model.predict
        model.predict = self.predict

    def predict(self, observation, **kwargs):
        self.batches.append(len(observation))
        return self._predict(observation, **kwargs)


@pytest.fixture(scope="module")
def pendulum_agent(tmp_path_factory):
    return _train("Pendulum-v1", normalize=True, folder=tmp_path_factory.mktemp("pendulum"))


def test_a_loaded_agent_and_its_saved_statistics_label_as_stable_baselines3_acts(
        pendulum_agent):
    model, venv, folder = pendulum_agent
    loaded = sb3.PPO.load(folder / "model.zip", device="cpu")
    expert = SB3Expert(loaded, normalization=folder / "vecnormalize.pkl")
    demos = collect_demonstrations("Pendulum-v1", expert, n_episodes=2, random_state=0,
                                   n_envs=2)
    observations = np.asarray(demos.X, dtype=np.float32)
    expected, _ = model.predict(venv.normalize_obs(observations), deterministic=True)
    np.testing.assert_allclose(demos.y, expected, rtol=1e-6, atol=1e-6)
    # Without the statistics the labels would differ: they matter here.
    raw, _ = model.predict(observations, deterministic=True)
    assert np.abs(raw - expected).max() > 0.01
    # A VecNormalize object serves as well as its file.
    np.testing.assert_array_equal(SB3Expert(loaded, normalization=venv).predict(observations),
                                  expected)


def test_a_bare_model_is_asked_deterministically_in_one_call_per_step(pendulum_agent):
    model, venv, _ = pendulum_agent
    counting = Counting(model)
    try:
        demos = collect_demonstrations("Pendulum-v1", model, n_episodes=4, random_state=0,
                                       n_envs=4)
    finally:
        model.predict = counting._predict
    # One call per step for the four envs, and deterministic (the mean
    # action, from the env's own VecNormalize statistics).
    assert len(counting.batches) == 200 and set(counting.batches) == {4}
    expected, _ = model.predict(venv.normalize_obs(np.asarray(demos.X, dtype=np.float32)),
                                deterministic=True)
    np.testing.assert_allclose(demos.y, expected, rtol=1e-6, atol=1e-6)


def test_deterministic_false_draws_from_the_policy(pendulum_agent):
    model, _, _ = pendulum_agent
    X = np.zeros((50, 3))
    assert np.ptp(SB3Expert(model).predict(X)) == 0
    assert np.ptp(SB3Expert(model, deterministic=False).predict(X)) > 0


def test_dagger_dart_and_compounding_error_take_the_model_as_their_expert(pendulum_agent):
    model, _, _ = pendulum_agent
    demos = collect_demonstrations("Pendulum-v1", model, n_episodes=1, random_state=0)
    X, y, groups = demos.X, demos.y, demos.groups
    for wrapper in (DAggerWrapper, DARTWrapper):
        fitted = wrapper(BCRegressor(**TINY), env="Pendulum-v1", expert=model, n_iter=1,
                         n_episodes_per_iter=1, random_state=0).fit(X, y, groups)
        assert fitted.history_[-1]["n_labels_total"] == 400
    result = compounding_error(fitted, "Pendulum-v1", model, n_episodes=2, random_state=0)
    assert np.isfinite(result.action_error[:10]).all()


def test_a_discrete_agent_labels_with_its_action_indices(tmp_path):
    model, _, _ = _train("CartPole-v1", normalize=False, folder=tmp_path)
    demos = collect_demonstrations("CartPole-v1", model, n_episodes=2, random_state=0)
    assert demos.y.dtype.kind == "i" and set(np.unique(demos.y)) <= {0, 1}
    expected, _ = model.predict(np.asarray(demos.X, dtype=np.float32), deterministic=True)
    np.testing.assert_array_equal(demos.y, expected)
    BCClassifier(**TINY).fit(demos.X, demos.y)


def test_normalization_of_the_wrong_kind_is_a_type_error(pendulum_agent):
    model, _, _ = pendulum_agent
    with pytest.raises(TypeError, match="normalization must be a VecNormalize"):
        SB3Expert(model, normalization={"mean": 0}).predict(np.zeros((1, 3)))
