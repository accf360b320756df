"""CorrectiveAugmenter and NoiseAugmenter: labels, filters, pipelines, routing."""


import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_il import BCRegressor
from sklearn_il.augment import CorrectiveAugmenter, NoiseAugmenter
from sklearn_il.datasets import make_winding_road
from sklearn_il.dynamics import DynamicsRegressor
from sklearn_il.envs import WINDING_ROAD
from sklearn_il.evaluation import evaluate_policy

from .conftest import FAST, assert_round_trips, simulate

B = np.array([0.0, 0.1])


def drift(states, actions):
    """A known model whose residual does not depend on the state: s' = s + B a."""
    return states + actions[:, :1] * B


def episodes(n_episodes=3, length=10, seed=0):
    """Trajectories of ``drift`` with random actions: X, y (1-D), groups."""
    return simulate(drift, n_episodes, length, seed)


def test_backtrack_labels_lead_back_to_the_demonstrated_state():
    X, y, groups = episodes()
    augmenter = CorrectiveAugmenter(drift, method="backtrack", n_labels_per_point=1, epsilon=10.0)
    X_res, y_res = augmenter.fit_resample(X, y, groups)
    n = len(X)
    np.testing.assert_array_equal(X_res[:n], X)  # the demonstrations come first, unchanged
    labels_X, labels_y = X_res[n:], y_res[n:]
    assert augmenter.n_kept_ == augmenter.n_generated_ == n - 3  # one per transition
    # From the label's state, the label's action reaches a demonstrated state exactly.
    reached = drift(labels_X, labels_y[:, None])
    assert np.abs(reached[:, None, :] - X[None]).sum(-1).min(1).max() < 1e-12


def test_disturbed_action_labels_reach_the_next_state():
    X, y, groups = episodes()
    augmenter = CorrectiveAugmenter(drift, n_labels_per_point=4, action_noise=0.5, epsilon=10.0,
                                    random_state=0)
    X_res, y_res = augmenter.fit_resample(X, y, groups)
    n = len(X)
    assert augmenter.n_generated_ == 4 * (n - 3)
    labels_X, labels_y = X_res[n:], y_res[n:]
    assert not np.isin(labels_y, y).any()  # the actions are disturbed
    reached = drift(labels_X, labels_y[:, None])
    assert np.abs(reached[:, None, :] - X[None]).sum(-1).min(1).max() < 1e-12


def standardised_distance(a, b, X):
    """Root mean square over features of ``a - b``, each in its standard
    deviations over ``X``: CorrectiveAugmenter's units."""
    return np.sqrt(np.mean(((a - b) / X.std(0)) ** 2, axis=-1))


def test_epsilon_and_model_error_filter_the_labels():
    X, y, groups = episodes()
    close = CorrectiveAugmenter(drift, action_noise=2.0, epsilon=0.1, random_state=0)
    X_res, _ = close.fit_resample(X, y, groups)
    assert 0 < close.n_kept_ < close.n_generated_
    assert close.kept_fraction_ == close.n_kept_ / close.n_generated_
    # Every kept label is within epsilon of some demonstrated state.
    distance = standardised_distance(X_res[len(X):, None, :], X[None], X).min(1)
    assert distance.max() < 0.1

    def wrong(states, actions):  # off by 1 on every transition
        return drift(states, actions) + 1.0

    untrusted = CorrectiveAugmenter(wrong, epsilon=0.5, random_state=0)
    X_res, _ = untrusted.fit_resample(X, y, groups)
    assert untrusted.n_kept_ == 0 and len(X_res) == len(X)


def test_the_radius_is_in_standard_deviations_of_each_feature():
    X, y, groups = episodes()
    augmenter = CorrectiveAugmenter(drift, epsilon=0.2).fit(X, y, groups=groups)
    assert augmenter.epsilon_ == 0.2
    np.testing.assert_allclose(augmenter.scale_, X.std(0))


@pytest.mark.parametrize("epsilon", [0.1, 0.3])
def test_labels_do_not_depend_on_the_units_of_the_features(epsilon):
    # The same episodes with one feature in units 1000 times smaller: the
    # same labels are kept, in the new units, with the same radius.
    X, y, groups = episodes(n_episodes=5)
    units = np.array([1000.0, 1.0])

    def drift_in_new_units(states, actions):
        return drift(states / units, actions) * units

    kept = {}
    for name, scale, model in (("old", 1.0, drift), ("new", units, drift_in_new_units)):
        augmenter = CorrectiveAugmenter(model, action_noise=2.0, epsilon=epsilon,
                                        random_state=0)
        X_res, y_res = augmenter.fit_resample(X * scale, y, groups)
        kept[name] = augmenter, X_res[len(X):] / scale, y_res[len(X):]
    old, new = kept["old"], kept["new"]
    assert 0 < old[0].n_kept_ < old[0].n_generated_
    assert new[0].n_kept_ == old[0].n_kept_
    assert new[0].epsilon_ == pytest.approx(old[0].epsilon_)
    np.testing.assert_allclose(new[1], old[1])
    np.testing.assert_array_equal(new[2], old[2])


def test_a_constant_feature_keeps_its_own_units():
    X, y, groups = episodes()
    X = np.c_[X, np.full(len(X), 3.0)]

    def with_constant(states, actions):
        return np.c_[drift(states[:, :2], actions), states[:, 2]]

    augmenter = CorrectiveAugmenter(with_constant, epsilon=1.0).fit(X, y, groups=groups)
    assert augmenter.scale_[2] == 1.0 and augmenter.n_kept_ > 0


def test_learned_dynamics_is_fitted_and_kept():
    X, y, groups = episodes(n_episodes=10)
    augmenter = CorrectiveAugmenter(DynamicsRegressor(**FAST), random_state=0).fit(X, y, groups=groups)
    assert isinstance(augmenter.dynamics_, DynamicsRegressor)
    assert augmenter.dynamics_.n_features_in_ == 3


def test_noise_augmenter_copies_rows_with_noise_of_the_given_scale():
    X, y, groups = episodes(n_episodes=20)
    X_res, y_res = NoiseAugmenter(noise_std=[0.5, 0.0], n_copies=3, random_state=0).fit_resample(X, y)
    n = len(X)
    assert X_res.shape == (4 * n, 2) and y_res.shape == (4 * n,)
    np.testing.assert_array_equal(y_res[n:], np.tile(y, 3))
    noise = X_res[n:] - np.tile(X, (3, 1))
    assert noise[:, 0].std() == pytest.approx(0.5, rel=0.1)
    assert (noise[:, 1] == 0).all()


@pytest.mark.parametrize(
    "augmenter", [NoiseAugmenter(random_state=0), CorrectiveAugmenter(drift, random_state=0)]
)
def test_bad_input_is_named(augmenter):
    X, y, groups = episodes()
    bad = X.copy()
    bad[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        augmenter.fit_resample(bad, y, groups)
    with pytest.raises(ValueError, match="groups has 5 entries"):
        augmenter.fit_resample(X, y, groups[:5])
    split = groups.copy()
    split[:2] = 2  # episode 2's rows: 0-1 and 20-29
    with pytest.raises(ValueError, match="split into 2 separate runs"):
        augmenter.fit_resample(X, y, split)
    with pytest.raises(ValueError, match="X has 30 rows but y has 29"):
        augmenter.fit_resample(X, y[:-1], groups)


def test_corrective_errors_name_the_problem():
    X, y, groups = episodes()
    with pytest.raises(ValueError, match="needs `groups`.*requests groups by default"):
        CorrectiveAugmenter(drift).fit_resample(X, y)
    with pytest.raises(ValueError, match="backtrack.*n_labels_per_point"):
        CorrectiveAugmenter(drift, method="backtrack", n_labels_per_point=3).fit_resample(X, y, groups)
    with pytest.raises(ValueError, match="returned 1 state dimensions"):
        CorrectiveAugmenter(lambda s, a: s[:, :1]).fit_resample(X, y, groups)
    with pytest.raises(ValueError, match="noise_std"):
        NoiseAugmenter(noise_std=[0.1, 0.1, 0.1]).fit_resample(X, y)


@settings(max_examples=8, deadline=None)
@given(n_episodes=st.integers(1, 4), length=st.integers(2, 8), n_actions=st.integers(1, 2),
       which=st.sampled_from(["noise", "corrective"]))
def test_shapes_dtypes_reproducibility_and_round_trips(n_episodes, length, n_actions, which):
    X, y, groups = episodes(n_episodes, length, seed=length)
    if n_actions == 2:
        y = np.c_[y, -y]
    augmenter = (NoiseAugmenter(n_copies=2, random_state=0) if which == "noise"
                 else CorrectiveAugmenter(drift, epsilon=10.0, random_state=0))
    X_res, y_res = augmenter.fit_resample(X, y, groups)
    assert X_res.dtype == y_res.dtype == np.float64
    assert X_res.shape[1] == 2 and y_res.shape[1:] == y.shape[1:] and len(X_res) == len(y_res)
    assert_round_trips(augmenter, lambda a: a.fit_resample(X, y, groups), refit=lambda a: a)


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


@pytest.mark.parametrize("sampler", ["noise", "corrective"])
def test_grid_search_routes_groups_to_the_sampler(routing, sampler):
    X, y, groups = make_winding_road(n_episodes=4, random_state=0)
    cls = NoiseAugmenter if sampler == "noise" else CorrectiveAugmenter
    augmenter = (NoiseAugmenter(random_state=0) if sampler == "noise"
                 else CorrectiveAugmenter(_winding_model(), random_state=0))
    pipe = Pipeline([
        ("augment", augmenter),  # requests groups by default
        # The sampler adds rows, so the episode ids no longer fit the policy's rows.
        ("policy", BCRegressor(**FAST).set_fit_request(groups=False)),
    ])
    seen = []
    original = cls.fit_resample

    def spy(self, X, y, groups=None):
        seen.append(None if groups is None else len(groups))
        return original(self, X, y, groups)

    cls.fit_resample = spy
    try:
        grid = ({"augment__n_copies": [1, 2]} if sampler == "noise"
                else {"augment__epsilon": [0.01, 1.0]})
        search = GridSearchCV(pipe, grid, cv=GroupKFold(n_splits=2))
        search.fit(X, y, groups=groups)
    finally:
        cls.fit_resample = original
    # Every fit saw the episode ids of exactly its training rows (2 of 4
    # episodes of 200 steps), and the refit all of them.
    assert seen == [len(X) // 2] * 4 + [len(X)]
    assert search.best_params_ in [dict(zip(grid, [v])) for v in next(iter(grid.values()))]


def test_unrouted_groups_raise_how_to_route(routing):
    X, y, groups = make_winding_road(n_episodes=4, random_state=0)
    pipe = Pipeline([
        ("augment", CorrectiveAugmenter(_winding_model())),
        ("policy", BCRegressor(**FAST)),
    ])
    with pytest.raises(ValueError, match="enable_metadata_routing=True\\): the step requests groups"):
        pipe.fit(X, y)


def _winding_model():
    def model(states, actions):
        e, psi, kappa, ahead = states.T
        return np.c_[e + 0.1 * np.sin(psi), psi + 0.1 * (2 * actions[:, 0] - kappa + 1.5 * psi),
                     kappa + 0.1 * (ahead - kappa), ahead]
    return model


def test_corrective_labels_with_known_dynamics_rescue_cloning():
    # The winding road's demonstrations never leave the centre line, so
    # behaviour cloning has no example of a correction and drives off; the
    # known model's corrective labels teach it to steer back.
    X, y, groups = make_winding_road(n_episodes=1, random_state=0)
    policy = BCRegressor(hidden_layer_sizes=(64, 64), random_state=0)
    plain = evaluate_policy(clone(policy).fit(X, y), WINDING_ROAD, 10, random_state=1)
    augmenter = CorrectiveAugmenter(_winding_model(), random_state=0)
    corrected = evaluate_policy(clone(policy).fit(*augmenter.fit_resample(X, y, groups)),
                                WINDING_ROAD, 10, random_state=1)
    assert augmenter.n_kept_ > 0
    assert plain.success_rate <= 0.2 and corrected.success_rate >= 0.9


@pytest.mark.slow
def test_samplers_can_request_groups_whatever_was_imported_first():
    import subprocess
    import sys

    code = (
        "import sklearn; sklearn.set_config(enable_metadata_routing=True)\n"
        "from sklearn_il.augment import CorrectiveAugmenter\n"  # before any imblearn import
        "CorrectiveAugmenter().set_fit_resample_request(groups=True)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
