"""Mode averaging and its cures, on the built-in bimodal tasks.

Table 1, the obstacle (the lecture's tree, 1-D action): every policy with
its defaults, fitted on 50 expert demonstrations, over 10 seeds. Success
rate and return of ``predict`` rolled out for 50 episodes, fit seconds,
one-row ``predict`` microseconds, and the fraction of the policy's draws at
the start state that fall between the two modes (|a| < 0.5), where the
expert never acts.

Table 2, the obstacle with ``side_from="offset"`` (``OBSTACLE_OFFSET``):
episodes start up to 0.2 off centre and the expert passes on the side it
starts on, so the side is a function of the state that nearby states blur
into two modes (a task written independently of the project had this
shape). The same columns.

Table 3, the gates (2-D action; the modes are (+1, +1) and (-1, -1)): the
same, plus (when ``AutoregressiveBC`` is among the policies) it fitted one
dimension at a time (``MultiOutputRegressor``), which draws each dimension
on its own. Columns:
success of ``predict``, success when acting by ``sample`` (a fresh draw each
step), and the fraction of start-state draws near neither mode.

Table 4, the particle (``PARTICLE``, IBC's particle task): the expert's
setpoint jumps from the first goal to the second once the particle comes
within 0.05 of the first, so two states a hair apart have actions as far
apart as the goals; a regression blends them there and turns away before it
reaches the first goal. Success of ``predict``, fit seconds and one-row
``predict`` microseconds, 50 demonstrations.

Run: ``python benchmarks/bench_multimodal.py [--seeds 10] [--tables obstacle offset gates particle]
[--policies MixtureDensityBC ...]``.
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.multioutput import MultiOutputRegressor
from sklearn.utils import check_random_state

from sklearn_il import (
    AutoregressiveBC,
    BCRegressor,
    DiffusionBC,
    ImplicitBC,
    LatentBC,
    MixtureDensityBC,
)
from sklearn_il.datasets import make_gates, make_obstacle, make_particle
from sklearn_il.demo import predict_latency_us
from sklearn_il.envs import GATES, OBSTACLE, OBSTACLE_OFFSET, PARTICLE
from sklearn_il.evaluation import evaluate_policy

warnings.filterwarnings("ignore", category=ConvergenceWarning)

POLICIES = {
    "BCRegressor(loss='mse')": lambda s: BCRegressor(random_state=s),
    "BCRegressor(loss='gaussian')": lambda s: BCRegressor(loss="gaussian", random_state=s),
    "MixtureDensityBC": lambda s: MixtureDensityBC(random_state=s),
    "DiffusionBC": lambda s: DiffusionBC(random_state=s),
    "AutoregressiveBC": lambda s: AutoregressiveBC(random_state=s),
    "LatentBC": lambda s: LatentBC(random_state=s),
    "ImplicitBC": lambda s: ImplicitBC(random_state=s),
    "ImplicitBC(gradient_penalty=1)": lambda s: ImplicitBC(gradient_penalty=1.0, random_state=s),
    # IBC's configuration for its particle result: Langevin with the penalty.
    "ImplicitBC(gradient_penalty=1, langevin)": lambda s: ImplicitBC(
        gradient_penalty=1.0, inference="langevin", random_state=s),
}


class IndependentDims:
    """``AutoregressiveBC`` per action dimension: no dimension sees another."""

    def __init__(self, random_state):
        self.model = MultiOutputRegressor(AutoregressiveBC(random_state=random_state))

    def fit(self, X, y, groups=None):
        self.model.fit(X, y)
        return self

    def predict(self, X):
        return self.model.predict(X)

    def sample(self, X, n_samples=1, random_state=None):
        rng = check_random_state(random_state)
        return np.concatenate(
            [e.sample(X, n_samples, random_state=rng) for e in self.model.estimators_], axis=2
        )


class ActBySampling:
    """Acts with a fresh draw from the policy at every step."""

    def __init__(self, policy, random_state):
        self.policy, self.rng = policy, np.random.RandomState(random_state)

    def predict(self, X):
        return self.policy.sample(X, 1, random_state=self.rng)[:, 0]


def _fmt(values, digits=2):
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}"


def obstacle_table(seeds, n_eval, policies=POLICIES, side_from="coin"):
    header = (f"{'policy':<30} {'success':>13} {'return':>14} {'fit s':>6} {'× first':>7} "
              f"{'predict µs':>10} {'draws between':>13}")
    env = OBSTACLE if side_from == "coin" else OBSTACLE_OFFSET
    print(f"Obstacle, side from the {side_from} (1-D action, modes -1 and +1), 50 demonstrations,",
          len(seeds), "seeds")
    print(header)
    print("-" * len(header))
    first_fit_s = None
    for name, make in policies.items():
        success, ret, fit_s, latency, between = [], [], [], [], []
        for seed in seeds:
            X, y, groups = make_obstacle(50, side_from=side_from, random_state=seed)
            start = time.perf_counter()
            policy = make(seed).fit(X, y, groups=groups)
            fit_s.append(time.perf_counter() - start)
            result = evaluate_policy(policy, env, n_eval, random_state=10_000 + seed)
            success.append(result.success_rate)
            ret.append(result.mean_return)
            latency.append(predict_latency_us(policy, X))
            draws = policy.sample([[0.0, 0.0]], n_samples=500, random_state=seed).ravel()
            between.append((np.abs(draws) < 0.5).mean())
        first_fit_s = first_fit_s or np.median(fit_s)
        print(f"{name:<30} {_fmt(success):>13} {_fmt(ret, 3):>14} {np.median(fit_s):>6.1f} "
              f"{np.median(fit_s) / first_fit_s:>7.1f} "
              f"{np.median(latency):>10.0f} {np.mean(between):>13.2f}", flush=True)


def _off_mode(draws):
    """Fraction of 2-D draws near neither (1, 1) nor (-1, -1)."""
    return (np.abs(np.abs(draws.sum(-1)) - 2) > 1).mean()


def gates_table(seeds, n_eval, policies=POLICIES):
    if "AutoregressiveBC" in policies:  # its ablation, with the policy it ablates
        policies = {**policies, "AutoregressiveBC, per dimension": IndependentDims}
    header = f"{'policy':<34} {'success (predict)':>17} {'success (sample)':>17} {'draws off-mode':>14}"
    print()
    print("Gates (2-D action, modes (+1, +1) and (-1, -1)), 50 demonstrations,", len(seeds), "seeds")
    print(header)
    print("-" * len(header))
    for name, make in policies.items():
        greedy, sampled, off = [], [], []
        for seed in seeds:
            X, y, groups = make_gates(50, random_state=seed)
            policy = make(seed).fit(X, y, groups=groups)
            episodes = dict(n_episodes=n_eval, random_state=10_000 + seed)
            greedy.append(evaluate_policy(policy, GATES, **episodes).success_rate)
            sampled.append(evaluate_policy(ActBySampling(policy, seed), GATES, **episodes).success_rate)
            draws = policy.sample([[0.0, 0.0, 0.0]], n_samples=500, random_state=seed)[0]
            off.append(_off_mode(draws))
        print(f"{name:<34} {_fmt(greedy):>17} {_fmt(sampled):>17} {np.mean(off):>14.2f}", flush=True)


def particle_table(seeds, n_eval, policies=POLICIES):
    header = f"{'policy':<30} {'success':>13} {'fit s':>6} {'predict µs':>10}"
    print()
    print("Particle (two goals in turn; the expert's action jumps), 50 demonstrations,",
          len(seeds), "seeds")
    print(header)
    print("-" * len(header))
    for name, make in policies.items():
        success, fit_s, latency = [], [], []
        for seed in seeds:
            X, y, groups = make_particle(50, random_state=seed)
            start = time.perf_counter()
            policy = make(seed).fit(X, y, groups=groups)
            fit_s.append(time.perf_counter() - start)
            success.append(evaluate_policy(policy, PARTICLE, n_eval, random_state=10_000 + seed).success_rate)
            latency.append(predict_latency_us(policy, X))
        print(f"{name:<30} {_fmt(success):>13} {np.median(fit_s):>6.1f} {np.median(latency):>10.0f}",
              flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--tables", nargs="*", default=["obstacle", "offset", "gates", "particle"],
                        choices=["obstacle", "offset", "gates", "particle"])
    parser.add_argument("--policies", nargs="*", default=list(POLICIES), choices=list(POLICIES))
    args = parser.parse_args()
    seeds = range(args.seeds)
    policies = {name: POLICIES[name] for name in args.policies}
    if "obstacle" in args.tables:
        obstacle_table(seeds, args.eval_episodes, policies)
    if "offset" in args.tables:
        print()
        obstacle_table(seeds, args.eval_episodes, policies, side_from="offset")
    if "gates" in args.tables:
        gates_table(seeds, args.eval_episodes, policies)
    if "particle" in args.tables:
        particle_table(seeds, args.eval_episodes, policies)


if __name__ == "__main__":
    main()
