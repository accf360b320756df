"""Compounding error: BC, NoiseBC, CCIL+BC, DART and DAgger against expert labels.

For each task and label budget (in expert episodes' worth of labels): the
normalised return (random policy 0, expert 1; mean ± std over seeds) of

- BC: behaviour cloning on ``budget`` expert episodes;
- NoiseBC: the same, plus noisy copies of the observations (``NoiseAugmenter``);
- CCIL+BC: the same, plus corrective labels (``CorrectiveAugmenter``, learned
  Lipschitz dynamics); on the winding road also with the known dynamics;
- DART: one expert episode, then ``budget - 1`` rounds of one noisy expert episode;
- DAgger: one expert episode, then ``budget - 1`` rounds of one learner episode;
- DAgger (half expert): ``budget // 2`` expert episodes (at least one),
  then the rest of the budget in rounds of one learner episode.

Before each task's table, a line on the dynamics model CCIL learns: the
held-out R² of ``DynamicsRegressor``'s one-step residual ``s' - s``
(variance-weighted over state features; fitted on 4 expert episodes, scored
on 2 others), with and without the Lipschitz bound, and the share of CCIL's
generated labels kept at a budget of one episode. Before the DART and DAgger
rows, a line on how far BC drifts: BC fitted on 2 expert episodes, its mean
distance to the expert's action at its own states in 10 episodes
(``compounding_error``) over the same distance on 2 held-out expert
episodes. DAgger pays where that ratio is large (BC's mistakes take it to
states the demonstrations never showed) and adds little over more
demonstrations where it is near 1.

Columns ``labels`` give the mean number of expert labels used. A learner
that crashes early collects fewer labels per round than the expert's
episodes hold, so each DART and DAgger row also gives, in ``BC, same
labels``, BC trained on exactly as many expert labels (the first rows of
the expert's episodes) with the same seed: the comparison DAgger's theory
speaks to. Every policy is evaluated on clean episodes and on perturbed
ones (Gaussian noise of std ``--perturb`` on every observation and on
every action, as in the CCIL paper's evaluation; boolean features
excepted).

``--hidden default`` uses the library's default network (256, 256) instead
of (64, 64); ``--methods`` runs a subset.

Run: ``python benchmarks/bench_compounding.py [--seeds 5] [--tasks ...]
[--budgets 2 4 8] [--hidden small|default] [--methods BC DAgger ...]``.
"""

import argparse
import time
import warnings

import gymnasium as gym
import numpy as np
from bench_bc import RandomPolicy
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score

from sklearn_il import BCRegressor
from sklearn_il.augment import CorrectiveAugmenter, NoiseAugmenter
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.dynamics import DynamicsRegressor, transitions
from sklearn_il.envs import WINDING_ROAD
from sklearn_il.evaluation import compounding_error, evaluate_policy
from sklearn_il.experts import make_expert
from sklearn_il.interactive import DAggerWrapper, DARTWrapper

warnings.filterwarnings("ignore", category=ConvergenceWarning)

# task: (label budgets in episodes, steps per episode, observation features
# left unperturbed: LunarLander's leg-contact flags are booleans)
TASKS = {
    WINDING_ROAD: ((1, 2, 4), 200, []),
    "Pendulum-v1": ((1, 2, 4), 200, []),
    "LunarLanderContinuous-v3": ((1, 2, 4), 400, [6, 7]),
    "InvertedDoublePendulum-v5": ((1, 2, 4), 300, []),
    # MuJoCo, smooth local dynamics: the setting CCIL's assumptions are made for.
    "Reacher-v5": ((1, 2, 4), 50, []),
}
METHODS = ("BC", "NoiseBC", "CCIL+BC", "DART", "DAgger", "DAgger (half expert)")
HIDDEN = {"small": (64, 64), "default": BCRegressor().hidden_layer_sizes}
SETTINGS = {"hidden_layer_sizes": HIDDEN["small"]}


def policy(seed):
    return BCRegressor(random_state=seed, **SETTINGS)


def winding_road_model(states, actions):
    """The winding road's own dynamics, as a known model for CCIL.

    Offset and heading follow the env's equations; the curvature ahead is
    interpolated between the two curvatures the observation shows.
    """
    e, psi, kappa, kappa_ahead = states.T
    u = 2.0 * np.clip(actions[:, 0], -1, 1)
    dt = 0.1
    return np.c_[
        e + dt * np.sin(psi),
        psi + dt * (u - kappa + 1.5 * psi),
        kappa + dt * (kappa_ahead - kappa),
        kappa_ahead,
    ]


class Perturbed(gym.Wrapper):
    """Gaussian noise of std ``scale`` on observations and executed actions.

    Observation features listed in ``exact`` are left as they are.
    """

    def __init__(self, env, scale, exact=()):
        super().__init__(env)
        self.scale = scale
        self.exact = list(exact)

    def _noisy(self, obs):
        noise = self.rng.normal(0, self.scale, np.shape(obs))
        noise[self.exact] = 0.0
        return (obs + noise).astype(obs.dtype)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        self.rng = np.random.default_rng(self.env.np_random.integers(2**31))
        return self._noisy(obs), info

    def step(self, action):
        space = self.env.action_space
        action = np.clip(action + self.rng.normal(0, self.scale, np.shape(action)),
                         space.low, space.high).astype(space.dtype)
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._noisy(obs), reward, terminated, truncated, info


def normalised_return(task, expert, perturb, n_episodes):
    """``normalised(agent, perturbed)``: the agent's mean return on the same
    ``n_episodes`` episodes, 0 for a random policy and 1 for ``expert``, on
    clean episodes or with noise of std ``perturb`` (see :class:`Perturbed`).
    Prints the two references."""
    _, steps, exact = TASKS[task]

    def mean_return(agent, perturbed):
        env = Perturbed(gym.make(task), perturb, exact) if perturbed else gym.make(task)
        return evaluate_policy(agent, env, n_episodes, random_state=1000,
                               max_episode_steps=steps).mean_return

    space = gym.make(task).action_space
    low = {p: mean_return(RandomPolicy(space, 0), p) for p in (False, True)}
    high = {p: mean_return(expert, p) for p in (False, True)}
    print(f"# {task}: expert return {high[False]:.1f} (perturbed {high[True]:.1f}), "
          f"random {low[False]:.1f} (perturbed {low[True]:.1f})", flush=True)
    return lambda agent, perturbed: ((mean_return(agent, perturbed) - low[perturbed])
                                     / (high[perturbed] - low[perturbed]))


def dynamics_line(task, steps, seeds, expert):
    """Held-out residual R² of the learned dynamics, and CCIL's kept labels."""
    bound = CorrectiveAugmenter().lipschitz_constant  # CCIL's default model
    r2 = {bound: [], None: []}
    kept = []
    for seed in range(seeds):
        demos = collect_demonstrations(task, expert, 6, random_state=seed, max_episode_steps=steps)
        train, test = demos.take_episodes(range(4)), demos.take_episodes([4, 5])
        fit_on, fit_to, _ = transitions(train.X, train.y, train.groups)
        score_on, score_to, _ = transitions(test.X, test.y, test.groups)
        n = score_to.shape[1]
        for k in r2:
            model = DynamicsRegressor(lipschitz_constant=k, random_state=seed).fit(fit_on, fit_to)
            r2[k].append(r2_score(score_to - score_on[:, :n], model.predict(score_on) - score_on[:, :n],
                                  multioutput="variance_weighted"))
        one = demos.take_episodes([0])
        augmenter = CorrectiveAugmenter(random_state=seed).fit(one.X, one.y, groups=one.groups)
        kept.append(augmenter.kept_fraction_)
    return (f"# {task}: dynamics residual R² {np.mean(r2[bound]):.2f} ± {np.std(r2[bound]):.2f} "
            f"(K={bound:g}), {np.mean(r2[None]):.2f} ± {np.std(r2[None]):.2f} (no bound); "
            f"CCIL keeps {np.mean(kept):.0%} of its labels")


def drift_line(task, steps, seeds, expert):
    """How much worse BC acts at its own states than at held-out expert states."""
    ratios = []
    for seed in range(seeds):
        demos = collect_demonstrations(task, expert, 4, random_state=seed, max_episode_steps=steps)
        train, test = demos.take_episodes([0, 1]), demos.take_episodes([2, 3])
        bc = policy(seed).fit(train.X, train.y)
        held_out = np.linalg.norm(bc.predict(test.X).reshape(len(test.y), -1)
                                  - test.y.reshape(len(test.y), -1), axis=1).mean()
        drift = compounding_error(bc, task, expert, n_episodes=10, random_state=seed,
                                  max_episode_steps=steps)
        running = drift.n_running > 0
        on_policy = np.average(drift.action_error[running], weights=drift.n_running[running])
        ratios.append(on_policy / held_out)
    return (f"# {task}: BC on 2 episodes errs {np.mean(ratios):.1f} ± {np.std(ratios):.1f} times "
            f"more at its own states than at held-out expert states")


def fitted_policies(task, budget, steps, seed, expert, methods=METHODS):
    """Yield (method, fitted policy, expert labels used, BC on as many expert
    labels or None) for one budget and seed."""
    demos = collect_demonstrations(task, expert, budget, random_state=seed, max_episode_steps=steps)
    X, y, groups = demos.X, demos.y, demos.groups
    if "BC" in methods:
        yield "BC", policy(seed).fit(X, y), len(y), None
    if "NoiseBC" in methods:
        X_noise, y_noise = NoiseAugmenter(random_state=seed).fit_resample(X, y, groups)
        yield "NoiseBC", policy(seed).fit(X_noise, y_noise), len(y), None
    if "CCIL+BC" in methods:
        X_ccil, y_ccil = CorrectiveAugmenter(random_state=seed).fit_resample(X, y, groups)
        yield "CCIL+BC", policy(seed).fit(X_ccil, y_ccil), len(y), None
        if task == WINDING_ROAD:
            known = CorrectiveAugmenter(winding_road_model, random_state=seed)
            yield ("CCIL+BC (known dynamics)", policy(seed).fit(*known.fit_resample(X, y, groups)),
                   len(y), None)
    for name, wrapper, n_first in (("DART", DARTWrapper, 1), ("DAgger", DAggerWrapper, 1),
                                   ("DAgger (half expert)", DAggerWrapper, max(1, budget // 2))):
        if name not in methods:
            continue
        first = demos.take_episodes(range(n_first))
        model = wrapper(policy(seed), task, expert, n_iter=budget - n_first, n_episodes_per_iter=1,
                        max_episode_steps=steps, random_state=seed)
        model.fit(first.X, first.y, first.groups)
        n_labels = len(model.y_)
        yield name, model, n_labels, policy(seed).fit(*expert_labels(demos, n_labels, task,
                                                                     expert, steps, seed))


def expert_labels(demos, n_labels, task, expert, steps, seed):
    """The first ``n_labels`` rows of the expert's episodes (those BC gets):
    ``demos``, the budget's episodes, or more of the same seed's, since
    DAgger's learner can collect more labels per round than the expert's
    episodes hold (hovering where the expert lands)."""
    while len(demos.y) < n_labels:
        # Episode i depends on the seed and i alone: these extend ``demos``.
        demos = collect_demonstrations(task, expert, 2 * demos.n_episodes, random_state=seed,
                                       max_episode_steps=steps)
    return demos.X[:n_labels], demos.y[:n_labels]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--perturb", type=float, default=0.01)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS))
    parser.add_argument("--budgets", nargs="*", type=int, default=None,
                        help="label budgets in expert episodes (default: each task's)")
    parser.add_argument("--hidden", choices=list(HIDDEN), default="small")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args()
    SETTINGS["hidden_layer_sizes"] = HIDDEN[args.hidden]
    print(f"# networks: {HIDDEN[args.hidden]}; {args.seeds} seeds")
    header = (f"{'task':<26} {'method':<25} {'budget':>6} {'labels':>7} "
              f"{'norm. return':>15} {'perturbed':>15} {'BC, same labels':>15} {'s/seed':>7}")
    print(header)
    print("-" * len(header))
    for task in args.tasks:
        budgets, steps, _ = TASKS[task]
        expert = make_expert(task)

        normalised = normalised_return(task, expert, args.perturb, args.eval_episodes)
        if "CCIL+BC" in args.methods:
            print(dynamics_line(task, steps, args.seeds, expert), flush=True)
        if {"DART", "DAgger", "DAgger (half expert)"} & set(args.methods):
            print(drift_line(task, steps, args.seeds, expert), flush=True)
        for budget in args.budgets or budgets:
            results = {}
            start = time.perf_counter()
            for seed in range(args.seeds):
                for name, fitted, labels, bc in fitted_policies(task, budget, steps, seed, expert,
                                                                args.methods):
                    row = results.setdefault(name, {"labels": [], False: [], True: [], "bc": []})
                    row["labels"].append(labels)
                    for p in (False, True):
                        row[p].append(normalised(fitted, p))
                    if bc is not None:
                        row["bc"].append(normalised(bc, False))
            per_seed = (time.perf_counter() - start) / args.seeds
            for name, row in results.items():
                cells = [f"{np.mean(row[k]):.2f} ± {np.std(row[k]):.2f}" if row[k] else ""
                         for k in (False, True, "bc")]
                print(f"{task:<26} {name:<25} {budget:>6} {np.mean(row['labels']):>7.0f} "
                      f"{cells[0]:>15} {cells[1]:>15} {cells[2]:>15} {per_seed:>7.0f}", flush=True)


if __name__ == "__main__":
    main()
