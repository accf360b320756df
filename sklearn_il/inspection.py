"""Pictures of what a fitted policy does: Display objects in scikit-learn's style."""

from numbers import Integral

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions, validate_params

from ._rollout import predict_function
from ._seeding import SeedStreams
from ._validation import check_named
from .evaluation import compounding_error

__all__ = ["ActionDistributionDisplay", "CompoundingErrorDisplay"]


def _expert_actions(expert, states, n_draws, random_state):
    """The expert's actions at ``states``, re-drawing its intentions each time.

    An expert with ``reset(random_state)`` (one that commits to a mode per
    episode) is reset before each of ``n_draws`` queries, so that its modes
    show; a deterministic one is queried once.
    """
    act = predict_function(expert)
    if not hasattr(expert, "reset"):
        return np.asarray(act(states), dtype=float).reshape(len(states), 1, -1)
    draws = []
    for seed in SeedStreams(random_state).seeds("expert", n_draws):
        expert.reset(random_state=seed)
        draws.append(np.asarray(act(states), dtype=float).reshape(len(states), -1))
    return np.stack(draws, axis=1)


class ActionDistributionDisplay:
    """A policy's sampled actions at chosen states, against the expert's.

    The picture of mode averaging: where the expert acts in two ways, a
    unimodal policy's draws sit between them, an expressive policy's draws
    sit on them. Create it with :meth:`from_estimator`; ``plot`` draws it.

    With one action dimension each state gets a column of jittered points
    (the policy's draws) with the expert's actions marked beside; with more,
    a scatter of two chosen dimensions, one colour per state.

    Parameters
    ----------
    states : ndarray of shape (n_states, n_features)
        The observations the actions are drawn at.
    sampled_actions : ndarray of shape (n_states, n_samples, n_outputs)
        The policy's draws at each state.
    expert_actions : ndarray of shape (n_states, n_draws, n_outputs), default=None
        The expert's actions at each state.
    estimator_name : str, default=None
        Name shown in the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the picture.
    figure_ : matplotlib Figure
        Figure containing the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_il import MixtureDensityBC
    >>> from sklearn_il.datasets import make_obstacle
    >>> from sklearn_il.envs import ObstacleExpert
    >>> from sklearn_il.inspection import ActionDistributionDisplay
    >>> X, y, _ = make_obstacle(n_episodes=10, random_state=0)
    >>> policy = MixtureDensityBC(hidden_layer_sizes=(32,), max_iter=50,
    ...                           random_state=0).fit(X, y)
    >>> display = ActionDistributionDisplay.from_estimator(
    ...     policy, [[0.0, 0.0], [0.5, 0.6]], expert=ObstacleExpert(),
    ...     random_state=0)
    >>> display.sampled_actions.shape
    (2, 200, 1)
    """

    def __init__(self, *, states, sampled_actions, expert_actions=None, estimator_name=None):
        self.states = states
        self.sampled_actions = sampled_actions
        self.expert_actions = expert_actions
        self.estimator_name = estimator_name

    @classmethod
    @validate_params(
        {
            "estimator": [HasMethods(["sample"])],
            "X_state": ["array-like"],
            "expert": [None, HasMethods(["predict"]), callable],
            "n_samples": [Interval(Integral, 1, None, closed="left")],
            "n_expert_draws": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
            "name": [str, None],
        },
        prefer_skip_nested_validation=True,
    )
    def from_estimator(
        cls,
        estimator,
        X_state,
        *,
        expert=None,
        n_samples=200,
        n_expert_draws=20,
        random_state=None,
        name=None,
        dims=(0, 1),
        ax=None,
    ):
        """Draw a fitted policy's actions at ``X_state`` and plot them.

        Parameters
        ----------
        estimator : fitted policy with ``sample(X, n_samples, random_state)``
            For example a fitted :class:`~sklearn_il.DiffusionBC`.
        X_state : array-like of shape (n_states, n_features)
            States to draw at.
        expert : object with ``predict(X)`` or callable, default=None
            The expert to show beside the draws. One with a
            ``reset(random_state)`` method is reset before each of its
            ``n_expert_draws`` queries, so that all its modes show.
        n_samples : int, default=200
            Policy draws per state.
        n_expert_draws : int, default=20
            Expert queries per state, for an expert with ``reset``.
        random_state : int, RandomState instance or None, default=None
            Seeds the policy's draws and the expert's resets.
        name : str, default=None
            Name in the title; default: the estimator's class name.
        dims : tuple of two int, default=(0, 1)
            Action dimensions on the axes, with two or more of them.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : ActionDistributionDisplay
        """
        states = check_named(X_state, "X_state", dtype=np.float64)
        streams = SeedStreams(random_state)
        sampled = np.asarray(
            estimator.sample(states, n_samples=n_samples, random_state=streams.seed("sample"))
        )
        expert_actions = None
        if expert is not None:
            expert_actions = _expert_actions(expert, states, n_expert_draws, streams.seed("expert"))
            if expert_actions.shape[2] != sampled.shape[2]:
                raise ValueError(
                    f"the expert gives {expert_actions.shape[2]} action dimensions, the "
                    f"policy {sampled.shape[2]}; they must act in the same space."
                )
        display = cls(
            states=states,
            sampled_actions=sampled,
            expert_actions=expert_actions,
            estimator_name=name or type(estimator).__name__,
        )
        return display.plot(ax=ax, dims=dims)

    def plot(self, ax=None, *, name=None, dims=(0, 1)):
        """Draw the picture.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        name : str, default=None
            Name in the title; default: ``estimator_name``.
        dims : tuple of two int, default=(0, 1)
            Action dimensions on the axes, with two or more of them.

        Returns
        -------
        display : ActionDistributionDisplay
            Itself, with ``ax_`` and ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        rng = np.random.default_rng(0)  # jitter only: the data are not random here
        sampled, expert = self.sampled_actions, self.expert_actions
        n_states, n_samples, n_outputs = sampled.shape
        labels = [", ".join(f"{v:.2g}" for v in state) for state in self.states]
        if n_outputs == 1:
            for i in range(n_states):
                jitter = rng.uniform(-0.15, 0.15, n_samples)
                ax.scatter(i + jitter, sampled[i, :, 0], s=6, alpha=0.3, color="tab:blue",
                           label="policy draws" if i == 0 else None)
                if expert is not None:
                    ax.scatter(np.full(expert.shape[1], i + 0.3), expert[i, :, 0], marker="x",
                               color="tab:red", label="expert" if i == 0 else None)
            ax.set_xticks(range(n_states), labels)
            ax.set(xlabel="state", ylabel="action")
        else:
            if len(dims) != 2 or not all(0 <= d < n_outputs for d in dims):
                raise ValueError(f"dims={dims} must be two action dimensions among the "
                                 f"{n_outputs} (0 to {n_outputs - 1}).")
            a, b = dims
            for i in range(n_states):
                ax.scatter(sampled[i, :, a], sampled[i, :, b], s=6, alpha=0.3,
                           label=f"policy at ({labels[i]})")
                if expert is not None:
                    ax.scatter(expert[i, :, a], expert[i, :, b], marker="x", color="black",
                               label="expert" if i == 0 else None)
            ax.set(xlabel=f"action {a}", ylabel=f"action {b}")
        ax.set_title(name or self.estimator_name)
        ax.legend(loc="best", fontsize="small")
        self.ax_, self.figure_ = ax, ax.figure
        return self


_KINDS = {
    "cumulative_cost": "expected steps lost so far",
    "failure_rate": "fraction of episodes fallen off",
    "action_error": "|policy action - expert action|",
    "state_distance": "|policy state - expert state|",
}


class CompoundingErrorDisplay:
    """A policy's drift from its expert over the steps of an episode.

    The picture of compounding error: behaviour cloning's small mistakes
    carry it to states the expert never showed, where its mistakes grow, so
    its cumulative cost bends upwards (``O(eps H^2)``); DAgger's stays close
    to a straight line (``O(eps H)``). Create it with :meth:`from_estimator`
    (once per policy, on the same ``ax``, to compare several); ``plot``
    draws it.

    Parameters
    ----------
    steps : ndarray of shape (n_steps,)
        Time steps.
    errors : Bunch
        What :func:`~sklearn_il.evaluation.compounding_error` returns.
    estimator_name : str, default=None
        Name in the legend.

    Attributes
    ----------
    line_ : matplotlib Line2D
        The plotted curve.
    ax_ : matplotlib Axes
        Axes with the curve.
    figure_ : matplotlib Figure
        Figure containing the axes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
    >>> from sklearn_il.inspection import CompoundingErrorDisplay
    >>> expert = WindingRoadExpert()
    >>> display = CompoundingErrorDisplay.from_estimator(
    ...     expert, WINDING_ROAD, expert, n_episodes=2, random_state=0,
    ...     name="expert")
    >>> display.errors.cumulative_cost[-1]
    np.float64(0.0)
    """

    def __init__(self, *, steps, errors, estimator_name=None):
        self.steps = steps
        self.errors = errors
        self.estimator_name = estimator_name

    @classmethod
    @validate_params(
        {
            "estimator": [HasMethods(["predict"]), callable],
            "env": "no_validation",
            "expert": [HasMethods(["predict"]), callable],
            "kind": [StrOptions(set(_KINDS))],
            "n_episodes": [Interval(Integral, 1, None, closed="left")],
            "random_state": ["random_state"],
            "max_episode_steps": [Interval(Integral, 1, None, closed="left"), None],
            "name": [str, None],
        },
        prefer_skip_nested_validation=True,
    )
    def from_estimator(
        cls,
        estimator,
        env,
        expert,
        *,
        kind="cumulative_cost",
        n_episodes=10,
        random_state=None,
        max_episode_steps=None,
        name=None,
        ax=None,
    ):
        """Measure a fitted policy's drift from ``expert`` in ``env`` and plot it.

        Parameters
        ----------
        estimator : fitted policy, Pipeline or callable
            The policy, as in :func:`~sklearn_il.evaluation.rollout`.
        env : gymnasium.Env, str or callable
            Where to roll out.
        expert : object with ``predict(X)``, or callable
            The reference.
        kind : {"cumulative_cost", "failure_rate", "action_error", "state_distance"}, \
                default="cumulative_cost"
            Which measure to plot; see
            :func:`~sklearn_il.evaluation.compounding_error`.
        n_episodes : int, default=10
            Episodes of each.
        random_state : int, RandomState instance or None, default=None
            Seeds the resets, the same for the policy and the expert.
        max_episode_steps : int, default=None
            Truncate episodes at this length.
        name : str, default=None
            Name in the legend; default: the estimator's class name.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : CompoundingErrorDisplay
        """
        errors = compounding_error(estimator, env, expert, n_episodes, random_state, max_episode_steps)
        display = cls(
            steps=errors.steps,
            errors=errors,
            estimator_name=name or type(estimator).__name__,
        )
        return display.plot(ax=ax, kind=kind)

    def plot(self, ax=None, *, kind="cumulative_cost", name=None, **kwargs):
        """Draw one measure against the time step.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        kind : {"cumulative_cost", "failure_rate", "action_error", "state_distance"}, \
                default="cumulative_cost"
            Which measure.
        name : str, default=None
            Name in the legend; default: ``estimator_name``.
        **kwargs : dict
            Passed to matplotlib's ``plot``.

        Returns
        -------
        display : CompoundingErrorDisplay
            Itself, with ``line_``, ``ax_`` and ``figure_`` set.
        """
        import matplotlib.pyplot as plt

        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}, got {kind!r}.")
        if ax is None:
            _, ax = plt.subplots()
        (self.line_,) = ax.plot(self.steps, self.errors[kind], label=name or self.estimator_name,
                                **kwargs)
        ax.set(xlabel="time step", ylabel=_KINDS[kind])
        ax.legend(loc="best")
        self.ax_, self.figure_ = ax, ax.figure
        return self
