"""Behaviour cloning on the built-in and gymnasium tasks, against their experts.

For each task: expert demonstrations, a behaviour-cloning policy with the
library's defaults (``BCClassifier`` for discrete actions, ``BCRegressor``
otherwise), and rollouts. Prints success rate where the task reports one and
the normalised return (random policy 0, expert 1), mean ± std over seeds.

Run: ``python benchmarks/bench_bc.py [--seeds 3]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCClassifier, BCRegressor
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import OBSTACLE, POINT_REACH, WINDING_ROAD
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import make_expert

warnings.filterwarnings("ignore", category=ConvergenceWarning)

# (task, policy name, policy factory, demonstrations)
ROWS = [
    (OBSTACLE, "BCRegressor(loss='mse')", lambda s: BCRegressor(random_state=s), 50),
    (OBSTACLE, "BCRegressor(loss='gaussian')", lambda s: BCRegressor(loss="gaussian", random_state=s), 50),
    (WINDING_ROAD, "BCRegressor(loss='mse')", lambda s: BCRegressor(random_state=s), 20),
    (POINT_REACH, "BCRegressor(loss='mse')", lambda s: BCRegressor(random_state=s), 50),
    ("LunarLander-v3", "BCClassifier", lambda s: BCClassifier(random_state=s), 20),
    ("LunarLanderContinuous-v3", "BCRegressor(loss='mse')", lambda s: BCRegressor(random_state=s), 20),
    ("Pendulum-v1", "BCRegressor(loss='mse')", lambda s: BCRegressor(random_state=s), 20),
    ("InvertedPendulum-v5", "BCRegressor(loss='mse')", lambda s: BCRegressor(random_state=s), 5),
]


class RandomPolicy:
    """Uniform random actions: the 0 of the normalised return."""

    def __init__(self, space, seed):
        self.space = space
        self.space.seed(seed)

    def predict(self, X):
        return np.array([self.space.sample() for _ in range(len(X))])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--eval-episodes", type=int, default=20)
    args = parser.parse_args()
    header = f"{'task':<28} {'policy':<30} {'demos':>5} {'success':>13} {'norm. return':>15} {'fit s':>6}"
    print(header)
    print("-" * len(header))
    for env_id, name, make, n_demos in ROWS:
        expert = make_expert(env_id)
        action_space = gym.make(env_id).action_space
        successes, returns, fit_s = [], [], []
        for seed in range(args.seeds):
            demos = collect_demonstrations(env_id, expert, n_demos, random_state=seed)
            start = time.perf_counter()
            policy = make(seed).fit(demos.X, demos.y, groups=demos.groups)
            fit_s.append(time.perf_counter() - start)
            # Policy, expert and random policy on the same held-out episodes.
            episodes = dict(n_episodes=args.eval_episodes, random_state=10_000 + seed)
            result = evaluate_policy(policy, env_id, **episodes)
            high = evaluate_policy(expert, env_id, **episodes).mean_return
            low = evaluate_policy(RandomPolicy(action_space, seed), env_id, **episodes).mean_return
            successes.append(result.success_rate)
            returns.append((result.mean_return - low) / (high - low))
        success = (
            f"{np.mean(successes):.2f} ± {np.std(successes):.2f}"
            if not np.isnan(successes).any() else "—"
        )
        print(
            f"{env_id:<28} {name:<30} {n_demos:>5} {success:>13} "
            f"{np.mean(returns):>7.2f} ± {np.std(returns):<5.2f} {np.mean(fit_s):>6.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
