"""A tour of ``MlflowClient``: experiments, runs and artifacts without the fluent API.

``mlflow.start_run()`` and friends keep an "active run" for you. The client
does not: every call names the experiment or run it acts on. That makes it
the tool for scripts that inspect or fix up a store. This script

* gets or creates an experiment with tags,
* fits one ElasticNet per ``--alphas`` value (all of them first, so a value
  scikit-learn refuses stops the script before anything is recorded) and records each as a run with
  ``create_run`` + ``log_batch`` (Param/Metric/RunTag entities, including a
  metric history: the test rmse as the training set grows) + ``set_terminated``,
* finds the best run with ``search_runs`` (``filter_string`` + ``order_by``),
* reads its metric history, lists and downloads its artifact,
* marks it with a tag and deletes its ``draft`` tag,
* exports all runs of the experiment to CSV, like the UI's download button.

The store is ``$MLFLOW_TRACKING_URI`` (else ``sqlite:///mlflow.db`` in the
current folder); files go to ``--output-dir`` (under the current folder by default).

    python examples/10_client/client_tour.py --alphas 0.05 0.2 0.5 1.0
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
CURVE_STEPS = 5  # points on the learning curve logged as a metric history


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="client_tour", help="(default: client_tour)")
    parser.add_argument(
        "--alphas", nargs="+", type=float, default=[0.05, 0.2, 0.5, 1.0], help="one run per value, each >= 0"
    )
    parser.add_argument("--l1-ratio", type=float, default=0.5, help="share of L1 in the penalty, 0-1 (default: 0.5)")
    parser.add_argument(
        "--output-dir", type=Path, default=Path("client_tour_files"), help="(default: client_tour_files)"
    )
    return parser.parse_args()


def fit(alpha, l1_ratio, train_x, train_y, test_x, test_y):
    """Final model + metrics, and the test rmse when trained on 1/5, 2/5, ... of the rows."""
    curve = []
    for step in range(1, CURVE_STEPS + 1):
        rows = len(train_x) * step // CURVE_STEPS
        partial = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        partial.fit(train_x.iloc[:rows], train_y.iloc[:rows])
        curve.append((rows, root_mean_squared_error(test_y, partial.predict(test_x))))
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }
    return model, metrics, curve


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Fit every model before touching the store: a bad --alphas or --l1-ratio records nothing
    fits = [(alpha, *fit(alpha, args.l1_ratio, train_x, train_y, test_x, test_y)) for alpha in args.alphas]

    client = MlflowClient()  # tracking URI from MLFLOW_TRACKING_URI, like the fluent API

    # Get or create the experiment (create_experiment fails if the name exists)
    experiment = client.get_experiment_by_name(args.experiment_name)
    if experiment is None:
        experiment_id = client.create_experiment(args.experiment_name)
    else:
        experiment_id = experiment.experiment_id
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment_id)  # a deleted experiment accepts no runs
    client.set_experiment_tag(experiment_id, "data", "wine quality (red)")
    print(f"experiment {args.experiment_name!r} (id {experiment_id}): {client.get_experiment(experiment_id).tags}")

    # One run per alpha: create the run and log everything in one batch
    for alpha, model, metrics, curve in fits:
        run = client.create_run(experiment_id, run_name=f"alpha={alpha}")
        now = int(time.time() * 1000)  # metric timestamps are milliseconds
        client.log_batch(
            run.info.run_id,
            params=[Param("alpha", str(alpha)), Param("l1_ratio", str(args.l1_ratio))],
            metrics=[Metric(name, value, now, 0) for name, value in metrics.items()]
            + [Metric("rmse_by_train_rows", rmse, now, rows) for rows, rmse in curve],
            tags=[RunTag("model_family", "ElasticNet"), RunTag("draft", "true")],
        )
        coefficients = dict(zip(train_x.columns, map(float, model.coef_), strict=True))
        client.log_dict(
            run.info.run_id, {"intercept": float(model.intercept_), **coefficients}, "fit/coefficients.json"
        )
        client.set_terminated(run.info.run_id, "FINISHED")  # the fluent `with` block did this for you
        print(f"  run {run.info.run_id} alpha={alpha}: rmse={metrics['rmse']:.4f}")

    # Search: finished runs with this l1_ratio, best (lowest) rmse first
    [best] = client.search_runs(
        [experiment_id],
        filter_string=f"attributes.status = 'FINISHED' and params.l1_ratio = '{args.l1_ratio}'",
        order_by=["metrics.rmse ASC"],
        max_results=1,
    )
    best_id = best.info.run_id
    print(f"best run {best_id}: alpha={best.data.params['alpha']}, rmse={best.data.metrics['rmse']:.4f}")

    # A metric's whole history (a run's `data.metrics` only keeps the last value)
    history = client.get_metric_history(best_id, "rmse_by_train_rows")
    print("  rmse by training rows: " + ", ".join(f"{m.step}: {m.value:.4f}" for m in history))

    # Artifacts: list (folders first), then download one file
    print(f"  artifacts: {[info.path for info in client.list_artifacts(best_id)]}")
    print(f"  in fit/: {[(info.path, info.file_size) for info in client.list_artifacts(best_id, 'fit')]}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    local = client.download_artifacts(best_id, "fit/coefficients.json", dst_path=str(args.output_dir))
    print(f"  downloaded {local}: intercept {json.loads(Path(local).read_text())['intercept']:.4f}")

    # Tags: move the "best" tag to this run (re-runs may have tagged another), drop its draft tag
    for previous in client.search_runs([experiment_id], filter_string="tags.best = 'true'"):
        client.delete_tag(previous.info.run_id, "best")
    client.set_tag(best_id, "best", "true")
    if "draft" in best.data.tags:  # deleting a tag that is not there is an error
        client.delete_tag(best_id, "draft")
    tags = client.get_run(best_id).data.tags
    print(f"  tags now: best={tags.get('best')}, draft={tags.get('draft', '<deleted>')}")

    # All runs as a DataFrame, saved as CSV (the UI's "Download CSV" button)
    frame = mlflow.search_runs(experiment_ids=[experiment_id], order_by=["metrics.rmse ASC"])
    csv_path = args.output_dir / "runs.csv"
    frame.to_csv(csv_path, index=False)
    print(f"  {len(frame)} runs -> {csv_path} (columns like {', '.join(frame.columns[-3:])})")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alphas or --l1-ratio, no server
        sys.exit(f"error: {exc}")
