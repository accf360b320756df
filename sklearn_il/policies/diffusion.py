"""Diffusion policy: DDPM training, DDIM sampling, an MLP denoiser."""

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from skorch.callbacks import Callback
from torch import nn

from .._nn import (
    INPLACE_ACTIVATIONS,
    InferenceMLP,
    PairedMSE,
    Standardize,
    densest,
    mlp,
    repeat_rows,
    tile_rows,
)
from .._rollout import ChunkActor, PredictActor
from .._validation import episode_ends
from ..base import ContinuousPolicy, as_numpy, fill_doc

# Width of the sinusoidal timestep embedding (Diffusion Policy: 128-256).
_TIME_EMBEDDING = 128
# predict denoises these many fixed draws per row and keeps the one with the
# most others within about _BANDWIDTH (standardised units, root mean square
# over a chunk's coordinates) of it, as LatentBC.predict does. Measured
# (bench_multimodal's defaults, 10 seeds, 50 episodes each; one draw / 4 / 8
# / 16): obstacle 0.97 ± 0.10 / 1.00 / 1.00 / 1.00, gates 0.98 ± 0.05 / 1.00
# / 1.00 / 1.00; test_expressive's obstacle fit 0.3 / 0.3 / 1.0 / 1.0 (its
# one draw flowed between the modes). One-row predict: 1.3x one draw at 8,
# 1.5x at 16.
_N_CANDIDATES = 8
_BANDWIDTH = 0.3


def _as_candidates(noise):
    """predict's draws from a policy saved when it took one (a 1-D ``noise``):
    that draw first, the others fixed."""
    if noise.dim() == 2:
        return noise
    more = torch.randn(_N_CANDIDATES - 1, len(noise), generator=torch.Generator().manual_seed(0))
    return torch.cat([noise.unsqueeze(0), more.to(noise)])


def cosine_alphas_cumprod(n_steps, s=0.008, max_beta=0.999):
    """Cumulative signal fractions of the cosine schedule (``squaredcos_cap_v2``)."""
    t = torch.arange(n_steps + 1, dtype=torch.float64)
    f = torch.cos((t / n_steps + s) / (1 + s) * math.pi / 2) ** 2
    # The betas rounded to float32, as the schedule has been since it was written.
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta).float()
    return torch.cumprod(1 - betas.double(), 0)


def sinusoidal_embedding(n_steps, dim):
    """One row of sine and cosine features per diffusion timestep."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half) / (half - 1))
    angles = torch.arange(n_steps).unsqueeze(1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    """Predicts the noise in a noised action chunk, given observation and timestep.

    An MLP on ``(observation, noised actions, timestep embedding)``, its
    first layer written as the sum of the three inputs' terms: the sampler
    (:class:`DDIMSampler`) computes the observation's once per call, not
    once per denoising step.

    In training it noises the target at random timesteps and returns the
    predicted and the true noise; acting goes through :class:`DDIMSampler`.
    """

    def __init__(self, n_features, n_actions, hidden_layer_sizes, activation, n_steps,
                 X=None, target_scaler=None, low=None, high=None, noise=None):
        super().__init__()
        self.obs_scaler = Standardize(n_features, X)
        self.target_scaler = target_scaler
        body = mlp(n_features + n_actions + _TIME_EMBEDDING, hidden_layer_sizes, n_actions,
                   activation)
        self.first, self.rest = body[0], body[1:]
        self.widths = [n_features, n_actions, _TIME_EMBEDDING]
        # Derived from the parameters: not saved with the weights.
        self.register_buffer("alphas_cumprod", cosine_alphas_cumprod(n_steps).float(), persistent=False)
        self.register_buffer("time_embedding", sinusoidal_embedding(n_steps, _TIME_EMBEDDING),
                             persistent=False)
        # Range of the standardised training actions, and predict's fixed noise draws.
        self.register_buffer("low", torch.zeros(n_actions) if low is None else low)
        self.register_buffer("high", torch.zeros(n_actions) if high is None else high)
        self.register_buffer("noise", torch.zeros(_N_CANDIDATES, n_actions) if noise is None
                             else noise)

    def __setstate__(self, state):
        super().__setstate__(state)
        self._buffers["noise"] = _as_candidates(self._buffers["noise"])

    def condition(self, obs, t):
        """First-layer terms of the observations and of the timestep(s) ``t``."""
        w_obs, _, w_time = self.first.weight.split(self.widths, dim=1)
        return torch.addmm(self.first.bias, obs, w_obs.T), self.time_embedding[t] @ w_time.T

    def denoise(self, obs_term, time_term, actions):
        """Predicted noise in ``actions``, given the terms from :meth:`condition`."""
        w_actions = self.first.weight.split(self.widths, dim=1)[1]
        return self.rest(torch.addmm(obs_term + time_term, actions, w_actions.T))

    def forward(self, x, target):
        t = torch.randint(len(self.alphas_cumprod), (len(x),), device=x.device)
        noise = torch.randn_like(target)
        signal = self.alphas_cumprod[t].unsqueeze(1)
        noised = signal.sqrt() * target + (1 - signal).sqrt() * noise
        return self.denoise(*self.condition(self.obs_scaler(x), t), noised), noise

    def acting_module(self):
        """The sampler acting uses: see :class:`DDIMSampler`."""
        return DDIMSampler(self)


class DDIMSampler:
    """A fitted denoiser's inference form: deterministic DDIM sampling.

    Called on raw observations it returns their first-layer term (the
    observation scaling folded into the layer); :meth:`denoise` turns noise
    into standardised action chunks from that term. The timestep terms of
    every step are computed once, the layers are plain tensors
    (:class:`~sklearn_il._nn.InferenceMLP`), and the noise-to-clean-action
    update is folded into the last layer: a denoising step costs a few ops
    beyond its matrix products.
    """

    def __init__(self, denoiser):
        with torch.no_grad():
            w_obs, w_actions, w_time = denoiser.first.weight.detach().split(denoiser.widths, dim=1)
            scaler = denoiser.obs_scaler
            w_obs = w_obs.double() / scaler.scale.double()
            bias = denoiser.first.bias.double() - w_obs @ scaler.loc.double()
            # Transposes of (out, in) weights, as InferenceMLP keeps them.
            self.obs_weight = w_obs.float().contiguous().T
            self.obs_bias = bias.float()
            self.actions_weight = w_actions.contiguous().T
            self.time_terms = denoiser.time_embedding @ w_time.T
            self.activation = INPLACE_ACTIVATIONS[type(denoiser.rest[0])]
            self.hidden = InferenceMLP(denoiser.rest[1:-1])
            last = denoiser.rest[-1]
            self.out_weight, self.out_bias = last.weight.detach().T, last.bias.detach()
        self.alphas_cumprod = denoiser.alphas_cumprod.tolist()
        self._schedules = {}
        self.low, self.high = denoiser.low, denoiser.high

    def __call__(self, x):
        return torch.addmm(self.obs_bias, x, self.obs_weight)

    def denoise(self, obs_term, x, steps):
        """DDIM from noise ``x`` through timesteps ``steps`` (then -1: clean).

        Each step predicts the noise, the clean action from it (clipped to
        the training range), and moves to the next step's noise level with
        the noise recomputed from the clipped clean action.
        """
        time_rows, coefficients = self._schedule(tuple(steps))
        # Observation plus timestep terms of every step, in one op.
        terms = obs_term.unsqueeze(0) + time_rows.unsqueeze(1)
        for term, (shift, beta, alpha, scale, keep) in zip(terms, coefficients):
            h = torch.addmm(term, x, self.actions_weight)
            h = self.hidden(h if self.activation is None else self.activation(h))
            # clean = (x - sqrt(1 - a) eps) / sqrt(a) with eps = h W + b, in one addmm.
            clean = torch.addmm(torch.add(x, self.out_bias, alpha=-shift), h, self.out_weight,
                                beta=beta, alpha=alpha)
            x = clean.clamp_(self.low, self.high).mul_(scale).add_(x, alpha=keep)
        return x

    def _schedule(self, steps):
        """The timestep terms and the update's coefficients of each step of ``steps``."""
        if steps not in self._schedules:
            signal = self.alphas_cumprod + [1.0]  # index -1: the clean action
            coefficients = []
            for t, t_next in zip(steps[:-1], steps[1:]):
                a, a_next = signal[t], signal[t_next]
                # x_next = sqrt(a_next) clean + sqrt(1 - a_next) eps', with
                # eps' = (x - sqrt(a) clean) / sqrt(1 - a) recomputed from the
                # clipped clean action: scale * clean + keep * x.
                keep = math.sqrt((1 - a_next) / (1 - a))
                scale = math.sqrt(a_next) - keep * math.sqrt(a)
                shift = math.sqrt(1 - a)
                coefficients.append((shift, 1 / math.sqrt(a), -shift / math.sqrt(a), scale, keep))
            self._schedules[steps] = (self.time_terms[list(steps[:-1])], coefficients)
        return self._schedules[steps]


class WeightEMA(Callback):
    """Exponential moving average of the weights, swapped in when training ends.

    The decay warms up as in Diffusion Policy's ``EMAModel``:
    ``1 - (1 + step) ** -0.75``, capped at 0.9999, so that early, random
    weights fade quickly.
    """

    def on_train_begin(self, net, **kwargs):
        self.params_ = list(net.module_.parameters())
        self.shadow_ = [p.detach().clone() for p in self.params_]
        self.step_ = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if not training:
            return
        self.step_ += 1
        weight = 1 - min(1 - (1 + self.step_) ** -0.75, 0.9999)
        with torch.no_grad():
            for shadow, param in zip(self.shadow_, self.params_):
                shadow.lerp_(param, weight)

    def on_train_end(self, net, **kwargs):
        with torch.no_grad():
            for shadow, param in zip(self.shadow_, self.params_):
                param.copy_(shadow)
        del self.params_, self.shadow_


def chunk_rows(groups, n_rows, horizon):
    """For each row, the rows of its next ``horizon`` steps, repeating the episode's last."""
    ends = np.full(n_rows, n_rows - 1) if groups is None else episode_ends(groups, per_row=True)
    return np.minimum(np.arange(n_rows)[:, None] + np.arange(horizon), ends[:, None])


@fill_doc
class DiffusionBC(ContinuousPolicy):
    """Diffusion policy: actions denoised from noise, conditioned on the observation.

    A denoising diffusion model of the expert's action given the observation
    (Chi et al., 2023). Training (DDPM): an action is noised to a random
    step of ``n_diffusion_steps`` (cosine schedule) and an MLP, given the
    observation, the noised action and a sinusoidal embedding of the step,
    predicts the noise. Acting (DDIM): ``n_inference_steps`` deterministic
    denoising steps turn noise into an action, the predicted clean action
    clipped at each step to the range seen in training. An exponential
    moving average of the weights is what the fitted policy uses.

    Any distribution of actions can be represented, so the modes of a
    multimodal expert are kept apart. ``predict`` denoises eight noise
    draws fixed at fit time (seeded by ``random_state``) and returns the one
    with the most of the others near it: deterministic, and one mode per
    state, never their average nor a draw that flowed between two modes.
    ``sample`` denoises fresh draws.

    With ``horizon > 1`` the policy predicts a chunk of the next ``horizon``
    actions (action chunking); ``predict`` returns the first action of each
    chunk, :meth:`predict_chunk` the whole chunk, and the rollout tools of
    :mod:`sklearn_il.evaluation` execute ``n_action_steps`` actions of each
    chunk before asking again, or, with ``temporal_ensemble_coeff`` set, ask
    at every step and execute a weighted mean of what the chunks still
    running predicted for that step (ACT's temporal ensembling).

    Parameters
    ----------
    n_diffusion_steps : int, default=100
        Steps of the training noise schedule.
    n_inference_steps : int, default=10
        DDIM denoising steps when acting; at most ``n_diffusion_steps``.
    horizon : int, default=1
        Actions predicted per call. Above 1, ``fit`` needs ``groups``: a
        chunk stops at its episode's end (the last action repeats). A chunk
        takes more epochs to learn than one action: give it a larger
        ``max_iter`` and ``n_iter_no_change`` (see Notes).
    n_action_steps : int or None, default=None
        Actions of each chunk the rollout tools execute before the next
        prediction; ``None`` executes the whole chunk. At most ``horizon``.
    temporal_ensemble_coeff : float or None, default=None
        With a value ``m``, the rollout tools predict a chunk at every step
        and execute, for the current step, the mean of the actions the last
        ``horizon`` chunks predicted for it, weighted ``exp(-m * i)`` for the
        ``i``-th oldest (Zhao et al., 2023, who use ``m=0.01``; larger ``m``
        favours older predictions). ``None`` executes ``n_action_steps``
        actions per chunk. ``n_action_steps`` must then be None or 1. Off
        by default: it failed more often on the gates (see Notes).
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; its module is the denoiser.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of action dimensions.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        Training loss (noise prediction error) at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    MixtureDensityBC : A mixture of Gaussians; exact likelihood.

    Notes
    -----
    ``horizon=8`` (obstacle and gates, 50 demonstrations, 5 seeds,
    re-planning every step): the defaults ``max_iter=500,
    n_iter_no_change=50`` stopped after 260 to 500 epochs, with success
    0.80 and 0.40: most chunks denoised at the gates' start eased off full
    action before the expert's six steps of it (seed 0: 27 of 400 draws
    held it that long). ``max_iter=2000, n_iter_no_change=300`` gave 1.00
    and 0.90 (159 of 400), in four times the fitting time.

    ``temporal_ensemble_coeff``, measured in ``benchmarks/bench_chunking.py``
    (``horizon=8``, 5 seeds): on the obstacle every mode succeeded (1.00)
    and ensembling moved least from step to step (mean ``|a_t - a_{t-1}|``
    0.100, against 0.103 to 0.110); on the gates it succeeded in 0.74
    against 1.00 for ``n_action_steps=4``, as chunks predicted after the
    first step eased off early and were averaged in.

    The loss is an average over random noise levels, so it is noisy from
    epoch to epoch; hence the longer default patience,
    ``n_iter_no_change=50``, and ``max_iter=500``: with 200 epochs one
    seed in ten of ``benchmarks/bench_multimodal.py`` still failed. With ``early_stopping=True`` the weights
    returned are the moving average at the epoch training stopped.

    Examples
    --------
    >>> from sklearn_il import DiffusionBC
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, groups = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = DiffusionBC(hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    >>> policy.fit(X, y).predict(X[:2]).shape
    (2,)
    >>> chunked = DiffusionBC(horizon=4, n_action_steps=2,
    ...                       hidden_layer_sizes=(32,), max_iter=5,
    ...                       random_state=0).fit(X, y, groups=groups)
    >>> chunked.predict_chunk(X[:2]).shape
    (2, 4, 1)
    """

    # The observation and timestep enter through the first hidden layer.
    _min_hidden_layers = 1

    # Read when acting, not by the network: a warm start may change them.
    _training_only = ContinuousPolicy._training_only | {
        "n_inference_steps", "n_action_steps", "temporal_ensemble_coeff"}

    _parameter_constraints = {
        **ContinuousPolicy._parameter_constraints,
        "n_diffusion_steps": [Interval(Integral, 2, None, closed="left")],
        "n_inference_steps": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "n_action_steps": [Interval(Integral, 1, None, closed="left"), None],
        "temporal_ensemble_coeff": [Interval(Real, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        n_diffusion_steps=100,
        n_inference_steps=10,
        horizon=1,
        n_action_steps=None,
        temporal_ensemble_coeff=None,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        alpha=1e-4,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter=500,
        tol=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=50,
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
        self.n_diffusion_steps = n_diffusion_steps
        self.n_inference_steps = n_inference_steps
        self.horizon = horizon
        self.n_action_steps = n_action_steps
        self.temporal_ensemble_coeff = temporal_ensemble_coeff

    def _groups_required_by(self):
        if self.horizon > 1:
            return f"horizon={self.horizon} (action chunks stop at episode ends)"
        return super()._groups_required_by()

    def _check_params(self, X, y):
        super()._check_params(X, y)
        if self.n_inference_steps > self.n_diffusion_steps:
            raise ValueError(
                f"n_inference_steps={self.n_inference_steps} exceeds "
                f"n_diffusion_steps={self.n_diffusion_steps}."
            )
        self._check_execution()

    def _check_execution(self):
        """Check the parameters read when acting (they may change after fit)."""
        if self.n_action_steps is not None and self.n_action_steps > self.horizon:
            raise ValueError(
                f"n_action_steps={self.n_action_steps} exceeds horizon={self.horizon}: "
                "a chunk has only horizon actions to execute."
            )
        if self.temporal_ensemble_coeff is not None and self.n_action_steps not in (None, 1):
            raise ValueError(
                f"temporal_ensemble_coeff={self.temporal_ensemble_coeff} predicts a chunk at "
                f"every step; n_action_steps={self.n_action_steps} asks to execute several "
                "actions of each. Set one of them to None."
            )

    def _encode_target(self, y, reset, groups=None):
        y = super()._encode_target(y, reset)
        # Each row's target: its own action and those of the next steps, flattened.
        return y[torch.from_numpy(chunk_rows(groups, len(y), self.horizon))].flatten(1)

    def _build_module(self, X=None, y=None):
        n_actions = self.horizon * self.n_outputs_
        scaler = self._target_scaler(None if y is None else y.view(-1, self.n_outputs_))
        low = high = noise = None
        if y is not None:
            chunks = y.view(len(y), self.horizon, -1)
            low, high = (b.flatten() for b in self._demonstrated_range(scaler, chunks))
            noise = torch.randn(_N_CANDIDATES, n_actions)  # seeded by fit, from random_state
        return Denoiser(self.n_features_in_, n_actions, self._hidden_sizes(), self.activation,
                        self.n_diffusion_steps, X=X, target_scaler=scaler,
                        low=low, high=high, noise=noise)

    def _upgrade_tensors(self, tensors):
        noise = tensors.get("noise")
        if noise is not None and noise.shape == (self.horizon * self.n_outputs_,):
            return {**tensors, "noise": _as_candidates(noise)}
        return tensors

    def _training_target(self, X, target):
        scaler = self.net_.module_.target_scaler
        return scaler(target.view(len(target), self.horizon, -1)).float().flatten(1)

    def _make_criterion(self):
        # Epsilon prediction: the module returns (predicted noise, true noise).
        return PairedMSE()

    def _callbacks(self):
        return [("ema", WeightEMA())]

    def _denoise(self, obs_term, x):
        """DDIM (deterministic) from noise ``x`` to standardised action chunks."""
        # "Trailing" timesteps: the first step starts at pure noise (t = T - 1).
        n_steps = self.n_diffusion_steps
        steps = (torch.linspace(n_steps, 0, self.n_inference_steps + 1).round().long() - 1).tolist()
        return self._inference_form().denoise(obs_term, x, steps)

    def _from_fixed_noise(self, obs_term):
        """Standardised action chunks denoised from the noise draws fixed at
        fit time: per row, the chunk with the most others near it."""
        noise = self.net_.module_.noise
        n_draws = len(noise)
        chunks = self._denoise(repeat_rows(obs_term, n_draws), tile_rows(noise, obs_term))
        # The width grows with the chunk's length: _BANDWIDTH per coordinate.
        width = chunks.shape[-1]
        return densest(chunks.view(-1, n_draws, width), _BANDWIDTH * math.sqrt(width))

    def predict(self, X):
        """Denoise one action per observation: of the chunks denoised from the
        policy's fixed noise draws, the one with the most others near it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Actions (the first of each chunk); 1-D when the policy has one
            action dimension.
        """

        return as_numpy(self._forward(X, self._decode_predict))

    def _decode_predict(self, obs_term):
        return self._to_actions(self._from_fixed_noise(obs_term)[:, : self.n_outputs_])

    def rollout_actor(self, n_envs):
        """How the rollout engine acts with this policy.

        Parameters
        ----------
        n_envs : int
            Envs stepped together.

        Returns
        -------
        actor : object
            With ``temporal_ensemble_coeff``, predicts a chunk per env and
            step and executes the running chunks' weighted mean for the step;
            else, with ``horizon > 1``, each env executes ``n_action_steps``
            actions of its chunk (all ``horizon`` when None) before its next
            chunk is predicted; else acts by ``predict``.
        """
        self._check_execution()
        if self.temporal_ensemble_coeff is not None:
            return ChunkActor(self.predict_chunk, n_envs,
                              ensemble_coeff=self.temporal_ensemble_coeff)
        if self.horizon > 1:
            return ChunkActor(self.predict_chunk, n_envs, n_steps=self.n_action_steps)
        return PredictActor(self.predict)

    def predict_chunk(self, X):
        """Denoise the next ``horizon`` actions per observation, chosen as
        :meth:`predict` chooses.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        chunks : ndarray of shape (n_samples, horizon, n_outputs)
        """

        def chunk(obs_term):
            z = self._from_fixed_noise(obs_term)
            return self._to_actions(z.view(len(obs_term), self.horizon, self.n_outputs_))

        return as_numpy(self._forward(X, chunk))

    def sample(self, X, n_samples=1, random_state=None):
        """Denoise fresh noise draws into actions.

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Observations.
        n_samples : int, default=1
            Draws per observation.
        random_state : int, RandomState instance or None, default=None
            Seeds the noise.

        Returns
        -------
        actions : ndarray of shape (n_rows, n_samples, n_outputs)
            First action of each sampled chunk.
        """
        generator = self._generator(random_state, n_samples)

        def draw(obs_term):
            n, m = len(obs_term), int(n_samples)
            noise = torch.randn((n * m, self.net_.module_.noise.shape[1]), generator=generator,
                                device=obs_term.device)
            z = self._denoise(obs_term.repeat_interleave(m, 0), noise)
            return self._to_actions(z[:, : self.n_outputs_].reshape(n, m, -1))

        return as_numpy(self._forward(X, draw))
