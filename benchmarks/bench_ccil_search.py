"""CCIL tuned by the library's own search, against BC tuned the same way.

For each task, at a small budget of expert episodes, two searches of the
same size, each a ``GridSearchCV`` with folds by episode (``GroupKFold``)
and every candidate scored by its own rollouts
(:func:`~sklearn_il.evaluation.make_rollout_scorer`):

- CCIL+BC: imbalanced-learn's ``Pipeline(CorrectiveAugmenter,
  BCRegressor)`` over ``epsilon`` (0.1, 0.3 and 0.9 standardised units,
  the default being 0.3) and ``lipschitz_constant`` (2, 8, 27: over the default model's three
  layers, 1.26, 2 and 3 per layer, CCIL's range; 8 is the default);
- BC: ``BCRegressor`` over ``alpha`` (1e-4, 1e-3, 1e-2) and
  ``hidden_layer_sizes`` ((64, 64), (128, 128), (256, 256)).

The winner of each search, refitted on all the episodes, is evaluated on
other episodes than the search's (normalised return: random policy 0,
expert 1), clean and with the CCIL paper's test-time noise on observations
and actions (``--perturb``). Mean ± std over seeds; each seed draws its own
demonstrations.

Run: ``python benchmarks/bench_ccil_search.py [--seeds 5] [--tasks ...]
[--episodes 4] [--n-jobs 2]``.
"""

import argparse
import time
import warnings

import numpy as np
import sklearn
from bench_compounding import TASKS, normalised_return
from imblearn.pipeline import make_pipeline
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_il import BCRegressor
from sklearn_il.augment import CorrectiveAugmenter
from sklearn_il.datasets import collect_demonstrations
from sklearn_il.evaluation import make_rollout_scorer
from sklearn_il.experts import make_expert

warnings.filterwarnings("ignore", category=ConvergenceWarning)


def searches(seed):
    """The two searches: (name, estimator, parameter grid)."""
    # Metadata routing (enabled in main) takes the episode ids to the folds
    # and to the augmenter, which learns dynamics from consecutive rows; the
    # policy after it declines them, as its rows no longer line up with them.
    ccil = make_pipeline(
        CorrectiveAugmenter(random_state=seed),
        BCRegressor(hidden_layer_sizes=(64, 64), random_state=seed).set_fit_request(groups=False))
    yield "CCIL+BC", ccil, {
        "correctiveaugmenter__epsilon": [0.1, 0.3, 0.9],
        "correctiveaugmenter__lipschitz_constant": [2.0, 8.0, 27.0],
    }
    yield "BC", BCRegressor(random_state=seed), {
        "alpha": [1e-4, 1e-3, 1e-2],
        "hidden_layer_sizes": [(64, 64), (128, 128), (256, 256)],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=4)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--search-episodes", type=int, default=5)
    parser.add_argument("--perturb", type=float, default=0.02)
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--tasks", nargs="*", default=list(TASKS), choices=list(TASKS))
    args = parser.parse_args()
    sklearn.set_config(enable_metadata_routing=True)
    header = (f"{'task':<26} {'search':<8} {'norm. return':>15} {'perturbed':>15} "
              f"{'most chosen':<58} {'s/seed':>7}")
    print(f"# {args.episodes} expert episodes, folds by episode (GroupKFold(2)), "
          f"{args.seeds} seeds; test-time noise {args.perturb}")
    print(header)
    print("-" * len(header))
    for task in args.tasks:
        steps = TASKS[task][1]
        expert = make_expert(task)
        normalised = normalised_return(task, expert, args.perturb, args.eval_episodes)
        scorer = make_rollout_scorer(task, args.search_episodes, random_state=0,
                                     max_episode_steps=steps)
        rows = {}
        for seed in range(args.seeds):
            demos = collect_demonstrations(task, expert, args.episodes, random_state=seed,
                                           max_episode_steps=steps)
            for name, estimator, grid in searches(seed):
                start = time.perf_counter()
                search = GridSearchCV(estimator, grid, cv=GroupKFold(n_splits=2), scoring=scorer,
                                      n_jobs=args.n_jobs)
                search.fit(demos.X, demos.y, groups=demos.groups)
                row = rows.setdefault(name, {False: [], True: [], "chosen": [], "s": []})
                for p in (False, True):
                    row[p].append(normalised(search.best_estimator_, p))
                row["chosen"].append(", ".join(
                    f"{k.split('__')[-1]}={v}" for k, v in search.best_params_.items()))
                row["s"].append(time.perf_counter() - start)
        for name, row in rows.items():
            cells = [f"{np.mean(row[p]):.2f} ± {np.std(row[p]):.2f}" for p in (False, True)]
            values, counts = np.unique(row["chosen"], return_counts=True)
            print(f"{task:<26} {name:<8} {cells[0]:>15} {cells[1]:>15} "
                  f"{values[counts.argmax()][:50] + f' ({counts.max()}/{len(row[False])})':<58} "
                  f"{np.mean(row['s']):>7.0f}", flush=True)


if __name__ == "__main__":
    main()
