"""MLflow's tracking quickstart against a tracking server: log, register, load, predict.

The guide's "Extra" example, ported to MLflow 3: a LogisticRegression on the
iris data is trained and evaluated, then one run records its hyperparameters,
its accuracy, a tag and the model; ``registered_model_name`` also registers
the model (version 1, 2, ... of ``--model-name``). Finally the model is
loaded back as a generic pyfunc model and predicts the test rows.

The tracking URI comes from ``MLFLOW_TRACKING_URI`` (the guide hard-coded
``mlflow.set_tracking_uri("http://127.0.0.1:8080")``): start a server first
(``mlflow server ...`` or ``server.py``) and export its URL. Any other store works too.

    export MLFLOW_TRACKING_URI=http://127.0.0.1:<port>    # the server's URL
    python examples/12_tracking_server/quickstart_iris.py
"""

import argparse
import sys
from importlib.metadata import version

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn import datasets
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--experiment-name", default="MLflow Quickstart", help="(default: %(default)s)")
    parser.add_argument("--model-name", default="tracking-quickstart", help="registered model (default: %(default)s)")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1. Train and evaluate (no MLflow yet): 150 iris flowers, 4 measurements, 3 classes
    iris = datasets.load_iris()
    train_x, test_x, train_y, test_y = train_test_split(iris.data, iris.target, test_size=0.2, random_state=42)
    # The guide also passed "multi_class": "auto" (the default); scikit-learn 1.8 removed the parameter.
    params = {"solver": "lbfgs", "max_iter": 1000, "random_state": 8888}
    model = LogisticRegression(**params).fit(train_x, train_y)
    accuracy = accuracy_score(test_y, model.predict(test_x))

    # 2. Track the run and register the model (the URI comes from MLFLOW_TRACKING_URI)
    print(f"tracking URI: {mlflow.get_tracking_uri()}")
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params(params)
        mlflow.log_metric("accuracy", accuracy)
        mlflow.set_tag("Training Info", "Basic LR model for iris data")
        signature = infer_signature(train_x, model.predict(train_x))
        # MLflow 2.x: log_model(sk_model=model, artifact_path="iris_model", ...); 3.x names the model instead.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="iris_model",
            signature=signature,
            input_example=train_x[:5],  # the guide passed all 120 training rows
            registered_model_name=args.model_name,
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
    print(f"run {run.info.run_id} ({run.info.run_name}) in experiment {experiment.name!r}: accuracy={accuracy:.4f}")
    print(f"  logged model:     {model_info.model_uri}")
    print(f"  registered model: {args.model_name} version {model_info.registered_model_version}")

    # 3. Load the model back as a generic Python function and predict the test rows
    loaded_model = mlflow.pyfunc.load_model(model_info.model_uri)
    predictions = loaded_model.predict(test_x)

    result = pd.DataFrame(test_x, columns=iris.feature_names)
    result["actual_class"] = test_y
    result["predicted_class"] = predictions
    print(result[:4].to_string())
    print(f"predicted {len(predictions)} rows; classes {sorted(set(int(value) for value in predictions))}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except MlflowException as exc:  # no server at MLFLOW_TRACKING_URI, a name the registry refuses
        sys.exit(f"error: {exc}")
