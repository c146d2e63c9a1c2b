"""Register a model in the Model Registry while logging it.

``log_model(..., registered_model_name=NAME)`` logs the model in the run and
creates a new version of the registered model NAME in one call (the
registered model itself is created the first time). Every run of this script
adds a version.

Then the registry's own metadata, which lives on the registered model and its
versions rather than on the run:

- a description of the registered model (``update_registered_model``);
- a description of the new version (``update_model_version``);
- version tags with its hyperparameters and test rmse (``set_model_version_tag``).

Aliases (champion/challenger) are the next script's job: promote_challenger.py.
The run lands in experiment ``wine_registry`` of ``$MLFLOW_TRACKING_URI``
(else ``sqlite:///mlflow.db`` in the current folder), the registry beside it.

    python examples/08_registry/register_at_log_time.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
MODEL_DESCRIPTION = "ElasticNet predicting red wine quality (0-10) from 11 physico-chemical features."


def registered_model_name(text):
    """MLflow refuses '/' and ':' only when it registers (inside the run); quotes would break a search filter."""
    if not text.strip() or any(char in text for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"{text!r} is not a registered model name (no / : or quotes)")
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_registry", help="(default: wine_registry)")
    parser.add_argument(
        "--model-name", type=registered_model_name, default="wine_quality", help="(default: wine_quality)"
    )
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

    # Log the run; registered_model_name also creates a registry version of the logged model
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="register_at_log_time") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        # MLflow 2.x: log_model(sk_model, artifact_path="wine_model", registered_model_name=...); 3.x names the model.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
            registered_model_name=args.model_name,
        )
    model_version = str(model_info.registered_model_version)

    # Describe the registered model and the new version, and tag the version
    client = MlflowClient()
    client.update_registered_model(args.model_name, description=MODEL_DESCRIPTION)
    client.update_model_version(
        args.model_name,
        model_version,
        description=(
            f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio}), registered at log time; "
            f"test rmse {metrics['rmse']:.4f}."
        ),
    )
    for key, value in {"alpha": args.alpha, "l1_ratio": args.l1_ratio, "rmse": metrics["rmse"]}.items():
        client.set_model_version_tag(args.model_name, model_version, key, str(value))

    print(f"run {run.info.run_id}: registered {args.model_name!r} version {model_version} (rmse {metrics['rmse']:.4f})")
    print(f"  logged model: {model_info.model_uri}")
    print(f"  registry URI of this version: models:/{args.model_name}/{model_version}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
