"""Start a local MLflow tracking server with one command.

The guide's scenario 3: ``mlflow server`` on 127.0.0.1 keeps the metadata
(experiments, runs, params, metrics, registered models) in a SQLite database
and *proxies* the artifacts: clients upload and download them through the
server's REST API (``mlflow-artifacts:/`` URIs) and the server writes them to
a local folder. Clients only need the server's URL.

The script first checks that ``--port`` is free (leave it out for a free one),
then starts the server and waits until *it* answers ``/health``, prints its URL
and the ``export MLFLOW_TRACKING_URI=...`` line for other terminals, and stops
the server (and everything it forked) on Ctrl-C or SIGTERM. With ``--run`` it
runs one command against the server and then stops it.

    python examples/12_tracking_server/server.py                  # until Ctrl-C
    python examples/12_tracking_server/server.py --port 5000 --dir ./tracking
    python examples/12_tracking_server/server.py --run -- python examples/01_tracking/basic_regression_mlflow.py
"""

import shlex
from pathlib import Path

from winelab.cli import add_server_options, command_from_argv, run_example, server_parser
from winelab.servers import NO_JOB_RUNNER, background, claim_port, run_or_wait, stop_on_signals


def main() -> int:
    parser = server_parser(__doc__)
    add_server_options(parser, default_dir="mlflow-server")
    args, command = command_from_argv(parser)
    port = claim_port(args.port)  # a taken port stops us here, before anything starts
    stop_on_signals()  # Ctrl-C and a plain `kill` both stop the server below

    # Where the server keeps things: metadata in SQLite, artifacts in a plain folder
    workdir = Path(args.dir).resolve()
    backend_store_uri = f"sqlite:///{workdir / 'mlflow.db'}"
    artifacts_destination = workdir / "mlartifacts"

    # The command a learner would type. The guide used --default-artifact-root; since
    # MLflow 2.0 the server proxies artifacts by default and --artifacts-destination says where.
    server_command = [
        "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--backend-store-uri", backend_store_uri,
        "--artifacts-destination", str(artifacts_destination),
    ]  # fmt: skip
    # NO_JOB_RUNNER: MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false, no GenAI job runner (tracking does not need it).
    print("$ " + shlex.join([*(f"{key}={value}" for key, value in NO_JOB_RUNNER.items()), *server_command]))

    # Start it, wait until it answers /health on its port, stop its whole process group at the end
    with background("mlflow server", server_command, port=port, workdir=workdir, env=NO_JOB_RUNNER) as server:
        print(f"MLflow tracking server ready at {server.url} (pid {server.process.pid}); UI: open it in a browser")
        print(f"  metadata:  {backend_store_uri}")
        print(f"  artifacts: {artifacts_destination} (clients see mlflow-artifacts:/ URIs)")
        print(f"  log:       {server.log}")
        print("In another terminal:")
        print(f"  export MLFLOW_TRACKING_URI={server.url}")
        status = run_or_wait(server, command, {"MLFLOW_TRACKING_URI": server.url}, seconds=args.seconds)
    print("server stopped")
    return status


if __name__ == "__main__":
    run_example(main)
