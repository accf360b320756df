"""Running an agent (policy or expert) in an env: the one rollout loop."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from sklearn.pipeline import Pipeline

from ._demonstrations import Demonstrations
from ._seeding import SeedStreams
from .policies.sequence import SequenceBC
from .preprocessing import HistoryStacker


def make_env(env):
    """An env from what the user gave: an Env, a registered id, or a factory.

    Returns
    -------
    env : gymnasium.Env
    owned : bool
        Whether the env was made here (and should be closed here).
    """
    if isinstance(env, gym.Env):
        return env, False
    if isinstance(env, str):
        return gym.make(env), True
    if callable(env):
        made = env()
        if not isinstance(made, gym.Env):
            raise TypeError(f"the env factory returned {type(made).__name__}, not a gymnasium Env.")
        return made, True
    raise TypeError(
        "env must be a gymnasium Env, a registered env id such as "
        f"'Pendulum-v1', or a zero-argument callable returning an Env; got {env!r}."
    )


class ChunkExecutor:
    """Acts for a policy that predicts action chunks (``DiffusionBC(horizon=k)``).

    Executes the first ``n_action_steps`` actions of each predicted chunk
    (all ``horizon`` of them when it is None), then predicts the next chunk
    from the observation reached. ``reset`` drops what is left of a chunk at
    an episode's start.
    """

    def __init__(self, policy):
        self.policy = policy
        self.n_steps = policy.n_action_steps or policy.horizon
        self.queue = []

    def reset(self):
        self.queue = []

    def __call__(self, X):
        if not self.queue:
            self.queue = list(self.policy.predict_chunk(X)[0, : self.n_steps])
        return self.queue.pop(0)[None, :]


class HistoryExecutor:
    """Acts for a policy that reads the last ``n_frames`` observations too.

    Keeps them between calls, newest first, and hands ``predict`` each
    observation followed by its history (``HistoryStacker``'s layout);
    ``reset`` forgets them at an episode's start, so the first observation
    is repeated, as in training.
    """

    def __init__(self, predict, n_frames):
        self.predict = predict
        self.n_frames = n_frames
        self.frames = []

    def reset(self):
        self.frames = []

    def __call__(self, X):
        row = np.asarray(X, dtype=np.float64).reshape(-1)
        self.frames = [row] + (self.frames or [row] * self.n_frames)[: self.n_frames]
        return self.predict(np.concatenate(self.frames)[None, :])


def _history(agent):
    """``(predict on stacked rows, n_frames, width of one frame)`` of a history policy, or None."""
    if isinstance(agent, Pipeline) and isinstance(agent.steps[0][1], HistoryStacker):
        stacker = agent.steps[0][1]
        return agent[1:].predict, stacker.n_frames, getattr(stacker, "n_features_in_", None)
    if isinstance(agent, SequenceBC):
        width = getattr(agent, "n_features_in_", None)
        return agent.predict, agent.n_frames, width and width // (agent.n_frames + 1)
    return None


def action_function(agent):
    """How to ask ``agent`` for actions, given a batch of observations.

    ``agent.predict`` for an estimator or expert (with the observations as
    a DataFrame when it was fitted on one), a :class:`HistoryExecutor` for a
    policy that reads a history of observations, a :class:`ChunkExecutor`
    for a policy that predicts chunks of several actions, ``agent`` for a
    callable.
    """
    if hasattr(agent, "predict_chunk") and getattr(agent, "horizon", 1) > 1:
        return ChunkExecutor(agent)
    history = _history(agent)
    if history is not None:
        return HistoryExecutor(*history[:2])
    if hasattr(agent, "predict"):
        names = getattr(agent, "feature_names_in_", None)
        if names is not None:
            # Fitted on a DataFrame: give it the observations under those names.
            import pandas as pd

            return lambda X: agent.predict(pd.DataFrame(X, columns=names))
        return agent.predict
    if callable(agent):
        return agent
    raise TypeError(
        f"expected a policy or expert with predict(X), or a callable; got {type(agent).__name__}."
    )


class LabellingAgent:
    """Acts in the env and asks the expert for its action at every step.

    ``choose(expert_action, X, learner_act)`` returns the action executed;
    the expert's clean actions are kept in ``labels``, in step order.
    ``reset`` starts an episode for the expert (per-episode intentions) and
    for a learner that executes action chunks.
    """

    def __init__(self, expert, choose, learner=None):
        self.expert = expert
        self.expert_act = action_function(expert)
        self.learner_act = None if learner is None else action_function(learner)
        self.choose = choose
        self.labels = []

    def reset(self, random_state=None):
        if hasattr(self.expert, "reset"):
            self.expert.reset(random_state=random_state)
        if hasattr(self.learner_act, "reset"):
            self.learner_act.reset()

    def __call__(self, X):
        label = np.asarray(self.expert_act(X))
        self.labels.append(label[0])
        return self.choose(label, X, self.learner_act)


# A goal-reaching env's Dict observation (gymnasium-robotics' convention):
# the policy sees these entries, flattened and joined in this order.
GOAL_KEYS = ("observation", "desired_goal")


def flat_observation(obs):
    """One observation as a float64 row; a goal env's dict as (observation, desired goal)."""
    if isinstance(obs, dict):
        return np.concatenate([np.asarray(obs[k], dtype=np.float64).reshape(-1) for k in GOAL_KEYS])
    return np.asarray(obs, dtype=np.float64).reshape(-1)


def observation_width(space):
    """Number of features a policy sees from observations of ``space``."""
    if isinstance(space, spaces.Box):
        return int(np.prod(space.shape))
    if isinstance(space, spaces.Dict) and all(
        isinstance(space.spaces.get(k), spaces.Box) for k in GOAL_KEYS
    ):
        return sum(int(np.prod(space[k].shape)) for k in GOAL_KEYS)
    raise TypeError(
        "only Box observation spaces, and Dict ones of a goal env (Box entries "
        f"{GOAL_KEYS}), are supported; got {space}."
    )


def check_agent_fits_env(agent, env):
    """Raise ``ValueError`` when a fitted policy's shapes do not match the env."""
    obs_space, act_space = env.observation_space, env.action_space
    width = observation_width(obs_space)
    history = _history(agent)
    n_features = getattr(agent, "n_features_in_", None) if history is None else history[2]
    if n_features is not None and n_features != width:
        raise ValueError(
            f"the policy was fitted on {n_features} observation features but the "
            f"env's observations have {width}."
        )
    n_outputs = getattr(agent, "n_outputs_", None)
    if isinstance(act_space, spaces.Box):
        if n_outputs is not None and n_outputs != int(np.prod(act_space.shape)):
            raise ValueError(
                f"the policy outputs {n_outputs} action dimensions but the env's "
                f"action space is {act_space}."
            )
        if hasattr(agent, "classes_"):
            raise ValueError(f"a classifier policy cannot act in the continuous {act_space}.")
    elif isinstance(act_space, spaces.Discrete):
        if n_outputs is not None:
            raise ValueError(f"a continuous policy cannot act in the discrete {act_space}.")
        classes = getattr(agent, "classes_", None)
        if classes is not None:
            valid = range(int(act_space.start), int(act_space.start + act_space.n))
            if classes.dtype.kind not in "iu" or not set(classes.tolist()) <= set(valid):
                raise ValueError(
                    f"the policy's actions {classes.tolist()} are not all in the env's {act_space}."
                )
    else:
        raise TypeError(f"only Box and Discrete action spaces are supported, got {act_space}.")


def to_env_action(prediction, space):
    """One row of a policy's prediction as an action ``space`` accepts."""
    action = np.asarray(prediction).reshape(-1)
    if isinstance(space, spaces.Discrete):
        if action.size != 1 or action.dtype.kind not in "iuf" or action[0] != int(action[0]):
            raise ValueError(f"expected one integer action for {space}, got {prediction!r}.")
        value = int(action[0])
        if not space.contains(np.int64(value)):
            raise ValueError(f"action {value} is outside the env's {space}.")
        return value
    if action.size != int(np.prod(space.shape)):
        raise ValueError(f"got {action.size} action values for the env's {space}.")
    return clip_to_box(action, space)[0]


def clip_to_box(actions, space):
    """Rows of actions as a Box ``space`` receives them: clipped, in its dtype.

    Returns an array of shape ``(n_rows, *space.shape)``.
    """
    actions = np.asarray(actions).reshape((-1,) + space.shape)
    return np.clip(actions, space.low, space.high).astype(space.dtype)


def run_episodes(agent, env, n_episodes, random_state=None, max_episode_steps=None):
    """Run ``agent`` for ``n_episodes`` and record everything as Demonstrations.

    Each episode's env seed is drawn from ``random_state``; an agent with a
    ``reset(random_state)`` method (an expert with per-episode intentions) is
    reset with the same seed at each episode start.
    """
    env, owned = make_env(env)
    try:
        check_agent_fits_env(agent, env)
        act = action_function(agent)
        rows = {k: [] for k in ("obs", "act", "ep", "rew", "term", "trunc")}
        finals, successes = [], []
        for episode, seed in enumerate(SeedStreams(random_state).seeds("rollout", n_episodes)):
            obs, info = env.reset(seed=seed)
            if hasattr(agent, "reset"):
                agent.reset(random_state=seed)
            if isinstance(act, (ChunkExecutor, HistoryExecutor)):
                act.reset()
            steps = 0
            while True:
                obs = flat_observation(obs)
                action = to_env_action(act(obs[None, :])[0], env.action_space)
                next_obs, reward, terminated, truncated, info = env.step(action)
                steps += 1
                truncated = truncated or (max_episode_steps is not None and steps >= max_episode_steps)
                for key, value in zip(rows, (obs, action, episode, reward, terminated, truncated)):
                    rows[key].append(value)
                if terminated or truncated:
                    break
                obs = next_obs
            finals.append(flat_observation(next_obs))
            successes.append(float(info["is_success"]) if "is_success" in info else np.nan)
    finally:
        if owned:
            env.close()
    return Demonstrations(
        np.array(rows["obs"]).reshape(len(rows["obs"]), -1),
        np.array(rows["act"]),
        np.array(rows["ep"]),
        np.array(rows["rew"], dtype=float),
        np.array(rows["term"]),
        np.array(rows["trunc"]),
        np.array(finals),
        np.array(successes),
    )
