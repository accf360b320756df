"""Rollout speed: env steps per second against the env stepping alone.

For each task, policies fitted on expert demonstrations (the library's
defaults) are rolled out with ``evaluate_policy`` at ``n_envs`` 1, 4, 16
(sync) and 16 (async). The limit, measured in the same run, is the envs
stepping alone at the same ``n_envs``, with actions from a precomputed
array (no policy). The columns are env steps per second and their ratio to
that limit (targets at 16 envs, DESIGN.md §6 and issue 12: ``BCRegressor``
>= 0.7, ``DiffusionBC`` >= 0.4).

A second reference separates the library's cost from the network's: the
``floor`` loop steps the same envs and, at every step, runs the policy's
network on the batch of observations as bare torch modules (the fitted
``nn.Sequential`` layers, as many passes as the policy makes: one for
BC, one per denoising step for diffusion, trunk and heads for the
autoregressive policy), with no conversion, validation or decoding.
``floor`` is that loop's rate over the limit, ``vs floor`` ours over it.

Each figure is the median of ``--repeats`` runs, the three loops
alternating. Run: ``python benchmarks/bench_rollout.py [--episodes 32]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import AutoregressiveBC, BCRegressor, DiffusionBC
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.experts import PendulumSwingUp

warnings.filterwarnings("ignore", category=ConvergenceWarning)

TASKS = {"Pendulum-v1": PendulumSwingUp, OBSTACLE: ObstacleExpert}
POLICIES = {
    "BCRegressor": lambda: BCRegressor(random_state=0),
    "DiffusionBC": lambda: DiffusionBC(random_state=0),
    "AutoregressiveBC": lambda: AutoregressiveBC(random_state=0),
}
SETTINGS = [(1, "sync"), (4, "sync"), (16, "sync"), (16, "async")]


def env_limit(env_id, n_envs, vectorization, n_steps, actions, network=None):
    """Env steps per second of ``n_envs`` envs stepping precomputed actions.

    With ``network`` (a function of a float32 observation tensor), it runs
    on each step's observations first: the floor loop.
    """
    make = gym.vector.AsyncVectorEnv if vectorization == "async" else gym.vector.SyncVectorEnv
    envs = make([lambda: gym.make(env_id)] * n_envs)
    obs, _ = envs.reset(seed=0)
    batch = np.repeat(actions[:, None], n_envs, axis=1)
    start = time.perf_counter()
    for t in range(n_steps // n_envs):
        if network is not None:
            with torch.inference_mode():
                network(torch.as_tensor(obs, dtype=torch.float32))
        obs = envs.step(batch[t % len(batch)])[0]
    seconds = time.perf_counter() - start
    envs.close()
    return n_envs * (n_steps // n_envs) / seconds


def bare_network(policy):
    """The passes a policy's network makes per batch, as bare torch modules."""
    module = policy.net_.module_
    if isinstance(policy, DiffusionBC):
        # One pass of the denoiser per step on (observation, noised action,
        # time embedding), for each of predict's fixed noise draws.
        body, n_steps = torch.nn.Sequential(module.first, *module.rest), policy.n_inference_steps
        width = module.first.in_features - module.widths[0]
        n_draws = len(module.noise)

        def network(obs):
            obs = obs.repeat_interleave(n_draws, 0)
            x = torch.cat([obs, obs.new_zeros(len(obs), width)], dim=1)
            for _ in range(n_steps):
                body(x)
    elif isinstance(policy, AutoregressiveBC):

        def network(obs):
            features = module.trunk(obs)
            previous = obs.new_zeros(len(obs), 0)
            for head in module.heads:
                logits = head(torch.cat([features, previous], dim=1))
                previous = torch.cat([previous, logits[:, :1]], dim=1)
    else:
        network = module.body
    return network


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=32)
    parser.add_argument("--demos", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{'task':<22} {'policy':<17} {'n_envs':>6} {'mode':>5} {'steps/s':>9} "
          f"{'limit':>9} {'ratio':>6} {'floor':>6} {'vs floor':>8}")
    for env_id, make_expert in TASKS.items():
        demos = collect_demonstrations(env_id, make_expert(), args.demos, random_state=0)
        actions = demos.y[:200].reshape(-1, *gym.make(env_id).action_space.shape)
        for name, make in POLICIES.items():
            policy = make().fit(demos.X, demos.y, groups=demos.groups)
            network = bare_network(policy)
            for n_envs, mode in SETTINGS:
                # Medians of alternating repeats: a noisy shared machine
                # affects all three alike.
                rates, limits, floors = [], [], []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    result = evaluate_policy(policy, env_id, args.episodes, random_state=1,
                                             n_envs=n_envs, vectorization=mode)
                    n_steps = int(result.lengths.sum())
                    rates.append(n_steps / (time.perf_counter() - start))
                    limits.append(env_limit(env_id, n_envs, mode, n_steps, actions))
                    floors.append(env_limit(env_id, n_envs, mode, n_steps, actions, network))
                rate, limit, floor = np.median(rates), np.median(limits), np.median(floors)
                print(f"{env_id:<22} {name:<17} {n_envs:>6} {mode:>5} {rate:>9.0f} "
                      f"{limit:>9.0f} {rate / limit:>6.2f} {floor / limit:>6.2f} "
                      f"{rate / floor:>8.2f}", flush=True)

if __name__ == "__main__":
    main()
