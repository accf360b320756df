"""MuJoCo locomotion with the RL Zoo's experts: BC, DAgger, DART, CCIL and
DiffusionBC, beside the field's published figures.

The experts are the RL Baselines3 Zoo's TQC agents, read with NumPy
(``benchmarks/experts/README.md`` says where they come from and how they
were checked). For each task, budget of expert episodes and seed, each
method is fitted with the library's defaults and rolled out on
``--eval-episodes`` episodes. Its return is normalised: 0 for a
uniform-random policy and 1 for the expert, both measured in this run on
the same episodes. The methods:

- BC: ``BCRegressor`` on ``budget`` expert episodes;
- DAgger and DART at equal expert labels: ``budget // 5`` expert episodes,
  then 4 rounds of ``budget // 5`` episodes (the learner's, labelled by the
  expert; the expert's, with noise shaped like the learner's errors),
  each beside BC on as many expert labels (``BC, same labels``): a learner
  that falls early collects fewer labels than the expert's episodes hold;
- CCIL: BC on the demonstrations and ``CorrectiveAugmenter``'s labels;
- DiffusionBC on ``budget`` expert episodes.

Printed per row: mean (with its standard error), median and interquartile
range over seeds of the normalised return, the mean number of expert
labels and the mean fit seconds (of one seed, on one core). Then the
published figures.

``--spread`` measures instead how far BC's result moves with the training
seed alone, on the same demonstrations, and whether averaging the actions
of three policies trained with different seeds (scikit-learn's
``BaggingRegressor`` without bootstrap) narrows it, at what cost.
``--fragility`` measures what an action error of BC's size costs the
expert itself: BC's error on held-out expert episodes, and the expert's
return with Gaussian noise of that size on its actions. ``--ccil-labels``
checks CCIL's labels against the simulator: each label's state is set in
MuJoCo, its action stepped, and the state reached compared with the
demonstrated state the label was made to reach.

Run: ``python benchmarks/bench_mujoco.py [--seeds 5] [--tasks ...]
[--budgets 5 25] [--methods ...] [--jobs -1]``; ``--quick`` runs
HalfCheetah-v5 at 5 episodes with 2 seeds and 5 evaluation episodes (under
10 minutes on 2 cores); ``--spread`` the seed-spread table;
``--fragility --budgets 25`` the expert's sensitivity to BC's errors;
``--ccil-labels --budgets 5`` the check of CCIL's labels.
"""

import argparse
import pathlib
import sys
import time
import warnings

import gymnasium as gym
import mujoco
import numpy as np
import torch
from bench_bc import RandomPolicy
from bench_compounding import expert_labels
from joblib import Parallel, delayed
from sklearn.ensemble import BaggingRegressor
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCRegressor, DiffusionBC
from sklearn_il.augment import CorrectiveAugmenter
from sklearn_il.augment.corrective import standardised_distance
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.dynamics import transitions
from sklearn_il.evaluation import evaluate_policy
from sklearn_il.interactive import DAggerWrapper, DARTWrapper

EXPERTS = pathlib.Path(__file__).parent / "experts"
TASKS = {"Hopper-v5": "tqc-Hopper-v3", "Walker2d-v5": "tqc-Walker2d-v3",
         "HalfCheetah-v5": "tqc-HalfCheetah-v3"}
METHODS = ("BC", "DAgger", "DART", "CCIL", "DiffusionBC")
EVALUATION_SEED = 1000
PUBLISHED = """\
Published, for comparison (other experts, data and tuning):
  imitation's benchmark (seals variants, tuned, full data), normalised return:
    BC      Hopper 1.00   HalfCheetah 0.92   Walker2d 0.96
    DAgger  Hopper 1.01   HalfCheetah 1.02   Walker2d 1.00
  CCIL paper (D4RL expert data: 25 / 20 / 50 trajectories; small noise
  in evaluation), return:
    Hopper       BC 1984 -> CCIL 2631 (expert 3234)
    Walker2d     BC 1923 -> CCIL 3538
    HalfCheetah  BC 8309 -> CCIL 8757"""


class ZooActor:
    """A zoo agent's deterministic action, ``tanh`` of its actor's mean, in
    NumPy; the actions are within [-1, 1], the tasks' bounds."""

    def __init__(self, name):
        weights = np.load(EXPERTS / f"{name}.npz")
        self.layers = [(weights[f"{layer}_weight"].astype(np.float64),
                        weights[f"{layer}_bias"].astype(np.float64))
                       for layer in ("latent_pi_0", "latent_pi_2", "mu")]

    def predict(self, X):
        h = np.asarray(X, dtype=np.float64)
        for i, (weight, bias) in enumerate(self.layers):
            h = h @ weight.T + bias
            h = np.maximum(h, 0.0) if i < len(self.layers) - 1 else np.tanh(h)
        return h


def quiet_mujoco():
    """MuJoCo warns, at every env made, that gymnasium's model files use a
    deprecated attribute (``settotalmass``); that one is dropped, any other
    MuJoCo warning still reaches stderr."""
    def warn(message):
        if "settotalmass" not in message:
            print(f"MuJoCo warning: {message}", file=sys.stderr)

    mujoco.set_mju_user_warning(warn)


def mean_return(agent, task, n_episodes):
    """The agent's mean return on the evaluation episodes (the same for all)."""
    return evaluate_policy(agent, task, n_episodes, random_state=EVALUATION_SEED).mean_return


def references(task, expert, n_episodes):
    """The random policy's and the expert's mean returns on the evaluation
    episodes."""
    random_policy = RandomPolicy(gym.make(task).action_space, 0)
    return mean_return(random_policy, task, n_episodes), mean_return(expert, task, n_episodes)


def in_worker():
    """A seed's process: one torch thread, MuJoCo's deprecation notice and
    the ConvergenceWarnings dropped."""
    torch.set_num_threads(1)
    quiet_mujoco()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)


def run_seed(task, budget, seed, methods, n_eval):
    """One seed's rows: (method, mean return, expert labels, fit seconds)
    for each method; after DAgger and DART, BC on as many expert labels
    (fit seconds None)."""
    in_worker()
    expert = ZooActor(TASKS[task])
    demos = collect_demonstrations(task, expert, budget, random_state=seed)
    X, y, groups = demos.X, demos.y, demos.groups

    rows = []
    for method in methods:
        start = time.perf_counter()
        if method == "BC":
            policy, labels = BCRegressor(random_state=seed).fit(X, y), len(y)
        elif method == "CCIL":
            X_more, y_more = CorrectiveAugmenter(random_state=seed).fit_resample(X, y, groups)
            policy, labels = BCRegressor(random_state=seed).fit(X_more, y_more), len(y)
        elif method == "DiffusionBC":
            policy, labels = DiffusionBC(random_state=seed).fit(X, y, groups=groups), len(y)
        else:
            wrapper = {"DAgger": DAggerWrapper, "DART": DARTWrapper}[method]
            per_round = max(1, budget // 5)
            first = demos.take_episodes(range(per_round))
            policy = wrapper(BCRegressor(random_state=seed), task, expert, n_iter=4,
                             n_episodes_per_iter=per_round, random_state=seed)
            policy.fit(first.X, first.y, first.groups)
            labels = len(policy.y_)
        seconds = time.perf_counter() - start
        rows.append((method, mean_return(policy, task, n_eval), labels, seconds))
        if method in ("DAgger", "DART"):
            same = BCRegressor(random_state=seed).fit(
                *expert_labels(demos, labels, task, expert, None, seed))
            rows.append((f"BC, same labels as {method}", mean_return(same, task, n_eval),
                         labels, None))
    return rows


def spread_seed(task, budget, seed, n_eval):
    """BC and an average of three BC policies, trained with ``seed`` on the
    same demonstrations: (mean return, fit seconds) of each."""
    in_worker()
    demos = collect_demonstrations(task, ZooActor(TASKS[task]), budget, random_state=0)
    results = []
    for policy in (BCRegressor(random_state=seed),
                   BaggingRegressor(BCRegressor(), n_estimators=3, bootstrap=False,
                                    random_state=seed)):
        start = time.perf_counter()
        policy.fit(demos.X, demos.y)
        seconds = time.perf_counter() - start
        results.append((mean_return(policy, task, n_eval), seconds))
    return results


def seed_spread(args):
    header = (f"{'task':<15} {'policy':<22} {'budget':>6} {'mean':>6} {'std':>5} "
              f"{'min':>6} {'max':>6} {'fit s':>6}")
    print(f"# {args.seeds} training seeds on the same demonstrations, "
          f"{args.eval_episodes} evaluation episodes; normalised return")
    print(header)
    print("-" * len(header))
    for task in args.tasks:
        low, high = references(task, ZooActor(TASKS[task]), args.eval_episodes)
        for budget in args.budgets:
            per_seed = Parallel(n_jobs=args.jobs)(
                delayed(spread_seed)(task, budget, seed, args.eval_episodes)
                for seed in range(args.seeds))
            for i, name in enumerate(["BC", "BC, 3 seeds averaged"]):
                scores = np.array([(r[i][0] - low) / (high - low) for r in per_seed])
                fit = np.mean([r[i][1] for r in per_seed])
                print(f"{task:<15} {name:<22} {budget:>6} {scores.mean():6.2f} "
                      f"{scores.std():5.2f} {scores.min():6.2f} {scores.max():6.2f} "
                      f"{fit:6.1f}", flush=True)


class NoisyActor:
    """The expert with Gaussian noise of std ``scale`` (per action
    dimension) on its actions, clipped to the tasks' bounds."""

    def __init__(self, actor, scale, seed):
        self.actor, self.scale = actor, scale
        self.rng = np.random.default_rng(seed)

    def predict(self, X):
        actions = self.actor.predict(X)
        return np.clip(actions + self.rng.normal(size=actions.shape) * self.scale, -1, 1)


def fragility(args):
    """How much an error of BC's size costs the expert itself."""
    budget = max(args.budgets)
    print(f"# BC on {budget} expert episodes (seed 0); its action error on 5 "
          "held-out expert episodes (clipped to the bounds, as the rollouts act), "
          f"and the expert's normalised return, {args.eval_episodes} episodes, "
          "with Gaussian action noise of that RMS error times 0.5, 1 and 2")
    in_worker()
    for task in args.tasks:
        expert = ZooActor(TASKS[task])
        low, high = references(task, expert, args.eval_episodes)

        def normalised(agent):
            return (mean_return(agent, task, args.eval_episodes) - low) / (high - low)

        demos = collect_demonstrations(task, expert, budget + 5, random_state=0)
        train, held_out = demos.take_episodes(range(budget)), demos.take_episodes(
            range(budget, budget + 5))
        bc = BCRegressor(random_state=0).fit(train.X, train.y)
        error = np.clip(bc.predict(held_out.X), -1, 1) - held_out.y
        rms = np.sqrt(np.mean(error ** 2, axis=0))
        noisy = [normalised(NoisyActor(expert, f * rms, 0)) for f in (0.5, 1, 2)]
        print(f"{task:<15} BC {normalised(bc):.2f}; error RMS {rms.mean():.3f}, median "
              f"|error| {np.median(np.abs(error)):.3f}; expert with noise "
              + " / ".join(f"{v:.2f}" for v in noisy), flush=True)


def ccil_labels(args):
    """CCIL's labels against the simulator: from each label's state, does
    its action reach the demonstrated state it was made for?"""
    budget = min(args.budgets)
    print(f"# CorrectiveAugmenter's defaults, one label per transition, {budget} "
          "expert episodes (seed 0); distances in its standardised units; "
          "medians (90th percentiles) over the labels kept")
    in_worker()
    for task in args.tasks:
        demos = collect_demonstrations(task, ZooActor(TASKS[task]), budget, random_state=0)
        X, y, groups = demos.X, demos.y, demos.groups
        radius = CorrectiveAugmenter().epsilon
        # Every label is returned, in transition order; the default radius
        # is applied below, where each label's transition is known.
        augmenter = CorrectiveAugmenter(epsilon=1e12, n_labels_per_point=1, random_state=0)
        X_all, y_all = augmenter.fit_resample(X, y, groups)
        label_X, label_y = X_all[len(X):], y_all[len(X):]
        _, next_X, rows = transitions(X, y, groups)

        def distance(a, b):
            return standardised_distance(a, b, augmenter.scale_)

        model_error = distance(augmenter.dynamics_.predict(np.hstack([X[rows], y[rows]])),
                               next_X)
        offset = distance(label_X, X[rows])
        kept = (offset < radius) & (model_error < radius)
        env = gym.make(task).unwrapped
        env.reset(seed=0)
        # The observation leaves out the x position, which the dynamics do
        # not depend on.
        n_position = env.model.nq - 1
        reached = []
        for state, action in zip(label_X[kept], label_y[kept]):
            env.set_state(np.r_[0.0, state[:n_position]], state[n_position:])
            reached.append(env.step(action)[0])
        miss = distance(np.array(reached), next_X[kept]) if kept.any() else np.array([np.nan])

        def cell(values):
            return f"{np.median(values):.3f} ({np.percentile(values, 90):.3f})"

        print(f"{task:<15} kept {kept.mean():4.0%}; step {cell(distance(next_X, X[rows]))}; "
              f"label's offset from its state {cell(offset[kept])}, its miss of the "
              f"state it should reach {cell(miss)}; model error {cell(model_error)}",
              flush=True)


def summary(values):
    """Mean, its standard error, median and interquartile range."""
    values = np.asarray(values)
    q25, median, q75 = np.percentile(values, [25, 50, 75])
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else np.nan
    return f"{values.mean():6.2f} {se:5.2f} {median:6.2f} {q75 - q25:6.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--budgets", nargs="*", type=int, default=[5, 25])
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--jobs", type=int, default=-1, help="seeds run at once")
    parser.add_argument("--quick", action="store_true",
                        help="HalfCheetah-v5, 5 episodes, 2 seeds, 5 evaluation episodes")
    parser.add_argument("--spread", action="store_true",
                        help="BC's spread over training seeds, and an average of three")
    parser.add_argument("--fragility", action="store_true",
                        help="what an action error of BC's size costs the expert")
    parser.add_argument("--ccil-labels", action="store_true",
                        help="CCIL's labels checked against the simulator")
    args = parser.parse_args()
    quiet_mujoco()
    if args.spread:
        return seed_spread(args)
    if args.fragility:
        return fragility(args)
    if args.ccil_labels:
        return ccil_labels(args)
    if args.quick:
        args.tasks, args.budgets, args.seeds, args.eval_episodes = (
            ["HalfCheetah-v5"], [5], 2, 5)
    header = (f"{'task':<15} {'method':<27} {'budget':>6} {'labels':>7} "
              f"{'mean':>6} {'se':>5} {'median':>6} {'IQR':>6} {'fit s':>7}")
    print(f"# {args.seeds} seeds, {args.eval_episodes} evaluation episodes; "
          "normalised return over seeds")
    print(header)
    print("-" * len(header))
    for task in args.tasks:
        low, high = references(task, ZooActor(TASKS[task]), args.eval_episodes)
        print(f"# {task}: expert return {high:.0f}, random {low:.0f}", flush=True)
        for budget in args.budgets:
            per_seed = Parallel(n_jobs=args.jobs)(
                delayed(run_seed)(task, budget, seed, args.methods, args.eval_episodes)
                for seed in range(args.seeds))
            for i, (method, *_) in enumerate(per_seed[0]):
                results = [rows[i] for rows in per_seed]
                normalised = [(r[1] - low) / (high - low) for r in results]
                labels = np.mean([r[2] for r in results])
                fit = [r[3] for r in results if r[3] is not None]
                fit = f"{np.mean(fit):7.1f}" if fit else f"{'':>7}"
                print(f"{task:<15} {method:<27} {budget:>6} {labels:>7.0f} "
                      f"{summary(normalised)} {fit}", flush=True)
    print()
    print(PUBLISHED)


if __name__ == "__main__":
    main()
