"""Safe persistence: round trips live in test_policies; here, tampered files."""

import json
import os
import pickle

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

from sklearn_il import BCRegressor
from sklearn_il.io import dump, load

from .conftest import FAST


class _Payload:
    """Pickling this runs os.system on load: what a malicious pickle does."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_disguised_as_a_policy_file_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "policy.safetensors"
    path.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ValueError, match="not a policy file"):
        load(path)
    assert not marker.exists()


def test_a_header_naming_another_class_is_refused(tmp_path, obstacle_data):
    X, y, _ = obstacle_data
    path = tmp_path / "policy.safetensors"
    dump(BCRegressor(**FAST).fit(X, y), path)
    with safe_open(str(path), framework="numpy") as f:
        header = json.loads(f.metadata()["sklearn_il"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    header["class"] = "os.system"
    save_file(tensors, str(path), metadata={"sklearn_il": json.dumps(header)})
    with pytest.raises(ValueError, match="not a sklearn_il policy"):
        load(path)


def test_dump_refuses_unfitted_and_foreign_estimators(tmp_path):
    from sklearn.linear_model import LinearRegression

    with pytest.raises(ValueError, match="not fitted"):
        dump(BCRegressor(), tmp_path / "a")
    with pytest.raises(TypeError, match="Pickle other estimators"):
        dump(LinearRegression().fit(np.ones((3, 1)), np.ones(3)), tmp_path / "b")
    with pytest.raises(TypeError, match="random_state"):
        policy = BCRegressor(**{**FAST, "random_state": np.random.RandomState(0)})
        dump(policy.fit(np.ones((4, 1)), np.ones(4)), tmp_path / "c")
