"""examples/21_scale_out: batch scoring on Spark with spark_udf, and one Optuna study shared by workers.

Spark's start-up (a JVM, then Python workers that import MLflow and load the model) costs
seconds of CPU, so spark_score.py runs once for the module, in a fixture, and the tests read
back what that one run wrote and recorded: every Spark prediction against the model's own
coefficients (read back through MLflow, computed here with numpy), the row count, the run's
params, metrics and datasets. Ctrl-C during scoring needs a second Spark start-up; the bad
inputs are all refused before Spark starts, so they cost no JVM. Without Java the Spark tests
skip with a one-line reason naming the package (under ``CI=true`` they fail instead).

shared_study.py also runs once (two workers, three trials each): one parent run, six child
runs tagged with their worker, trial numbers 0-5 each once, the best trial on the parent
equal to the best child, whose cv_rmse is recomputed here.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow.artifacts
import mlflow.sklearn
import numpy as np
import pandas as pd
import psutil
import pytest
import reference
from _suite import runner
from harness import Result, Store, assert_rejected, clean_env, script_path
from services import require_java
from sklearn.linear_model import ElasticNet

SCORE = "21_scale_out/spark_score.py"
STUDY = "21_scale_out/shared_study.py"
EXPERIMENT = "scale_out"
MODEL_NAME = "wine_quality"
ROWS, PARTITIONS = 30_000, 2
WORKERS, TRIALS = 2, 3


# --- Java: the Spark tests need it --------------------------------------------------------------


def java_processes_in(folder: Path) -> list[int]:
    """JVMs whose working folder is ``folder`` (a script's JVM inherits its working folder)."""
    found = []
    for process in psutil.process_iter(["pid", "name", "cwd"]):
        if process.info["name"] == "java" and process.info["cwd"] == str(folder):
            found.append(process.info["pid"])
    return found


def assert_no_jvm_left(folder: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while java_processes_in(folder) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert java_processes_in(folder) == [], f"a JVM was left running in {folder}"


# --- spark_score.py, once for the module --------------------------------------------------------


@dataclass
class Scored:
    store: Store
    result: Result
    run: object  # the spark-scoring run
    out: Path  # --output-dir
    model: ElasticNet  # the champion, loaded back through MLflow


def champion(store: Store) -> tuple[object, ElasticNet]:
    """The version behind @champion and its scikit-learn model, read back through MLflow."""
    version = store.client.get_model_version_by_alias(MODEL_NAME, "champion")
    logged = store.client.get_logged_model(version.source.removeprefix("models:/"))
    local = mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location, tracking_uri=store.uri)
    return version, mlflow.sklearn.load_model(local)


@pytest.fixture(scope="module")
def scored(chapter_store, tmp_path_factory) -> Scored:
    """One spark_score.py run in a fresh store: it registers the champion itself, then scores ROWS wines."""
    require_java()
    out = tmp_path_factory.mktemp("scale_out_files")  # outside the working folder, which must stay clean
    args = ["--rows", str(ROWS), "--partitions", str(PARTITIONS), "--output-dir", str(out)]
    result = runner.run_script_in(chapter_store, SCORE, *args, timeout=300)
    [run] = chapter_store.runs(EXPERIMENT, filter_string="attributes.run_name = 'spark-scoring'")
    _, model = champion(chapter_store)
    return Scored(chapter_store, result, run, out, model)


def by_row_id(folder: Path) -> pd.DataFrame:
    """A Parquet file or folder, read with pandas (no Spark here), indexed and sorted by row_id."""
    return pd.read_parquet(folder).set_index("row_id").sort_index()


def test_every_spark_prediction_equals_the_models_own_arithmetic(scored):
    """Prediction = features @ coef_ + intercept_, the coefficients read back from the registered model."""
    wines = by_row_id(scored.out / "wine_rows")
    predictions = by_row_id(scored.out / "predictions")
    assert len(predictions) == len(wines) == ROWS
    assert predictions.index.tolist() == list(range(ROWS)), "every row scored once"
    assert list(predictions.columns) == ["prediction"]
    features = wines[list(scored.model.feature_names_in_)].to_numpy()
    expected = features @ scored.model.coef_ + scored.model.intercept_
    assert np.max(np.abs(predictions["prediction"].to_numpy() - expected)) <= 1e-9
    # pandas' load_model(...).predict on the same rows agrees too
    on_pandas = by_row_id(scored.out / "pandas_predictions.parquet")
    assert np.max(np.abs(on_pandas["prediction"].to_numpy() - expected)) <= 1e-9
    # One Spark task per input file, one output file per task
    assert len(list((scored.out / "wine_rows").glob("*.parquet"))) == PARTITIONS
    assert len(list((scored.out / "predictions").glob("part-*.parquet"))) == PARTITIONS


def test_the_rows_are_uci_wines_with_a_little_noise(scored):
    """Drawn from the 1,599 wines, each measurement within a few % of the wine it was drawn from."""
    wines = by_row_id(scored.out / "wine_rows")
    uci = pd.read_csv(reference.csv_path(), sep=";")[reference.FEATURES]
    assert list(wines.columns) == reference.FEATURES
    low, high = uci.min() * 0.94, uci.max() * 1.06  # 1 % noise: 6 sigma
    assert ((wines >= low) & (wines <= high)).all().all()
    table = uci.to_numpy()
    for row in wines.head(200).to_numpy():  # (a zero, e.g. citric acid, stays zero)
        assert (np.abs(row - table) <= 0.06 * np.abs(table)).all(axis=1).any(), "within 6 % of some UCI wine"


def test_the_champion_was_registered_by_the_script_itself(scored):
    version, model = champion(scored.store)
    assert scored.store.client.get_registered_model(MODEL_NAME).aliases == {"champion": version.version}
    [register] = scored.store.runs(EXPERIMENT, filter_string="attributes.run_name = 'register-champion'")
    assert version.run_id == register.info.run_id
    assert register.data.params == {"alpha": "0.1", "l1_ratio": "0.9"}
    refit, _ = reference.refit(0.1, 0.9)
    assert model.coef_ == pytest.approx(refit.coef_, rel=1e-12)
    assert f"registered version {version.version} and made it the champion" in scored.result.stdout


def test_the_run_records_params_metrics_and_datasets(scored):
    run = scored.run
    assert run.info.status == "FINISHED"
    version, _ = champion(scored.store)
    assert run.data.params == {
        "rows": str(ROWS),
        "partitions": str(PARTITIONS),
        "master": "local[2]",
        "model_uri": f"models:/{MODEL_NAME}@champion",
        "model_version": str(version.version),
        "input": "1599 UCI wines drawn with seed 42, noise 0.01",
    }
    client = scored.store.client
    for name in ("spark_rows_per_second", "pandas_rows_per_second", "spark_seconds", "pandas_seconds"):
        [metric] = client.get_metric_history(run.info.run_id, name)
        assert metric.step == ROWS and metric.value > 0, name
    speeds = run.data.metrics
    assert speeds["spark_rows_per_second"] == pytest.approx(ROWS / speeds["spark_seconds"], rel=1e-9)
    assert speeds["spark_startup_seconds"] > 0

    # The input and the output, as datasets: a Parquet path Spark can load, its columns, an md5 digest
    datasets = {
        {tag.key: tag.value for tag in entry.tags}["mlflow.data.context"]: entry.dataset
        for entry in run.inputs.dataset_inputs
    }
    assert set(datasets) == {"input", "output"}
    for context, name, folder, columns in [
        ("input", "wine_rows", scored.out / "wine_rows", ["row_id", *reference.FEATURES]),
        ("output", "predictions", scored.out / "predictions", ["row_id", "prediction"]),
    ]:
        dataset = datasets[context]
        assert dataset.name == name and dataset.source_type == "spark"
        assert dataset.source == f'{{"path": "{folder}"}}'
        assert [column["name"] for column in json.loads(dataset.schema)["mlflow_colspec"]] == columns
        digest = hashlib.md5()
        for part in sorted(folder.glob("*.parquet")):
            digest.update(part.read_bytes())
        assert dataset.digest == digest.hexdigest()[:8]

    printed = re.search(rf"{ROWS:,} rows: pandas +([\d,]+) rows/s \(.*\), Spark +([\d,]+) rows/s", scored.result.stdout)
    assert printed, scored.result.stdout
    assert int(printed[2].replace(",", "")) == round(speeds["spark_rows_per_second"])


def test_spark_writes_only_under_output_dir_and_stays_quiet(scored):
    # The runner already checked that the working folder holds nothing .gitignore misses; here: nothing at all
    # but MLflow's own store files, and Spark's log4j chatter reduced to nothing.
    assert sorted(path.name for path in scored.store.workdir.iterdir()) == ["mlruns"]
    assert not any(name in scored.result.stderr for name in (" INFO SparkContext", "log4j", "Setting default log"))
    assert "DeprecationWarning" not in scored.result.stderr and "FutureWarning" not in scored.result.stderr


def test_ctrl_c_during_scoring_stops_spark_and_fails_the_run(scored, tmp_path):
    """SIGINT to the script's process group (what Ctrl-C in a terminal sends) while Spark scores."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    store = Store("sqlite", scored.store.uri, workdir)  # the champion is already there
    # --input: the fixture's rows, read as they are (their columns checked before Spark starts)
    args = ["--input", str(scored.out / "wine_rows"), "--partitions", "2", "--output-dir", str(tmp_path / "out")]
    env = clean_env(MLFLOW_TRACKING_URI=store.uri)
    process = runner.current().start([str(script_path(SCORE)), *args], cwd=workdir, env=env, new_session=True)
    deadline = time.monotonic() + 180
    while "s), Spark" not in process.stdout and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1)  # the Spark job is under way
    os.killpg(process.pid, signal.SIGINT)
    result = runner.current().finish(process, ok=False, timeout=120)

    assert result.returncode == 1 and result.error_lines[-1] == "interrupted", result.stderr
    runs = [run for run in store.runs(EXPERIMENT) if run.info.run_id != scored.run.info.run_id]
    [interrupted] = [run for run in runs if run.info.run_name == "spark-scoring"]
    assert interrupted.info.status == "FAILED" and interrupted.info.end_time
    assert interrupted.data.params["rows"] == str(ROWS)
    assert interrupted.data.params["input"] == str(scored.out / "wine_rows")
    assert_no_jvm_left(workdir)


# --- Bad input: refused before anything is recorded, and before Spark starts ---------------------


def write_parquet_without_features(folder: Path) -> str:
    path = folder / "not_wine.parquet"
    pd.DataFrame({"row_id": [0, 1], "colour": ["red", "white"]}).to_parquet(path, index=False)
    return str(path)


@pytest.mark.parametrize(
    "case",
    ["unresolvable-model-uri", "input-without-features", "missing-data", "worker-without-parent"],
)
def test_bad_input_fails_in_one_line_and_records_nothing(store, run_script, tmp_path, case):
    script, args, expected = {
        "unresolvable-model-uri": (SCORE, ["--model-uri", "models:/no_such_model@champion"], "no_such_model"),
        "input-without-features": (
            SCORE,
            ["--input", write_parquet_without_features(tmp_path)],
            "has no column 'fixed acidity'",
        ),
        "missing-data": (SCORE, ["--data", str(tmp_path / "no-such.csv")], "no-such.csv"),
        "worker-without-parent": (STUDY, ["--worker", "0"], "--worker needs --parent-run-id"),
    }[case]
    result = run_script(script, *args, ok=False)
    assert result.returncode == 1, result.stderr
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("error: "), result.stderr
    assert expected in result.error_lines[0]
    assert "starting Spark" not in result.stdout and "incubator" not in result.stderr, "no JVM was started"
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
    assert list(store.workdir.iterdir()) == []


@pytest.mark.parametrize(
    "script, option, value",
    [(SCORE, "--rows", "0"), (SCORE, "--model-name", "team/wine"), (STUDY, "--storage", "not a URL")],
)
def test_bad_option_is_refused_by_the_parser(store, run_script, script, option, value):
    assert_rejected(run_script(script, option, value, ok=False), store, option)


def test_without_java_one_line_names_the_package(store, run_script, tmp_path):
    """No java on PATH, no JAVA_HOME: one line naming openjdk-17-jre-headless, before anything is recorded."""
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_script(SCORE, env={"PATH": str(empty), "JAVA_HOME": None}, ok=False)
    assert result.returncode == 1
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("error: Spark needs Java 17"), result
    assert "openjdk-17-jre-headless" in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
    assert list(store.workdir.iterdir()) == []


# --- shared_study.py, once for the module -------------------------------------------------------


@dataclass
class Study:
    store: Store
    result: Result
    parent: object
    children: list  # by trial number


@pytest.fixture(scope="module")
def study(chapter_store, tmp_path_factory) -> Study:
    storage = f"sqlite:///{tmp_path_factory.mktemp('optuna') / 'optuna.db'}"
    args = ["--workers", str(WORKERS), "--trials", str(TRIALS), "--storage", storage, "--experiment-name", "study"]
    result = runner.run_script_in(chapter_store, STUDY, *args, timeout=300)
    runs = chapter_store.runs("study")
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run is not parent]
    children.sort(key=lambda run: int(run.data.tags["optuna.trial_number"]))
    return Study(chapter_store, result, parent, children)


def test_one_parent_and_a_child_run_per_trial_of_every_worker(study):
    parent = study.parent
    assert parent.info.status == "FINISHED" and parent.info.run_name == "shared-study"
    assert parent.data.params["workers"] == str(WORKERS) and parent.data.params["trials_per_worker"] == str(TRIALS)
    assert len(study.children) == WORKERS * TRIALS
    numbers = [int(child.data.tags["optuna.trial_number"]) for child in study.children]
    assert numbers == list(range(WORKERS * TRIALS)), "no trial number twice, none missing"
    per_worker = {}
    for child in study.children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
        assert child.info.run_name == f"trial-{child.data.tags['optuna.trial_number']}"
        assert set(child.data.params) == {"alpha", "l1_ratio"}
        per_worker.setdefault(child.data.tags["worker"], []).append(child)
    assert {worker: len(runs) for worker, runs in per_worker.items()} == {str(k): TRIALS for k in range(WORKERS)}


def test_the_best_trial_on_the_parent_is_the_best_child(study):
    best = min(study.children, key=lambda child: child.data.metrics["cv_rmse"])
    parent = study.parent
    assert parent.data.metrics["best_cv_rmse"] == best.data.metrics["cv_rmse"]
    assert parent.data.params["best_alpha"] == best.data.params["alpha"]
    assert parent.data.params["best_l1_ratio"] == best.data.params["l1_ratio"]
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.tags["best_trial_number"] == best.data.tags["optuna.trial_number"]
    # ... and its cv_rmse is a 3-fold cross-validation on the training rows, redone here
    alpha, l1_ratio = float(best.data.params["alpha"]), float(best.data.params["l1_ratio"])
    rmses = [rmse for rmse, _ in reference.cross_validate(alpha, l1_ratio, folds=3, seed=42)]
    assert best.data.metrics["cv_rmse"] == pytest.approx(np.mean(rmses), rel=1e-9)
    assert f"best: trial {best.data.tags['optuna.trial_number']} (worker {best.data.tags['worker']}" in (
        study.result.stdout
    )


def test_ctrl_c_in_the_launcher_stops_its_workers(store, tmp_path):
    """SIGINT to the launcher alone (not its group): it Ctrl-Cs its workers, which stop after their trial."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    argv = [str(script_path(STUDY)), "--workers", "2", "--trials", "500", "--storage", storage]
    env = clean_env(MLFLOW_TRACKING_URI=store.uri)
    process = runner.current().start(argv, cwd=store.workdir, env=env, new_session=True)
    deadline = time.monotonic() + 120
    while not all(f"worker {k}: trial" in process.stdout for k in range(2)) and time.monotonic() < deadline:
        assert process.poll() is None, process.describe()
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGINT)
    result = runner.current().finish(process, ok=False, timeout=60)

    assert result.returncode == 1 and result.error_lines[-1] == "interrupted", result.stderr
    runs = store.runs(EXPERIMENT)
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert parent.info.status == "FAILED"
    children = [run for run in runs if run is not parent]
    assert children, "the workers had started trials"
    # Each worker finished the trial under way, then stopped: no trial run cut off RUNNING.
    assert all(run.info.status == "FINISHED" and run.info.end_time for run in children), "none RUNNING"
    assert all(f"worker {k}: stopping after the trial under way" in result.stdout for k in range(2))
    leftovers = [
        p.pid for p in psutil.process_iter(["cmdline"]) if parent.info.run_id in " ".join(p.info["cmdline"] or [])
    ]
    assert leftovers == [], "a worker outlived its launcher"
