"""Curating demonstrations of mixed quality: per-row weights for ``fit``.

Each function scores every episode, turns the scores into one weight per
episode, and returns the weight of each row, ready for
``policy.fit(X, y, groups=groups, sample_weight=weights)``:

- :func:`return_weights` scores an episode by its return (filtered
  behaviour cloning, "%BC", keeps the best fraction; return-weighted
  regression, as advantage-weighted regression, weights by
  ``exp(return / temperature)``);
- :func:`typicality_weights` needs no rewards: it scores an episode by how
  likely its actions are under a policy fitted on the *other* episodes, and
  how likely its states under their state density, so an operator who acts
  or goes elsewhere than most scores low.
"""

import inspect
from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GroupKFold, check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params
from sklearn.neighbors import KernelDensity
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import _num_samples
from scipy.stats import rankdata

from ._validation import check_groups, check_named, episode_starts

_WEIGHTING = {
    "method": [StrOptions({"top", "exponential"})],
    "top_fraction": [Interval(Real, 0, 1, closed="right")],
    "temperature": [Interval(Real, 0, None, closed="neither")],
}


def _episode_weights(scores, method, top_fraction, temperature):
    """One weight per episode from its score (higher is better).

    ``"top"``: 1 for the ``ceil(top_fraction * n)`` best episodes, 0 for the
    rest (ties at the cut all kept). ``"exponential"``: ``exp((score - best)
    / (temperature * spread))``, the spread being the scores' standard
    deviation (1 if they are all equal), so ``temperature`` does not depend
    on the scores' units; the best episode weighs 1.
    """
    if method == "top":
        n_kept = int(np.ceil(top_fraction * len(scores)))
        cut = np.sort(scores)[::-1][n_kept - 1]
        return (scores >= cut).astype(float)
    spread = scores.std() or 1.0
    return np.exp((scores - scores.max()) / (temperature * spread))


def _episodes(groups, n_samples):
    """Validated ``groups`` (required by ``validate_params``) and the row where
    each episode starts (rows contiguous)."""
    return episode_starts(check_groups(groups, n_samples))


def _per_row(episode_values, starts, n_samples):
    """Each row's value: its episode's."""
    return np.repeat(episode_values, np.diff(np.r_[starts, n_samples]))


@validate_params(
    {"rewards": ["array-like"], "groups": ["array-like"], **_WEIGHTING},
    prefer_skip_nested_validation=True,
)
def return_weights(rewards, groups, *, method="exponential", top_fraction=0.5,
                   temperature=0.25):
    """Weight each row by its episode's return.

    Parameters
    ----------
    rewards : array-like of shape (n_samples,)
        Reward of each step (``Demonstrations.rewards``); an episode's
        return is the sum over its rows.
    groups : array-like of shape (n_samples,)
        Episode id of each row; each episode's rows contiguous.
    method : {"top", "exponential"}, default="exponential"
        ``"top"``: filtered behaviour cloning (%BC): weight 1 for the rows
        of the ``top_fraction`` of episodes with the highest returns, 0
        for the rest. ``"exponential"``: return-weighted regression, as
        advantage-weighted regression does with the return in place of the
        advantage: ``exp((R - R_max) / (temperature * std(R)))``.
    top_fraction : float in (0, 1], default=0.5
        Fraction of episodes kept by ``"top"`` (rounded up; episodes tied
        at the cut are all kept).
    temperature : float > 0, default=0.25
        Of ``"exponential"``, in standard deviations of the returns: an
        episode one standard deviation below the best weighs ``exp(-1 /
        temperature)``.

    Notes
    -----
    The defaults are ``benchmarks/bench_curation.py``'s best (half of the
    episodes from degraded operators; normalised return of a
    ``BCRegressor``, 5 seeds, on the goal-reaching task and Pendulum-v1):
    ``"exponential"`` at temperature 0.25 gave 0.87 and 0.98, at 1 0.50
    and 0.96; ``"top"`` at 0.5 gave 0.59 and 0.98. Plain BC gave 0.31 and
    0.53, BC on the expert's episodes alone 0.72 and 0.99. (In a first run
    of 3 and 2 seeds, temperature 0.5 gave 0.81 and 0.91.) Returns compare
    episodes only as far as their starts are alike: a far goal costs an
    expert more than a near one costs a noisy operator, and a hard filter
    drops the far goals' episodes.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        Weight of each row, at most 1; the best episode's rows weigh 1.

    See Also
    --------
    typicality_weights : Weights for demonstrations without rewards.

    Examples
    --------
    >>> from sklearn_il.curation import return_weights
    >>> rewards = [1.0, 1.0, 0.0, 0.0, 0.5, 0.5]
    >>> return_weights(rewards, groups=[0, 0, 1, 1, 2, 2], method="top",
    ...                top_fraction=0.5)
    array([1., 1., 0., 0., 1., 1.])
    >>> return_weights(rewards, groups=[0, 0, 1, 1, 2, 2]).round(3)
    array([1.   , 1.   , 0.   , 0.   , 0.007, 0.007])
    """
    rewards = check_named(rewards, "rewards", ensure_2d=False, dtype=np.float64)
    if rewards.ndim != 1:
        raise ValueError(f"rewards must be 1-D (one per row), got shape {rewards.shape}.")
    starts = _episodes(groups, len(rewards))
    returns = np.add.reduceat(rewards, starts)
    weights = _episode_weights(returns, method, top_fraction, temperature)
    return _per_row(weights, starts, len(rewards))


@validate_params(
    {
        "estimator": [HasMethods(["fit", "score_samples"])],
        "X": ["array-like"],
        "y": ["array-like"],
        "groups": ["array-like"],
        "cv": [Interval(Integral, 2, None, closed="left"), "cv_object"],
        **_WEIGHTING,
    },
    prefer_skip_nested_validation=False,  # the estimator's own fit validates it
)
def typicality_weights(estimator, X, y, groups, *, cv=5, method="top", top_fraction=0.5,
                       temperature=0.25):
    """Weight each row by how typical its episode is; no rewards needed.

    Episodes are split into ``cv`` folds. For each fold, a clone of
    ``estimator`` is fitted on the other folds' episodes and scores the
    fold's actions with ``score_samples(X, y)`` (log-likelihood), and a
    Gaussian kernel density (Scott's bandwidth) of the other folds'
    observations, standardised, scores the fold's observations. An episode
    gets each score's mean over its rows, then the lower of its two
    percentile ranks among the episodes: it must be typical both in what its
    operator did and in where it went. The ranks become weights as in
    :func:`return_weights`.

    Held out, an episode cannot vouch for itself. Actions alone do not
    suffice: an operator who keeps to states that others pass quickly (a
    pendulum left hanging) is the typical one there; states alone do not
    either: a noisy operator goes where the others go.

    This assumes that most of the demonstrations are good, and that a good
    demonstration is one like the others.

    Parameters
    ----------
    estimator : estimator with ``score_samples(X, y)``
        A policy with a likelihood, such as ``BCRegressor(loss="gaussian")``
        or :class:`~sklearn_il.MixtureDensityBC`; cloned for each fold.
    X : array-like of shape (n_samples, n_features)
        Observations.
    y : array-like of shape (n_samples,) or (n_samples, n_action_dims)
        Actions.
    groups : array-like of shape (n_samples,)
        Episode id of each row; each episode's rows contiguous.
    cv : int or cross-validation generator, default=5
        Folds of episodes: an int is ``GroupKFold(cv)``; a splitter is
        called with ``groups``.
    method : {"top", "exponential"}, default="top"
        As in :func:`return_weights`, on the episodes' ranks.
    top_fraction : float in (0, 1], default=0.5
        Fraction of episodes ``"top"`` keeps.
    temperature : float > 0, default=0.25
        Of ``"exponential"``, in standard deviations of the ranks.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
        Weight of each row, at most 1.

    See Also
    --------
    return_weights : Weights from episode returns.

    Notes
    -----
    Measured with ``benchmarks/bench_curation.py`` (half of the episodes
    from three degraded operators; normalised return of a ``BCRegressor``,
    5 seeds): on Pendulum-v1 ``"top"`` gave 0.99, as BC on the expert's
    episodes alone, against plain BC's 0.53 (``"exponential"``: 0.96). In
    2 seeds both scores together kept 100% and 95% of the expert's episodes
    and 0 and 1 of the 20 others, where the actions' likelihood alone kept
    half of the pendulum-hanging operator's. On the goal-reaching task it
    did harm (0.19 against plain BC's 0.31): how well a held-out episode is
    predicted depends more on where its goal lies than on who drove, and
    every operator visits the same states.

    Examples
    --------
    Eight episodes of a smooth operator, two of a noisy one:

    >>> import numpy as np
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.curation import typicality_weights
    >>> rng = np.random.default_rng(0)
    >>> groups = np.repeat(np.arange(10), 30)
    >>> X = rng.uniform(-2, 2, (300, 1))
    >>> y = np.sin(X[:, 0]) + (groups >= 8) * rng.normal(0, 0.8, 300)
    >>> policy = BCRegressor(loss="gaussian", hidden_layer_sizes=(16,),
    ...                      learning_rate_init=0.01, max_iter=30, random_state=0)
    >>> weights = typicality_weights(policy, X, y, groups, top_fraction=0.5)
    >>> weights[::30]                    # per episode: the noisy two are out
    array([0., 1., 1., 0., 1., 1., 1., 1., 0., 0.])
    """
    X, y, groups = indexable(X, y, groups)
    n_samples = _num_samples(X)
    starts = _episodes(groups, n_samples)
    groups = np.asarray(groups)
    splitter = GroupKFold(cv) if isinstance(cv, Integral) else check_cv(cv)
    takes_groups = "groups" in inspect.signature(estimator.fit).parameters
    actions, states = np.full(n_samples, np.nan), np.full(n_samples, np.nan)
    for train, test in splitter.split(X, y, groups=groups):
        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
        model = clone(estimator)
        model.fit(X_train, _safe_indexing(y, train),
                  **({"groups": groups[train]} if takes_groups else {}))
        actions[test] = model.score_samples(X_test, _safe_indexing(y, test))
        scaler = StandardScaler().fit(X_train)
        density = KernelDensity(bandwidth="scott").fit(scaler.transform(X_train))
        states[test] = density.score_samples(scaler.transform(X_test))
    if np.isnan(actions).any():
        raise ValueError("cv must hold out every episode once, as GroupKFold does.")
    lengths = np.diff(np.r_[starts, n_samples])
    ranks = [rankdata(np.add.reduceat(scores, starts) / lengths) / len(starts)
             for scores in (actions, states)]
    weights = _episode_weights(np.minimum(*ranks), method, top_fraction, temperature)
    return _per_row(weights, starts, n_samples)
