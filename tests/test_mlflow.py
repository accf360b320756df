"""MLflow with a real local store: policies logged in its default (skops)
format, loaded back by both flavours, and autolog around a search."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_il import BCRegressor, DiffusionBC, MixtureDensityBC
from sklearn_il.datasets import make_obstacle
from sklearn_il.io import pip_requirements, trusted_types

from .conftest import TINY

mlflow = pytest.importorskip("mlflow")
import mlflow.sklearn  # noqa: E402

X, Y, GROUPS = make_obstacle(n_episodes=4, random_state=0)


@pytest.fixture
def store(tmp_path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # Artifacts beside the store, not in ./mlruns of the working directory.
    mlflow.create_experiment("sklearn_il", artifact_location=(tmp_path / "artifacts").as_uri())
    mlflow.set_experiment("sklearn_il")
    yield
    mlflow.sklearn.autolog(disable=True)


def _requirements(model_uri):
    folder = mlflow.artifacts.download_artifacts(model_uri)
    with open(os.path.join(folder, "requirements.txt")) as f:
        return [line.split("==")[0] for line in f.read().split()]


@pytest.mark.parametrize("name", ["BCRegressor", "DiffusionBC", "Pipeline"])
def test_a_logged_policy_predicts_exactly_as_it_did(store, name):
    policy = {
        "BCRegressor": lambda: BCRegressor(**TINY),
        "DiffusionBC": lambda: DiffusionBC(n_diffusion_steps=4, n_inference_steps=2, **TINY),
        "Pipeline": lambda: make_pipeline(StandardScaler(), MixtureDensityBC(**TINY)),
    }[name]().fit(X, Y)
    # MLflow's inference (its slow part) runs once; the others name the requirements.
    requirements = ({"extra_pip_requirements": pip_requirements()} if name == "BCRegressor"
                    else {"pip_requirements": pip_requirements()})
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(policy, name="policy",
                                        skops_trusted_types=trusted_types(policy), **requirements)
    assert {"torch", "skorch", "scikit-learn"} <= set(_requirements(info.model_uri))
    expected = policy.predict(X)
    np.testing.assert_array_equal(mlflow.sklearn.load_model(info.model_uri).predict(X), expected)
    served = mlflow.pyfunc.load_model(info.model_uri)
    np.testing.assert_array_equal(served.predict(X), expected)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
    with warnings.catch_warnings():  # fitted on an array: scikit-learn notes the names
        warnings.simplefilter("ignore", UserWarning)
        np.testing.assert_array_equal(served.predict(frame), expected)


def test_autolog_records_a_search_over_a_policy_and_its_best_model(store):
    mlflow.sklearn.autolog()
    search = GridSearchCV(BCRegressor(**TINY), {"alpha": [1e-4, 1e-2]}, cv=GroupKFold(2))
    with mlflow.start_run() as run:
        search.fit(X, Y, groups=GROUPS)
    params = mlflow.get_run(run.info.run_id).data.params
    assert params["best_alpha"] == str(search.best_params_["alpha"])
    models = {m.name: m for m in mlflow.search_logged_models(
        experiment_ids=[run.info.experiment_id], output_format="list")}
    best = mlflow.sklearn.load_model(models["best_estimator"].model_uri)
    assert type(best) is BCRegressor
    np.testing.assert_array_equal(best.predict(X), search.predict(X))
