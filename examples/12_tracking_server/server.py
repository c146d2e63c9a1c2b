"""Start a local MLflow tracking server with one command.

The guide's scenario 3: ``mlflow server`` on 127.0.0.1 keeps the metadata
(experiments, runs, params, metrics, registered models) in a SQLite database
and *proxies* the artifacts: clients upload and download them through the
server's REST API (``mlflow-artifacts:/`` URIs) and the server writes them to
a local folder. Clients only need the server's URL.

The script waits until the server answers ``/health``, prints its URL and the
``export MLFLOW_TRACKING_URI=...`` line for other terminals, and stops the
server (and everything it forked) on Ctrl-C or SIGTERM. With ``--run`` it
runs one command against the server and then stops it.

    python examples/12_tracking_server/server.py                  # until Ctrl-C
    python examples/12_tracking_server/server.py --port 5000 --dir ./tracking
    python examples/12_tracking_server/server.py --run -- python examples/01_tracking/basic_regression_mlflow.py
"""

import os
import shlex
from pathlib import Path

from winelab import run_example
from winelab.servers import (
    add_server_options,
    command_from_argv,
    free_port,
    mlflow_server,
    mlflow_server_command,
    raise_on_sigterm,
    run_or_wait,
    server_parser,
)


def main() -> int:
    parser = server_parser(__doc__)
    add_server_options(parser, default_dir="mlflow-server")
    args, command = command_from_argv(parser)

    # %% Where the server keeps things: metadata in SQLite, artifacts in a plain folder
    workdir = Path(args.dir).resolve()
    backend_store_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    artifacts_destination = workdir / "mlartifacts"
    port = args.port or free_port()

    # %% The command a learner would type (the guide used --default-artifact-root; since
    # MLflow 2.0 the server proxies artifacts by default and --artifacts-destination says where)
    server_command = mlflow_server_command(
        port, backend_store_uri=backend_store_uri, artifacts_destination=str(artifacts_destination)
    )
    # MLflow 3's server also starts a job runner for GenAI features (a handful of extra Python
    # processes); tracking does not need it, so it stays off unless you set the variable yourself.
    jobs = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": os.environ.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")}
    print("$ " + shlex.join([*(f"{key}={value}" for key, value in jobs.items()), "mlflow", *server_command[1:]]))

    # %% Start it, wait for /health, and stop it as a whole process group on Ctrl-C / SIGTERM
    raise_on_sigterm()
    with mlflow_server(
        workdir,
        port=port,
        backend_store_uri=backend_store_uri,
        artifacts_destination=str(artifacts_destination),
        env=jobs,
    ) as server:
        print(f"MLflow tracking server ready at {server.url} (pid {server.process.pid}); UI: open it in a browser")
        print(f"  metadata:  {backend_store_uri}")
        print(f"  artifacts: {artifacts_destination} (clients see mlflow-artifacts:/ URIs)")
        print(f"  log:       {server.log}")
        print("In another terminal:")
        print(f"  export MLFLOW_TRACKING_URI={server.url}")
        status = run_or_wait(server, command, "MLFLOW_TRACKING_URI", seconds=args.seconds)
    print("server stopped")
    return status


if __name__ == "__main__":
    run_example(main)
