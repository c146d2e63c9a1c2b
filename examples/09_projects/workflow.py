"""A two-step workflow: train with one entry point, register with another.

A parent run groups the steps. Each ``mlflow.projects.run`` call started
inside it becomes a child run (MLflow tags it with ``mlflow.parentRunId``),
and the second step gets the first step's run id as a parameter: that id is
all it needs to find the model, check it and register it under an alias.

    python examples/09_projects/workflow.py --alpha 0.1 --l1-ratio 0.5 --model-name wine-elasticnet
"""

import argparse
import os
import sys
from pathlib import Path

import mlflow
import mlflow.projects
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
PROJECT = Path(__file__).resolve().parent / "wine_project"


# The options are checked here, before anything starts: MLflow opens each step's run before
# the step's script reads its options, so a value it refused would leave FAILED runs behind.
def non_negative(text):
    if float(text) >= 0:
        return float(text)
    raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")


def fraction(text):
    if 0 <= float(text) <= 1:
        return float(text)
    raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_workflow", help="(default: wine_workflow)")
    parser.add_argument("--alpha", type=non_negative, default=0.7, help="regularisation strength (default: 0.7)")
    parser.add_argument("--l1-ratio", type=fraction, default=0.7, help="share of L1 in the penalty (default: 0.7)")
    parser.add_argument("--model-name", default="wine-elasticnet", help="registered model (default: %(default)s)")
    parser.add_argument("--alias", default="champion", help="alias for the new version (default: %(default)s)")
    parser.add_argument("--max-rmse", type=non_negative, default=1.0, help="register only up to it (default: 1.0)")
    return parser.parse_args()


def main():
    args = parse_args()
    # The entry points run in the project folder: give them the data file's absolute path
    data = args.data if "://" in args.data else os.path.abspath(args.data)
    # Check it here too: the entry points read it only after MLflow has opened a run
    if "quality" not in pd.read_csv(data, sep=";", nrows=5).columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    # env_manager="local" runs the entry points' `python` from PATH: make it this interpreter
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(run_name="workflow") as parent:
        # Step 1: train (entry point `main`); it runs as a child of the open run
        train = mlflow.projects.run(
            str(PROJECT),
            entry_point="main",
            parameters={"alpha": args.alpha, "l1_ratio": args.l1_ratio, "data": data},
            experiment_id=experiment.experiment_id,
            env_manager="local",  # default: a virtualenv built from python_env.yaml
        )
        # Step 2: check and register the model of step 1's run (entry point `register`)
        register = mlflow.projects.run(
            str(PROJECT),
            entry_point="register",
            parameters={
                "run_id": train.run_id,
                "model_name": args.model_name,
                "alias": args.alias,
                "max_rmse": args.max_rmse,
                "data": data,
            },
            experiment_id=experiment.experiment_id,
            env_manager="local",
        )
        mlflow.set_tags({"train_run_id": train.run_id, "register_run_id": register.run_id})

    # Read back the two steps: children of the workflow run (the UI nests them under it)
    client = MlflowClient()
    print(f"workflow run {parent.info.run_id} in experiment {experiment.name!r}")
    for step in (train, register):
        run = client.get_run(step.run_id)
        tags, rmse = run.data.tags, run.data.metrics["rmse"]
        print(f"  {tags['mlflow.project.entryPoint']}: run {step.run_id}, {run.info.status}, rmse={rmse:.4f}")
        print(f"    parent: {tags['mlflow.parentRunId']}")

    # ...and the registry: the alias points at the version registered from step 1's model
    version = client.get_model_version_by_alias(args.model_name, args.alias)
    print(f"  models:/{args.model_name}@{args.alias} = version {version.version} (from run {version.run_id})")
    print(f"  its source: {version.source}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the parent run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # a failed step (its error is above), no server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
