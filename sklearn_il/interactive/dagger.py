"""DAgger: label the learner's own states with the expert, aggregate, refit."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._rollout import N_ENVS, LabellingAgent
from ._base import InteractiveImitation


class DAggerWrapper(InteractiveImitation):
    """Dataset Aggregation around any policy (Ross, Gordon and Bagnell, 2011).

    Round ``i`` rolls out the mixture ``pi_i = beta_i pi* + (1 - beta_i)
    pi_hat_i``: at every step a coin with probability ``beta_i`` decides
    whether the expert or the current policy acts. The expert labels every
    state visited, the labelled states join all earlier data, and the
    policy is refitted on the aggregate. Training on the states the learner
    itself reaches is what turns behaviour cloning's ``O(eps H^2)`` into
    ``O(eps H)``.

    Round 1 is the initial data: the given demonstrations, or the expert's
    own episodes when ``X`` is None (``beta_1 = 1`` under both schedules of
    the paper). ``fit`` then runs rounds ``2, ..., n_iter + 1``.

    A human can be the expert: with ``expert=None`` and ``n_iter=0``,
    ``fit`` trains on the demonstrations, :meth:`collect_states` rolls out
    the policy and returns the states to label, and :meth:`partial_fit`
    takes the labels, aggregates and refits.

    Parameters
    ----------
    estimator : estimator
        The policy (any estimator with ``fit`` and ``predict``, a Pipeline
        included). Cloned; the fitted one is ``estimator_``. Its ``fit``
        receives ``groups`` when it takes them.
    env : gymnasium.Env, str or callable, default=None
        Where to collect: an Env, a registered env id, or a zero-argument
        callable returning one.
    expert : object with ``predict(X)``, callable, or None, default=None
        Labels any state. ``None``: a human labels, through
        :meth:`collect_states` and :meth:`partial_fit`.
    beta : {"indicator", "exponential"}, float or callable, default="exponential"
        Probability that the expert acts in round ``i``: ``"indicator"``
        is ``1[i = 1]`` (the learner drives every collected round),
        ``"exponential"`` is ``p ** (i - 1)`` with ``p = decay``; a float in
        [0, 1] is a constant; a callable maps ``i`` to a probability.
        The default did better than ``"indicator"`` in
        ``benchmarks/bench_compounding.py`` (see Notes).
    decay : float, default=0.5
        ``p`` of the exponential schedule; 0.5 did better than 0.75 and 0.9
        on Pendulum-v1 (see Notes).
    n_iter : int, default=10
        Collection rounds after the initial data.
    n_episodes_per_iter : int, default=5
        Episodes collected per round (and expert episodes when ``X`` is None).
    max_episode_steps : int, default=None
        Truncate collected episodes at this length.
    n_envs : int, default=8
        Envs stepped together while collecting, the policy and the expert
        asked once per step for all of them; the rounds do not depend on
        it (see :func:`~sklearn_il.evaluation.rollout`).
    vectorization : {"sync", "async"}, default="sync"
        gymnasium's ``SyncVectorEnv`` or ``AsyncVectorEnv`` for the envs.
    random_state : int, RandomState instance or None, default=None
        Seeds the episodes and the mixing coins.
    checkpoint : str or path-like, default=None
        A file the wrapper is written to (with :func:`sklearn_il.io.dump`)
        after every round, ``partial_fit`` included. If it exists when
        ``fit`` starts, and was written by a wrapper with the same
        parameters (``n_iter``, ``n_envs``, ``vectorization`` and
        ``verbose`` aside) and initial data, ``fit`` resumes after its last
        round, with the rounds an uninterrupted run would have collected: a
        crash loses at most the round in progress. Written atomically. The
        file holds what the session learned and collected, not its
        ``expert`` and ``env`` (your own classes, say): the resumed ``fit``
        uses those it is given.
    verbose : int, default=0
        Show a progress bar over rounds with the latest return.

    Attributes
    ----------
    estimator_ : estimator
        The policy fitted on all the data.
    X_, y_ : ndarray
        The aggregated states and expert labels.
    groups_ : ndarray of shape (n_rows,)
        Episode id of each aggregated row, numbered from 0 across rounds.
    history_ : list of dict
        One record per round: ``iteration``, ``beta``, ``n_labels`` (expert
        labels added), ``n_labels_total``, ``mean_return`` (of the episodes
        collected that round; NaN for given data).
    n_features_in_ : int
        Number of observation features.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    DARTWrapper : The expert drives, with noise injected.
    sklearn_il.evaluation.compounding_error : How far a policy drifts.

    Notes
    -----
    **The schedule.** ``benchmarks/bench_compounding.py`` ((64, 64)
    networks, one episode per round, 5 seeds; normalised return after 2 /
    4 / 8 episodes' worth of labels) chose ``beta="exponential"``:
    LunarLanderContinuous-v3 0.33 / 0.67 / 0.72 with ``"indicator"``,
    0.51 / 0.66 / 0.93 with ``"exponential"``; Pendulum-v1 0.14 / 0.64 /
    0.99 and 0.13 / 0.93 / 1.00. The expert's share of the early rounds
    keeps them near the states a good policy visits; the indicator's
    learner, after one expert episode, ends its episode early (LunarLander:
    114 labels against the expert's 190). For ``decay``, 0.75 gave
    Pendulum-v1 0.15 / 0.74 / 0.90 and 0.9 gave 0.21 / 0.47 / 0.88 (the
    learner drives too little), though 0.9 gave LunarLanderContinuous-v3
    0.50 / 0.90 / 0.95.

    **When rounds pay.** DAgger's labels at the learner's states are worth
    more than the expert's own only where behaviour cloning drifts off the
    demonstrations. ``benchmarks/bench_compounding.py`` measures both at
    equal expert labels ((64, 64) networks, 5 seeds, one expert episode
    then one learner episode a round) and prints, per task, how many times
    larger BC's action error is at its own states
    (:func:`~sklearn_il.evaluation.compounding_error`) than at held-out
    expert states, BC on two episodes:

    - the winding road (ratio 107), InvertedDoublePendulum-v5 (143) and
      Pendulum-v1 (15): DAgger 1.00 against BC's 0.19 after 4 episodes'
      worth of labels, 0.97 against 0.61 after 8, and 0.93 against 0.47
      after 4;
    - Reacher-v5 (1.5): level (default network, 10 seeds: 0.75 against
      0.73 after 4, 0.78 against 0.80 after 8);
    - LunarLanderContinuous-v3 (3.1): BC ahead, 0.78 against 0.70 after 4,
      0.98 against 0.92 after 8 (10 seeds). The early learners' rounds
      label tilted, falling states where the expert's throttles sit at
      their bounds 46% of the time (26% on its own states) and a network
      fits them 4.5 times worse (leave-one-episode-out), the cost of
      learner-centred sampling that Laskey et al. (2017) report for
      expressive models. A DAgger loop written from scratch measured the
      same, 0.71 and 0.92.

    So fit the policy on two demonstrations and compare the two errors
    first: where the ratio is near 1, spend the budget on demonstrations;
    where it is large, start from few and run rounds. Starting from half
    the budget as demonstrations (the benchmark's "DAgger (half expert)"
    row) was level with or ahead of BC on every task but Reacher-v5 with
    (64, 64) networks, and behind on Pendulum-v1 and LunarLander after 4
    episodes with the default (256, 256).

    Ross, Gordon and Bagnell, "A reduction of imitation learning and
    structured prediction to no-regret online learning", AISTATS 2011.
    Laskey et al., "Comparing human-centric and robot-centric sampling for
    robot deep learning from demonstrations", ICRA 2017.

    Examples
    --------
    >>> from sklearn_il import BCRegressor
    >>> from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
    >>> from sklearn_il.interactive import DAggerWrapper
    >>> dagger = DAggerWrapper(
    ...     BCRegressor(hidden_layer_sizes=(32,), max_iter=20, random_state=0),
    ...     env=WINDING_ROAD, expert=WindingRoadExpert(), n_iter=2,
    ...     n_episodes_per_iter=1, random_state=0)
    >>> dagger.fit()  # starts from the expert's own episodes
    DAggerWrapper(...)
    >>> [record["iteration"] for record in dagger.history_]
    [1, 2, 3]
    """

    _parameter_constraints = {
        **InteractiveImitation._parameter_constraints,
        "beta": [StrOptions({"indicator", "exponential"}), Interval(Real, 0, 1, closed="both"), callable],
        "decay": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self,
        estimator,
        env=None,
        expert=None,
        *,
        beta="exponential",
        decay=0.5,
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
        self.beta = beta
        self.decay = decay

    def _beta(self, iteration):
        if self.beta == "indicator":
            return float(iteration == 1)
        if self.beta == "exponential":
            return self.decay ** (iteration - 1)
        beta = self.beta(iteration) if callable(self.beta) else self.beta
        if not 0 <= beta <= 1:
            raise ValueError(f"beta({iteration}) = {beta!r} is not a probability in [0, 1].")
        return float(beta)

    def _make_agent(self, iteration, seed):
        beta = self._beta(iteration)

        def choose(labels, learned, rngs):
            # One coin per step of each episode, from that episode's generator.
            expert_acts = np.array([rng.random() < beta for rng in rngs])[:, None]
            rows = len(rngs)
            return np.where(expert_acts, labels.reshape(rows, -1), learned.reshape(rows, -1))

        return LabellingAgent(self.expert, choose, learner=self.estimator_, seed=seed), beta
