"""CCIL's defaults: the radius ``epsilon`` and the labels per transition,
measured on the built-in, gymnasium and MuJoCo tasks.

For each task, seed and setting, ``CorrectiveAugmenter``'s labels are
added to the demonstrations and BC is fitted on them; beside it, BC on the
demonstrations alone. The tasks and budgets are those of
``bench_compounding.py`` (4 expert episodes, BC (64, 64)) and of
``bench_mujoco.py`` (5 episodes with the RL Zoo's experts, BC with its
defaults). One dynamics model (the default one) is fitted per seed and
shared by the settings, which differ only in how its labels are drawn and
kept. Printed per setting: the fraction of generated labels kept, the
normalised return (random policy 0, expert 1; mean ± standard error over
seeds) and the seconds of one seed's BC fit, on one core.

Run: ``python benchmarks/bench_ccil_defaults.py [--seeds 5] [--tasks ...]
[--epsilons mean 0.1 0.3] [--labels 1 5] [--jobs 2]``; ``mean`` is a
radius relative to each task's steps: the mean distance between
consecutive demonstrated states, in the same units.
"""

import argparse
import itertools
import time

import gymnasium as gym
import numpy as np
from bench_bc import RandomPolicy
from bench_compounding import TASKS as SMALL_TASKS
from bench_mujoco import TASKS as MUJOCO_TASKS
from bench_mujoco import ZooActor, in_worker, mean_return, quiet_mujoco
from joblib import Parallel, delayed

from sklearn_il import BCRegressor
from sklearn_il.augment import CorrectiveAugmenter
from sklearn_il.augment.corrective import feature_scale, standardised_distance
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.dynamics import DynamicsRegressor, transitions
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import make_expert

TASKS = [*SMALL_TASKS, *MUJOCO_TASKS]


def setup(task):
    """(expert, budget, steps per episode or None, BC's settings)."""
    if task in MUJOCO_TASKS:
        return ZooActor(MUJOCO_TASKS[task]), 5, None, {}
    return make_expert(task), 4, SMALL_TASKS[task][1], {"hidden_layer_sizes": (64, 64)}


def score(agent, task, steps, n_episodes):
    if steps is None:
        return mean_return(agent, task, n_episodes)
    return evaluate_policy(agent, task, n_episodes, random_state=1000,
                           max_episode_steps=steps).mean_return


def mean_step(X, y, groups):
    """The mean distance between consecutive demonstrated states, in
    CorrectiveAugmenter's standardised units: a radius relative to each
    task's own steps."""
    _, next_state, rows = transitions(X, y, groups)
    return standardised_distance(next_state, X[rows], feature_scale(X)).mean()


def run_seed(task, seed, settings, n_eval):
    """(setting, kept fraction, mean return, BC fit seconds) for BC and each
    setting."""
    in_worker()
    expert, budget, steps, bc = setup(task)
    demos = collect_demonstrations(task, expert, budget, random_state=seed,
                                   max_episode_steps=steps)
    X, y, groups = demos.X, demos.y, demos.groups
    model = DynamicsRegressor(lipschitz_constant=CorrectiveAugmenter().lipschitz_constant,
                              random_state=seed).fit(*transitions(X, y, groups)[:2])

    def dynamics(states, actions):
        return model.predict(np.hstack([states, actions]))

    rows = []
    for setting in [None, *settings]:
        X_fit, y_fit, kept = X, y, None
        if setting is not None:
            epsilon, k = setting
            epsilon = mean_step(X, y, groups) if epsilon is None else epsilon
            augmenter = CorrectiveAugmenter(dynamics, epsilon=epsilon, n_labels_per_point=k,
                                            random_state=seed)
            X_fit, y_fit = augmenter.fit_resample(X, y, groups)
            kept = augmenter.kept_fraction_
        start = time.perf_counter()
        policy = BCRegressor(random_state=seed, **bc).fit(X_fit, y_fit)
        seconds = time.perf_counter() - start
        rows.append((setting, kept, score(policy, task, steps, n_eval), seconds))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--tasks", nargs="*", default=TASKS, choices=TASKS)
    parser.add_argument("--epsilons", nargs="*", default=["mean", "0.1", "0.3"])
    parser.add_argument("--labels", nargs="*", type=int, default=[1, 5])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    quiet_mujoco()
    epsilons = [None if e == "mean" else float(e) for e in args.epsilons]
    settings = list(itertools.product(epsilons, args.labels))
    header = (f"{'task':<26} {'epsilon':>7} {'labels':>6} {'kept':>5} "
              f"{'norm. return':>13} {'fit s':>6}")
    print(f"# {args.seeds} seeds, {args.eval_episodes} evaluation episodes")
    print(header)
    print("-" * len(header))
    for task in args.tasks:
        expert, _, steps, _ = setup(task)
        random_policy = RandomPolicy(gym.make(task).action_space, 0)
        low, high = (score(agent, task, steps, args.eval_episodes)
                     for agent in (random_policy, expert))
        per_seed = Parallel(n_jobs=args.jobs)(
            delayed(run_seed)(task, seed, settings, args.eval_episodes)
            for seed in range(args.seeds))
        for i, (setting, *_) in enumerate(per_seed[0]):
            kept = [r[i][1] for r in per_seed]
            returns = np.array([(r[i][2] - low) / (high - low) for r in per_seed])
            seconds = np.mean([r[i][3] for r in per_seed])
            epsilon, k = setting or ("BC", "")
            epsilon = "mean" if setting and epsilon is None else epsilon
            kept = f"{np.mean(kept):.0%}" if setting else ""
            se = returns.std(ddof=1) / np.sqrt(len(returns)) if len(returns) > 1 else 0.0
            print(f"{task:<26} {epsilon!s:>7} {k!s:>6} {kept:>5} "
                  f"{returns.mean():6.2f} ± {se:4.2f} {seconds:6.1f}", flush=True)


if __name__ == "__main__":
    main()
