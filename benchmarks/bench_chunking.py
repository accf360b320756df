"""Executing action chunks: re-planning against ACT's temporal ensembling.

``DiffusionBC(horizon=8)`` predicts the next 8 actions. Each seed fits one
such policy on 50 expert demonstrations of the obstacle (1-D action) and of
the gates (2-D action), for up to 2,000 epochs with patience 300 (with the
defaults, 500 and 50, the chunk model is undertrained: see ``horizon`` in
``DiffusionBC``'s docstring), then rolls it out with each way of executing
its chunks (set after fit, no refit):

- ``n_action_steps`` 1, 4 or 8 (``None``): execute that many actions of a
  chunk, then predict the next chunk from the observation reached;
- ``temporal_ensemble_coeff`` 0.01 (ACT's value) or 0.1: predict a chunk at
  every step and execute the weighted mean of what the chunks still
  running predicted for this step.

Printed per mode, mean ± std over seeds: success rate and smoothness, the
mean |a_t - a_{t-1}| within episodes of the actions the policy chose, on
clean episodes and under ``bench_compounding.py``'s test-time perturbation
(Gaussian noise on every observation and executed action, ``Perturbed``)
at two noise levels: its default std, 0.01, and 0.1.

Run: ``python benchmarks/bench_chunking.py [--seeds 5] [--tasks obstacle gates]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from bench_compounding import Perturbed
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import DiffusionBC
from sklearn_il.datasets import make_gates, make_obstacle
from sklearn_il.envs import GATES, OBSTACLE
from sklearn_il.evaluation import rollout

warnings.filterwarnings("ignore", category=ConvergenceWarning)

HORIZON = 8
TRAINING = dict(max_iter=2000, n_iter_no_change=300)
TASKS = {"obstacle": (OBSTACLE, make_obstacle), "gates": (GATES, make_gates)}
MODES = {
    "re-plan every step": dict(n_action_steps=1),
    "execute 4, re-plan": dict(n_action_steps=4),
    "execute 8 (whole chunk)": dict(n_action_steps=None),
    "ensemble, m=0.01": dict(temporal_ensemble_coeff=0.01),
    "ensemble, m=0.1": dict(temporal_ensemble_coeff=0.1),
}
NOISE = [0.0, 0.01, 0.1]


def smoothness(episodes):
    """Mean |a_t - a_{t-1}| over the steps of each episode (and action dimensions)."""
    actions = episodes.y.reshape(len(episodes), -1)
    same = episodes.groups[1:] == episodes.groups[:-1]
    return float(np.abs(np.diff(actions, axis=0))[same].mean())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=50)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args()
    for task in args.tasks:
        env_id, make_data = TASKS[task]
        # results[mode][noise] = [(success, smoothness) per seed]
        results = {mode: {noise: [] for noise in NOISE} for mode in MODES}
        fit_s = []
        for seed in range(args.seeds):
            X, y, groups = make_data(50, random_state=seed)
            start = time.perf_counter()
            policy = DiffusionBC(horizon=HORIZON, random_state=seed, **TRAINING).fit(X, y, groups=groups)
            fit_s.append(time.perf_counter() - start)
            for mode, params in MODES.items():
                policy.set_params(**{"n_action_steps": None, "temporal_ensemble_coeff": None,
                                     **params})
                for noise in NOISE:
                    env = env_id if noise == 0 else (lambda s=noise: Perturbed(gym.make(env_id), s))
                    episodes = rollout(policy, env, args.eval_episodes, random_state=10_000 + seed)
                    results[mode][noise].append((episodes.successes.mean(), smoothness(episodes)))
        print(f"\n{task}: DiffusionBC(horizon={HORIZON}), 50 demonstrations, {args.seeds} seeds, "
              f"{args.eval_episodes} episodes each (fit {np.median(fit_s):.0f} s)")
        columns = "".join(f"{f'success σ={n}':>15} {f'|Δa| σ={n}':>15}" for n in NOISE)
        header = f"{'execution':<26}{columns}"
        print(header)
        print("-" * len(header))
        for mode in MODES:
            cells = ""
            for noise in NOISE:
                success, smooth = np.array(results[mode][noise]).T
                cells += (f"{f'{success.mean():.2f} ± {success.std():.2f}':>15} "
                          f"{f'{smooth.mean():.3f} ± {smooth.std():.3f}':>15}")
            print(f"{mode:<26}{cells}", flush=True)


if __name__ == "__main__":
    main()
