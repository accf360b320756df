"""Rolling policies out and scoring them by what they achieve in the env."""

import warnings

import numpy as np
from gymnasium import spaces
from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, StrOptions, validate_params

from ._rollout import (
    ROLLOUT_CONSTRAINTS,
    N_ENVS,
    LabellingAgent,
    check_agent_fits_env,
    clip_to_box,
    make_vector_env,
    run_episodes,
)
from ._seeding import SeedStreams

__all__ = ["compounding_error", "evaluate_policy", "make_rollout_scorer", "rollout"]

_METRICS = ("mean_return", "success_rate", "mean_length")

@validate_params(ROLLOUT_CONSTRAINTS, prefer_skip_nested_validation=True)
def rollout(policy, env, n_episodes=1, random_state=None, max_episode_steps=None, *,
            n_envs=N_ENVS, vectorization="sync", verbose=0):
    """Run a policy in an env and record its trajectories.

    Parameters
    ----------
    policy : fitted estimator, Pipeline, expert or callable
        Anything with ``predict(X)``, or a callable ``policy(X)``, mapping a
        batch of observations to actions. Box action spaces get the row as
        a clipped float array, Discrete ones an int label. A policy that
        predicts action chunks (``DiffusionBC(horizon=k)``) executes
        ``n_action_steps`` actions of each chunk before predicting again.
    env : gymnasium.Env, str or callable
        The env, a registered env id, or a zero-argument callable returning one.
    n_episodes : int, default=1
        Number of episodes.
    random_state : int, RandomState instance or None, default=None
        Seeds each episode's reset.
    max_episode_steps : int, default=None
        Truncate episodes at this length (on top of the env's own limit).
    n_envs : int, default=8
        Envs stepped together (at most ``n_episodes``); the policy is asked
        once per step for all of their observations. The episodes are the
        same whatever ``n_envs`` (up to the float32 rounding of a batch in a
        torch policy): episode ``i`` is reset with the ``i``-th seed of
        ``random_state`` and the agent's per-episode state starts with it.
        gymnasium steps all of a VectorEnv's envs together: near the end,
        an env with no episode left steps an idle action (zeros, clipped;
        the first label) whose results are dropped. 8 stepped about twice
        as fast as 1, and nearly as fast as 16 (see Notes).
    vectorization : {"sync", "async"}, default="sync"
        gymnasium's ``SyncVectorEnv`` (the envs step one after another in
        this process) or ``AsyncVectorEnv`` (each env in a worker process:
        worth it when stepping the env costs more than a process round
        trip). An env given as a ``VectorEnv`` is used as it is.
    verbose : int, default=0
        Show a progress bar over the episodes.

    Returns
    -------
    trajectories : Demonstrations

    Notes
    -----
    ``n_envs=8``, measured on 2 cores (Pendulum-v1, 20 episodes; the
    obstacle, 50): ``BCRegressor`` steps 2.1x (Pendulum) and 1.9x
    (obstacle) faster at 8 envs than at 1, as fast as at 16;
    ``DiffusionBC`` 4.4x and 4.5x, within 10 and 20 percent of 16.

    Examples
    --------
    >>> from sklearn_il.envs import OBSTACLE, ObstacleExpert
    >>> from sklearn_il.evaluation import rollout
    >>> trajectories = rollout(ObstacleExpert(), OBSTACLE, n_episodes=2,
    ...                        random_state=0)
    >>> trajectories.successes
    array([1., 1.])
    """
    return run_episodes(policy, env, n_episodes, random_state, max_episode_steps, n_envs,
                        vectorization, verbose)


@validate_params(ROLLOUT_CONSTRAINTS, prefer_skip_nested_validation=True)
def evaluate_policy(policy, env, n_episodes=10, random_state=None, max_episode_steps=None, *,
                    n_envs=N_ENVS, vectorization="sync", verbose=0):
    """Return, success and length of a policy's episodes.

    Parameters
    ----------
    policy, env, n_episodes, random_state, max_episode_steps, n_envs, vectorization, verbose
        As in :func:`rollout`.

    Returns
    -------
    result : Bunch
        ``mean_return``, ``std_return``, ``success_rate`` (NaN when the env
        reports no ``info["is_success"]``), ``mean_length``, and per episode
        ``returns``, ``lengths`` and ``successes``.

    Examples
    --------
    >>> from sklearn_il.envs import OBSTACLE, ObstacleExpert
    >>> from sklearn_il.evaluation import evaluate_policy
    >>> evaluate_policy(ObstacleExpert(), OBSTACLE, n_episodes=5,
    ...                 random_state=0).success_rate
    1.0
    """
    return summarise_episodes(run_episodes(policy, env, n_episodes, random_state, max_episode_steps,
                                           n_envs, vectorization, verbose))


def summarise_episodes(trajectories):
    """:func:`evaluate_policy`'s result for episodes already rolled out (Demonstrations)."""
    returns, lengths = trajectories.episode_returns(), trajectories.episode_lengths()
    successes = trajectories.successes
    known = ~np.isnan(successes)
    return Bunch(
        mean_return=float(returns.mean()),
        std_return=float(returns.std()),
        success_rate=float(successes[known].mean()) if known.any() else float("nan"),
        mean_length=float(lengths.mean()),
        returns=returns,
        lengths=lengths,
        successes=successes,
    )


class RolloutScorer:
    """Score a fitted policy by rolling it out; see :func:`make_rollout_scorer`."""

    def __init__(self, env, n_episodes, metric, random_state, max_episode_steps, n_envs,
                 vectorization):
        self.env = env
        self.n_envs = n_envs
        self.vectorization = vectorization
        self.n_episodes = n_episodes
        self.metric = metric
        self.random_state = random_state
        self.max_episode_steps = max_episode_steps

    def __call__(self, estimator, X=None, y=None, **kwargs):
        result = evaluate_policy(
            estimator, self.env, self.n_episodes, self.random_state, self.max_episode_steps,
            n_envs=self.n_envs, vectorization=self.vectorization,
        )
        return result[self.metric]

    def __repr__(self):
        return (
            f"make_rollout_scorer(env={self.env!r}, n_episodes={self.n_episodes}, "
            f"metric={self.metric!r}, random_state={self.random_state!r})"
        )


@validate_params(
    {**{k: v for k, v in ROLLOUT_CONSTRAINTS.items() if k != "policy"},
     "metric": [StrOptions(set(_METRICS))]},
    prefer_skip_nested_validation=True,
)
def make_rollout_scorer(
    env, n_episodes=10, metric="mean_return", random_state=0, max_episode_steps=None, *,
    n_envs=N_ENVS, vectorization="sync",
):
    """A scorer that rates a fitted policy by its rollouts, for ``GridSearchCV``.

    The held-out ``X`` and ``y`` a search passes are ignored: the score is
    what the policy achieves in ``env``. A fixed ``random_state`` gives every
    candidate the same episodes, so differences come from the policies.

    Parameters
    ----------
    env : gymnasium.Env, str or callable
        Where to roll out. Pass an id or a factory when the search runs with
        ``n_jobs > 1``: some envs cannot be pickled.
    n_episodes : int, default=10
        Episodes per evaluation.
    metric : {"mean_return", "success_rate", "mean_length"}, default="mean_return"
        What to return; greater is better for the first two.
    random_state : int, RandomState instance or None, default=0
        Seeds the episodes.
    max_episode_steps : int, default=None
        Truncate episodes at this length.
    n_envs, vectorization
        As in :func:`rollout`.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``.

    Examples
    --------
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.datasets import make_obstacle
    >>> from sklearn_il.envs import OBSTACLE
    >>> from sklearn_il.evaluation import make_rollout_scorer
    >>> X, y, groups = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = BCRegressor(hidden_layer_sizes=(32,), max_iter=10,
    ...                      random_state=0).fit(X, y)
    >>> scorer = make_rollout_scorer(OBSTACLE, n_episodes=2,
    ...                              metric="success_rate")
    >>> 0.0 <= scorer(policy, X, y) <= 1.0
    True
    """
    return RolloutScorer(env, n_episodes, metric, random_state, max_episode_steps, n_envs,
                         vectorization)


@validate_params(
    {**ROLLOUT_CONSTRAINTS, "expert": [HasMethods(["predict"]), callable]},
    prefer_skip_nested_validation=True,
)
def compounding_error(policy, env, expert, n_episodes=10, random_state=None, max_episode_steps=None,
                      *, n_envs=N_ENVS, vectorization="sync"):
    """How far a policy drifts from its expert, step by step.

    The expert and the policy each run ``n_episodes`` episodes from the same
    resets (same seeds). At every step of the policy's episodes the expert
    is asked what it would do. Behaviour cloning's errors compound: off the
    expert's states its mistakes grow, and the cost of an episode grows as
    ``O(eps H^2)`` with the horizon ``H``; a policy trained on its own
    states (DAgger) keeps it ``O(eps H)``.

    Parameters
    ----------
    policy : fitted estimator, Pipeline or callable
        The policy, as in :func:`rollout`.
    env : gymnasium.Env, str or callable
        The env, a registered env id, or a zero-argument callable returning one.
    expert : object with ``predict(X)``, or callable
        The reference, queryable at any state.
    n_episodes : int, default=10
        Episodes of each.
    random_state : int, RandomState instance or None, default=None
        Seeds the resets, shared by the expert's and the policy's episodes.
    max_episode_steps : int, default=None
        Truncate episodes at this length.
    n_envs, vectorization
        As in :func:`rollout`.

    Returns
    -------
    result : Bunch
        Arrays over time steps ``steps`` (0, 1, ...):

        - ``action_error``: mean distance between the policy's action and
          the expert's action at the policy's own states (episodes still
          running);
        - ``state_distance``: mean distance between the policy's and the
          expert's states at the same step (episodes where both run);
        - ``failure_rate``: fraction of episodes in which the policy's
          episode has ended (fallen off) while the expert's runs on;
        - ``cumulative_cost``: its running sum, the expected number of
          steps lost up to each step, counting a step after falling off as
          cost 1 (the lecture's "if you fall off, assume the worst");
        - ``n_running``: the policy's episodes still running.

    Examples
    --------
    >>> from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
    >>> from sklearn_il.evaluation import compounding_error
    >>> expert = WindingRoadExpert()
    >>> result = compounding_error(expert, WINDING_ROAD, expert, n_episodes=2,
    ...                            random_state=0)
    >>> float(result.cumulative_cost[-1]), float(result.action_error.max())
    (0.0, 0.0)
    """
    # One set of envs for both runs; the policy is checked against it first.
    envs, owned = make_vector_env(env, min(n_envs, n_episodes), vectorization)
    try:
        check_agent_fits_env(policy, envs)
        space = envs.single_action_space
        seed = SeedStreams(random_state).seed("rollout")  # shared by both runs
        reference = run_episodes(expert, envs, n_episodes, seed, max_episode_steps)
        agent = LabellingAgent(expert, lambda labels, learned, rngs: learned, learner=policy)
        learner = run_episodes(agent, envs, n_episodes, seed, max_episode_steps)
    finally:
        if owned:
            envs.close()
    labels = np.asarray(agent.labels)
    if isinstance(space, spaces.Discrete):
        error = (labels.reshape(-1) != learner.y.reshape(-1)).astype(float)
    else:
        # As the env would receive it: clipped and in the space's dtype.
        labels = clip_to_box(labels, space).reshape(len(learner), -1).astype(float)
        error = np.linalg.norm(labels - learner.y.reshape(len(learner), -1), axis=1)
    horizon = int(max(learner.episode_lengths().max(), reference.episode_lengths().max()))
    rows, running = learner.step_rows(horizon)
    reference_rows, reference_running = reference.step_rows(horizon)
    action_error = np.where(running, error[rows], np.nan)
    both = running & reference_running
    distance = np.where(
        both, np.linalg.norm(learner.observations[rows] - reference.observations[reference_rows], axis=-1), np.nan
    )
    failed = ~running & reference_running
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # steps no episode reaches
        mean_action_error = np.nanmean(action_error, axis=0)
        mean_distance = np.nanmean(distance, axis=0)
    failure_rate = failed.mean(axis=0)
    steps = np.arange(horizon)
    return Bunch(
        steps=steps,
        action_error=mean_action_error,
        state_distance=mean_distance,
        failure_rate=failure_rate,
        cumulative_cost=np.cumsum(failure_rate),
        n_running=running.sum(axis=0),
    )
