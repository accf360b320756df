"""Models of the world: learned one-step dynamics of demonstrated episodes."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback
from torch import nn

from ._nn import InferenceMLP, LipschitzLinear, MLPPolicy, Standardize, mlp
from ._validation import check_groups, check_named, episode_ends
from .base import ContinuousPolicy, as_numpy, fill_doc
from .policies.bc import BCRegressor

__all__ = ["DynamicsRegressor", "InverseDynamicsRegressor", "state_pairs", "transitions"]


def _with_successor(groups, n_samples):
    """Rows that have a next row in their episode."""
    groups = check_groups(groups, n_samples, required_by="pairing consecutive rows")
    has_next = np.ones(n_samples, dtype=bool)
    has_next[episode_ends(groups)] = False
    return np.flatnonzero(has_next)


def transitions(X, y, groups):
    """Consecutive steps of each episode as a regression problem for dynamics.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Observations (states), episodes contiguous and in time order.
    y : array-like of shape (n_samples,) or (n_samples, n_action_dims)
        Actions taken.
    groups : array-like of shape (n_samples,)
        Episode id of each row.

    Returns
    -------
    state_action : ndarray of shape (n_transitions, n_features + n_action_dims)
        ``(s_t, a_t)`` for every row that has a successor in its episode.
    next_state : ndarray of shape (n_transitions, n_features)
        ``s_{t+1}``.
    rows : ndarray of shape (n_transitions,)
        Index of ``s_t`` in ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_il.dynamics import transitions
    >>> X = np.array([[0.0], [1.0], [2.0], [10.0], [11.0]])
    >>> y = np.array([1.0, 1.0, 0.0, 1.0, 0.0])
    >>> state_action, next_state, rows = transitions(X, y, groups=[0, 0, 0, 1, 1])
    >>> state_action.tolist(), next_state.ravel().tolist(), rows.tolist()
    ([[0.0, 1.0], [1.0, 1.0], [10.0, 1.0]], [1.0, 2.0, 11.0], [0, 1, 3])
    """
    X = check_named(X, "X", dtype=np.float64)
    y = check_named(y, "y", ensure_2d=False, dtype=np.float64).reshape(len(y), -1)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
    rows = _with_successor(groups, len(X))
    return np.hstack([X[rows], y[rows]]), X[rows + 1], rows


def state_pairs(X, groups):
    """``(s_t, s_{t+1})`` rows of each episode, the input of inverse dynamics.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Observations, episodes contiguous and in time order.
    groups : array-like of shape (n_samples,)
        Episode id of each row.

    Returns
    -------
    pairs : ndarray of shape (n_pairs, 2 * n_features)
        Each row's observation followed by the next one in its episode.
    rows : ndarray of shape (n_pairs,)
        Index of ``s_t`` in ``X``.

    Examples
    --------
    >>> from sklearn_il.dynamics import state_pairs
    >>> pairs, rows = state_pairs([[0.0], [1.0], [5.0], [6.0]],
    ...                           groups=[0, 0, 1, 1])
    >>> pairs.tolist(), rows.tolist()
    ([[0.0, 1.0], [5.0, 6.0]], [0, 2])
    """
    X = check_named(X, "X", dtype=np.float64)
    rows = _with_successor(groups, len(X))
    return np.hstack([X[rows], X[rows + 1]]), rows


class ResidualDynamics(nn.Module):
    """``s' = s + f(s, a)``; ``f`` predicts the standardised state change.

    ``target_scaler`` holds the statistics of the state change ``s' - s``.
    In training (``target``, the standardised change, given) the module
    returns ``f``'s output for the loss; otherwise the predicted next state
    in float64.
    """

    def __init__(self, n_features, n_state, hidden_layer_sizes, activation, lipschitz_constant,
                 X=None, change=None):
        super().__init__()
        self.n_state = n_state
        self.obs_scaler = Standardize(n_features, X)
        self.target_scaler = Standardize(n_state, change, dtype=torch.float64)
        self.body = mlp(n_features, hidden_layer_sizes, n_state, activation, lipschitz_constant)

    def forward(self, x, target=None):
        z = self.body(self.obs_scaler(x))
        if target is not None:
            return z
        scaler = self.target_scaler
        return x[:, : self.n_state].double() + torch.addcmul(scaler.loc, z, scaler.scale)


class ConvergedSpectralNorms(Callback):
    """When training ends, settle every Lipschitz layer's estimate of its norm.

    Then the fitted model is within its ``lipschitz_constant``, not only the
    estimate training used.
    """

    def on_train_end(self, net, **kwargs):
        for layer in net.module_.modules():
            if isinstance(layer, LipschitzLinear):
                layer.converge()


@fill_doc
class DynamicsRegressor(ContinuousPolicy):
    """Learned one-step dynamics ``s_{t+1} = s_t + f(s_t, a_t)``.

    A regressor from state-action rows to next states. The first
    ``n_outputs`` columns of ``X`` are the state ``s_t`` (``y`` gives their
    number), the remaining columns the action ``a_t``; :func:`transitions`
    builds such rows from demonstrations. The network predicts the residual
    ``s_{t+1} - s_t``, standardised, as in CCIL.

    With ``lipschitz_constant=K`` every layer is spectrally normalised
    (``W <- W / max(sigma(W) / K^(1/L), 1)`` for the ``L`` layers), so ``f``
    is at most ``K``-Lipschitz from standardised inputs to the standardised
    residual. A Lipschitz model changes slowly off the data, which is what
    makes labels generated from it near the demonstrations trustworthy.

    Parameters
    ----------
    lipschitz_constant : float or None, default=None
        Bound ``K`` on the Lipschitz constant of the residual network;
        ``None`` leaves it unconstrained. CCIL uses 2 to 4 on MuJoCo tasks.
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; its module maps ``X`` to predicted next states.
    n_features_in_ : int
        Number of state and action columns seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of state dimensions.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    transitions : ``(s_t, a_t)`` rows and ``s_{t+1}`` targets from demonstrations.
    sklearn_il.augment.CorrectiveAugmenter : Corrective labels from this model.

    Examples
    --------
    >>> from sklearn_il.datasets import make_winding_road
    >>> from sklearn_il.dynamics import DynamicsRegressor, transitions
    >>> X, y, groups = make_winding_road(n_episodes=3, random_state=0)
    >>> state_action, next_state, _ = transitions(X, y, groups)
    >>> model = DynamicsRegressor(lipschitz_constant=2.0, hidden_layer_sizes=(32,),
    ...                           max_iter=20, random_state=0)
    >>> model.fit(state_action, next_state).predict(state_action[:2]).shape
    (2, 4)
    """

    _parameter_constraints = {
        **ContinuousPolicy._parameter_constraints,
        "lipschitz_constant": [Interval(Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        *,
        lipschitz_constant=None,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=200,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="cpu",
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate_init=learning_rate_init,
            max_iter=max_iter,
            tol=tol,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            device=device,
        )
        self.lipschitz_constant = lipschitz_constant

    def _check_params(self, X, y):
        super()._check_params(X, y)
        n_state = 1 if y.ndim == 1 else y.shape[1]
        if X.shape[1] < n_state:
            raise ValueError(
                f"X has {X.shape[1]} columns but y has {n_state} state dimensions; "
                "X must hold the state (first columns) and then the action."
            )

    def _change(self, X, next_state):
        """The state change ``s_{t+1} - s_t`` the network regresses, float64."""
        return next_state.double() - X[:, : self.n_outputs_].double()

    def _build_module(self, X=None, y=None):
        return ResidualDynamics(
            self.n_features_in_, self.n_outputs_, self._hidden_sizes(), self.activation,
            self.lipschitz_constant, X, None if X is None else self._change(X, y),
        )

    def _training_target(self, X, target):
        return self.net_.module_.target_scaler(self._change(X, target)).float()

    def _make_criterion(self):
        return nn.MSELoss(reduction="none")

    def _callbacks(self):
        return [("spectral_norms", ConvergedSpectralNorms())]

    def predict(self, X):
        """Predict the next state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            State columns, then action columns.

        Returns
        -------
        next_state : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            float64.
        """
        return as_numpy(self._forward(X, lambda s: s.view(-1) if s.shape[1] == 1 else s))


def _with_step(x):
    """``(s_t, s_{t+1})`` rows as ``(s_t, s_{t+1} - s_t)``."""
    state, following = x.chunk(2, dim=-1)
    return torch.cat([state, following - state], dim=-1)


class PairPolicy(MLPPolicy):
    """An MLP policy that sees ``(s_t, s_{t+1} - s_t)``.

    Standardising ``s_t`` and ``s_{t+1}`` separately leaves the step between
    them, which carries the action, a small difference of two large inputs;
    standardised on its own, the step has unit scale.
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes, activation, X=None,
                 target_scaler=None):
        super().__init__(n_features, n_outputs, hidden_layer_sizes, activation,
                         None if X is None else _with_step(X), target_scaler)

    def forward(self, x, target=None):
        return super().forward(_with_step(x))

    def acting_module(self):
        # The step is taken before the scaling.
        return InferenceMLP(self.body, self.obs_scaler, prepare=_with_step)


@fill_doc
class InverseDynamicsRegressor(BCRegressor):
    """Inverse dynamics ``a_t = g(s_t, s_{t+1})``: which action links two states.

    A regressor from pairs of consecutive observations (``X`` holds ``s_t``
    then ``s_{t+1}``; :func:`state_pairs` builds them) to the action taken
    between them, trained like behaviour cloning on those pairs. Fitted on
    any interaction data with actions (the agent's own play, random
    exploration), it labels demonstrations that come without actions, such
    as videos or motion capture turned into states, with
    :meth:`label_actions`; a policy is then cloned from them: behaviour
    cloning from observation.

    Parameters
    ----------
    loss : {"mse", "gaussian"}, default="mse"
        As in :class:`~sklearn_il.BCRegressor`.
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net.
    n_features_in_ : int
        Number of columns of ``X``: twice the observation width.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of action dimensions.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    state_pairs : ``(s_t, s_{t+1})`` rows from episodes.
    DynamicsRegressor : The forward model ``s_{t+1} = s_t + f(s_t, a_t)``.

    Notes
    -----
    Torabi, Warnell and Stone, "Behavioral cloning from observation", IJCAI 2018.

    Examples
    --------
    >>> from sklearn_il.datasets import make_point_reach
    >>> from sklearn_il.dynamics import InverseDynamicsRegressor, state_pairs
    >>> X, y, groups = make_point_reach(n_episodes=5, random_state=0)
    >>> pairs, rows = state_pairs(X, groups)
    >>> model = InverseDynamicsRegressor(hidden_layer_sizes=(32,), max_iter=50,
    ...                                  random_state=0)
    >>> labels = model.fit(pairs, y[rows]).label_actions(X, groups)
    >>> labels.shape == y.shape
    True
    """

    _module_class = PairPolicy

    def _check_params(self, X, y):
        super()._check_params(X, y)
        if X.shape[1] % 2:
            raise ValueError(
                f"X has {X.shape[1]} columns; an inverse dynamics model takes pairs "
                "(s_t, s_t+1) of equal width. Build them with state_pairs(X, groups)."
            )

    def label_actions(self, X, groups, final_observations=None):
        """Infer the action at every row of observation-only episodes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_observation_features)
            Observations, each episode's rows contiguous and in time order.
        groups : array-like of shape (n_samples,)
            Episode id of each row.
        final_observations : array-like of shape (n_episodes, n_observation_features), \
                default=None
            The observation after each episode's last row, in episode order
            (``Demonstrations.final_observations``), so that the last row
            gets a label of its own. Without it, the last row of an episode
            repeats the label before it.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``g(s_t, s_{t+1})`` for each row.
        """
        check_is_fitted(self)
        X = check_named(X, "X", dtype=np.float64)
        if 2 * X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} observation features but the model was fitted on "
                f"pairs of {self.n_features_in_ // 2}."
            )
        pairs, rows = state_pairs(X, groups)
        groups = np.asarray(groups)
        last = episode_ends(groups)
        if final_observations is not None:
            final = check_named(final_observations, "final_observations", dtype=np.float64)
            if final.shape != (len(last), X.shape[1]):
                raise ValueError(
                    f"final_observations has shape {final.shape}; expected one row per "
                    f"episode, {(len(last), X.shape[1])}."
                )
            pairs, rows = np.vstack([pairs, np.hstack([X[last], final])]), np.r_[rows, last]
        elif np.unique(groups[rows]).size < len(last):
            raise ValueError(
                "every episode needs at least 2 rows to infer its actions, or pass "
                "final_observations."
            )
        labels = self.predict(pairs)
        out = np.empty((len(X),) + labels.shape[1:])
        out[rows] = labels
        if final_observations is None:
            out[last] = out[last - 1]
        return out
