import numpy as np

from sklearn_il.__main__ import main
from sklearn_il.demo import POLICIES, format_table, run_demo


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
    # Fitted and rolled out in two workers or one, the results are the same.
    outcome = lambda rows: [(r["success_rate"], r["mean_return"]) for r in rows]  # noqa: E731
    assert outcome(run_demo(n_jobs=1, **settings)) == outcome(rows)
    assert path.stat().st_size > 1000
    assert "BCRegressor(loss='mse')" in format_table(rows)


def test_cli_rejects_unknown_commands(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["train"])
