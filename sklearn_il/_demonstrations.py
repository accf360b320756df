"""The one container for collected trajectories."""

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from . import _formats
from ._validation import check_groups, episode_starts


class Demonstrations:
    """Trajectories as flat arrays, one row per step, episodes contiguous.

    Parameters
    ----------
    observations : array-like of shape (n_steps, n_features)
        Observation at each step.
    actions : array-like of shape (n_steps,) or (n_steps, n_action_dims)
        Action taken at each step (labels for discrete actions).
    episode_ids : array-like of shape (n_steps,)
        Episode of each step; each episode's rows contiguous, in time order.
    rewards : array-like of shape (n_steps,), default=None
        Reward received after each step (zeros when None).
    terminated, truncated : array-like of shape (n_steps,), default=None
        gymnasium's end-of-episode flags for each step (False when None).
    final_observations : array-like of shape (n_episodes, n_features), default=None
        Observation after each episode's last step, in episode order.
    successes : array-like of shape (n_episodes,), default=None
        Whether each episode succeeded (``info["is_success"]`` at its end);
        NaN where the env did not say.
    observation_names, action_names : list of str, default=None
        Names of the observation features and of the action dimensions
        (the columns of a DataFrame they came from); :meth:`to_dataframe`
        uses them.

    Attributes
    ----------
    X : ndarray or DataFrame
        ``observations``, as a DataFrame with ``observation_names`` as its
        columns when they are known (needs pandas).
    y, groups : ndarray
        ``actions`` and ``episode_ids``, under the names scikit-learn's
        ``fit(X, y, groups=...)`` takes.

    Examples
    --------
    >>> from sklearn_il.datasets import collect_demonstrations
    >>> from sklearn_il.envs import OBSTACLE, ObstacleExpert
    >>> demos = collect_demonstrations(OBSTACLE, ObstacleExpert(), n_episodes=4,
    ...                                random_state=0)
    >>> demos.n_episodes, demos.X.shape[1]
    (4, 2)
    >>> train, test = demos.split(test_size=0.25, random_state=0)
    >>> train.n_episodes, test.n_episodes
    (3, 1)
    """

    def __init__(
        self,
        observations,
        actions,
        episode_ids,
        rewards=None,
        terminated=None,
        truncated=None,
        final_observations=None,
        successes=None,
        *,
        observation_names=None,
        action_names=None,
    ):
        self.observations = np.asarray(observations)
        if self.observations.ndim != 2:
            raise ValueError(
                f"observations must be 2-D (n_steps, n_features), got shape "
                f"{self.observations.shape}."
            )
        n = self.observations.shape[0]
        self.actions = np.asarray(actions)
        self.episode_ids = check_groups(episode_ids, n)
        self.rewards = self._per_step(rewards, n, "rewards", 0.0, float)
        self.terminated = self._per_step(terminated, n, "terminated", False, bool)
        self.truncated = self._per_step(truncated, n, "truncated", False, bool)
        if self.actions.shape[:1] != (n,):
            raise ValueError(f"actions has {self.actions.shape[:1]} rows, observations {n}.")
        self._starts = episode_starts(self.episode_ids)
        n_episodes = len(self._starts)
        if final_observations is not None:
            final_observations = np.asarray(final_observations)
            if final_observations.shape[0] != n_episodes:
                raise ValueError(
                    f"final_observations has {final_observations.shape[0]} rows but "
                    f"there are {n_episodes} episodes."
                )
        self.final_observations = final_observations
        if successes is None:
            successes = np.full(n_episodes, np.nan)
        self.successes = np.asarray(successes, dtype=float)
        if self.successes.shape != (n_episodes,):
            raise ValueError(f"successes must have one entry per episode ({n_episodes}).")
        self.observation_names = self._check_names(
            observation_names, self.observations.shape[1], "observation_names")
        self.action_names = self._check_names(
            action_names, int(np.prod(self.actions.shape[1:], dtype=int)), "action_names")

    @staticmethod
    def _check_names(names, n, name):
        if names is None:
            return None
        names = [str(v) for v in ([names] if isinstance(names, str) else names)]
        if len(names) != n:
            raise ValueError(f"{name} has {len(names)} names for {n} columns.")
        return names

    @staticmethod
    def _per_step(values, n, name, default, dtype):
        if values is None:
            return np.full(n, default, dtype=dtype)
        values = np.asarray(values, dtype=dtype)
        if values.shape != (n,):
            raise ValueError(f"{name} must have shape ({n},), got {values.shape}.")
        return values

    @property
    def X(self):
        """``observations``, under the name ``fit(X, y, ...)`` takes: a pandas
        DataFrame with the ``observation_names`` as its columns when they are
        known (a policy fitted on it records them as ``feature_names_in_``),
        else the array itself."""
        if self.observation_names is None:
            return self.observations
        import pandas as pd

        return pd.DataFrame(self.observations, columns=self.observation_names, copy=False)

    y = property(lambda self: self.actions)
    groups = property(lambda self: self.episode_ids)

    def __len__(self):
        return self.observations.shape[0]

    @property
    def n_episodes(self):
        """Number of episodes."""
        return len(self._starts)

    def __repr__(self):
        return (
            f"Demonstrations(n_episodes={self.n_episodes}, n_steps={len(self)}, "
            f"n_features={self.observations.shape[1]}, action_shape={self.actions.shape[1:]})"
        )

    def episode_lengths(self):
        """Number of steps of each episode, in episode order."""
        return np.diff(np.r_[self._starts, len(self)])

    def step_rows(self, horizon=None):
        """Where each episode's steps are: an (n_episodes, horizon) table of rows.

        Parameters
        ----------
        horizon : int, default=None
            Columns of the table; default: the longest episode's length.

        Returns
        -------
        rows : ndarray of shape (n_episodes, horizon), int
            Row of step ``t`` of episode ``i`` (0 where it has no such step).
        running : ndarray of shape (n_episodes, horizon), bool
            Whether episode ``i`` has a step ``t``.
        """
        lengths = self.episode_lengths()
        if horizon is None:
            horizon = int(lengths.max()) if len(lengths) else 0
        steps = np.arange(horizon)
        running = steps < lengths[:, None]
        return np.where(running, self._starts[:, None] + steps, 0), running

    def episode_returns(self):
        """Sum of rewards of each episode, in episode order."""
        return np.add.reduceat(self.rewards, self._starts) if len(self) else np.array([])

    def take_episodes(self, episodes):
        """The demonstrations of the given episode positions (0 .. n_episodes-1)."""
        episodes = np.asarray(episodes, dtype=int)
        bounds = np.r_[self._starts, len(self)]
        rows = np.concatenate([np.arange(bounds[e], bounds[e + 1]) for e in episodes] or [[]])
        rows = rows.astype(int)
        return Demonstrations(
            self.observations[rows],
            self.actions[rows],
            self.episode_ids[rows],
            self.rewards[rows],
            self.terminated[rows],
            self.truncated[rows],
            None if self.final_observations is None else self.final_observations[episodes],
            self.successes[episodes],
            observation_names=self.observation_names,
            action_names=self.action_names,
        )

    def split(self, test_size=0.2, random_state=None):
        """Split by episode into (train, test) demonstrations.

        Parameters
        ----------
        test_size : float or int, default=0.2
            Fraction (float) or number (int) of episodes in the test part.
        random_state : int, RandomState instance or None, default=None
            Seeds the shuffle.

        Returns
        -------
        train, test : Demonstrations
        """
        episodes = np.arange(self.n_episodes)
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
        train, test = next(splitter.split(episodes, groups=episodes))
        return self.take_episodes(np.sort(train)), self.take_episodes(np.sort(test))

    @classmethod
    def concatenate(cls, parts):
        """Join demonstrations; episode ids are renumbered 0 .. n_episodes-1."""
        parts = list(parts)
        if not parts:
            raise ValueError("concatenate needs at least one Demonstrations.")
        ids, offset = [], 0
        for part in parts:
            ids.append(np.repeat(np.arange(offset, offset + part.n_episodes), part.episode_lengths()))
            offset += part.n_episodes
        finals = [p.final_observations for p in parts]
        return cls(
            np.concatenate([p.observations for p in parts]),
            np.concatenate([p.actions for p in parts]),
            np.concatenate(ids),
            np.concatenate([p.rewards for p in parts]),
            np.concatenate([p.terminated for p in parts]),
            np.concatenate([p.truncated for p in parts]),
            None if any(f is None for f in finals) else np.concatenate(finals),
            np.concatenate([p.successes for p in parts]),
            observation_names=parts[0].observation_names,
            action_names=parts[0].action_names,
        )

    # ------------------------------------------------------- data in and out
    def to_dataframe(self):
        """The demonstrations in long format: one row per step.

        Returns
        -------
        df : pandas.DataFrame
            Columns ``episode``, ``step`` (0 at each episode's start), the
            observations (``observation_names``, else ``obs_0``, ...), the
            actions (``action_names``, else ``action`` or ``action_0``, ...),
            ``reward``, ``terminated`` and ``truncated``. The per-episode
            final observations and successes are not in it; :meth:`save`
            keeps them.
        """
        return _formats.to_dataframe(self)

    @classmethod
    def from_dataframe(cls, df, observation_columns, action_columns, episode_column,
                       step_column=None, reward_column=None, terminated_column=None,
                       truncated_column=None):
        """Demonstrations from a long-format DataFrame, one row per step.

        Parameters
        ----------
        df : pandas.DataFrame
        observation_columns, action_columns : str or list of str
            The observation features and the action dimensions. Their names
            travel: ``observation_names`` and ``action_names``. One action
            column gives 1-D actions.
        episode_column : str
            Episode id of each row (numbers or strings).
        step_column : str, default=None
            Time step of each row within its episode: the rows are sorted by
            episode, then step. Without it the rows must be in time order
            with each episode's rows contiguous; a ``ValueError`` names an
            episode that is not.
        reward_column, terminated_column, truncated_column : str, default=None
            Per-step rewards and end-of-episode flags (zeros and False when None).

        Returns
        -------
        demos : Demonstrations
        """
        return _formats.from_dataframe(cls, df, observation_columns, action_columns, episode_column,
                                       step_column, reward_column, terminated_column,
                                       truncated_column)

    def save(self, path):
        """Write the demonstrations to a ``.parquet`` or ``.npz`` file, atomically.

        Every array round-trips exactly through :meth:`load`, dtypes and the
        per-episode final observations and successes included. A parquet
        file holds the :meth:`to_dataframe` table (readable by any parquet
        tool), the rest in its JSON metadata.

        Parameters
        ----------
        path : str or path-like
            Ends in ``.parquet`` or ``.npz``; its folder must exist.
        """
        _formats.save(self, path)

    def to_minari(self, dataset_id, env, **metadata):
        """Write the demonstrations as a local Minari dataset.

        The dataset (in ``MINARI_DATASETS_PATH``, by default
        ``~/.minari/datasets``) holds each episode's observations with its
        final one, actions, rewards, terminations and truncations;
        ``minari.load_dataset``, :func:`~sklearn_il.datasets.load_minari`
        and d3rlpy's Minari loader read it. Nothing is uploaded.

        Parameters
        ----------
        dataset_id : str
            Minari's ``(namespace/)(env_name/)dataset_name-v(version)``.
        env : str, gymnasium.Env or gymnasium.envs.registration.EnvSpec
            The env the demonstrations come from; it must have a spec (a
            registered env), which the dataset stores so that
            ``recover_environment`` can remake it. A goal env's observations
            are stored as dicts of its ``"observation"`` and
            ``"desired_goal"`` entries (what the flat rows hold; the achieved
            goal is not recorded).
        **metadata
            Passed to ``minari.create_dataset_from_buffers`` (``author``,
            ``description``, ``code_permalink``, ...).

        Returns
        -------
        dataset : minari.MinariDataset
        """
        return _formats.to_minari(self, dataset_id, env, **metadata)

    @classmethod
    def load(cls, path):
        """Read demonstrations written by :meth:`save`; no code in the file is run.

        Parameters
        ----------
        path : str or path-like
            A ``.parquet`` or ``.npz`` file.

        Returns
        -------
        demos : Demonstrations
        """
        return _formats.load(cls, path)
