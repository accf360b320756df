"""BCRegressor and BCClassifier: properties, round trips and bad input."""

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklearn_il import BCClassifier, BCRegressor
from sklearn_il.io import load

from .conftest import FAST, TINY, assert_round_trips, regression

warnings.filterwarnings("ignore", category=ConvergenceWarning)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(2, 40),
    d=st.integers(1, 5),
    k=st.integers(1, 3),
    n_pred=st.integers(1, 7),
    loss=st.sampled_from(["mse", "gaussian"]),
)
def test_regressor_shapes_and_dtypes(n, d, k, n_pred, loss):
    X, y = regression(n, d, k, seed=n)
    policy = BCRegressor(loss=loss, **TINY).fit(X, y)
    pred = policy.predict(X[:n_pred])
    assert pred.dtype == np.float64
    assert pred.shape == ((min(n, n_pred),) if k == 1 else (min(n, n_pred), k))
    draws = policy.sample(X[:n_pred], n_samples=3, random_state=0)
    assert draws.shape == (min(n, n_pred), 3, k) and draws.dtype == np.float64
    if loss == "gaussian":
        assert policy.score_samples(X, y).shape == (n,)
    _assert_reproducible_and_round_trips(policy, X, y, method="predict")


def _assert_reproducible_and_round_trips(policy, X, y, method):
    """Same random_state, clone, and pickle all give the same outputs."""
    assert_round_trips(policy, lambda p: getattr(p, method)(X), refit=lambda p: p.fit(X, y))


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 40), d=st.integers(1, 5), n_classes=st.integers(1, 4))
def test_classifier_shapes_and_labels(n, d, n_classes):
    rng = np.random.default_rng(n)
    X = rng.normal(size=(n, d))
    labels = np.array(["brake", "left", "right", "wait"])[: n_classes]
    y = labels[rng.integers(n_classes, size=n)]
    policy = BCClassifier(**TINY).fit(X, y)
    assert set(policy.predict(X)) <= set(y)
    proba = policy.predict_proba(X)
    assert proba.shape == (n, len(np.unique(y))) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.exp(policy.predict_log_proba(X)), proba, rtol=1e-4)
    _assert_reproducible_and_round_trips(policy, X, y, method="predict_proba")


@pytest.mark.parametrize("make", [lambda: BCRegressor(**FAST), lambda: BCRegressor(loss="gaussian", **FAST)])
def test_same_random_state_same_model_and_global_rng_untouched(obstacle_data, make):
    X, y, _ = obstacle_data
    torch.manual_seed(123)
    state = torch.get_rng_state()
    a, b = make().fit(X, y), make().fit(X, y)
    assert torch.equal(torch.get_rng_state(), state), "fit must not move the global torch RNG"
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    other = make().set_params(random_state=1).fit(X, y)
    assert not np.array_equal(a.predict(X), other.predict(X))


@pytest.mark.parametrize("loss", ["mse", "gaussian"])
def test_clone_pickle_and_dump_round_trips(obstacle_data, tmp_path, loss):
    X, y, _ = obstacle_data
    policy = BCRegressor(loss=loss, **FAST).fit(X, y)
    assert_round_trips(
        policy,
        lambda p: (p.predict(X),) + ((p.score_samples(X, y),) if loss == "gaussian" else ()),
        refit=lambda p: p.fit(X, y),
        path=tmp_path / "p.safetensors",
    )
    assert load(tmp_path / "p.safetensors").get_params() == policy.get_params()


def test_classifier_round_trips_keep_string_labels(tmp_path):
    X = np.linspace(-1, 1, 40).reshape(-1, 1)
    y = np.where(X.ravel() > 0, "right", "left")
    policy = BCClassifier(**FAST).fit(X, y)
    assert_round_trips(policy, lambda p: (p.predict(X), p.classes_), path=tmp_path / "c.safetensors")


def test_bc_learns_what_it_is_shown():
    X = np.linspace(-1, 1, 200).reshape(-1, 1)
    reg = BCRegressor(**FAST).fit(X, 3 * X.ravel() + 1)
    assert reg.score(X, 3 * X.ravel() + 1) > 0.95
    y = np.where(X.ravel() > 0, 2, 0)
    clf = BCClassifier(**FAST).fit(X, y)
    assert clf.score(X, y) > 0.95


def test_gaussian_sampling_spreads_like_the_data():
    rng = np.random.default_rng(0)
    X = np.zeros((2000, 1))
    y = rng.normal(1.0, 0.5, size=2000)
    policy = BCRegressor(loss="gaussian", **FAST).fit(X, y)
    draws = policy.sample(X[:1], n_samples=4000, random_state=0).ravel()
    assert abs(draws.mean() - 1.0) < 0.1 and abs(draws.std() - 0.5) < 0.1
    mse_draws = BCRegressor(**FAST).fit(X, y).sample(X[:1], n_samples=5, random_state=0)
    assert np.ptp(mse_draws) == 0.0, "an mse policy is deterministic"


def test_fast_path_matches_validated_path(obstacle_data):
    X, y, _ = obstacle_data
    policy = BCRegressor(**FAST).fit(X, y)
    np.testing.assert_array_equal(policy.predict(X[:5]), policy.predict(X[:5].tolist()))
    np.testing.assert_array_equal(policy.predict(X[:1]), policy.predict(X[:1].astype(np.float32)))


def test_early_stopping_holds_out_episodes(obstacle_data):
    X, y, groups = obstacle_data
    policy = BCRegressor(
        early_stopping=True, validation_fraction=0.3, n_iter_no_change=2, **FAST
    ).fit(X, y, groups=groups)
    held = np.isin(groups, policy.validation_groups_)
    # Whole episodes, about validation_fraction of them, and some trained on.
    assert 0 < policy.validation_groups_.size < np.unique(groups).size
    assert policy.validation_groups_.size == np.ceil(0.3 * np.unique(groups).size)
    # The kept weights are the best epoch's; its validation loss is the
    # loss (MSE of standardised actions) on exactly the held-out rows.
    z = (policy.predict(X).reshape(y.shape) - y) / y.std(axis=0)
    best = min(policy.net_.history[:, "valid_loss"])
    np.testing.assert_allclose(best, np.mean(z[held] ** 2), rtol=1e-4)
    others = [
        c for c in itertools.combinations(np.unique(groups), policy.validation_groups_.size)
        if set(c) != set(policy.validation_groups_)
    ]
    assert not any(np.isclose(best, np.mean(z[np.isin(groups, c)] ** 2), rtol=1e-4) for c in others)
    assert len(policy.loss_curve_) == policy.n_iter_ <= FAST["max_iter"]
    assert BCRegressor(**TINY).fit(X, y).validation_groups_ is None


def test_warm_start_continues(obstacle_data):
    X, y, _ = obstacle_data
    policy = BCRegressor(warm_start=True, **FAST).fit(X, y)
    first = policy.n_iter_
    policy.fit(X, y)
    assert policy.n_iter_ > first
    clf = BCClassifier(warm_start=True, **FAST).fit(X, np.sign(y.ravel()))
    with pytest.raises(ValueError, match="not among the classes"):
        clf.fit(X, np.full(len(X), 7.0))


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("Estimator", [BCRegressor, BCClassifier])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_rejected(obstacle_data, Estimator, bad):
    X, y, _ = obstacle_data
    y = y.ravel() if Estimator is BCRegressor else np.sign(y.ravel())
    Xbad = X.copy()
    Xbad[3, 0] = bad
    with pytest.raises(ValueError, match="NaN|infinity"):
        Estimator(**TINY).fit(Xbad, y)
    policy = Estimator(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        policy.predict(Xbad[:5])


def test_wrong_shapes_are_named(obstacle_data):
    X, y, _ = obstacle_data
    with pytest.raises(ValueError, match=r"X has \d+ rows but y has \d+"):
        BCRegressor(**TINY).fit(X, y[:-1])
    policy = BCRegressor(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        policy.predict(np.ones((2, 3)))
    with pytest.raises(ValueError, match="Expected 2D array"):
        policy.predict(np.ones(2))
    g = BCRegressor(loss="gaussian", **TINY).fit(X, y)
    with pytest.raises(ValueError, match="y has shape"):
        g.score_samples(X[:4], y[:3])


@pytest.mark.parametrize("container", [list, lambda v: np.array(v, dtype=object), pd.Series])
def test_labels_of_mixed_types_are_refused(obstacle_data, container):
    # A list would otherwise become strings ("0", "a"), predicted as such.
    X, _, _ = obstacle_data
    mixed = container([0, "a"] * (len(X) // 2))
    with pytest.raises(ValueError, match=r"^y mixes string labels \(such as 'a'\) with others "
                                         r"\(such as 0\); .* one type"):
        BCClassifier(**TINY).fit(X[:len(mixed)], mixed)
    with pytest.raises(ValueError, match="^classes mixes string labels"):
        BCClassifier(**TINY).partial_fit(X[:2], ["a", "a"], classes=container([0, "a"]))
    assert BCClassifier(**TINY).fit(X[:4], container(["a", "b"] * 2)).classes_.tolist() == ["a", "b"]


def test_groups_are_checked(obstacle_data):
    X, y, groups = obstacle_data
    with pytest.raises(ValueError, match="groups has .* entries but X has"):
        BCRegressor(**TINY).fit(X, y, groups=groups[:-1])
    split = groups.copy()
    split[:5] = groups[-1]  # the last episode now also owns the first rows
    with pytest.raises(ValueError, match="not contiguous|separate runs"):
        BCRegressor(**TINY).fit(X, y, groups=split)
    with pytest.raises(ValueError, match="needs `groups`.*enable_metadata_routing=True\\): the step requests"):
        BCRegressor(early_stopping=True, **TINY).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 episodes"):
        BCRegressor(early_stopping=True, **TINY).fit(X, y, groups=np.zeros(len(X)))


def test_bad_parameters_are_named(obstacle_data):
    X, y, _ = obstacle_data
    with pytest.raises(ValueError, match="'loss' parameter"):
        BCRegressor(loss="huber").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be positive"):
        BCRegressor(hidden_layer_sizes=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="Unknown label type"):
        BCClassifier(**TINY).fit(X, y.ravel() + 0.5)
    with pytest.raises(AttributeError):
        BCRegressor(**TINY).fit(X, y).score_samples(X, y)


def test_read_only_inputs_are_scored_without_a_warning(obstacle_data):
    X, y, _ = obstacle_data
    policy = BCRegressor(loss="gaussian", **TINY).fit(X, y)
    # float64, so that validation keeps them as they are, read-only.
    X, y = X.astype(np.float64), y.astype(np.float64)
    X.setflags(write=False)
    y.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert policy.score_samples(X, y).shape == (len(y),)
        assert policy.predict(X).shape == (len(y),)
