"""A joblib backend for Dask clusters on which a lost worker costs only its fits."""

import threading

from joblib.parallel import ParallelBackendBase, SequentialBackend


class DaskBackend(ParallelBackendBase):
    """joblib on a ``dask.distributed`` cluster, surviving lost workers.

    Use it where joblib's own ``backend="dask"`` would go: a search's fits
    (``GridSearchCV``, ``RandomizedSearchCV``, ``cross_validate``, with
    metadata routing as usual) run on the cluster's workers, and a worker
    lost mid-search (killed, out of memory, its machine gone) costs only
    the fits it was running: the scheduler runs them again elsewhere and
    the search finishes with the scores it would have had.

    joblib's ``"dask"`` backend sends each argument larger than 1 kB
    (``X``, ``y``, each fold's indices) to one worker ahead of the fits
    (``client.scatter``). Data scattered that way has no recipe to be
    computed again, so when that worker is lost the fits that need it are
    cancelled and the search fails with ``FutureCancelledError``, its
    finished fits lost with it. Here each batch of fits is one task that
    carries its own arguments, which the scheduler keeps until the batch
    is done: what a lost worker was running is simply run again. The
    price is that the data travel with every batch through the scheduler
    (joblib groups fits into batches of about a second's work), which
    costs more, against scattering them once, the larger the data.

    Parameters
    ----------
    client : distributed.Client or None, default=None
        The cluster's client; None: the current one
        (``distributed.get_client()``), such as the ``Client`` of an
        enclosing ``with`` block.

    See Also
    --------
    joblib.parallel_config : Where the backend is chosen.

    Notes
    -----
    A fit that loses its worker three times is given up (Dask's
    ``distributed.scheduler.allowed-failures``) and the search raises
    ``KilledWorker``. Nested joblib calls inside a fit run sequentially in
    its worker, which runs one fit per thread.

    Examples
    --------
    >>> import joblib
    >>> from distributed import Client, LocalCluster
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn_il.parallel import DaskBackend
    >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0.0, 1.0, 2.0, 3.0]
    >>> with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
    ...                   dashboard_address=":0") as cluster, Client(cluster):
    ...     with joblib.parallel_config(backend=DaskBackend()):
    ...         search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=2,
    ...                               n_jobs=-1).fit(X, y)
    >>> search.best_params_
    {'alpha': 0.1}
    """

    supports_retrieve_callback = True
    default_n_jobs = -1

    def __init__(self, client=None, **backend_kwargs):
        super().__init__(**backend_kwargs)
        self.client = client
        self._pending = set()
        self._lock = threading.Lock()

    def _client(self):
        if self.client is not None:
            return self.client
        from distributed import get_client

        return get_client()

    def configure(self, n_jobs=1, parallel=None, **backend_kwargs):
        self.parallel = parallel
        self._running_on = self._client()
        return self.effective_n_jobs(n_jobs)

    def effective_n_jobs(self, n_jobs):
        """The cluster's worker threads, whatever ``n_jobs`` asks."""
        return max(1, sum(self._client().nthreads().values()))

    def submit(self, func, callback=None):
        """Run a batch of calls as one task; ``callback(future)`` when it is done."""
        future = self._running_on.submit(func, pure=False)
        with self._lock:
            self._pending.add(future)

        def done(finished):
            with self._lock:
                self._pending.discard(finished)
            if callback is not None:
                callback(finished)

        future.add_done_callback(done)
        return future

    def retrieve_result_callback(self, future):
        """The batch's results, or its exception raised."""
        return future.result()

    def abort_everything(self, ensure_ready=True):
        """Cancel the batches not done (a call failed; joblib will not read them)."""
        with self._lock:
            pending, self._pending = list(self._pending), set()
        if pending:
            self._running_on.cancel(pending)

    def get_nested_backend(self):
        return SequentialBackend(nesting_level=(self.nesting_level or 0) + 1), None
