"""Entry point ``main`` of the wine project: train one ElasticNet.

This file is run *by MLflow Projects*, not by hand. ``mlflow run`` (or
``mlflow.projects.run``) first creates the run, logs the entry point's
parameters (alpha, l1_ratio) and source tags on it, then starts this script
with ``MLFLOW_RUN_ID`` set. So the script neither chooses an experiment nor
logs its parameters: ``mlflow.start_run()`` simply joins that run, and the
script adds the metrics and the model.

    mlflow run examples/09_projects/wine_project -P alpha=0.4 -P l1_ratio=0.2 --env-manager local
"""

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements


def main() -> None:
    # No --experiment-name: `mlflow run --experiment-name` decides where the run goes.
    args = example_parser(__doc__).parse_args()

    # %% Fit and evaluate before touching the run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # %% Join the run MLflow opened for this entry point (its id is in MLFLOW_RUN_ID)
    with mlflow.start_run() as run:
        # alpha and l1_ratio are already on the run: MLflow logged the -P values.
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
    run_example(main)
