"""Model selection on a real dask.distributed cluster through joblib and
DaskBackend: the scores of one process, one torch thread per worker, and a
search that survives a worker killed mid-search."""

import os
import pathlib
import signal
import threading
import time
from functools import partial

import joblib
import numpy as np
import pytest
import sklearn
import torch
from sklearn.model_selection import GridSearchCV, GroupKFold, ParameterGrid, RandomizedSearchCV

from sklearn_il import BCRegressor
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import make_rollout_scorer
from sklearn_il.parallel import DaskBackend

from .conftest import FAST

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as client:
            yield client


def threads(estimator, X, y):
    """Scorer run in the worker: torch's thread count there."""
    return torch.get_num_threads()


def gate(estimator, X, y, folder, first):
    """Scorer run in the workers: numbers its calls (every fit is scored
    once, a fit run again gets a new number), writes its worker's process
    id in ``pid-<number>``, and holds every call past the ``first`` until
    the file ``killed`` exists."""
    folder = pathlib.Path(folder)
    number = 0
    while True:
        try:  # O_EXCL: one call per number, whatever the worker
            os.close(os.open(folder / f"call-{number}", os.O_CREAT | os.O_EXCL))
            break
        except FileExistsError:
            number += 1
    (folder / f"pid-{number}.tmp").write_text(str(os.getpid()))
    os.rename(folder / f"pid-{number}.tmp", folder / f"pid-{number}")  # whole when seen
    deadline = time.monotonic() + 60
    while number >= first and not (folder / "killed").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("no worker was killed")
        time.sleep(0.02)
    (folder / f"done-{number}").touch()
    return number


def search_with_a_worker_killed(client, search, folder):
    """Run ``search(n_jobs, gate_scorer)`` on the cluster and kill, with
    SIGKILL, the worker of its third fit while that fit waits (the first
    two have finished). The fitted search, the fits finished at the kill
    and the scorer's calls."""
    outcome = {}

    def run():
        try:
            with joblib.parallel_config(backend=DaskBackend(client)):
                outcome["search"] = search(-1, partial(gate, folder=str(folder), first=2))
        except BaseException as exc:  # reported below, in the test's thread
            outcome["error"] = exc

    client.wait_for_workers(2)  # the nanny's replacement of a worker killed before
    thread = threading.Thread(target=run)
    thread.start()
    while not (folder / "pid-2").exists() and thread.is_alive():
        time.sleep(0.02)
    done_at_kill = len(list(folder.glob("done-*")))
    os.kill(int((folder / "pid-2").read_text()), signal.SIGKILL)
    (folder / "killed").touch()
    thread.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    return outcome["search"], done_at_kill, len(list(folder.glob("call-*")))


@pytest.mark.slow
def test_searches_on_dask_survive_a_killed_worker_and_score_as_in_one_process(
        client, obstacle_data, tmp_path):
    """One test, so that one cluster serves both searches (each xdist
    worker that runs a test of this module starts its own)."""
    X, y, groups = obstacle_data
    spaces = {GridSearchCV: {"hidden_layer_sizes": [(8,), (16,)], "alpha": [1e-4, 1e-2]},
              RandomizedSearchCV: {"alpha": [1e-4, 1e-3, 1e-2]}}
    for Search, space in spaces.items():
        options = {"n_iter": 2, "random_state": 0} if Search is RandomizedSearchCV else {}
        n_fits = options.get("n_iter", len(ParameterGrid(space))) * 2  # 2 folds

        def search(n_jobs, gate_scorer=None):
            scoring = {"return": make_rollout_scorer(OBSTACLE, n_episodes=2), "threads": threads}
            if gate_scorer is not None:
                scoring["gate"] = gate_scorer
            with sklearn.config_context(enable_metadata_routing=True):  # per thread
                return Search(BCRegressor(**FAST), space, cv=GroupKFold(2), n_jobs=n_jobs,
                              refit=False, scoring=scoring, **options).fit(X, y, groups=groups)

        in_one_process = search(n_jobs=1)
        folder = tmp_path / Search.__name__
        folder.mkdir()
        on_cluster, done_at_kill, n_calls = search_with_a_worker_killed(client, search, folder)
        # The kill landed while fits were pending, and the fit the worker
        # was running was run again: more scorer calls than fits.
        assert done_at_kill == 2 and n_calls > n_fits
        # Every fit and rollout ran on the workers, one torch thread each
        # (the worker's), and scored as in one process.
        assert set(on_cluster.cv_results_["mean_test_threads"]) == {1.0}
        np.testing.assert_allclose(on_cluster.cv_results_["mean_test_return"],
                                   in_one_process.cv_results_["mean_test_return"], rtol=1e-6)
    client.wait_for_workers(2)
    assert client.run(torch.get_num_threads) == {w: 1 for w in client.scheduler_info()["workers"]}
