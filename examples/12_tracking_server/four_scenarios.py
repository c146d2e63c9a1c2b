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
scenarios 3 and 4 run in the background, one after the other, on ``--port``
(checked first; default: a free one), and are stopped when their scenario ends.

    python examples/12_tracking_server/four_scenarios.py --dir ./four-scenarios
"""

import argparse
import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote, urlparse

import mlflow
import mlflow.sklearn
import pandas as pd
import requests
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def port_number(text):
    if not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be 1-65535, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="four_scenarios", help="(default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--dir", default="four-scenarios", help="folder for all four stores (default: %(default)s)")
    parser.add_argument("--postgres-uri", help="scenario 4's backend store, e.g. postgresql://user:pw@host:5432/db")
    parser.add_argument("--s3", help="scenario 4's artifact root, e.g. s3://bucket/mlflow")
    parser.add_argument("--scenarios", type=int, nargs="+", choices=(1, 2, 3, 4), default=[1, 2, 3, 4],
                        help="which scenarios to run (default: all)")  # fmt: skip
    parser.add_argument(
        "--port", type=port_number, help="port of the servers of scenarios 3 and 4 (default: a free one)"
    )
    return parser.parse_args()


def claim_port(port):
    """``port`` if nothing listens there (None: a free one the OS picks), before anything starts."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind(("127.0.0.1", port or 0))
        except OSError:
            raise OSError(f"port {port} on 127.0.0.1 is already in use by another program; "
                          "choose another with --port, or leave --port out to get a free one") from None  # fmt: skip
        return sock.getsockname()[1]


@contextlib.contextmanager
def mlflow_server(options: list[str], port: int, workdir: Path, hide: str | None = None):
    """``mlflow server <options>`` in the background until the block ends; yields its URL."""
    command = ["mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1", *options]
    shown = "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false " + shlex.join(command)  # as you would type it (and then &)
    print("$ " + (shown.replace(hide, "***") if hide else shown))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"mlflow-server-{port}.log"
    # `python -m mlflow` is this Python's `mlflow` command; the job runner is for GenAI features, not tracking.
    server = subprocess.Popen(
        [sys.executable, "-m", *command],
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the server and the uvicorn it starts stop together
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not ok(url + "/health"):  # the server answers once its database is ready
            if server.poll() is not None or time.monotonic() > deadline:
                raise OSError(f"mlflow server did not start on {url}; see {log}")
            time.sleep(0.25)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # like `kill %1` in a shell
        server.wait(timeout=30)


def ok(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.ConnectionError:
        return False


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
        experiment_id = mlflow.create_experiment(experiment_name, artifact_location=artifact_location)
    else:
        experiment_id = experiment.experiment_id
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(trained["params"])
        mlflow.log_metrics(trained["metrics"])
        # MLflow 2.x: log_model(sk_model, artifact_path="wine_model"); 3.x names the model instead.
        model_info = mlflow.sklearn.log_model(
            sk_model=trained["model"],
            name="wine_model",
            signature=trained["signature"],
            input_example=trained["input_example"],
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
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
    options = [
        "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination", str(workdir / "mlartifacts"),
    ]  # fmt: skip
    with mlflow_server(options, args.port, workdir) as url:
        run, logged_model = log_training(url, args.experiment_name, trained)
    report(
        3,
        "local tracking server (SQLite + proxied artifacts)",
        url,
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
    options = ["--backend-store-uri", backend, "--no-serve-artifacts", "--default-artifact-root", artifact_root]
    password = urlparse(backend).password  # not printed
    with mlflow_server(options, args.port, workdir, hide=password) as url:
        run, logged_model = log_training(url, args.experiment_name, trained)
    report(
        4,
        "remote-style server (separate metadata DB, clients write artifacts directly)",
        url,
        backend.replace(password, "***") if password else str(metadata_db),
        f"the server's own database; run_uuid={run.info.run_id}",
        on_disk(logged_model.artifact_location),
    )


SCENARIOS = {1: library_file_store, 2: library_sqlite, 3: local_server, 4: remote_style_server}


def main():
    args = parse_args()
    if {3, 4} & set(args.scenarios):
        args.port = claim_port(args.port)  # a taken port stops us here, before any training
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # a plain `kill` stops the servers as Ctrl-C does

    # Train once, outside any run: 1,599 wines, 11 measurements and the quality score
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    trained = {
        "model": model,
        "params": {"alpha": args.alpha, "l1_ratio": args.l1_ratio},
        "metrics": {
            "rmse": root_mean_squared_error(test_y, predicted),
            "mae": mean_absolute_error(test_y, predicted),
            "r2": r2_score(test_y, predicted),
        },
        "signature": infer_signature(train_x, model.predict(train_x)),
        "input_example": train_x.head(2),
    }

    # The same logging code, four times, against the four setups
    base = Path(args.dir).resolve()
    for number in sorted(set(args.scenarios)):
        SCENARIOS[number](base, args, trained)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C or `kill`: the running scenario's server was stopped on the way out
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # a taken port, no data file, a bad --alpha
        sys.exit(f"error: {exc}")
