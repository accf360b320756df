"""Running an agent (policy or expert) in envs: the one rollout engine."""

import copy
import multiprocessing.connection
import signal
from functools import partial
from numbers import Integral

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from tqdm.auto import tqdm

from ._demonstrations import Demonstrations
from ._seeding import SeedStreams
from ._validation import all_finite
from .preprocessing import _stacked

# Envs stepped together by default (measured: see evaluation.rollout's Notes).
N_ENVS = 8


# What a rollout function takes; the agent and env protocols are checked when
# the env is made (make_vector_env, check_agent_fits_env).
ROLLOUT_CONSTRAINTS = {
    "policy": [HasMethods(["predict"]), callable],
    "env": "no_validation",
    "n_episodes": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "max_episode_steps": [Interval(Integral, 1, None, closed="left"), None],
    "n_envs": [Interval(Integral, 1, None, closed="left")],
    "vectorization": [StrOptions({"sync", "async"})],
    "verbose": ["verbose"],
}


def registered(env_id):
    """``env_id`` if gymnasium knows it; a ``ValueError`` naming it if not
    (gymnasium's own exceptions are not ``ValueError``s)."""
    try:
        gym.spec(env_id)
    except gym.error.Error as exc:
        raise ValueError(f"env={env_id!r}: {exc}") from exc
    return env_id


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
        return gym.make(registered(env)), True
    if callable(env):
        made = env()
        if not isinstance(made, gym.Env):
            raise TypeError(f"the env factory returned {type(made).__name__}, not a gymnasium Env.")
        return made, True
    raise TypeError(
        "env must be a gymnasium Env, a registered env id such as "
        f"'Pendulum-v1', or a zero-argument callable returning an Env; got {env!r}."
    )


class Actor:
    """How the engine asks an agent for actions: a batch of rows at a time.

    ``start(env, episode, seed)`` is called when env slot ``env`` begins
    episode ``episode`` (seeded ``seed``); ``act(X, envs)`` gets the
    observations of the running env slots ``envs`` and returns one action
    row each. State kept between calls (history frames, action chunks, an
    expert's intentions) is kept per env slot and reset by ``start``, so an
    episode's actions do not depend on the episodes running beside it.
    """

    def bind(self, n_envs):
        """Ready for ``n_envs`` env slots; returns the actor."""
        return self

    def start(self, env, episode, seed):
        pass


class PredictActor(Actor):
    """A stateless agent: one ``predict`` call on the whole batch."""

    def __init__(self, predict):
        self.predict = predict

    def act(self, X, envs):
        return self.predict(X)


class IntentionActor(Actor):
    """An expert with per-episode intentions (``reset(random_state)``).

    One copy per env slot, reset with its episode's seed: each copy is
    asked about its own rows.
    """

    def __init__(self, agent, n_envs):
        self.copies = [copy.deepcopy(agent) for _ in range(n_envs)]
        self.predicts = [predict_function(c) for c in self.copies]

    def start(self, env, episode, seed):
        self.copies[env].reset(random_state=seed)

    def act(self, X, envs):
        return np.concatenate([
            np.asarray(self.predicts[env](X[i : i + 1])).reshape(1, -1)
            for i, env in enumerate(envs)
        ])


class ChunkActor(Actor):
    """A policy that predicts action chunks (``DiffusionBC(horizon=k)``).

    Without ``ensemble_coeff``: executes the first ``n_steps`` actions of each
    predicted chunk, then predicts the next chunk from the observation
    reached; the env slots whose chunk ran out are predicted for together.

    With ``ensemble_coeff=m`` (ACT's temporal ensembling, Zhao et al. 2023):
    predicts a chunk at every step and executes the weighted mean of the
    actions that the chunks still running predicted for this step, weight
    ``exp(-m * i)`` for the ``i``-th oldest (``m > 0`` favours the older).
    """

    def __init__(self, predict_chunk, n_envs, n_steps=None, ensemble_coeff=None):
        self.predict_chunk = predict_chunk
        self.n_steps = n_steps
        self.ensemble_coeff = ensemble_coeff
        # Per env slot: the actions still to come of each chunk, oldest first.
        self.chunks = [[] for _ in range(n_envs)]

    def start(self, env, episode, seed):
        self.chunks[env] = []

    def act(self, X, envs):
        if self.ensemble_coeff is None:
            empty = [i for i, env in enumerate(envs) if not self.chunks[env]]
            if empty:
                for i, chunk in zip(empty, self.predict_chunk(X[empty])):
                    self.chunks[envs[i]] = [chunk[: self.n_steps]]
            actions = [self.chunks[env][0][0] for env in envs]
        else:
            actions = []
            for env, chunk in zip(envs, self.predict_chunk(X)):
                self.chunks[env].append(chunk)
                now = np.stack([c[0] for c in self.chunks[env]])
                weights = np.exp(-self.ensemble_coeff * np.arange(len(now)))
                actions.append(weights @ now / weights.sum())
        for env in envs:
            self.chunks[env] = [c[1:] for c in self.chunks[env] if len(c) > 1]
        return np.stack(actions)


class HistoryActor(Actor):
    """A policy that reads the last ``n_frames`` observations too.

    Keeps each env slot's last ``n_frames + 1`` observations and hands
    ``predict`` the rows :func:`~sklearn_il.preprocessing.stack_history`
    makes of them, the layout the policy was trained on (at an episode's
    start the first observation is repeated). ``n_features``: the width of
    one observation, when known.
    """

    def __init__(self, predict, n_frames, n_envs, n_features=None):
        self.predict = predict
        self.n_frames = n_frames
        self.n_features = n_features
        self.frames = [[] for _ in range(n_envs)]

    def start(self, env, episode, seed):
        self.frames[env] = []

    def act(self, X, envs):
        for row, env in zip(np.asarray(X, dtype=np.float64), envs):
            self.frames[env] = (self.frames[env] + [row])[-(self.n_frames + 1):]
        lengths = [len(self.frames[env]) for env in envs]
        rows = np.concatenate([self.frames[env] for env in envs])
        stacked = _stacked(rows, np.repeat(np.arange(len(envs)), lengths), self.n_frames)
        return self.predict(stacked[np.cumsum(lengths) - 1])


def _is_sb3_model(agent):
    """Whether ``agent`` is a stable-baselines3 model (checked without
    importing stable-baselines3)."""
    return any(cls.__name__ == "BaseAlgorithm"
               and cls.__module__ == "stable_baselines3.common.base_class"
               for cls in type(agent).__mro__)


def predict_function(agent):
    """``agent``'s actions for a batch of observations, stateless: ``predict`` or the callable.

    An estimator fitted on a DataFrame gets the observations under its
    feature names; a stable-baselines3 model is asked through
    :class:`~sklearn_il.experts.SB3Expert`.
    """
    if _is_sb3_model(agent):
        from .experts import SB3Expert

        return SB3Expert(agent).predict
    if hasattr(agent, "predict"):
        names = getattr(agent, "feature_names_in_", None)
        if names is not None:
            import pandas as pd

            return lambda X: agent.predict(pd.DataFrame(X, columns=names))
        return agent.predict
    if callable(agent):
        return agent
    raise TypeError(
        f"expected a policy or expert with predict(X), or a callable; got {type(agent).__name__}."
    )


def make_actor(agent, n_envs):
    """The engine's :class:`Actor` for ``agent`` acting in ``n_envs`` env slots.

    The protocol, in this order: an agent's own ``rollout_actor(n_envs)``
    (a policy with state: history, action chunks; a wrapper delegating to
    its policy); for a Pipeline, its first step's
    ``rollout_actor(n_envs, predict=rest_of_the_pipeline.predict)`` when it
    has one (``HistoryStacker``); one copy per env slot of an expert with
    per-episode intentions, ``reset(random_state)``; otherwise ``predict``
    (or the callable) on the batch.
    """
    if isinstance(agent, Actor):
        return agent.bind(n_envs)
    if hasattr(agent, "rollout_actor"):
        return agent.rollout_actor(n_envs)
    if isinstance(agent, Pipeline) and hasattr(agent.steps[0][1], "rollout_actor"):
        return agent.steps[0][1].rollout_actor(n_envs, predict=agent[1:].predict)
    if hasattr(agent, "reset"):
        return IntentionActor(agent, n_envs)
    return PredictActor(predict_function(agent))


class LabellingAgent(Actor):
    """Acts in the env and asks the expert for its action at every step.

    ``choose(labels, learned, rngs)`` returns the actions executed for a
    batch of rows, from the expert's ``labels`` and the learner's actions
    (None without a learner); ``rngs`` holds each row's episode's generator
    (seeded from ``seed`` and the episode index, so that the choices do not
    depend on how many envs run at once). The expert's clean actions are
    kept per episode; ``labels`` gives them in episode and step order, the
    order of the rollout's rows.
    """

    def __init__(self, expert, choose, learner=None, seed=0):
        self.expert, self.learner, self.choose, self.seed = expert, learner, choose, seed
        self.episode_labels = {}

    def start(self, env, episode, seed):
        self.expert_actor.start(env, episode, seed)
        if self.learner_actor is not None:
            self.learner_actor.start(env, episode, seed)
        self.episodes[env] = episode
        self.rngs[env] = np.random.default_rng([self.seed, episode])
        self.episode_labels[episode] = []

    def bind(self, n_envs):
        """Make the expert's and the learner's actors for ``n_envs`` env slots."""
        self.expert_actor = make_actor(self.expert, n_envs)
        self.learner_actor = None if self.learner is None else make_actor(self.learner, n_envs)
        self.episodes, self.rngs = [None] * n_envs, [None] * n_envs
        return self

    def act(self, X, envs):
        labels = np.asarray(self.expert_actor.act(X, envs))
        for label, env in zip(labels, envs):
            self.episode_labels[self.episodes[env]].append(label)
        # The learner acts at every step, also where the expert's action is
        # executed: a learner with state (history, chunks) sees every step.
        learned = None if self.learner_actor is None else np.asarray(self.learner_actor.act(X, envs))
        return self.choose(labels, learned, [self.rngs[env] for env in envs])

    @property
    def labels(self):
        return np.asarray([label for e in sorted(self.episode_labels)
                           for label in self.episode_labels[e]])


# A goal-reaching env's Dict observation (gymnasium-robotics' convention):
# the policy sees these entries, flattened and joined in this order.
GOAL_KEYS = ("observation", "desired_goal")


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


def check_agent_fits_env(agent, env, actor=None):
    """Raise ``ValueError`` when a fitted policy's shapes do not match the env (or VectorEnv).

    ``actor``: the agent's actor when the caller has made it already.
    """
    obs_space = getattr(env, "single_observation_space", env.observation_space)
    act_space = getattr(env, "single_action_space", env.action_space)
    width = observation_width(obs_space)
    # A history actor knows the width of one observation; otherwise the
    # fitted width is the observation's.
    actor = make_actor(agent, 1) if actor is None else actor
    n_features = getattr(actor, "n_features", getattr(agent, "n_features_in_", None))
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


def action_converter(space):
    """A function from a policy's predictions for a batch of rows to actions ``space`` accepts.

    It returns one action per row: int labels for a Discrete space, rows
    clipped to a Box in its dtype. What depends only on the space is worked
    out here, once per rollout rather than once per step.
    """
    if isinstance(space, spaces.Discrete):
        start, stop = int(space.start), int(space.start + space.n)

        def to_labels(predictions):
            actions = np.asarray(predictions)
            actions = actions.reshape(len(actions), -1)
            if actions.shape[1] != 1 or actions.dtype.kind not in "iuf" or (actions != actions.astype(int)).any():
                raise ValueError(f"expected one integer action per row for {space}, got {predictions!r}.")
            labels = actions[:, 0].astype(np.int64)
            outside = (labels < start) | (labels >= stop)
            if outside.any():
                raise ValueError(f"action {labels[outside][0]} is outside the env's {space}.")
            return labels

        return to_labels
    width, shape = int(np.prod(space.shape)), (-1,) + space.shape

    def to_box(predictions):
        actions = np.asarray(predictions)
        if actions.size != width * len(actions):
            raise ValueError(
                f"got {actions.size // max(len(actions), 1)} action values per row for the env's {space}."
            )
        # Clipped and cast in one op.
        return np.clip(actions.reshape(shape), space.low, space.high,
                       out=np.empty((len(actions),) + space.shape, space.dtype), casting="unsafe")

    return to_box


def clip_to_box(actions, space):
    """Rows of actions as a Box ``space`` receives them: clipped, in its dtype.

    Returns an array of shape ``(n_rows, *space.shape)``.
    """
    actions = np.asarray(actions).reshape((-1,) + space.shape)
    return np.clip(actions, space.low, space.high).astype(space.dtype)


def _env_factory(env):
    """A picklable zero-argument callable making copies of the env the user gave."""
    if isinstance(env, str):
        return partial(gym.make, env)
    if isinstance(env, gym.Env):
        # A registered env is remade from its spec (kwargs and wrappers
        # included), when the spec can remake it: a wrapper that does not
        # record its constructor's arguments leaves kwargs=None there. An
        # env that cannot be remade is copied.
        spec = env.spec
        if spec is not None and all(w.kwargs is not None for w in spec.additional_wrappers):
            return partial(gym.make, spec)
        return partial(copy.deepcopy, env)
    return partial(_made_env, env)


def _made_env(env):
    """:func:`make_env`'s env alone (a picklable factory for the vector envs)."""
    return make_env(env)[0]


def make_vector_env(env, n_envs=1, vectorization="sync"):
    """``n_envs`` copies of the env as a gymnasium ``VectorEnv``, or the user's own.

    Returns
    -------
    envs : gymnasium.vector.VectorEnv
    owned : bool
        Whether it was made here (and should be closed here). A single
        ``Env`` instance with ``n_envs=1`` is stepped itself, not a copy.
    """
    if isinstance(env, gym.vector.VectorEnv):
        return env, False
    if isinstance(env, str):
        registered(env)
    elif not isinstance(env, gym.Env) and not callable(env):
        make_env(env)  # raises make_env's TypeError for anything else
    if isinstance(env, gym.Env) and n_envs == 1 and vectorization == "sync":
        return gym.vector.SyncVectorEnv([lambda: env], autoreset_mode="Disabled", copy=False), False
    factories = [_env_factory(env)] * n_envs
    if vectorization == "async":
        return gym.vector.AsyncVectorEnv(factories, autoreset_mode="Disabled", copy=False), True
    return gym.vector.SyncVectorEnv(factories, autoreset_mode="Disabled", copy=False), True


def flat_observations(obs, n_envs):
    """A VectorEnv's batch of observations as float64 rows (goal dicts joined)."""
    if isinstance(obs, dict):
        return np.concatenate(
            [np.asarray(obs[k], dtype=np.float64).reshape(n_envs, -1) for k in GOAL_KEYS], axis=1
        )
    # A copy: the VectorEnv reuses its observation buffer at the next step.
    return np.array(obs, dtype=np.float64).reshape(n_envs, -1)


def goal_observations(rows, space):
    """The inverse of :func:`flat_observations` for a goal env's Dict ``space``.

    Only the ``GOAL_KEYS`` entries, cast to their spaces' dtypes: the
    achieved goal is not part of what a policy sees, so rows do not hold it.
    """
    widths = np.cumsum([int(np.prod(space[k].shape)) for k in GOAL_KEYS])[:-1]
    parts = np.split(np.asarray(rows), widths, axis=1)
    return {k: part.reshape(len(part), *space[k].shape).astype(space[k].dtype)
            for k, part in zip(GOAL_KEYS, parts)}


def _idle_action(space):
    """An action for an env slot whose episodes are all done (its steps are discarded)."""
    if isinstance(space, spaces.Discrete):
        return int(space.start)
    return clip_to_box(np.zeros(space.shape), space)[0]


def _info_at(info, key, i):
    """``info[key]`` of sub-env ``i`` of a VectorEnv's info dict, or None."""
    if key in info and info.get("_" + key, np.ones(i + 1, bool))[i]:
        return info[key][i]
    return None


def _check_finite_actions(predictions, agent, running, steps, episode_of):
    """Refuse NaN or inf actions (an env would step them, or clip inf to a bound)."""
    predictions = np.asarray(predictions)
    if predictions.dtype.kind != "f" or predictions.ndim == 0:
        return  # labels, or a shape action conversion refuses
    rows = predictions.reshape(len(predictions), -1)
    if all_finite(rows):
        return
    bad = ~np.isfinite(rows).all(axis=1)
    if not bad.any():  # a finite sum that overflowed
        return
    row = np.flatnonzero(bad)[0]
    slot = running[row]
    name = getattr(agent, "__name__", type(agent).__name__)
    raise ValueError(
        f"{name} returned a non-finite action (NaN or inf: {predictions[row].tolist()}) at "
        f"step {steps[slot]} of episode {episode_of[slot]}; an env cannot step it."
    )


def run_episodes(agent, env, n_episodes, random_state=None, max_episode_steps=None,
                 n_envs=1, vectorization="sync", verbose=0):
    """Run ``agent`` for ``n_episodes`` in ``n_envs`` envs at once; Demonstrations in episode order.

    Episode ``i`` is reset with the ``i``-th seed of the ``"rollout"`` stream
    of ``random_state`` in whichever env slot is free, and the agent's
    per-episode state starts with it, so the episodes do not depend on
    ``n_envs`` or on ``vectorization``. Exactly ``n_episodes`` are run.
    The agent is asked once per step, for the observations of every
    running env together; a slot with no episode left steps an idle action
    whose results are dropped (gymnasium steps every sub-env together).
    ``verbose``: a tqdm bar over the episodes.
    """
    envs, owned = make_vector_env(env, min(n_envs, n_episodes), vectorization)
    broken = False
    try:
        n_slots = envs.num_envs
        act_space = envs.single_action_space
        idle = np.asarray(_idle_action(act_space))
        actor = make_actor(agent, n_slots)
        check_agent_fits_env(agent, envs, actor)
        seeds = [int(s) for s in SeedStreams(random_state).seeds("rollout", n_episodes)]
        # One entry per step: the running slots' episodes and transitions;
        # sorted into episode order at the end.
        log = {k: [] for k in ("episode", "obs", "act", "rew", "term", "trunc")}
        finals, successes = [None] * n_episodes, [np.nan] * n_episodes
        episode_of, steps = np.full(n_slots, -1), np.zeros(n_slots, dtype=int)
        same_step = envs.metadata.get("autoreset_mode") == gym.vector.AutoresetMode.SAME_STEP
        idle_actions = np.repeat(idle[None], n_slots, axis=0)
        to_env_actions = action_converter(act_space)

        def begin(slots, first):
            """Reset ``slots`` with the next episodes' seeds (idle past the last)."""
            nonlocal next_episode
            slot_seeds = [None] * n_slots
            for slot in slots:
                if next_episode < n_episodes:
                    episode_of[slot], slot_seeds[slot] = next_episode, seeds[next_episode]
                    actor.start(slot, next_episode, seeds[next_episode])
                    next_episode += 1
                else:
                    episode_of[slot] = -1
                steps[slot] = 0
            if first:
                return envs.reset(seed=slot_seeds)[0]
            mask = np.zeros(n_slots, dtype=bool)
            mask[slots] = True
            return envs.reset(seed=slot_seeds, options={"reset_mask": mask})[0]

        next_episode = 0
        progress = tqdm(total=n_episodes, disable=not verbose, unit="episode", desc="rollout")
        obs = begin(range(n_slots), first=True)
        running = np.flatnonzero(episode_of >= 0)
        while len(running):
            X = flat_observations(obs, n_slots)
            if len(running) < n_slots:
                X = X[running]
            predictions = actor.act(X, running)
            _check_finite_actions(predictions, agent, running, steps, episode_of)
            acted = to_env_actions(predictions)
            if len(running) == n_slots:
                actions = acted
            else:
                actions = idle_actions.copy()
                actions[running] = acted
            obs, reward, terminated, truncated, info = envs.step(actions)
            steps += 1
            over = terminated | truncated
            if max_episode_steps is not None:
                over |= steps >= max_episode_steps
            for key, value in zip(log, (episode_of[running], X, acted, reward[running],
                                        terminated[running], (truncated | over & ~terminated)[running])):
                log[key].append(value)
            ended = np.flatnonzero(over)
            for slot in ended:
                episode = episode_of[slot]
                if episode < 0:
                    continue
                # Under SAME_STEP autoreset (a user's VectorEnv) the episode's
                # last observation and info are kept aside.
                last = _info_at(info, "final_obs", slot) if same_step else None
                final = _slot_obs(obs, slot) if last is None else last
                finals[episode] = flat_observations(final, 1)[0]  # one env's: a batch of one
                last_info = _info_at(info, "final_info", slot) if same_step else None
                success = (_info_at(info, "is_success", slot) if last_info is None
                           else last_info.get("is_success"))
                if success is not None:
                    successes[episode] = float(success)
                progress.update()
            if len(ended):
                obs = begin(ended, first=False)
                running = np.flatnonzero(episode_of >= 0)
        progress.close()
    except (EOFError, ConnectionError) as exc:
        # A subprocess env that died (killed, out of memory) breaks its pipe;
        # anything else of that kind is the agent's own.
        dead = _dead_env_processes(envs)
        if not dead:
            raise
        broken = True
        raise _env_died(dead, episode_of, steps, finals) from exc
    finally:
        if owned:
            _close(envs, broken)
    episodes = np.concatenate(log.pop("episode"))
    # Stable: each episode's steps stay in the order they were taken.
    order = np.argsort(episodes, kind="stable")
    rows = {k: np.concatenate(v)[order] for k, v in log.items()}
    return Demonstrations(rows["obs"], rows["act"], episodes[order], rows["rew"].astype(float),
                          rows["term"].astype(bool), rows["trunc"].astype(bool),
                          np.array(finals), np.array(successes))


def _dead_env_processes(envs):
    """(slot, exit code) of each subprocess env of ``envs`` that has ended."""
    processes = getattr(envs, "processes", None) or []
    if not processes:
        return []
    # A process's sentinel is readable once its files are closed, as its
    # pipe is; join() then waits until it is reaped, after its memory is
    # freed (over half a second on a loaded machine), for its exit code.
    ended = set(multiprocessing.connection.wait([p.sentinel for p in processes], timeout=1))
    dead = [slot for slot, p in enumerate(processes) if p.sentinel in ended]
    for slot in dead:
        processes[slot].join()
    return [(slot, processes[slot].exitcode) for slot in dead]


def _env_died(dead, episode_of, steps, finals):
    """The error that ends a rollout whose subprocess env died."""
    slot, code = dead[0]
    if code < 0 and -code in signal.valid_signals():
        how = f"killed by signal {signal.Signals(-code).name}"
    else:
        how = f"exit code {code}"
    episode = episode_of[slot]
    where = (f"in episode {episode}, at step {steps[slot]}" if episode >= 0
             else "after its last episode")
    done = sum(final is not None for final in finals)
    return RuntimeError(
        f"the process of env slot {slot} died ({how}) {where}, of the {len(finals)} "
        f"episodes this call runs ({done} had finished). Its episodes are lost: a DAgger "
        "or DART round adds nothing (the rounds before it and their policy are kept). "
        "Run it again, or step the envs in this process with vectorization='sync'."
    )


def _close(envs, broken):
    """Close the envs made here. After an env process died, gymnasium's
    ``close`` would wait for its answer first and fail: the others are
    ended and the pipes closed here instead."""
    if not broken:
        envs.close()
        return
    for process in envs.processes:
        if process.is_alive():
            process.terminate()
        process.join()
    for pipe in envs.parent_pipes:
        pipe.close()
    envs.closed = True


def _slot_obs(obs, slot):
    """Sub-env ``slot``'s observation in a VectorEnv's batch."""
    if isinstance(obs, dict):
        return {k: v[slot] for k, v in obs.items()}
    return obs[slot]
