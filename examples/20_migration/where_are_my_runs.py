"""Where are my runs? The store scripts log to, the store `mlflow ui` reads, and what each holds.

"My runs don't show in the UI" nearly always means the script logged into one
store and the UI reads another. The rules (MLflow 3.17):

* A script (``mlflow.start_run()`` ...) logs to ``mlflow.set_tracking_uri(...)``
  if it calls it, else to ``$MLFLOW_TRACKING_URI``, else, relative to the folder
  it is started from: ``./mlruns`` if that folder holds experiments (a guide-era
  file store, refused unless ``MLFLOW_ALLOW_FILE_STORE=true``), otherwise
  ``sqlite:///mlflow.db`` (MLflow 3.7+; before that, always ``./mlruns``).
* ``mlflow ui`` (``mlflow server`` by another name) reads ``--backend-store-uri``,
  else ``$MLFLOW_BACKEND_STORE_URI``, else the same default in the folder it is
  started from. It never reads ``MLFLOW_TRACKING_URI``.

For ``--folder`` the script prints both answers, the experiments and runs of
every store it finds there (``mlruns/`` and MLflow ``*.db`` files in the folder
and its subfolders, plus ``$MLFLOW_TRACKING_URI``'s), and what to type when the
two differ. It creates nothing: a store that does not exist yet is said to be so.

    python examples/20_migration/where_are_my_runs.py --folder .
"""

import argparse
import os
import sqlite3
import sys
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

SHOWN_EXPERIMENTS = 8  # per store


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--folder", type=Path, default=Path("."), help="where you run scripts and `mlflow ui` (default: .)"
    )
    return parser.parse_args()


def holds_experiments(mlruns: Path) -> bool:
    """MLflow's own test for "./mlruns is in use": a numbered folder with a meta.yaml."""
    return mlruns.is_dir() and any((entry / "meta.yaml").exists() for entry in mlruns.iterdir() if entry.name.isdigit())


def default_store(folder: Path) -> tuple[str, str]:
    """(URI, why) of the store used when no URI is given, for a process started in ``folder``."""
    if holds_experiments(folder / "mlruns"):
        return str(folder / "mlruns"), "default: ./mlruns holds experiments, so MLflow keeps using it"
    return f"sqlite:///{folder / 'mlflow.db'}", "default since MLflow 3.7: sqlite:///mlflow.db in that folder"


def absolute(uri: str, folder: Path) -> str:
    """A local URI as a process started in ``folder`` reads it (relative paths resolve there)."""
    if uri.startswith("sqlite:///"):
        return f"sqlite:///{folder / uri.removeprefix('sqlite:///')}"  # an absolute path stays absolute
    if uri.startswith("file://"):
        return uri
    if "://" not in uri:
        return str(folder / uri)
    return uri


def local_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    return None if "://" in uri else Path(uri)


def is_file_store(uri: str) -> bool:
    return uri.startswith("file://") or "://" not in uri


def is_mlflow_sqlite(path: Path) -> bool:
    """Read-only peek: does this SQLite file hold MLflow's tables? (MLflow would create them in any other file.)"""
    try:
        with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        return False
    return {"experiments", "runs"} <= tables


def contents(uri: str) -> list[str]:
    """What a store holds, as report lines; never creates a store."""
    path = local_path(uri)
    if path is not None and not path.exists():
        return ["does not exist yet (the first run logged there creates it)"]
    if path is not None and uri.startswith("sqlite:") and not is_mlflow_sqlite(path):
        return ["not an MLflow store"]
    opt_in = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    if is_file_store(uri):
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # just to look: a file store opens only with the opt-in
    try:
        client = MlflowClient(tracking_uri=uri)
        experiments = client.search_experiments(view_type=ViewType.ALL)
        counts = {experiment.name: count_runs(client, experiment.experiment_id) for experiment in experiments}
    except MlflowException as exc:
        if path is None:
            raise  # a server's problem: stop with its message
        return [f"cannot be opened: {exc.message.splitlines()[0]}"]
    finally:
        if is_file_store(uri):
            restore(opt_in)
    lines = [f"{len(counts)} experiments, {sum(counts.values())} runs"]
    if is_file_store(uri):
        lines[0] += " (a file store: MLflow 3 opens it only with MLFLOW_ALLOW_FILE_STORE=true)"
    busiest = sorted(counts.items(), key=lambda item: -item[1])[:SHOWN_EXPERIMENTS]
    lines += [f"experiment {name!r}: {runs} runs" for name, runs in busiest]
    return lines


def restore(opt_in: str | None) -> None:
    """Put the file-store opt-in back as the user had it."""
    if opt_in is None:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
    else:
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = opt_in


def count_runs(client: MlflowClient, experiment_id: str) -> int:
    total, token = 0, None
    while True:
        page = client.search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=1000, page_token=token)
        total += len(page)
        token = page.token
        if not token:
            return total


def named_or_default(variable: str, folder: Path) -> tuple[str, str]:
    """The store the environment ``variable`` names (made absolute), else the default in ``folder``: (URI, why)."""
    value = os.environ.get(variable)
    return (absolute(value, folder), f"from ${variable}") if value else default_store(folder)


def stores_in(folder: Path) -> list[str]:
    """``mlruns`` folders holding experiments and MLflow ``*.db`` files, in ``folder`` and its subfolders."""
    found = []
    for place in [folder, *sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))]:
        if holds_experiments(place / "mlruns"):
            found.append(str(place / "mlruns"))
        found += [f"sqlite:///{db}" for db in sorted(place.glob("*.db")) if is_mlflow_sqlite(db)]
    return found


def main():
    args = parse_args()
    folder = args.folder.resolve()
    if not folder.is_dir():
        raise NotADirectoryError(f"--folder {args.folder}: no such folder")
    print(f"folder: {folder}")

    # Where a script started in this folder logs (the Python API's rules)
    logs_to, why = named_or_default("MLFLOW_TRACKING_URI", folder)
    print(f"\nscripts started here log to: {logs_to}\n  ({why})")

    # What `mlflow ui` / `mlflow server` started in this folder reads (not MLFLOW_TRACKING_URI!)
    ui_reads, ui_why = named_or_default("MLFLOW_BACKEND_STORE_URI", folder)
    print(f"`mlflow ui` started here reads: {ui_reads}\n  ({ui_why}; it ignores MLFLOW_TRACKING_URI)")

    # The advice
    if ui_reads == logs_to:
        print("\nverdict: the same store")
    elif logs_to.startswith(("http://", "https://")):
        print(f"\nverdict: your runs are on a tracking server: open {logs_to} in a browser (no `mlflow ui` needed)")
    else:
        print(f"\nverdict: different stores; to see your runs: mlflow ui --backend-store-uri {logs_to}")
    mlruns = folder / "mlruns"
    if str(mlruns) in (ui_reads, logs_to):
        print("note: ./mlruns is a guide-era file store, which MLflow 3 opens only with MLFLOW_ALLOW_FILE_STORE=true.")
        if (folder / "mlflow.db").exists():
            print(
                "  ./mlflow.db is here too (migrated?): name it, as ./mlruns wins the default while it holds runs:\n"
                "  MLFLOW_TRACKING_URI=sqlite:///mlflow.db for scripts, mlflow ui --backend-store-uri sqlite:///mlflow.db"
            )
        else:
            print(
                "  migrate it: mlflow migrate-filestore --source . --target sqlite:///mlflow.db (see migrate_store.py)"
            )

    # Every store in sight, and what it holds (the tracking URI's last: a server may be down)
    print("\nstores:")
    local = [uri for uri in dict.fromkeys([*stores_in(folder), ui_reads, logs_to]) if local_path(uri) is not None]
    remote = [] if local_path(logs_to) is not None else [logs_to]
    for uri in [*local, *remote]:
        lines = contents(uri)
        print(f"  {uri}: {lines[0]}")
        for line in lines[1:]:
            print(f"    {line}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, MlflowException) as exc:  # no such --folder; the tracking server is down
        sys.exit(f"error: {exc}")
