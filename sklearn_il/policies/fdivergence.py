"""f-divergence imitation (f-VIM): a Gaussian policy trained against a discriminator.

Behaviour cloning by maximum likelihood minimises the forward KL divergence
from the expert's action distribution to the policy's: it covers every mode,
and a unimodal policy averages them. Other f-divergences weigh the two
distributions differently; the reverse KL is mode seeking, so a unimodal
policy trained on it commits to one mode. f-GAN's variational bound,

    D_f(P || Q) >= max_V  E_P[g_f(V(s, a))] - E_Q[f*(g_f(V(s, a)))],

turns any of them into a game: a discriminator ``V(s, a)`` maximises the
bound between the expert's (s, a) (P) and the policy's reparameterised
draws (Q), and the policy minimises it.
"""

import math
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import validate_data
from torch import nn

from .._nn import LipschitzLinear, mlp
from ..base import fill_doc, seeds
from .bc import BCRegressor, _gaussian

_LOG2 = math.log(2.0)

# divergence: (g_f, the discriminator's output activation; f*, the conjugate),
# from Nowozin, Cseke and Tomioka, "f-GAN", 2016, table 2 (P: expert, Q: policy).
DIVERGENCES = {
    "forward_kl": (lambda v: v, lambda t: torch.exp(t - 1)),
    "reverse_kl": (lambda v: -torch.exp(-v), lambda t: -1 - torch.log(-t)),
    "js": (lambda v: _LOG2 - nn.functional.softplus(-v), lambda t: -torch.log(2 - torch.exp(t))),
    "tv": (lambda v: 0.5 * torch.tanh(v), lambda t: t),
}


@fill_doc
class FDivergenceBC(BCRegressor):
    """Imitation by minimising an f-divergence to the expert's actions (f-VIM).

    A Gaussian policy (the ``BCRegressor(loss="gaussian")`` network) is first
    fitted by maximum likelihood, the forward KL, for ``max_iter`` epochs:
    a warm start. Then ``n_adversarial_steps`` steps of the f-GAN game move
    it to the chosen divergence: a discriminator ``V(s, a)`` with spectrally
    normalised layers (Lipschitz-bounded, for stable training) estimates the
    divergence between the expert's actions and the policy's reparameterised
    draws, and the policy minimises the estimate.

    With ``divergence="reverse_kl"`` (mode seeking) a unimodal policy commits
    to one of the expert's modes in each state instead of averaging them.

    Parameters
    ----------
    divergence : {"reverse_kl", "js", "forward_kl", "tv"}, default="reverse_kl"
        The f-divergence minimised in the adversarial phase. ``"forward_kl"``
        is the warm start's own objective, here estimated through the game.
        The critic's output under ``"tv"`` saturates (``tanh``), and a
        saturated critic gives the policy no gradient: on the obstacle task
        (``benchmarks/bench_fdivergence.py``) that policy drifted outside the
        expert's action range.
    n_adversarial_steps : int, default=2000
        Policy updates after the warm start, one minibatch each. 0 leaves
        the maximum-likelihood fit as it is.
    n_critic_steps : int, default=3
        Discriminator updates per policy update.
    adversarial_learning_rate : float, default=1e-3
        Adam's initial learning rate for both players in the adversarial
        phase; it falls linearly to 0 over the ``n_adversarial_steps``, so
        that the policy settles instead of stopping wherever the game's
        circling left it.
    critic_lipschitz : float, default=27.0
        Bound on the discriminator's Lipschitz constant (spectral
        normalisation of its layers, in standardised units). Too small a
        bound blunts the divergence (with 1, a Gaussian policy spread over
        both modes instead of choosing one); an unbounded critic makes the
        exponential in the KL objectives diverge.
    %(training_parameters)s
        The discriminator has the same hidden layers; ``batch_size`` sets
        the minibatch of the adversarial phase too.

    Attributes
    ----------
    net_ : skorch.NeuralNet
        The fitted skorch net (the policy).
    adversarial_loss_curve_ : list of float
        The divergence estimate (the bound) every 100 adversarial steps.
    n_features_in_ : int
        Number of observation features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.
    n_outputs_ : int
        Number of action dimensions.
    n_iter_ : int
        Number of warm-start epochs run.
    loss_curve_ : list of float
        Warm-start loss at each epoch.

    Notes
    -----
    Ke, Choudhury, Barnes, Sun, Lee and Srinivasa, "Imitation learning as
    f-divergence minimization", 2019; Nowozin, Cseke and Tomioka, "f-GAN", 2016.

    Examples
    --------
    >>> from sklearn_il import FDivergenceBC
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, _ = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = FDivergenceBC(hidden_layer_sizes=(16,), max_iter=5, n_adversarial_steps=20,
    ...                        random_state=0)
    >>> policy.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    # The policy network is BCRegressor's Gaussian head.
    loss = "gaussian"

    _parameter_constraints = {
        **{k: v for k, v in BCRegressor._parameter_constraints.items() if k != "loss"},
        "divergence": [StrOptions(set(DIVERGENCES))],
        "n_adversarial_steps": [Interval(Integral, 0, None, closed="left")],
        "n_critic_steps": [Interval(Integral, 1, None, closed="left")],
        "adversarial_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "critic_lipschitz": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        *,
        divergence="reverse_kl",
        n_adversarial_steps=2000,
        n_critic_steps=3,
        adversarial_learning_rate=1e-3,
        critic_lipschitz=27.0,
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
        super(BCRegressor, self).__init__(
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
        self.divergence = divergence
        self.n_adversarial_steps = n_adversarial_steps
        self.n_critic_steps = n_critic_steps
        self.adversarial_learning_rate = adversarial_learning_rate
        self.critic_lipschitz = critic_lipschitz

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Warm-start by maximum likelihood, then minimise the f-divergence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Observations.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Expert actions.
        groups : array-like of shape (n_samples,), default=None
            Episode ids, for ``early_stopping`` in the warm start.

        Returns
        -------
        self : object
        """
        super().fit(X, y, groups)
        self.adversarial_loss_curve_ = []
        if self.n_adversarial_steps == 0:
            return self
        module, device = self.net_.module_, self.net_.device
        g_f, conjugate = DIVERGENCES[self.divergence]
        X, y = validate_data(self, X, y, reset=False, dtype=np.float32, **self._y_validation)
        X = np.require(X, requirements=["C", "W"])  # torch refuses read-only arrays
        with torch.no_grad():
            obs = module.obs_scaler(torch.from_numpy(X).to(device))
            expert = self._training_target(self._encode_target(y, reset=False)).to(device)
        # The base fit drew 3 seeds from random_state; the game gets a 4th.
        seed = seeds(self.random_state, 4)[3]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            n_layers = len(self._hidden_sizes()) + 1
            linear = partial(LipschitzLinear, bound=self.critic_lipschitz ** (1 / n_layers))
            critic = mlp(
                obs.shape[1] + expert.shape[1], self._hidden_sizes(), 1, self.activation, linear
            ).to(device)
            rate = self.adversarial_learning_rate
            critic_opt = torch.optim.Adam(critic.parameters(), lr=rate)
            policy_opt = torch.optim.Adam(module.parameters(), lr=rate)
            # Both rates fall linearly to 0: the game's players circle each
            # other at a constant rate, and the policy would stop wherever the
            # last step left it.
            schedules = [
                torch.optim.lr_scheduler.LambdaLR(
                    optimizer, lambda k: 1 - k / self.n_adversarial_steps
                )
                for optimizer in (critic_opt, policy_opt)
            ]
            batch = min(200 if self.batch_size == "auto" else self.batch_size, len(obs))
            module.train()
            for step in range(self.n_adversarial_steps):
                rows = torch.randint(len(obs), (batch,), device=device)
                s, a_expert = obs[rows], expert[rows]
                mean, std = _gaussian(module.body(s))
                a_policy = mean + std * torch.randn_like(mean)  # reparameterised draw

                def bound(a_q):
                    real = g_f(critic(torch.cat([s, a_expert], 1)))
                    fake = conjugate(g_f(critic(torch.cat([s, a_q], 1))))
                    return real.mean() - fake.mean()

                for _ in range(self.n_critic_steps):
                    critic_loss = -bound(a_policy.detach())
                    critic_opt.zero_grad()
                    critic_loss.backward()
                    critic_opt.step()

                fake = conjugate(g_f(critic(torch.cat([s, a_policy], 1))))
                policy_loss = -fake.mean()  # the policy minimises the bound
                policy_opt.zero_grad()
                policy_loss.backward()
                policy_opt.step()
                for schedule in schedules:
                    schedule.step()
                if step % 100 == 0:
                    self.adversarial_loss_curve_.append(-critic_loss.item())
            module.eval()
        return self
