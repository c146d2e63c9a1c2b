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
from harness import EXAMPLES, assert_chapter_tags, assert_rejected, clean_env, expected_metrics

from winelab.servers import BIN, MLFLOW

RUN_CLI = "09_projects/run_cli.py"
RUN_PROJECT = "09_projects/run_project.py"
WORKFLOW = "09_projects/workflow.py"
PROJECT = EXAMPLES / "09_projects" / "wine_project"
ENTRY_POINTS = {"main": "09_projects/wine_project/train.py", "register": "09_projects/wine_project/register.py"}
UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


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


def load_project_module(name: str):
    """Import one of the project's files the way `python train.py` in the project folder would."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"wine_project_{name}", PROJECT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def test_project_reads_the_course_data_by_default():
    import yaml

    from winelab import data

    wine = load_project_module("wine")
    assert (wine.UCI_URL, wine.SHA256) == (data.URL, data.SHA256) == (UCI_URL, data.SHA256)
    spec = yaml.safe_load((PROJECT / "MLproject").read_text())
    for entry_point in spec["entry_points"].values():
        assert entry_point["parameters"]["data"]["default"] == UCI_URL
        assert "--data {data}" in entry_point["command"]


def test_project_download_is_sha256_checked_and_cached(tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    from winelab import data

    good = data.fetch().read_bytes()
    www = tmp_path / "www"
    www.mkdir()
    (www / "good.csv").write_bytes(good)
    (www / "bad.csv").write_bytes(good.replace(b"7.4", b"7.5", 1))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    wine = load_project_module("wine")
    try:
        monkeypatch.setenv("WINELAB_DATA_DIR", str(tmp_path / "bad-cache"))
        with pytest.raises(SystemExit, match=r"error: wine data not available from .*bad.csv: .*(hash|SHA256)"):
            wine.load_wine(f"{base}/bad.csv")
        assert not list((tmp_path / "bad-cache").glob("*.csv"))  # the bad download is not kept

        monkeypatch.setenv("WINELAB_DATA_DIR", str(tmp_path / "cache"))
        frame = wine.load_wine(f"{base}/good.csv")
        assert (tmp_path / "cache" / data.FILENAME).read_bytes() == good
    finally:
        server.shutdown()
        server.server_close()
    # The server is gone: the checked copy in the cache is used, and it is the course's data.
    again = wine.load_wine(f"{base}/good.csv")
    assert again.equals(frame) and frame.equals(data.load_wine())
    assert wine.load_wine(str(tmp_path / "cache" / data.FILENAME)).equals(frame)  # a file path, read as is
    with pytest.raises(SystemExit, match="no such data file"):
        wine.load_wine(str(tmp_path / "missing.csv"))


def test_mlflow_run_command_records_params_tags_and_metrics(store, run_script):
    before = project_files()
    result = run_script(RUN_CLI, "--alpha", "0.4", "--l1-ratio", "0.2")

    assert re.search(r"^\$ \S*mlflow run \S*wine_project -P alpha=0.4 .*--env-manager local$", result.stdout, re.M)
    [run] = store.all_runs()  # the entry point joined the run MLflow opened: no second run
    experiment = store.client.get_experiment(run.info.experiment_id)
    assert experiment.name == "wine_project"
    assert_chapter_tags(experiment)  # run_cli.py tagged what `mlflow run` created
    assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2", "test_size": "0.25", "seed": "42", "data": UCI_URL}
    assert_project_run(run, "main")
    assert_metrics(run, 0.4, 0.2)
    [model] = store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    assert project_files() == before  # nothing written into the project folder (the run's cwd)


def test_projects_run_api_uses_the_named_experiment(store, run_script):
    result = run_script(RUN_PROJECT, "--alpha", "0.1", "--l1-ratio", "0.5", "--experiment-name", "api_runs")

    [run] = store.runs("api_runs")
    assert f"run {run.info.run_id}: FINISHED" in result.stdout
    assert run.data.params == {"alpha": "0.1", "l1_ratio": "0.5", "test_size": "0.25", "seed": "42", "data": UCI_URL}
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

    env = clean_env(MLFLOW_TRACKING_URI=store.uri, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    completed = subprocess.run(
        [MLFLOW, "run", str(PROJECT), "-P", "alpha=abc", "--experiment-name", "bad", "--env-manager", "local"],
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
