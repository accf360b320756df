"""Behaviour cloning from observation: inverse-dynamics labels against true actions.

For each task: an ``InverseDynamicsRegressor`` is fitted on the agent's own
play (episodes of uniformly random actions, whose actions are known), labels
expert demonstrations given as observations only (``label_actions``), and a
``BCRegressor`` is cloned from those labels. Printed: the labels' mean
absolute error against the expert's true actions (in units of the action
range), and the normalised return (random policy 0, expert 1) and success
rate of BC on the inferred labels against BC on the true actions, mean ±
std over seeds. The observation after each episode's last step is passed
too (``final_observations``), so every step has its successor.

Run: ``python benchmarks/bench_observation.py [--seeds 5]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from bench_bc import RandomPolicy
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCRegressor
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.dynamics import InverseDynamicsRegressor, state_pairs
from sklearn_il.envs import POINT_REACH
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import make_expert

warnings.filterwarnings("ignore", category=ConvergenceWarning)

# task: (expert demonstrations, play episodes, steps per episode)
TASKS = {
    POINT_REACH: (50, 50, None),
    "Pendulum-v1": (20, 20, None),
    "LunarLanderContinuous-v3": (20, 20, 400),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=20)
    args = parser.parse_args()
    header = (f"{'task':<26} {'label MAE':>10} {'BC on true actions':>26} "
              f"{'BC on inferred actions':>26} {'s/seed':>7}")
    print(header)
    print("-" * len(header))
    for task, (n_demos, n_play, steps) in TASKS.items():
        expert = make_expert(task)
        space = gym.make(task).action_space

        def evaluate(agent):
            return evaluate_policy(agent, task, args.eval_episodes, random_state=1000,
                                   max_episode_steps=steps)

        low = evaluate(RandomPolicy(space, 0)).mean_return
        high = evaluate(expert).mean_return
        errors, results = [], {"true": [], "inferred": []}
        start = time.perf_counter()
        for seed in range(args.seeds):
            play = collect_demonstrations(task, RandomPolicy(space, seed), n_play,
                                          random_state=seed + 10_000, max_episode_steps=steps)
            pairs, rows = state_pairs(play.X, play.groups)
            idm = InverseDynamicsRegressor(random_state=seed).fit(pairs, play.y[rows])
            demos = collect_demonstrations(task, expert, n_demos, random_state=seed,
                                           max_episode_steps=steps)
            inferred = idm.label_actions(demos.X, demos.groups, demos.final_observations)
            inferred = inferred.reshape(demos.y.shape)
            errors.append(np.mean(np.abs(inferred - demos.y) / (space.high - space.low)))
            for name, labels in (("true", demos.y), ("inferred", inferred)):
                result = evaluate(BCRegressor(random_state=seed).fit(demos.X, labels))
                results[name].append(((result.mean_return - low) / (high - low), result.success_rate))
        per_seed = (time.perf_counter() - start) / args.seeds
        cells = []
        for name in ("true", "inferred"):
            norm, success = np.array(results[name]).T
            text = f"{norm.mean():.2f} ± {norm.std():.2f}"
            if not np.isnan(success).all():
                text += f" (succ. {success.mean():.2f})"
            cells.append(text)
        print(f"{task:<26} {np.mean(errors):>10.3f} {cells[0]:>26} {cells[1]:>26} {per_seed:>7.0f}",
              flush=True)


if __name__ == "__main__":
    main()
