"""examples/09_projects: an MLflow Project run with `mlflow run` and `mlflow.projects.run`.

The project's entry points (09_projects/wine_project/train.py and
09_projects/wine_project/register.py) are not standalone scripts: they run
here only through MLflow Projects, as MLflow launches them.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import reference
from _suite import runner
from harness import EXAMPLES, assert_rejected, clean_env, expected_metrics

RUN_PROJECT = "09_projects/run_project.py"
WORKFLOW = "09_projects/workflow.py"
PROJECT = EXAMPLES / "09_projects" / "wine_project"
ENTRY_POINTS = {"main": "09_projects/wine_project/train.py", "register": "09_projects/wine_project/register.py"}
UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
DATA = str(reference.csv_path())  # what the suite gives the scripts as $WINE_QUALITY_CSV


def project_files() -> set[Path]:
    return {path for path in PROJECT.rglob("*") if "__pycache__" not in path.parts}


def assert_project_run(run, entry_point: str) -> None:
    """Tags MLflow Projects puts on every run it launches from this local folder."""
    tags = run.data.tags
    assert tags["mlflow.project.entryPoint"] == entry_point
    assert tags["mlflow.source.type"] == "PROJECT"
    # In a git checkout MLflow names the repository and the project's folder in it, with the commit;
    # a copied chapter (the standalone run, tests/_suite/runner.py) is a plain folder.
    assert re.search(r"[#/]examples/09_projects/wine_project$", tags["mlflow.source.name"]), tags
    if "#" in tags["mlflow.source.name"]:
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


def test_entry_points_import_only_packages_listed_in_python_env():
    """So the environment `mlflow run` builds from python_env.yaml can run them on any machine."""
    import ast
    import importlib.metadata

    import yaml

    listed = {
        re.split(r"[=<>!~ \[]", dep)[0].lower()
        for dep in yaml.safe_load((PROJECT / "python_env.yaml").read_text())["dependencies"]
    }
    local = {path.stem for path in PROJECT.glob("*.py")}
    providers = importlib.metadata.packages_distributions()
    for path in PROJECT.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                continue
            for top in {name.split(".")[0] for name in names}:
                if top in sys.stdlib_module_names or top in local:
                    continue
                dists = {dist.lower() for dist in providers.get(top, [])}
                assert dists & listed, f"{path.name} imports {top} ({dists or 'not installed'}), not in python_env.yaml"


def test_project_data_defaults_to_uci_and_entry_points_take_it_as_data(tmp_path):
    """The MLproject documents UCI's URL as `data`'s default and hands it to each entry point as --data."""
    import yaml

    spec = yaml.safe_load((PROJECT / "MLproject").read_text())
    for entry_point in spec["entry_points"].values():
        assert entry_point["parameters"]["data"]["default"] == UCI_URL
        assert "--data {data}" in entry_point["command"]
    # Run by hand, an entry point's --data defaults like every script's: $WINE_QUALITY_CSV, else UCI's URL.
    for script in ENTRY_POINTS.values():
        argv, run = [str(EXAMPLES / script), "--help"], runner.current().run  # forked: --help is no real run
        unset = run(argv, cwd=tmp_path, env=clean_env(WINE_QUALITY_CSV=None), claim=False)
        assert f"wineCSV:{UCI_URL}" in "".join(unset.stdout.split())  # help wraps it
        given = run(argv, cwd=tmp_path, env=clean_env(), claim=False)
        assert f"wineCSV:{DATA}" in "".join(given.stdout.split())
    assert list(tmp_path.iterdir()) == []


def test_cli_and_api_record_the_same_project_run(store, run_script):
    """`mlflow run` and `mlflow.projects.run`: one run each, same params, tags and metrics.

    --data is given relative to the working folder: the script hands the entry point (which runs
    in the project folder) its absolute path.
    """
    (store.workdir / "data").mkdir()
    shutil.copyfile(DATA, store.workdir / "data" / "winequality-red.csv")
    before = project_files()
    result = run_script(
        RUN_PROJECT, "--alpha", "0.4", "--l1-ratio", "0.2", "--data", "data/winequality-red.csv",
        "--experiment-name", "two_ways",
    )  # fmt: skip

    assert re.search(r"^\$ mlflow run \S*wine_project -P alpha=0.4 -P l1_ratio=0.2 .*--env-manager local$",
                     result.stdout, re.M)  # fmt: skip
    runs = store.runs("two_ways")
    assert len(runs) == 2 and len(store.all_runs()) == 2  # each entry point joined the run MLflow opened
    absolute = str(store.workdir / "data" / "winequality-red.csv")
    for run in runs:
        assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2", "data": absolute}
        assert_project_run(run, "main")
        assert_metrics(run, 0.4, 0.2)
        assert f": run {run.info.run_id}, FINISHED, in experiment 'two_ways'" in result.stdout
    models = store.client.search_logged_models(experiment_ids=[runs[0].info.experiment_id])
    assert sorted(model.source_run_id for model in models) == sorted(run.info.run_id for run in runs)
    for model in models:
        assert f"model: models:/{model.model_id}" in result.stdout
    assert project_files() == before  # nothing written into the project folder (the run's cwd)


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
        assert child.data.params["data"] == DATA
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
    assert any(re.fullmatch(r"error: rmse 0\.\d+ > max_rmse 0\.1: model not registered", line)
               for line in result.error_lines)  # fmt: skip
    assert re.fullmatch(r"error: Run \(ID '\w+'\) failed", result.error_lines[-1])
    statuses = {run.data.tags.get("mlflow.project.entryPoint", "parent"): run.info.status for run in store.all_runs()}
    assert statuses == {"parent": "FAILED", "main": "FINISHED", "register": "FAILED"}
    [register] = [run for run in store.all_runs() if run.data.tags.get("mlflow.project.entryPoint") == "register"]
    assert register.data.metrics["rmse"] > 0.1  # measured and logged before the gate
    assert store.client.search_registered_models() == []


def test_wrong_parameter_type_fails_clearly_and_leaves_no_running_run(store):
    """MLflow does not check `type: float`; the entry point's parser does, and MLflow marks the run FAILED."""
    # As with the venv active: `mlflow` is this interpreter's, and so is the entry point's `python`.
    env = clean_env(
        MLFLOW_TRACKING_URI=store.uri, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "mlflow", "run", str(PROJECT), "-P", "alpha=abc", "-P", f"data={DATA}",
         "--experiment-name", "bad", "--env-manager", "local"],
        cwd=store.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "train.py: error: argument --alpha: invalid float value: 'abc'" in completed.stderr
    assert re.search(r"Run \(ID '\w+'\) failed", completed.stderr)
    runs = store.all_runs()
    assert [run.info.status for run in runs] == ["FAILED"]  # created by MLflow, closed by MLflow
    assert runs[0].data.metrics == {}
    assert store.client.search_logged_models(experiment_ids=[runs[0].info.experiment_id]) == []


@pytest.mark.parametrize(
    "script, option, value",
    [
        (RUN_PROJECT, "--alpha", "abc"),
        (RUN_PROJECT, "--alpha", "-1"),
        (RUN_PROJECT, "--l1-ratio", "1.5"),
        (WORKFLOW, "--alpha", "nan"),
        (WORKFLOW, "--max-rmse", "-1"),
    ],
)
def test_invalid_option_fails_before_any_run(store, run_script, script, option, value):
    """Checked at parse time: MLflow would open the project's run before train.py could refuse it."""
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)
    assert [experiment.name for experiment in store.experiments()] == ["Default"]
