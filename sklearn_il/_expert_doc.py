"""The one description of a built-in expert's ``predict``, which all share."""

_PREDICT = """The expert's actions, one row per observation.

        Batched: one call answers for many states (the rollout engine asks
        for all of its envs at once).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations of the task.

        Returns
        -------
        {returns}
        """

_CONTINUOUS = """actions : ndarray of shape (n_samples, n_action_dims)
            float64, within the task's action bounds."""


def documented_predict(method=None, *, returns=_CONTINUOUS):
    """Give an expert's ``predict`` the shared docstring; ``returns``: its
    Returns entry, where the actions are not continuous."""

    def document(method):
        method.__doc__ = _PREDICT.format(returns=returns)
        return method

    return document if method is None else document(method)
