"""examples/01_tracking: the baseline and its first tracked run."""

import re
from pathlib import Path

import pytest
import reference
from harness import assert_rejected, expected_metrics, predict_fresh, read_mlmodel, signature_inputs
from reference import FEATURES

BASELINE = "01_tracking/basic_regression.py"
TRACKED = "01_tracking/basic_regression_mlflow.py"


def test_baseline_prints_metrics_and_records_nothing(store, run_script):
    result = run_script(BASELINE, "--alpha", "0.5", "--l1-ratio", "0.1")
    printed = dict(re.findall(r"(rmse|mae|r2): (-?[\d.]+)", result.stdout))
    expected = expected_metrics(0.5, 0.1)
    assert float(printed["rmse"]) == pytest.approx(expected["rmse"], abs=1e-4)
    assert 0.5 < float(printed["rmse"]) < 1.0
    assert store.all_runs() == []
    assert list(store.workdir.iterdir()) == []  # no mlflow.db, no mlruns


def test_tracked_run_records_params_metrics_and_model(any_store, run_script):
    run_script(TRACKED, "--alpha", "0.4", "--l1-ratio", "0.2", "--experiment-name", any_store.name("experiment_1"))

    [run] = any_store.runs("experiment_1")
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
    expected = expected_metrics(0.4, 0.2)
    assert set(run.data.metrics) == {"rmse", "mae", "r2"}
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)
    assert 0.5 < run.data.metrics["rmse"] < 1.0

    # MLflow 3: the model is a first-class LoggedModel linked to its run.
    [model] = any_store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert model.name == "wine_model"
    assert model.source_run_id == run.info.run_id
    mlmodel = read_mlmodel(any_store, model)
    assert {"sklearn", "python_function"} <= set(mlmodel["flavors"])
    assert [column["name"] for column in signature_inputs(mlmodel)] == FEATURES
    assert "Unnamed: 0" not in mlmodel["signature"]["inputs"]
    assert "float64" in mlmodel["signature"]["outputs"]
    assert mlmodel["saved_input_example_info"]["artifact_path"] == "input_example.json"

    # Where the model's files went: beside the store, or through the server into its artifact folder.
    model_dir = any_store.on_disk(model.artifact_location)
    assert (model_dir / "MLmodel").is_file()
    if any_store.kind == "server":
        assert model.artifact_location.startswith("mlflow-artifacts:/"), "the server proxies artifacts"
        assert not (any_store.workdir / "mlruns").exists(), "the client wrote no files of its own"
    elif any_store.kind == "sqlite":
        assert model_dir.is_relative_to(any_store.workdir.resolve() / "mlruns"), "SQLite keeps files in ./mlruns"

    # Loaded in a new process, the model predicts what an independent refit predicts.
    predictions = predict_fresh(any_store, model.model_uri, n=7)
    assert predictions == pytest.approx(reference.expected_predictions(0.4, 0.2, 7), rel=1e-9)


def test_three_runs_like_the_guide(store, run_script):
    settings = [("0.7", "0.7"), ("0.5", "0.1"), ("0.1", "0.9")]
    for alpha, l1_ratio in settings:
        run_script(TRACKED, "--alpha", alpha, "--l1-ratio", l1_ratio)
    runs = store.runs("experiment_1")
    assert [(run.data.params["alpha"], run.data.params["l1_ratio"]) for run in runs] == settings
    # Pinned numbers: a silent change in reading or splitting the data moves them.
    assert runs[0].data.metrics == pytest.approx(reference.GOLDEN[0.7, 0.7], abs=1e-6)
    assert runs[1].data.metrics == pytest.approx(reference.GOLDEN[0.5, 0.1], abs=1e-6)
    assert runs[2].data.metrics == pytest.approx(expected_metrics(0.1, 0.9), rel=1e-9)
    # Less regularisation fits better on this data.
    assert runs[2].data.metrics["rmse"] < runs[1].data.metrics["rmse"] < runs[0].data.metrics["rmse"]


def test_default_store_is_sqlite_in_the_working_folder(store, run_script):
    result = run_script(TRACKED, env={"MLFLOW_TRACKING_URI": None})
    assert (store.workdir / "mlflow.db").is_file()
    assert f"sqlite:///{store.workdir}/mlflow.db" in result.stdout


def test_unparsable_option_fails_with_one_line_and_no_run(store, run_script):
    assert_rejected(run_script(TRACKED, "--alpha", "abc", ok=False), store, "--alpha")


@pytest.mark.parametrize(
    "option, value, named",
    [("--alpha", "-1", "'alpha'"), ("--l1-ratio", "1.5", "'l1_ratio'"), ("--alpha", "nan", "'alpha'")],
)
def test_out_of_range_option_is_refused_by_sklearn_before_any_run(store, run_script, option, value, named):
    """scikit-learn checks the ranges, at fit, before the run opens: one line, exit 1, nothing recorded."""
    result = run_script(TRACKED, option, value, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]


def test_file_store_layout_matches_the_guide(file_store, run_script):
    """The guide's ./mlruns tree (opted into since MLflow 3.13), and where MLflow 3 keeps models."""
    run_script(TRACKED, "--alpha", "0.3")
    [run] = file_store.runs("experiment_1")
    root = Path(file_store.uri.removeprefix("file://"))
    experiment_dir = root / run.info.experiment_id
    run_dir = experiment_dir / run.info.run_id

    assert "name: experiment_1" in (experiment_dir / "meta.yaml").read_text()
    assert f"run_id: {run.info.run_id}" in (run_dir / "meta.yaml").read_text()
    assert (run_dir / "params" / "alpha").read_text() == "0.3"
    assert sorted(path.name for path in (run_dir / "metrics").iterdir()) == ["mae", "r2", "rmse"]
    rmse_line = (run_dir / "metrics" / "rmse").read_text().split()
    assert float(rmse_line[1]) == pytest.approx(run.data.metrics["rmse"])
    assert (run_dir / "tags" / "mlflow.runName").read_text() == run.info.run_name

    # MLflow 3: the model is not under the run's artifacts/ any more but a LoggedModel
    # of the experiment (models/<model_id>/artifacts), linked from the run's outputs/.
    [model] = file_store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    model_dir = experiment_dir / "models" / model.model_id
    assert (model_dir / "artifacts" / "MLmodel").is_file()
    assert (model_dir / "artifacts" / "requirements.txt").is_file()
    assert (run_dir / "outputs" / model.model_id / "meta.yaml").is_file()
    assert not (run_dir / "artifacts" / "wine_model").exists()
