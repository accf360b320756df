"""A policy over a window of recent observations: a GRU or a causal transformer reads it."""

import copy
from functools import partial
from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions
import torch
from torch import nn

from .._nn import ACTIVATIONS, Standardize, mlp
from .._rollout import HistoryActor
from ..base import fill_doc
from .bc import BCRegressor


class SequenceNet(nn.Module):
    """An encoder over the frames of a stacked row, oldest first, then an MLP head.

    The row holds ``x_t, x_{t-1}, ..., x_{t-n_frames}`` (``HistoryStacker``'s
    layout). Every frame is standardised with the same per-feature
    statistics. A GRU's final state, or the newest frame's output of a
    :class:`CausalTransformer`, goes to the head.
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes, activation, X=None,
                 target_scaler=None, *, n_frames, encoder="gru", n_layers=2, n_heads=4):
        super().__init__()
        self.n_steps, self.width = n_frames + 1, n_features // (n_frames + 1)
        frames = None if X is None else X.reshape(-1, self.width)
        self.obs_scaler = Standardize(self.width, frames)
        size, *rest = hidden_layer_sizes
        if encoder == "gru":
            self.gru = nn.GRU(self.width, size, batch_first=True)
        else:
            self.transformer = CausalTransformer(self.width, size, self.n_steps, n_layers,
                                                 n_heads, activation)
        self.head = mlp(size, rest, n_outputs, activation)
        self.target_scaler = target_scaler

    def forward(self, x, target=None):
        frames = self.obs_scaler(x.view(-1, self.n_steps, self.width)).flip(1)
        if hasattr(self, "transformer"):
            return self.head(self.transformer(frames))
        # The GRU's cell, step by step, on its weights: torch's fused RNN kernel
        # rounds a row differently depending on the batch it is in, and a
        # policy's action must not depend on which other rows are predicted.
        gru = self.gru
        state = torch.zeros_like(frames[:, 0, :1]).repeat(1, gru.hidden_size)
        for step in frames.unbind(1):
            state = torch.gru_cell(step, state, gru.weight_ih_l0, gru.weight_hh_l0,
                                   gru.bias_ih_l0, gru.bias_hh_l0)
        return self.head(state)

    def acting_module(self):
        """``forward`` for inference; on a CPU it runs in float64. In float32 a
        row's output moved by up to 5e-7 with the number of rows beside it
        (BLAS picks its kernel by the matrices' sizes; both encoders, on 50
        rows of a policy fitted to 4,000), and a policy's action must not
        depend on the other rows predicted."""
        if self.obs_scaler.loc.device.type != "cpu":
            return self
        return Float64Inference(copy.deepcopy(self).double())


class Float64Inference:
    """A float32 module's forward computed by its float64 copy ``module``."""

    def __init__(self, module):
        self.module = module

    def __call__(self, x):
        return self.module(x.double()).float()


class CausalTransformer(nn.Module):
    """A small GPT-style encoder: the newest frame's output after ``n_layers``
    pre-norm blocks of causal self-attention, each frame embedded linearly
    with a learned position embedding added (robomimic's BC-Transformer,
    at a size that trains on a CPU)."""

    def __init__(self, width, size, n_steps, n_layers, n_heads, activation):
        super().__init__()
        self.embed = nn.Linear(width, size)
        self.position = nn.Parameter(0.02 * torch.randn(n_steps, size))
        self.blocks = nn.ModuleList(PreNormBlock(size, n_heads, activation) for _ in range(n_layers))
        self.norm = nn.LayerNorm(size)
        # Frame i attends to frames 0..i (oldest first): True marks what is hidden.
        self.register_buffer("mask", torch.ones(n_steps, n_steps, dtype=torch.bool).triu(1),
                             persistent=False)

    def forward(self, frames):
        h = self.embed(frames) + self.position
        for block in self.blocks:
            h = block(h, self.mask)
        return self.norm(h[:, -1])


class PreNormBlock(nn.Module):
    """``h + attention(norm(h))``, then ``h + feedforward(norm(h))``; the
    feedforward is twice as wide as the block."""

    def __init__(self, size, n_heads, activation):
        super().__init__()
        self.n_heads = n_heads
        self.attention_norm = nn.LayerNorm(size)
        self.qkv = nn.Linear(size, 3 * size)
        self.out = nn.Linear(size, size)
        self.feedforward_norm = nn.LayerNorm(size)
        self.feedforward = nn.Sequential(nn.Linear(size, 2 * size), ACTIVATIONS[activation](),
                                         nn.Linear(2 * size, size))

    def forward(self, h, mask):
        n, steps, size = h.shape
        q, k, v = (self.qkv(self.attention_norm(h))
                   .view(n, steps, 3, self.n_heads, size // self.n_heads).permute(2, 0, 3, 1, 4))
        scores = (q @ k.transpose(-1, -2)) / (size // self.n_heads) ** 0.5
        attended = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        h = h + self.out(attended.transpose(1, 2).reshape(n, steps, size))
        return h + self.feedforward(self.feedforward_norm(h))


@fill_doc
class SequenceBC(BCRegressor):
    """Behaviour cloning with an encoder of the recent observations: a GRU or a transformer.

    For demonstrators whose actions depend on more than the current
    observation (hidden velocities, intentions, partial observability).
    ``X`` holds each observation followed by the ``n_frames`` before it, as
    :class:`~sklearn_il.preprocessing.HistoryStacker` makes them. The
    encoder reads the frames from the oldest to the newest: a GRU, whose
    final state an MLP maps to the action, or a causal transformer
    (``encoder="transformer"``, robomimic's BC-Transformer in small): each
    frame embedded linearly plus a learned position embedding, ``n_layers``
    pre-norm blocks of masked self-attention (a frame sees itself and the
    frames before it) and a feedforward twice as wide, and the newest
    frame's output to the MLP head. Use them together::

        make_pipeline(HistoryStacker(n_frames=4), SequenceBC(n_frames=4))

    Rollouts keep the history themselves, for this policy and for a
    Pipeline that starts with a ``HistoryStacker``.

    Parameters
    ----------
    n_frames : int, default=3
        Previous observations in each row of ``X``: ``X`` has
        ``(n_frames + 1) * n_observation_features`` columns.
    encoder : {"gru", "transformer"}, default="gru"
        What reads the frames. The GRU is the default: as good as the
        transformer on the partially observed Pendulum, at a third of the
        cost an epoch (see Notes). Give the transformer a smaller learning
        rate, such as ``learning_rate_init=3e-4``.
    n_layers : int, default=2
        Transformer blocks; used with ``encoder="transformer"`` only (the
        GRU has one layer).
    n_heads : int, default=4
        Attention heads per block; must divide the first entry of
        ``hidden_layer_sizes``. Used with ``encoder="transformer"`` only.
    loss : {"mse", "gaussian"}, default="mse"
        As in :class:`BCRegressor`.
    %(training_parameters)s
        The first entry of ``hidden_layer_sizes`` is the encoder's width
        (the GRU's state, the transformer's embedding); the others are the
        head's hidden layers.

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

    Notes
    -----
    ``encoder``, measured in ``benchmarks/bench_history.py`` (Pendulum with
    its velocity hidden, 3 frames, 5 seeds, normalised return): GRU 0.37 ±
    0.11; transformer 0.31 ± 0.30 with ``learning_rate_init=3e-4`` and 0.14
    ± 0.12 with the default 1e-3 (one frame: -0.01). 20 epochs on 4,000
    rows took 9.6 s with the GRU against 27 s with the transformer.

    Examples
    --------
    >>> from sklearn_il import SequenceBC
    >>> from sklearn_il.datasets import make_winding_road
    >>> from sklearn_il.preprocessing import HistoryStacker
    >>> X, y, groups = make_winding_road(n_episodes=2, random_state=0)
    >>> X_history = HistoryStacker(n_frames=2).fit_transform(X, groups=groups)
    >>> policy = SequenceBC(n_frames=2, hidden_layer_sizes=(16,), max_iter=5,
    ...                     random_state=0)
    >>> policy.fit(X_history, y).predict(X_history[:3]).shape
    (3,)
    >>> transformer = SequenceBC(n_frames=2, encoder="transformer", n_layers=1,
    ...                          n_heads=2, hidden_layer_sizes=(16,),
    ...                          max_iter=5, random_state=0)
    >>> transformer.fit(X_history, y).predict(X_history[:3]).shape
    (3,)
    """

    # The first hidden layer is the encoder's.
    _min_hidden_layers = 1

    _parameter_constraints = {
        **BCRegressor._parameter_constraints,
        "n_frames": [Interval(Integral, 0, None, closed="left")],
        "encoder": [StrOptions({"gru", "transformer"})],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "n_heads": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_frames=3,
        encoder="gru",
        n_layers=2,
        n_heads=4,
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
        self.encoder = encoder
        self.n_layers = n_layers
        self.n_heads = n_heads

    def _check_params(self, X, y):
        super()._check_params(X, y)
        if X.shape[1] % (self.n_frames + 1):
            raise ValueError(
                f"X has {X.shape[1]} columns, not a multiple of n_frames + 1 = "
                f"{self.n_frames + 1}: stack the history with HistoryStacker(n_frames="
                f"{self.n_frames})."
            )
        width = tuple(self.hidden_layer_sizes)[0]
        if self.encoder == "transformer" and width % self.n_heads:
            raise ValueError(
                f"n_heads={self.n_heads} does not divide the transformer's width, "
                f"hidden_layer_sizes[0]={width}: each head takes an equal share of it."
            )

    @property
    def _module_class(self):
        return partial(SequenceNet, n_frames=self.n_frames, encoder=self.encoder,
                       n_layers=self.n_layers, n_heads=self.n_heads)

    def rollout_actor(self, n_envs):
        """How the rollout engine acts with this policy.

        Parameters
        ----------
        n_envs : int
            Envs stepped together.

        Returns
        -------
        actor : object
            Keeps each env's last ``n_frames`` observations and stacks them
            as ``HistoryStacker`` does before calling ``predict``.
        """
        width = getattr(self, "n_features_in_", None)
        return HistoryActor(self.predict, self.n_frames, n_envs,
                            width and width // (self.n_frames + 1))
