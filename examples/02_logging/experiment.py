"""Create an experiment with tags and its own artifact location, then set it.

``mlflow.create_experiment`` returns the new experiment's id and fails if the
name is taken, so the script first looks the name up: the first run creates
the experiment, later runs find it and reuse it. ``mlflow.get_experiment``
reads it back (name, id, artifact location, tags, lifecycle stage, creation
time) and ``mlflow.set_experiment`` makes it the active one, returning the
Experiment itself rather than an id (it refuses a deleted experiment). The run
logged into it stores its model under ``./myartifacts`` (the experiment's
artifact location), not ``./mlruns``.

    python examples/02_logging/experiment.py --version v1 --priority p1
"""

import argparse
import os
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

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
    parser.add_argument("--experiment-name", default="exp_create_exp_artifact", help="(default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--version", default="v1", help="value of the experiment tag 'version' (default: v1)")
    parser.add_argument("--priority", default="p1", help="value of the experiment tag 'priority' (default: p1)")
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
    signature = infer_signature(train_x, model.predict(train_x))

    # Create the experiment unless it exists; the artifact location must be a URI (file:///...)
    existing = mlflow.get_experiment_by_name(args.experiment_name)
    if existing is None:
        experiment_id = mlflow.create_experiment(
            name=args.experiment_name,
            artifact_location=Path.cwd().joinpath("myartifacts").as_uri(),
            tags={"version": args.version, "priority": args.priority},
        )
        print(f"created experiment {args.experiment_name!r}")
    else:
        experiment_id = existing.experiment_id
        # Tags and artifact location are fixed at creation; this run keeps the old ones.
        print(f"found experiment {args.experiment_name!r}: reusing it, its tags and artifact location")

    # Read it back by id
    experiment = mlflow.get_experiment(experiment_id)
    created = datetime.fromtimestamp(experiment.creation_time / 1000, tz=timezone.utc)
    print(f"  name: {experiment.name}")
    print(f"  experiment_id: {experiment.experiment_id}")
    print(f"  artifact location: {experiment.artifact_location}")
    print(f"  tags: {experiment.tags}")
    print(f"  lifecycle stage: {experiment.lifecycle_stage}")
    print(f"  creation time: {experiment.creation_time} ({created:%Y-%m-%d %H:%M:%S} UTC)")

    # Make it the active experiment: set_experiment returns the Experiment, not its id
    # (the guide's set_experiment(name=...) was never a parameter: it is experiment_name=)
    experiment = mlflow.set_experiment(experiment_name=args.experiment_name)
    with mlflow.start_run() as run:  # no experiment_id needed: the active one is used
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    print(f"run {run.info.run_id} in experiment {experiment.experiment_id}")
    print(f"  run artifact URI: {run.info.artifact_uri}")
    print(f"  model files: {model_info.artifact_path}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, a deleted experiment
        sys.exit(f"error: {exc}")
