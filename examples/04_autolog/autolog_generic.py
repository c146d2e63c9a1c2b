"""Autologging: one ``mlflow.autolog()`` call instead of the log_* calls.

``mlflow.autolog()`` is called once, before the model is defined and fitted.
It detects scikit-learn and patches ``fit``: since no run is active, the fit
opens a run, records it and ends it. What lands in that run:

* params: every constructor argument of the ElasticNet (``get_params()``),
  not only alpha and l1_ratio;
* metrics: ``training_*`` scores computed on the training data
  (rmse, mae, r2, ``training_score``), plus any ``sklearn.metrics`` function
  called later on the model's predictions (here the test-set rmse, logged
  as ``root_mean_squared_error_test_x``);
* the model, as a logged model named ``model`` with an inferred signature;
* the training data (and, once predicted on, the test data) as datasets.

Because the fit runs inside the autologged run, --alpha and --l1-ratio are
checked when the command line is read: a bad value records nothing.

    python examples/04_autolog/autolog_generic.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import os
import sys

import mlflow
import pandas as pd
import sklearn.metrics
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def non_negative(text):
    if not float(text) >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return float(text)


def fraction(text):
    if not 0 <= float(text) <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return float(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="autolog_generic", help="(default: autolog_generic)")
    parser.add_argument("--alpha", type=non_negative, default=0.7, help="regularisation strength (default: 0.7)")
    parser.add_argument("--l1-ratio", type=fraction, default=0.7, help="share of L1 in the penalty (default: 0.7)")
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

    # Choose the experiment, then switch autologging on *before* fitting.
    # It saves the model with cloudpickle, so MLflow 3 prints a WARNING recommending skops;
    # mlflow.sklearn.autolog(serialization_format="skops") would choose the safe format.
    # pyspark is installed too (chapter 21), so a bare mlflow.autolog() would also arm Spark's
    # datasource autologging and warn about PYSPARK_PIN_THREAD; this lesson has no Spark in it.
    experiment = mlflow.set_experiment(args.experiment_name)
    mlflow.autolog(exclude_flavors=["spark"])

    # Fit as usual: autologging opens a run, records it and ends it
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    run = mlflow.last_active_run()

    # A sklearn.metrics function called on the model's predictions is autologged too, named
    # after the function and the variable holding the inputs ("test_x"). Call it through the
    # module: autolog patched sklearn.metrics, not a name imported before it ran.
    test_rmse = sklearn.metrics.root_mean_squared_error(test_y, model.predict(test_x))

    # Read back what autologging recorded
    recorded = mlflow.get_run(run.info.run_id)
    print(f"run {run.info.run_id} ({run.info.run_name!r}) in experiment {experiment.name!r}")
    # Autologging tags its runs: search them with filter_string="tags.mlflow.autologging = 'sklearn'"
    print(f"  tag mlflow.autologging = {recorded.data.tags['mlflow.autologging']}")
    # Params: every constructor argument of the ElasticNet, not only the two chosen here
    print(f"  params ({len(recorded.data.params)}): " + ", ".join(sorted(recorded.data.params)))
    # Metrics: training_* scores on the training data, and the test rmse computed above
    for name, value in sorted(recorded.data.metrics.items()):
        print(f"  metric {name} = {value:.4f}")
    print(f"  test rmse computed here: {test_rmse:.4f}")
    # Datasets: the training data ("train") and the data the model predicted on ("eval")
    for dataset_input in recorded.inputs.dataset_inputs:
        context = {tag.key: tag.value for tag in dataset_input.tags}.get("mlflow.data.context")
        print(f"  dataset ({context}): {dataset_input.dataset.profile}, digest {dataset_input.dataset.digest}")
    # The model: MLflow 2.x kept it among the run's artifacts (runs:/<run id>/model); 3.x logs a LoggedModel
    logged_model = mlflow.last_logged_model()
    print(f"  model: {logged_model.name!r} {logged_model.model_uri}, files in {logged_model.artifact_location}")
    print(f"  tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: autologging has already marked its run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, not the wine CSV, no server
        sys.exit(f"error: {exc}")
