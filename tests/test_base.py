"""The shared base: its hook table, seed streams, device checks, checks before fitting."""

import re
from unittest import mock

import numpy as np
import pytest
import torch

from sklearn_il import BCClassifier, BCRegressor, DARTWrapper, base
from sklearn_il._seeding import STREAMS, SeedStreams
from sklearn_il.base import BasePolicy, ContinuousPolicy

from .conftest import TINY


def test_every_hook_in_the_table_exists():
    table = base.__doc__.split("\nhook ")[1].split("The helpers")[0]
    hooks = re.findall(r"^``(\w+)``", table, flags=re.MULTILINE)
    assert len(hooks) == 8
    for hook in hooks:
        assert callable(getattr(BasePolicy, hook)), hook
    helpers = re.findall(r"``(_\w+)", base.__doc__.split("The helpers")[1])
    for helper in helpers:
        assert hasattr(BasePolicy, helper) or hasattr(ContinuousPolicy, helper), helper


def test_seed_streams_are_independent_and_reproducible():
    streams = SeedStreams(3)
    first = {name: streams.seeds(name, 4) for name in STREAMS}
    # A stream's values depend on its name and index only, not on what else was drawn.
    assert SeedStreams(3).seeds("init", 4) == first["init"]
    assert SeedStreams(3).seed("rollout", 2) == first["rollout"][2]
    assert len({tuple(v) for v in first.values()}) == len(STREAMS)
    assert SeedStreams(4).seeds("init", 4) != first["init"]
    with pytest.raises(KeyError, match="unknown seed stream"):
        streams.seed("initialisation")
    rng = np.random.RandomState(0)
    assert SeedStreams(rng).seed("init") != SeedStreams(rng).seed("init"), "drawn once per use"


def test_fit_seeds_no_global_generator(obstacle_data):
    """torch.manual_seed seeds every CUDA device's generator too: fit must not call it."""
    X, y, _ = obstacle_data
    state = torch.get_rng_state()
    with mock.patch("torch.manual_seed", side_effect=AssertionError("global seeding")), \
            mock.patch("torch.cuda.manual_seed_all", side_effect=AssertionError("global seeding")):
        a = BCRegressor(**TINY).fit(X, y)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(a.predict(X), BCRegressor(**TINY).fit(X, y).predict(X))


@pytest.mark.parametrize("device", ["gpu", "cuda:99", "nonsense:0"])
def test_device_is_checked_with_the_parameters(device):
    # The data are garbage: the device is refused before they are looked at.
    with pytest.raises(ValueError, match="device="):
        BCRegressor(device=device).fit("not data", None)


def test_dart_refuses_a_classifier_before_fitting_it():
    policy = BCClassifier(**TINY)
    with mock.patch.object(BCClassifier, "fit", side_effect=AssertionError("fitted")) as fit:
        with pytest.raises(TypeError, match="not a classifier"):
            DARTWrapper(policy, n_iter=0).fit(np.zeros((4, 1)), np.array([0, 1, 0, 1]))
    fit.assert_not_called()
