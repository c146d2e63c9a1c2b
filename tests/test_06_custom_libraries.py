"""examples/06_custom_libraries: a custom pyfunc model with artifacts, code and environment.

The chapter runs once per store (module fixture ``chapter``): ``model_customization.py``
twice into one experiment (first with a non-default split, then with the default one),
then ``load_custom_model.py`` without ``--run-id`` (it must pick the newest run) and with
the first run's id. Fixture ``from_code`` adds ``log_model_from_code.py`` (models from
code) with the latest run's settings, into an experiment of its own.
"""

import re
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import reference
import yaml
from _suite import runner
from harness import (
    EXAMPLES,
    Result,
    Store,
    assert_rejected,
    expected_metrics,
    predict_fresh,
    read_mlmodel,
    signature_inputs,
)

CUSTOMIZE = "06_custom_libraries/model_customization.py"
LOAD = "06_custom_libraries/load_custom_model.py"
FROM_CODE = "06_custom_libraries/log_model_from_code.py"
EXPERIMENT = "custom_model"
FROM_CODE_EXPERIMENT = "custom_model_from_code"
MODEL_CODE = EXAMPLES / "06_custom_libraries" / "_wine_model_code.py"


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
    # MLflow's own message, first line only (each kind of store words it its own way).
    [line] = result.error_lines
    assert line.startswith("error: ") and "0123456789abcdef0123456789abcdef" in line and "not found" in line, line
    assert any_store.all_runs() == []


def test_no_run_yet_fails_in_one_line(store, run_script):
    result = run_script(LOAD, ok=False)
    assert result.returncode == 1
    assert result.error_lines == ["error: no run in experiment 'custom_model'; run model_customization.py first"]
    assert store.all_runs() == []


@pytest.mark.parametrize(
    "script, option, value",
    [
        (CUSTOMIZE, "--l1-ratio", "x"),
        (LOAD, "--bogus", "1"),
        (FROM_CODE, "--rows", "0"),
    ],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, option, value):
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)


@pytest.mark.parametrize(
    "script, option, value, named",
    [
        (CUSTOMIZE, "--alpha", "-0.5", "'alpha'"),
        (CUSTOMIZE, "--test-size", "1", "'test_size'"),
        (FROM_CODE, "--l1-ratio", "nan", "'l1_ratio'"),
    ],
)
def test_out_of_range_option_is_refused_by_sklearn_before_any_run(store, run_script, script, option, value, named):
    """scikit-learn checks the ranges (at the split or the fit), before the run opens: exit 1, nothing recorded."""
    result = run_script(script, option, value, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]


# --- Models from code: log_model_from_code.py, once per store, beside the object-logged wrapper ---


@pytest.fixture(scope="module")
def from_code(chapter) -> Result:
    """The same settings and split as the chapter's latest object-logged model (alpha 0.1, l1_ratio 0.9)."""
    store = chapter.store
    return runner.run_script_in(
        store,
        FROM_CODE,
        *("--alpha", "0.1", "--l1-ratio", "0.9", "--rows", "4"),
        *("--experiment-name", store.name(FROM_CODE_EXPERIMENT)),
    )


def test_model_from_code_is_its_source_file_not_a_pickle(chapter, from_code, tmp_path):
    store = chapter.store
    # MLflow warns about cloudpickle when it is handed an object (the guide's way), not for a file path.
    assert "cloudpickle" not in from_code.stderr.lower(), from_code.stderr
    assert "serialized using CloudPickle" in chapter.latest.stderr

    [run] = store.runs(FROM_CODE_EXPERIMENT)
    assert run.data.params == {"alpha": "0.1", "l1_ratio": "0.9"}
    assert run.data.metrics == pytest.approx(expected_metrics(0.1, 0.9), rel=1e-9)
    model = logged_model_of(store, run)
    assert model.name == "wine_model_from_code"
    assert f"model: {model.model_uri}" in from_code.stdout

    # The model folder holds the code file itself and the joblib artifact; no python_model.pkl.
    listed = {info.path for info in store.client.list_logged_model_artifacts(model.model_id)}
    assert {"MLmodel", "_wine_model_code.py", "artifacts", "requirements.txt"} <= listed
    assert "python_model.pkl" not in listed
    _, latest = the_runs(store)
    object_model = logged_model_of(store, latest)
    assert "python_model.pkl" in {info.path for info in store.client.list_logged_model_artifacts(object_model.model_id)}
    copied = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{model.artifact_location}/_wine_model_code.py", dst_path=str(tmp_path), tracking_uri=store.uri
    )
    assert Path(copied).read_bytes() == MODEL_CODE.read_bytes()

    pyfunc = read_mlmodel(store, model)["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert Path(pyfunc["model_code_path"]).name == "_wine_model_code.py"
    assert "python_model" not in pyfunc
    assert {key: value["path"] for key, value in pyfunc["artifacts"].items()} == {"model": "artifacts/model.joblib"}
    assert "model code _wine_model_code.py" in from_code.stdout


def test_model_from_code_predicts_as_the_object_logged_wrapper_and_a_refit(chapter, from_code):
    store = chapter.store
    [run] = store.runs(FROM_CODE_EXPERIMENT)
    _, latest = the_runs(store)
    # Fresh processes, outside the chapter folder: the model runs its own copy of the code file.
    from_code_predictions = predict_fresh(store, logged_model_of(store, run).model_uri, n=6)
    object_predictions = predict_fresh(store, logged_model_of(store, latest).model_uri, n=6)
    assert from_code_predictions == object_predictions
    assert from_code_predictions == pytest.approx(reference.expected_predictions(0.1, 0.9, 6), rel=1e-9)

    # What the script printed after loading it back: the test split's first rows, as a refit predicts them.
    refit, (_, test_x, _, test_y) = reference.refit(0.1, 0.9)
    printed = [float(value) for value in re.findall(r"predicted (-?[\d.]+)", from_code.stdout)]
    assert printed == pytest.approx(refit.predict(test_x.head(4)).tolist(), abs=5e-5)
    assert [int(value) for value in re.findall(r"actual (\d+)", from_code.stdout)] == test_y.head(4).tolist()
    assert "max difference 0.0e+00" in from_code.stdout
