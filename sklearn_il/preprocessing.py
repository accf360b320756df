"""History of observations as columns, for policies of non-Markovian behaviour."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, validate_params
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from ._validation import check_groups, check_named, episode_starts, naming

__all__ = ["HistoryStacker", "stack_history"]


@validate_params(
    {"X": ["array-like"], "groups": ["array-like"],
     "n_frames": [Interval(Integral, 0, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def stack_history(X, groups, n_frames):
    """Each row followed by the ``n_frames`` rows before it in its episode.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Observations, each episode's rows contiguous and in time order.
    groups : ndarray of shape (n_samples,)
        Episode id of each row.
    n_frames : int
        Previous observations to append.

    Returns
    -------
    X_stacked : ndarray of shape (n_samples, (n_frames + 1) * n_features)
        Columns ``x_t, x_{t-1}, ..., x_{t-n_frames}``; before an episode's
        first row, its first row is repeated.
    """
    X = check_named(X, "X")
    return _stacked(X, check_groups(groups, len(X), required_by="stack_history"), n_frames)


def _stacked(X, groups, n_frames):
    """:func:`stack_history` on checked arrays (the rollout engine calls it every step)."""
    starts = episode_starts(groups)
    first = np.repeat(starts, np.diff(np.r_[starts, len(X)]))  # each row's episode start
    rows = np.arange(len(X))
    lagged = [X[np.maximum(rows - lag, first)] for lag in range(n_frames + 1)]
    return np.hstack(lagged)


class HistoryStacker(TransformerMixin, BaseEstimator):
    """Append the previous ``n_frames`` observations of the same episode.

    A policy of one observation cannot act on what it cannot see now: a
    velocity, an intention, where it came from. Stacking the recent past
    into each row lets any policy condition on it. At an episode's start,
    where there is no past, the first observation is repeated.

    ``transform`` needs the episode ids. In a Pipeline, they are routed here
    with ``sklearn.set_config(enable_metadata_routing=True)``: ``fit`` and
    ``transform`` request them by default. Rows are neither added nor
    removed, so ``sample_weight`` routed to a later policy still lines up.
    Rollouts (:func:`~sklearn_il.evaluation.rollout` and friends) keep the
    history themselves for a Pipeline that starts with this step.

    Parameters
    ----------
    n_frames : int, default=3
        Previous observations appended to each row.

    Attributes
    ----------
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    sklearn_il.SequenceBC : A recurrent policy over the stacked frames.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_il.preprocessing import HistoryStacker
    >>> X = np.array([[1.0], [2.0], [3.0], [10.0], [20.0]])
    >>> HistoryStacker(n_frames=2).fit_transform(X, groups=[0, 0, 0, 1, 1])
    array([[ 1.,  1.,  1.],
           [ 2.,  1.,  1.],
           [ 3.,  2.,  1.],
           [10., 10., 10.],
           [20., 10., 10.]])
    """

    _parameter_constraints = {"n_frames": [Interval(Integral, 0, None, closed="left")]}

    __metadata_request__fit = {"groups": True}
    __metadata_request__transform = {"groups": True}

    def __init__(self, n_frames=3):
        self.n_frames = n_frames

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Check the input and remember its width.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : None
            Ignored.
        groups : array-like of shape (n_samples,), default=None
            Episode id of each row; validated when given.

        Returns
        -------
        self : object
        """
        with naming("X"):
            X = validate_data(self, X, dtype=np.float64)
        check_groups(groups, X.shape[0])
        return self

    def rollout_actor(self, n_envs, predict):
        """How the rollout engine acts with a Pipeline that starts with this stacker.

        Parameters
        ----------
        n_envs : int
            Envs stepped together.
        predict : callable
            The rest of the Pipeline's ``predict``, on stacked rows.

        Returns
        -------
        actor : object
            Keeps each env's last ``n_frames`` observations and stacks them
            as :func:`stack_history` does before calling ``predict``.
        """
        from ._rollout import HistoryActor  # the engine imports this module

        return HistoryActor(predict, self.n_frames, n_envs, getattr(self, "n_features_in_", None))

    def transform(self, X, groups=None):
        """Append the history of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, each episode's rows contiguous and in time order.
        groups : array-like of shape (n_samples,)
            Episode id of each row.

        Returns
        -------
        X_stacked : ndarray of shape (n_samples, (n_frames + 1) * n_features)
            Columns ``x_t, x_{t-1}, ..., x_{t-n_frames}``.
        """
        check_is_fitted(self)
        with naming("X"):
            X = validate_data(self, X, dtype=np.float64, reset=False)
        groups = check_groups(groups, X.shape[0],
                              required_by="HistoryStacker (history stays within an episode)")
        return _stacked(X, groups, self.n_frames)

    def fit_transform(self, X, y=None, groups=None):
        """Fit, then append the history of each row; see :meth:`transform`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations, each episode's rows contiguous and in time order.
        y : None
            Ignored.
        groups : array-like of shape (n_samples,)
            Episode id of each row; required, as in :meth:`transform`.

        Returns
        -------
        X_stacked : ndarray of shape (n_samples, (n_frames + 1) * n_features)
            Each observation followed by the ``n_frames`` before it.
        """
        return self.fit(X, y, groups).transform(X, groups)

    def get_feature_names_out(self, input_features=None):
        """Names of the stacked columns: ``name`` for now, ``name_lag{k}`` for the past.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Input names; default: the fitted ones, or ``x0``, ``x1``, ...

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        input_features = _check_feature_names_in(self, input_features)
        lags = [list(input_features)] + [
            [f"{name}_lag{k}" for name in input_features] for k in range(1, self.n_frames + 1)
        ]
        return np.asarray(sum(lags, []), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags
