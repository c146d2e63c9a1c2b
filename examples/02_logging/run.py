"""Start and end a run by hand: start_run, active_run, end_run(status), last_active_run.

Outside a ``with`` block nothing ends the run for you, so this script does it
itself, with the status you choose (``--status FINISHED|KILLED|FAILED``). If
anything goes wrong between start and end, the ``except`` branch ends the run
as FAILED: otherwise MLflow's exit hook would quietly mark the crashed run
FINISHED. ``--fail`` simulates such a crash after the run has started.

The run gets a name (``--run-name``; MLflow invents one like "traveling-tern-43"
if you give none), tags, and a description (stored as the ``mlflow.note.content``
tag, shown as the run's description in the UI).

    python examples/02_logging/run.py --run-name first-try --status KILLED
"""

import argparse
import os
import sys

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="logging_runs", help="(default: logging_runs)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--run-name", default=None, help="name of the run (default: one MLflow makes up)")
    parser.add_argument("--description", default="ElasticNet run started and ended without a with block")
    parser.add_argument("--status", type=str.upper, choices=("FINISHED", "KILLED", "FAILED"), default="FINISHED")
    parser.add_argument("--fail", action="store_true", help="raise an error after the run started (to see FAILED)")
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

    # Start a run without `with`: start_run returns an ActiveRun
    experiment = mlflow.set_experiment(args.experiment_name)
    mlflow.start_run(
        experiment_id=experiment.experiment_id,
        run_name=args.run_name,
        tags={"lesson": "start and end a run by hand", "script": "run.py"},
        description=args.description,
    )
    try:
        # Everything between start_run and end_run belongs to the active run
        active = mlflow.active_run()
        print(f"active run: {active.info.run_id} ({active.info.run_name}), status {active.info.status}")
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        if args.fail:
            raise RuntimeError("simulated failure after start_run (--fail); the run was ended as FAILED")
    except BaseException:
        # Outside `with`, ending a crashed run is our job; MLflow's atexit hook would say FINISHED.
        mlflow.end_run(status="FAILED")
        raise
    # End it with the chosen status (end_run's default is FINISHED)
    mlflow.end_run(status=args.status)

    # After end_run there is no active run, but last_active_run() fetches the one that just ended
    print(f"active run after end_run: {mlflow.active_run()}")
    run = mlflow.last_active_run()
    print(f"last active run: {run.info.run_id}")
    print(f"  name: {run.info.run_name}")
    print(f"  status: {run.info.status}")
    print(f"  description: {run.data.tags.get('mlflow.note.content')}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in run.data.metrics.items()))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: the except branch above has already ended the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, RuntimeError, MlflowException) as exc:  # no data, a bad --alpha, --fail, no server
        sys.exit(f"error: {exc}")
