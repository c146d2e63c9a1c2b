"""MLflow's tracking quickstart against a tracking server: log, register, load, predict.

The guide's "Extra" example, ported to MLflow 3: a LogisticRegression on the
iris data is trained and evaluated, then one run records its hyperparameters,
its accuracy, a tag and the model; ``registered_model_name`` also registers
the model (version 1, 2, ... of ``tracking-quickstart``). Finally the model is
loaded back as a generic pyfunc model and predicts the test rows.

The tracking URI comes from ``MLFLOW_TRACKING_URI`` (the guide hard-coded
``mlflow.set_tracking_uri("http://127.0.0.1:8080")``); start a server with
``server.py`` and export the line it prints. Any other store works too.

    export MLFLOW_TRACKING_URI=http://127.0.0.1:<port>    # the line server.py printed
    python examples/12_tracking_server/quickstart_iris.py
"""

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
from mlflow.models import infer_signature
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

from winelab import example_parser, run_example
from winelab.tracking import pip_requirements, tag_chapter


def main() -> None:
    parser = example_parser(__doc__, experiment="MLflow Quickstart", model=False)
    parser.add_argument(
        "--registered-model-name",
        default="tracking-quickstart",
        help="name in the model registry (default: %(default)s)",
    )
    parser.set_defaults(test_size=0.2)  # the quickstart's split
    args = parser.parse_args()

    # 1. Train and evaluate (no MLflow yet)
    features, target = datasets.load_iris(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(
        features, target, test_size=args.test_size, random_state=args.seed
    )
    # The guide also passed "multi_class": "auto"; scikit-learn deprecated it in 1.5 and has since removed it.
    params = {"solver": "lbfgs", "max_iter": 1000, "random_state": 8888}
    model = LogisticRegression(**params).fit(train_x, train_y)
    accuracy = accuracy_score(test_y, model.predict(test_x))

    # 2. Track the run and register the model (the URI comes from MLFLOW_TRACKING_URI)
    print(f"tracking URI: {mlflow.get_tracking_uri()}")
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)  # {"chapter": "12_tracking_server", ...}: a UI filter
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metric("accuracy", accuracy)
        mlflow.set_tag("Training Info", "Basic LR model for iris data")
        signature = infer_signature(train_x, model.predict(train_x))
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="iris_model",
            signature=signature,
            input_example=train_x[:5],  # the guide passed all 120 training rows
            registered_model_name=args.registered_model_name,
            pip_requirements=pip_requirements(),  # explicit pins: skips a slow inference step
        )
    print(f"run {run.info.run_id} ({run.info.run_name}) in experiment {experiment.name!r}: accuracy={accuracy:.4f}")
    print(f"  logged model:     {model_info.model_uri}")
    print(f"  registered model: {args.registered_model_name} version {model_info.registered_model_version}")

    # 3. Load the model back as a generic Python function and predict the test rows
    loaded_model = mlflow.pyfunc.load_model(model_info.model_uri)
    predictions = loaded_model.predict(test_x)

    result = pd.DataFrame(test_x, columns=datasets.load_iris().feature_names)
    result["actual_class"] = test_y
    result["predicted_class"] = predictions
    print(result[:4].to_string())
    print(f"predicted {len(predictions)} rows; classes {sorted(set(int(value) for value in predictions))}")


if __name__ == "__main__":
    run_example(main)
