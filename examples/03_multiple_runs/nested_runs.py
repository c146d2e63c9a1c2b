"""A parameter sweep as one parent run with a nested child run per grid point.

The parent run stands for the whole sweep; each grid point (alpha, l1_ratio)
is a child run opened with ``mlflow.start_run(nested=True)`` inside it, so
MLflow tags it with ``mlflow.parentRunId`` and the UI shows the children
folded under their parent. When all children are recorded, the parent gets
the winner: ``best_alpha`` and ``best_l1_ratio`` params, a ``best_rmse``
metric and a ``best_run_id`` tag pointing at the best child.

All grid points are fitted and evaluated before the parent opens, so a
failure there (a bad alpha, say) leaves no half-finished sweep in the store.

    python examples/03_multiple_runs/nested_runs.py --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.5 0.9
"""

import argparse
import itertools
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
    parser.add_argument("--experiment-name", default="nested_runs", help="(default: nested_runs)")
    parser.add_argument("--alphas", nargs="+", type=float, default=[0.1, 0.5, 1.0], help="grid: alphas, >= 0")
    parser.add_argument("--l1-ratios", nargs="+", type=float, default=[0.1, 0.5, 0.9], help="grid: l1_ratios, 0-1")
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

    # Fit and evaluate every grid point first
    results = []
    for alpha, l1_ratio in itertools.product(args.alphas, args.l1_ratios):
        predicted = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(train_x, train_y).predict(test_x)
        results.append(
            {
                "alpha": alpha,
                "l1_ratio": l1_ratio,
                "rmse": root_mean_squared_error(test_y, predicted),
                "mae": mean_absolute_error(test_y, predicted),
                "r2": r2_score(test_y, predicted),
            }
        )

    # The parent run holds the sweep; children are nested inside it
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(run_name="elasticnet-sweep") as parent:
        mlflow.log_params({"alphas": args.alphas, "l1_ratios": args.l1_ratios, "n_candidates": len(results)})
        for result in results:
            with mlflow.start_run(run_name=f"alpha-{result['alpha']}_l1-{result['l1_ratio']}", nested=True) as child:
                mlflow.log_params({"alpha": result["alpha"], "l1_ratio": result["l1_ratio"]})
                mlflow.log_metrics({name: result[name] for name in ("rmse", "mae", "r2")})
            result["run_id"] = child.info.run_id

        # Back in the parent: record the best child
        best = min(results, key=lambda result: result["rmse"])
        mlflow.log_params({"best_alpha": best["alpha"], "best_l1_ratio": best["l1_ratio"]})
        mlflow.log_metric("best_rmse", best["rmse"])
        mlflow.set_tag("best_run_id", best["run_id"])

    print(f"parent run {parent.info.run_id} in experiment {experiment.name!r}")
    for result in sorted(results, key=lambda result: result["rmse"]):
        marker = "*" if result is best else " "
        print(f" {marker} alpha={result['alpha']:<5} l1_ratio={result['l1_ratio']:<5} rmse={result['rmse']:.4f}")
    print(f"best: alpha={best['alpha']} l1_ratio={best['l1_ratio']} rmse={best['rmse']:.4f} (run {best['run_id']})")
    print(f"tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: each `with mlflow.start_run()` has already marked its run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad alpha, no server
        sys.exit(f"error: {exc}")
