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

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.data
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
LOWER_IS_BETTER = {"rmse": True, "mae": True, "r2": False}


def non_negative(text):
    if not float(text) >= 0:  # nan too
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return float(text)


def fraction(text):
    if not 0 <= float(text) <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return float(text)


def model_name(text):
    if not text.strip() or any(char in text for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"a registered model name has no / : or quotes, got {text!r}")
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_checkpoints", help="(default: %(default)s)")
    parser.add_argument(
        "--alphas", nargs="+", type=non_negative, default=[1.0, 0.3, 0.1, 0.03, 0.01], help="alphas, each >= 0"
    )
    parser.add_argument("--l1-ratio", type=fraction, default=0.5, help="L1 share along the path (default: 0.5)")
    parser.add_argument("--rank-by", choices=sorted(LOWER_IS_BETTER), default="rmse", help="metric to rank by")
    parser.add_argument("--model-name", type=model_name, default="wine_checkpoints", help="(default: %(default)s)")
    return parser.parse_args()


def main():
    args = parse_args()

    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    # quality is a whole number; as float, MLflow's dataset schema does not warn about integer columns
    train, test = train_test_split(wine.astype({"quality": float}), test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # The two datasets, named and traced to the UCI file (see datasets.py)
    train_ds = mlflow.data.from_pandas(train, source=UCI_URL, name="wine_train", targets="quality")
    eval_ds = mlflow.data.from_pandas(test, source=UCI_URL, name="wine_test", targets="quality")

    experiment = mlflow.set_experiment(args.experiment_name)
    path = sorted(set(args.alphas), reverse=True)  # strong to weak regularisation, as a path is walked
    # warm_start: each fit starts from the previous alpha's coefficients, like resuming a checkpoint
    model = ElasticNet(l1_ratio=args.l1_ratio, random_state=42, warm_start=True)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="regularisation_path") as run:
        mlflow.log_params({"alphas": path, "l1_ratio": args.l1_ratio})
        mlflow.log_input(train_ds, context="training")
        mlflow.log_input(eval_ds, context="evaluation")

        # One checkpoint per alpha: a logged model with its params and step, then its metrics
        for step, alpha in enumerate(path):
            model.set_params(alpha=alpha).fit(train_x, train_y)
            # MLflow 2.x: log_model(sk_model, artifact_path=...), a folder in the run; 3.x names a logged model
            model_info = mlflow.sklearn.log_model(
                sk_model=model,
                name=f"checkpoint-{step}",
                params={"alpha": alpha, "l1_ratio": args.l1_ratio},
                step=step,
                signature=infer_signature(train_x, model.predict(train_x)),
                # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
                pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
            )
            predicted = model.predict(test_x)
            metrics = {
                "rmse": root_mean_squared_error(test_y, predicted),
                "mae": mean_absolute_error(test_y, predicted),
                "r2": r2_score(test_y, predicted),
            }
            # The metrics belong to this checkpoint, computed on the evaluation dataset
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
    registered = mlflow.register_model(best.model_uri, args.model_name)
    print(f"registered {best.name} ({best.model_uri}) as {args.model_name} version {registered.version}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, not the wine CSV, no server
        sys.exit(f"error: {exc}")
