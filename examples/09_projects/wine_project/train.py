"""Entry point ``main`` of the wine project: train one ElasticNet, log its metrics and model.

This file is run *by MLflow Projects*. ``mlflow run`` (or ``mlflow.projects.run``)
first creates the run, logs the entry point's parameters (alpha, l1_ratio, data)
and the project's source tags on it, then starts ``python train.py ...`` in this
folder with ``MLFLOW_RUN_ID`` set. So the script neither chooses an experiment
nor logs its parameters: ``mlflow.start_run()`` joins that run, and the script
adds the metrics and the model. When it exits, MLflow marks the run FINISHED,
or FAILED if it failed (a bad alpha, say: scikit-learn refuses it at ``fit``).

    mlflow run examples/09_projects/wine_project -P alpha=0.4 -P data="$WINE_QUALITY_CSV" --env-manager local
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

# wine.py, next to this file: the data and the split both entry points share
from wine import load_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    return parser.parse_args()


def main():
    args = parse_args()

    # Fit and evaluate first: MLflow has opened the run, but nothing is logged to it if this fails
    train_x, test_x, train_y, test_y = load_split(args.data)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # Join the run MLflow opened for this entry point (its id is in $MLFLOW_RUN_ID), in the
    # experiment `mlflow run --experiment-name` chose: the script must not choose one itself
    with mlflow.start_run() as run:
        # The parameters are already on the run: MLflow logged the -P values and the defaults
        mlflow.log_metrics(metrics)
        # MLflow 2.x: log_model(sk_model, artifact_path="wine_model"); 3.x names the model instead.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    print(f"train: run {run.info.run_id}, rmse={metrics['rmse']:.4f}, model {model_info.model_uri}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad alpha: MLflow marks the run FAILED
        sys.exit(f"error: {exc}")
