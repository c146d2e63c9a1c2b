"""Run the wine project from Python with ``mlflow.projects.run``.

The same thing ``mlflow run`` does on the command line, as a function call:
MLflow reads ``wine_project/MLproject``, creates a run in the chosen
experiment, logs the entry point's parameters and the project's source
tags, runs ``train.py`` in the project folder with ``MLFLOW_RUN_ID`` set,
and marks the run FINISHED (or FAILED) when the command exits. The returned
``SubmittedRun`` gives the run id, so the script reads the metrics back.

    python examples/09_projects/run_project.py --alpha 0.4 --l1-ratio 0.2
"""

import os
import sys
from pathlib import Path

import mlflow
import mlflow.projects
from mlflow import MlflowClient

from winelab import example_parser, run_example
from winelab.tracking import tag_chapter

PROJECT = Path(__file__).resolve().parent / "wine_project"


def main() -> None:
    args = example_parser(__doc__, experiment="wine_project").parse_args()

    # env_manager="local" runs the entry point's `python` from PATH: make it this interpreter
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    # Run the project's `main` entry point and wait for it (synchronous=True is the default)
    submitted = mlflow.projects.run(
        uri=str(PROJECT),
        entry_point="main",
        parameters={"alpha": args.alpha, "l1_ratio": args.l1_ratio, "test_size": args.test_size, "seed": args.seed},
        experiment_name=args.experiment_name,
        env_manager="local",  # default: a virtualenv built from python_env.yaml
    )

    # Read back what the entry point recorded; tag the experiment it made with the chapter
    run = MlflowClient().get_run(submitted.run_id)
    tag_chapter(run.info.experiment_id, __file__)
    print(f"run {submitted.run_id}: {submitted.get_status()} in experiment {args.experiment_name!r}")
    print(f"  entry point: {run.data.tags['mlflow.project.entryPoint']}, params: {run.data.params}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in sorted(run.data.metrics.items())))


if __name__ == "__main__":
    run_example(main)
