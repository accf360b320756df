"""Demonstrations: the container, collecting them, and the built-in tasks' data."""

from numbers import Integral

from sklearn.utils import Bunch
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

from . import _formats, envs
from ._demonstrations import Demonstrations
from ._rollout import N_ENVS, ROLLOUT_CONSTRAINTS, run_episodes

__all__ = [
    "Demonstrations",
    "collect_demonstrations",
    "load_minari",
    "make_gates",
    "make_obstacle",
    "make_particle",
    "make_point_reach",
    "make_winding_road",
]


@validate_params(
    {**{k: v for k, v in ROLLOUT_CONSTRAINTS.items() if k not in ("policy", "verbose")},
     "expert": [HasMethods(["predict"]), callable]},
    prefer_skip_nested_validation=True,
)
def collect_demonstrations(env, expert, n_episodes, random_state=None, max_episode_steps=None, *,
                           n_envs=N_ENVS, vectorization="sync"):
    """Roll out an expert and record its demonstrations.

    Parameters
    ----------
    env : gymnasium.Env, str or callable
        The env, a registered env id, or a zero-argument callable returning one.
    expert : object with ``predict(X)``, or callable
        Maps a batch of observations to actions. If it has a
        ``reset(random_state)`` method, it is called at each episode start.
    n_episodes : int
        Number of episodes.
    random_state : int, RandomState instance or None, default=None
        Seeds each episode's env reset (and the expert's ``reset``).
    max_episode_steps : int, default=None
        Truncate episodes at this length (on top of the env's own limit).
    n_envs, vectorization
        Envs stepped together, as in :func:`sklearn_il.evaluation.rollout`;
        the demonstrations do not depend on them. An expert with
        ``reset(random_state)`` is copied once per env.

    Returns
    -------
    demonstrations : Demonstrations

    Examples
    --------
    >>> from sklearn_il.datasets import collect_demonstrations
    >>> demos = collect_demonstrations("Pendulum-v1", lambda X: -X[:, 2:3],
    ...                                n_episodes=2, random_state=0)
    >>> demos.X.shape, demos.y.shape
    ((400, 3), (400, 1))
    """
    return run_episodes(expert, env, n_episodes, random_state, max_episode_steps, n_envs,
                        vectorization)


def load_minari(dataset_id_or_path, *, return_X_y=False, download=False):
    """Load a Minari dataset: demonstrations from the Farama Foundation's format.

    Read from the local Minari folder (``MINARI_DATASETS_PATH``, by default
    ``~/.minari/datasets``) or from a dataset's folder; the network is used
    only with ``download=True``. A goal env's dict observations are
    flattened as the rollout tools flatten them (``observation`` then
    ``desired_goal``), so a policy fitted on the rows acts in the env as is.

    Parameters
    ----------
    dataset_id_or_path : str or path-like
        A Minari dataset id (``"D4RL/pen/expert-v2"``), or the path of a
        dataset's folder (the one holding ``data/``).
    return_X_y : bool, default=False
        Return ``(X, y, groups)`` instead of a Bunch.
    download : bool, default=False
        Fetch the dataset from the Minari server when it is not local.

    Returns
    -------
    data : Bunch
        ``data``, ``target``, ``groups`` (X, y and episode ids),
        ``demonstrations`` (a :class:`Demonstrations`, final observations
        included), ``env_spec`` (the env's gymnasium spec, None if the
        dataset has none), ``recover_environment`` (Minari's, a callable
        making the env when it is installed) and ``dataset`` (the
        ``minari.MinariDataset``).
    (X, y, groups) : tuple of ndarray
        With ``return_X_y=True``.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_il.datasets import collect_demonstrations, load_minari
    >>> from sklearn_il.envs import OBSTACLE, ObstacleExpert
    >>> os.environ["MINARI_DATASETS_PATH"] = tempfile.mkdtemp()
    >>> demos = collect_demonstrations(OBSTACLE, ObstacleExpert(), 3,
    ...                                random_state=0)
    >>> _ = demos.to_minari("sklearn_il/obstacle/expert-v0", env=OBSTACLE,
    ...                     author="me", author_email="me@example.com",
    ...                     code_permalink="https://example.com",
    ...                     description="doc")
    >>> X, y, groups = load_minari("sklearn_il/obstacle/expert-v0",
    ...                            return_X_y=True)
    >>> X.shape, len(set(groups))
    ((90, 2), 3)
    """
    demos, dataset = _formats.load_minari(Demonstrations, dataset_id_or_path, download)
    return _loaded(demos, return_X_y, env_spec=dataset.env_spec,
                   recover_environment=dataset.recover_environment, dataset=dataset)


def _loaded(demos, return_X_y, **extra):
    """A loader's return: ``(X, y, groups)``, or a Bunch with the demonstrations and ``extra``."""
    if return_X_y:
        return demos.observations, demos.y, demos.groups
    return Bunch(data=demos.observations, target=demos.y, groups=demos.groups, demonstrations=demos, **extra)


_MAKE_CONSTRAINTS = {
    "n_episodes": [Interval(Integral, 1, None, closed="left")],
    "random_state": ["random_state"],
    "return_X_y": ["boolean"],
}


def _make_task(env_id, expert, n_episodes, random_state, return_X_y):
    demos = collect_demonstrations(env_id, expert, n_episodes, random_state)
    return _loaded(demos, return_X_y, env_id=env_id, expert=expert)


@validate_params({**_MAKE_CONSTRAINTS, "side_from": [StrOptions({"coin", "offset"})]},
                 prefer_skip_nested_validation=True)
def make_obstacle(n_episodes=50, *, side_from="coin", random_state=None, return_X_y=True):
    """Demonstrations of the bimodal obstacle task (the lecture's tree).

    The expert passes the obstacle on the left or on the right, chosen at
    random in each episode: the same observations carry two action modes.

    Parameters
    ----------
    n_episodes : int, default=50
        Number of demonstrated episodes (30 steps each).
    side_from : {"coin", "offset"}, default="coin"
        ``"coin"``: episodes start within 0.01 of the centre line and the
        expert tosses a coin for its side (``OBSTACLE``). ``"offset"``:
        episodes start up to 0.2 off it and the expert passes on the side it
        starts on (``OBSTACLE_OFFSET``): the side is a function of the
        state, split by a small offset, which nearby states blur into two
        modes.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes and the expert's choice of side.
    return_X_y : bool, default=True
        Return ``(X, y, groups)``; otherwise a Bunch with ``data``,
        ``target``, ``groups``, ``demonstrations``, ``env_id`` and ``expert``.

    Returns
    -------
    X : ndarray of shape (n_steps, 2)
        Observations ``(x, y)``.
    y : ndarray of shape (n_steps, 1)
        Lateral speed commands.
    groups : ndarray of shape (n_steps,)
        Episode ids.

    Examples
    --------
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, groups = make_obstacle(n_episodes=3, random_state=0)
    >>> X.shape[1], y.shape[1], len(set(groups))
    (2, 1, 3)
    """
    if side_from == "offset":
        return _make_task(envs.OBSTACLE_OFFSET, envs.ObstacleExpert(side="offset"), n_episodes,
                          random_state, return_X_y)
    return _make_task(envs.OBSTACLE, envs.ObstacleExpert(), n_episodes, random_state, return_X_y)


@validate_params(_MAKE_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_gates(n_episodes=50, *, random_state=None, return_X_y=True):
    """Demonstrations of the two-gate task: a bimodal 2-D action.

    The expert steers both action dimensions towards one of two gates,
    ``(1, 1)`` or ``(-1, -1)``, chosen at random in each episode: the modes
    differ in both dimensions at once, so the dimensions must be chosen
    together.

    Parameters
    ----------
    n_episodes : int, default=50
        Number of demonstrated episodes (30 steps each).
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes and the expert's choice of gate.
    return_X_y : bool, default=True
        Return ``(X, y, groups)``; otherwise a Bunch (see ``make_obstacle``).

    Returns
    -------
    X : ndarray of shape (n_steps, 3)
        Observations ``(x, y1, y2)``.
    y : ndarray of shape (n_steps, 2)
        Lateral speed commands.
    groups : ndarray of shape (n_steps,)
        Episode ids.

    Examples
    --------
    >>> from sklearn_il.datasets import make_gates
    >>> X, y, groups = make_gates(n_episodes=3, random_state=0)
    >>> X.shape[1], y.shape[1], len(set(groups))
    (3, 2, 3)
    """
    return _make_task(envs.GATES, envs.GatesExpert(), n_episodes, random_state, return_X_y)


@validate_params(_MAKE_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_winding_road(n_episodes=20, *, random_state=None, return_X_y=True):
    """Demonstrations of the compounding-error task (a winding road).

    Parameters
    ----------
    n_episodes : int, default=20
        Number of demonstrated episodes (200 steps each).
    random_state : int, RandomState instance or None, default=None
        Seeds the roads.
    return_X_y : bool, default=True
        Return ``(X, y, groups)``; otherwise a Bunch (see ``make_obstacle``).

    Returns
    -------
    X : ndarray of shape (n_steps, 4)
        Offset, heading error, curvature here and ahead.
    y : ndarray of shape (n_steps, 1)
        Steering commands.
    groups : ndarray of shape (n_steps,)
        Episode ids.

    Examples
    --------
    >>> from sklearn_il.datasets import make_winding_road
    >>> X, y, groups = make_winding_road(n_episodes=2, random_state=0)
    >>> X.shape
    (400, 4)
    """
    return _make_task(
        envs.WINDING_ROAD, envs.WindingRoadExpert(), n_episodes, random_state, return_X_y
    )


@validate_params(_MAKE_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_point_reach(n_episodes=50, *, random_state=None, return_X_y=True):
    """Demonstrations of the goal-reaching task.

    Parameters
    ----------
    n_episodes : int, default=50
        Number of demonstrated episodes.
    random_state : int, RandomState instance or None, default=None
        Seeds starts and goals.
    return_X_y : bool, default=True
        Return ``(X, y, groups)``; otherwise a Bunch (see ``make_obstacle``).

    Returns
    -------
    X : ndarray of shape (n_steps, 4)
        Position then goal.
    y : ndarray of shape (n_steps, 2)
        Velocity commands.
    groups : ndarray of shape (n_steps,)
        Episode ids.

    Examples
    --------
    >>> from sklearn_il.datasets import make_point_reach
    >>> X, y, groups = make_point_reach(n_episodes=2, random_state=0)
    >>> X.shape[1], y.shape[1]
    (4, 2)
    """
    return _make_task(
        envs.POINT_REACH, envs.PointReachExpert(), n_episodes, random_state, return_X_y
    )


@validate_params(_MAKE_CONSTRAINTS, prefer_skip_nested_validation=True)
def make_particle(n_episodes=50, *, random_state=None, return_X_y=True):
    """Demonstrations of the two-goal particle task: an expert whose action jumps.

    The expert's setpoint is the first goal until the particle comes within
    0.05 of it, then the second: two states a hair apart get actions as far
    apart as the goals.

    Parameters
    ----------
    n_episodes : int, default=50
        Number of demonstrated episodes (up to 50 steps each).
    random_state : int, RandomState instance or None, default=None
        Seeds starts and goals.
    return_X_y : bool, default=True
        Return ``(X, y, groups)``; otherwise a Bunch (see ``make_obstacle``).

    Returns
    -------
    X : ndarray of shape (n_steps, 8)
        Position, velocity, first goal, second goal.
    y : ndarray of shape (n_steps, 2)
        Position setpoints.
    groups : ndarray of shape (n_steps,)
        Episode ids.

    Examples
    --------
    >>> from sklearn_il.datasets import make_particle
    >>> X, y, groups = make_particle(n_episodes=2, random_state=0)
    >>> X.shape[1], y.shape[1]
    (8, 2)
    """
    return _make_task(envs.PARTICLE, envs.ParticleExpert(), n_episodes, random_state, return_X_y)
