"""Run a parameter sweep in parallel with joblib: one MLflow run per grid point.

Two parallel passes over the grid of (alpha, l1_ratio), each spread over
``--n-jobs`` joblib worker *processes*:

1. train: each worker fits and evaluates one grid point. Nothing is recorded
   yet, so a grid point scikit-learn refuses (a negative alpha, say) stops
   the sweep before any run exists.
2. record: each worker opens its own run in the same experiment and logs
   the parameters, the test-set metrics and its process id (``worker_pid``).
   Workers share nothing with the parent's MLflow state (no active run, no
   ``set_experiment``), so the parent passes them the tracking URI and the
   experiment id; they write to the store at the same time.

At the end a table of all runs is printed, best first.

    python examples/03_multiple_runs/parallel_sweep.py --n-jobs 2 --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.9
"""

import argparse
import itertools
import os
import sys

import mlflow
import pandas as pd
from joblib import Parallel, delayed
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def n_jobs(text):
    if int(text) < 1 and int(text) != -1:
        raise argparse.ArgumentTypeError(f"must be >= 1, or -1 for one per CPU, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="parallel_sweep", help="(default: parallel_sweep)")
    parser.add_argument("--alphas", nargs="+", type=float, default=[0.1, 0.5, 1.0], help="grid: alphas, >= 0")
    parser.add_argument("--l1-ratios", nargs="+", type=float, default=[0.1, 0.5, 0.9], help="grid: l1_ratios, 0-1")
    parser.add_argument("--n-jobs", type=n_jobs, default=2, help="worker processes, -1 for one per CPU (default: 2)")
    return parser.parse_args()


def fit_and_evaluate(data, alpha, l1_ratio):
    """Pass 1, in a worker process: fit one grid point and evaluate it on the test split."""
    train_x, train_y, test_x, test_y = data
    predicted = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(train_x, train_y).predict(test_x)
    return {
        "alpha": alpha,
        "l1_ratio": l1_ratio,
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }


def log_run(tracking_uri, experiment_id, result):
    """Pass 2, in a worker process: record one grid point as a run of its own."""
    # A new process: the parent's set_tracking_uri / set_experiment do not reach it
    mlflow.set_tracking_uri(tracking_uri)
    run_name = f"alpha-{result['alpha']}_l1-{result['l1_ratio']}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        mlflow.log_params({"alpha": result["alpha"], "l1_ratio": result["l1_ratio"]})
        mlflow.log_metrics({name: result[name] for name in ("rmse", "mae", "r2")})
        mlflow.set_tag("worker_pid", os.getpid())  # which process recorded it
    return {**result, "run_id": run.info.run_id, "pid": os.getpid()}


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    data = (train.drop(columns="quality"), train["quality"], test.drop(columns="quality"), test["quality"])
    grid = list(itertools.product(args.alphas, args.l1_ratios))
    # Refuse a bad grid point here: inside a worker it would stop the pool halfway
    if not all(alpha >= 0 and 0 <= l1_ratio <= 1 for alpha, l1_ratio in grid):
        raise ValueError(f"'alpha' must be >= 0 and 'l1_ratio' in [0, 1]: {args.alphas} x {args.l1_ratios}")

    with Parallel(n_jobs=args.n_jobs) as parallel:  # one pool of worker processes for both passes
        # Pass 1: train every grid point in parallel; a failure here leaves nothing recorded
        results = parallel(delayed(fit_and_evaluate)(data, alpha, l1_ratio) for alpha, l1_ratio in grid)

        # Create the experiment once, here: workers only receive its id
        experiment = mlflow.set_experiment(args.experiment_name)
        tracking_uri = mlflow.get_tracking_uri()

        # Pass 2: each worker process opens its own run; they write to the store at the same time
        runs = parallel(delayed(log_run)(tracking_uri, experiment.experiment_id, result) for result in results)

    processes = len({run["pid"] for run in runs})
    print(f"{len(runs)} runs in experiment {experiment.name!r}, recorded by {processes} worker processes, best first:")
    print(f"  {'alpha':>6} {'l1_ratio':>8} {'rmse':>7} {'mae':>7} {'r2':>7}  run_id")
    for row in sorted(runs, key=lambda row: row["rmse"]):
        print(
            f"  {row['alpha']:>6} {row['l1_ratio']:>8} {row['rmse']:7.4f} {row['mae']:7.4f} {row['r2']:7.4f}"
            f"  {row['run_id']}"
        )
    print(f"  tracking URI: {tracking_uri}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad grid, no server
        sys.exit(f"error: {exc}")
