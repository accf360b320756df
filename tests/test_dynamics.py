"""DynamicsRegressor and the transitions helper."""


import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_il.dynamics import (
    DynamicsRegressor,
    InverseDynamicsRegressor,
    state_pairs,
    transitions,
)

from .conftest import FAST, assert_round_trips, simulate


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
    with pytest.raises(ValueError, match="needs `groups`.*enable_metadata_routing=True\\): the step requests"):
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
    scale_out = module.target_scaler.scale.numpy()

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
    assert_round_trips(model, lambda m: m.predict(X), refit=lambda m: m.fit(X, y))


def test_dump_and_load_keep_the_bounded_model(tmp_path):
    X, y, groups = linear_system(n_episodes=3)
    state_action, next_state, _ = transitions(X, y, groups)
    model = DynamicsRegressor(lipschitz_constant=1.5, **FAST).fit(state_action, next_state)
    assert_round_trips(model, lambda m: m.predict(state_action), path=tmp_path / "dynamics.safetensors")


def test_state_pairs_stop_at_episode_ends():
    X = np.arange(10.0).reshape(5, 2)
    pairs, rows = state_pairs(X, [7, 7, 7, 3, 3])
    assert rows.tolist() == [0, 1, 3]
    np.testing.assert_array_equal(pairs, np.c_[X[[0, 1, 3]], X[[1, 2, 4]]])


def test_inverse_dynamics_recovers_the_actions_of_a_linear_system():
    X, y, groups = linear_system()
    pairs, rows = state_pairs(X, groups)
    model = InverseDynamicsRegressor(hidden_layer_sizes=(64,), random_state=0).fit(pairs, y[rows])
    test_X, test_y, test_groups = linear_system(n_episodes=5, seed=1)
    labels = model.label_actions(test_X, test_groups)
    inner = np.r_[np.diff(test_groups) == 0, False]  # rows with a successor
    assert np.abs(labels[inner] - test_y[inner]).mean() < 0.05 * test_y.std()
    # The last row of each episode repeats the label before it...
    last = np.flatnonzero(~inner)
    np.testing.assert_array_equal(labels[last], labels[last - 1])
    # ...unless the observation after it is given.
    final = linear_step(test_X[last], test_y[last][:, None])
    with_final = model.label_actions(test_X, test_groups, final_observations=final)
    # Predicted in a larger batch: float32 matrix products may round the last bit differently.
    np.testing.assert_allclose(with_final[inner], labels[inner], rtol=1e-6)
    assert np.abs(with_final[last] - test_y[last]).mean() < 0.05 * test_y.std()


def test_label_actions_errors_name_the_problem():
    X, y, groups = linear_system(n_episodes=3)
    pairs, rows = state_pairs(X, groups)
    model = InverseDynamicsRegressor(**FAST).fit(pairs, y[rows])
    with pytest.raises(ValueError, match="X has 3 observation features but the model was fitted on pairs of 2"):
        model.label_actions(np.c_[X, X[:, :1]], groups)
    with pytest.raises(ValueError, match="at least 2 rows.*final_observations"):
        model.label_actions(X[:31], groups[:31])  # episode 1 has a single row here
    assert model.label_actions(X[:31], groups[:31], np.zeros((2, 2))).shape == (31,)
    with pytest.raises(ValueError, match="final_observations has shape"):
        model.label_actions(X, groups, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="needs `groups`"):
        model.label_actions(X, None)


@settings(max_examples=6, deadline=None)
@given(n_episodes=st.integers(1, 4), length=st.integers(2, 9))
def test_label_actions_shapes_and_round_trips(n_episodes, length):
    X, y, groups = linear_system(n_episodes=n_episodes, length=length, seed=length)
    pairs, rows = state_pairs(X, groups)
    model = InverseDynamicsRegressor(**FAST).fit(pairs, np.c_[y[rows], -y[rows]])
    labels = model.label_actions(X, groups)
    assert labels.shape == (len(X), 2) and labels.dtype == np.float64
    assert_round_trips(
        model, lambda m: m.label_actions(X, groups), refit=lambda m: m.fit(pairs, np.c_[y[rows], -y[rows]])
    )


def test_inverse_dynamics_rejects_an_odd_width():
    with pytest.raises(ValueError, match="X has 3 columns.*state_pairs"):
        InverseDynamicsRegressor(**FAST).fit(np.zeros((5, 3)), np.zeros(5))


def test_lipschitz_layer_allows_two_forward_passes_before_backward():
    from sklearn_il._nn import LipschitzLinear

    layer = LipschitzLinear(3, 2, bound=1.0)
    x = torch.randn(4, 3)
    (layer(x).sum() + layer(2 * x).sum()).backward()  # e.g. a critic on real and fake rows
    assert layer.weight.grad is not None and torch.isfinite(layer.weight.grad).all()
