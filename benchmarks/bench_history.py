"""History-conditioned policies on a partially observed task, and the copycat check.

Pendulum-v1 with its angular velocity hidden: the observation is
``(cos theta, sin theta)`` only. The expert acts on the full state while
demonstrating; the policies see the partial observation, and need the past
to tell the velocity. Compared: ``BCRegressor`` on one frame, on
``HistoryStacker(n_frames=3)`` rows, and ``SequenceBC(n_frames=3)`` (a GRU
over the same frames). Printed: normalised return (random policy 0,
expert 1), mean ± std over seeds, and the copycat check: the lag-1
correlation of the policy's own actions in its rollouts (a policy that
copies its previous action has correlation near 1) against the expert's,
and the mean absolute error of its actions on held-out expert episodes.

Run: ``python benchmarks/bench_history.py [--seeds 5]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from bench_bc import RandomPolicy
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline

from sklearn_il import BCRegressor, SequenceBC
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.evaluation import rollout
from sklearn_il.experts import make_expert
from sklearn_il.preprocessing import HistoryStacker

warnings.filterwarnings("ignore", category=ConvergenceWarning)

TASK = "Pendulum-v1"
FRAMES = 3


def hidden_velocity():
    """Pendulum-v1 showing only (cos theta, sin theta)."""
    env = gym.make(TASK)
    space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
    return gym.wrappers.TransformObservation(env, lambda obs: obs[:2], space)


POLICIES = {
    "BC, one frame": lambda seed: BCRegressor(random_state=seed),
    f"BC, HistoryStacker({FRAMES})": lambda seed: make_pipeline(
        HistoryStacker(FRAMES), BCRegressor(random_state=seed)),
    f"SequenceBC({FRAMES})": lambda seed: make_pipeline(
        HistoryStacker(FRAMES), SequenceBC(n_frames=FRAMES, random_state=seed)),
}


def lag1(demos):
    """Correlation of each action with the one before, within episodes."""
    a = demos.y.reshape(len(demos), -1)[:, 0]
    same = demos.groups[1:] == demos.groups[:-1]
    return float(np.corrcoef(a[1:][same], a[:-1][same])[0, 1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--demos", type=int, default=20)
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()
    expert = make_expert(TASK)
    random = rollout(RandomPolicy(gym.make(TASK).action_space, 0), TASK, args.eval_episodes,
                     random_state=1000).episode_returns().mean()
    reference = rollout(expert, TASK, args.eval_episodes, random_state=1000)
    best = reference.episode_returns().mean()
    print(f"# {TASK}, velocity hidden: expert return {best:.1f} (lag-1 action correlation "
          f"{lag1(reference):.2f}), random {random:.1f}")
    header = f"{'policy':<26} {'norm. return':>15} {'lag-1 corr.':>13} {'held-out MAE':>13} {'s/seed':>7}"
    print(header)
    print("-" * len(header))
    for name, make in POLICIES.items():
        returns, corr, errors = [], [], []
        start = time.perf_counter()
        for seed in range(args.seeds):
            demos = collect_demonstrations(TASK, expert, args.demos + 5, random_state=seed)
            train, test = demos.take_episodes(range(args.demos)), demos.take_episodes(
                range(args.demos, args.demos + 5))
            policy = make(seed)
            params = {} if isinstance(policy, BCRegressor) else {"historystacker__groups": train.groups}
            policy.fit(train.X[:, :2], train.y.ravel(), **params)
            if isinstance(policy, BCRegressor):
                predicted = policy.predict(test.X[:, :2])
            else:
                stacked = policy[0].transform(test.X[:, :2], groups=test.groups)
                predicted = policy[1:].predict(stacked)
            errors.append(np.abs(predicted - test.y.ravel()).mean())
            runs = rollout(policy, hidden_velocity, args.eval_episodes, random_state=1000)
            returns.append((runs.episode_returns().mean() - random) / (best - random))
            corr.append(lag1(runs))
        per_seed = (time.perf_counter() - start) / args.seeds
        print(f"{name:<26} {np.mean(returns):>6.2f} ± {np.std(returns):.2f} "
              f"{np.mean(corr):>6.2f} ± {np.std(corr):.2f} {np.mean(errors):>13.3f} {per_seed:>7.0f}",
              flush=True)


if __name__ == "__main__":
    main()
