"""Hindsight relabeling: reaching commanded goals from undirected play.

The play data are episodes of uniformly random actions on the built-in
goal-reaching task: nobody aimed at anything (the env's own goal columns
were ignored by the player). A ``BCRegressor`` cloned from the raw play
data (positions and the env's goals) has no reason to reach any goal; cloned
from the same data relabeled by ``HindsightRelabeler`` (positions and a
later position as the goal) it learns to go where it is told. Printed:
success rate and mean return at the env's random goals, mean ± std over
seeds, and the rows each policy was fitted on.

Run: ``python benchmarks/bench_hindsight.py [--seeds 5]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from bench_bc import RandomPolicy
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCRegressor
from sklearn_il.augment import HindsightRelabeler
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import POINT_REACH
from sklearn_il.evaluation import evaluate_policy

warnings.filterwarnings("ignore", category=ConvergenceWarning)

RELABELERS = {
    "none (raw play data)": None,
    "future": lambda seed: HindsightRelabeler("future", n_relabels=4, random_state=seed),
    "window 3": lambda seed: HindsightRelabeler("window", window=3, n_relabels=4, random_state=seed),
    "window 1": lambda seed: HindsightRelabeler("window", window=1, random_state=seed),
    "final": lambda seed: HindsightRelabeler("final"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--play-episodes", type=int, default=100)
    parser.add_argument("--eval-episodes", type=int, default=50)
    args = parser.parse_args()
    space = gym.make(POINT_REACH).action_space
    header = f"{'relabeling':<22} {'rows':>7} {'success':>13} {'mean return':>15} {'s/seed':>7}"
    print(header)
    print("-" * len(header))
    for name, make in RELABELERS.items():
        rows, success, returns = [], [], []
        start = time.perf_counter()
        for seed in range(args.seeds):
            play = collect_demonstrations(POINT_REACH, RandomPolicy(space, seed), args.play_episodes,
                                          random_state=seed)
            if make is None:
                X, y = play.X, play.y
            else:  # positions only; the relabeler appends the goal
                X, y = make(seed).fit_resample(play.X[:, :2], play.y, play.groups)
            policy = BCRegressor(random_state=seed).fit(X, y)
            result = evaluate_policy(policy, POINT_REACH, args.eval_episodes, random_state=1000 + seed)
            rows.append(len(X))
            success.append(result.success_rate)
            returns.append(result.mean_return)
        per_seed = (time.perf_counter() - start) / args.seeds
        print(f"{name:<22} {np.mean(rows):>7.0f} {np.mean(success):>6.2f} ± {np.std(success):.2f} "
              f"{np.mean(returns):>8.1f} ± {np.std(returns):.1f} {per_seed:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
