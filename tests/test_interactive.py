"""DAggerWrapper and DARTWrapper: the loop, the schedules, the human loop, errors."""


import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import BCClassifier, BCRegressor, HistoryStacker, SequenceBC
from sklearn_il.datasets import make_winding_road
from sklearn_il.envs import OBSTACLE, WINDING_ROAD, WindingRoadExpert
from sklearn_il.evaluation import compounding_error, evaluate_policy
from sklearn_il.interactive import DAggerWrapper, DARTWrapper
from sklearn_il.io import load

from .conftest import FAST, TINY, DiesAt, assert_round_trips

EXPERT = WindingRoadExpert()
SMALL = dict(hidden_layer_sizes=(64, 64), random_state=0)


@pytest.fixture(scope="module")
def road():
    return make_winding_road(n_episodes=1, random_state=0)


@pytest.mark.parametrize(
    "beta, expected",
    [("indicator", [1, 0, 0, 0]), ("exponential", [1, 0.5, 0.25, 0.125]),
     (0.3, [0.3] * 4), (lambda i: 1 / i, [1, 0.5, 1 / 3, 0.25])],
)
def test_beta_schedules(beta, expected):
    dagger = DAggerWrapper(BCRegressor(**TINY), WINDING_ROAD, EXPERT, beta=beta, decay=0.5,
                           n_iter=3, n_episodes_per_iter=1, max_episode_steps=5, random_state=0)
    betas = [record["beta"] for record in dagger.fit().history_]
    assert betas == pytest.approx([1.0] + expected[1:]), "round 1 is the expert's own data"


class RecordActions(gym.Wrapper):
    """The actions the env receives."""

    executed = []

    def step(self, action):
        RecordActions.executed.append(float(np.ravel(action)[0]))
        return super().step(action)


def test_the_mixing_coin_is_flipped_per_step():
    RecordActions.executed = []
    learner = DummyRegressor(strategy="constant", constant=[0.123])  # easy to spot
    dagger = DAggerWrapper(learner, lambda: RecordActions(gym.make(WINDING_ROAD)), EXPERT,
                           beta=0.5, n_iter=1, n_episodes_per_iter=10, random_state=0,
                           n_envs=1)  # one env: its record is the episodes' steps alone
    dagger.fit()
    n_labels = dagger.history_[1]["n_labels"]  # the expert labels every step, whoever acts
    executed = np.array(RecordActions.executed[-n_labels:])  # round 2: the mixed one
    assert n_labels > 200
    assert 0.4 < np.mean(executed == np.float32(0.123)) < 0.6


def test_dagger_labels_every_visited_state_and_aggregates(road):
    X, y, groups = road
    dagger = DAggerWrapper(BCRegressor(**FAST), WINDING_ROAD, EXPERT, n_iter=2,
                           n_episodes_per_iter=2, random_state=0).fit(X, y, groups)
    assert [r["iteration"] for r in dagger.history_] == [1, 2, 3]
    assert [r["beta"] for r in dagger.history_] == [1.0, 0.5, 0.25]  # the default schedule
    assert sum(r["n_labels"] for r in dagger.history_) == len(dagger.y_) == len(dagger.X_)
    np.testing.assert_allclose(dagger.y_.ravel(), EXPERT.predict(dagger.X_).ravel(), atol=1e-6)
    # Episode ids: contiguous runs, numbered across rounds, 1 + 2 + 2 episodes.
    assert np.unique(dagger.groups_).tolist() == [0, 1, 2, 3, 4]
    assert (np.diff(dagger.groups_) >= 0).all()
    assert np.isnan(dagger.history_[0]["mean_return"])
    assert all(r["mean_return"] > 0 for r in dagger.history_[1:])


@pytest.mark.slow
def test_dagger_fixes_what_cloning_gets_wrong(road):
    # One expert episode: the clone drives off the road. Three DAgger rounds
    # on its own states bring it to the expert's success.
    X, y, groups = road
    clone_only = BCRegressor(**SMALL).fit(X, y)
    dagger = DAggerWrapper(BCRegressor(**SMALL), WINDING_ROAD, EXPERT, n_iter=3,
                           n_episodes_per_iter=2, random_state=0).fit(X, y, groups)
    before = evaluate_policy(clone_only, WINDING_ROAD, 10, random_state=1)
    after = evaluate_policy(dagger, WINDING_ROAD, 10, random_state=1)
    assert before.success_rate <= 0.2 and after.success_rate >= 0.9
    # The compounding-error measure shows it too: fewer steps lost.
    lost_bc = compounding_error(clone_only, WINDING_ROAD, EXPERT, 5, random_state=1).cumulative_cost
    lost_dagger = compounding_error(dagger, WINDING_ROAD, EXPERT, 5, random_state=1).cumulative_cost
    assert lost_bc[-1] > 50 and lost_dagger[-1] < 10


def test_dart_noise_follows_the_learner_errors_and_labels_stay_clean(road):
    X, y, groups = road
    dart = DARTWrapper(BCRegressor(**FAST), WINDING_ROAD, EXPERT, alpha=2.0, n_iter=2,
                       n_episodes_per_iter=2, random_state=0).fit(X, y, groups)
    # T tr Sigma_alpha = alpha, with T = 200 (the expert's episodes last the horizon)
    assert np.trace(dart.noise_covariance_) * 200 == pytest.approx(2.0)
    np.testing.assert_allclose(dart.y_.ravel(), EXPERT.predict(dart.X_).ravel(), atol=1e-6)
    # The noise moved the expert off its noiseless path: states the clean
    # expert never visits (it keeps the offset at 0).
    assert np.abs(dart.X_[len(X):, 0]).max() > 10 * np.abs(X[:, 0]).max()
    assert all(r["beta"] == 1.0 for r in dart.history_)


def test_starting_from_expert_rollouts_and_a_pipeline_as_estimator():
    pipe = make_pipeline(StandardScaler(), BCRegressor(**FAST))
    dagger = DAggerWrapper(pipe, WINDING_ROAD, EXPERT, n_iter=1, n_episodes_per_iter=1,
                           random_state=0).fit()
    assert dagger.history_[0]["n_labels"] == 200 and dagger.history_[0]["mean_return"] == 200
    assert dagger.predict(dagger.X_[:3]).shape == (3,)
    assert dagger.n_features_in_ == 4


def test_human_in_the_loop_round_trip_through_a_table(road, tmp_path):
    X, y, groups = road
    frame = pd.DataFrame(X, columns=["offset", "heading", "kappa", "kappa_ahead"])
    dagger = DAggerWrapper(BCRegressor(**FAST), WINDING_ROAD, expert=None, n_iter=0,
                           n_episodes_per_iter=2).fit(frame, y, groups)
    states = dagger.collect_states(random_state=0, as_frame=True)
    assert list(states.columns) == ["offset", "heading", "kappa", "kappa_ahead", "episode"]
    assert states["episode"].min() == 1  # new ids continue after the demonstrations'
    path = tmp_path / "to_label.csv"
    states.to_csv(path, index=False)
    labelled = pd.read_csv(path)
    labelled["action"] = EXPERT.predict(labelled[frame.columns].to_numpy()).ravel()
    dagger.partial_fit(labelled[frame.columns], labelled["action"], groups=labelled["episode"])
    assert len(dagger.history_) == 2 and len(dagger.X_) == len(X) + len(states)
    assert dagger.history_[1]["n_labels"] == len(states)
    X_arr, ids = dagger.collect_states(n_episodes=1, random_state=0)
    assert X_arr.shape[1] == 4 and ids.min() == dagger.groups_.max() + 1


def test_partial_fit_on_an_unfitted_wrapper_is_the_initial_data(road):
    X, y, groups = road
    dagger = DAggerWrapper(BCRegressor(**FAST)).partial_fit(X, y, groups)
    assert dagger.history_[0]["beta"] == 1.0 and len(dagger.X_) == len(X)


def test_errors_name_the_problem(road):
    X, y, groups = road
    with pytest.raises(ValueError, match="expert=None.*n_iter=0"):
        DAggerWrapper(BCRegressor(**FAST), WINDING_ROAD, n_iter=2).fit(X, y, groups)
    with pytest.raises(ValueError, match="X has 3 features but the env's observations have 4"):
        DAggerWrapper(BCRegressor(**FAST), WINDING_ROAD, EXPERT, n_iter=1).fit(X[:, :3], y, groups)
    with pytest.raises(ValueError, match="policy outputs 2 action dimensions"):
        DAggerWrapper(BCRegressor(**FAST), OBSTACLE, EXPERT, n_iter=1).fit(
            X[:, :2], np.c_[y, y], groups)
    with pytest.raises(ValueError, match="groups has 5 entries"):
        DAggerWrapper(BCRegressor(**FAST), n_iter=0).fit(X, y, groups[:5])
    with pytest.raises(ValueError, match="NaN"):
        DAggerWrapper(BCRegressor(**FAST), n_iter=0).fit(np.full_like(X, np.nan), y)
    with pytest.raises(ValueError, match="not a probability"):
        DAggerWrapper(BCRegressor(**FAST), WINDING_ROAD, EXPERT, beta=lambda i: 2.0,
                      n_iter=1).fit(X, y, groups)
    with pytest.raises(ValueError, match="pass env and expert"):
        DAggerWrapper(BCRegressor(**FAST), n_iter=0).fit()
    with pytest.raises(TypeError, match="not a classifier"):
        DARTWrapper(BCClassifier(**FAST), n_iter=0).fit(X, (y.ravel() > 0).astype(int))
    dagger = DAggerWrapper(BCRegressor(**FAST)).partial_fit(X, y, groups)
    with pytest.raises(ValueError, match="X has 2 features"):
        dagger.partial_fit(X[:, :2], y)
    with pytest.raises(ValueError, match="labels have shape"):
        dagger.partial_fit(X, np.c_[y, y])
    # One action dimension as (n,) or (n, 1): the same labels.
    dagger.partial_fit(X[:5], y.ravel()[:5])
    assert dagger.y_.shape == (len(X) + 5, 1)


def test_verbose_shows_a_progress_bar(road, capsys):
    X, y, groups = road
    DAggerWrapper(BCRegressor(**FAST), WINDING_ROAD, EXPERT, n_iter=1, n_episodes_per_iter=1,
                  random_state=0, verbose=1).fit(X, y, groups)
    err = capsys.readouterr().err
    assert "DAggerWrapper" in err and "mean_return" in err


@settings(max_examples=4, deadline=None)
@given(wrapper=st.sampled_from([DAggerWrapper, DARTWrapper]), n_pred=st.integers(1, 5))
def test_reproducible_and_round_trips(road, wrapper, n_pred):
    X, y, groups = road
    model = wrapper(BCRegressor(**FAST), WINDING_ROAD, EXPERT, n_iter=1, n_episodes_per_iter=1,
                    random_state=3).fit(X, y, groups)
    prediction = model.predict(X[:n_pred])
    assert prediction.shape == (n_pred,) and prediction.dtype == np.float64
    assert_round_trips(model, lambda m: (m.predict(X), m.X_), refit=lambda m: m.fit(X, y, groups))


def test_dagger_with_a_classifier_policy_on_discrete_actions():
    from sklearn_il.experts import LunarLanderHeuristic

    dagger = DAggerWrapper(BCClassifier(**FAST), "LunarLander-v3", LunarLanderHeuristic(),
                           n_iter=1, n_episodes_per_iter=1, max_episode_steps=100,
                           random_state=0).fit()
    assert dagger.y_.dtype.kind == "i" and set(np.unique(dagger.y_)) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(dagger.classes_, dagger.estimator_.classes_)
    assert dagger.predict_proba(dagger.X_[:2]).shape == (2, len(dagger.classes_))


@pytest.mark.parametrize("wrapper", [DAggerWrapper, DARTWrapper])
def test_rounds_do_not_depend_on_how_many_envs_run_at_once(wrapper):
    mixing = dict(beta=0.5) if wrapper is DAggerWrapper else {}

    def fitted(**engine):
        return wrapper(LinearRegression(), WINDING_ROAD, EXPERT, n_iter=2, n_episodes_per_iter=4,
                       random_state=0, **mixing, **engine).fit()

    one = fitted(n_envs=1)
    for engine in (dict(n_envs=3), dict(n_envs=4, vectorization="async")):
        other = fitted(**engine)
        np.testing.assert_array_equal(other.X_, one.X_)
        np.testing.assert_array_equal(other.y_, one.y_)
        np.testing.assert_array_equal(other.groups_, one.groups_)


@pytest.mark.parametrize("make_policy", [
    lambda: BCRegressor(**TINY), lambda: SequenceBC(n_frames=2, **TINY),
], ids=["BCRegressor", "SequenceBC"])
def test_dagger_on_a_history_pipeline_routes_groups(make_policy):
    with sklearn.config_context(enable_metadata_routing=True):
        # Both steps request the episode ids by default.
        stacker, policy = HistoryStacker(2), make_policy()
        dagger = DAggerWrapper(make_pipeline(stacker, policy), WINDING_ROAD, EXPERT, n_iter=2,
                               n_episodes_per_iter=2, n_envs=2, random_state=0).fit()
        # The wrapper keeps the raw observations; the policy saw them stacked
        # within each episode, and acts on each env's own history.
        assert dagger.X_.shape[1] == 4 and dagger.estimator_[-1].n_features_in_ == 12
        assert len(dagger.history_) == 3 and np.unique(dagger.groups_).size == 6
        X, groups = dagger.collect_states(n_episodes=2, random_state=1)
        one_env = dagger.set_params(n_envs=1).collect_states(n_episodes=2, random_state=1)
        np.testing.assert_allclose(X, one_env[0], rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="groups"):  # without routing: told how to enable it
        DAggerWrapper(make_pipeline(HistoryStacker(2), BCRegressor(**TINY)), WINDING_ROAD, EXPERT,
                      n_iter=1, n_episodes_per_iter=1).fit()


def test_an_env_process_that_dies_mid_round_leaves_the_finished_rounds(tmp_path):
    checkpoint = tmp_path / "dagger.skops"

    def env():
        # Made in each env process: the second DAgger round's envs (two
        # rounds in the checkpoint) are killed at their fourth step.
        rounds = len(load(checkpoint).history_) if checkpoint.exists() else 0
        return DiesAt(gym.make(WINDING_ROAD), step=3 if rounds == 2 else None)

    def dagger(**kwargs):
        return DAggerWrapper(BCRegressor(**TINY), env, EXPERT, n_episodes_per_iter=2, n_envs=2,
                             vectorization="async", random_state=0, **kwargs)

    broken = dagger(n_iter=2, checkpoint=str(checkpoint))
    with pytest.raises(RuntimeError, match=r"process of env slot \d died \(killed by signal "
                                           r"SIGKILL\) in episode \d, at step 3"):
        broken.fit()
    checkpoint.unlink()  # so that the envs below live
    # As one round of DAgger leaves it: its data, its record and its policy.
    one_round = dagger(n_iter=1).fit()
    assert len(broken.history_) == len(one_round.history_) == 2
    for name in ("X_", "y_", "groups_"):
        np.testing.assert_array_equal(getattr(broken, name), getattr(one_round, name))
    np.testing.assert_array_equal(broken.predict(one_round.X_), one_round.predict(one_round.X_))
