"""examples/02_logging: tracking URI, experiments, runs by hand, logging calls, tags.

The tests that read a store back run on the three stores (``any_store``: mlruns, sqlite,
server), each script run once per test. Where a store really behaves differently (where
files land, ``mlflow-artifacts:/`` URIs on the server), the assertion says so. The tests of
the stores ``uri.py`` picks itself (default, folder, file-uri) and of rejected options
do not depend on the store under test and stay on one.
"""

from __future__ import annotations

import getpass
import re
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import reference
from harness import Store, assert_rejected, expected_metrics, predict_fresh
from mlflow import MlflowClient

URI = "02_logging/uri.py"
EXPERIMENT = "02_logging/experiment.py"
RUN = "02_logging/run.py"
ARTIFACTS = "02_logging/artifacts.py"
TAGS = "02_logging/tags.py"

# What uri.py prints for a location that is not a local path (its on_disk()).
NOT_ON_DISK = "not on this disk ({scheme}: the server or database keeps it)"


def printed(stdout: str, label: str) -> str:
    """The value after ``label:`` on the line of ``stdout`` that has it."""
    found = re.findall(rf"^\s*{label}: (.+)$", stdout, re.MULTILINE)
    assert len(found) == 1, f"expected one {label!r} line in:\n{stdout}"
    return found[0].strip()


def assert_metrics(run, alpha: float, l1_ratio: float, **split_settings) -> None:
    expected = expected_metrics(alpha, l1_ratio, **split_settings)
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)
    assert 0.5 < run.data.metrics["rmse"] < 1.0


def assert_predicts_like_a_refit(model_dir: Path, alpha: float, l1_ratio: float, n: int = 5) -> None:
    """The model folder a script printed loads (here, from disk) and predicts what an independent refit does."""
    model = mlflow.pyfunc.load_model(str(model_dir))
    predictions = [float(value) for value in model.predict(reference.first_rows(n))]
    assert predictions == pytest.approx(reference.expected_predictions(alpha, l1_ratio, n), rel=1e-9)


def store_files(store: Store) -> Path:
    """Where a store keeps the files of the experiments a script creates (no artifact location given)."""
    if store.kind == "mlruns":
        return Path(store.uri.removeprefix("file://"))  # beside the metadata, in the file store itself
    if store.kind == "sqlite":
        return store.workdir.resolve() / "mlruns"  # ./mlruns of the folder the script ran in
    return store.artifacts_root  # the server's proxied-artifact folder


# uri.py


def test_uri_honours_the_environment(any_store, run_script):
    result = run_script(URI, "--alpha", "0.4", "--l1-ratio", "0.2", "--experiment-name", any_store.name("logging_uri"))

    assert printed(result.stdout, "store") == "env"
    assert printed(result.stdout, "tracking URI") == any_store.uri
    [run] = any_store.runs("logging_uri")
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
    assert_metrics(run, 0.4, 0.2)
    assert printed(result.stdout, f"run {run.info.run_id} artifact URI") == run.info.artifact_uri

    [model] = any_store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert printed(result.stdout, f"model {model.model_uri} artifact location") == model.artifact_location
    model_dir = any_store.on_disk(model.artifact_location)
    assert (model_dir / "MLmodel").is_file()
    assert model_dir.is_relative_to(store_files(any_store) / run.info.experiment_id)
    metadata = printed(result.stdout, r"metadata \(params, metrics, tags\) on disk")
    run_files = printed(result.stdout, r"run files \(log_artifact\) on disk")
    model_files = printed(result.stdout, "model files on disk")
    if any_store.kind == "server":
        # The script cannot see where the server keeps anything: it says so rather than guess a path.
        assert metadata == NOT_ON_DISK.format(scheme="http")
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), "the server proxies artifacts"
        assert model.artifact_location.startswith("mlflow-artifacts:/")
        assert run_files == model_files == NOT_ON_DISK.format(scheme="mlflow-artifacts")
        assert not (any_store.workdir / "mlruns").exists(), "the client wrote no files of its own"
    else:
        assert metadata == str(any_store.on_disk(any_store.uri).resolve())  # the mlruns folder, or mlflow.db
        assert run_files == str(any_store.on_disk(run.info.artifact_uri).resolve())
        assert model_files == str(model_dir.resolve())
    assert not (any_store.workdir / "mlflow.db").exists()  # nothing went to the default store

    # Loaded in a new process through the store, the model predicts what an independent refit predicts.
    predictions = predict_fresh(any_store, model.model_uri, n=7)
    assert predictions == pytest.approx(reference.expected_predictions(0.4, 0.2, 7), rel=1e-9)


@pytest.mark.parametrize("how", ["option overrides the environment", "no environment"])
def test_uri_default_store_is_sqlite_in_the_working_folder(store, run_script, how):
    if how == "no environment":
        result = run_script(URI, env={"MLFLOW_TRACKING_URI": None})
    else:
        result = run_script(URI, "--store", "default")

    workdir = store.workdir.resolve()
    assert printed(result.stdout, "store") == "default"
    assert printed(result.stdout, "tracking URI") == "sqlite:///mlflow.db"
    assert printed(result.stdout, r"metadata \(params, metrics, tags\) on disk") == str(workdir / "mlflow.db")
    assert store.all_runs() == []  # the environment's store was not used

    local = MlflowClient(tracking_uri=f"sqlite:///{workdir / 'mlflow.db'}")
    experiment = local.get_experiment_by_name("logging_uri")
    [run] = local.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert_metrics(run, 0.7, 0.7)
    # The SQLite store keeps files in ./mlruns next to the database.
    assert Path(experiment.artifact_location) == workdir / "mlruns" / experiment.experiment_id
    assert printed(result.stdout, f"run {run.info.run_id} artifact URI") == run.info.artifact_uri
    [model] = local.search_logged_models(experiment_ids=[experiment.experiment_id])
    model_dir = workdir / "mlruns" / experiment.experiment_id / "models" / model.model_id / "artifacts"
    assert printed(result.stdout, "model files on disk") == str(model_dir)
    assert (model_dir / "MLmodel").is_file()
    assert_predicts_like_a_refit(model_dir, 0.7, 0.7)


@pytest.mark.parametrize(
    "mode, folder, expected_uri",
    [("folder", "my_tracking", "./my_tracking"), ("file-uri", "file_tracking", "{workdir}/file_tracking")],
)
def test_uri_file_stores_in_the_working_folder(store, run_script, monkeypatch, mode, folder, expected_uri):
    # The script's environment has no MLFLOW_ALLOW_FILE_STORE: the script opts in itself.
    result = run_script(URI, "--store", mode)

    workdir = store.workdir.resolve()
    if "{workdir}" in expected_uri:
        expected_uri = Path(expected_uri.format(workdir=workdir)).as_uri()
    assert printed(result.stdout, "tracking URI") == expected_uri
    assert printed(result.stdout, r"metadata \(params, metrics, tags\) on disk") == str(workdir / folder)
    assert not (workdir / "mlflow.db").exists()
    assert store.all_runs() == []

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # this test's client reads the file store too
    local = MlflowClient(tracking_uri=str(workdir / folder))
    experiment = local.get_experiment_by_name("logging_uri")
    [run] = local.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.7", "l1_ratio": "0.7"}
    assert_metrics(run, 0.7, 0.7)
    # The file store's layout: <folder>/<experiment id>/<run id>/{meta.yaml,params,metrics,tags,artifacts}
    run_dir = workdir / folder / experiment.experiment_id / run.info.run_id
    assert (workdir / folder / experiment.experiment_id / "meta.yaml").is_file()
    assert (run_dir / "meta.yaml").is_file()
    assert (run_dir / "params" / "alpha").read_text() == "0.7"
    assert float((run_dir / "metrics" / "rmse").read_text().split()[1]) == pytest.approx(run.data.metrics["rmse"])
    assert printed(result.stdout, "run files \\(log_artifact\\) on disk") == str(run_dir / "artifacts")
    assert printed(result.stdout, f"run {run.info.run_id} artifact URI") == run.info.artifact_uri
    [model] = local.search_logged_models(experiment_ids=[experiment.experiment_id])
    model_dir = workdir / folder / experiment.experiment_id / "models" / model.model_id / "artifacts"
    assert printed(result.stdout, "model files on disk") == str(model_dir)
    assert (model_dir / "MLmodel").is_file()
    assert_predicts_like_a_refit(model_dir, 0.7, 0.7)


def test_uri_env_store_without_the_variable_fails_cleanly(store, run_script):
    result = run_script(URI, "--store", "env", ok=False, env={"MLFLOW_TRACKING_URI": None})
    assert result.returncode == 2
    assert len(result.error_lines) == 1
    assert "MLFLOW_TRACKING_URI" in result.error_lines[0]
    assert list(store.workdir.iterdir()) == []


# experiment.py


def test_experiment_created_once_then_reused(any_store, run_script):
    name = any_store.name("exp_create_exp_artifact")
    common = ("--alpha", "0.4", "--l1-ratio", "0.2", "--experiment-name", name)
    first = run_script(EXPERIMENT, "--version", "v7", "--priority", "p3", *common)
    second = run_script(EXPERIMENT, "--version", "v8", *common)
    assert f"created experiment {name!r}" in first.stdout
    assert f"found experiment {name!r}" in second.stdout

    [experiment] = any_store.client.search_experiments(filter_string=f"name = '{name}'")
    workdir = any_store.workdir.resolve()
    # A file: artifact location given at creation is kept as given by every store, the server
    # included: it is not rewritten to mlflow-artifacts:/, so the client writes the files itself.
    assert experiment.artifact_location == (workdir / "myartifacts").as_uri()
    # Set at creation only (the second run's --version v8 is not applied)
    assert experiment.tags == {"version": "v7", "priority": "p3"}
    assert experiment.lifecycle_stage == "active"
    for result in (first, second):
        assert printed(result.stdout, "name") == name
        assert printed(result.stdout, "experiment_id") == experiment.experiment_id
        assert printed(result.stdout, "artifact location") == experiment.artifact_location
        assert printed(result.stdout, "lifecycle stage") == "active"
        assert printed(result.stdout, "creation time").split()[0] == str(experiment.creation_time)
        assert "'version': 'v7'" in printed(result.stdout, "tags")

    runs = any_store.runs("exp_create_exp_artifact")
    assert len(runs) == 2
    for run, result in zip(runs, (first, second), strict=True):
        assert run.info.status == "FINISHED"
        assert run.info.artifact_uri.startswith(experiment.artifact_location + "/")
        assert printed(result.stdout, "run artifact URI") == run.info.artifact_uri
        assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
        assert_metrics(run, 0.4, 0.2)
    # The models landed in the experiment's artifact location, not in ./mlruns.
    models = any_store.client.search_logged_models(experiment_ids=[experiment.experiment_id])
    assert len(models) == 2
    assert {model.source_run_id for model in models} == {run.info.run_id for run in runs}
    for model in models:
        assert model.artifact_location == f"{experiment.artifact_location}/models/{model.model_id}/artifacts"
        assert (workdir / "myartifacts" / "models" / model.model_id / "artifacts" / "MLmodel").is_file()
    assert not (workdir / "mlruns").exists()
    if any_store.kind == "server":
        # Nothing of this experiment went through the server's proxied-artifact folder.
        assert not (any_store.artifacts_root / experiment.experiment_id).exists()

    # The files in ./myartifacts are a whole model: it predicts what an independent refit predicts.
    assert_predicts_like_a_refit(workdir / "myartifacts" / "models" / models[0].model_id / "artifacts", 0.4, 0.2)


def test_experiment_that_was_deleted_is_reported_not_recreated(any_store, run_script):
    name = any_store.name("exp_create_exp_artifact")
    experiment_id = any_store.client.create_experiment(name)
    any_store.client.delete_experiment(experiment_id)
    result = run_script(EXPERIMENT, "--experiment-name", name, ok=False)
    # get_experiment reads it back as deleted; set_experiment (MLflow's own check) refuses it.
    assert printed(result.stdout, "experiment_id") == experiment_id
    assert printed(result.stdout, "lifecycle stage") == "deleted"
    assert result.returncode == 1
    assert len(result.error_lines) == 1
    assert result.error_lines[0].startswith("error: ")
    assert "restore" in result.error_lines[0]
    assert repr(name) in result.error_lines[0]
    assert any_store.client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert any_store.all_runs() == []


# run.py


def test_run_started_and_ended_by_hand(any_store, run_script):
    result = run_script(
        RUN,
        "--run-name",
        "first-try",
        "--description",
        "a hand-made run",
        "--alpha",
        "0.4",
        "--l1-ratio",
        "0.2",
        "--experiment-name",
        any_store.name("logging_runs"),
    )

    [run] = any_store.runs("logging_runs")
    assert run.info.status == "FINISHED"
    assert run.info.end_time >= run.info.start_time
    assert run.info.run_name == "first-try"
    assert run.data.tags["mlflow.runName"] == "first-try"
    assert run.data.tags["mlflow.note.content"] == "a hand-made run"
    assert run.data.tags["lesson"] == "start and end a run by hand"
    assert run.data.tags["script"] == "run.py"
    assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
    assert_metrics(run, 0.4, 0.2)
    # active_run() while it ran, None after end_run(), last_active_run() afterwards.
    assert printed(result.stdout, "active run") == f"{run.info.run_id} (first-try), status RUNNING"
    assert printed(result.stdout, "active run after end_run") == "None"
    assert printed(result.stdout, "last active run") == run.info.run_id
    assert printed(result.stdout, "status") == "FINISHED"
    assert printed(result.stdout, "description") == "a hand-made run"


def assert_ended_with(store: Store, result, status: str) -> None:
    [run] = store.runs("logging_runs")
    assert run.info.status == status
    assert printed(result.stdout, "status") == status
    assert run.info.end_time is not None
    # No --run-name: MLflow made one up (adjective-animal-number).
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", run.info.run_name)
    assert run.data.tags["mlflow.note.content"].startswith("ElasticNet run")


def test_run_end_status_is_the_one_asked_for(any_store, run_script):
    result = run_script(RUN, "--status", "KILLED", "--experiment-name", any_store.name("logging_runs"))
    assert_ended_with(any_store, result, "KILLED")


def test_run_end_status_is_not_case_sensitive(store, run_script):
    # Parsing the option is the script's, not the store's: one store is enough.
    result = run_script(RUN, "--status", "failed")
    assert_ended_with(store, result, "FAILED")


def test_run_that_fails_after_start_is_ended_failed(any_store, run_script):
    experiment_name = any_store.name("logging_runs")
    result = run_script(RUN, "--fail", "--status", "FINISHED", "--experiment-name", experiment_name, ok=False)
    assert result.returncode == 1
    assert len(result.error_lines) == 1
    assert "FAILED" in result.error_lines[0]
    [run] = any_store.runs("logging_runs")
    assert run.info.status == "FAILED"  # not FINISHED, though --status asked for it
    assert run.info.end_time is not None
    assert run.data.params == {"alpha": "0.7", "l1_ratio": "0.7"}  # logged before the failure


# artifacts.py


def test_artifacts_params_metrics_files_and_figure(any_store, run_script, tmp_path):
    settings = {"test_size": 0.3, "seed": 7}
    result = run_script(
        ARTIFACTS,
        *("--alpha", "0.4", "--l1-ratio", "0.2", "--test-size", "0.3", "--seed", "7", "--steps", "4"),
        *("--experiment-name", any_store.name("logging_artifacts")),
    )

    [run] = any_store.runs("logging_artifacts")
    client = any_store.client
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2", "test_size": "0.3", "seed": "7"}
    assert_metrics(run, 0.4, 0.2, **settings)

    # The stepped metric: alpha halved at each of the 4 steps, rmse computed here independently.
    history = sorted(client.get_metric_history(run.info.run_id, "path_rmse"), key=lambda m: m.step)
    alphas = sorted(client.get_metric_history(run.info.run_id, "path_alpha"), key=lambda m: m.step)
    assert [m.step for m in history] == [0, 1, 2, 3]
    assert [m.value for m in alphas] == pytest.approx([0.4, 0.2, 0.1, 0.05])
    for metric in history:
        expected = expected_metrics(0.4 / 2**metric.step, 0.2, **settings)["rmse"]
        assert metric.value == pytest.approx(expected, rel=1e-9)
    assert history[0].value == pytest.approx(run.data.metrics["rmse"])
    assert history[-1].value < history[0].value  # less regularisation fits better here

    def listed(path=None):
        return {item.path: item for item in client.list_artifacts(run.info.run_id, path)}

    assert set(listed()) == {"data", "plots"}
    assert set(listed("data")) == {"data/red-wine-quality.csv", "data/splits"}
    assert set(listed("data/splits")) == {"data/splits/train.csv", "data/splits/test.csv"}
    figure = listed("plots")["plots/predicted_vs_actual.png"]
    assert figure.file_size > 1000

    def download(path):
        return mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path=path, tracking_uri=any_store.uri, dst_path=str(tmp_path / "dl")
        )

    columns = reference.FEATURES + [reference.TARGET]
    train_x, test_x, train_y, test_y = reference.split(**settings)
    for name, (x, y) in {"train": (train_x, train_y), "test": (test_x, test_y)}.items():
        frame = pd.read_csv(download(f"data/splits/{name}.csv"))
        assert list(frame.columns) == columns  # 12 columns, no "Unnamed: 0" index column
        expected = x.assign(**{reference.TARGET: y}).reset_index(drop=True)
        pd.testing.assert_frame_equal(frame, expected, check_exact=False, rtol=1e-12)
    full = pd.read_csv(download("data/red-wine-quality.csv"))
    assert list(full.columns) == columns
    pd.testing.assert_frame_equal(full, reference.wine(), check_exact=False, rtol=1e-12)  # all 1,599 wines
    assert Path(download("plots/predicted_vs_actual.png")).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert printed(result.stdout, "artifact URI") == run.info.artifact_uri
    assert printed(result.stdout, "train split URI") == f"{run.info.artifact_uri}/data/splits/train.csv"

    # Where the files went: beside the store, or through the server into its artifact folder.
    run_dir = any_store.on_disk(run.info.artifact_uri)
    assert run_dir.is_relative_to(store_files(any_store) / run.info.experiment_id)
    assert (run_dir / "data" / "splits" / "train.csv").is_file()
    assert (run_dir / "plots" / "predicted_vs_actual.png").stat().st_size == figure.file_size
    if any_store.kind == "server":
        assert run.info.artifact_uri.startswith("mlflow-artifacts:/"), "the server proxies artifacts"
        assert not (any_store.workdir / "mlruns").exists(), "the client wrote no files of its own"


# tags.py


def test_tags_and_system_tags(any_store, run_script):
    result = run_script(
        TAGS, "--version", "2.5", "--environment", "staging", "--experiment-name", any_store.name("logging_tags")
    )

    [run] = any_store.runs("logging_tags")
    tags = run.data.tags
    assert {key: value for key, value in tags.items() if not key.startswith("mlflow.")} == {
        "algorithm": "ElasticNet",
        "version": "2.5",
        "environment": "staging",
    }
    assert tags["mlflow.runName"] == run.info.run_name
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.source.name"].replace("\\", "/").endswith("examples/02_logging/tags.py")
    assert tags["mlflow.user"] == getpass.getuser()
    if "mlflow.source.git.commit" in tags:  # only when the examples live in a git checkout
        assert re.fullmatch(r"[0-9a-f]{40}", tags["mlflow.source.git.commit"])
    for key, value in tags.items():
        assert f"  {key} = {value}" in result.stdout
    assert result.stdout.index("your tags:") < result.stdout.index("system tags")
    assert run.data.params == {"alpha": "0.7", "l1_ratio": "0.7"}
    assert_metrics(run, 0.7, 0.7)


# bad input: one line, nothing recorded


@pytest.mark.parametrize(
    "script, option, value",
    [
        (URI, "--store", "nowhere"),
        (EXPERIMENT, "--alpha", "abc"),
        (RUN, "--status", "DONE"),
        (ARTIFACTS, "--steps", "0"),
        (ARTIFACTS, "--steps", "21"),
        (TAGS, "--l1-ratio", "abc"),
    ],
)
def test_unparsable_options_fail_with_one_line_and_no_run(store, run_script, script, option, value):
    """argparse refuses them: exit 2."""
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)
    assert [experiment.name for experiment in store.client.search_experiments()] == ["Default"]
    assert list(store.workdir.iterdir()) == []


@pytest.mark.parametrize(
    "script, option, value, named",
    [
        (URI, "--alpha", "-1", "'alpha'"),
        (EXPERIMENT, "--alpha", "-1", "'alpha'"),
        (RUN, "--alpha", "nan", "'alpha'"),
        (ARTIFACTS, "--test-size", "0", "test_size"),
        (ARTIFACTS, "--l1-ratio", "1.5", "'l1_ratio'"),
        (TAGS, "--l1-ratio", "2", "'l1_ratio'"),
    ],
)
def test_out_of_range_options_are_refused_by_sklearn_before_any_run(store, run_script, script, option, value, named):
    """scikit-learn checks the ranges, at the split or the fit, before anything is recorded: one line, exit 1."""
    result = run_script(script, option, value, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
    assert list(store.workdir.iterdir()) == []
