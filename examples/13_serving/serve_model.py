"""Serve a registered model over REST with ``mlflow models serve``.

Trains the wine ElasticNet, logs it, registers it (a new version of
``--model-name``) and points the alias ``--alias`` at that version.
Then it serves ``models:/<name>@<alias>`` on 127.0.0.1: MLflow's scoring
server answers ``GET /ping``, ``GET /version`` and ``POST /invocations``
(JSON or CSV rows in, ``{"predictions": [...]}`` out). Query it with
``client.py``; Ctrl-C (or SIGTERM) stops it. ``--port`` is checked first,
before any training (leave it out for a free one).

``--env-manager local`` serves from this Python environment; MLflow's default
(``virtualenv``) would first build a fresh environment from the model's
``requirements.txt``. ``--model-uri`` serves an existing model instead of
training one: a registered version (``models:/wine-serving/1``), an alias
(``models:/wine-serving@champion``) or a logged model (``models:/m-<model id>``).

A launcher: it starts and stops the server with the project's process control
(``winelab.servers``); the chapter's README shows the same by hand.

    python examples/13_serving/serve_model.py --port 5001
    python examples/13_serving/serve_model.py --run -- python examples/13_serving/client.py
"""

import os
import shlex
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from winelab.cli import add_server_options, command_from_argv, fraction, non_negative_float, run_example, server_parser
from winelab.errors import UserError
from winelab.servers import background, claim_port, run_or_wait, stop_on_signals

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def register_model(args) -> str:
    """Train, log and register one model version; point the alias at it. Returns ``models:/name@alias``."""
    try:
        wine = pd.read_csv(args.data, sep=";")
    except OSError as exc:
        raise UserError(f"cannot read {args.data}: {exc}") from None
    if "quality" not in wine.columns:
        raise UserError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        # The signature is what the scoring server checks every request against.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            registered_model_name=args.model_name,
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
    number = model_info.registered_model_version
    # MLflow 2.x stages (transition_model_version_stage(..., "Production")) are deprecated: aliases replace them.
    MlflowClient().set_registered_model_alias(args.model_name, args.alias, number)
    print(f"run {run.info.run_id}: rmse={metrics['rmse']:.4f}")
    print(f"registered {args.model_name} version {number}; alias @{args.alias} -> version {number}")
    return f"models:/{args.model_name}@{args.alias}"


def main() -> int:
    parser = server_parser(__doc__)
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="serving", help="(default: %(default)s)")
    parser.add_argument("--alpha", type=non_negative_float, default=0.7, help="regularisation, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=fraction, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--model-name", default="wine-serving", help="registry name (default: %(default)s)")
    parser.add_argument("--alias", default="champion", help="alias to point at the new version (default: %(default)s)")
    parser.add_argument("--model-uri", default=None, help="serve this model instead of training and registering one")
    add_server_options(parser)
    args, command = command_from_argv(parser)
    port = claim_port(args.port)  # a taken port stops us here, before training or registering anything
    stop_on_signals()  # Ctrl-C and a plain `kill` both stop the model server below

    # A model to serve: an existing URI, or a freshly registered version behind an alias
    model_uri = args.model_uri or register_model(args)

    # The scoring server: `mlflow models serve` (resolves models:/ URIs through the tracking URI)
    serve_command = [
        "mlflow", "models", "serve",
        "--model-uri", model_uri,
        "--env-manager", "local",  # this Python environment; MLflow's default builds a virtualenv first
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip
    print("$ " + shlex.join(serve_command))
    tracking = {"MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}  # also when it came from the default
    # Ready when /ping answers from the process just started (not from another program on the port).
    with background(
        "mlflow models serve",
        serve_command,
        port=port,
        workdir=Path.cwd(),
        health_path="/ping",
        env=tracking,
        timeout=180,
    ) as server:
        print(f"serving {model_uri} at {server.url} (pid {server.process.pid}); log: {server.log}")
        print(f"  python {Path(__file__).with_name('client.py')} --url {server.url}")
        status = run_or_wait(server, command, {"MODEL_SERVER_URL": server.url}, seconds=args.seconds)
    print("model server stopped")
    return status


if __name__ == "__main__":
    run_example(main)
