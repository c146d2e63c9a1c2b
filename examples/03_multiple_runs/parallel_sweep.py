"""Run a parameter sweep in parallel with joblib: one MLflow run per grid point.

Each grid point (alpha, l1_ratio) is trained in a joblib worker *process*,
which opens its own run in the same experiment and logs its parameters and
test-set metrics. Worker processes share nothing with the parent's MLflow
state (no active run, no ``set_experiment``), so the parent passes them the
tracking URI and the experiment id. At the end a table of all runs is
printed, best first.

    python examples/03_multiple_runs/parallel_sweep.py --n-jobs 2 --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.9
"""

import itertools

import mlflow
from joblib import Parallel, delayed
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import add_grid_options, n_jobs
from winelab.tracking import tag_chapter


def train_and_log(tracking_uri, experiment_id, alpha, l1_ratio, test_size, seed) -> dict:
    """One grid point, in a worker process: fit, evaluate, then record one run."""
    mlflow.set_tracking_uri(tracking_uri)
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=test_size, seed=seed)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    with mlflow.start_run(experiment_id=experiment_id, run_name=f"alpha-{alpha}_l1-{l1_ratio}") as run:
        mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
        mlflow.log_metrics(metrics)
    return {"run_id": run.info.run_id, "alpha": alpha, "l1_ratio": l1_ratio, **metrics}


def main() -> None:
    parser = example_parser(__doc__, experiment="parallel_sweep", model=False)
    add_grid_options(parser)
    parser.add_argument(
        "--n-jobs", type=n_jobs, default=2, help="worker processes, -1 for one per CPU (default: %(default)s)"
    )
    args = parser.parse_args()
    grid = list(itertools.product(args.alphas, args.l1_ratios))

    # Create the experiment once, here: workers only receive its id
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    tracking_uri = mlflow.get_tracking_uri()

    # Each worker process opens its own run; they write to the store at the same time
    results = Parallel(n_jobs=args.n_jobs)(
        delayed(train_and_log)(tracking_uri, experiment.experiment_id, alpha, l1_ratio, args.test_size, args.seed)
        for alpha, l1_ratio in grid
    )

    print(f"{len(results)} runs in experiment {experiment.name!r} ({args.n_jobs} jobs), best first:")
    print(f"  {'alpha':>6} {'l1_ratio':>8} {'rmse':>7} {'mae':>7} {'r2':>7}  run_id")
    for row in sorted(results, key=lambda row: row["rmse"]):
        print(
            f"  {row['alpha']:>6} {row['l1_ratio']:>8} {row['rmse']:7.4f} {row['mae']:7.4f} {row['r2']:7.4f}"
            f"  {row['run_id']}"
        )
    print(f"  tracking URI: {tracking_uri}")


if __name__ == "__main__":
    run_example(main)
