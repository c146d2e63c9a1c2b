"""Autologging a grid search: a parent run with one child run per candidate.

``mlflow.sklearn.autolog()`` (the scikit-learn flavor's own autolog, with
extra options) records a ``GridSearchCV`` fit as a parent run holding the
search's settings, the best candidate (``best_alpha``, ``best_l1_ratio``
params, ``best_cv_score`` metric), training metrics and a ``cv_results.csv``
artifact. The ``max_tuning_runs`` best candidates also get a child run each
(tagged ``mlflow.parentRunId``) with their params and cross-validation
scores; the rest are left out.

Autologging and manual logging mix: inside the same run the script logs the
test-set rmse of the best model with ``mlflow.log_metric`` and logs the best
estimator itself with ``mlflow.sklearn.log_model``.

The search runs inside the run, so every option is checked when the command
line is read: a bad value records nothing.

    python examples/04_autolog/autolog_gridsearch.py --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.5 0.9 --cv 3
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import GridSearchCV, train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def non_negative(text):
    if not float(text) >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return float(text)


def fraction(text):
    if not 0 <= float(text) <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return float(text)


def positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def two_or_more(text):
    if int(text) < 2:  # one fold leaves nothing to validate on
        raise argparse.ArgumentTypeError(f"must be >= 2, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="autolog_gridsearch", help="(default: autolog_gridsearch)")
    parser.add_argument("--alphas", nargs="+", type=non_negative, default=[0.1, 0.5, 1.0], help="(default: 0.1 0.5 1)")
    parser.add_argument("--l1-ratios", nargs="+", type=fraction, default=[0.1, 0.5, 0.9], help="(default: 0.1 0.5 0.9)")
    parser.add_argument("--cv", type=two_or_more, default=3, help="cross-validation folds (default: 3)")
    parser.add_argument("--max-tuning-runs", type=positive_int, default=5, help="child runs for the best (default: 5)")
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

    # Switch on the scikit-learn autologging, with its tuning option
    experiment = mlflow.set_experiment(args.experiment_name)
    mlflow.sklearn.autolog(
        max_tuning_runs=args.max_tuning_runs,
        # The model is logged by hand below: autolog would log two (the whole search and
        # its best estimator), each with a ~3 s pip-requirements inference, and as cloudpickle.
        log_models=False,
    )

    # The grid: every alpha with every l1_ratio, each scored by cross-validation (higher is better,
    # hence the negative rmse)
    search = GridSearchCV(
        ElasticNet(random_state=42),
        param_grid={"alpha": args.alphas, "l1_ratio": args.l1_ratios},
        cv=args.cv,
        scoring="neg_root_mean_squared_error",
    )

    # Fit the search inside a named run; autologging fills it and adds the child runs
    with mlflow.start_run(run_name="elasticnet-gridsearch") as run:
        search.fit(train_x, train_y)

        # Manual logging beside autologging, into the same run
        predictions = search.predict(test_x)  # the refitted best estimator
        test_rmse = root_mean_squared_error(test_y, predictions)
        mlflow.log_metric("test_rmse", test_rmse)
        # MLflow 2.x: log_model(sk_model, artifact_path="best_estimator"); 3.x names the model instead.
        model_info = mlflow.sklearn.log_model(
            sk_model=search.best_estimator_,
            name="best_estimator",
            signature=infer_signature(test_x, predictions),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    # Read back the parent: the search's settings and its best candidate
    parent = mlflow.get_run(run.info.run_id)
    print(f"parent run {run.info.run_id} in experiment {experiment.name!r}")
    print(f"  {len(search.cv_results_['params'])} candidates x {parent.data.params['cv']} folds")
    best = {name: value for name, value in parent.data.params.items() if name.startswith("best_")}
    print(f"  {best}, best_cv_score {parent.data.metrics['best_cv_score']:.4f}, test_rmse {test_rmse:.4f}")
    print(f"  model: {model_info.model_uri}")

    # The child runs: the max_tuning_runs best candidates, each tagged with its parent's id
    children = mlflow.search_runs(
        experiment_ids=[experiment.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}'",
        order_by=["metrics.rank_test_score"],
        output_format="list",
    )
    for child in children:
        params, metrics = child.data.params, child.data.metrics
        print(
            f"  child {child.info.run_name}: alpha={params['alpha']}, l1_ratio={params['l1_ratio']}, "
            f"rank {metrics['rank_test_score']:.0f}, mean_test_score {metrics['mean_test_score']:.4f}"
        )
    print(f"  tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, not the wine CSV, no server
        sys.exit(f"error: {exc}")
