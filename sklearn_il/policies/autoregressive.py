"""Autoregressive policy: each action dimension a categorical over bins, in order."""

from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._nn import ACTIVATIONS, InferenceMLP, Standardize, mlp
from ..base import ContinuousPolicy, as_numpy, fill_doc


def bin_edges(y, n_bins, strategy):
    """Edges of each action dimension's bins; quantile edges drop repeats."""
    edges = []
    for column in y.T:
        if strategy == "uniform":
            lo, hi = column.min(), column.max()
            e = np.linspace(lo, hi if hi > lo else lo + 1.0, n_bins + 1)
        else:
            e = np.unique(np.quantile(column, np.linspace(0, 1, n_bins + 1)))
            e = e if len(e) > 1 else np.array([e[0], e[0] + 1.0])
        edges.append(e)
    return edges


class AutoregressiveNet(nn.Module):
    """Observation trunk, then one head per action dimension.

    Head ``k`` sees the trunk's features and the standardised values of
    dimensions ``0..k-1``: p(a|s) = prod_k p(a_k | s, a_<k). In training
    the target's bins are fed in (teacher forcing) and the logits of every
    head returned; without a target the trunk's features are returned for
    the policy's decoder to run the heads in order.
    """

    def __init__(self, n_features, n_bins, hidden_layer_sizes, activation, X=None,
                 values=None, actions=None, target_scaler=None):
        super().__init__()
        *trunk, width = hidden_layer_sizes
        self.obs_scaler = Standardize(n_features, X)
        self.trunk = nn.Sequential(mlp(n_features, trunk, width, activation), ACTIVATIONS[activation]())
        self.heads = nn.ModuleList(
            mlp(width + k, (width,), n, activation) for k, n in enumerate(n_bins)
        )
        # Standardised value of each bin, per dimension, padded to the largest bin count.
        shape = (len(n_bins), max(n_bins))
        self.register_buffer("values", torch.zeros(shape) if values is None else values)
        # The same in action units, float64: what the policy returns.
        self.register_buffer(
            "actions", torch.zeros(shape, dtype=torch.float64) if actions is None else actions
        )
        self.target_scaler = target_scaler

    def logits(self, features, k, previous):
        """Logits of dimension ``k`` given the values chosen for the earlier ones."""
        return self.heads[k](torch.cat([features, previous], dim=-1) if k else features)

    def forward(self, x, target=None):
        features = self.trunk(self.obs_scaler(x))
        if target is None:
            return features
        chosen = self.values.T.gather(0, target)
        return tuple(self.logits(features, k, chosen[:, :k]) for k in range(len(self.heads)))

    def acting_module(self):
        """The network for inference: see :class:`AutoregressiveInference`."""
        return AutoregressiveInference(self)


class AutoregressiveInference:
    """A fitted :class:`AutoregressiveNet` for acting: called on raw
    observations it returns the trunk's features (the observation scaling
    folded into the first layer); :meth:`logits` runs a head. The layers
    are :class:`~sklearn_il._nn.InferenceMLP`: no module dispatch.
    """

    def __init__(self, net):
        self.trunk = InferenceMLP([*net.trunk[0], net.trunk[1]], net.obs_scaler)
        self.heads = [InferenceMLP(head) for head in net.heads]
        self.values, self.actions = net.values, net.actions

    def __call__(self, x):
        return self.trunk(x)

    logits = AutoregressiveNet.logits


class SumCrossEntropy(nn.Module):
    """Cross-entropy of each dimension's bin, summed over dimensions."""

    def forward(self, output, target):
        return sum(nn.functional.cross_entropy(logits, target[:, k], reduction="none")
                   for k, logits in enumerate(output))


@fill_doc
class AutoregressiveBC(ContinuousPolicy):
    """Discretised actions, one dimension at a time: p(a|s) = Π_k p(a_k | s, a_<k).

    Each action dimension is cut into ``n_bins`` bins fitted on ``y``
    (uniform between its minimum and maximum, as in RT-1/RT-2, or at its
    quantiles). An MLP trunk encodes the observation; head ``k`` outputs a
    categorical distribution over dimension ``k``'s bins, given the trunk's
    features and the values of the dimensions before it. A categorical has
    as many modes as it needs, and the ordering coordinates the dimensions:
    where the expert goes (+1, +1) or (-1, -1), independent per-dimension
    choices can mix to (+1, -1), the conditional ones do not.

    ``predict`` decodes greedily (the most probable bin of each dimension in
    turn), ``sample`` ancestrally, and ``score_samples`` gives the exact
    log-likelihood of the piecewise-constant density over the bins. An
    action maps to the mean of the training actions in its bin, so discrete
    actions coded as numbers (one bin each, with enough bins) come back
    exactly: the policy then acts as a multi-output classifier over the
    coded values, with the dimensions chosen in order. (It keeps the
    regressor's interface: no ``classes_`` or ``predict_proba``.)

    Parameters
    ----------
    n_bins : int, default=256
        Bins per action dimension (fewer with ``strategy="quantile"`` when
        quantiles repeat).
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins between the minimum and maximum, or equal-count
        bins at the quantiles of each dimension.
    %(training_parameters)s

    Attributes
    ----------
    bin_edges_ : list of ndarray
        Edges of each action dimension's bins.
    net_ : skorch.NeuralNet
        The fitted skorch net; its module is the trunk and heads.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of action dimensions.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss (summed cross-entropy) at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    MixtureDensityBC : A mixture of Gaussians over all dimensions at once.

    Examples
    --------
    >>> from sklearn_il import AutoregressiveBC
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, groups = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = AutoregressiveBC(n_bins=32, hidden_layer_sizes=(32,), max_iter=20,
    ...                           random_state=0).fit(X, y)
    >>> policy.predict(X[:2]).shape
    (2,)
    >>> [len(edges) - 1 for edges in policy.bin_edges_]
    [32]
    """

    # The trunk's last hidden layer is what every head reads.
    _min_hidden_layers = 1

    _parameter_constraints = {
        **ContinuousPolicy._parameter_constraints,
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "strategy": [StrOptions({"uniform", "quantile"})],
    }

    def __init__(
        self,
        *,
        n_bins=256,
        strategy="uniform",
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
        self.n_bins = n_bins
        self.strategy = strategy

    def _encode_target(self, y, reset, groups=None):
        y = super()._encode_target(y, reset).double()
        if reset:
            self.bin_edges_ = bin_edges(y.numpy(), self.n_bins, self.strategy)
        # The actions themselves: the module's values are set from them in
        # _build_module; the loss sees their bins (_training_target).
        return y

    def _bins(self, y):
        """Bin index of each action (n, k), actions outside the edges in the end bins."""
        columns = [
            np.clip(np.searchsorted(edges, column, side="right") - 1, 0, len(edges) - 2)
            for edges, column in zip(self.bin_edges_, np.asarray(y, dtype=np.float64).T)
        ]
        return torch.from_numpy(np.stack(columns, axis=1).astype(np.int64))

    def _build_module(self, X=None, y=None):
        n_bins = [len(edges) - 1 for edges in self.bin_edges_]
        scaler = self._target_scaler(y)
        values = actions = None
        if y is not None:
            # Each bin's value: the mean of the training actions in it (its
            # centre when empty), standardised for the heads that read it.
            bins = self._bins(y.numpy())
            actions = torch.zeros(self.n_outputs_, max(n_bins), dtype=torch.float64)
            for k, edges in enumerate(self.bin_edges_):
                centres = torch.from_numpy((edges[:-1] + edges[1:]) / 2)
                total = torch.zeros(n_bins[k], dtype=torch.float64).index_add_(0, bins[:, k], y[:, k])
                count = torch.bincount(bins[:, k], minlength=n_bins[k]).double()
                actions[k, : n_bins[k]] = torch.where(count > 0, total / count.clamp(min=1), centres)
            values = scaler(actions.T).T.float()
        return AutoregressiveNet(self.n_features_in_, n_bins, self._hidden_sizes(), self.activation,
                                 X=X, values=values, actions=actions, target_scaler=scaler)

    def _training_target(self, X, target):
        return self._bins(target.cpu().numpy()).to(target.device)

    def _make_criterion(self):
        return SumCrossEntropy()

    def _decode(self, features, choose):
        """Run the heads in order; ``choose(logits)`` picks each dimension's bins.

        Returns the chosen bins' actions, float64 of shape (n_rows, n_outputs).
        """
        module = self._inference_form()
        previous = features[:, :0]
        chosen = []
        for k in range(self.n_outputs_):
            bins = choose(module.logits(features, k, previous))
            previous = torch.cat([previous, module.values[k, bins].unsqueeze(1)], dim=1)
            chosen.append(module.actions[k, bins])
        return torch.stack(chosen, dim=-1)

    def predict(self, X):
        """Decode greedily: the most probable bin of each dimension in turn.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Actions; 1-D when the policy has one action dimension.
        """

        return as_numpy(self._forward(X, self._decode_predict))

    def _decode_predict(self, features):
        actions = self._decode(features, lambda logits: logits.argmax(-1))
        return actions.view(-1) if self.n_outputs_ == 1 else actions

    def sample(self, X, n_samples=1, random_state=None):
        """Draw actions ancestrally, one dimension after another.

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
            Values of the drawn bins.
        """
        generator = self._generator(random_state, n_samples)

        def draw(features):
            n, m = len(features), int(n_samples)

            def choose(logits):
                return torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)

            return self._decode(features.repeat_interleave(m, 0), choose).reshape(n, m, -1)

        return as_numpy(self._forward(X, draw))

    def score_samples(self, X, y):
        """Log-likelihood of each action under the binned density.

        The density is constant within a bin: the bin's probability over its
        width, multiplied over dimensions. Actions outside the fitted range
        count in the end bins.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Actions.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            Log-density of each action, in the units of ``y``.
        """

        def log_prob(features, y):
            module = self.net_.module_
            bins = self._bins(y.numpy(force=True)).to(y.device)
            chosen = module.values.T.gather(0, bins)
            total = 0.0
            for k, edges in enumerate(self.bin_edges_):
                log_p = module.logits(features, k, chosen[:, :k]).double().log_softmax(-1)
                width = torch.from_numpy(np.diff(edges)).to(y.device)[bins[:, k]]
                total = total + log_p.gather(1, bins[:, k : k + 1]).squeeze(1) - width.log()
            return total

        return self._log_likelihood(X, y, log_prob)
