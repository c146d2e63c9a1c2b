"""From the guide's ./mlruns to MLflow 3: migrate a file store into SQLite.

The guide (MLflow 2.10) logged into ``./mlruns``, a folder of YAML and text
files. MLflow 3 keeps that file store in maintenance mode: it refuses to open
it unless ``MLFLOW_ALLOW_FILE_STORE=true``, and ``mlflow migrate-filestore``
copies it into a SQLite database. The script

1. unpacks a real store written by MLflow 2.10.2 (``guide_era/mlruns-2.10.2.tar.gz``,
   made by ``guide_era/make_store.py``) into ``<folder>/mlruns``, as if it were
   your old project folder;
2. points the store's absolute artifact paths at this copy: the file store
   writes ``file:///...`` paths into every meta.yaml, so a moved folder needs them fixed;
3. shows MLflow 3 refusing the file store, then reads it with the opt-in;
4. runs ``mlflow migrate-filestore --source . --target sqlite:///mlflow.db`` in ``<folder>``;
5. reads experiments, runs, params, metric histories, tags and artifacts back
   from SQLite (no opt-in needed) and compares them with step 3.

The migration copies metadata only: the SQLite store points at the artifact
files still in ``<folder>/mlruns``, so keep that folder. It never uses
``MLFLOW_TRACKING_URI``: both stores are named explicitly.

    python examples/20_migration/migrate_store.py --folder guide_era_project
"""

import os
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from winelab import UserError, run_example
from winelab.cli import server_parser

FIXTURE = Path(__file__).with_name("guide_era") / "mlruns-2.10.2.tar.gz"
MLFLOW = Path(sys.executable).with_name("mlflow")  # the venv's `mlflow` executable
OURS = {"mlruns", "mlflow.db", "mlflow.db-wal", "mlflow.db-shm", "mlflow.db-journal"}  # what --replace may remove


def unpack_guide_era_store(folder: Path, replace: bool) -> Path:
    """``<folder>/mlruns``: a fresh copy of the committed MLflow 2.10.2 store."""
    if folder.exists() and any(folder.iterdir()):
        leftovers = {path.name for path in folder.iterdir()}
        if not replace:
            raise UserError(f"{folder} is not empty: remove it, pass --replace, or choose another --folder")
        if not leftovers <= OURS:
            raise UserError(
                f"--replace removes only this script's output, but {folder} holds {sorted(leftovers - OURS)}"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(folder, filter="data")  # a tarball keeps the empty folders the file store needs
    return folder / "mlruns"


def relocate(mlruns: Path) -> tuple[str, int]:
    """Rewrite the file store's absolute artifact paths from where it was written to where it is now."""
    # Experiment 0 (Default) always sits at <the store's original URI>/0.
    default_meta = (mlruns / "0" / "meta.yaml").read_text()
    [location] = [line.split(": ", 1)[1] for line in default_meta.splitlines() if line.startswith("artifact_location:")]
    old, new = location.removesuffix("/0"), mlruns.resolve().as_uri()
    changed = 0
    for meta in mlruns.rglob("meta.yaml"):
        text = meta.read_text()
        moved = text.replace(f": {old}/", f": {new}/")  # artifact_location: / artifact_uri: lines
        if moved != text:
            meta.write_text(moved)
            changed += 1
    return old, changed


def snapshot(client: MlflowClient) -> dict:
    """Everything the lesson compares, as plain data: {experiment name: {info, tags, runs: {run id: ...}}}."""
    store = {}
    for experiment in client.search_experiments(view_type=ViewType.ALL):
        runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL, max_results=1000)
        store[experiment.name] = {
            "experiment_id": experiment.experiment_id,
            "lifecycle_stage": experiment.lifecycle_stage,
            "artifact_location": experiment.artifact_location,
            "tags": experiment.tags,
            "runs": {run.info.run_id: describe_run(client, run) for run in runs},
        }
    return store


def describe_run(client: MlflowClient, run) -> dict:
    info = run.info
    return {
        "info": {
            "run_name": info.run_name,
            "status": info.status,
            "lifecycle_stage": info.lifecycle_stage,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "user_id": info.user_id,
            "artifact_uri": info.artifact_uri,
        },
        "params": run.data.params,
        "tags": run.data.tags,
        # Every logged value, not just the latest one run.data.metrics holds.
        "metrics": {
            key: [(point.step, point.value, point.timestamp) for point in client.get_metric_history(info.run_id, key)]
            for key in run.data.metrics
        },
        "artifacts": {
            path: mlflow.artifacts.load_text(f"{info.artifact_uri}/{path}")
            for path in artifact_files(client, info.run_id)
        },
    }


def artifact_files(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    files = []
    for entry in client.list_artifacts(run_id, path):
        files.extend(artifact_files(client, run_id, entry.path) if entry.is_dir else [entry.path])
    return files


def show(store: dict) -> None:
    for name, experiment in store.items():
        print(f"  experiment {name!r} (id {experiment['experiment_id']}), tags {experiment['tags']}")
        for run_id, run in experiment["runs"].items():
            info = run["info"]
            metrics = ", ".join(f"{key}: {len(points)} step(s)" for key, points in run["metrics"].items())
            print(f"    run {info['run_name']!r} {run_id[:8]} {info['status']} ({info['lifecycle_stage']})")
            print(
                f"      params {run['params']}; metrics {metrics or '-'}; artifacts {sorted(run['artifacts']) or '-'}"
            )


def compare(before: dict, after: dict) -> list[str]:
    """The kinds of records that differ between the two snapshots (empty: the migration kept everything)."""
    differ = []
    if before.keys() != after.keys() or any(
        {k: v for k, v in before[name].items() if k != "runs"} != {k: v for k, v in after[name].items() if k != "runs"}
        for name in before
    ):
        differ.append("experiments")
    runs_before = {run_id: run for experiment in before.values() for run_id, run in experiment["runs"].items()}
    runs_after = {run_id: run for experiment in after.values() for run_id, run in experiment["runs"].items()}
    if runs_before.keys() != runs_after.keys():
        return [*differ, "runs"]
    for part in ("info", "params", "metrics", "tags", "artifacts"):
        if any(runs_before[run_id][part] != runs_after[run_id][part] for run_id in runs_before):
            differ.append(part)
    return differ


def main() -> None:
    parser = server_parser(__doc__)  # no model options: this script trains nothing
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("guide_era_project"),
        help="the old project folder to create: ./mlruns and, migrated, ./mlflow.db (default: %(default)s)",
    )
    parser.add_argument(
        "--replace", action="store_true", help="remove this script's earlier output in --folder first (default: off)"
    )
    args = parser.parse_args()
    folder = args.folder.resolve()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a few tiny files: no progress bars

    # The guide's world: a ./mlruns folder written by MLflow 2.10.2
    mlruns = unpack_guide_era_store(folder, args.replace)
    print(f"unpacked {FIXTURE.name} into {mlruns}")

    # The file store wrote absolute paths; this copy moved, so point them here (as you would after `mv`)
    old, changed = relocate(mlruns)
    print(f"artifact paths in {changed} meta.yaml files: {old}/... -> {mlruns.as_uri()}/...")

    # MLflow 3 refuses the file store without the opt-in ...
    os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)  # as in a fresh shell
    print(f"\n>>> MlflowClient(tracking_uri={mlruns.as_uri()!r}).search_experiments()")
    try:
        MlflowClient(tracking_uri=mlruns.as_uri()).search_experiments()
        print("opened without the opt-in (this MLflow predates the refusal)")
    except MlflowException as refusal:
        print(f"refused: {refusal.message}")

    # ... and opens it with MLFLOW_ALLOW_FILE_STORE=true (MLflow 2.x: no setting needed)
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    print("\n>>> os.environ['MLFLOW_ALLOW_FILE_STORE'] = 'true'  # what the file store holds:")
    before = snapshot(MlflowClient(tracking_uri=mlruns.as_uri()))
    show(before)
    del os.environ["MLFLOW_ALLOW_FILE_STORE"]  # neither the migration nor SQLite needs it

    # Migrate: run in the project folder, the command reads ./mlruns and writes ./mlflow.db
    command = ["migrate-filestore", "--source", ".", "--target", "sqlite:///mlflow.db"]
    print(f"\n$ cd {shlex.quote(str(folder))} && mlflow {shlex.join(command)}", flush=True)
    done = subprocess.run([str(MLFLOW), *command], cwd=folder, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    print(done.stdout.rstrip())
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"`mlflow migrate-filestore` failed (exit {done.returncode}): {last}")

    # Read everything back from SQLite and compare
    target = f"sqlite:///{folder / 'mlflow.db'}"
    print(f"\n>>> MlflowClient(tracking_uri={target!r})  # what the SQLite store holds:")
    after = snapshot(MlflowClient(tracking_uri=target))
    show(after)
    differ = compare(before, after)
    if differ:
        raise UserError(f"the migrated store differs from the file store in: {', '.join(differ)}")
    runs = sum(len(experiment["runs"]) for experiment in after.values())
    print(
        f"\nsame experiments, runs, params, metric histories, tags and artifacts: {len(after)} experiments, {runs} runs"
    )

    # Where things are now, and how to look at them
    print(f"\nmetadata: {folder / 'mlflow.db'}; artifacts: still in {mlruns} (keep it)")
    print("look at it (a bare `mlflow ui` there would still pick ./mlruns, which holds experiments):")
    print(f"  cd {shlex.quote(str(folder))} && mlflow ui --backend-store-uri sqlite:///mlflow.db")


if __name__ == "__main__":
    run_example(main)
