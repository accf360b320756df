"""scikit-learn's conventions: sample_weight, groups requested by default,
partial_fit, and feature names that travel from a DataFrame."""

import warnings

import numpy as np
import pytest
import sklearn
import torch
from imblearn.pipeline import make_pipeline as make_imblearn_pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import (
    AutoregressiveBC,
    BCClassifier,
    BCRegressor,
    CorrectiveAugmenter,
    DAggerWrapper,
    DiffusionBC,
    DynamicsRegressor,
    FDivergenceBC,
    HistoryStacker,
    ImplicitBC,
    InverseDynamicsRegressor,
    LatentBC,
    MixtureDensityBC,
    SequenceBC,
)
from sklearn_il.datasets import Demonstrations, collect_demonstrations, make_obstacle
from sklearn_il.envs import OBSTACLE, ObstacleExpert
from sklearn_il.evaluation import evaluate_policy, rollout

from .conftest import FAST, SMALL, TINY


def routing(enabled):
    return sklearn.config_context(enable_metadata_routing=enabled)


def groups_param(enabled, groups):
    """``groups`` as cross_validate takes it: an argument, or a routed param."""
    return {"params": {"groups": groups}} if enabled else {"groups": groups}


# ------------------------------------------------------------------ weights
def _side(trajectories):
    """The side (+1 right, -1 left) each episode passes the obstacle on."""
    x, y = trajectories.X[:, 0], trajectories.X[:, 1]
    at_obstacle = np.abs(x - 1.0) < 0.06
    return np.array([np.sign(y[(trajectories.groups == e) & at_obstacle].mean())
                     for e in range(trajectories.n_episodes)])


def test_zero_weight_on_left_passing_episodes_gives_a_policy_that_passes_right():
    demos = collect_demonstrations(OBSTACLE, ObstacleExpert(), 20, random_state=0)
    right = np.repeat(_side(demos), demos.episode_lengths()) > 0
    assert 0.3 < right.mean() < 0.7  # both modes demonstrated
    weighted = BCRegressor(**SMALL).fit(demos.X, demos.y, groups=demos.groups,
                                        sample_weight=right.astype(float))
    only_right = BCRegressor(**SMALL).fit(demos.X[right], demos.y[right],
                                          groups=demos.groups[right])
    unweighted = BCRegressor(**SMALL).fit(demos.X, demos.y, groups=demos.groups)
    runs = {name: rollout(policy, OBSTACLE, n_episodes=20, random_state=1)
            for name, policy in [("weighted", weighted), ("right", only_right),
                                 ("unweighted", unweighted)]}
    assert (_side(runs["weighted"]) > 0).all()
    assert runs["weighted"].successes.mean() == runs["right"].successes.mean() == 1.0
    # The weights did it: unweighted, the mean of the two modes crashes.
    assert runs["unweighted"].successes.mean() < 0.5


def test_weights_of_zero_leave_the_rows_out_exactly(obstacle_data):
    X, y, groups = obstacle_data
    weight = (groups % 2).astype(float)
    kept = weight > 0
    weighted = BCRegressor(**TINY).fit(X, y, groups=groups, sample_weight=weight)
    subset = BCRegressor(**TINY).fit(X[kept], y[kept], groups=groups[kept])
    np.testing.assert_array_equal(weighted.predict(X), subset.predict(X))


def test_weights_scale_the_loss_and_only_their_ratios_matter(obstacle_data):
    X, y, groups = obstacle_data
    weight = np.random.default_rng(0).uniform(0.1, 2.0, len(X))
    plain = BCRegressor(**TINY).fit(X, y).predict(X)
    ones = BCRegressor(**TINY).fit(X, y, sample_weight=np.ones(len(X))).predict(X)
    np.testing.assert_array_equal(plain, ones)
    once = BCRegressor(**TINY).fit(X, y, sample_weight=weight).predict(X)
    tenfold = BCRegressor(**TINY).fit(X, y, sample_weight=10 * weight).predict(X)
    np.testing.assert_allclose(once, tenfold, atol=1e-5)
    assert not np.allclose(once, plain, atol=1e-4)


def test_the_early_stopping_loss_is_the_weighted_mean_over_held_out_rows(obstacle_data):
    X, y, groups = obstacle_data
    weight = np.where(X[:, 0] < 1.0, 10.0, 0.1)
    policy = BCRegressor(hidden_layer_sizes=(8,), max_iter=1, early_stopping=True,
                         validation_fraction=0.4, n_iter_no_change=1, random_state=0)
    policy.fit(X, y, groups=groups, sample_weight=weight)
    rows = np.isin(groups, policy.validation_groups_)
    module = policy.net_.module_
    with torch.no_grad():
        output = module(torch.as_tensor(X[rows], dtype=torch.float32))
        target = module.target_scaler(torch.as_tensor(y[rows], dtype=torch.float64).view(-1, 1))
        per_row = ((output - target.float()) ** 2).mean(1).numpy()
    logged = policy.net_.history[-1, "valid_loss"]
    np.testing.assert_allclose(logged, np.average(per_row, weights=weight[rows]), rtol=1e-4)
    assert not np.isclose(logged, per_row.mean(), rtol=1e-2)


@pytest.mark.parametrize("weight, message", [
    (np.full(5, 1.0), r"sample_weight.shape == \(5,\), expected \(180,\)"),
    (np.full(180, np.nan), "sample_weight contains NaN"),
    (np.r_[-1.0, np.ones(179)], "Negative values in data passed to `sample_weight`"),
    (np.zeros(180), "sample_weight.*non-zero"),
    (np.ones((180, 2)), "sample_weight.*1D"),
    (np.array(["a"] * 180), "sample_weight"),
])
def test_bad_weights_are_refused_by_name(obstacle_data, weight, message):
    X, y, groups = obstacle_data
    for estimator in (BCRegressor(**TINY), DAggerWrapper(BCRegressor(**TINY), n_iter=0)):
        with pytest.raises(ValueError, match=message):
            estimator.fit(X, y, groups=groups, sample_weight=weight)
        assert not hasattr(estimator, "n_features_in_")


class WeightRecorder(BCRegressor):
    """Test-only: keeps the weights its fit was given."""

    def fit(self, X, y, groups=None, sample_weight=None):
        self.seen_weight_ = None if sample_weight is None else np.asarray(sample_weight)
        return super().fit(X, y, groups=groups, sample_weight=sample_weight)


@pytest.mark.parametrize("enabled", [False, True])
def test_a_wrapper_weighs_the_given_rows_and_collected_ones_at_one(obstacle_data, enabled):
    X, y, groups = obstacle_data
    weight = np.linspace(0.5, 2.0, len(X))
    with routing(enabled):
        estimator = WeightRecorder(**TINY)
        if enabled:
            estimator.set_fit_request(sample_weight=True)
        wrapper = DAggerWrapper(estimator, env=OBSTACLE, expert=ObstacleExpert(),
                                n_iter=1, n_episodes_per_iter=2, random_state=0)
        wrapper.fit(X, y, groups=groups, sample_weight=weight)
    seen = wrapper.estimator_.seen_weight_
    np.testing.assert_array_equal(seen[: len(X)], weight)
    assert len(seen) == len(wrapper.X_) > len(X)
    assert (seen[len(X):] == 1).all()


def test_a_wrapper_refuses_weights_its_policy_cannot_take(obstacle_data):
    X, y, groups = obstacle_data
    wrapper = DAggerWrapper(make_pipeline(StandardScaler(), BCRegressor(**TINY)), n_iter=0)
    with pytest.raises(ValueError, match="takes none.*set_fit_request\\(sample_weight=True\\)"):
        wrapper.fit(X, y, sample_weight=np.ones(len(X)))


def test_weights_reach_a_policy_through_pipeline_search_and_cross_validate(obstacle_data):
    X, y, groups = obstacle_data
    weight = np.random.default_rng(0).uniform(0.1, 2.0, len(X))
    direct = BCRegressor(**TINY).fit(StandardScaler().fit_transform(X), y, sample_weight=weight)
    with routing(True):
        policy = (BCRegressor(**TINY).set_fit_request(sample_weight=True)
                  .set_score_request(sample_weight=True))
        pipe = make_pipeline(StandardScaler().set_fit_request(sample_weight=False), policy)
        pipe.fit(X, y, sample_weight=weight)
        np.testing.assert_array_equal(pipe.predict(X), direct.predict(
            StandardScaler().fit_transform(X)))
        search = GridSearchCV(pipe, {"bcregressor__alpha": [1e-4]}, cv=GroupKFold(3))
        search.fit(X, y, groups=groups, sample_weight=weight)
        np.testing.assert_array_equal(search.predict(X), pipe.predict(X))
        weighted = cross_validate(pipe, X, y, cv=GroupKFold(3),
                                  params={"groups": groups, "sample_weight": weight})
    unweighted = cross_validate(make_pipeline(StandardScaler(), BCRegressor(**TINY)), X, y,
                                groups=groups, cv=GroupKFold(3))
    assert np.isfinite(weighted["test_score"]).all()
    assert not np.allclose(weighted["test_score"], unweighted["test_score"])


# ------------------------------------------------------- groups by default
@pytest.mark.parametrize("enabled", [False, True])
def test_searches_pass_episode_ids_with_no_request_call(obstacle_data, enabled):
    X, y, groups = obstacle_data
    with routing(enabled):
        search = GridSearchCV(BCRegressor(**TINY), {"alpha": [1e-4, 1e-3]}, cv=GroupKFold(3))
        search.fit(X, y, groups=groups)
        piped = GridSearchCV(make_pipeline(StandardScaler(), BCRegressor(**TINY)),
                             {"bcregressor__alpha": [1e-4]}, cv=GroupKFold(3))
        piped.fit(X, y, groups=groups)
        scores = cross_validate(BCRegressor(**TINY), X, y, cv=GroupKFold(3),
                                **groups_param(enabled, groups))
        assert np.isfinite(scores["test_score"]).all()
        if enabled:
            # The policy got the ids: early stopping holds out episodes.
            stopping = GridSearchCV(BCRegressor(early_stopping=True, **TINY),
                                    {"alpha": [1e-4]}, cv=GroupKFold(3))
            stopping.fit(X, y, groups=groups)
            assert stopping.best_estimator_.validation_groups_ is not None


def test_estimators_that_use_episode_ids_request_them():
    for estimator in (BCRegressor(), BCClassifier(), MixtureDensityBC(), SequenceBC(),
                      DynamicsRegressor(), DAggerWrapper(BCRegressor())):
        requests = estimator.get_metadata_routing()
        requests = getattr(requests, "_self_request", requests)
        assert requests.fit.requests["groups"] is True, type(estimator).__name__
        assert requests.fit.requests["sample_weight"] is None  # the user's to request
        assert requests.partial_fit.requests["groups"] is True
    stacker = HistoryStacker().get_metadata_routing()
    assert stacker.fit.requests["groups"] is stacker.transform.requests["groups"] is True
    resampler = CorrectiveAugmenter().get_metadata_routing()
    assert resampler.fit_resample.requests["groups"] is True


def test_a_history_pipeline_gets_ids_and_weights_with_routing_on(obstacle_data):
    X, y, groups = obstacle_data
    weight = np.linspace(0.5, 2.0, len(X))
    with routing(True):
        pipe = make_pipeline(HistoryStacker(2),
                             BCRegressor(**TINY).set_fit_request(sample_weight=True))
        pipe.fit(X, y, groups=groups, sample_weight=weight)
    stacked = HistoryStacker(2).fit_transform(X, groups=groups)
    direct = BCRegressor(**TINY).fit(stacked, y, groups=groups, sample_weight=weight)
    np.testing.assert_array_equal(pipe[-1].predict(stacked), direct.predict(stacked))


def test_a_policy_after_a_resampler_is_told_to_decline_the_ids(obstacle_data):
    X, y, groups = obstacle_data
    with routing(True):
        pipe = make_imblearn_pipeline(CorrectiveAugmenter(DynamicsRegressor(**TINY),
                                                          random_state=0),
                                      BCRegressor(**TINY))
        with pytest.raises(ValueError, match=r"set_fit_request\(groups=False\)"):
            pipe.fit(X, y, groups=groups)
        pipe[-1].set_fit_request(groups=False)
        pipe.fit(X, y, groups=groups)  # the resampler still gets them by default
    assert pipe[0].n_kept_ > 0


# --------------------------------------------------------------- partial_fit
def test_ten_partial_fits_train_like_ten_epochs(obstacle_data):
    X, y, groups = obstacle_data
    settings = dict(hidden_layer_sizes=(32,), learning_rate_init=0.01, batch_size=32,
                    random_state=0)
    fitted = BCRegressor(max_iter=10, tol=0, **settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted.fit(X, y)
    partial = BCRegressor(**settings)
    optimizers = set()
    for _ in range(10):
        partial.partial_fit(X, y)
        optimizers.add(id(partial.net_.optimizer_))
    assert len(optimizers) == 1  # one optimizer, its state kept
    assert partial.n_iter_ == 10 and len(partial.loss_curve_) == 10
    curve, reference = np.array(partial.loss_curve_), np.array(fitted.loss_curve_)
    assert curve[-1] < 0.5 * curve[0]
    # The same start; only the minibatches' order differs.
    np.testing.assert_allclose(curve, reference, rtol=0.1)


def test_partial_fit_continues_a_fitted_policy_and_refuses_a_new_structure(obstacle_data):
    X, y, groups = obstacle_data
    policy = BCRegressor(**FAST).fit(X, y)
    before = policy.predict(X)
    policy.partial_fit(X, y)
    assert policy.n_iter_ == FAST["max_iter"] + 1
    assert not np.array_equal(policy.predict(X), before)
    assert np.abs(policy.predict(X) - before).max() < 0.2  # continued, not restarted
    policy.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="hidden_layer_sizes=\\(4,\\) differs"):
        policy.partial_fit(X, y)
    assert policy.n_iter_ == FAST["max_iter"] + 1


def test_a_classifier_s_first_partial_fit_needs_its_classes():
    X = np.array([[-1.0], [-0.5], [0.5], [1.0]])
    y = np.array(["left", "left", "right", "right"])
    policy = BCClassifier(**TINY)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        policy.partial_fit(X, y)
    policy.partial_fit(X[:2], y[:2], classes=["left", "right", "stay"])
    assert policy.classes_.tolist() == ["left", "right", "stay"]
    policy.partial_fit(X, y)
    with pytest.raises(ValueError, match="differs from the classes"):
        policy.partial_fit(X, y, classes=["left", "right"])
    with pytest.raises(ValueError, match=r"labels \['up'\] that are not among"):
        policy.partial_fit(X, np.array(["up", "left", "left", "right"]))
    assert policy.n_iter_ == 2


GRADIENT_TRAINED = [
    BCRegressor(**TINY), BCRegressor(loss="gaussian", **TINY), MixtureDensityBC(**TINY),
    DiffusionBC(n_diffusion_steps=10, n_inference_steps=2, **TINY), AutoregressiveBC(**TINY),
    LatentBC(**TINY), ImplicitBC(n_counter_examples=4, n_candidates=16, **TINY),
    FDivergenceBC(n_adversarial_steps=5, **TINY), SequenceBC(n_frames=0, **TINY),
    DynamicsRegressor(**TINY), InverseDynamicsRegressor(**TINY),
]


@pytest.mark.parametrize("policy", GRADIENT_TRAINED, ids=lambda p: type(p).__name__)
def test_every_gradient_trained_policy_fits_partially_with_weights(policy, obstacle_data):
    X, y, groups = obstacle_data
    if isinstance(policy, InverseDynamicsRegressor):
        X = np.c_[X, X]
    weight = np.linspace(0.0, 1.0, len(X))
    policy = clone(policy).partial_fit(X, y, groups=groups, sample_weight=weight)
    policy.partial_fit(X, y, groups=groups)
    assert policy.n_iter_ == 2
    assert np.isfinite(policy.predict(X)).all()


def test_optuna_prunes_a_search_over_a_policy(obstacle_data):
    optuna = pytest.importorskip("optuna")
    from optuna_integration import OptunaSearchCV

    X, y, groups = obstacle_data
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize",
                                pruner=optuna.pruners.MedianPruner(n_warmup_steps=1))
    search = OptunaSearchCV(
        BCRegressor(hidden_layer_sizes=(8,), random_state=0),
        {"learning_rate_init": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)},
        cv=GroupKFold(2), enable_pruning=True, max_iter=3, n_trials=4, study=study,
        random_state=0, refit=False)
    search.fit(X, y, groups=groups)
    steps = [len(trial.intermediate_values) for trial in study.trials]
    assert max(steps) == 3 and all(step >= 1 for step in steps)


# ---------------------------------------------------------------- names
def test_names_from_a_dataframe_reach_the_policy_and_its_rollouts():
    pd = pytest.importorskip("pandas")
    X, y, groups = make_obstacle(n_episodes=4, random_state=0)
    frame = pd.DataFrame({"x": X[:, 0], "lateral": X[:, 1], "steer": y.ravel(),
                          "episode": groups})
    demos = Demonstrations.from_dataframe(frame, ["x", "lateral"], "steer", "episode")
    assert list(demos.X.columns) == ["x", "lateral"]
    policy = BCRegressor(**FAST).fit(demos.X, demos.y, groups=demos.groups)
    assert policy.feature_names_in_.tolist() == ["x", "lateral"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_policy(policy, OBSTACLE, n_episodes=2, random_state=0)
    assert isinstance(make_obstacle(n_episodes=1, return_X_y=False).demonstrations.X,
                      np.ndarray)


def test_partial_fit_is_reproducible_and_round_trips(obstacle_data, tmp_path):
    from sklearn_il.io import dump, load

    X, y, groups = obstacle_data
    weight = np.linspace(0.1, 1.0, len(X))
    runs = []
    for _ in range(2):
        policy = BCRegressor(**TINY)
        for _ in range(3):
            policy.partial_fit(X, y, sample_weight=weight)
        runs.append(policy)
    np.testing.assert_array_equal(runs[0].predict(X), runs[1].predict(X))
    # A loaded policy continues from its weights, with a new optimizer set
    # up as fit sets it (the file keeps no optimizer state).
    dump(runs[0], tmp_path / "policy.skil")
    loaded = load(tmp_path / "policy.skil").partial_fit(X, y)
    assert loaded.n_iter_ == 4 and loaded.loss_curve_[:3] == runs[0].loss_curve_
    assert loaded.net_.optimizer_.param_groups[0]["lr"] == TINY.get("learning_rate_init", 1e-3)
