"""Curating demonstrations of mixed quality: how much of the damage weights undo.

Half the episodes come from the expert, half from three degraded operators
in equal parts: one adds Gaussian noise to the expert's action (``noise``
times the action range), one acts ``lag`` steps late (the expert's action
for the observation ``lag`` steps back), one pursues a wrong goal (the
expert acting on a transformed observation: the mirrored goal on the
built-in goal-reaching task; the angle turned by pi, so aiming to hang
down, on Pendulum-v1). A ``BCRegressor`` is fitted on every episode
(plain BC), on the expert's episodes only (the oracle, which needs to know
who is who), and on all of them weighted by each curation method of
:mod:`sklearn_il.curation`. Printed: normalised return (uniform-random
policy 0, expert 1, both measured in the same run), mean ± std over
seeds, and the fraction of the gap between plain BC and the oracle that
each method closes (of the means).

Run: ``python benchmarks/bench_curation.py [--seeds 5]``.
"""

import argparse
import time
import warnings
from collections import deque

import gymnasium as gym
import numpy as np
from bench_bc import RandomPolicy
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCRegressor
from sklearn_il.curation import return_weights, typicality_weights
from sklearn_il.datasets import Demonstrations, collect_demonstrations
from sklearn_il.envs import POINT_REACH, PointReachExpert
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import PendulumSwingUp

warnings.filterwarnings("ignore", category=ConvergenceWarning)


class NoisyOperator:
    """The expert's action plus Gaussian noise of ``scale`` (action units), clipped."""

    def __init__(self, expert, scale, low, high, seed):
        self.expert, self.scale, self.low, self.high = expert, scale, low, high
        self.rng = np.random.default_rng(seed)

    def predict(self, X):
        a = self.expert.predict(X)
        return np.clip(a + self.rng.normal(0.0, self.scale, a.shape), self.low, self.high)


class LaggingOperator:
    """The expert's action for the observation ``lag`` steps back (a slow operator)."""

    def __init__(self, expert, lag):
        self.expert, self.lag = expert, lag

    def reset(self, random_state=None):
        self.queue = deque()

    def predict(self, X):
        self.queue.append(self.expert.predict(X))
        return self.queue.popleft() if len(self.queue) > self.lag else self.queue[0]


class WrongGoalOperator:
    """The expert acting on ``transform(observation)``: it pursues another goal."""

    def __init__(self, expert, transform):
        self.expert, self.transform = expert, transform

    def predict(self, X):
        return self.expert.predict(self.transform(np.asarray(X, dtype=float)))


def _mirrored_goal(X):
    return np.c_[X[:, :2], -X[:, 2:]]


def _hanging_down(X):
    return np.c_[-X[:, 0], -X[:, 1], X[:, 2]]


TASKS = {
    "point reach": dict(env=POINT_REACH, expert=PointReachExpert(), wrong_goal=_mirrored_goal,
                        n_expert=40, lag=5),
    "Pendulum-v1": dict(env="Pendulum-v1", expert=PendulumSwingUp(), wrong_goal=_hanging_down,
                        n_expert=20, lag=3),
}
NOISE = 0.25  # of the action range


def mixed_demonstrations(task, seed):
    """The expert's episodes, then the three operators' (as many in all);
    also whether each row is the expert's."""
    env, expert = task["env"], task["expert"]
    space = gym.make(env).action_space
    low, high = space.low, space.high
    operators = [
        NoisyOperator(expert, NOISE * (high - low), low, high, seed),
        LaggingOperator(expert, task["lag"]),
        WrongGoalOperator(expert, task["wrong_goal"]),
    ]
    n = task["n_expert"]
    parts = [collect_demonstrations(env, expert, n, random_state=seed)]
    for k, operator in enumerate(operators):
        n_k = n // 3 + (k < n % 3)
        parts.append(collect_demonstrations(env, operator, n_k, random_state=seed + 1000 * (k + 1)))
    demos = Demonstrations.concatenate(parts)
    return demos, np.arange(len(demos)) < len(parts[0])


def policy(seed):
    return BCRegressor(hidden_layer_sizes=(64, 64), random_state=seed)


def methods(demos, seed):
    """Each curation method: its name and a function computing its weights."""
    rewards, groups = demos.rewards, demos.groups
    scorer = BCRegressor(loss="gaussian", hidden_layer_sizes=(64, 64), random_state=seed)
    yield "return, top 50%", lambda: return_weights(rewards, groups, method="top")
    yield "return, exp 0.25", lambda: return_weights(rewards, groups, temperature=0.25)
    yield "return, exp 1", lambda: return_weights(rewards, groups, temperature=1.0)
    yield "typicality, top 50%", lambda: typicality_weights(scorer, demos.X, demos.y, groups)
    yield "typicality, exp 0.25", lambda: typicality_weights(
        scorer, demos.X, demos.y, groups, method="exponential")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--task", choices=list(TASKS), action="append")
    args = parser.parse_args()
    header = f"{'task':<12} {'method':<22} {'normalised return':>18} {'gap closed':>11} {'s/seed':>7}"
    print(header)
    print("-" * len(header))
    for task_name in args.task or list(TASKS):
        task = TASKS[task_name]
        scores, seconds = {}, {}

        def record(name, value, elapsed):
            scores.setdefault(name, []).append(value)
            seconds[name] = seconds.get(name, 0.0) + elapsed

        for seed in range(args.seeds):
            evaluate = dict(n_episodes=args.eval_episodes, random_state=10_000 + seed)
            space = gym.make(task["env"]).action_space
            zero = evaluate_policy(RandomPolicy(space, seed), task["env"], **evaluate).mean_return
            one = evaluate_policy(task["expert"], task["env"], **evaluate).mean_return

            def normalised(fitted):
                return (evaluate_policy(fitted, task["env"], **evaluate).mean_return - zero) / (
                    one - zero)

            demos, expert_rows = mixed_demonstrations(task, seed)
            start = time.perf_counter()
            plain = policy(seed).fit(demos.X, demos.y, groups=demos.groups)
            record("plain BC", normalised(plain), time.perf_counter() - start)
            start = time.perf_counter()
            oracle = policy(seed).fit(demos.X[expert_rows], demos.y[expert_rows])
            record("oracle (expert only)", normalised(oracle), time.perf_counter() - start)
            for name, weights in methods(demos, seed):
                start = time.perf_counter()
                fitted = policy(seed).fit(demos.X, demos.y, groups=demos.groups,
                                          sample_weight=weights())
                record(name, normalised(fitted), time.perf_counter() - start)
        low, high = np.mean(scores["plain BC"]), np.mean(scores["oracle (expert only)"])
        for name, values in scores.items():
            closed = (np.mean(values) - low) / (high - low) if high != low else np.nan
            gap = "" if name in ("plain BC", "oracle (expert only)") else f"{closed:>10.0%}"
            print(f"{task_name:<12} {name:<22} {np.mean(values):>10.2f} ± {np.std(values):<5.2f} "
                  f"{gap:>11} {seconds[name] / args.seeds:>7.1f}")


if __name__ == "__main__":
    main()
