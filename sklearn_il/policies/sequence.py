"""A recurrent policy over a window of recent observations."""

from functools import partial
from numbers import Integral

from sklearn.utils._param_validation import Interval
import torch
from torch import nn

from .._nn import Standardize, mlp
from .._rollout import HistoryActor
from ..base import fill_doc
from .bc import BCRegressor


class SequenceNet(nn.Module):
    """A GRU over the frames of a stacked row, oldest first, then an MLP head.

    The row holds ``x_t, x_{t-1}, ..., x_{t-n_frames}`` (``HistoryStacker``'s
    layout). Every frame is standardised with the same per-feature
    statistics.
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes, activation, X=None,
                 target_scaler=None, *, n_frames):
        super().__init__()
        self.n_steps, self.width = n_frames + 1, n_features // (n_frames + 1)
        frames = None if X is None else X.reshape(-1, self.width)
        self.obs_scaler = Standardize(self.width, frames)
        recurrent, *rest = hidden_layer_sizes
        self.gru = nn.GRU(self.width, recurrent, batch_first=True)
        self.head = mlp(recurrent, rest, n_outputs, activation)
        self.target_scaler = target_scaler

    def forward(self, x, target=None):
        frames = self.obs_scaler(x.view(len(x), self.n_steps, self.width)).flip(1)
        # The GRU's cell, step by step, on its weights: torch's fused RNN kernel
        # rounds a row differently depending on the batch it is in, and a
        # policy's action must not depend on which other rows are predicted.
        gru = self.gru
        state = frames.new_zeros(len(x), gru.hidden_size)
        for step in frames.unbind(1):
            state = torch.gru_cell(step, state, gru.weight_ih_l0, gru.weight_hh_l0,
                                   gru.bias_ih_l0, gru.bias_hh_l0)
        return self.head(state)


@fill_doc
class SequenceBC(BCRegressor):
    """Behaviour cloning with a recurrent encoder of the recent observations.

    For demonstrators whose actions depend on more than the current
    observation (hidden velocities, intentions, partial observability).
    ``X`` holds each observation followed by the ``n_frames`` before it, as
    :class:`~sklearn_il.preprocessing.HistoryStacker` makes them; a GRU
    reads the frames from the oldest to the newest and an MLP maps its final
    state to the action. Use them together::

        make_pipeline(HistoryStacker(n_frames=4), SequenceBC(n_frames=4))

    Rollouts keep the history themselves, for this policy and for a
    Pipeline that starts with a ``HistoryStacker``.

    Parameters
    ----------
    n_frames : int, default=3
        Previous observations in each row of ``X``: ``X`` has
        ``(n_frames + 1) * n_observation_features`` columns.
    loss : {"mse", "gaussian"}, default="mse"
        As in :class:`BCRegressor`.
    %(training_parameters)s
        The first entry of ``hidden_layer_sizes`` is the GRU's width; the
        others are the head's hidden layers.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net.
    n_features_in_ : int
        Number of columns of ``X`` (all frames).
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
    sklearn_il.preprocessing.HistoryStacker : Builds the stacked rows.

    Examples
    --------
    >>> from sklearn_il import SequenceBC
    >>> from sklearn_il.datasets import make_winding_road
    >>> from sklearn_il.preprocessing import HistoryStacker
    >>> X, y, groups = make_winding_road(n_episodes=2, random_state=0)
    >>> X_history = HistoryStacker(n_frames=2).fit_transform(X, groups=groups)
    >>> policy = SequenceBC(n_frames=2, hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    >>> policy.fit(X_history, y).predict(X_history[:3]).shape
    (3,)
    """

    # The first hidden layer is the GRU's.
    _min_hidden_layers = 1

    _parameter_constraints = {
        **BCRegressor._parameter_constraints,
        "n_frames": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_frames=3,
        loss="mse",
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
            loss=loss,
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
        self.n_frames = n_frames

    def _check_params(self, X, y):
        super()._check_params(X, y)
        if X.shape[1] % (self.n_frames + 1):
            raise ValueError(
                f"X has {X.shape[1]} columns, not a multiple of n_frames + 1 = "
                f"{self.n_frames + 1}: stack the history with HistoryStacker(n_frames="
                f"{self.n_frames})."
            )

    @property
    def _module_class(self):
        return partial(SequenceNet, n_frames=self.n_frames)

    def rollout_actor(self, n_envs):
        """The rollout engine's actor in ``n_envs`` envs: each env's last ``n_frames``
        observations kept and stacked as ``HistoryStacker`` stacks them.
        """
        width = getattr(self, "n_features_in_", None)
        return HistoryActor(self.predict, self.n_frames, n_envs,
                            width and width // (self.n_frames + 1))
