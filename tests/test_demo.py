import numpy as np
import pytest

from sklearn_il import BCRegressor
from sklearn_il.__main__ import main
from sklearn_il.datasets import make_obstacle
from sklearn_il.demo import POLICIES, format_table, run_demo
from sklearn_il.envs import OBSTACLE
from sklearn_il.evaluation import evaluate_policy


@pytest.mark.slow
def test_demo_tabulates_every_policy_and_plots(tmp_path):
    path = tmp_path / "rollouts.png"
    settings = dict(
        n_episodes=4, n_eval_episodes=3, policy_params=dict(hidden_layer_sizes=(8,), max_iter=3)
    )
    rows = run_demo(plot=str(path), n_jobs=2, **settings)
    assert [r["policy"] for r in rows] == ["expert", *POLICIES]
    assert rows[0]["success_rate"] == 1.0
    for r in rows:
        assert r["success_rate"] in (0.0, 1 / 3, 2 / 3, 1.0)  # of the 3 evaluation episodes
        assert np.isfinite(r["mean_return"])
    assert all(r["fit_seconds"] > 0 and r["predict_us_per_row"] > 0 for r in rows[1:])
    # A row is that policy, fitted in a worker, evaluated as evaluate_policy does.
    X, y, groups = make_obstacle(n_episodes=4, random_state=0)
    policy = BCRegressor(loss="mse", random_state=0, **settings["policy_params"]).fit(X, y, groups=groups)
    own = evaluate_policy(policy, OBSTACLE, n_episodes=3, random_state=1)
    assert rows[1]["success_rate"] == own.success_rate
    assert rows[1]["mean_return"] == pytest.approx(own.mean_return, rel=1e-4)  # threads may round
    assert path.stat().st_size > 1000
    assert "BCRegressor(loss='mse')" in format_table(rows)


def test_cli_rejects_unknown_commands(capsys):
    with pytest.raises(SystemExit):
        main(["train"])
