"""Rolling policies out and scoring them by what they achieve in the env."""

import numpy as np
from sklearn.utils import Bunch

from ._rollout import run_episodes

__all__ = ["evaluate_policy", "make_rollout_scorer", "rollout"]

_METRICS = ("mean_return", "success_rate", "mean_length")


def rollout(policy, env, n_episodes=1, random_state=None, max_episode_steps=None):
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

    Returns
    -------
    trajectories : Demonstrations

    Examples
    --------
    >>> from sklearn_il.envs import OBSTACLE, ObstacleExpert
    >>> from sklearn_il.evaluation import rollout
    >>> trajectories = rollout(ObstacleExpert(), OBSTACLE, n_episodes=2, random_state=0)
    >>> trajectories.successes
    array([1., 1.])
    """
    return run_episodes(policy, env, n_episodes, random_state, max_episode_steps)


def evaluate_policy(policy, env, n_episodes=10, random_state=None, max_episode_steps=None):
    """Return, success and length of a policy's episodes.

    Parameters
    ----------
    policy, env, n_episodes, random_state, max_episode_steps
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
    trajectories = rollout(policy, env, n_episodes, random_state, max_episode_steps)
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

    def __init__(self, env, n_episodes, metric, random_state, max_episode_steps):
        self.env = env
        self.n_episodes = n_episodes
        self.metric = metric
        self.random_state = random_state
        self.max_episode_steps = max_episode_steps

    def __call__(self, estimator, X=None, y=None, **kwargs):
        result = evaluate_policy(
            estimator, self.env, self.n_episodes, self.random_state, self.max_episode_steps
        )
        return result[self.metric]

    def __repr__(self):
        return (
            f"make_rollout_scorer(env={self.env!r}, n_episodes={self.n_episodes}, "
            f"metric={self.metric!r}, random_state={self.random_state!r})"
        )


def make_rollout_scorer(
    env, n_episodes=10, metric="mean_return", random_state=0, max_episode_steps=None
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
    >>> policy = BCRegressor(hidden_layer_sizes=(32,), max_iter=10, random_state=0).fit(X, y)
    >>> scorer = make_rollout_scorer(OBSTACLE, n_episodes=2, metric="success_rate")
    >>> 0.0 <= scorer(policy, X, y) <= 1.0
    True
    """
    if metric not in _METRICS:
        raise ValueError(f"metric must be one of {_METRICS}, got {metric!r}.")
    return RolloutScorer(env, n_episodes, metric, random_state, max_episode_steps)
