"""ActionDistributionDisplay draws what it is given, and refuses what it cannot draw."""

import matplotlib
import numpy as np
import pytest

from sklearn_il import BCRegressor, MixtureDensityBC
from sklearn_il.datasets import make_gates
from sklearn_il.envs import GatesExpert, ObstacleExpert
from sklearn_il.inspection import ActionDistributionDisplay

from .conftest import TINY

matplotlib.use("Agg")


def test_one_dimensional_actions_with_the_experts_modes(obstacle_data):
    import matplotlib.pyplot as plt

    X, y, _ = obstacle_data
    policy = MixtureDensityBC(**TINY).fit(X, y)
    fig, ax = plt.subplots()
    display = ActionDistributionDisplay.from_estimator(
        policy, [[0.0, 0.0], [0.5, 0.5]], expert=ObstacleExpert(), n_samples=50,
        n_expert_draws=30, random_state=0, ax=ax,
    )
    assert display.ax_ is ax and display.figure_ is fig
    assert display.sampled_actions.shape == (2, 50, 1)
    # Re-drawing the expert's side at the start shows both of its modes;
    # at (0.5, 0.5) it is committed to one.
    assert set(np.unique(display.expert_actions[0])) == {-1.0, 1.0}
    assert np.unique(display.expert_actions[1]).size == 1
    assert ax.get_title() == "MixtureDensityBC"
    plt.close(fig)


def test_two_dimensional_actions_scatter_the_chosen_dims():
    import matplotlib.pyplot as plt

    X, y, _ = make_gates(n_episodes=3, random_state=0)
    policy = MixtureDensityBC(**TINY).fit(X, y)
    display = ActionDistributionDisplay.from_estimator(
        policy, [[0.0, 0.0, 0.0]], expert=GatesExpert(), n_samples=20, random_state=0, name="gates",
    )
    assert display.ax_.get_xlabel() == "action 0" and display.ax_.get_ylabel() == "action 1"
    assert display.ax_.get_title() == "gates"
    plt.close("all")


def test_bad_input_is_named(obstacle_data):
    X, y, _ = obstacle_data
    with pytest.raises(TypeError, match="implementing 'sample'"):
        ActionDistributionDisplay.from_estimator(ObstacleExpert(), X[:2])
    policy = BCRegressor(**TINY).fit(X, y)
    with pytest.raises(ValueError, match="expert gives 2 action dimensions, the policy 1"):
        ActionDistributionDisplay.from_estimator(policy, X[:2], expert=lambda s: np.zeros((len(s), 2)))
    with pytest.raises(ValueError, match="NaN"):
        ActionDistributionDisplay.from_estimator(policy, [[np.nan, 0.0]])


def test_compounding_error_display_puts_several_policies_on_one_axis():
    import matplotlib.pyplot as plt

    from sklearn_il.envs import WINDING_ROAD, WindingRoadExpert
    from sklearn_il.inspection import CompoundingErrorDisplay

    expert = WindingRoadExpert()
    fig, ax = plt.subplots()
    first = CompoundingErrorDisplay.from_estimator(expert, WINDING_ROAD, expert, n_episodes=1,
                                                   random_state=0, name="expert", ax=ax)
    second = CompoundingErrorDisplay.from_estimator(
        lambda X: -expert.predict(X), WINDING_ROAD, expert, n_episodes=1, random_state=0,
        name="wrong way", kind="failure_rate", ax=ax)
    assert first.ax_ is second.ax_ is ax and len(ax.get_lines()) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["expert", "wrong way"]
    np.testing.assert_array_equal(second.line_.get_ydata(), second.errors.failure_rate)
    assert second.errors.failure_rate[-1] == 1.0
    with pytest.raises(ValueError, match="kind must be one of"):
        first.plot(kind="regret")
    plt.close(fig)
