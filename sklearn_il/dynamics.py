"""Models of the world: learned one-step dynamics of demonstrated episodes."""

from functools import partial
from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_array
from torch import nn

from ._nn import LipschitzLinear, PairedMSE, Standardize, mlp
from ._validation import check_groups, episode_starts
from .base import ContinuousPolicy, as_numpy, fill_doc

__all__ = ["DynamicsRegressor", "transitions"]


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
    X = check_array(X, dtype=np.float64, input_name="X")
    y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y").reshape(len(y), -1)
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}.")
    groups = check_groups(groups, len(X), required_by="transitions")
    has_next = np.ones(len(X), dtype=bool)
    has_next[np.r_[episode_starts(groups)[1:], len(X)] - 1] = False
    rows = np.flatnonzero(has_next)
    return np.hstack([X[rows], y[rows]]), X[rows + 1], rows


class ResidualDynamics(nn.Module):
    """``s' = s + f(s, a)``; ``f`` learns the standardised residual.

    ``action_scaler`` (the name the shared base gives the target's
    statistics) standardises the residual ``s' - s``. In training the module
    returns (predicted, true) standardised residuals; otherwise the predicted
    next state in float64.
    """

    def __init__(
        self, n_features, n_state, hidden_layer_sizes, activation, lipschitz_constant,
        X=None, residual=None,
    ):
        super().__init__()
        self.n_state = n_state
        self.obs_scaler = Standardize(n_features, X)
        self.action_scaler = Standardize(n_state, residual, dtype=torch.float64)
        linear = nn.Linear
        if lipschitz_constant is not None:
            # Each layer bounded by K^(1/L) and the activations 1-Lipschitz:
            # f is K-Lipschitz from standardised input to standardised residual.
            n_layers = len(hidden_layer_sizes) + 1
            linear = partial(LipschitzLinear, bound=lipschitz_constant ** (1.0 / n_layers))
        self.body = mlp(n_features, hidden_layer_sizes, n_state, activation, linear)

    def forward(self, x, target=None):
        z = self.body(self.obs_scaler(x))
        state = x[:, : self.n_state].double()
        if target is None:
            return state + torch.addcmul(self.action_scaler.loc, z, self.action_scaler.scale)
        return z, self.action_scaler(target.double() - state).float()


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

    def _build_module(self, X=None, y=None):
        residual = None
        if X is not None:
            if X.shape[1] < self.n_outputs_:
                raise ValueError(
                    f"X has {X.shape[1]} columns but y has {self.n_outputs_} state "
                    "dimensions; X must hold the state (first columns) and then the action."
                )
            residual = y.double() - X[:, : self.n_outputs_].double()
        return ResidualDynamics(
            self.n_features_in_, self.n_outputs_, self._hidden_sizes(), self.activation,
            self.lipschitz_constant, X, residual,
        )

    def _training_target(self, target):
        # The module forms the residual from the raw next state and the batch.
        return target

    def _make_criterion(self):
        return PairedMSE()

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
