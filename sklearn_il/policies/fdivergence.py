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
from numbers import Integral, Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from .._nn import mlp
from .._seeding import torch_seeded
from .._validation import layer_sizes
from ..base import fill_doc
from .bc import GaussianPolicy, _gaussian

_LOG2 = math.log(2.0)

# divergence: (g_f, the discriminator's output activation; f*(g_f(v)), its
# conjugate at that output, composed in closed form), from Nowozin, Cseke and
# Tomioka, "f-GAN", 2016, table 2 (P: expert, Q: policy). Composed, because
# JS's f*(t) = -log(2 - e^t) loses all precision as t nears log 2.
DIVERGENCES = {
    "reverse_kl": (lambda v: -torch.exp(-v), lambda v: v - 1),
    "js": (lambda v: _LOG2 - nn.functional.softplus(-v), lambda v: nn.functional.softplus(v) - _LOG2),
}


@fill_doc
class FDivergenceBC(GaussianPolicy):
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

    ``partial_fit`` trains the maximum-likelihood phase one epoch a call; the
    game runs in ``fit`` only, its learning rates falling to 0 over a known
    number of steps, which incremental training does not have.

    Parameters
    ----------
    divergence : {"reverse_kl", "js"}, default="reverse_kl"
        The f-divergence minimised in the adversarial phase. Not offered:
        the forward KL, which is the warm start's own objective (maximum
        likelihood) and, estimated through the game, diverged to non-finite
        weights on the obstacle task; total variation, whose critic output
        (``tanh``) saturates and then gives the policy no gradient (that
        policy drifted outside the expert's action range).
    n_adversarial_steps : int, default=1000
        Policy updates after the warm start, one minibatch each. 0 leaves
        the maximum-likelihood fit as it is.
    n_critic_steps : int, default=3
        Discriminator updates per policy update; the last one shares its
        forward and backward pass with the policy's update (f-GAN's
        single-step method when 1).
    adversarial_learning_rate : float, default=1e-3
        Adam's initial learning rate for both players in the adversarial
        phase; it falls linearly to 0 over the ``n_adversarial_steps``, so
        that the policy settles instead of stopping wherever the game's
        circling left it.
    critic_lipschitz : float, default=27.0
        Bound on the discriminator's Lipschitz constant (spectral
        normalisation of its layers, in standardised units): ``27 = 3^3``,
        a factor of 3 for each of the default critic's three layers. Too
        small a bound blunts the divergence (with 1, a Gaussian policy
        spread over both modes instead of choosing one); an unbounded
        critic makes the exponential in the KL objectives diverge.
    adversarial_batch_size : int, default=512
        Rows drawn (with replacement) for each adversarial step. Few states
        in a minibatch of 200 are where the modes part; 512 committed to a
        side on every seed where 200 did not (see Notes).
    critic_hidden_layer_sizes : array-like of shape (n_layers,), default=(64, 64)
        Width of the discriminator's hidden layers. Its passes are most of
        the game's cost; a wider critic cost more and committed no more
        often (see Notes).
    %(training_parameters)s

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
    validation_groups_ : ndarray or None
        Episode ids held out for ``early_stopping``; None without it.

    Notes
    -----
    With the defaults, ``benchmarks/bench_fdivergence.py`` measures success
    1.00 on all 10 seeds of the obstacle in 6.5 times the Gaussian BC's fit
    time. With 200-row minibatches a 128-wide critic committed no more
    often than a 64-wide one, and a 256-wide critic took over 30 times the
    BC fit.

    ``adversarial_batch_size``, measured on the obstacle over 30 seeds with
    the other defaults: 512 commits on all 30 at about 1.25 times the
    game's cost with 200 rows (the warm start's minibatch), which commits
    on 27; 200 rows with a doubled learning rate, on 27 as well. The
    policy's move to one side where the modes part is slow and noisy when
    few rows of a minibatch are there.

    Ke, Choudhury, Barnes, Sun, Lee and Srinivasa, "Imitation learning as
    f-divergence minimization", 2019; Nowozin, Cseke and Tomioka, "f-GAN", 2016.

    Examples
    --------
    >>> from sklearn_il import FDivergenceBC
    >>> from sklearn_il.datasets import make_obstacle
    >>> X, y, _ = make_obstacle(n_episodes=5, random_state=0)
    >>> policy = FDivergenceBC(hidden_layer_sizes=(16,), max_iter=5,
    ...                        n_adversarial_steps=20, random_state=0)
    >>> policy.fit(X, y).predict(X[:2]).shape
    (2,)
    """

    # The game's critic is made afresh by every fit: a warm start may change it.
    _training_only = GaussianPolicy._training_only | {
        "divergence", "n_adversarial_steps", "n_critic_steps", "adversarial_learning_rate",
        "critic_lipschitz", "adversarial_batch_size", "critic_hidden_layer_sizes",
    }

    _parameter_constraints = {
        **GaussianPolicy._parameter_constraints,
        "divergence": [StrOptions(set(DIVERGENCES))],
        "n_adversarial_steps": [Interval(Integral, 0, None, closed="left")],
        "n_critic_steps": [Interval(Integral, 1, None, closed="left")],
        "adversarial_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "critic_lipschitz": [Interval(Real, 0, None, closed="neither")],
        "adversarial_batch_size": [Interval(Integral, 1, None, closed="left")],
        "critic_hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        divergence="reverse_kl",
        n_adversarial_steps=1000,
        n_critic_steps=3,
        adversarial_learning_rate=1e-3,
        critic_lipschitz=27.0,
        adversarial_batch_size=512,
        critic_hidden_layer_sizes=(64, 64),
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
        self.divergence = divergence
        self.n_adversarial_steps = n_adversarial_steps
        self.n_critic_steps = n_critic_steps
        self.adversarial_learning_rate = adversarial_learning_rate
        self.critic_lipschitz = critic_lipschitz
        self.adversarial_batch_size = adversarial_batch_size
        self.critic_hidden_layer_sizes = critic_hidden_layer_sizes

    def _check_params(self, X, y):
        super()._check_params(X, y)
        layer_sizes(self.critic_hidden_layer_sizes, "critic_hidden_layer_sizes")

    def _after_training(self, X, target, weight, seed):
        """The f-GAN game, from the maximum-likelihood fit, on the training rows
        (drawn in proportion to their weights).

        f-GAN's single-step method: one forward and backward pass of the
        bound per step updates both players, the critic up its gradient and
        the policy down (after ``n_critic_steps - 1`` critic-only steps).
        """
        self.adversarial_loss_curve_ = []
        if self.n_adversarial_steps == 0:
            return
        module = self.net_.module_
        g_f, conjugate_of_g = DIVERGENCES[self.divergence]
        with torch_seeded(seed, X.device):
            obs = module.obs_scaler(X)
            critic_sizes = layer_sizes(self.critic_hidden_layer_sizes, "critic_hidden_layer_sizes")
            critic = mlp(obs.shape[1] + target.shape[1], critic_sizes, 1,
                         self.activation, lipschitz_constant=self.critic_lipschitz).to(X.device)
            critic_params = list(critic.parameters())
            rate = self.adversarial_learning_rate
            # Fused Adam: one kernel per step instead of a loop of small ops
            # over the tensors (measured: 0.39 -> 0.13 ms a step for the critic).
            critic_opt = torch.optim.Adam(critic_params, lr=rate, fused=True)
            policy_opt = torch.optim.Adam(module.parameters(), lr=rate, fused=True)
            # Both rates fall linearly to 0: the game's players circle each
            # other at a constant rate, and the policy would stop wherever the
            # last step left it.
            schedules = [
                torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1 - k / self.n_adversarial_steps)
                for opt in (critic_opt, policy_opt)
            ]
            module.train()
            for step in range(self.n_adversarial_steps):
                if weight is None:
                    rows = torch.randint(len(obs), (self.adversarial_batch_size,),
                                         device=X.device)
                else:
                    rows = torch.multinomial(weight, self.adversarial_batch_size,
                                             replacement=True)
                s, a_expert = obs[rows], target[rows]
                mean, std = _gaussian(module.body(s))
                a_policy = mean + std * torch.randn_like(mean)  # reparameterised draw
                for joint in [False] * (self.n_critic_steps - 1) + [True]:
                    # One critic pass over the expert's and the policy's pairs.
                    a_q = a_policy if joint else a_policy.detach()
                    v = critic(torch.cat([torch.cat([s, s]), torch.cat([a_expert, a_q])], 1))
                    v_expert, v_policy = v.chunk(2)
                    bound = g_f(v_expert).mean() - conjugate_of_g(v_policy).mean()
                    critic_opt.zero_grad()
                    policy_opt.zero_grad()
                    bound.backward()
                    for param in critic_params:  # the critic maximises the bound
                        param.grad.neg_()
                    critic_opt.step()
                policy_opt.step()
                for schedule in schedules:
                    schedule.step()
                if step % 100 == 0:
                    self.adversarial_loss_curve_.append(bound.item())
            module.eval()
        if not all(torch.isfinite(p).all() for p in module.parameters()):
            raise ValueError(
                "The adversarial phase produced non-finite policy weights; lower "
                "adversarial_learning_rate or critic_lipschitz."
            )
