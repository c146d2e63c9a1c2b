"""Track one ElasticNet training run with MLflow.

The baseline again, now recorded: the run's parameters (alpha, l1_ratio),
its metrics (rmse, mae, r2 on the test split) and the fitted model, logged
with a signature inferred from the training data and a two-row input example.

The model is fitted and evaluated *before* the run opens, so a failure there
leaves no half-written run in the store.

Where it lands: ``$MLFLOW_TRACKING_URI``, or ``sqlite:///mlflow.db`` in the
current folder (MLflow 3's default). Look at it with ``mlflow ui``.

    python examples/01_tracking/basic_regression_mlflow.py --alpha 0.5 --l1-ratio 0.1
"""

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter


def main() -> None:
    args = example_parser(__doc__, experiment="experiment_1").parse_args()

    # Fit and evaluate outside any run: if this fails, nothing is recorded
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # The signature records the input columns and the output type
    signature = infer_signature(train_x, model.predict(train_x))

    # Choose (or create) the experiment, then record the run
    experiment = mlflow.set_experiment(args.experiment_name)
    # Tags on the experiment: {"chapter": "01_tracking", "guide_section": ...}, to filter by chapter in the UI
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_param("alpha", args.alpha)
        mlflow.log_param("l1_ratio", args.l1_ratio)
        mlflow.log_metric("rmse", metrics["rmse"])
        mlflow.log_metric("mae", metrics["mae"])
        mlflow.log_metric("r2", metrics["r2"])
        # MLflow 2.x: log_model(sk_model, artifact_path="wine_model"); 3.x names the model instead.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),  # explicit pins: skips a slow inference step
        )

    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print(f"  model: {model_info.model_uri}")
    print(f"  tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    run_example(main)
