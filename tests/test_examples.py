"""Every gallery example runs, headless, draws its figure and warns of nothing."""

import pathlib
import runpy
import warnings

import matplotlib
import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").rglob("plot_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_plots_and_warns_of_nothing(path, capfd):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    # The suite's own filters (setup.cfg) do not apply: a reader sees every
    # warning an example lets through, in the gallery's output.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runpy.run_path(str(path), run_name="__main__")
    assert not caught, [f"{w.category.__name__}: {w.message}" for w in caught]
    # Nor in what it prints or logs (a logging WARNING), its worker
    # processes' output included.
    out, err = capfd.readouterr()
    assert "warning" not in (out + err).lower(), out + err
    assert plt.get_fignums(), "the example should draw a figure"
    plt.close("all")
