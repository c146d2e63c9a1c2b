"""examples/06_custom_libraries: a custom pyfunc model with artifacts, code and environment."""

import re
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import yaml
from harness import assert_rejected, expected_metrics, predict_fresh, read_mlmodel, signature_inputs

from winelab import FEATURES, TARGET, load_wine, split

CUSTOMIZE = "06_custom_libraries/model_customization.py"
LOAD = "06_custom_libraries/load_custom_model.py"
EXPERIMENT = "custom_model"


def printed_metrics(stdout: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r"(rmse|mae|r2)=(-?[\d.]+)", stdout)}


def logged_model_of(store, run):
    [model] = store.client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return model


def test_custom_model_package_holds_artifacts_code_and_environment(store, run_script, tmp_path):
    result = run_script(CUSTOMIZE, "--alpha", "0.5", "--l1-ratio", "0.1")

    [run] = store.runs(EXPERIMENT)
    assert run.data.params == {"alpha": "0.5", "l1_ratio": "0.1"}
    for name, value in expected_metrics(0.5, 0.1).items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)
    model = logged_model_of(store, run)
    assert model.name == "custom_mlflow_pyfunc"
    assert [output.model_id for output in run.outputs.model_outputs] == [model.model_id]
    assert f"run {run.info.run_id}" in result.stdout
    assert f"model: {model.model_uri}" in result.stdout

    # What MLflow stored, listed through the client: the artifacts dict and the code path.
    listed = {info.path for info in store.client.list_logged_model_artifacts(model.model_id)}
    assert {"MLmodel", "artifacts", "code", "conda.yaml", "requirements.txt", "input_example.json"} <= listed
    inside = {info.path for info in store.client.list_logged_model_artifacts(model.model_id, "artifacts")}
    assert inside == {"artifacts/model.joblib", "artifacts/data"}
    data = {info.path for info in store.client.list_logged_model_artifacts(model.model_id, "artifacts/data")}
    assert data == {"artifacts/data/train.csv", "artifacts/data/test.csv"}
    code = {info.path for info in store.client.list_logged_model_artifacts(model.model_id, "code")}
    assert code == {"code/_wine_wrapper.py"}

    # The data splits: CSV without an index column, the same rows as an independent split.
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{model.artifact_location}/artifacts/data", dst_path=str(tmp_path), tracking_uri=store.uri
        )
    )
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=0.25, seed=42)
    test = pd.read_csv(local / "test.csv")
    assert list(test.columns) == FEATURES + [TARGET]
    pd.testing.assert_frame_equal(test[FEATURES], test_x.reset_index(drop=True))
    assert test[TARGET].tolist() == test_y.tolist()
    assert len(pd.read_csv(local / "train.csv")) == len(train_x)

    # MLmodel: a python_function model whose loader is MLflow's PythonModel loader, with its code.
    mlmodel = read_mlmodel(store, model)
    pyfunc = mlmodel["flavors"]["python_function"]
    assert set(mlmodel["flavors"]) == {"python_function"}
    assert pyfunc["loader_module"] == "mlflow.pyfunc.model"
    assert pyfunc["code"] == "code"
    assert pyfunc["python_model"] == "python_model.pkl"
    assert {key: value["path"] for key, value in pyfunc["artifacts"].items()} == {
        "model": "artifacts/model.joblib",
        "data": "artifacts/data",
    }
    assert [column["name"] for column in signature_inputs(mlmodel)] == FEATURES

    # The environment: pinned packages, joblib included.
    pins = [f"{name}=={metadata.version(name)}" for name in ("mlflow", "scikit-learn", "joblib", "cloudpickle")]
    conda_path = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{model.artifact_location}/conda.yaml", dst_path=str(tmp_path), tracking_uri=store.uri
    )
    conda = yaml.safe_load(Path(conda_path).read_text())
    [pip_section] = [entry for entry in conda["dependencies"] if isinstance(entry, dict)]
    assert set(pins) <= set(pip_section["pip"])
    requirements_path = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{model.artifact_location}/requirements.txt", dst_path=str(tmp_path), tracking_uri=store.uri
    )
    assert set(pins) <= set(Path(requirements_path).read_text().split())

    # Loadable in a fresh process outside the chapter folder: the wrapper comes from code/.
    predictions = predict_fresh(store, model.model_uri, n=6)
    assert len(predictions) == 6
    assert all(3 <= value <= 8 for value in predictions)


def test_load_by_run_id_reports_the_independent_metrics(any_store, run_script):
    run_script(CUSTOMIZE, "--alpha", "0.4", "--l1-ratio", "0.2", "--test-size", "0.3", "--seed", "7")
    [run] = any_store.runs(EXPERIMENT)
    model = logged_model_of(any_store, run)

    result = run_script(LOAD, "--run-id", run.info.run_id)
    assert f"run {run.info.run_id}, model {model.model_uri}" in result.stdout
    # The split shipped with the model is used: no need to repeat --test-size/--seed.
    assert "480 test wines" in result.stdout
    expected = expected_metrics(0.4, 0.2, test_size=0.3, seed=7)
    assert printed_metrics(result.stdout) == pytest.approx(expected, abs=1e-4)


def test_load_latest_run_by_default(store, run_script):
    run_script(CUSTOMIZE, "--alpha", "0.7", "--l1-ratio", "0.7")
    run_script(CUSTOMIZE, "--alpha", "0.1", "--l1-ratio", "0.9")
    first, latest = store.runs(EXPERIMENT)

    result = run_script(LOAD)
    assert f"run {latest.info.run_id}" in result.stdout
    assert printed_metrics(result.stdout) == pytest.approx(expected_metrics(0.1, 0.9), abs=1e-4)
    assert printed_metrics(result.stdout) == pytest.approx(latest.data.metrics, abs=1e-4)

    result = run_script(LOAD, "--run-id", first.info.run_id)
    assert printed_metrics(result.stdout) == pytest.approx(expected_metrics(0.7, 0.7), abs=1e-4)


def test_unknown_run_id_fails_in_one_line(store, run_script):
    result = run_script(LOAD, "--run-id", "0123456789abcdef0123456789abcdef", ok=False)
    assert result.returncode == 1
    assert result.error_lines == [f"error: no run with id '0123456789abcdef0123456789abcdef' in {store.uri}"]
    assert store.all_runs() == []


def test_no_run_yet_fails_in_one_line(store, run_script):
    result = run_script(LOAD, ok=False)
    assert result.returncode == 1
    assert result.error_lines == ["error: no run in experiment 'custom_model'; run model_customization.py first"]
    assert store.all_runs() == []


@pytest.mark.parametrize(
    "script, option, value",
    [(CUSTOMIZE, "--alpha", "-0.5"), (CUSTOMIZE, "--l1-ratio", "x"), (LOAD, "--bogus", "1")],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, option, value):
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)
