"""Write a model signature by hand with ``Schema`` and ``ColSpec``.

A signature tells MLflow what a model takes and returns. Here it is spelled
out column by column: the 11 physico-chemical features, each a ``double``
(the target ``quality`` is *not* an input), and one ``double`` output, the
predicted quality. The model is logged with that signature and a three-row
input example, then the script shows where the MLmodel file is and prints
its ``signature`` section.

Writing a signature by hand is rarely needed (``infer_signature.py`` is the
usual way), but it shows exactly what MLflow stores.

    python examples/05_signatures/manual_signature.py
    python examples/05_signatures/enforcement.py     # then see it enforced
"""

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.sklearn
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="signatures", help="(default: signatures)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
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

    # Fit and evaluate outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # The signature, by hand: one ColSpec(type, name) per input column, one unnamed output
    input_schema = Schema([ColSpec("double", name) for name in train_x.columns])
    output_schema = Schema([ColSpec("double")])  # ElasticNet predicts floats, not longs
    signature = ModelSignature(inputs=input_schema, outputs=output_schema)

    # The input example: a few real rows with exactly the signature's columns
    input_example = test_x.head(3)

    # Log the model with both
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="manual_signature") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        # MLflow 2.x: log_model(lr, "model", signature=...); 3.x names the model with name=.
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=input_example,
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    # The MLmodel file describes the model: flavors, environment, signature, input example
    logged_model = mlflow.get_logged_model(model_info.model_id)
    mlmodel_path = mlflow.artifacts.download_artifacts(artifact_uri=f"{logged_model.artifact_location}/MLmodel")
    mlmodel = yaml.safe_load(Path(mlmodel_path).read_text())
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print(f"  model: {model_info.model_uri}")
    print(f"  MLmodel: {logged_model.artifact_location}/MLmodel")
    example_files = mlmodel["saved_input_example_info"]  # the example, and the same rows as a serving request
    print(f"  input example: {example_files['artifact_path']}, {example_files['serving_input_path']} next to it")
    print(yaml.safe_dump({"signature": mlmodel["signature"]}, sort_keys=False, width=100).rstrip())


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
