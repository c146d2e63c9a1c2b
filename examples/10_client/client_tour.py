"""A tour of ``MlflowClient``: experiments, runs and artifacts without the fluent API.

``mlflow.start_run()`` and friends keep an "active run" for you. The client
does not: every call names the experiment or run it acts on. That makes it
the tool for scripts that inspect or fix up a store. This script

* gets or creates an experiment with tags,
* fits one ElasticNet per ``--alphas`` value and records each as a run with
  ``create_run`` + ``log_batch`` (Param/Metric/RunTag entities, including a
  metric history: the test rmse as the training set grows) + ``set_terminated``,
* finds the best run with ``search_runs`` (``filter_string`` + ``order_by``),
* reads its metric history, lists and downloads its artifact,
* marks it with a tag and deletes its ``draft`` tag,
* exports all runs of the experiment to CSV, like the UI's download button.

Files go to ``--output-dir`` (under the current folder by default).

    python examples/10_client/client_tour.py --alphas 0.05 0.2 0.5 1.0
"""

import json
import time
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from sklearn.linear_model import ElasticNet

from winelab import FEATURES, example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import fraction, non_negative_float
from winelab.tracking import chapter_tags

CURVE_STEPS = 5  # points on the learning curve logged as a metric history


def fit(alpha, l1_ratio, train_x, train_y, test_x, test_y, seed):
    """Final model + metrics, and the test rmse when trained on 1/5, 2/5, ... of the rows."""
    curve = []
    for step in range(1, CURVE_STEPS + 1):
        rows = len(train_x) * step // CURVE_STEPS
        partial = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed).fit(
            train_x.iloc[:rows], train_y.iloc[:rows]
        )
        curve.append((rows, regression_metrics(test_y, partial.predict(test_x))["rmse"]))
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed).fit(train_x, train_y)
    return model, regression_metrics(test_y, model.predict(test_x)), curve


def main() -> None:
    parser = example_parser(__doc__, experiment="client_tour", model=False)
    parser.add_argument(
        "--alphas",
        nargs="+",
        type=non_negative_float,
        default=[0.05, 0.2, 0.5, 1.0],
        help="one run per value, each >= 0 (default: %(default)s)",
    )
    parser.add_argument(
        "--l1-ratio",
        "--l1_ratio",
        dest="l1_ratio",
        type=fraction,
        default=0.5,
        help="ElasticNet mix of L1 and L2 for all runs, in [0, 1] (default: %(default)s)",
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("client_tour_files"),
        help="folder for the downloaded artifacts and runs.csv (default: %(default)s)",
    )
    args = parser.parse_args()
    client = MlflowClient()  # tracking URI from MLFLOW_TRACKING_URI, like the fluent API

    # Get or create the experiment (create_experiment fails if the name exists)
    experiment = client.get_experiment_by_name(args.experiment_name)
    if experiment is None:
        experiment_id = client.create_experiment(args.experiment_name, tags=chapter_tags(__file__))
    else:
        experiment_id = experiment.experiment_id
        if experiment.lifecycle_stage == "deleted":
            client.restore_experiment(experiment_id)  # a deleted experiment accepts no runs
    client.set_experiment_tag(experiment_id, "data", "wine quality (red)")
    print(f"experiment {args.experiment_name!r} (id {experiment_id}): {client.get_experiment(experiment_id).tags}")

    # One run per alpha: fit first, then create the run and log everything in one batch
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    for alpha in args.alphas:
        model, metrics, curve = fit(alpha, args.l1_ratio, train_x, train_y, test_x, test_y, args.seed)
        run = client.create_run(experiment_id, run_name=f"alpha={alpha}")
        now = int(time.time() * 1000)  # metric timestamps are milliseconds
        client.log_batch(
            run.info.run_id,
            params=[Param("alpha", str(alpha)), Param("l1_ratio", str(args.l1_ratio))],
            metrics=[Metric(name, value, now, 0) for name, value in metrics.items()]
            + [Metric("rmse_by_train_rows", rmse, now, rows) for rows, rmse in curve],
            tags=[RunTag("model_family", "ElasticNet"), RunTag("draft", "true")],
        )
        coefficients = dict(zip(FEATURES, map(float, model.coef_), strict=True))
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
    run_example(main)
