"""examples/16_model_format: the files of a saved model, pre-deployment checks, a custom flavor.

Each script runs once (module-scoped fixtures, one SQLite store for the chapter); the tests
then read back what it wrote: the model folders on disk, the logged models in the store, and
what it printed, against values computed here with plain scikit-learn (tests/reference.py).
"""

from __future__ import annotations

import ast
import json
import platform
import re
from importlib import metadata

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import reference
import yaml
from _suite.runner import run_script_in
from harness import EXAMPLES, predict_fresh
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

STORAGE = "16_model_format/storage_format.py"
PREDEPLOY = "16_model_format/predeploy_checks.py"
CUSTOM = "16_model_format/custom_flavor.py"
ALPHA, L1_RATIO = 0.5, 0.1
ARGS = ("--alpha", str(ALPHA), "--l1-ratio", str(L1_RATIO))

# What mlflow.sklearn.save_model writes (MLflow 3.17, skops format, with an input example).
SAVED_FILES = {
    "MLmodel",
    "model.skops",
    "conda.yaml",
    "python_env.yaml",
    "requirements.txt",
    "input_example.json",
    "serving_input_example.json",
}
# The pins the scripts pass as pip_requirements, written out again here.
PINNED = [f"{name}=={metadata.version(name)}" for name in ("mlflow", "scikit-learn", "skops")]
# predeploy_checks.py logs one more, which the model (skops, no pickle) does not need, and removes it.
CLOUDPICKLE = f"cloudpickle=={metadata.version('cloudpickle')}"
JOBLIB = f"joblib=={metadata.version('joblib')}"


def refit():
    """The chapter's ElasticNet fitted here, and the test features."""
    model, (_, test_x, _, _) = reference.refit(ALPHA, L1_RATIO)
    return model, test_x


def printed_block(stdout: str, header: str) -> dict[str, str]:
    """The ``  name  description`` lines that follow the line starting with ``header``."""
    lines = stdout.split("\n")
    start = next(index for index, line in enumerate(lines) if line.startswith(header))
    block = {}
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        name, description = line.strip().split(None, 1)
        block[name] = description
    return block


def printed_list(stdout: str, label: str) -> list:
    [found] = re.findall(rf"^\s*{re.escape(label)}:? (\[.*\])$", stdout, re.M)
    return ast.literal_eval(found)


def logged_model(store, run_name: str):
    [run] = store.runs("model_format", filter_string=f"attributes.run_name = '{run_name}'")
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": str(ALPHA), "l1_ratio": str(L1_RATIO)}
    [model] = store.client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return run, model


@pytest.fixture(scope="module")
def storage(chapter_store):
    result = run_script_in(chapter_store, STORAGE, *ARGS, timeout=600)
    return result, chapter_store.workdir / "model_format_files" / "storage_format"


@pytest.fixture(scope="module")
def predeploy(chapter_store):
    result = run_script_in(chapter_store, PREDEPLOY, *ARGS, timeout=600)
    return result, chapter_store.workdir / "model_format_files" / "predeploy_checks"


@pytest.fixture(scope="module")
def custom(chapter_store):
    result = run_script_in(chapter_store, CUSTOM, *ARGS, timeout=600)
    return result, chapter_store.workdir / "model_format_files" / "custom_flavor"


# --- storage_format.py --------------------------------------------------------------------------


def test_saved_model_files_are_listed_and_described(storage):
    result, out = storage
    on_disk = {path.name for path in (out / "wine_model").iterdir()}
    assert on_disk == SAVED_FILES
    listed = printed_block(result.stdout, "saved with mlflow.sklearn.save_model")
    assert set(listed) == on_disk
    assert all(description != "(not described here)" for description in listed.values())

    # A download from models:/ adds one file, and says so.
    downloaded = {path.name for path in (out / "downloaded").iterdir()}
    assert downloaded == SAVED_FILES | {"registered_model_meta"}
    listed = printed_block(result.stdout, "run ")
    assert set(listed) == downloaded
    assert yaml.safe_load((out / "downloaded" / "registered_model_meta").read_text()) == {
        "model_name": None,
        "model_version": None,
    }


def test_native_and_pyfunc_loads_equal_an_independent_refit(storage):
    result, out = storage
    expected, test_x = refit()
    native = mlflow.sklearn.load_model(str(out / "wine_model"))
    np.testing.assert_allclose(native.coef_, expected.coef_, rtol=1e-12, atol=1e-15)
    assert native.intercept_ == pytest.approx(expected.intercept_, rel=1e-12)
    rows = test_x.head(3)
    pyfunc_predictions = mlflow.pyfunc.load_model(str(out / "wine_model")).predict(rows)
    np.testing.assert_allclose(pyfunc_predictions, expected.predict(rows), rtol=1e-12)

    # What the script printed: coef_ per feature (6 decimals) and both predictions.
    for name, coef in zip(reference.FEATURES, expected.coef_, strict=True):
        [shown] = re.findall(rf"^  {re.escape(name)}\s+([+-][\d.]+)$", result.stdout, re.M)
        assert float(shown) == pytest.approx(coef, abs=5e-7), name
    for label in ("native predictions", "pyfunc predictions"):
        assert printed_list(result.stdout, label) == pytest.approx(expected.predict(rows).tolist(), abs=5e-7)


def test_pip_requirements_versus_extra_pip_requirements(storage):
    _, out = storage
    pinned = (out / "wine_model" / "requirements.txt").read_text().splitlines()
    assert pinned == PINNED  # exactly the list given
    inferred = (out / "wine_model_extra_requirements" / "requirements.txt").read_text().splitlines()
    assert inferred[-1] == JOBLIB  # MLflow's inferred list, then the extra requirement
    assert f"mlflow=={mlflow.__version__}" in inferred
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in inferred
    assert inferred != pinned + [JOBLIB]


def test_pyfunc_predict_fn_gives_the_classifiers_probabilities(storage):
    result, out = storage
    mlmodel = yaml.safe_load((out / "good_wine_classifier" / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["predict_fn"] == "predict_proba"
    train_x, test_x, train_y, _ = reference.split()
    expected = make_pipeline(StandardScaler(), LogisticRegression()).fit(train_x, train_y >= 7)
    probabilities = expected.predict_proba(test_x.head(3))
    loaded = mlflow.pyfunc.load_model(str(out / "good_wine_classifier")).predict(test_x.head(3))
    np.testing.assert_allclose(loaded, probabilities, rtol=1e-9)
    shown = re.findall(r"^  (\[[\d.e+-]+, [\d.e+-]+\])$", result.stdout, re.M)
    np.testing.assert_allclose([ast.literal_eval(pair) for pair in shown], probabilities, rtol=0, atol=5e-7)


def test_logged_model_is_what_was_downloaded(storage, chapter_store):
    result, out = storage
    run, model = logged_model(chapter_store, "storage_format")
    assert f"logged models:/{model.model_id}," in result.stdout
    downloaded = yaml.safe_load((out / "downloaded" / "MLmodel").read_text())
    assert downloaded["model_id"] == model.model_id
    assert downloaded["run_id"] == run.info.run_id
    source = chapter_store.on_disk(model.artifact_location)
    assert (out / "downloaded" / "model.skops").read_bytes() == (source / "model.skops").read_bytes()


# --- predeploy_checks.py ------------------------------------------------------------------------


def test_serving_input_example_is_valid_and_predicted(predeploy, chapter_store):
    result, out = predeploy
    _, model = logged_model(chapter_store, "predeploy_checks")
    source = chapter_store.on_disk(model.artifact_location)
    request = json.loads((out / "serving_input_example.json").read_text())
    assert request == json.loads((source / "serving_input_example.json").read_text())
    table = request["dataframe_split"]
    rows = pd.DataFrame(table["data"], columns=table["columns"])
    train_x, _, _, _ = reference.split()
    pd.testing.assert_frame_equal(rows, train_x.head(2).reset_index(drop=True))  # the input example

    expected, _ = refit()
    predictions = json.loads((out / "predictions.json").read_text())["predictions"]
    assert predictions == pytest.approx(expected.predict(rows).tolist(), rel=1e-12)
    assert printed_list(result.stdout, "serving_input_example.json: valid; predictions") == predictions


def test_broken_request_is_rejected_with_mlflows_message(predeploy):
    result, out = predeploy
    broken = json.loads((out / "broken_input.json").read_text())["dataframe_split"]
    assert "alcohol" not in broken["columns"] and len(broken["columns"]) == len(reference.FEATURES) - 1
    assert all(len(row) == len(broken["columns"]) for row in broken["data"])
    assert "broken_input.json: REJECTED by MLflow: Model is missing inputs ['alcohol']." in result.stdout.splitlines()
    assert not (out / "broken_predictions.json").exists()


def test_update_pip_requirements_changed_the_logged_model(predeploy, chapter_store):
    result, _ = predeploy
    _, model = logged_model(chapter_store, "predeploy_checks")
    source = chapter_store.on_disk(model.artifact_location)
    expected = PINNED + [JOBLIB]
    assert (source / "requirements.txt").read_text().splitlines() == expected
    conda = yaml.safe_load((source / "conda.yaml").read_text())
    [pip] = [entry["pip"] for entry in conda["dependencies"] if isinstance(entry, dict)]
    assert pip == expected
    for verb, requirement in (("add", JOBLIB), ("remove", "cloudpickle")):
        command = f"$ mlflow models update-pip-requirements -m {model.artifact_location} {verb} {requirement}"
        assert command in result.stdout.splitlines()
    assert f"  + {JOBLIB}" in result.stdout.splitlines()
    assert f"  - {CLOUDPICKLE}" in result.stdout.splitlines()


def test_generated_dockerfile_installs_pinned_mlflow_and_serves_model_dir(predeploy, chapter_store):
    result, out = predeploy
    _, model = logged_model(chapter_store, "predeploy_checks")
    docker = out / "docker"
    assert f"$ mlflow models generate-dockerfile -m {model.model_uri} -d " in result.stdout
    lines = (docker / "Dockerfile").read_text().splitlines()
    assert f"FROM python:{platform.python_version()}-slim" in lines
    assert f"RUN pip install mlflow=={mlflow.__version__}" in lines
    assert "COPY model_dir /opt/ml/model" in lines
    assert any(line.startswith("ENTRYPOINT") for line in lines)

    # model_dir is the logged model, requirements as updated before, and it predicts the same values.
    model_dir = docker / "model_dir"
    assert yaml.safe_load((model_dir / "MLmodel").read_text())["model_id"] == model.model_id
    source = chapter_store.on_disk(model.artifact_location)
    assert (model_dir / "requirements.txt").read_text() == (source / "requirements.txt").read_text()
    expected, test_x = refit()
    predictions = mlflow.pyfunc.load_model(str(model_dir)).predict(test_x.head(5))
    np.testing.assert_allclose(predictions, expected.predict(test_x.head(5)), rtol=1e-12)
    assert "mlflow models build-docker -m " in result.stdout


# --- custom_flavor.py ---------------------------------------------------------------------------


def test_custom_flavor_mlmodel_and_files(custom, chapter_store):
    _, out = custom
    _, model = logged_model(chapter_store, "custom_flavor")
    source = chapter_store.on_disk(model.artifact_location)
    for folder in (source, out / "elasticnet_json"):
        mlmodel = yaml.safe_load((folder / "MLmodel").read_text())
        assert set(mlmodel["flavors"]) == {"elasticnet_json", "python_function"}
        pyfunc_conf = mlmodel["flavors"]["python_function"]
        assert pyfunc_conf["loader_module"] == "_json_flavor"
        assert pyfunc_conf["code"] == "code" and pyfunc_conf["data"] == "model.json"
        # The model carries the flavor's code; no pickle anywhere: every file is text.
        code = (folder / "code" / "_json_flavor.py").read_text()
        assert code == (EXAMPLES / "16_model_format" / "_json_flavor.py").read_text()
        files = [path for path in folder.rglob("*") if path.is_file()]
        assert not [path for path in files if path.suffix in (".pkl", ".pickle", ".skops", ".joblib")]
        for path in files:
            assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"
            path.read_bytes().decode("utf-8")

    # The JSON holds what the ElasticNet learned, exactly.
    expected, _ = refit()
    spec = json.loads((source / "model.json").read_text())
    assert spec["feature_names"] == reference.FEATURES
    np.testing.assert_allclose(spec["coef"], expected.coef_, rtol=1e-12, atol=1e-15)
    assert spec["intercept"] == pytest.approx(expected.intercept_, rel=1e-12)
    assert spec["params"]["alpha"] == ALPHA and spec["params"]["l1_ratio"] == L1_RATIO


def test_custom_flavor_predictions_equal_sklearn(custom, chapter_store):
    result, out = custom
    _, model = logged_model(chapter_store, "custom_flavor")
    expected, test_x = refit()
    # mlflow models predict, in the script's fresh process.
    predictions = json.loads((out / "predictions.json").read_text())["predictions"]
    np.testing.assert_allclose(predictions, expected.predict(test_x.head(5)), rtol=1e-12)
    assert f"$ mlflow models predict -m {model.model_uri} " in result.stdout
    assert "predicts as the fitted model: True" in result.stdout
    assert "equal to the fitted model's: True" in result.stdout
    # And as pyfunc in another fresh process, where only the model's code/ folder has the flavor.
    fresh = predict_fresh(chapter_store, model.model_uri, n=5)
    np.testing.assert_allclose(fresh, reference.expected_predictions(ALPHA, L1_RATIO, 5), rtol=1e-12)
