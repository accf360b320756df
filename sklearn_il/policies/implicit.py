"""Implicit behaviour cloning: an energy over (observation, action), minimised."""

from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._nn import Standardize, mlp
from ..base import ContinuousPolicy, as_numpy, fill_doc

# Counter-examples and candidates are drawn in the demonstrated actions'
# range widened by this fraction of it on each side (IBC's
# uniform_boundary_buffer).
_RANGE_MARGIN = 0.05

# IBC's reference Langevin sampler (ibc/agents/mcmc.py), on actions scaled to
# the range's half-width: step sizes from 0.1 down to 1e-5 on a polynomial
# schedule of power 2, unit noise, each move clipped to 0.1 of the
# half-width; and its gradient penalty's margin on the inf-norm of dE/da.
_LANGEVIN_STEP = (1e-1, 1e-5, 2.0)
_LANGEVIN_MOVE = 0.1
_GRADIENT_MARGIN = 1.0


class EnergyModel(nn.Module):
    """``E(s, a)``: an MLP on the standardised observation and action.

    In training (``target`` given) it returns the InfoNCE logits ``-E`` of
    the expert's action (column 0) and of ``n_counter_examples`` actions
    drawn uniformly in the bounds, and the gradient penalty on the
    counter-examples times ``gradient_penalty``; without a target,
    the standardised observation, for the policy to optimise actions
    against :meth:`energy`.
    """

    def __init__(self, n_features, n_outputs, hidden_layer_sizes, activation, n_counter_examples,
                 seed, X=None, target_scaler=None, low=None, high=None, gradient_penalty=0.0):
        super().__init__()
        self.obs_scaler = Standardize(n_features, X)
        self.target_scaler = target_scaler
        self.body = mlp(n_features + n_outputs, hidden_layer_sizes, 1, activation)
        self.n_counter_examples = n_counter_examples
        self.gradient_penalty = gradient_penalty
        self.register_buffer("low", torch.zeros(n_outputs) if low is None else low)
        self.register_buffer("high", torch.zeros(n_outputs) if high is None else high)
        # Seeds predict's random numbers: fixed at fit time, the same for every row.
        self.register_buffer("seed", torch.tensor([seed], dtype=torch.int64))

    def energy(self, obs, actions):
        """Energies (n, m) of ``actions`` (n, m, k) at ``obs`` (n, f), standardised.

        The first layer's observation term is computed once per row, not
        once per candidate.
        """
        first, rest = self.body[0], self.body[1:]
        n_features = obs.shape[1]
        obs_term = nn.functional.linear(obs, first.weight[:, :n_features], first.bias)
        hidden = obs_term.unsqueeze(1) + actions @ first.weight[:, n_features:].T
        return rest(hidden).squeeze(-1)

    def uniform(self, unit):
        """Map uniforms in [0, 1) to the action bounds."""
        return self.low + (self.high - self.low) * unit

    def forward(self, x, target=None):
        obs = self.obs_scaler(x)
        if target is None:
            return obs
        unit = torch.rand((len(x), self.n_counter_examples, target.shape[1]), device=x.device)
        counter = self.uniform(unit)
        # Not in validation, which runs without gradients.
        penalise = self.gradient_penalty > 0 and torch.is_grad_enabled()
        if penalise:
            counter.requires_grad_(True)
        energies = self.energy(obs, torch.cat([target.unsqueeze(1), counter], dim=1))
        penalty = energies.new_zeros(())
        if penalise:
            # IBC's gradient penalty: the inf-norm of dE/da beyond a margin,
            # squared, on the counter-examples; in units of the range's half-width.
            grad, = torch.autograd.grad(energies[:, 1:].sum(), counter, create_graph=True)
            grad = grad * (self.high - self.low) / 2
            penalty = self.gradient_penalty * (
                torch.relu(grad.abs().amax(-1) - _GRADIENT_MARGIN) ** 2).mean()
        return -energies, penalty

    def langevin(self, obs, actions, noise):
        """IBC's Langevin sampler from ``actions`` (n, m, k): one step per
        entry of ``noise`` (steps, n, m, k), standard normal draws."""
        # Gradients are wanted even inside predict's inference_mode, on copies
        # of its tensors (inference tensors cannot enter a graph).
        with torch.inference_mode(False), torch.enable_grad():
            obs, actions, noise = obs.clone(), actions.clone(), noise.clone()
            half_width = (self.high - self.low) / 2
            init, final, power = _LANGEVIN_STEP
            n_steps = len(noise)
            for i, draw in enumerate(noise):
                step = (init - final) * (1 - i / max(n_steps - 1, 1)) ** power + final
                actions = actions.detach().requires_grad_(True)
                grad, = torch.autograd.grad(self.energy(obs, actions).sum(), actions)
                # In units of the range's half-width, as the reference's actions are.
                move = (step * (0.5 * grad * half_width + draw)).clamp(-_LANGEVIN_MOVE, _LANGEVIN_MOVE)
                actions = torch.maximum(torch.minimum(actions - move * half_width, self.high),
                                        self.low)
            return actions.detach()


class InfoNCELoss(nn.Module):
    """Cross-entropy of the expert's action (column 0) among the counter-examples,
    plus the gradient penalty the module returns beside the logits."""

    def forward(self, output, target):
        logits, penalty = output
        expert = torch.zeros(len(logits), dtype=torch.long, device=logits.device)
        return nn.functional.cross_entropy(logits, expert, reduction="none") + penalty


@fill_doc
class ImplicitBC(ContinuousPolicy):
    """Implicit behaviour cloning: the action minimises a learned energy.

    An MLP scores each (observation, action) pair with an energy
    ``E(s, a)``, trained with the InfoNCE loss to give the expert's action
    a lower energy than ``n_counter_examples`` actions drawn uniformly in
    the range of the demonstrated actions, widened by 5% on each side
    (Florence et al., 2021), optionally with IBC's gradient penalty, which
    bounds the energy's slope in the action (``gradient_penalty``). The
    policy is ``argmin_a E(s, a)``: an energy
    can have several separate minima at one state, and can jump from one to
    another between nearby states, so neither modes nor a discontinuous
    expert are averaged.

    ``predict`` minimises the energy by IBC's derivative-free optimiser:
    ``n_candidates`` actions uniform in the range; then ``n_dfo_iter``
    times, resample them in proportion to ``exp(-E)``, add Gaussian noise
    (``dfo_noise`` of the range's half-width, halved each iteration) and
    keep them in the range; return the candidate of lowest energy. Its
    random numbers are fixed at fit time by ``random_state`` and the same
    for every row, so ``predict`` is deterministic and each row's action
    does not depend on the others in the batch. With
    ``inference="langevin"`` the candidates instead descend the energy's
    gradient with noise for ``n_langevin_iter`` steps (IBC's Langevin
    sampler). ``sample`` draws from the
    Boltzmann distribution ``exp(-E)`` by importance resampling of uniform
    candidates.

    Observations and actions are standardised inside the policy.

    The InfoNCE loss is noisy from epoch to epoch (fresh counter-examples
    each time); hence the longer default patience, ``n_iter_no_change=50``,
    and ``max_iter=500``. On the particle task (seed 0, 16
    counter-examples, 256 candidates, no gradient penalty) patience 10
    stopped at 162 epochs with success 0.40, patience 50 at 444 epochs
    with 0.70 (seed 1: 0.28 and 0.24).

    Parameters
    ----------
    n_counter_examples : int, default=16
        Uniform counter-examples per training row. IBC's reference code
        uses 256 (its PyTorch port too); 16 did better than 64 at a third
        of the cost (see Notes).
    gradient_penalty : float, default=0.0
        Weight of IBC's gradient penalty, ``max(0, |dE/da|_inf - 1)**2``
        averaged over the counter-examples, with actions in units of the
        range's half-width (IBC uses weight 1, margin 1, with its Langevin
        variant); 0 turns it off. It costs a second backward pass. Off by
        default: no gain that five seeds can tell, and a steadier result
        without it (see Notes).
    n_candidates : int, default=256
        Candidates per row in the derivative-free optimiser. IBC's
        reference uses 16,384 (2**14); acting costs ``n_dfo_iter + 1``
        energy evaluations of every candidate; 256 cost a quarter of 1,024
        for a small loss on the particle task (see Notes).
    n_dfo_iter : int, default=3
        Resampling iterations of the optimiser (IBC: 3).
    dfo_noise : float, default=0.33
        Standard deviation of the first iteration's perturbation, as a
        fraction of the action range's half-width (IBC: 0.33 on actions
        scaled to [-1, 1]); halved at each iteration (IBC's shrink 0.5).
    inference : {"dfo", "langevin"}, default="dfo"
        How ``predict`` minimises the energy. ``"langevin"``: from
        ``n_candidates`` uniform actions, ``n_langevin_iter`` steps of
        ``a <- a - s_i (dE/da / 2 + N(0, 1))`` in units of the range's
        half-width, each move clipped to 0.1, the step ``s_i`` falling
        from 0.1 to 1e-5 on a polynomial schedule of power 2 (IBC's
        reference sampler), then the candidate of lowest energy. Training
        is the same for both (IBC's Langevin variant also draws its
        counter-examples by Langevin sampling, at many times the cost).
        DFO is the default: as successful, and 26 times faster to act
        (see Notes).
    n_langevin_iter : int, default=50
        Steps of the Langevin sampler; used with ``inference="langevin"``.
    %(training_parameters)s

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net; its module is the energy model.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of action dimensions.
    n_iter_ : int
        Number of epochs run.
    loss_curve_ : list of float
        InfoNCE loss at each epoch.
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    See Also
    --------
    MixtureDensityBC : An explicit mixture over actions.
    DiffusionBC : A denoising diffusion policy.

    Notes
    -----
    The defaults, measured on the particle task (``make_particle``, 50
    demonstrations, success of ``predict`` over 50 episodes):

    - ``n_counter_examples`` (seed 0, 256 candidates, patience 50, no
      gradient penalty): 0.70 with 16 in 96 s of fitting, 0.54 with 64 in
      283 s.
    - ``n_candidates`` (seed 0, 200 epochs, patience 10, no gradient
      penalty): 0.48 with 64 counter-examples and 1,024 candidates, 0.40
      with 16 and 256, at a quarter of the cost; 16 and 256 gave 1.00 on
      the offset obstacle and the gates (3 seeds each).
    - ``gradient_penalty`` (``benchmarks/bench_multimodal.py``, DFO
      inference, 5 seeds): weight 1 gave 0.43 ± 0.30 success, and 0.60 ±
      0.37 in an earlier run of the same protocol (seeds 0.94, 0.88, 0.12,
      0.86 and 0.18: some fits better, some failed), against 0.46 ± 0.08
      without it, at 2.2 times the time per epoch.
    - ``inference`` (same benchmark, energies trained with
      ``gradient_penalty=1``): 0.43 ± 0.27 success with Langevin, 0.43 ±
      0.30 with DFO, whose one-row ``predict`` was 26 times faster (1.6 ms
      against 41 ms).

    Florence, Lynch, Zeng, Ramirez, Wahid, Downs, Wong, Lee, Mordatch and
    Tompson, "Implicit behavioral cloning", CoRL 2021.

    Examples
    --------
    >>> from sklearn_il import ImplicitBC
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, groups = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = ImplicitBC(hidden_layer_sizes=(32,), n_candidates=64,
    ...                     max_iter=10, random_state=0).fit(X, y)
    >>> policy.predict(X[:2]).shape, policy.sample(X[:2], n_samples=3).shape
    ((2,), (2, 3, 1))
    """

    _parameter_constraints = {
        **ContinuousPolicy._parameter_constraints,
        "n_counter_examples": [Interval(Integral, 1, None, closed="left")],
        "n_candidates": [Interval(Integral, 1, None, closed="left")],
        "n_dfo_iter": [Interval(Integral, 0, None, closed="left")],
        "dfo_noise": [Interval(Real, 0, None, closed="left")],
        "gradient_penalty": [Interval(Real, 0, None, closed="left")],
        "inference": [StrOptions({"dfo", "langevin"})],
        "n_langevin_iter": [Interval(Integral, 1, None, closed="left")],
    }

    # Read when acting, not by the network: a warm start may change them.
    _training_only = ContinuousPolicy._training_only | {
        "n_candidates", "n_dfo_iter", "dfo_noise", "inference", "n_langevin_iter"}

    def __init__(
        self,
        *,
        n_counter_examples=16,
        gradient_penalty=0.0,
        n_candidates=256,
        n_dfo_iter=3,
        dfo_noise=0.33,
        inference="dfo",
        n_langevin_iter=50,
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
        self.n_counter_examples = n_counter_examples
        self.gradient_penalty = gradient_penalty
        self.n_candidates = n_candidates
        self.n_dfo_iter = n_dfo_iter
        self.dfo_noise = dfo_noise
        self.inference = inference
        self.n_langevin_iter = n_langevin_iter

    def _build_module(self, X=None, y=None):
        scaler = self._target_scaler(y)
        low = high = None
        # Drawn from fit's seeded generator: fixed by random_state. (Without
        # data, for io.load: a placeholder that the file's tensor replaces.)
        seed = int(torch.randint(2**62, ())) if y is not None else 0
        if y is not None:
            low, high = self._demonstrated_range(scaler, y)
            margin = _RANGE_MARGIN * (high - low)
            low, high = low - margin, high + margin
        return EnergyModel(self.n_features_in_, self.n_outputs_, self._hidden_sizes(),
                           self.activation, self.n_counter_examples, seed, X=X,
                           target_scaler=scaler, low=low, high=high,
                           gradient_penalty=self.gradient_penalty)

    def _random_numbers(self, n_rows, generator, device):
        """The optimiser's random numbers as one (n_rows, n_candidates, width)
        tensor: the first candidates' uniforms, then per iteration the
        resampling uniforms and the standard normal perturbations."""
        shape = (n_rows, self.n_candidates)
        k = self.n_outputs_
        parts = [torch.rand(shape + (k,), generator=generator, device=device)]
        if self.inference == "langevin":
            parts.append(torch.randn(shape + (k * self.n_langevin_iter,), generator=generator,
                                     device=device))
            return torch.cat(parts, dim=-1)
        for _ in range(self.n_dfo_iter):
            parts.append(torch.rand(shape + (1,), generator=generator, device=device))
            parts.append(torch.randn(shape + (k,), generator=generator, device=device))
        return torch.cat(parts, dim=-1)

    def _make_criterion(self):
        return InfoNCELoss()

    def _search(self, obs, numbers):
        """IBC's derivative-free optimiser: final candidates (n, m, k) and energies (n, m).

        ``numbers`` is (n or 1, m, width) as :meth:`_random_numbers` lays them out.
        """
        module, k = self.net_.module_, self.n_outputs_
        n, m = len(obs), numbers.shape[1]
        numbers = numbers.expand(n, -1, -1)
        actions = module.uniform(numbers[..., :k])
        if self.inference == "langevin":
            noise = numbers[..., k:].reshape(n, m, self.n_langevin_iter, k).permute(2, 0, 1, 3)
            actions = module.langevin(obs, actions, noise)
            return actions, module.energy(obs, actions)
        scale = self.dfo_noise * (module.high - module.low) / 2
        rows = torch.arange(n, device=obs.device).unsqueeze(1)
        for i in range(self.n_dfo_iter):
            picks = numbers[..., k + i * (k + 1)]
            noise = numbers[..., k + i * (k + 1) + 1: k + (i + 1) * (k + 1)]
            probabilities = torch.softmax(-module.energy(obs, actions), dim=1)
            cumulative = probabilities.cumsum(1)
            chosen = torch.searchsorted(cumulative, picks.contiguous()).clamp(max=m - 1)
            actions = actions[rows, chosen] + noise * scale
            actions = torch.maximum(torch.minimum(actions, module.high), module.low)
            scale = scale / 2
        return actions, module.energy(obs, actions)

    def _export_outputs(self, x):
        raise ValueError(
            "ImplicitBC cannot be exported as one graph: predict searches each row's action "
            "on its own (derivative-free optimisation, resampling its candidates by their "
            "energies), a loop over the rows that a fixed graph of a batch cannot hold. "
            "Deploy it with sklearn_il.io.dump, or export a policy with a closed-form "
            "predict (MixtureDensityBC, DiffusionBC, ...)."
        )

    @staticmethod
    def _row_by_row(obs, act):
        """``act`` on each row of ``obs`` alone: every row's search then runs
        the same float operations whatever the batch (a batched one rounds
        by batch size, and a tie between two candidates can flip)."""
        return torch.cat([act(obs[i : i + 1]) for i in range(len(obs))])

    def predict(self, X):
        """Predict the action of lowest energy found at each observation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Actions; 1-D when the policy has one action dimension.
        """


        def lowest(obs):
            # Drawn on the CPU whatever the device: the same numbers everywhere.
            generator = torch.Generator().manual_seed(int(self.net_.module_.seed[0]))
            numbers = self._random_numbers(1, generator, torch.device("cpu")).to(obs.device)

            def best(row):
                actions, energy = self._search(row, numbers)
                return actions[0, energy[0].argmin()].unsqueeze(0)

            return self._to_actions(self._row_by_row(obs, best))

        return as_numpy(self._forward(X, lowest))

    def sample(self, X, n_samples=1, random_state=None):
        """Draw actions from the Boltzmann distribution ``exp(-E)``.

        By importance resampling: ``n_candidates`` actions uniform in the
        range, drawn in proportion to ``exp(-E)``. (The optimiser's final
        candidates would not do: each of its iterations resamples them in
        proportion to ``exp(-E)`` again, which sharpens the distribution
        towards its highest mode.)

        Parameters
        ----------
        X : array-like of shape (n_rows, n_features)
            Observations.
        n_samples : int, default=1
            Draws per observation.
        random_state : int, RandomState instance or None, default=None
            Seeds the candidates and the draws.

        Returns
        -------
        actions : ndarray of shape (n_rows, n_samples, n_outputs)
        """
        generator = self._generator(random_state, n_samples)

        def draw(row):
            module = self.net_.module_
            unit = torch.rand((1, self.n_candidates, self.n_outputs_), generator=generator,
                              device=row.device)
            actions = module.uniform(unit)
            weights = torch.softmax(-module.energy(row, actions), dim=1)
            chosen = torch.multinomial(weights, int(n_samples), replacement=True, generator=generator)
            return actions[0, chosen[0]].unsqueeze(0)

        return as_numpy(self._forward(X, lambda obs: self._to_actions(self._row_by_row(obs, draw))))
