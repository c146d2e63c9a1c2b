"""The guide's four tracking scenarios: same training, four places where it lands.

One ElasticNet is trained once and logged four times, each time against a
different setup from the guide's "Tracking Server" section, and the script
prints where the run's metadata and the model's artifacts ended up on disk:

1. library + file store: no server; ``./mlruns`` holds metadata *and*
   artifacts (MLflow 3 refuses it unless ``MLFLOW_ALLOW_FILE_STORE=true``).
2. library + SQLite: no server; metadata in ``mlflow.db``, artifacts in a folder.
3. local tracking server: the client talks REST to ``mlflow server``, which
   keeps metadata in SQLite and proxies the artifacts into its own folder.
4. remote-style server: the server only tracks metadata (a separate database)
   and clients write artifacts *directly* to the artifact store
   (``--no-serve-artifacts``), as in the guide's PostgreSQL + S3 command.
   Here a second SQLite file and a folder stand in for them unless
   ``--postgres-uri`` / ``--s3`` are given (chapter 14 runs the real thing).

Everything goes under ``--dir`` (default ``./four-scenarios``). The servers of
scenarios 3 and 4 listen on ``--port`` (checked first; default: a free one).

    python examples/12_tracking_server/four_scenarios.py --dir ./four-scenarios
"""

import os
import shlex
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import add_port_option
from winelab.servers import NO_JOB_RUNNER, background, claim_port, stop_on_signals
from winelab.tracking import chapter_tags, pip_requirements


def on_disk(uri: str, proxied_root: Path | None = None) -> str:
    """Where an artifact URI lives: a local path for file:/ and proxied mlflow-artifacts:/ URIs."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        return unquote(parsed.path)
    if parsed.scheme == "mlflow-artifacts" and proxied_root is not None:
        return str(proxied_root / unquote(parsed.path).lstrip("/"))
    return uri  # remote (s3://...): not on this disk


def log_training(tracking_uri: str, experiment_name: str, trained: dict, artifact_location: str | None = None):
    """The same logging code for every scenario: only the tracking URI changes."""
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        # Tagged with this chapter ({"chapter": "12_tracking_server", ...}), to filter by chapter in the UI.
        tags = chapter_tags(__file__)
        experiment_id = mlflow.create_experiment(experiment_name, artifact_location=artifact_location, tags=tags)
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(trained["params"])
        mlflow.log_metrics(trained["metrics"])
        model_info = mlflow.sklearn.log_model(
            sk_model=trained["model"],
            name="wine_model",
            signature=trained["signature"],
            input_example=trained["input_example"],
            pip_requirements=pip_requirements(),  # explicit pins: skips a slow inference step
        )
    # MLflow 3: a model is a LoggedModel with its own artifact location (not under the run's artifacts).
    logged_model = mlflow.get_logged_model(model_info.model_id)
    return run, logged_model


def report(number: int, title: str, tracking_uri: str, metadata: str, note: str, artifacts: str) -> None:
    print(f"scenario {number}: {title}")
    print(f"  tracking URI: {tracking_uri}")
    print(f"  metadata:  {metadata}  ({note})")
    folder = Path(artifacts)
    files = ", ".join(sorted(path.name for path in folder.iterdir())) if folder.is_dir() else "in the artifact store"
    print(f"  artifacts: {artifacts}  (the model's files: {files})")


def show(command: list[str], hide: str | None = None) -> None:
    """Print the command a learner would type (with the job-runner setting, and a password masked)."""
    text = shlex.join([*(f"{key}={value}" for key, value in NO_JOB_RUNNER.items()), *command])
    print("$ " + (text.replace(hide, "***") if hide else text))


# 1. Library + file store: metadata and artifacts side by side under ./mlruns
def library_file_store(base: Path, args, trained: dict) -> None:
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # MLflow 3.13+ refuses the file store without this opt-in
    mlruns = base / "scenario1" / "mlruns"
    uri = mlruns.as_uri()
    run, logged_model = log_training(uri, args.experiment_name, trained)
    report(
        1,
        "library + file store",
        uri,
        str(mlruns / run.info.experiment_id / run.info.run_id),
        "meta.yaml, params/, metrics/ of the run",
        on_disk(logged_model.artifact_location),
    )


# 2. Library + SQLite: metadata in one database file, artifacts in a folder we name
def library_sqlite(base: Path, args, trained: dict) -> None:
    database = base / "scenario2" / "mlflow.db"
    database.parent.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{database}"
    # Without artifact_location, artifacts would go to ./mlruns of the current folder.
    artifact_root = (base / "scenario2" / "artifacts").as_uri()
    run, logged_model = log_training(uri, args.experiment_name, trained, artifact_location=artifact_root)
    report(
        2,
        "library + SQLite",
        uri,
        str(database),
        f"SQLite tables runs, params, metrics; run_uuid={run.info.run_id}",
        on_disk(logged_model.artifact_location),
    )


# 3. Local tracking server: REST to `mlflow server`, SQLite behind it, artifacts proxied
def local_server(base: Path, args, trained: dict) -> None:
    workdir = base / "scenario3"
    server_command = [
        "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(args.port),
        "--workers", "1",
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "mlartifacts"),
    ]  # fmt: skip
    show(server_command)
    with background("mlflow server", server_command, port=args.port, workdir=workdir, env=NO_JOB_RUNNER) as server:
        run, logged_model = log_training(server.url, args.experiment_name, trained)
    report(
        3,
        "local tracking server (SQLite + proxied artifacts)",
        server.url,
        str(workdir / "mlflow.db"),
        f"the server's SQLite; run_uuid={run.info.run_id}",
        on_disk(logged_model.artifact_location, proxied_root=workdir / "mlartifacts"),
    )


# 4. Remote-style: the server tracks metadata in its own database; clients write
# artifacts straight to the artifact store (the guide's --no-serve-artifacts command)
def remote_style_server(base: Path, args, trained: dict) -> None:
    workdir = base / "scenario4"
    metadata_db = workdir / "metadata-db" / "mlflow.db"
    metadata_db.parent.mkdir(parents=True, exist_ok=True)
    backend = args.postgres_uri or f"sqlite:///{metadata_db}"
    artifact_root = args.s3 or (workdir / "artifact-store").as_uri()
    server_command = [
        "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(args.port),
        "--workers", "1",
        "--backend-store-uri", backend,
        "--no-serve-artifacts",
        "--default-artifact-root", artifact_root,
    ]  # fmt: skip
    password = urlparse(backend).password
    show(server_command, hide=password)
    with background("mlflow server", server_command, port=args.port, workdir=workdir, env=NO_JOB_RUNNER) as server:
        run, logged_model = log_training(server.url, args.experiment_name, trained)
    report(
        4,
        "remote-style server (separate metadata DB, clients write artifacts directly)",
        server.url,
        backend.replace(password, "***") if password else str(metadata_db),
        f"the server's own database; run_uuid={run.info.run_id}",
        on_disk(logged_model.artifact_location),
    )


SCENARIOS = {1: library_file_store, 2: library_sqlite, 3: local_server, 4: remote_style_server}


def main() -> None:
    parser = example_parser(__doc__, experiment="four_scenarios")
    parser.add_argument("--dir", default="four-scenarios", help="folder for all four stores (default: %(default)s)")
    parser.add_argument(
        "--postgres-uri", default=None, help="scenario 4's backend store, e.g. postgresql://user:pw@host:5432/mlflowdb"
    )
    parser.add_argument("--s3", default=None, help="scenario 4's artifact root, e.g. s3://bucket/mlflow")
    parser.add_argument(
        "--scenarios",
        type=int,
        nargs="+",
        choices=(1, 2, 3, 4),
        default=[1, 2, 3, 4],
        help="which scenarios to run (default: all)",
    )
    add_port_option(parser, "the servers of scenarios 3 and 4")
    args = parser.parse_args()
    if {3, 4} & set(args.scenarios):
        args.port = claim_port(args.port)  # a taken port stops us here, before any training
    stop_on_signals()  # Ctrl-C and a plain `kill` both stop a running scenario's server
    base = Path(args.dir).resolve()
    base.mkdir(parents=True, exist_ok=True)

    # Train once, outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    trained = {
        "model": model,
        "params": {"alpha": args.alpha, "l1_ratio": args.l1_ratio},
        "metrics": regression_metrics(test_y, model.predict(test_x)),
        "signature": infer_signature(train_x, model.predict(train_x)),
        "input_example": train_x.head(2),
    }

    # The same logging code, four times, against the four setups
    for number in sorted(set(args.scenarios)):
        SCENARIOS[number](base, args, trained)


if __name__ == "__main__":
    run_example(main)
