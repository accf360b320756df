import numpy as np
import pytest

from sklearn_il.datasets import make_obstacle


@pytest.fixture(scope="session")
def obstacle_data():
    """Small expert demonstrations of the bimodal task: X, y, groups."""
    return make_obstacle(n_episodes=6, random_state=0)


# Small networks and few epochs: the suite runs on 2 cores in minutes. The
# library's defaults are exercised by the benchmarks and the demo.
FAST = dict(hidden_layer_sizes=(16,), max_iter=30, learning_rate_init=0.01, random_state=0)


def regression(n, d, k, seed):
    """Random linear regression data: X (n, d), y (n,) when k == 1 else (n, k)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=(d, k))
    return X, (y.ravel() if k == 1 else y)
