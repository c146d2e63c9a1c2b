"""examples/06_custom_libraries: a custom pyfunc model with artifacts, code and environment.

The chapter runs once per store (module fixture ``chapter``): ``model_customization.py``
twice into one experiment (first with a non-default split, then with the default one),
then ``load_custom_model.py`` without ``--run-id`` (it must pick the newest run) and with
the first run's id.
"""

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import reference
import runner
import yaml
from harness import Result, Store, assert_rejected, expected_metrics, predict_fresh, read_mlmodel, signature_inputs

CUSTOMIZE = "06_custom_libraries/model_customization.py"
LOAD = "06_custom_libraries/load_custom_model.py"
EXPERIMENT = "custom_model"


@dataclass
class Chapter:
    store: Store
    first: Result  # model_customization.py --alpha 0.4 --l1-ratio 0.2 --test-size 0.3 --seed 7
    latest: Result  # model_customization.py --alpha 0.1 --l1-ratio 0.9
    load_latest: Result  # load_custom_model.py (the experiment's newest run)
    load_first: Result  # load_custom_model.py --run-id <the first run>


@pytest.fixture(scope="module")
def chapter(module_store) -> Chapter:
    store = module_store
    experiment = ("--experiment-name", store.name(EXPERIMENT))
    first = runner.run_script_in(
        store, CUSTOMIZE, "--alpha", "0.4", "--l1-ratio", "0.2", "--test-size", "0.3", "--seed", "7", *experiment
    )
    latest = runner.run_script_in(store, CUSTOMIZE, "--alpha", "0.1", "--l1-ratio", "0.9", *experiment)
    load_latest = runner.run_script_in(store, LOAD, *experiment)
    first_run, _ = store.runs(EXPERIMENT)
    load_first = runner.run_script_in(store, LOAD, "--run-id", first_run.info.run_id)
    return Chapter(store, first, latest, load_latest, load_first)


def printed_metrics(stdout: str) -> dict[str, float]:
    return {name: float(value) for name, value in re.findall(r"(rmse|mae|r2)=(-?[\d.]+)", stdout)}


def logged_model_of(store, run):
    [model] = store.client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return model


def the_runs(store):
    """The experiment's two runs, oldest first, checked to be the fixture's."""
    first, latest = store.runs(EXPERIMENT)
    assert first.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
    assert latest.data.params == {"alpha": "0.1", "l1_ratio": "0.9"}
    return first, latest


def test_custom_model_package_holds_artifacts_code_and_environment(chapter, tmp_path):
    store, result = chapter.store, chapter.first
    run, _ = the_runs(store)
    expected = expected_metrics(0.4, 0.2, test_size=0.3, seed=7)
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)
    model = logged_model_of(store, run)
    assert model.name == "custom_mlflow_pyfunc"
    assert [output.model_id for output in run.outputs.model_outputs] == [model.model_id]
    assert f"run {run.info.run_id} in experiment {store.name(EXPERIMENT)!r}" in result.stdout
    assert printed_metrics(result.stdout) == pytest.approx(expected, abs=1e-4)
    assert f"model: {model.model_uri}" in result.stdout
    assert f"load_custom_model.py --run-id {run.info.run_id}" in result.stdout

    # What MLflow stored, listed through the client: the artifacts dict and the code path.
    listed = {info.path for info in store.client.list_logged_model_artifacts(model.model_id)}
    assert {"MLmodel", "artifacts", "code", "conda.yaml", "requirements.txt", "input_example.json"} <= listed
    inside = {info.path for info in store.client.list_logged_model_artifacts(model.model_id, "artifacts")}
    assert inside == {"artifacts/model.joblib", "artifacts/data"}
    data = {info.path for info in store.client.list_logged_model_artifacts(model.model_id, "artifacts/data")}
    assert data == {"artifacts/data/train.csv", "artifacts/data/test.csv"}
    code = {info.path for info in store.client.list_logged_model_artifacts(model.model_id, "code")}
    assert code == {"code/_wine_wrapper.py"}

    # Where those files are: beside the store, or through the server into its artifact folder.
    model_dir = store.on_disk(model.artifact_location)
    assert (model_dir / "code" / "_wine_wrapper.py").is_file()
    assert (model_dir / "artifacts" / "data" / "test.csv").is_file()
    if store.kind == "server":
        assert model.artifact_location.startswith("mlflow-artifacts:/"), "the server proxies artifacts"
        assert model_dir.is_relative_to(store.artifacts_root)
        assert not (store.workdir / "mlruns").exists(), "the client wrote no files of its own"
    elif store.kind == "sqlite":
        assert model_dir.is_relative_to(store.workdir.resolve() / "mlruns"), "SQLite keeps files in ./mlruns"
    else:
        assert model_dir.is_relative_to(Path(store.uri.removeprefix("file://"))), "inside the ./mlruns store"

    # The data splits: CSV without an index column, the same rows as an independent split.
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=f"{model.artifact_location}/artifacts/data", dst_path=str(tmp_path), tracking_uri=store.uri
        )
    )
    train_x, test_x, train_y, test_y = reference.split(test_size=0.3, seed=7)
    test = pd.read_csv(local / "test.csv")
    assert list(test.columns) == reference.FEATURES + [reference.TARGET]
    pd.testing.assert_frame_equal(test[reference.FEATURES], test_x.reset_index(drop=True))
    assert test[reference.TARGET].tolist() == test_y.tolist()
    train = pd.read_csv(local / "train.csv")
    assert len(train) == len(train_x)
    pd.testing.assert_frame_equal(train[reference.FEATURES], train_x.reset_index(drop=True))
    assert train[reference.TARGET].tolist() == train_y.tolist()

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
    assert [column["name"] for column in signature_inputs(mlmodel)] == reference.FEATURES

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

    # Loadable in a fresh process outside the chapter folder (the wrapper comes from code/),
    # it predicts what an independent refit on the same split predicts.
    predictions = predict_fresh(store, model.model_uri, n=6)
    assert predictions == pytest.approx(reference.expected_predictions(0.4, 0.2, 6, test_size=0.3, seed=7), rel=1e-9)
    assert all(3 <= value <= 8 for value in predictions)


def test_load_by_run_id_reports_the_independent_metrics(chapter):
    store, result = chapter.store, chapter.load_first
    first, _ = the_runs(store)
    model = logged_model_of(store, first)
    assert f"run {first.info.run_id}, model {model.model_uri}" in result.stdout
    # The split shipped with the model is used: no need to repeat --test-size/--seed.
    assert "480 test wines" in result.stdout
    expected = expected_metrics(0.4, 0.2, test_size=0.3, seed=7)
    assert printed_metrics(result.stdout) == pytest.approx(expected, abs=1e-4)
    assert printed_metrics(result.stdout) == pytest.approx(first.data.metrics, abs=1e-4)


def test_load_latest_run_by_default(chapter):
    store, result = chapter.store, chapter.load_latest
    _, latest = the_runs(store)
    model = logged_model_of(store, latest)
    assert f"run {latest.info.run_id}, model {model.model_uri}" in result.stdout
    assert "400 test wines" in result.stdout
    assert printed_metrics(result.stdout) == pytest.approx(expected_metrics(0.1, 0.9), abs=1e-4)
    assert printed_metrics(result.stdout) == pytest.approx(latest.data.metrics, abs=1e-4)
    assert printed_metrics(chapter.latest.stdout) == pytest.approx(latest.data.metrics, abs=1e-4)


def test_unknown_run_id_fails_in_one_line(any_store, run_script):
    result = run_script(LOAD, "--run-id", "0123456789abcdef0123456789abcdef", ok=False)
    assert result.returncode == 1
    assert result.error_lines == [f"error: no run with id '0123456789abcdef0123456789abcdef' in {any_store.uri}"]
    assert any_store.all_runs() == []


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
