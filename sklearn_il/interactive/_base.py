"""The loop DAgger and DART share: collect, label by the expert, aggregate, refit."""

import copy
import inspect
import os
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._available_if import available_if
from sklearn.utils._metadata_requests import _routing_enabled
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import MetadataRouter, MethodMapping, process_routing
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from .._rollout import (
    N_ENVS,
    check_agent_fits_env,
    make_actor,
    make_env,
    observation_width,
    run_episodes,
)
from .._seeding import SeedStreams
from .._validation import check_groups, check_weights, validate_X_y


def _delegates(method):
    """``available_if`` check: the wrapped estimator has ``method``."""

    def check(self):
        getattr(self.estimator_ if hasattr(self, "estimator_") else self.estimator, method)
        return True

    return check


class InteractiveImitation(MetaEstimatorMixin, BaseEstimator):
    """Base class of the interactive meta-estimators. Not for direct use.

    A subclass defines ``_make_agent(iteration, seed)``, the agent that
    collects round ``iteration`` (2, 3, ...; round 1 is the initial data),
    and may override ``_check_params(X, y, collecting=...)`` (called right after the
    parameters are validated, before anything is fitted) and
    ``_after_refit(X, y)`` to update its state from the refitted policy and
    the round's rows.
    """

    # The wrapper numbers the episodes it aggregates: it wants their ids.
    __metadata_request__fit = {"groups": True}
    __metadata_request__partial_fit = {"groups": True}

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "env": "no_validation",
        "expert": [None, HasMethods(["predict"]), callable],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "n_episodes_per_iter": [Interval(Integral, 1, None, closed="left")],
        "max_episode_steps": [Interval(Integral, 1, None, closed="left"), None],
        "n_envs": [Interval(Integral, 1, None, closed="left")],
        "vectorization": [StrOptions({"sync", "async"})],
        "random_state": ["random_state"],
        "checkpoint": [str, os.PathLike, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self, estimator, env=None, expert=None, *, n_iter=10, n_episodes_per_iter=5,
        max_episode_steps=None, n_envs=N_ENVS, vectorization="sync", random_state=None,
        checkpoint=None, verbose=0,
    ):
        self.estimator = estimator
        self.env = env
        self.expert = expert
        self.n_iter = n_iter
        self.n_episodes_per_iter = n_episodes_per_iter
        self.max_episode_steps = max_episode_steps
        self.n_envs = n_envs
        self.vectorization = vectorization
        self.random_state = random_state
        self.checkpoint = checkpoint
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = copy.deepcopy(get_tags(self.estimator))
        tags.input_tags.allow_nan = False
        return tags

    # ------------------------------------------------------------ the loop
    def _check_params(self, X, y, *, collecting):
        """Check the parameters against each other and what was given.

        ``collecting``: called by ``fit``, which runs the rounds with the
        env and the expert (``partial_fit`` is given each round's labels).
        """
        if not collecting:
            return
        if self.n_iter and self.expert is None:
            raise ValueError(
                "expert=None means a human labels the states: set n_iter=0 and run "
                "each round with collect_states() and partial_fit()."
            )
        if self.n_iter and self.env is None:
            raise ValueError("env is needed to collect states; pass an env, an env id or a factory.")
        if X is None and y is not None:
            raise ValueError("y was given without X.")
        if X is None and (self.expert is None or self.env is None):
            raise ValueError("with X=None the expert's episodes are collected: pass env and expert.")

    # The policy's own parameters are validated by its fit (nested validation).
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X=None, y=None, groups=None, sample_weight=None):
        """Start from demonstrations, then run ``n_iter`` rounds of collection.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Initial demonstrations' observations. ``None``: collect
            ``n_episodes_per_iter`` episodes of the expert instead.
        y : array-like of shape (n_samples,) or (n_samples, n_action_dims)
            Their expert actions.
        groups : array-like of shape (n_samples,), default=None
            Episode id of each row; passed on to the policy (with the new
            episodes' ids) when its ``fit`` takes ``groups``.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each given row, passed on to the policy's ``fit``; the
            rows the rounds collect weigh 1.

        Returns
        -------
        self : object
        """
        self._check_params(X, y, collecting=True)
        if X is None and sample_weight is not None:
            raise ValueError("sample_weight was given without X.")
        streams = SeedStreams(self.random_state)
        if not self._resume(X):
            with self._unchanged_on_error():
                self._reset_state()
                if X is None:
                    demos = self._run(self.expert, self.n_episodes_per_iter,
                                      streams.seed("rollout", 1))
                    self._add_round(demos.X, demos.y, demos.groups, None, beta=1.0,
                                    mean_return=float(demos.episode_returns().mean()), reset=True)
                else:
                    self._add_round(X, y, groups, sample_weight, beta=1.0, mean_return=np.nan,
                                    reset=True)
        first = len(self.history_) + 1  # the next round (past a checkpoint's)

        if self.n_iter >= first - 1:
            env, owned = make_env(self.env)
            try:
                check_agent_fits_env(self.estimator_, env)
            finally:
                if owned:
                    env.close()
            rounds = tqdm(range(first, self.n_iter + 2), desc=type(self).__name__,
                          disable=not self.verbose, unit="iter")
            for iteration in rounds:
                agent, beta = self._make_agent(iteration, streams.seed("agent", iteration))
                # An expert or env that fails mid-round leaves the finished rounds.
                demos = self._run(agent, self.n_episodes_per_iter, streams.seed("rollout", iteration))
                with self._unchanged_on_error():
                    record = self._add_round(demos.X, agent.labels, demos.groups, None,
                                             beta=beta,
                                             mean_return=float(demos.episode_returns().mean()))
                rounds.set_postfix(labels=record["n_labels_total"],
                                   mean_return=f"{record['mean_return']:.3g}")
        return self

    def _resume(self, X):
        """Take the state of the ``checkpoint`` file, if there is one; whether it did.

        Round ``i``'s episodes and coins are seeded by ``i``, so the rounds
        run after resuming are those an uninterrupted ``fit`` would run.
        """
        if self.checkpoint is None or not os.path.exists(self.checkpoint):
            return False
        from ..io import load

        saved = load(self.checkpoint)
        first_rows = saved.history_[0]["n_labels"] if type(saved) is type(self) else 0
        # Parameters that do not change the rounds may differ (n_iter: run more);
        # the expert and env are not in the file: the ones given now are used.
        free = {"n_iter", "n_envs", "vectorization", "checkpoint", "verbose", "expert", "env"}

        def kept(params):
            return {k: v for k, v in params.items() if k.split("__")[0] not in free}

        if not (type(saved) is type(self)
                and _same_params(kept(saved.get_params()), kept(self.get_params()))
                and (X is None or np.array_equal(np.asarray(X, dtype=float),
                                                 saved.X_[:first_rows]))):
            raise ValueError(
                f"the checkpoint {self.checkpoint} was written by a different "
                f"{type(saved).__name__} (other parameters or initial data); remove it, or "
                "pass another checkpoint path, to start afresh."
            )
        self.__dict__.update({k: v for k, v in vars(saved).items() if k not in self.get_params()})
        return True

    def _save_checkpoint(self):
        """Write what the session learned and collected; its expert and env (often
        the user's own classes, which a file could not be trusted to rebuild)
        are left out and taken from the resumed ``fit``'s parameters."""
        if self.checkpoint is not None:
            from ..io import dump

            saved = copy.copy(self)
            saved.expert = saved.env = None
            dump(saved, self.checkpoint)

    def _run(self, agent, n_episodes, random_state):
        """Episodes of ``agent`` in ``env`` through the rollout engine."""
        return run_episodes(agent, self.env, n_episodes, random_state, self.max_episode_steps,
                            self.n_envs, self.vectorization)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, groups=None, sample_weight=None):
        """Aggregate one round of labelled states and refit the policy.

        The step a human expert drives: label the states
        :meth:`collect_states` returned, then pass them here. On an
        unfitted wrapper this is the initial data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States visited by the policy.
        y : array-like of shape (n_samples,) or (n_samples, n_action_dims)
            The expert's labels for them.
        groups : array-like of shape (n_samples,), default=None
            Episode id of each row.
        sample_weight : array-like of shape (n_samples,), default=None
            Weight of each row (the expert's confidence in a label, say);
            None: 1.

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "estimator_")
        with self._unchanged_on_error():
            if first:
                self._check_params(X, y, collecting=False)
                self._reset_state()
            self._add_round(X, y, groups, sample_weight, beta=1.0 if first else 0.0,
                            mean_return=np.nan, reset=first)
        return self

    def collect_states(self, n_episodes=None, *, random_state=None, as_frame=False):
        """Roll out the current policy and return the states it visits, to label.

        Parameters
        ----------
        n_episodes : int, default=None
            Episodes to run; default ``n_episodes_per_iter``.
        random_state : int, RandomState instance or None, default=None
            Seeds the episodes.
        as_frame : bool, default=False
            Return a pandas DataFrame with one column per feature (the fitted
            feature names, or ``x0``, ``x1``, ...) and an ``episode`` column.

        Returns
        -------
        X : ndarray of shape (n_steps, n_features)
            The visited states (when ``as_frame=False``).
        groups : ndarray of shape (n_steps,)
            Their episode ids, new ones that continue ``groups_``.
        frame : pandas.DataFrame
            Both in one table (when ``as_frame=True``).
        """
        check_is_fitted(self)
        if self.env is None:
            raise ValueError("collect_states needs an env.")
        n_episodes = self.n_episodes_per_iter if n_episodes is None else n_episodes
        demos = self._run(self.estimator_, n_episodes, random_state)
        groups = demos.groups + self._n_episodes
        if not as_frame:
            return demos.X, groups
        import pandas as pd

        columns = getattr(self, "feature_names_in_", None)
        if columns is None:
            columns = [f"x{i}" for i in range(demos.X.shape[1])]
        frame = pd.DataFrame(demos.X, columns=list(columns))
        frame["episode"] = groups
        return frame

    # -------------------------------------------------------- bookkeeping
    def _reset_state(self):
        self.estimator_ = clone(self.estimator)
        self.history_ = []
        self._n_episodes = 0
        self._groups_known = True
        self.sample_weight_ = None
        for name in ("X_", "y_", "groups_"):
            self.__dict__.pop(name, None)

    @contextmanager
    def _unchanged_on_error(self):
        """Put the wrapper back as it was if the block raises (bad labels, a
        policy that cannot fit them, Ctrl-C): a round is aggregated whole or
        not at all, and a corrected retry does not add its rows twice."""
        before = dict(vars(self))
        if "history_" in before:
            before["history_"] = list(self.history_)  # appended to in place
        if "estimator_" in before:
            before["estimator_"] = copy.deepcopy(self.estimator_)  # refitted in place
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def _add_round(self, X, y, groups, sample_weight, *, beta, mean_return, reset=False):
        """Validate a round's rows, aggregate them, refit, and record the round."""
        X, y = validate_X_y(self, X, y, reset=reset, dtype=np.float64, multi_output=True)
        groups = check_groups(groups, X.shape[0])
        weight = check_weights(sample_weight, X.shape[0])
        if self.env is not None and reset:
            self._check_env_width(X)
        # Episode ids restart at the number of episodes seen so far, so that
        # rounds never share an id.
        if groups is None:
            # Rows given without episode ids count as one episode here, and
            # the policy is then fitted without groups: no split on made-up ids.
            self._groups_known = False
            ids = np.full(X.shape[0], self._n_episodes)
        else:
            ids = np.unique(groups, return_inverse=True)[1] + self._n_episodes
        self._n_episodes = int(ids.max()) + 1
        round_X, round_y = X, y
        if hasattr(self, "X_"):
            if y.ndim != self.y_.ndim and y.size == len(y) and self.y_.size == len(self.y_):
                y = y.reshape((-1,) + self.y_.shape[1:])  # one action dimension, either shape
                round_y = y
            if y.shape[1:] != self.y_.shape[1:]:
                raise ValueError(
                    f"the labels have shape {y.shape[1:]} per row but earlier rounds "
                    f"had {self.y_.shape[1:]}."
                )
            X, y, ids = (np.concatenate([a, b]) for a, b in
                         ((self.X_, X), (self.y_, y), (self.groups_, ids)))
        if weight is not None or self.sample_weight_ is not None:
            # Rows given without weights (every collected round) weigh 1.
            earlier = np.ones(len(X) - len(round_X)) if self.sample_weight_ is None \
                else self.sample_weight_
            now = np.ones(len(round_X)) if weight is None else weight
            self.sample_weight_ = np.concatenate([earlier, now])
        self.X_, self.y_, self.groups_ = X, y, ids
        self._refit()
        self._after_refit(round_X, round_y)
        record = {
            "iteration": len(self.history_) + 1,
            "beta": beta,
            "n_labels": len(round_y),
            "n_labels_total": len(self.y_),
            "mean_return": mean_return,
        }
        self.history_.append(record)
        self._save_checkpoint()
        return record

    def _check_env_width(self, X):
        env, owned = make_env(self.env)
        try:
            n_obs = observation_width(env.observation_space)
        finally:
            if owned:
                env.close()
        if X.shape[1] != n_obs:
            raise ValueError(
                f"X has {X.shape[1]} features but the env's observations have "
                f"{n_obs}; the demonstrations must come from the same env."
            )

    def _refit(self):
        # The policy gets plain arrays: the wrapper keeps the feature names
        # and checks them, so rollouts (arrays) hit the policy's fast path.
        metadata = {"groups": self.groups_} if self._groups_known else {}
        if self.sample_weight_ is not None:
            metadata["sample_weight"] = self.sample_weight_
        if _routing_enabled():
            # scikit-learn's metadata routing: groups and weights go wherever
            # the estimator (or a Pipeline's step) requested them.
            routed = process_routing(self, "fit", **metadata)
            self.estimator_.fit(self.X_, self.y_, **routed.estimator.fit)
            return
        accepted = inspect.signature(self.estimator_.fit).parameters
        if "sample_weight" in metadata and "sample_weight" not in accepted:
            raise ValueError(
                f"sample_weight was given but {type(self.estimator_).__name__}.fit takes "
                "none; for a Pipeline, enable metadata routing and request it on the "
                "policy with .set_fit_request(sample_weight=True)."
            )
        self.estimator_.fit(self.X_, self.y_,
                            **{k: v for k, v in metadata.items() if k in accepted})

    def get_metadata_routing(self):
        """How ``groups`` reach the policy's ``fit`` under metadata routing.

        Returns
        -------
        routing : MetadataRouter
            ``fit`` and ``partial_fit`` route to the estimator's ``fit``;
            the wrapper itself uses ``groups`` (episode ids, requested by
            default) and ``sample_weight`` too.
        """
        return (
            MetadataRouter(owner=type(self).__name__)
            .add_self_request(self)
            .add(estimator=self.estimator, method_mapping=MethodMapping()
                 .add(caller="fit", callee="fit").add(caller="partial_fit", callee="fit"))
        )

    def _policy_input(self, X):
        """``X`` for the fitted policy: a float array, names checked against fit's."""
        check_is_fitted(self)
        if type(X) is np.ndarray and "feature_names_in_" not in self.__dict__:
            return X
        return validate_data(self, X, reset=False, dtype=np.float64)

    def _after_refit(self, X, y):
        """Hook: update state from the refitted policy and the round's rows."""

    def _make_agent(self, iteration, seed):
        """Return (agent with ``labels``, beta) for collection round ``iteration``.

        ``seed`` (from the ``"agent"`` stream) seeds the agent's own choices.
        """
        raise NotImplementedError

    # ----------------------------------------------------------- delegation
    def __sklearn_is_fitted__(self):
        return hasattr(self, "estimator_")

    @property
    def classes_(self):
        """Class labels of a classifier policy."""
        return self.estimator_.classes_

    def rollout_actor(self, n_envs):
        """How the rollout engine acts with the fitted policy.

        Parameters
        ----------
        n_envs : int
            Envs stepped together.

        Returns
        -------
        actor : object
            The fitted policy's own actor, so that its history or action
            chunks are kept per env.
        """
        check_is_fitted(self)
        return make_actor(self.estimator_, n_envs)

    def predict(self, X):
        """Predict actions with the fitted policy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        y : ndarray
            The policy's ``predict(X)``.
        """
        X = self._policy_input(X)  # checks fitted first
        return self.estimator_.predict(X)

    @available_if(_delegates("predict_proba"))
    def predict_proba(self, X):
        """Action probabilities of the fitted classifier policy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The policy's ``predict_proba(X)``, columns in ``classes_`` order.
        """
        X = self._policy_input(X)
        return self.estimator_.predict_proba(X)

    @available_if(_delegates("sample"))
    def sample(self, X, n_samples=1, random_state=None):
        """Draw actions from the fitted policy's distribution.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Observations.
        n_samples : int, default=1
            Draws per observation.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        actions : ndarray of shape (n_rows, n_samples, n_outputs)
            The policy's ``sample(X, n_samples, random_state)``.
        """
        X = self._policy_input(X)
        return self.estimator_.sample(X, n_samples=n_samples, random_state=random_state)

    @available_if(_delegates("score_samples"))
    def score_samples(self, X, y):
        """Log-likelihood of actions under the fitted policy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Actions.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The policy's ``score_samples(X, y)``.
        """
        X = self._policy_input(X)
        return self.estimator_.score_samples(X, y)

    def score(self, X, y, sample_weight=None):
        """The fitted policy's score on held-out actions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The expert's actions.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights.

        Returns
        -------
        score : float
            The policy's ``score(X, y)``: R² for continuous actions,
            accuracy for discrete ones. Rollouts measure what this cannot:
            see :func:`~sklearn_il.evaluation.make_rollout_scorer`.
        """
        X = self._policy_input(X)
        return self.estimator_.score(X, y, sample_weight=sample_weight)


def _same_params(a, b):
    """Whether two ``get_params()`` dicts describe the same wrapper: estimators
    by type and parameters, other objects (experts, envs) by type and, when
    they compare by value, by value."""
    if a.keys() != b.keys():
        return False
    for key in a:
        x, y = a[key], b[key]
        if type(x) is not type(y):
            return False
        if hasattr(x, "get_params"):
            if not _same_params(x.get_params(deep=False), y.get_params(deep=False)):
                return False
        elif isinstance(x, (int, float, str, bool, tuple, type(None))) and x != y:
            return False
    return True
