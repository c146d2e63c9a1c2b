"""A two-step workflow: train with one entry point, register with another.

A parent run groups the steps. Each ``mlflow.projects.run`` call started
inside it becomes a child run (MLflow tags it with ``mlflow.parentRunId``),
and the second step gets the first step's run id as a parameter: that id is
all it needs to find the model, check it and register it under an alias.

    python examples/09_projects/workflow.py --alpha 0.1 --l1-ratio 0.5 --model-name wine-elasticnet
"""

import os
import sys
from pathlib import Path

import mlflow
import mlflow.projects
from mlflow import MlflowClient

from winelab import example_parser, run_example
from winelab.cli import non_negative_float
from winelab.tracking import tag_chapter

PROJECT = Path(__file__).resolve().parent / "wine_project"


def main() -> None:
    parser = example_parser(__doc__, experiment="wine_workflow")
    parser.add_argument("--model-name", default="wine-elasticnet", help="registered model name (default: %(default)s)")
    parser.add_argument("--alias", default="champion", help="alias for the registered version (default: %(default)s)")
    parser.add_argument(
        "--max-rmse", type=non_negative_float, default=1.0, help="register only below this rmse (default: %(default)s)"
    )
    args = parser.parse_args()
    split_params = {"test_size": args.test_size, "seed": args.seed}
    # env_manager="local" runs the entry points' `python` from PATH: make it this interpreter.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(run_name="workflow") as parent:
        # Step 1: train (entry point `main`)
        train = mlflow.projects.run(
            str(PROJECT),
            entry_point="main",
            parameters={"alpha": args.alpha, "l1_ratio": args.l1_ratio, **split_params},
            experiment_id=experiment.experiment_id,
            env_manager="local",
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
                **split_params,
            },
            experiment_id=experiment.experiment_id,
            env_manager="local",
        )
        mlflow.set_tags({"train_run_id": train.run_id, "register_run_id": register.run_id})

    # Read back the result from the registry
    version = MlflowClient().get_model_version_by_alias(args.model_name, args.alias)
    print(f"workflow run {parent.info.run_id} in experiment {experiment.name!r}")
    print(f"  train run {train.run_id} -> register run {register.run_id}")
    print(f"  models:/{args.model_name}@{args.alias} = version {version.version} (from run {version.run_id})")


if __name__ == "__main__":
    run_example(main)
