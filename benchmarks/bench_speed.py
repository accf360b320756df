"""Speed of BCRegressor against plain torch, measured in one run.

Prints three ratios (targets from DESIGN.md §6 and issue 12):

* one-row ``predict`` latency / a bare ``nn.Sequential`` of the same layers
  on the same row (under ``inference_mode``, on a ready tensor), target <= 1.3;
* ``predict`` on a batch of 16 rows (what the rollout engine asks with 16
  envs) / one-row ``predict``, target <= 1.5; beside it, the same ratio for
  the bare Sequential: the extra arithmetic of 16 rows, which no per-call
  saving removes;
* ``fit`` time / a hand-written torch loop with the same network, data,
  batch size, optimizer, objective and epochs, target <= 1.1, at 10k and
  1M rows (ours with ``alpha=0``: the loop has no L2 penalty).

Then, for a policy exported by ``sklearn_il.io.export``: one-row latency
through onnxruntime and through TorchScript beside ``predict`` and the bare
Sequential (the BCRegressor above), and a table over every exportable
policy (the library's default network, 5 epochs on the obstacle task's
1,000 rows): the largest difference of each graph from ``predict`` on
those rows, relative to the largest action, and each graph's one-row
latency as a ratio to ``predict``'s.

Each pair is timed in alternation and medians reported, so a noisy shared
machine affects both sides alike. The ``limit`` column is the bare
Sequential, the one-row predict and the hand-written loop respectively. Run: ``python benchmarks/bench_speed.py`` (``--quick``: 10k rows
only, fewer repeats; ``--export-only``: the export rows alone).
"""

import argparse
import copy
import time
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from torch import nn

from sklearn_il import BCRegressor

warnings.filterwarnings("ignore", category=ConvergenceWarning)
N_FEATURES, N_ACTIONS, HIDDEN, BATCH = 10, 3, (256, 256), 200


def make_data(n_rows, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, N_FEATURES))
    y = np.tanh(X @ rng.normal(size=(N_FEATURES, N_ACTIONS))) + 0.1 * rng.normal(size=(n_rows, N_ACTIONS))
    return X, y


def hand_written_fit(X, y, epochs, seed=0):
    """What a person writes: standardise, slice shuffled batches, Adam on MSE."""
    torch.manual_seed(seed)
    X = torch.as_tensor((X - X.mean(0)) / X.std(0), dtype=torch.float32)
    y = torch.as_tensor((y - y.mean(0)) / y.std(0), dtype=torch.float32)
    layers, width = [], N_FEATURES
    for size in HIDDEN:
        layers += [nn.Linear(width, size), nn.ReLU()]
        width = size
    model = nn.Sequential(*layers, nn.Linear(width, N_ACTIONS))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=generator)
        for start in range(0, len(X), BATCH):
            rows = order[start : start + BATCH]
            optimizer.zero_grad()
            loss = loss_fn(model(X[rows]), y[rows])
            loss.backward()
            optimizer.step()
    return model


def ours(epochs):
    # tol=0 with patience = epochs: exactly `epochs` epochs, like the loop;
    # alpha=0: no L2 penalty, the loop's objective.
    return BCRegressor(
        hidden_layer_sizes=HIDDEN, batch_size=BATCH, max_iter=epochs, alpha=0.0,
        tol=0.0, n_iter_no_change=epochs, random_state=0,
    )


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def fit_ratio(n_rows, epochs, repeats):
    X, y = make_data(n_rows)
    ratios = []
    for _ in range(repeats):
        t_hand = timed(lambda: hand_written_fit(X, y, epochs))
        t_ours = timed(lambda: ours(epochs).fit(X, y))
        ratios.append(t_ours / t_hand)
    return float(np.median(ratios)), t_ours, t_hand


def alternating_medians(first, second, n_calls):
    """Median seconds of ``first()`` and of ``second()``, called in alternation.

    Both sides then see the same machine state at every moment.
    """
    clock = time.perf_counter
    for _ in range(500):  # warm up
        first()
        second()
    first_s, second_s = np.empty(n_calls), np.empty(n_calls)
    for i in range(n_calls):
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        first_s[i], second_s[i] = t1 - t0, t2 - t1
    return np.median(first_s), np.median(second_s)


def benchmark_policy():
    """The BCRegressor the predict rows time, and its rows."""
    X, y = make_data(2000)
    return ours(2).fit(X, y), X


def bare_forward(policy, rows):
    """The limit: a bare Sequential of the policy's Linear layers and
    activations, called on ``rows`` as a ready tensor."""
    module = nn.Sequential(*copy.deepcopy(list(policy.net_.module_.body))).eval()
    tensor = torch.as_tensor(rows, dtype=torch.float32)

    def bare():
        with torch.inference_mode():
            module(tensor)

    return bare


def predict_ratios(n_calls=20000):
    """One-row ``predict`` against the bare forward; batch of 16 against one row,
    ours and the bare Sequential's."""
    policy, X = benchmark_policy()
    row, batch = X[:1].copy(), X[:16].copy()
    bare, bare_batch = bare_forward(policy, row), bare_forward(policy, batch)

    bare_s, ours_s = alternating_medians(bare, lambda: policy.predict(row), n_calls)
    one_s, batch_s = alternating_medians(lambda: policy.predict(row),
                                         lambda: policy.predict(batch), n_calls)
    bare_one_s, bare_batch_s = alternating_medians(bare, bare_batch, n_calls)
    return (1e6 * ours_s, 1e6 * bare_s, 1e6 * batch_s, 1e6 * one_s,
            bare_batch_s / bare_one_s)


def _graph_runners(estimator, folder):
    """One-row callables for the exported ONNX (onnxruntime) and TorchScript graphs."""
    import os

    import onnxruntime as ort

    from sklearn_il.io import export

    onnx_path, script_path = os.path.join(folder, "p.onnx"), os.path.join(folder, "p.pt")
    export(estimator, onnx_path)
    export(estimator, script_path, format="torchscript")
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(onnx_path, options)
    script = torch.jit.load(script_path)

    def run_onnx(rows):
        return session.run(None, {"observations": rows.astype(np.float32)})[0]

    def run_script(rows):
        with torch.inference_mode():
            return script(torch.from_numpy(rows.astype(np.float32)))[0].numpy()

    return run_onnx, run_script


def export_latency(n_calls=5000):
    """One-row latency (µs) of predict, onnxruntime, TorchScript and the bare Sequential."""
    import tempfile

    policy, X = benchmark_policy()
    row = X[:1].copy()
    bare = bare_forward(policy, row)
    run_onnx, run_script = _graph_runners(policy, tempfile.mkdtemp())
    predict_s, onnx_s = alternating_medians(lambda: policy.predict(row), lambda: run_onnx(row),
                                            n_calls)
    script_s, bare_s = alternating_medians(lambda: run_script(row), bare, n_calls)
    return {"predict": predict_s, "onnxruntime": onnx_s, "TorchScript": script_s,
            "bare Sequential": bare_s}


def export_table(n_calls=1000):
    """Per exportable policy: the graphs' largest relative difference from
    predict on 1,000 rows, and their one-row latency / predict's."""
    import tempfile

    from sklearn_il import (AutoregressiveBC, BCClassifier, DiffusionBC, FDivergenceBC,
                            LatentBC, MixtureDensityBC, SequenceBC)
    from sklearn_il.datasets import make_obstacle
    from sklearn_il.preprocessing import stack_history

    X, y, groups = make_obstacle(n_episodes=34, random_state=0)
    X, y, groups = X[:1000], y[:1000], groups[:1000]
    stacked = stack_history(X, groups, 2)
    policies = [
        ("BCRegressor (mse)", BCRegressor(loss="mse"), X, y),
        ("BCRegressor (gaussian)", BCRegressor(loss="gaussian"), X, y),
        ("BCClassifier", BCClassifier(), X, (y > 0).astype(int)),
        ("FDivergenceBC", FDivergenceBC(), X, y),
        ("MixtureDensityBC", MixtureDensityBC(), X, y),
        ("AutoregressiveBC", AutoregressiveBC(), X, y),
        ("LatentBC", LatentBC(), X, y),
        ("DiffusionBC", DiffusionBC(), X, y),
        ("SequenceBC (gru, 2 frames)", SequenceBC(n_frames=2), stacked, y),
        ("SequenceBC (transformer)", SequenceBC(n_frames=2, encoder="transformer"), stacked, y),
    ]
    rows = []
    for name, policy, features, target in policies:
        policy.set_params(max_iter=5, random_state=0).fit(features, target, groups=groups)
        run_onnx, run_script = _graph_runners(policy, tempfile.mkdtemp())
        expected = policy.predict(features)
        if name == "BCClassifier":
            expected = np.searchsorted(policy.classes_, expected)
        scale = max(np.abs(expected).max(), 1e-12)
        errors = [np.abs(run(features) - expected).max() / scale for run in (run_onnx, run_script)]
        row = features[:1].copy()
        predict_s, onnx_s = alternating_medians(lambda: policy.predict(row),
                                                lambda: run_onnx(row), n_calls)
        _, script_s = alternating_medians(lambda: policy.predict(row),
                                          lambda: run_script(row), n_calls)
        rows.append((name, *errors, 1e6 * predict_s, onnx_s / predict_s, script_s / predict_s))
    return rows


def print_export(latency, table):
    print(f"\n{'one row, exported BCRegressor':<34} {'µs':>10} {'/ predict':>10}")
    for name, seconds in latency.items():
        print(f"{name:<34} {1e6 * seconds:>10.1f} {seconds / latency['predict']:>10.2f}")
    print(f"\n{'policy':<28} {'err onnx':>9} {'err ts':>9} {'predict µs':>11} "
          f"{'onnx/pred':>10} {'ts/pred':>8}")
    for name, err_onnx, err_ts, predict_us, onnx_ratio, ts_ratio in table:
        print(f"{name:<28} {err_onnx:>9.1e} {err_ts:>9.1e} {predict_us:>11.1f} "
              f"{onnx_ratio:>10.2f} {ts_ratio:>8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k rows only, fewer repeats")
    parser.add_argument("--export-only", action="store_true", help="the export rows alone")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; MLP {HIDDEN}, "
          f"{N_FEATURES} features, {N_ACTIONS} actions, batch {BATCH}\n")
    if args.export_only:
        print_export(export_latency(), export_table())
        return
    ours_us, bare_us, batch_us, one_us, bare_batch_ratio = predict_ratios()
    print(f"{'measure':<34} {'ours':>10} {'limit':>10} {'ratio':>7} {'target':>7}")
    print(f"{'predict, one row (µs)':<34} {ours_us:>10.1f} {bare_us:>10.1f} "
          f"{ours_us / bare_us:>7.2f} {'<= 1.3':>7}")
    print(f"{'predict, 16 rows / one row (µs)':<34} {batch_us:>10.1f} {one_us:>10.1f} "
          f"{batch_us / one_us:>7.2f} {'<= 1.5':>7}")
    print(f"{'  bare Sequential, 16 rows / one':<34} {'':>10} {'':>10} {bare_batch_ratio:>7.2f}")
    sizes = [(10_000, 20, 5)] if args.quick else [(10_000, 20, 5), (1_000_000, 2, 3)]
    for n_rows, epochs, repeats in sizes:
        ratio, t_ours, t_hand = fit_ratio(n_rows, epochs, repeats)
        label = f"fit, {n_rows:,} rows x {epochs} epochs (s)"
        print(f"{label:<34} {t_ours:>10.2f} {t_hand:>10.2f} {ratio:>7.2f} {'<= 1.1':>7}")
    print_export(export_latency(), export_table())


if __name__ == "__main__":
    main()
