"""Hindsight relabeling: every trajectory demonstrates how to reach where it went."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._seeding import SeedStreams
from .._validation import check_named, episode_ends
from ._base import BaseAugmenter


class HindsightRelabeler(BaseAugmenter):
    """Relabel each row with a goal it went on to reach (GCSL, relay policy learning).

    Whatever the data were collected for (undirected play, failed attempts,
    another task), the actions that led from ``s_t`` to a later state
    ``s_{t+k}`` of the same episode are a demonstration of reaching
    ``s_{t+k}``. For each row the relabeler picks such later states as goals
    and returns the rows ``(s_t, goal_fn(s_{t+k}))`` with the action ``a_t``:
    goal columns appended, so any policy fitted on them is goal-conditioned,
    ``pi(a | s, g)``. The last row of an episode has no later state and is
    left out.

    Parameters
    ----------
    strategy : {"future", "final", "window"}, default="future"
        Which later state is the goal: ``"future"`` any later row of the
        episode (uniformly), ``"window"`` one of the next ``window`` rows,
        ``"final"`` the episode's last row.
    window : int, default=None
        The horizon of ``strategy="window"``.
    n_relabels : int, default=1
        Goals drawn per row (``"future"`` and ``"window"``; ``"final"`` has
        one goal per row and needs 1).
    goal_fn : callable, default=None
        Maps a batch of states ``(n, n_features)`` to goal features
        ``(n, n_goal_features)``, e.g. the position part of a state; the
        default is the state itself.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of goals.

    Attributes
    ----------
    n_features_in_ : int
        Number of state features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_goal_features_ : int
        Number of goal columns appended.

    Notes
    -----
    Ghosh et al., "Learning to reach goals via iterated supervised learning"
    (GCSL), 2019; Gupta et al., "Relay policy learning", 2019 (windowed).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_il.augment import HindsightRelabeler
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    >>> y = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    >>> X_goal, y_goal = HindsightRelabeler(strategy="final").fit_resample(
    ...     X, y, groups=[0, 0, 0, 1, 1])
    >>> X_goal.tolist(), y_goal.tolist()
    ([[0.0, 2.0], [1.0, 2.0], [10.0, 11.0]], [1.0, 1.0, 1.0])
    """

    _groups_required_by = "HindsightRelabeler (goals are later states of the same episode)"
    _appends = False
    _y_numeric = False

    _parameter_constraints = {
        "strategy": [StrOptions({"future", "final", "window"})],
        "window": [Interval(Integral, 1, None, closed="left"), None],
        "n_relabels": [Interval(Integral, 1, None, closed="left")],
        "goal_fn": [callable, None],
        "random_state": ["random_state"],
    }

    def __init__(self, strategy="future", *, window=None, n_relabels=1, goal_fn=None,
                 random_state=None):
        self.strategy = strategy
        self.window = window
        self.n_relabels = n_relabels
        self.goal_fn = goal_fn
        self.random_state = random_state

    def _check_params(self, X, y):
        if (self.strategy == "window") != (self.window is not None):
            raise ValueError("window is the horizon of strategy='window': give both or neither.")
        if self.strategy == "final" and self.n_relabels != 1:
            raise ValueError("strategy='final' has one goal per row; n_relabels applies to the others.")

    def _resample(self, X, y, groups):
        rng = np.random.default_rng(SeedStreams(self.random_state).seed("labels"))
        ends = episode_ends(groups, per_row=True)
        rows = np.flatnonzero(np.arange(len(X)) < ends)  # rows with a later state
        if len(rows) == 0:
            raise ValueError(
                f"HindsightRelabeler needs episodes of at least 2 rows; the {len(X)} "
                f"sample{'s' if len(X) != 1 else ''} given have no later state."
            )
        if self.strategy == "final":
            source, goal_rows = rows, ends[rows]
        else:
            source = np.repeat(rows, self.n_relabels)
            ahead = ends[source] - source  # how many later rows each has
            if self.window is not None:
                ahead = np.minimum(ahead, self.window)
            goal_rows = source + 1 + np.floor(rng.random(len(source)) * ahead).astype(int)
        goals = X[goal_rows] if self.goal_fn is None else self._goals(X[goal_rows])
        self.n_goal_features_ = goals.shape[1]
        return np.hstack([X[source], goals]), y[source]

    def _goals(self, states):
        """``goal_fn`` on the goal states, checked: one finite row of numbers per state."""
        goals = check_named(self.goal_fn(states), "goal_fn", ensure_2d=False, dtype=np.float64,
                            ensure_min_samples=0)
        if goals.ndim not in (1, 2) or len(goals) != len(states):
            raise ValueError(
                f"goal_fn must return one goal per row of states: it got {len(states)} rows "
                f"and returned an array of shape {goals.shape}."
            )
        return goals.reshape(len(states), -1)
