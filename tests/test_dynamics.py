"""DynamicsRegressor and the transitions helper."""

import pickle

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_il.dynamics import DynamicsRegressor, transitions

from .conftest import FAST, simulate


def linear_step(states, actions):
    """s' = s + 0.1 A s + 0.1 B a: a rotation, pushed along the second axis."""
    A, B = np.array([[0.0, 1.0], [-1.0, 0.0]]), np.array([0.0, 1.0])
    return states + 0.1 * states @ A.T + 0.1 * actions * B


def linear_system(n_episodes=20, length=30, seed=0):
    return simulate(linear_step, n_episodes, length, seed)


def test_transitions_pair_consecutive_rows_within_episodes():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array([[1.0], [2.0], [3.0], [4.0], [5.0]])
    state_action, next_state, rows = transitions(X, y, ["a", "a", "b", "b", "b"])
    assert rows.tolist() == [0, 2, 3]  # no pair across the episode boundary
    np.testing.assert_array_equal(state_action, np.c_[X[[0, 2, 3]], y[[0, 2, 3]]])
    np.testing.assert_array_equal(next_state, X[[1, 3, 4]])


def test_transitions_needs_groups():
    with pytest.raises(ValueError, match="needs `groups`.*set_fit_request"):
        transitions(np.zeros((3, 1)), np.zeros(3), None)


def test_learns_a_linear_system():
    X, y, groups = linear_system()
    state_action, next_state, _ = transitions(X, y, groups)
    model = DynamicsRegressor(hidden_layer_sizes=(64,), random_state=0).fit(state_action, next_state)
    residual = next_state - state_action[:, :2]
    predicted = model.predict(state_action) - state_action[:, :2]
    # The residual (the part the network learns) is explained, not just s' ~ s.
    assert 1 - ((predicted - residual) ** 2).sum() / ((residual - residual.mean(0)) ** 2).sum() > 0.95


@pytest.mark.parametrize("bound", [0.5, 2.0])
def test_lipschitz_bound_holds(bound):
    X, y, groups = linear_system()
    state_action, next_state, _ = transitions(X, y, groups)
    model = DynamicsRegressor(lipschitz_constant=bound, hidden_layer_sizes=(32, 32),
                              max_iter=50, random_state=0).fit(state_action, next_state)
    module = model.net_.module_
    with torch.no_grad():
        layers = [m for m in module.body if hasattr(m, "normalised_weight")]
        assert len(layers) == 3
        norms = [torch.linalg.matrix_norm(m.normalised_weight(), 2).item() for m in layers]
    # The power-iteration estimate of sigma converges from below: allow 2 %.
    assert max(norms) <= bound ** (1 / 3) * 1.02
    # Empirically, in standardised units: |f(x) - f(x')| <= K |x - x'|.
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 500, 3)) * 3
    scale_in = module.obs_scaler.scale.numpy()
    scale_out = module.action_scaler.scale.numpy()

    def f(x):  # standardised residual
        return (model.predict(x) - x[:, :2]) / scale_out

    ratio = np.linalg.norm(f(a) - f(b), axis=1) / np.linalg.norm((a - b) / scale_in, axis=1)
    assert ratio.max() <= bound * 1.02


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="X must hold the state"):
        DynamicsRegressor(**FAST).fit(np.zeros((5, 1)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        DynamicsRegressor(**FAST).fit(np.full((5, 3), np.nan), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="lipschitz_constant"):
        DynamicsRegressor(lipschitz_constant=0.0, **FAST).fit(np.zeros((5, 3)), np.zeros((5, 2)))


@settings(max_examples=6, deadline=None)
@given(n=st.integers(2, 30), n_state=st.integers(1, 3), n_action=st.integers(0, 2),
       n_pred=st.integers(1, 4), bound=st.sampled_from([None, 1.0]))
def test_shapes_dtypes_reproducibility_and_round_trips(n, n_state, n_action, n_pred, bound):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, n_state + n_action))
    y = X[:, :n_state] + 0.1 * rng.normal(size=(n, n_state))
    y = y.ravel() if n_state == 1 else y
    model = DynamicsRegressor(lipschitz_constant=bound, **FAST).fit(X, y)
    rows = min(n, n_pred)
    prediction = model.predict(X[:n_pred])
    assert prediction.dtype == np.float64
    assert prediction.shape == ((rows,) if n_state == 1 else (rows, n_state))
    again = clone(model).fit(X, y)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))


def test_dump_and_load_keep_the_bounded_model(tmp_path):
    from sklearn_il.io import dump, load

    X, y, groups = linear_system(n_episodes=3)
    state_action, next_state, _ = transitions(X, y, groups)
    model = DynamicsRegressor(lipschitz_constant=1.5, **FAST).fit(state_action, next_state)
    dump(model, tmp_path / "dynamics.safetensors")
    loaded = load(tmp_path / "dynamics.safetensors")
    np.testing.assert_array_equal(loaded.predict(state_action), model.predict(state_action))
