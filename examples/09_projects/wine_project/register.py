"""Entry point ``register`` of the wine project: check a trained model, then register it.

Given the id of a ``main`` run, this step loads that run's model, measures its
rmse on the test split (logged on this step's own run), and, if the rmse is
at most ``max_rmse``, registers the model and points an alias at the new
version. Like ``train.py``, it joins the run MLflow Projects opened for it,
and imports only packages listed in ``python_env.yaml``.

    mlflow run examples/09_projects/wine_project -e register -P run_id=<main run id> --env-manager local
"""

import argparse
import sys

import mlflow
import mlflow.exceptions
import mlflow.pyfunc
from mlflow import MlflowClient

# wine.py, next to this file: the data, the split, the metrics, the option checks
from wine import add_data_options, load_wine, number, regression_metrics, split


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", required=True, help="id of the training run whose model to register")
    parser.add_argument("--model-name", default="wine-elasticnet", help="registered model name (default: %(default)s)")
    parser.add_argument("--alias", default="champion", help="alias for the new version (default: %(default)s)")
    parser.add_argument(
        "--max-rmse", type=number, default=1.0, help="register only below this rmse (default: %(default)s)"
    )
    add_data_options(parser)  # the split the model is checked on: give the training run's values
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    client = MlflowClient()

    # Find the model the training run logged (MLflow 3: a LoggedModel with its own id)
    try:
        train_run = client.get_run(args.run_id)
    except mlflow.exceptions.MlflowException as exc:
        sys.exit(f"error: no run {args.run_id}: {exc.message}")
    model_ids = [output.model_id for output in train_run.outputs.model_outputs]
    if not model_ids:
        sys.exit(f"error: run {args.run_id} logged no model; give the id of a 'main' run")
    model_uri = f"models:/{model_ids[0]}"

    # Evaluate it on the test split, load it like any consumer would (pyfunc)
    _, test_x, _, test_y = split(load_wine(args.data), test_size=args.test_size, seed=args.seed)
    metrics = regression_metrics(test_y, mlflow.pyfunc.load_model(model_uri).predict(test_x))

    with mlflow.start_run() as run:
        mlflow.log_metrics(metrics)
        if metrics["rmse"] > args.max_rmse:
            sys.exit(f"error: rmse {metrics['rmse']:.4f} > max_rmse {args.max_rmse}: model not registered")

        # Register it and point the alias at the new version (as in chapter 08)
        version = mlflow.register_model(model_uri, args.model_name)
        client.set_registered_model_alias(args.model_name, args.alias, version.version)
        mlflow.set_tag("registered_version", f"{args.model_name}/{version.version}")

    print(
        f"register: run {run.info.run_id}, rmse={metrics['rmse']:.4f}, "
        f"models:/{args.model_name}@{args.alias} -> version {version.version}"
    )


if __name__ == "__main__":
    main()
