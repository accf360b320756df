"""Loading demonstrations: time and peak memory of each path against a direct read.

A dataset of ``--steps`` steps (``--episodes`` episodes, 17 observation
features and 6 action dimensions, the sizes of MuJoCo's HalfCheetah) is
written as ``.npz``, parquet and a Minari dataset. Each is then loaded, in
a fresh process, through this library (``Demonstrations.load``,
``datasets.load_minari``) and directly, the limit: ``np.load`` reading
every array; ``pandas.read_parquet`` and the observation and action
columns as arrays (a columnar file keeps each column apart, so a row-major
``X`` is a copy either way); ``minari.load_dataset`` with its episodes'
arrays concatenated. Printed: seconds (median of ``--repeats`` alternating
runs), their ratio (target <= 1.5, issue 13), and the peak resident memory
added by the load in units of the arrays' size (target: at most two
copies). Run: ``python benchmarks/bench_data.py [--steps 1000000]``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

LOAD = r"""
import json, sys, time
import numpy as np
path, how = sys.argv[1], sys.argv[2]
import minari, pandas, pyarrow.parquet  # imports outside the measured part
from sklearn_il.datasets import Demonstrations, load_minari
def rss(field):  # KiB, from /proc/self/status
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
base = rss("VmRSS")
with open("/proc/self/clear_refs", "w") as f:  # resets the peak (VmHWM) to the current RSS
    f.write("5")
start = time.perf_counter()
if how == "ours":
    demos = load_minari(path).demonstrations if path.endswith("-v0") else Demonstrations.load(path)
elif path.endswith(".npz"):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
elif path.endswith(".parquet"):
    frame = pandas.read_parquet(path)
    arrays = [frame[[f"obs_{i}" for i in range(17)]].to_numpy(),
              frame[[f"action_{i}" for i in range(6)]].to_numpy()]
else:
    from minari.dataset.minari_dataset import MinariDataset
    dataset = MinariDataset(path + "/data")
    episodes = list(dataset.iterate_episodes())
    arrays = [np.concatenate([getattr(e, k) for e in episodes])
              for k in ("observations", "actions", "rewards", "terminations", "truncations")]
seconds = time.perf_counter() - start
peak = rss("VmHWM") - base
print(json.dumps({"seconds": seconds, "peak_bytes": 1024 * peak}))
"""


def make_demonstrations(n_steps, n_episodes, seed=0):
    from sklearn_il.datasets import Demonstrations

    rng = np.random.default_rng(seed)
    length = n_steps // n_episodes
    return Demonstrations(
        rng.normal(size=(n_steps, 17)).astype(np.float32),
        rng.uniform(-1, 1, size=(n_steps, 6)).astype(np.float32),
        np.repeat(np.arange(n_episodes), length),
        rng.normal(size=n_steps),
        np.zeros(n_steps, bool),
        np.tile(np.r_[np.zeros(length - 1, bool), True], n_episodes),
        rng.normal(size=(n_episodes, 17)).astype(np.float32),
    )


def measure(path, how):
    out = subprocess.run([sys.executable, "-c", LOAD, path, how], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--formats", nargs="*", default=["npz", "parquet", "minari"])
    args = parser.parse_args()
    demos = make_demonstrations(args.steps, args.episodes)
    data_bytes = sum(a.nbytes for a in (demos.observations, demos.actions, demos.episode_ids,
                                        demos.rewards, demos.terminated, demos.truncated))
    folder = tempfile.mkdtemp()
    os.environ["MINARI_DATASETS_PATH"] = folder
    paths = {"npz": os.path.join(folder, "demos.npz"),
             "parquet": os.path.join(folder, "demos.parquet"),
             "minari": os.path.join(folder, "bench", "halfcheetah-like", "random-v0")}
    demos.save(paths["npz"])
    demos.save(paths["parquet"])
    demos.to_minari("bench/halfcheetah-like/random-v0", env="HalfCheetah-v5",
                    author="bench", author_email="bench@example.com",
                    code_permalink="benchmarks/bench_data.py", description="random data")
    print(f"{args.steps:,} steps, {args.episodes} episodes, {data_bytes / 2**20:.0f} MiB of arrays\n")
    print(f"{'format':<8} {'ours s':>8} {'direct s':>9} {'ratio':>6} {'target':>7} "
          f"{'ours copies':>12} {'direct copies':>14}")
    for name, path in paths.items():
        if name not in args.formats:
            continue
        ours, direct = [], []
        for _ in range(args.repeats):
            ours.append(measure(path, "ours"))
            direct.append(measure(path, "direct"))
        t_ours = np.median([r["seconds"] for r in ours])
        t_direct = np.median([r["seconds"] for r in direct])
        m_ours = np.median([r["peak_bytes"] for r in ours]) / data_bytes
        m_direct = np.median([r["peak_bytes"] for r in direct]) / data_bytes
        print(f"{name:<8} {t_ours:>8.2f} {t_direct:>9.2f} {t_ours / t_direct:>6.2f} {'<= 1.5':>7} "
              f"{m_ours:>12.2f} {m_direct:>14.2f}", flush=True)


if __name__ == "__main__":
    main()
