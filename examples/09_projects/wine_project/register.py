"""Entry point ``register`` of the wine project: check a trained model, then register it.

Given the id of a ``main`` run, this step loads that run's model, measures its
rmse on the test split (logged on this step's own run) and, if the rmse is at
most ``max_rmse``, registers the model and points an alias at the new version.
Like ``train.py``, it joins the run MLflow Projects opened for it, and imports
only packages ``python_env.yaml`` lists.

    mlflow run examples/09_projects/wine_project -e register -P run_id=<main run id> \\
        -P data="$WINE_QUALITY_CSV" --env-manager local
"""

import argparse
import os
import sys

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

# wine.py, next to this file: the data and the split both entry points share
from wine import load_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--run-id", required=True, help="id of the training run whose model to register")
    parser.add_argument("--model-name", default="wine-elasticnet", help="registered model (default: %(default)s)")
    parser.add_argument("--alias", default="champion", help="alias for the new version (default: %(default)s)")
    parser.add_argument("--max-rmse", type=float, default=1.0, help="register only up to this rmse (default: 1.0)")
    return parser.parse_args()


def main():
    args = parse_args()
    client = MlflowClient()

    # The model the training run logged: MLflow 3 records it as the run's model output (models:/m-...)
    train_run = client.get_run(args.run_id)
    model_ids = [output.model_id for output in train_run.outputs.model_outputs]
    if not model_ids:
        raise ValueError(f"run {args.run_id} logged no model; give the id of a 'main' run")
    model_uri = f"models:/{model_ids[0]}"

    # Check it on the wines `main` held out, loaded as any consumer would load it (pyfunc)
    _, test_x, _, test_y = load_split(args.data)
    predicted = mlflow.pyfunc.load_model(model_uri).predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # Join the run MLflow opened for this step; log the check, then register (or refuse to)
    with mlflow.start_run() as run:
        mlflow.log_metrics(metrics)
        if metrics["rmse"] > args.max_rmse:
            raise ValueError(f"rmse {metrics['rmse']:.4f} > max_rmse {args.max_rmse}: model not registered")
        # MLflow 2.x moved the version to the "Production" stage; stages are deprecated, aliases replace them
        registered = mlflow.register_model(model_uri, args.model_name)
        client.set_registered_model_alias(args.model_name, args.alias, registered.version)
        mlflow.set_tag("registered_version", f"{args.model_name}/{registered.version}")

    print(
        f"register: run {run.info.run_id}, rmse={metrics['rmse']:.4f}, "
        f"models:/{args.model_name}@{args.alias} -> version {registered.version}"
    )


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, no such run, the rmse gate
        sys.exit(f"error: {exc}")
