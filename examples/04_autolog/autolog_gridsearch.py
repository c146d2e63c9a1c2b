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

    python examples/04_autolog/autolog_gridsearch.py --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.5 0.9 --cv 3
"""

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import GridSearchCV

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import add_grid_options, positive_int
from winelab.tracking import pip_requirements, tag_chapter


def main() -> None:
    parser = example_parser(__doc__, experiment="autolog_gridsearch", model=False)
    add_grid_options(parser)
    parser.add_argument(
        "--cv", type=positive_int, default=3, help="cross-validation folds, >= 2 (default: %(default)s)"
    )
    parser.add_argument(
        "--max-tuning-runs",
        type=positive_int,
        default=5,
        help="child runs for the best candidates (default: %(default)s)",
    )
    args = parser.parse_args()
    if args.cv < 2:
        parser.error("argument --cv: cross-validation needs at least 2 folds")

    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)

    # Switch on the scikit-learn autologging, with its tuning option
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    mlflow.sklearn.autolog(
        max_tuning_runs=args.max_tuning_runs,
        # The model is logged by hand below: autolog would log two (the whole search and
        # its best estimator), each with a ~3 s pip-requirements inference, and as cloudpickle.
        log_models=False,
    )

    # Fit the search inside a named run; autologging fills it and adds the child runs
    search = GridSearchCV(
        ElasticNet(random_state=args.seed),
        param_grid={"alpha": args.alphas, "l1_ratio": args.l1_ratios},
        cv=args.cv,
        scoring="neg_root_mean_squared_error",
    )
    with mlflow.start_run(run_name="elasticnet-gridsearch") as run:
        search.fit(train_x, train_y)

        # Manual logging beside autologging, into the same run
        predictions = search.predict(test_x)  # the refitted best estimator
        test_metrics = regression_metrics(test_y, predictions)
        mlflow.log_metric("test_rmse", test_metrics["rmse"])
        model_info = mlflow.sklearn.log_model(
            sk_model=search.best_estimator_,
            name="best_estimator",
            signature=infer_signature(test_x, predictions),
            pip_requirements=pip_requirements(),  # explicit pins: skips a slow inference step
        )

    n_children = min(args.max_tuning_runs, len(search.cv_results_["params"]))
    print(f"parent run {run.info.run_id} in experiment {experiment.name!r}")
    print(f"  {len(search.cv_results_['params'])} candidates x {args.cv} folds; {n_children} child runs")
    print(f"  best: {search.best_params_}, cv rmse {-search.best_score_:.4f}, test rmse {test_metrics['rmse']:.4f}")
    print(f"  model: {model_info.model_uri}")
    print(f"  tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    run_example(main)
