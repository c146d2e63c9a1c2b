"""Entry point ``main`` of the wine project: train one ElasticNet.

This file is run *by MLflow Projects*, not by hand. ``mlflow run`` (or
``mlflow.projects.run``) first creates the run, logs the entry point's
parameters (alpha, l1_ratio, test_size, seed, data) and source tags on it,
then starts this script with ``MLFLOW_RUN_ID`` set. So the script neither
chooses an experiment nor logs its parameters: ``mlflow.start_run()`` simply
joins that run, and the script adds the metrics and the model.

It imports only packages listed in ``python_env.yaml`` (its helpers are in
``wine.py`` next to it), so ``mlflow run`` works with the environment MLflow
builds, on any machine:

    mlflow run examples/09_projects/wine_project -P alpha=0.4 -P l1_ratio=0.2 --env-manager local
"""

import argparse

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

# wine.py, next to this file: the data, the split, the metrics, the option checks
from wine import add_data_options, load_wine, number, pip_requirements, regression_metrics, split


def parse_args() -> argparse.Namespace:
    # No --experiment-name: `mlflow run --experiment-name` decides where the run goes.
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--alpha", type=number, default=0.7, help="regularisation strength, >= 0 (default: %(default)s)"
    )
    parser.add_argument(
        "--l1-ratio",
        type=lambda text: number(text, 0, 1),
        default=0.7,
        help="L1/L2 mix, in [0, 1] (default: %(default)s)",
    )
    add_data_options(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()

    # Fit and evaluate before touching the run
    train_x, test_x, train_y, test_y = split(load_wine(args.data), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # Join the run MLflow opened for this entry point (its id is in MLFLOW_RUN_ID)
    with mlflow.start_run() as run:
        # The parameters are already on the run: MLflow logged the -P values and the defaults.
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
        )

    print(f"train: run {run.info.run_id}, rmse={metrics['rmse']:.4f}, model {model_info.model_uri}")


if __name__ == "__main__":
    main()
