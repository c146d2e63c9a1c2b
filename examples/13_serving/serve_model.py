"""Serve a registered model over REST with ``mlflow models serve``.

Trains the wine ElasticNet, logs it, registers it (a new version of
``--registered-model-name``) and points the alias ``--alias`` at that version.
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

    python examples/13_serving/serve_model.py --port 5001
    python examples/13_serving/serve_model.py --run -- python examples/13_serving/client.py
"""

import shlex
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import add_server_options, command_from_argv
from winelab.servers import background, claim_port, run_or_wait, stop_on_signals
from winelab.tracking import pip_requirements, tag_chapter


def register_model(args) -> str:
    """Train, log and register one model version; point the alias at it. Returns ``models:/name@alias``."""
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)  # {"chapter": "13_serving", ...}: a UI filter
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        # The signature is what the scoring server checks every request against.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            registered_model_name=args.registered_model_name,
            pip_requirements=pip_requirements(),  # explicit pins: skips a slow inference step
        )
    version = model_info.registered_model_version
    MlflowClient().set_registered_model_alias(args.registered_model_name, args.alias, version)
    print(f"run {run.info.run_id}: rmse={metrics['rmse']:.4f}")
    print(f"registered {args.registered_model_name} version {version}; alias @{args.alias} -> version {version}")
    return f"models:/{args.registered_model_name}@{args.alias}"


def main() -> int:
    parser = example_parser(__doc__, experiment="serving")
    parser.add_argument("--registered-model-name", default="wine-serving", help="registry name (default: %(default)s)")
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
