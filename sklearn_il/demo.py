"""The main job: every policy of the library on the bimodal obstacle task."""

import time

import numpy as np
from sklearn.utils.parallel import Parallel, delayed

from .datasets import make_obstacle
from .envs import OBSTACLE, ObstacleEnv
from .evaluation import evaluate_policy, rollout, summarise_episodes
from .policies import (
    AutoregressiveBC,
    BCRegressor,
    DiffusionBC,
    FDivergenceBC,
    ImplicitBC,
    LatentBC,
    MixtureDensityBC,
)

# Each policy of the library for a state's action, with its defaults but
# ImplicitBC's epochs: on this task (seeds 0 to 4) 50 epochs succeeded in
# every episode, as the default 500 did on seed 0 in ten times the fit (59 s
# against 6 s). SequenceBC (a history) and InverseDynamicsRegressor (a pair
# of states) have their own benchmarks.
POLICIES = {
    "BCRegressor(loss='mse')": lambda **kw: BCRegressor(loss="mse", **kw),
    "BCRegressor(loss='gaussian')": lambda **kw: BCRegressor(loss="gaussian", **kw),
    "MixtureDensityBC": MixtureDensityBC,
    "DiffusionBC": DiffusionBC,
    "AutoregressiveBC": AutoregressiveBC,
    "LatentBC": LatentBC,
    "FDivergenceBC(reverse KL)": FDivergenceBC,
    "ImplicitBC(max_iter=50)": lambda **kw: ImplicitBC(**{"max_iter": 50, **kw}),
}


# By fit and rollout time in the demo's table on 2 cores, slowest first.
_BY_FIT_TIME = ["ImplicitBC(max_iter=50)", "FDivergenceBC(reverse KL)", "DiffusionBC", "LatentBC",
                "BCRegressor(loss='mse')", "AutoregressiveBC", "BCRegressor(loss='gaussian')",
                "MixtureDensityBC"]


def predict_latency_us(policy, X, n_calls=300):
    """Median time of a one-row ``predict`` call, in microseconds."""
    rows = X[np.random.default_rng(0).integers(len(X), size=n_calls)]
    for row in rows[:50]:  # warm up: first calls pay one-off costs
        policy.predict(row[None, :])
    times = []
    for row in rows:
        start = time.perf_counter()
        policy.predict(row[None, :])
        times.append(time.perf_counter() - start)
    return 1e6 * float(np.median(times))


# Rollouts of each policy drawn in the plot: the first of its evaluation episodes.
_PLOTTED_EPISODES = 20


def _fit_and_roll_out(name, data, n_eval_episodes, random_state, policy_params):
    """One policy's row of the table (but its predict latency), the policy, its plotted episodes."""
    policy = POLICIES[name](random_state=random_state, **(policy_params or {}))
    start = time.perf_counter()
    policy.fit(data.data, data.target, groups=data.groups)
    fit_seconds = time.perf_counter() - start
    trajectories = rollout(policy, OBSTACLE, n_eval_episodes, random_state + 1)
    result = summarise_episodes(trajectories)
    plotted = trajectories.take_episodes(range(min(_PLOTTED_EPISODES, n_eval_episodes)))
    return dict(policy=name, success_rate=result.success_rate, mean_return=result.mean_return,
                fit_seconds=fit_seconds), policy, plotted


def run_demo(n_episodes=50, n_eval_episodes=50, random_state=0, policy_params=None, plot=None,
             n_jobs=None):
    """Fit every policy on expert demonstrations, roll each out, tabulate.

    Parameters
    ----------
    n_episodes : int, default=50
        Expert demonstrations to fit on.
    n_eval_episodes : int, default=50
        Rollouts per policy.
    random_state : int, default=0
        Seeds demonstrations, fitting and rollouts.
    policy_params : dict, default=None
        Parameters set on every policy (e.g. smaller networks for a quick run).
    plot : str or None, default=None
        Path of a PNG of the rollouts, written when matplotlib is installed.
    n_jobs : int, default=None
        Policies fitted and rolled out at once, in joblib's processes (each
        with its share of the cores' threads); None is 1, -1 all cores. The
        one-row predict latency is measured afterwards, one policy at a time.

    Returns
    -------
    rows : list of dict
        One per policy (and the expert): ``policy``, ``success_rate``,
        ``mean_return``, ``fit_seconds``, ``predict_us_per_row``.
    """
    data = make_obstacle(n_episodes, random_state=random_state, return_X_y=False)
    X = data.data
    expert = evaluate_policy(data.expert, OBSTACLE, n_eval_episodes, random_state + 1)
    rows = [dict(policy="expert", success_rate=expert.success_rate,
                 mean_return=expert.mean_return, fit_seconds=float("nan"),
                 predict_us_per_row=float("nan"))]
    # The slowest fits first, so that the last job to start is a short one
    # (longest-first scheduling); the table keeps POLICIES' order.
    results = dict(zip(_BY_FIT_TIME, Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_roll_out)(name, data, n_eval_episodes, random_state, policy_params)
        for name in _BY_FIT_TIME
    )))
    panels = {"expert demonstrations": data.demonstrations}
    for row, policy, plotted in (results[name] for name in POLICIES):
        rows.append(dict(row, predict_us_per_row=predict_latency_us(policy, X)))
        panels[row["policy"]] = plotted
    if plot is not None:
        _plot(panels, plot)
    return rows


def format_table(rows):
    """The demo's rows as a fixed-width text table."""
    header = f"{'policy':<30} {'success':>8} {'return':>8} {'fit s':>7} {'predict µs/row':>15}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['policy']:<30} {r['success_rate']:>8.2f} {r['mean_return']:>8.3f} "
            f"{r['fit_seconds']:>7.2f} {r['predict_us_per_row']:>15.1f}"
        )
    return "\n".join(lines)


def _plot(panels, path):
    """One panel of trajectories (Demonstrations) per name, written to ``path``."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written.")
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(2.9 * len(panels), 3.4), sharey=True)
    for ax, (name, trajectories) in zip(np.atleast_1d(axes), panels.items()):
        ax.add_patch(plt.Circle(ObstacleEnv._obstacle, ObstacleEnv.radius, color="tab:green", alpha=0.5))
        for episode in np.unique(trajectories.groups):
            rows = trajectories.groups == episode
            ax.plot(*trajectories.X[rows].T, color="tab:blue", alpha=0.4, lw=1)
        ax.set(title=name, xlim=(0, ObstacleEnv.road_end), ylim=(-2.5, 2.5), xlabel="x", aspect="equal")
    np.atleast_1d(axes)[0].set_ylabel("y")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"rollouts plotted in {path}")
    return path
