"""Torch building blocks shared by the policies."""

import math
from functools import partial

import torch
from torch import nn

_LOG_2PI = math.log(2 * math.pi)

ACTIVATIONS = {
    "identity": nn.Identity,
    "logistic": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
}


# A feature whose standard deviation is at most this is constant in the
# data: it keeps its own units (a scale of 1) rather than be blown up.
CONSTANT_STD = 1e-8


class Standardize(nn.Module):
    """``(x - loc) / scale`` with statistics stored as buffers.

    Part of the module so that a fitted policy maps raw observations to
    actions on its own: the fast predict path, ``net_`` and ``io.load`` need
    no scaler beside it.
    """

    def __init__(self, n_features, data=None, dtype=torch.float32):
        super().__init__()
        loc, scale = torch.zeros(n_features), torch.ones(n_features)
        if data is not None:
            data = data.double()
            loc, scale = data.mean(0), data.std(0, unbiased=False)
            # Constant columns: leave them unscaled rather than divide by zero.
            scale = torch.where(scale > CONSTANT_STD, scale, torch.ones_like(scale))
        self.register_buffer("loc", loc.to(dtype))
        self.register_buffer("scale", scale.to(dtype))

    def forward(self, x):
        return (x - self.loc) / self.scale


def mlp(n_in, hidden_layer_sizes, n_out, activation, lipschitz_constant=None):
    """A fully connected network; ``activation`` names a scikit-learn activation.

    With ``lipschitz_constant=K`` each of the ``L`` layers is a
    :class:`LipschitzLinear` with bound ``K^(1/L)``; the activations are
    1-Lipschitz, so the network is at most ``K``-Lipschitz.
    """
    linear = nn.Linear
    if lipschitz_constant is not None:
        bound = lipschitz_constant ** (1.0 / (len(hidden_layer_sizes) + 1))
        linear = partial(LipschitzLinear, bound=bound)
    layers, width = [], n_in
    for size in hidden_layer_sizes:
        layers += [linear(width, size), ACTIVATIONS[activation]()]
        width = size
    layers.append(linear(width, n_out))
    return nn.Sequential(*layers)


class LipschitzLinear(nn.Linear):
    """A linear layer whose spectral norm is kept at or below ``bound``.

    CCIL's spectral normalisation, ``W <- W / max(sigma(W) / bound, 1)``:
    ``sigma`` is estimated by one power iteration per training forward pass
    (the vector is kept as a buffer, as ``torch.nn.utils.spectral_norm``
    does), so the cost is two matrix-vector products. Written as a plain
    module, not a ``torch.nn.utils.parametrize`` one, so that it pickles.
    """

    def __init__(self, n_in, n_out, bound):
        super().__init__(n_in, n_out)
        self.bound = float(bound)
        self.register_buffer("u", nn.functional.normalize(torch.randn(n_out), dim=0))

    def normalised_weight(self):
        W = self.weight
        if self.training:
            with torch.no_grad():
                v = nn.functional.normalize(W.t() @ self.u, dim=0)
                self.u.copy_(nn.functional.normalize(W @ v, dim=0))
        # sigma = u^T W v with v = W^T u / |W^T u|, that is |W^T u|. On a copy
        # of u: a later forward pass updates the buffer in place, and the
        # backward pass of this one needs the value it used.
        sigma = torch.linalg.vector_norm(W.t() @ self.u.clone())
        return W / torch.clamp(sigma / self.bound, min=1.0)

    @torch.no_grad()
    def converge(self, n_iter=100):
        """Run the power iteration on, so that ``sigma`` is the spectral norm itself.

        One iteration per training step leaves the estimate below the true
        norm while the weights move; after training this makes the bound
        hold for the fitted layer.
        """
        for _ in range(n_iter):
            v = nn.functional.normalize(self.weight.t() @ self.u, dim=0)
            self.u.copy_(nn.functional.normalize(self.weight @ v, dim=0))

    def forward(self, x):
        return nn.functional.linear(x, self.normalised_weight(), self.bias)


class PairedMSE(nn.Module):
    """Squared error between the two tensors a module returns in training.

    For modules that build their own regression target from the batch
    (diffusion's noise, the dynamics model's residual).
    """

    def forward(self, output, target):
        predicted, wanted = output
        return nn.functional.mse_loss(predicted, wanted, reduction="none")


class MLPPolicy(nn.Module):
    """Standardised observations through an MLP to the policy's raw outputs.

    ``target_scaler`` holds the statistics the policy's decoding uses to put
    outputs back in action units; it is not applied in ``forward``, so the
    loss is computed on standardised targets (every action dimension counts
    equally, whatever its units) without extra work per batch. Its
    statistics are float64, so decoding yields float64 actions in one op.
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes, activation, X=None, target_scaler=None):
        super().__init__()
        self.obs_scaler = Standardize(n_features, X)
        self.body = mlp(n_features, hidden_layer_sizes, n_outputs, activation)
        self.target_scaler = target_scaler

    def forward(self, x, target=None):
        return self.body(self.obs_scaler(x))

    def acting_module(self):
        """``forward`` for inference, from the current weights: the observation
        scaling folded into the first layer, see :class:`InferenceMLP`.
        """
        return InferenceMLP(self.body, self.obs_scaler)


# In-place forms of the activations, for inference.
INPLACE_ACTIVATIONS = {
    nn.ReLU: torch.relu_, nn.Tanh: torch.tanh_, nn.Sigmoid: torch.sigmoid_, nn.Identity: None,
}


class InferenceMLP:
    """An ``mlp``'s layers as plain tensors, for acting: one ``addmm`` and one
    in-place activation per layer, no module dispatch.

    A one-row predict costs about as much in module calls and input
    scaling as in arithmetic; this form has neither. ``scaler`` (a
    :class:`Standardize` applied before the first layer) is folded into it;
    ``prepare``, a function of the raw input, runs before it. Made from the
    weights as they are (fitted ones): it does not follow later training.
    """

    def __init__(self, body, scaler=None, prepare=None):
        self.prepare, self.layers = prepare, []
        with torch.no_grad():
            for layer in body:
                if isinstance(layer, nn.Linear):
                    weight = (layer.normalised_weight() if isinstance(layer, LipschitzLinear)
                              else layer.weight).detach().double()
                    bias = layer.bias.detach().double()
                    if scaler is not None and not self.layers:
                        weight = weight / scaler.scale.double()
                        bias = bias - weight @ scaler.loc.double()
                    # The transpose of an (out, in) weight, as nn.Linear passes
                    # it to BLAS: rows then round as the module's do (a
                    # contiguous (in, out) copy moved scikit-learn's 1e-7
                    # subset-invariance check past its tolerance).
                    dtype = layer.weight.dtype
                    self.layers.append((weight.to(dtype).contiguous().T, bias.to(dtype), None))
                else:
                    weight, bias, _ = self.layers[-1]
                    self.layers[-1] = (weight, bias, INPLACE_ACTIVATIONS[type(layer)])

    def __call__(self, x):
        if self.prepare is not None:
            x = self.prepare(x)
        for weight, bias, activation in self.layers:
            x = torch.addmm(bias, x, weight)
            if activation is not None:
                x = activation(x)
        return x


def gaussian_log_prob(y, mean, std):
    """Log-density of a diagonal Gaussian, summed over the last axis."""
    return (-0.5 * ((y - mean) / std) ** 2 - std.log() - 0.5 * _LOG_2PI).sum(-1)


def repeat_rows(x, k):
    """Each row of ``x`` ``k`` times in a row, as ``x.repeat_interleave(k, 0)``.

    Written with ``expand``: a traced ``repeat_interleave`` records the
    output's row count, so an exported graph would only take the batch size
    it was traced with.
    """
    return x.unsqueeze(1).expand(-1, k, *x.shape[1:]).reshape(-1, *x.shape[1:])


def tile_rows(x, like):
    """``x`` repeated once per row of ``like``, as ``x.repeat(len(like), 1)``.

    By broadcasting against ``like``'s rows (times zero: ``like`` is
    finite): a traced graph with an integer row count only takes the batch
    size it was traced with.
    """
    return (like[:, :1].unsqueeze(-1).to(x.dtype) * 0 + x).reshape(-1, *x.shape[1:])


def densest(points, bandwidth):
    """Per row, the point with the most others near it: ``points`` of shape
    (n, m, d) to (n, d), by a Gaussian kernel of width ``bandwidth`` on the
    Euclidean distance. A mode among a policy's draws, never their average,
    nor a draw that landed between two modes."""
    # In float64: two draws near one mode have densities within float32's
    # rounding, and an exported graph, rounding otherwise, would pick the other.
    wide = points.double()
    density = torch.exp(-0.5 * (torch.cdist(wide, wide) / bandwidth) ** 2).sum(-1)
    # Gathered, not indexed by an arange of the rows: an exported graph keeps
    # the batch size free.
    best = density.argmax(-1)[:, None, None].expand(-1, 1, points.shape[-1])
    return points.gather(1, best).squeeze(1)
