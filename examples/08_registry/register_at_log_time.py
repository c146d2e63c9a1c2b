"""Register a model in the Model Registry while logging it.

``log_model(..., registered_model_name=NAME)`` logs the model in the run and
creates a new version of the registered model NAME in one call (the
registered model itself is created the first time). Every run of this script
adds a version.

Then the registry's own metadata, which lives on the registered model and its
versions rather than on the run:

- a description of the registered model (``update_registered_model``);
- a description of the new version (``update_model_version``);
- version tags with its hyperparameters and test rmse (``set_model_version_tag``).

Aliases (champion/challenger) are the next script's job: promote_challenger.py.

    python examples/08_registry/register_at_log_time.py --alpha 0.5 --l1-ratio 0.1
"""

import mlflow
import mlflow.sklearn
from _options import add_model_name
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter

MODEL_DESCRIPTION = "ElasticNet predicting red wine quality (0-10) from 11 physico-chemical features."


def main() -> None:
    args = add_model_name(example_parser(__doc__, experiment="wine_registry")).parse_args()

    # Fit and evaluate outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # Log the run; registered_model_name also creates a registry version of the logged model
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="register_at_log_time") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
            registered_model_name=args.model_name,
        )
    version = str(model_info.registered_model_version)

    # Describe the registered model and the new version, and tag the version
    client = MlflowClient()
    client.update_registered_model(args.model_name, description=MODEL_DESCRIPTION)
    client.update_model_version(
        args.model_name,
        version,
        description=(
            f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio}), registered at log time; "
            f"test rmse {metrics['rmse']:.4f}."
        ),
    )
    for key, value in {"alpha": args.alpha, "l1_ratio": args.l1_ratio, "rmse": metrics["rmse"]}.items():
        client.set_model_version_tag(args.model_name, version, key, str(value))

    print(f"run {run.info.run_id}: registered {args.model_name!r} version {version} (rmse {metrics['rmse']:.4f})")
    print(f"  logged model: {model_info.model_uri}")
    print(f"  registry URI of this version: models:/{args.model_name}/{version}")


if __name__ == "__main__":
    run_example(main)
