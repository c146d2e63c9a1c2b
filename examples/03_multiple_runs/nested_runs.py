"""A parameter sweep as one parent run with a nested child run per grid point.

The parent run stands for the whole sweep; each grid point (alpha, l1_ratio)
is a child run opened with ``mlflow.start_run(nested=True)`` inside it, so
MLflow tags it with ``mlflow.parentRunId`` and the UI shows the children
folded under their parent. When all children are recorded, the parent gets
the winner: ``best_alpha`` and ``best_l1_ratio`` params, a ``best_rmse``
metric and a ``best_run_id`` tag pointing at the best child.

All grid points are fitted and evaluated before the parent opens, so a
failure there leaves no half-finished sweep in the store.

    python examples/03_multiple_runs/nested_runs.py --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.5 0.9
"""

import itertools

import mlflow
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import add_grid_options
from winelab.tracking import tag_chapter


def main() -> None:
    parser = example_parser(__doc__, experiment="nested_runs", model=False)
    add_grid_options(parser)
    args = parser.parse_args()

    # Fit and evaluate every grid point first
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    results = []
    for alpha, l1_ratio in itertools.product(args.alphas, args.l1_ratios):
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=args.seed).fit(train_x, train_y)
        results.append({"alpha": alpha, "l1_ratio": l1_ratio, **regression_metrics(test_y, model.predict(test_x))})

    # The parent run holds the sweep; children are nested inside it
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
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
    run_example(main)
