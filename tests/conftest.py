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


def simulate(step, n_episodes, length, seed):
    """Episodes of a 2-D system under random 1-D actions: X, y (1-D), groups.

    ``step(states, actions)`` maps batches of states (n, 2) and actions
    (n, 1) to next states.
    """
    rng = np.random.default_rng(seed)
    X, y, groups = [], [], []
    for episode in range(n_episodes):
        s = rng.normal(size=2)
        for _ in range(length):
            a = rng.normal()
            X.append(s)
            y.append(a)
            groups.append(episode)
            s = step(s[None], np.array([[a]]))[0]
    return np.array(X), np.array(y), np.array(groups)
