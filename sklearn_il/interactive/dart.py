"""DART: the expert drives with injected noise sized to the learner's errors."""

from numbers import Real

import numpy as np
from sklearn.base import is_classifier
from sklearn.utils._param_validation import Interval

from .._rollout import N_ENVS, LabellingAgent
from ._base import InteractiveImitation


class DARTWrapper(InteractiveImitation):
    """Disturbances for Augmenting Robot Trajectories (Laskey et al., 2017).

    The expert drives every collected episode, but the executed action is
    ``pi*(s) + noise`` with ``noise ~ N(0, Sigma_alpha)``, so the episodes
    wander off the expert's ideal path and show it correcting; the label of
    each state is the expert's clean action ``pi*(s)``. ``Sigma`` is the
    covariance of the policy's errors ``pi_hat(s) - pi*(s)`` on the latest
    round's states, rescaled to ``Sigma_alpha = alpha / (T tr Sigma) Sigma``
    (``T``: the round's mean episode length), so the noise looks like the
    learner's own mistakes and ``T tr Sigma_alpha = alpha``.

    Unlike DAgger the expert stays in control, so collection costs little
    of the expert's reward. Round 1 is the initial data, without noise;
    ``fit`` then runs rounds ``2, ..., n_iter + 1``. Continuous (Box)
    actions only.

    Parameters
    ----------
    estimator : estimator
        The policy (any estimator with ``fit`` and ``predict``, a Pipeline
        included). Cloned; the fitted one is ``estimator_``.
    env : gymnasium.Env, str or callable, default=None
        Where to collect: an Env, a registered env id, or a zero-argument
        callable returning one.
    expert : object with ``predict(X)`` or callable, default=None
        Drives and labels. ``None`` is accepted only for the human loop
        (``n_iter=0``, :meth:`collect_states`, :meth:`partial_fit`), where
        no noise is injected.
    alpha : float, default=1.0
        Total noise variance over an episode, ``T tr Sigma_alpha``.
    n_iter : int, default=10
        Collection rounds after the initial data.
    n_episodes_per_iter : int, default=5
        Episodes collected per round (and expert episodes when ``X`` is None).
    max_episode_steps : int, default=None
        Truncate collected episodes at this length.
    n_envs : int, default=8
        Envs stepped together while collecting, as in
        :class:`~sklearn_il.interactive.DAggerWrapper`.
    vectorization : {"sync", "async"}, default="sync"
        Sync or async envs, as in :class:`~sklearn_il.interactive.DAggerWrapper`.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes and the noise.
    checkpoint : str or path-like, default=None
        Written after every round; ``fit`` resumes from it, as in
        :class:`~sklearn_il.interactive.DAggerWrapper`.
    verbose : int, default=0
        Show a progress bar over rounds with the latest return.

    Attributes
    ----------
    estimator_ : estimator
        The policy fitted on all the data.
    X_, y_ : ndarray
        The aggregated states and the expert's clean labels.
    groups_ : ndarray of shape (n_rows,)
        Episode id of each aggregated row, numbered from 0 across rounds.
    noise_covariance_ : ndarray of shape (n_action_dims, n_action_dims)
        ``Sigma_alpha`` for the next round.
    history_ : list of dict
        One record per round: ``iteration``, ``beta`` (1: the expert
        drives), ``n_labels``, ``n_labels_total``, ``mean_return`` (of the
        noisy expert's episodes).
    n_features_in_ : int
        Number of observation features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    DAggerWrapper : The learner drives and the expert labels.

    Examples
    --------
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
    >>> from sklearn_il.interactive import DARTWrapper
    >>> dart = DARTWrapper(
    ...     BCRegressor(hidden_layer_sizes=(32,), max_iter=20, random_state=0),
    ...     env=WINDING_ROAD, expert=WindingRoadExpert(), n_iter=2,
    ...     n_episodes_per_iter=1, random_state=0).fit()
    >>> dart.noise_covariance_.shape
    (1, 1)
    """

    _parameter_constraints = {
        **InteractiveImitation._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        estimator,
        env=None,
        expert=None,
        *,
        alpha=1.0,
        n_iter=10,
        n_episodes_per_iter=5,
        max_episode_steps=None,
        n_envs=N_ENVS,
        vectorization="sync",
        random_state=None,
        checkpoint=None,
        verbose=0,
    ):
        super().__init__(
            estimator, env, expert, n_iter=n_iter, n_episodes_per_iter=n_episodes_per_iter,
            max_episode_steps=max_episode_steps, n_envs=n_envs, vectorization=vectorization,
            random_state=random_state, checkpoint=checkpoint, verbose=verbose,
        )
        self.alpha = alpha

    def _check_params(self, X, y, *, collecting):
        super()._check_params(X, y, collecting=collecting)
        if is_classifier(self.estimator):
            raise TypeError(
                "DARTWrapper injects Gaussian noise into the actions and needs a policy "
                "for continuous actions, not a classifier."
            )

    def _after_refit(self, X, y):
        y = np.asarray(y, dtype=float).reshape(len(y), -1)
        errors = np.asarray(self.estimator_.predict(X), dtype=float).reshape(y.shape) - y
        covariance = np.atleast_2d(np.cov(errors, rowvar=False, bias=True))
        trace = float(np.trace(covariance))
        if trace <= 0:
            # A policy without errors on these states: spread the budget evenly.
            covariance, trace = np.eye(y.shape[1]), float(y.shape[1])
        n_episodes = np.unique(self.groups_[-len(y):]).size
        horizon = len(y) / n_episodes
        self.noise_covariance_ = self.alpha / (horizon * trace) * covariance

    def _make_agent(self, iteration, seed):
        covariance = self.noise_covariance_

        def choose(labels, learned, rngs):
            # Each episode's noise from its own generator.
            noise = [rng.multivariate_normal(np.zeros(len(covariance)), covariance) for rng in rngs]
            return np.asarray(labels, dtype=float).reshape(len(rngs), -1) + np.array(noise)

        return LabellingAgent(self.expert, choose, seed=seed), 1.0
