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

import argparse
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

# The committed store, found next to this script (so a copied chapter folder still has it)
TARBALL = Path(__file__).resolve().parent / "guide_era" / "mlruns-2.10.2.tar.gz"
OURS = {"mlruns", "mlflow.db", "mlflow.db-wal", "mlflow.db-shm", "mlflow.db-journal"}  # what --replace may remove
RUN_FIELDS = (
    "experiment_id",
    "run_name",
    "status",
    "lifecycle_stage",
    "start_time",
    "end_time",
    "user_id",
    "artifact_uri",
)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--folder",
        type=Path,
        default=Path("guide_era_project"),
        help="the old project folder to create (default: %(default)s)",
    )
    parser.add_argument("--replace", action="store_true", help="remove this script's earlier output in --folder first")
    return parser.parse_args()


def unpack_guide_era_store(folder: Path, replace: bool) -> Path:
    """``<folder>/mlruns``: a fresh copy of the committed MLflow 2.10.2 store."""
    if folder.exists() and any(folder.iterdir()):
        leftovers = {path.name for path in folder.iterdir()}
        if not replace:
            raise FileExistsError(f"{folder} is not empty: remove it, pass --replace, or choose another --folder")
        if not leftovers <= OURS:
            raise FileExistsError(
                f"--replace removes only this script's output, but {folder} holds {sorted(leftovers - OURS)}"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(TARBALL) as archive:
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


def snapshot(client: MlflowClient) -> tuple[dict, dict]:
    """Everything the lesson compares, as plain data: ({experiment name: ...}, {run id: ...})."""
    found = client.search_experiments(view_type=ViewType.ALL)
    experiments = {e.name: (e.experiment_id, e.lifecycle_stage, e.artifact_location, e.tags) for e in found}
    runs = {}
    for run in client.search_runs([e.experiment_id for e in found], run_view_type=ViewType.ALL, max_results=1000):
        run_id, artifact_uri = run.info.run_id, run.info.artifact_uri
        runs[run_id] = {
            "info": {field: getattr(run.info, field) for field in RUN_FIELDS},
            "params": run.data.params,
            "tags": run.data.tags,
            # Every logged value, not just the latest one run.data.metrics holds
            "metrics": {
                key: sorted((m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, key))
                for key in run.data.metrics
            },
            "artifacts": {
                path: mlflow.artifacts.load_text(f"{artifact_uri}/{path}") for path in artifact_files(client, run_id)
            },
        }
    return experiments, runs


def artifact_files(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    files = []
    for entry in client.list_artifacts(run_id, path):
        files.extend(artifact_files(client, run_id, entry.path) if entry.is_dir else [entry.path])
    return files


def show(experiments: dict, runs: dict) -> None:
    for name, (experiment_id, _, _, tags) in experiments.items():
        print(f"  experiment {name!r} (id {experiment_id}), tags {tags}")
    for run_id, run in runs.items():
        info = run["info"]
        metrics = ", ".join(f"{key}: {len(points)} step(s)" for key, points in run["metrics"].items())
        print(f"    run {info['run_name']!r} {run_id[:8]} {info['status']} ({info['lifecycle_stage']})")
        print(f"      params {run['params']}; metrics {metrics or '-'}; artifacts {sorted(run['artifacts']) or '-'}")


def differences(before: tuple[dict, dict], after: tuple[dict, dict]) -> list[str]:
    """The kinds of records that differ between the two snapshots (empty: the migration kept everything)."""
    (experiments_before, runs_before), (experiments_after, runs_after) = before, after
    if runs_before.keys() != runs_after.keys():
        return ["runs"]
    differ = ["experiments"] if experiments_before != experiments_after else []
    for part in ("info", "params", "metrics", "tags", "artifacts"):
        if any(runs_before[run_id][part] != runs_after[run_id][part] for run_id in runs_before):
            differ.append(part)
    return differ


def main():
    args = parse_args()
    folder = args.folder.resolve()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a few tiny files: no progress bars

    # The guide's world: a ./mlruns folder written by MLflow 2.10.2
    mlruns = unpack_guide_era_store(folder, args.replace)
    print(f"unpacked {TARBALL.name} into {mlruns}")

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
    show(*before)
    del os.environ["MLFLOW_ALLOW_FILE_STORE"]  # neither the migration nor SQLite needs it

    # Migrate: run in the project folder, the command reads ./mlruns and writes ./mlflow.db
    command = ["migrate-filestore", "--source", ".", "--target", "sqlite:///mlflow.db"]
    print(f"\n$ cd {shlex.quote(str(folder))} && mlflow {shlex.join(command)}", flush=True)
    # `python -m mlflow` is the `mlflow` command of this script's Python
    done = subprocess.run([sys.executable, "-m", "mlflow", *command], cwd=folder, capture_output=True, text=True)
    print(done.stdout.rstrip())
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        sys.exit(f"error: `mlflow migrate-filestore` failed (exit {done.returncode}): {last}")

    # Read everything back from SQLite and compare
    target = f"sqlite:///{folder / 'mlflow.db'}"
    print(f"\n>>> MlflowClient(tracking_uri={target!r})  # what the SQLite store holds:")
    after = snapshot(MlflowClient(tracking_uri=target))
    show(*after)
    differ = differences(before, after)
    if differ:
        sys.exit(f"error: the migrated store differs from the file store in: {', '.join(differ)}")
    summary = f"{len(after[0])} experiments, {len(after[1])} runs"
    print(f"\nsame experiments, runs, params, metric histories, tags and artifacts: {summary}")

    # Where things are now, and how to look at them
    print(f"\nmetadata: {folder / 'mlflow.db'}; artifacts: still in {mlruns} (keep it)")
    print("look at it (a bare `mlflow ui` there would still pick ./mlruns, which holds experiments):")
    print(f"  cd {shlex.quote(str(folder))} && mlflow ui --backend-store-uri sqlite:///mlflow.db")


if __name__ == "__main__":
    try:
        main()
    except (OSError, MlflowException) as exc:  # --folder not empty or not writable; a store MLflow cannot read
        sys.exit(f"error: {exc}")
