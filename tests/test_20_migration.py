"""examples/20_migration: a guide-era ./mlruns (written by MLflow 2.10.2) migrated to SQLite; where runs go.

``migrate_store.py`` runs once per module (it runs ``mlflow migrate-filestore``,
a process of its own). The tests compare the SQLite store it leaves with the
original store read here, independently of the script: unpacked again from the
committed tarball, read through MLflow 3's file store with the opt-in, its
metric files and artifact files also read straight from disk.
``where_are_my_runs.py`` runs three times, on the migrated folder (with and
without ``MLFLOW_TRACKING_URI``) and on an empty one; its answers are checked
against MLflow's own default-store rule and the stores' contents.
"""

from __future__ import annotations

import os
import re
import tarfile
from pathlib import Path
from types import SimpleNamespace

import mlflow.artifacts
import pytest
from _suite.runner import run_script_in
from harness import EXAMPLES, make_store
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

MIGRATE = "20_migration/migrate_store.py"
WHERE = "20_migration/where_are_my_runs.py"
TARBALL = EXAMPLES / "20_migration" / "guide_era" / "mlruns-2.10.2.tar.gz"
ORIGINAL_ROOT = "file:///tmp/guide-era-project/mlruns"  # where make_store.py wrote it (see its docstring)
FOLDER = "guide_era_project"  # migrate_store.py's default --folder


def read_store(uri: str) -> dict:
    """{run_id: everything about the run} and {experiment name: experiment}, through MLflow's API."""
    client = MlflowClient(tracking_uri=uri)
    experiments = {e.name: e for e in client.search_experiments(view_type=ViewType.ALL)}
    runs = client.search_runs([e.experiment_id for e in experiments.values()], run_view_type=ViewType.ALL)
    histories = {
        run.info.run_id: {key: client.get_metric_history(run.info.run_id, key) for key in run.data.metrics}
        for run in runs
    }
    return SimpleNamespace(
        client=client, experiments=experiments, runs={r.info.run_id: r for r in runs}, histories=histories
    )


def artifact_tree(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    files = []
    for entry in client.list_artifacts(run_id, path):
        files += artifact_tree(client, run_id, entry.path) if entry.is_dir else [entry.path]
    return sorted(files)


@pytest.fixture(scope="module")
def migration(tmp_path_factory, migrated_db):
    """One run of migrate_store.py, the original store unpacked and read here, three diagnosis runs."""
    root = tmp_path_factory.mktemp("migration")
    store = make_store("sqlite", root, migrated_db)  # the scripts' MLFLOW_TRACKING_URI (migrate_store ignores it)
    result = run_script_in(store, MIGRATE, timeout=300)
    folder = store.workdir / FOLDER

    original = root / "original"
    with tarfile.open(TARBALL) as archive:
        archive.extractall(original, filter="data")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
        with pytest.raises(MlflowException) as refusal:
            MlflowClient(tracking_uri=(original / "mlruns").as_uri()).search_experiments()
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        before = read_store((original / "mlruns").as_uri())
    after = read_store(f"sqlite:///{folder / 'mlflow.db'}")

    (store.workdir / "empty").mkdir()
    where = {
        "tracking_uri_set": run_script_in(store, WHERE, "--folder", FOLDER),
        "nothing_set": run_script_in(store, WHERE, "--folder", FOLDER, env={"MLFLOW_TRACKING_URI": None}),
        "empty": run_script_in(store, WHERE, "--folder", "empty", env={"MLFLOW_TRACKING_URI": None}),
    }
    return SimpleNamespace(
        store=store, result=result, folder=folder, original=original / "mlruns", refusal=refusal.value,
        before=before, after=after, where=where,
    )  # fmt: skip


def test_mlflow_3_refuses_the_file_store_without_the_opt_in(migration):
    message = migration.refusal.message
    assert "MLFLOW_ALLOW_FILE_STORE=true" in message and "mlflow migrate-filestore" in message
    assert f"refused: {message}" in migration.result.stdout  # the script showed the same refusal
    assert ">>> os.environ['MLFLOW_ALLOW_FILE_STORE'] = 'true'" in migration.result.stdout


def test_the_migration_command_is_printed_and_ran(migration):
    out = migration.result.stdout
    command = f"$ cd {migration.folder} && mlflow migrate-filestore --source . --target sqlite:///mlflow.db"
    assert command in out
    assert out.index("refused:") < out.index(command) < out.index("Migration completed successfully!")
    assert (migration.folder / "mlflow.db").is_file()
    # The store read here is the one guide_era/make_store.py wrote (its runs name it as their source).
    sources = {Path(run.data.tags["mlflow.source.name"]).name for run in migration.before.runs.values()}
    assert sources == {"make_store.py"}


def test_experiments_read_back_the_same(migration):
    before, after = migration.before.experiments, migration.after.experiments
    assert sorted(before) == sorted(after) == ["Default", "experiment_1", "regularisation_path"]
    for name, original in before.items():
        migrated = after[name]
        assert migrated.experiment_id == original.experiment_id
        assert migrated.tags == original.tags
        assert migrated.lifecycle_stage == original.lifecycle_stage
        assert migrated.creation_time == original.creation_time
        # The file store's absolute path, rewritten from where make_store.py ran to the script's copy.
        assert original.artifact_location == f"{ORIGINAL_ROOT}/{original.experiment_id}"
        assert migrated.artifact_location == f"{(migration.folder / 'mlruns').as_uri()}/{original.experiment_id}"
    assert after["regularisation_path"].tags == {"purpose": "metric history with steps"}


def test_runs_params_and_tags_read_back_the_same(migration):
    before, after = migration.before.runs, migration.after.runs
    assert len(before) == 6 and sorted(before) == sorted(after)
    for run_id, original in before.items():
        migrated = after[run_id]
        for field in ("run_name", "status", "lifecycle_stage", "start_time", "end_time", "user_id", "experiment_id"):
            assert getattr(migrated.info, field) == getattr(original.info, field), (run_id, field)
        assert migrated.info.artifact_uri == original.info.artifact_uri.replace(
            ORIGINAL_ROOT, (migration.folder / "mlruns").as_uri()
        )
        assert migrated.data.params == original.data.params
        assert migrated.data.tags == original.data.tags
    stages = sorted((run.info.run_name, run.info.lifecycle_stage) for run in after.values())
    assert ("mistake", "deleted") in stages, "the deleted run migrates as deleted"
    [child] = [run for run in after.values() if run.info.run_name == "best"]
    [parent] = [run for run in after.values() if run.info.run_name == "path"]
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_metrics_read_back_with_every_step(migration):
    before, after = migration.before, migration.after
    for run_id, histories in before.histories.items():
        assert sorted(after.histories[run_id]) == sorted(histories)
        for key, points in histories.items():
            as_tuples = sorted((m.step, m.value, m.timestamp) for m in after.histories[run_id][key])
            assert as_tuples == sorted((m.step, m.value, m.timestamp) for m in points), (run_id, key)
    # The stepped metric, straight from the file MLflow 2.10.2 wrote ("timestamp value step" per line).
    [path_run] = [run for run in after.runs.values() if run.info.run_name == "path"]
    metric_file = migration.original / path_run.info.experiment_id / path_run.info.run_id / "metrics" / "rmse"
    on_disk = [line.split() for line in metric_file.read_text().splitlines()]
    assert len(on_disk) == 5
    migrated = sorted((m.step, m.value, m.timestamp) for m in after.histories[path_run.info.run_id]["rmse"])
    assert migrated == sorted((int(step), float(value), int(ts)) for ts, value, step in on_disk)


def test_artifacts_read_back_the_same(migration):
    after = migration.after
    checked = 0
    for run_id, run in after.runs.items():
        on_disk = migration.original / run.info.experiment_id / run_id / "artifacts"
        files = sorted(p.relative_to(on_disk).as_posix() for p in on_disk.rglob("*") if p.is_file())
        assert artifact_tree(after.client, run_id) == files, run_id
        for name in files:
            assert mlflow.artifacts.load_text(f"{run.info.artifact_uri}/{name}") == (on_disk / name).read_text()
            checked += 1
    assert checked == 4  # three notes/summary.txt and one path.csv
    # They were not copied: the SQLite store points into the mlruns folder, which must stay.
    assert all(run.info.artifact_uri.startswith((migration.folder / "mlruns").as_uri()) for run in after.runs.values())


def test_the_script_reports_what_it_read(migration):
    out = migration.result.stdout
    summary = f"{len(migration.before.experiments)} experiments, {len(migration.before.runs)} runs"
    assert f"same experiments, runs, params, metric histories, tags and artifacts: {summary}" in out
    assert f"{ORIGINAL_ROOT}/... -> {(migration.folder / 'mlruns').as_uri()}/..." in out
    assert "mlflow ui --backend-store-uri sqlite:///mlflow.db" in out


def test_a_non_empty_folder_is_refused(migration, tmp_path):
    store = make_store("sqlite", tmp_path, Path(migration.store.uri.removeprefix("sqlite:///")))
    (store.workdir / FOLDER).mkdir()
    (store.workdir / FOLDER / "notes.txt").write_text("mine\n")
    for args in ((), ("--replace",)):
        result = run_script_in(store, MIGRATE, *args, ok=False)
        assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
        assert FOLDER in result.error_lines[0]
    assert os.listdir(store.workdir / FOLDER) == ["notes.txt"], "nothing removed, nothing unpacked"


# --- where_are_my_runs.py -----------------------------------------------------------------------


def mlflow_default_store(folder: Path) -> str:
    """MLflow's own answer to "which store without a URI?", for a process started in ``folder``."""
    from mlflow.tracking._tracking_service.utils import _get_default_tracking_uri

    here = os.getcwd()
    os.chdir(folder)
    try:
        return _get_default_tracking_uri()
    finally:
        os.chdir(here)


def reported(result, heading: str) -> str:
    [value] = re.findall(rf"^{re.escape(heading)}: (\S+)$", result.stdout, re.M)
    return value


def test_where_are_my_runs_with_the_tracking_uri_set(migration):
    result = migration.where["tracking_uri_set"]
    mlruns = migration.folder / "mlruns"
    assert reported(result, "scripts started here log to") == migration.store.uri
    # `mlflow ui` ignores MLFLOW_TRACKING_URI and, by MLflow's own rule, keeps ./mlruns while it holds experiments.
    assert mlflow_default_store(migration.folder) == "./mlruns"
    assert reported(result, "`mlflow ui` started here reads") == str(mlruns)
    assert f"mlflow ui --backend-store-uri {migration.store.uri}" in result.stdout
    assert "MLFLOW_TRACKING_URI=sqlite:///mlflow.db for scripts" in result.stdout  # mlflow.db is there
    counts = f"{len(migration.before.experiments)} experiments, {len(migration.before.runs)} runs"
    assert f"  {mlruns}: {counts} (a file store" in result.stdout
    assert f"  sqlite:///{migration.folder / 'mlflow.db'}: {counts}\n" in result.stdout
    tracked = read_store(migration.store.uri)
    assert (
        f"  {migration.store.uri}: {len(tracked.experiments)} experiments, {len(tracked.runs)} runs\n" in result.stdout
    )


def test_where_are_my_runs_without_a_tracking_uri(migration):
    result = migration.where["nothing_set"]
    mlruns = str(migration.folder / "mlruns")
    assert reported(result, "scripts started here log to") == mlruns
    assert reported(result, "`mlflow ui` started here reads") == mlruns
    assert "verdict: the same store" in result.stdout
    assert "only with MLFLOW_ALLOW_FILE_STORE=true" in result.stdout


def test_where_are_my_runs_in_an_empty_folder(migration):
    result = migration.where["empty"]
    empty = migration.store.workdir / "empty"
    assert mlflow_default_store(empty) == "sqlite:///mlflow.db"  # MLflow 3.7+'s default, relative to the folder
    assert reported(result, "scripts started here log to") == f"sqlite:///{empty / 'mlflow.db'}"
    assert reported(result, "`mlflow ui` started here reads") == f"sqlite:///{empty / 'mlflow.db'}"
    assert "does not exist yet" in result.stdout
    assert list(empty.iterdir()) == [], "the diagnosis creates no store"
    # Only the folder and its subfolders are searched: the migrated folder next to it is not reported.
    assert "guide_era_project" not in result.stdout
