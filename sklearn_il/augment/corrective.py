"""CCIL: corrective labels generated from a learned, Lipschitz dynamics model."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions

from .._nn import CONSTANT_STD
from .._seeding import SeedStreams
from ..dynamics import DynamicsRegressor, transitions
from ._base import BaseAugmenter


def feature_scale(X):
    """Each feature's standard deviation over ``X``, 1 for a constant one:
    the units the default dynamics model's inputs are standardised to,
    where its Lipschitz bound holds."""
    std = X.std(axis=0)
    return np.where(std > CONSTANT_STD, std, 1.0)


def standardised_distance(a, b, scale):
    """Row-wise root mean square over features of ``(a - b) / scale``."""
    return np.sqrt(np.mean(((a - b) / scale) ** 2, axis=1))


class CorrectiveAugmenter(BaseAugmenter):
    """Add corrective labels that lead back to the demonstrations (CCIL).

    A dynamics model ``s' = s + f(s, a)`` is fitted on consecutive rows of
    each episode; the labels are states near the demonstrations from which
    an action brings the system back onto them:

    - ``"backtrack"``: ``s_G = s_t - f(s_t, a_t)`` labelled ``a_t``, a state
      from which the expert's own action leads to ``s_t``;
    - ``"disturbed_action"``: ``a_G = a_t + noise``, ``s_G = s_{t+1} -
      f(s_{t+1}, a_G)`` labelled ``a_G``, a state from which the disturbed
      action leads to ``s_{t+1}``.

    The approximation ``f(s_G, .) ~ f(s_t, .)`` holds where ``f`` is
    Lipschitz and ``s_G`` is close to ``s_t``, so a label is kept only if
    ``s_G`` is within ``epsilon`` of ``s_t`` and the model predicts the
    transition it comes from to within ``epsilon`` (where the model is
    wrong on the data, its labels are wrong too). Both distances are in
    standardised units: each feature divided by its standard deviation over
    ``X`` (the units in which the default model's Lipschitz bound holds),
    then the root mean square over features, so that one ``epsilon`` means
    the same on every task whatever the features' units and number. The
    default model is a :class:`~sklearn_il.dynamics.DynamicsRegressor` with
    spectrally normalised layers; a known model can be given instead.

    Parameters
    ----------
    dynamics : estimator, callable or None, default=None
        ``None``: a ``DynamicsRegressor(lipschitz_constant=lipschitz_constant)``.
        An estimator is cloned and fitted on ``(s_t, a_t) -> s_{t+1}`` rows
        (see :func:`~sklearn_il.dynamics.transitions`). A callable
        ``dynamics(states, actions) -> next_states`` on batches is a known
        model and is used as is.
    method : {"disturbed_action", "backtrack"}, default="disturbed_action"
        How labels are generated. Disturbed actions gave the larger gains in
        ``benchmarks/bench_compounding.py``.
    epsilon : float, default=0.3
        Largest distance of a kept label from its demonstrated state, and
        largest error of the model on the transition it comes from, in
        standardised units: the root mean square over features of the
        difference, each feature in standard deviations over ``X`` (a
        feature constant in ``X`` keeps its own units). 0.3 was level with
        or ahead of 0.1 and of a radius relative to each task's steps on
        eight tasks (see Notes).
    lipschitz_constant : float or None, default=8.0
        Lipschitz bound of the default model (``dynamics=None`` only), over
        the whole network. 8 is CCIL's bound of 2 on each layer, for the
        default model's three layers; it did better than 2 over the whole
        network on four of five tasks (see Notes).
    n_labels_per_point : int, default=5
        Disturbed actions drawn per transition (``"disturbed_action"``;
        backtracking makes one label per transition and needs 1 here). The
        training set grows up to ``1 + n_labels_per_point`` times, and the
        policy's fit time with it; 5 was level with 2 and ahead of 1 on
        eight tasks, 2 costs half the time (see Notes).
    action_noise : float, default=0.1
        Standard deviation of the disturbance, in units of each action
        dimension's standard deviation over ``y``. Larger than CCIL's
        (about 1e-4, with 20 labels per transition), which did worse or
        level at twice the cost (see Notes).
    random_state : int, RandomState instance or None, default=None
        Seeds the default model and the disturbances.

    Attributes
    ----------
    dynamics_ : estimator or callable
        The fitted dynamics model (or the given callable).
    epsilon_ : float
        The radius used, in standardised units; ``epsilon_ * scale_`` is
        how far, feature by feature, a label may lie from its state.
    scale_ : ndarray of shape (`n_features_in_`,)
        Each feature's standard deviation over ``X`` (1 for a constant
        feature): the units of ``epsilon``.
    n_generated_ : int
        Labels generated by the last :meth:`fit_resample`.
    n_kept_ : int
        Of those, the ones kept and returned.
    kept_fraction_ : float
        ``n_kept_ / n_generated_``. Near 0 says that the model's steps are
        too large or too wrong for its labels to be trusted at this radius
        (HalfCheetah-v5 in the Notes): the result is plain BC.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    NoiseAugmenter : Noisy copies of the demonstrations (NoiseBC).
    sklearn_il.dynamics.DynamicsRegressor : The default dynamics model.

    Notes
    -----
    ``epsilon`` and ``n_labels_per_point`` were chosen by
    ``benchmarks/bench_ccil_defaults.py``: CCIL+BC against BC on the same
    demonstrations, normalised return (random 0, expert 1), 5 seeds, on
    the winding road, Pendulum-v1, LunarLanderContinuous-v3,
    InvertedDoublePendulum-v5 and Reacher-v5 (4 expert episodes, BC (64,
    64)) and Hopper-v5, Walker2d-v5 and HalfCheetah-v5 (5 episodes of the
    RL Zoo's agents, BC's defaults). In that order:

    - BC: 0.19, 0.47, 0.91, 0.42, 0.67, 0.37, 0.22, 0.29;
    - ``epsilon=0.3``, 5 labels: 0.31, 0.91, 0.86, 0.63, 0.75, 0.66, 0.28,
      0.30, keeping 100, 100, 97, 98, 100, 98, 86 and 0% of the labels;
    - ``epsilon=0.1``, 5 labels: 0.31, 0.82, 0.88, 0.55, 0.76, 0.65, 0.28,
      0.29;
    - a radius relative to each task's steps (the mean distance between
      consecutive states, in the same units; the former default, in raw
      units): 0.31, 0.88, 0.90, 0.50, 0.76, 0.63, 0.30, and 0.11 on
      HalfCheetah-v5, where that radius is large (1.07: its state moves
      a standard deviation a step) and keeps 27% of labels that mislead;
    - ``epsilon=0.3`` with 1 or 2 labels: 0.37 / 0.34, 0.77 / 0.91, 0.89 /
      0.89, 0.53 / 0.58, 0.72 / 0.73, 0.50 / 0.70, 0.21 / 0.17, 0.27 /
      0.34. Two labels are level with five on average (4.66 against 4.70
      summed) at half the fitting time on MuJoCo (Walker2d-v5: 19 s against
      44 s, BC alone 8 s), but fell below BC on Walker2d-v5; set
      ``n_labels_per_point=2`` where fitting time counts.

    With more demonstrations the labels can cost more than they correct:
    on 25 episodes (``benchmarks/bench_mujoco.py``) CCIL+BC reached 0.80
    against BC's 0.36 on Hopper-v5, but 0.48 against 0.78 on Walker2d-v5,
    where BC alone did well and the labels outnumbered the demonstrations
    four to one. Let a rollout-scored search choose between CCIL+BC and
    BC.

    The dynamics model's ``lipschitz_constant=8`` was measured with the
    former radius (CCIL+BC on 4 expert episodes, BC (64, 64), 5 seeds) on
    Pendulum, LunarLanderContinuous, the winding road,
    InvertedDoublePendulum and Reacher: 0.93, 0.92, 0.61, 0.46, 0.76; 2
    over the whole network: 0.83, 0.89, 0.42, 0.44, 0.78. CCIL's own
    disturbance, ``action_noise=1e-4`` with 20 labels per transition: 0.72,
    0.65, 0.37, 0.43, 0.78.

    Ke, Zhang, Deshpande, Srinivasa and Gupta, "CCIL: Continuity-based data
    augmentation for corrective imitation learning", ICLR 2024.

    Examples
    --------
    >>> from sklearn_il.augment import CorrectiveAugmenter
    >>> from sklearn_il.datasets import make_winding_road
    >>> from sklearn_il.dynamics import DynamicsRegressor
    >>> X, y, groups = make_winding_road(n_episodes=2, random_state=0)
    >>> augmenter = CorrectiveAugmenter(
    ...     DynamicsRegressor(hidden_layer_sizes=(32,), max_iter=10,
    ...                       random_state=0),
    ...     random_state=0)
    >>> X_res, y_res = augmenter.fit_resample(X, y, groups)
    >>> X_res.shape[0] == X.shape[0] + augmenter.n_kept_
    True
    """

    _groups_required_by = "CorrectiveAugmenter (it learns dynamics from consecutive rows)"

    _parameter_constraints = {
        "dynamics": [None, HasMethods(["fit", "predict"]), callable],
        "method": [StrOptions({"backtrack", "disturbed_action"})],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "lipschitz_constant": [Interval(Real, 0, None, closed="neither"), None],
        "n_labels_per_point": [Interval(Integral, 1, None, closed="left")],
        "action_noise": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        dynamics=None,
        *,
        method="disturbed_action",
        epsilon=0.3,
        lipschitz_constant=8.0,
        n_labels_per_point=5,
        action_noise=0.1,
        random_state=None,
    ):
        self.dynamics = dynamics
        self.method = method
        self.epsilon = epsilon
        self.lipschitz_constant = lipschitz_constant
        self.n_labels_per_point = n_labels_per_point
        self.action_noise = action_noise
        self.random_state = random_state

    def _fit_dynamics(self, state_action, next_state, seed):
        if self.dynamics is None:
            model = DynamicsRegressor(lipschitz_constant=self.lipschitz_constant, random_state=seed)
        elif hasattr(self.dynamics, "fit") and hasattr(self.dynamics, "predict"):
            model = clone(self.dynamics)
        else:
            return self.dynamics
        return model.fit(state_action, next_state)

    def _step(self, states, actions):
        """The model's next states for batches of states and actions."""
        if hasattr(self.dynamics_, "predict"):
            prediction = self.dynamics_.predict(np.hstack([states, actions]))
        else:
            prediction = self.dynamics_(states, actions)
        prediction = np.asarray(prediction, dtype=np.float64).reshape(len(states), -1)
        if prediction.shape[1] != states.shape[1]:
            raise ValueError(
                f"the dynamics model returned {prediction.shape[1]} state dimensions "
                f"for states with {states.shape[1]}."
            )
        return prediction

    def _check_params(self, X, y):
        if self.method == "backtrack" and self.n_labels_per_point != 1:
            raise ValueError(
                "method='backtrack' makes one label per transition; "
                "n_labels_per_point applies to method='disturbed_action'."
            )

    def _resample(self, X, y, groups):
        streams = SeedStreams(self.random_state)
        state_action, next_state, rows = transitions(X, y, groups)
        if len(rows) == 0:
            raise ValueError(
                f"CorrectiveAugmenter needs episodes of at least 2 rows; the {len(X)} "
                f"sample{'s' if len(X) != 1 else ''} given hold no transition."
            )
        state, action = X[rows], y[rows]
        self.scale_ = feature_scale(X)

        def distance(a, b):
            return standardised_distance(a, b, self.scale_)

        self.dynamics_ = self._fit_dynamics(state_action, next_state, streams.seed("dynamics"))
        predicted = self._step(state, action)
        model_error = distance(predicted, next_state)
        self.epsilon_ = float(self.epsilon)

        if self.method == "backtrack":
            label_action = action
            label_state = 2 * state - predicted
            source = np.arange(len(rows))
        else:
            k = self.n_labels_per_point
            source = np.repeat(np.arange(len(rows)), k)
            rng = np.random.default_rng(streams.seed("labels"))
            noise = rng.normal(size=(len(source), y.shape[1])) * self.action_noise * y.std(0)
            label_action = action[source] + noise
            target = next_state[source]
            label_state = 2 * target - self._step(target, label_action)

        keep = ((distance(label_state, state[source]) < self.epsilon_)
                & (model_error[source] < self.epsilon_))
        self.n_generated_ = len(source)
        self.n_kept_ = int(keep.sum())
        self.kept_fraction_ = self.n_kept_ / self.n_generated_
        return label_state[keep], label_action[keep]
