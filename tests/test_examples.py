"""Every gallery example runs, headless, and draws its figure."""

import pathlib
import runpy

import matplotlib
import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parents[1] / "examples").glob("plot_*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_and_plots(path):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    runpy.run_path(str(path), run_name="__main__")
    assert plt.get_fignums(), "the example should draw a figure"
    plt.close("all")
