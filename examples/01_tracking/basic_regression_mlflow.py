"""Track one ElasticNet training run with MLflow.

The baseline again, now recorded: the run's parameters (alpha, l1_ratio),
its metrics (rmse, mae, r2 on the test split) and the fitted model, logged
with a signature inferred from the training data and a two-row input example.

The model is fitted and evaluated *before* the run opens, so a failure there
leaves no half-written run in the store.

Where it lands: ``$MLFLOW_TRACKING_URI``, or ``sqlite:///mlflow.db`` in the
current folder (MLflow 3's default). Look at it with ``mlflow ui``.

    python examples/01_tracking/basic_regression_mlflow.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="experiment_1", help="(default: experiment_1)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Fit and evaluate outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # The signature records the input columns and the output type
    signature = infer_signature(train_x, model.predict(train_x))

    # Choose (or create) the experiment, then record the run
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_param("alpha", args.alpha)
        mlflow.log_param("l1_ratio", args.l1_ratio)
        mlflow.log_metric("rmse", metrics["rmse"])
        mlflow.log_metric("mae", metrics["mae"])
        mlflow.log_metric("r2", metrics["r2"])
        # MLflow 2.x: log_model(sk_model, artifact_path="wine_model"); 3.x names the model instead.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print(f"  model: {model_info.model_uri}")
    print(f"  tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
