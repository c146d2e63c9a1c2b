"""Checkpoints along the regularisation path: one logged model per alpha, ranked and registered.

MLflow 3 makes the model a first-class entity (a *logged model*, ``models:/m-...``)
with its own params, metrics and datasets, instead of a folder of artifacts inside
a run. This script walks ElasticNet's regularisation path in ONE run, from the
strongest alpha to the weakest, each fit starting from the previous coefficients
(``warm_start``), and logs every fit as a checkpoint:

* ``mlflow.sklearn.log_model(..., name=..., params=..., step=...)``: a logged
  model with its own params, and the step of the path it was taken at;
* ``mlflow.log_metrics(..., model_id=..., dataset=...)``: its rmse, mae and r2
  on the evaluation dataset, attached to that model and to that dataset;
* ``mlflow.search_logged_models(..., order_by=...)``: all checkpoints of the
  run ranked by a metric on the evaluation dataset, best first;
* ``mlflow.register_model``: the best one becomes a version of ``--model-name``.

    python examples/18_logged_models/checkpoints.py --alphas 1.0 0.3 0.1 0.03 0.01
"""

import mlflow
import mlflow.data
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import TARGET, example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import fraction, non_negative_float, registered_model_name
from winelab.data import URL
from winelab.tracking import pip_requirements, tag_chapter

LOWER_IS_BETTER = {"rmse": True, "mae": True, "r2": False}


def parse_args():
    parser = example_parser(__doc__, experiment="wine_checkpoints", model=False)
    parser.add_argument(
        "--alphas",
        nargs="+",
        type=non_negative_float,
        default=[1.0, 0.3, 0.1, 0.03, 0.01],
        help="alphas of the path, each >= 0, walked from the largest down (default: %(default)s)",
    )
    parser.add_argument(
        "--l1-ratio",
        "--l1_ratio",
        dest="l1_ratio",
        type=fraction,
        default=0.5,
        help="ElasticNet mix of L1 and L2 along the whole path, in [0, 1] (default: %(default)s)",
    )
    parser.add_argument(
        "--rank-by",
        choices=sorted(LOWER_IS_BETTER),
        default="rmse",
        help="evaluation metric that ranks the checkpoints (default: %(default)s)",
    )
    parser.add_argument(
        "--model-name",
        type=registered_model_name,
        default="wine_checkpoints",
        help="registered model that receives the best checkpoint (default: %(default)s)",
    )
    args = parser.parse_args()
    if len(set(args.alphas)) != len(args.alphas):
        parser.error(f"argument --alphas: repeated values {args.alphas}")
    return args


def main() -> None:
    args = parse_args()
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)

    # The two datasets, named and traced to the UCI file (see datasets.py)
    # quality is a whole number; as float, MLflow's dataset schema does not warn about integer columns.
    train_ds = mlflow.data.from_pandas(
        train_x.assign(**{TARGET: train_y.astype(float)}), source=URL, name="wine_train", targets=TARGET
    )
    eval_ds = mlflow.data.from_pandas(
        test_x.assign(**{TARGET: test_y.astype(float)}), source=URL, name="wine_test", targets=TARGET
    )

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    path = sorted(args.alphas, reverse=True)  # strong to weak regularisation, as a path is walked
    # warm_start: each fit starts from the previous alpha's coefficients, like resuming a checkpoint.
    model = ElasticNet(l1_ratio=args.l1_ratio, random_state=args.seed, warm_start=True)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="regularisation_path") as run:
        mlflow.log_params({"alphas": path, "l1_ratio": args.l1_ratio})
        mlflow.log_input(train_ds, context="training")
        mlflow.log_input(eval_ds, context="evaluation")

        # One checkpoint per alpha: a logged model with its params and step, then its metrics
        for step, alpha in enumerate(path):
            model.set_params(alpha=alpha).fit(train_x, train_y)
            model_info = mlflow.sklearn.log_model(
                sk_model=model,
                name=f"checkpoint-{step}",
                params={"alpha": alpha, "l1_ratio": args.l1_ratio},
                step=step,
                signature=infer_signature(train_x, model.predict(train_x)),
                pip_requirements=pip_requirements(),
            )
            metrics = regression_metrics(test_y, model.predict(test_x))
            mlflow.log_metrics(metrics, step=step, model_id=model_info.model_id, dataset=eval_ds)
            print(f"step {step}: alpha {alpha:<6g} rmse {metrics['rmse']:.4f}  {model_info.model_uri}")

    # Rank this run's checkpoints by their metric on the evaluation dataset
    ranked = mlflow.search_logged_models(
        experiment_ids=[experiment.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        order_by=[
            {
                "field_name": f"metrics.{args.rank_by}",
                "ascending": LOWER_IS_BETTER[args.rank_by],
                "dataset_name": eval_ds.name,
                "dataset_digest": eval_ds.digest,
            }
        ],
        output_format="list",
    )
    print(f"ranked by {args.rank_by} on {eval_ds.name} (digest {eval_ds.digest}):")
    for rank, logged in enumerate(ranked, 1):
        value = next(metric.value for metric in logged.metrics if metric.key == args.rank_by)
        print(f"  {rank}. {logged.name:<13} alpha {logged.params['alpha']:<6} {args.rank_by} {value:.4f}")

    # Register the best checkpoint
    best = ranked[0]
    version = mlflow.register_model(best.model_uri, args.model_name)
    print(f"registered {best.name} ({best.model_uri}) as {args.model_name} version {version.version}")


if __name__ == "__main__":
    run_example(main)
