"""Load the custom model in a new process and evaluate it on its own test split.

Finds the run that ``model_customization.py`` recorded (``--run-id``, or else
the newest run of the experiment), then the model that run logged (MLflow 3
keeps models as ``LoggedModel`` entities linked to their source run), loads
it with ``mlflow.pyfunc.load_model`` and predicts the test split that was
shipped inside the model as a ``data`` artifact, so the rows are exactly
the ones held out during training, whatever split the model was logged
with. Prints rmse, mae and r2. It records nothing.

Nothing from this repository is needed to load the model: the wrapper class
comes from the model's ``code`` folder.

    python examples/06_custom_libraries/load_custom_model.py
    python examples/06_custom_libraries/load_custom_model.py --run-id <run id>
"""

import argparse
import sys

import mlflow
import mlflow.pyfunc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run-id", help="run that logged the model (default: the newest run of the experiment)")
    parser.add_argument("--experiment-name", default="custom_model", help="where to look without --run-id")
    return parser.parse_args()


def main():
    args = parse_args()
    client = MlflowClient()

    # The run: the one given, or the newest in the experiment
    if args.run_id:
        run = client.get_run(args.run_id)
    else:
        experiment = client.get_experiment_by_name(args.experiment_name)
        runs = []
        if experiment:
            runs = client.search_runs(
                [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1
            )
        if not runs:
            sys.exit(f"error: no run in experiment {args.experiment_name!r}; run model_customization.py first")
        run = runs[0]

    # The model that run logged (MLflow 2.x: the URI runs:/<run id>/custom_mlflow_pyfunc)
    models = client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    if not models:
        sys.exit(f"error: run {run.info.run_id} logged no model")
    model_uri = models[0].model_uri

    # Load it: MLflow puts the model's code folder on sys.path and calls load_context()
    model = mlflow.pyfunc.load_model(model_uri)

    # The test split shipped with the model, through the wrapper's own helper method
    test = model.unwrap_python_model().load_split("test")
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    predicted = model.predict(test_x)

    print(f"run {run.info.run_id}, model {model_uri}")
    print(
        f"  {len(test)} test wines: rmse={root_mean_squared_error(test_y, predicted):.4f}, "
        f"mae={mean_absolute_error(test_y, predicted):.4f}, r2={r2_score(test_y, predicted):.4f}"
    )


if __name__ == "__main__":
    try:
        main()
    except (OSError, MlflowException) as exc:  # an unknown --run-id, no server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
