"""examples/09_projects: an MLflow Project run with `mlflow run` and `mlflow.projects.run`.

The project's entry points (09_projects/wine_project/train.py and
09_projects/wine_project/register.py) are not standalone scripts: they run
here only through MLflow Projects, as MLflow launches them.
"""

import os
import re
import sys
from pathlib import Path

import pytest
from harness import EXAMPLES, assert_rejected, clean_env, expected_metrics

RUN_CLI = "09_projects/run_cli.py"
RUN_PROJECT = "09_projects/run_project.py"
WORKFLOW = "09_projects/workflow.py"
PROJECT = EXAMPLES / "09_projects" / "wine_project"
ENTRY_POINTS = {"main": "09_projects/wine_project/train.py", "register": "09_projects/wine_project/register.py"}
MLFLOW = Path(sys.executable).with_name("mlflow")


def project_files() -> set[Path]:
    return {path for path in PROJECT.rglob("*") if "__pycache__" not in path.parts}


def assert_project_run(run, entry_point: str) -> None:
    """Tags MLflow Projects puts on every run it launches from this local folder."""
    tags = run.data.tags
    assert tags["mlflow.project.entryPoint"] == entry_point
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.source.name"].endswith("#examples/09_projects/wine_project")
    assert re.fullmatch(r"[0-9a-f]{40}", tags["mlflow.source.git.commit"])
    assert tags["mlflow.project.backend"] == "local"
    assert run.info.status == "FINISHED"


def assert_metrics(run, alpha: float, l1_ratio: float) -> None:
    expected = expected_metrics(alpha, l1_ratio)
    assert set(run.data.metrics) == {"rmse", "mae", "r2"}
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)


def test_entry_points_are_declared_in_mlproject():
    import yaml

    spec = yaml.safe_load((PROJECT / "MLproject").read_text())
    assert spec["python_env"] == "python_env.yaml" and (PROJECT / "python_env.yaml").is_file()
    assert set(spec["entry_points"]) == set(ENTRY_POINTS)
    for name, script in ENTRY_POINTS.items():
        assert f"python {Path(script).name}" in spec["entry_points"][name]["command"]
        assert (EXAMPLES / script).is_file()
    main_params = spec["entry_points"]["main"]["parameters"]
    assert main_params["alpha"]["type"] == main_params["l1_ratio"]["type"] == "float"
    for script in ENTRY_POINTS.values():
        assert "set_experiment" not in (EXAMPLES / script).read_text()  # `--experiment-name` must decide


def test_mlflow_run_command_records_params_tags_and_metrics(store, run_script):
    before = project_files()
    result = run_script(RUN_CLI, "--alpha", "0.4", "--l1-ratio", "0.2")

    assert re.search(r"^\$ \S*mlflow run \S*wine_project -P alpha=0.4 .*--env-manager local$", result.stdout, re.M)
    [run] = store.all_runs()  # the entry point joined the run MLflow opened: no second run
    assert store.client.get_experiment(run.info.experiment_id).name == "wine_project"
    assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2", "test_size": "0.25", "seed": "42"}
    assert_project_run(run, "main")
    assert_metrics(run, 0.4, 0.2)
    [model] = store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    assert project_files() == before  # nothing written into the project folder (the run's cwd)


def test_projects_run_api_uses_the_named_experiment(store, run_script):
    result = run_script(RUN_PROJECT, "--alpha", "0.1", "--l1-ratio", "0.5", "--experiment-name", "api_runs")

    [run] = store.runs("api_runs")
    assert f"run {run.info.run_id}: FINISHED" in result.stdout
    assert run.data.params == {"alpha": "0.1", "l1_ratio": "0.5", "test_size": "0.25", "seed": "42"}
    assert_project_run(run, "main")
    assert_metrics(run, 0.1, 0.5)
    assert len(store.all_runs()) == 1


def test_workflow_chains_train_and_register(store, run_script):
    run_script(WORKFLOW, "--alpha", "0.1", "--l1-ratio", "0.5", "--model-name", "wine-test", "--alias", "best")

    runs = {run.data.tags.get("mlflow.project.entryPoint", "parent"): run for run in store.runs("wine_workflow")}
    assert set(runs) == {"parent", "main", "register"}
    parent, train, register = runs["parent"], runs["main"], runs["register"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["train_run_id"] == train.info.run_id
    assert parent.data.tags["register_run_id"] == register.info.run_id
    for child, entry_point in [(train, "main"), (register, "register")]:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert_project_run(child, entry_point)
    assert_metrics(train, 0.1, 0.5)

    # Step 2 got step 1's run id, checked the model on the same split, registered it.
    assert register.data.params["run_id"] == train.info.run_id
    assert register.data.metrics["rmse"] == pytest.approx(expected_metrics(0.1, 0.5)["rmse"], rel=1e-9)
    version = store.client.get_model_version_by_alias("wine-test", "best")
    assert version.run_id == train.info.run_id
    assert register.data.tags["registered_version"] == f"wine-test/{version.version}"
    [model] = store.client.search_logged_models(experiment_ids=[train.info.experiment_id])
    assert model.model_id in version.source  # registered from the LoggedModel (models:/m-...)


def test_register_gate_fails_the_step_and_registers_nothing(store, run_script):
    result = run_script(WORKFLOW, "--alpha", "0.1", "--l1-ratio", "0.5", "--max-rmse", "0.1", ok=False)

    assert result.returncode == 1
    assert any("model not registered" in line for line in result.error_lines)
    assert result.error_lines[-1].startswith("error: MLflow") and "failed" in result.error_lines[-1]
    statuses = {run.data.tags.get("mlflow.project.entryPoint", "parent"): run.info.status for run in store.all_runs()}
    assert statuses == {"parent": "FAILED", "main": "FINISHED", "register": "FAILED"}
    [register] = [run for run in store.all_runs() if run.data.tags.get("mlflow.project.entryPoint") == "register"]
    assert register.data.metrics["rmse"] > 0.1  # measured and logged before the gate
    assert store.client.search_registered_models() == []


def test_wrong_parameter_type_fails_clearly_and_leaves_no_running_run(store):
    """MLflow does not check `type: float`; the entry point's parser does, and MLflow marks the run FAILED."""
    import subprocess

    env = clean_env(MLFLOW_TRACKING_URI=store.uri, PATH=f"{MLFLOW.parent}{os.pathsep}{os.environ['PATH']}")
    completed = subprocess.run(
        [str(MLFLOW), "run", str(PROJECT), "-P", "alpha=abc", "--experiment-name", "bad", "--env-manager", "local"],
        cwd=store.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode != 0
    assert "train.py: error: argument --alpha: 'abc' is not a number" in completed.stderr
    assert re.search(r"Run \(ID '\w+'\) failed", completed.stderr)
    runs = store.all_runs()
    assert [run.info.status for run in runs] == ["FAILED"]  # created by MLflow, closed by MLflow
    assert runs[0].data.metrics == {}
    assert store.client.search_logged_models(experiment_ids=[runs[0].info.experiment_id]) == []


@pytest.mark.parametrize("script", [RUN_CLI, RUN_PROJECT, WORKFLOW])
def test_invalid_option_fails_before_any_run(store, run_script, script):
    result = run_script(script, "--alpha", "abc", ok=False)
    assert_rejected(result, store, "--alpha")
