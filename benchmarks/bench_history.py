"""History-conditioned policies on a partially observed task, and the copycat check.

Pendulum-v1 with its angular velocity hidden: the observation is
``(cos theta, sin theta)`` only. The expert acts on the full state while
demonstrating; the policies see the partial observation, and need the past
to tell the velocity. Compared: ``BCRegressor`` on one frame, on
``HistoryStacker(n_frames=3)`` rows, and ``SequenceBC(n_frames=3)`` over
the same frames with its two encoders (a GRU, a causal transformer with
``learning_rate_init=3e-4``). Printed: normalised return (random policy 0,
expert 1), mean ± std over seeds, the lag-1 correlation of the policy's
own actions in its rollouts (a policy that copies its previous action has
correlation near 1) against the expert's, and the mean absolute error of
its actions on held-out expert episodes.

The copycat check (de Haan et al. 2019; Wen et al. 2020): the last rows
also see the previous action itself, appended to the observation (0
after reset), so it can be read off instead of inferred. A copycat fits
the held-out demonstrations better (the expert's actions change slowly)
and drives worse. For these rows the table also prints the copy gain: the
mean change of the policy's action per unit change of the previous action
it is fed, on held-out expert rows (1: it repeats the previous action; 0:
it ignores it).

Run: ``python benchmarks/bench_history.py [--seeds 5] [--rows transformer ...]``
(``--rows``: only the rows whose name contains one of the words).
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


class PreviousAction(gym.Wrapper):
    """Appends the previous action, as applied (clipped), to the observation; 0 after reset."""

    def __init__(self, env):
        super().__init__(env)
        space = env.action_space
        self.observation_space = gym.spaces.Box(
            np.r_[env.observation_space.low, space.low], np.r_[env.observation_space.high, space.high],
            dtype=np.float32)

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        return np.r_[obs, np.zeros(self.action_space.shape)].astype(np.float32), info

    def step(self, action):
        applied = np.clip(action, self.action_space.low, self.action_space.high).ravel()
        obs, reward, terminated, truncated, info = self.env.step(action)
        return np.r_[obs, applied].astype(np.float32), reward, terminated, truncated, info


def previous_actions(demos):
    """Each row's previous action in its episode as the expert applied it, 0 at the start."""
    space = gym.make(TASK).action_space
    y = np.clip(demos.y.reshape(len(demos), -1), space.low, space.high)
    previous = np.r_[np.zeros_like(y[:1]), y[:-1]]
    previous[np.r_[True, demos.groups[1:] != demos.groups[:-1]]] = 0.0
    return previous


def copy_gain(policy, rows, column, delta=0.1):
    """Mean change of the policy's action per unit change of the previous action it is fed.

    On held-out expert rows: 1 is a copycat (a_t = a_{t-1}); 0 ignores the
    previous action.
    """
    up, down = rows.copy(), rows.copy()
    up[:, column] += delta
    down[:, column] -= delta
    return float(np.mean((policy.predict(up) - policy.predict(down)) / (2 * delta)))


def stacked_bc(seed):
    return make_pipeline(HistoryStacker(FRAMES), BCRegressor(random_state=seed))


def sequence_bc(encoder, **params):
    return lambda seed: make_pipeline(HistoryStacker(FRAMES), SequenceBC(
        n_frames=FRAMES, encoder=encoder, random_state=seed, **params))


# The transformer's learning rate: see SequenceBC's docstring.
TRANSFORMER = dict(learning_rate_init=3e-4)


# name: (policy for a seed, whether it also sees the previous action)
POLICIES = {
    "BC, one frame": (lambda seed: BCRegressor(random_state=seed), False),
    f"BC, HistoryStacker({FRAMES})": (stacked_bc, False),
    f"SequenceBC({FRAMES}), GRU": (sequence_bc("gru"), False),
    f"SequenceBC({FRAMES}), transformer": (sequence_bc("transformer", **TRANSFORMER), False),
    "BC, one frame + prev. action": (lambda seed: BCRegressor(random_state=seed), True),
    f"BC, HistoryStacker({FRAMES}) + prev. action": (stacked_bc, True),
    f"SequenceBC({FRAMES}), transformer + prev. action": (
        sequence_bc("transformer", **TRANSFORMER), True),
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
    parser.add_argument("--rows", nargs="*", help="only the rows whose name contains one of these")
    args = parser.parse_args()
    expert = make_expert(TASK)
    random = rollout(RandomPolicy(gym.make(TASK).action_space, 0), TASK, args.eval_episodes,
                     random_state=1000).episode_returns().mean()
    reference = rollout(expert, TASK, args.eval_episodes, random_state=1000)
    best = reference.episode_returns().mean()
    print(f"# {TASK}, velocity hidden: expert return {best:.1f} (lag-1 action correlation "
          f"{lag1(reference):.2f}), random {random:.1f}")
    header = (f"{'policy':<50} {'norm. return':>15} {'lag-1 corr.':>13} {'held-out MAE':>13} "
              f"{'copy gain':>11} {'s/seed':>7}")
    print(header)
    print("-" * len(header))
    for name, (make, sees_previous) in POLICIES.items():
        if args.rows and not any(word in name for word in args.rows):
            continue
        returns, corr, errors, gains = [], [], [], []
        start = time.perf_counter()
        for seed in range(args.seeds):
            demos = collect_demonstrations(TASK, expert, args.demos + 5, random_state=seed)
            train, test = demos.take_episodes(range(args.demos)), demos.take_episodes(
                range(args.demos, args.demos + 5))
            observe = (lambda d: np.c_[d.X[:, :2], previous_actions(d)]) if sees_previous else (
                lambda d: d.X[:, :2])
            policy = make(seed)
            params = {} if isinstance(policy, BCRegressor) else {"historystacker__groups": train.groups}
            policy.fit(observe(train), train.y.ravel(), **params)
            if isinstance(policy, BCRegressor):
                network, rows = policy, observe(test)
            else:  # the stacked rows, the current frame's columns first
                network, rows = policy[1:], policy[0].transform(observe(test), groups=test.groups)
            errors.append(np.abs(network.predict(rows) - test.y.ravel()).mean())
            if sees_previous:
                gains.append(copy_gain(network, rows, column=2))
            env = (lambda: PreviousAction(hidden_velocity())) if sees_previous else hidden_velocity
            runs = rollout(policy, env, args.eval_episodes, random_state=1000)
            returns.append((runs.episode_returns().mean() - random) / (best - random))
            corr.append(lag1(runs))
        per_seed = (time.perf_counter() - start) / args.seeds
        print(f"{name:<50} {np.mean(returns):>6.2f} ± {np.std(returns):.2f} "
              f"{np.mean(corr):>6.2f} ± {np.std(corr):.2f} {np.mean(errors):>13.3f} "
              f"{f'{np.mean(gains):.2f}' if gains else '-':>11} {per_seed:>7.0f}",
              flush=True)


if __name__ == "__main__":
    main()
