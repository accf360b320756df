from sklearn_il.__main__ import main
from sklearn_il.demo import POLICIES, format_table, run_demo


def test_demo_tabulates_every_policy_and_plots(tmp_path):
    path = tmp_path / "rollouts.png"
    rows = run_demo(
        n_episodes=4, n_eval_episodes=2, policy_params=dict(hidden_layer_sizes=(8,), max_iter=3),
        plot=str(path),
    )
    assert [r["policy"] for r in rows] == ["expert", *POLICIES]
    assert rows[0]["success_rate"] == 1.0
    assert all(0.0 <= r["success_rate"] <= 1.0 for r in rows)
    assert path.stat().st_size > 1000
    assert "BCRegressor(loss='mse')" in format_table(rows)


def test_cli_rejects_unknown_commands(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["train"])
