"""Log a custom python_function model from code, MLflow's recommended way.

``model_customization.py`` hands ``log_model`` a ``PythonModel`` *object*, which
MLflow pickles with cloudpickle (and warns about). Here ``python_model`` is the
*path* of a Python file, ``_wine_model_code.py``, that ends with
``mlflow.models.set_model(WineQualityFromCode())``. MLflow copies the file into
the model and runs it again at every load; nothing but the fitted ElasticNet
(an artifact, saved with joblib) is serialized.

The script logs the model, loads it back with ``mlflow.pyfunc.load_model`` and
checks that it predicts exactly what the fitted ElasticNet predicts.

    python examples/06_custom_libraries/log_model_from_code.py --alpha 0.1 --l1-ratio 0.9
"""

import argparse
import os
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"

# The model code file: a lesson module of its own, beside this script
MODEL_CODE = Path(__file__).resolve().with_name("_wine_model_code.py")


def positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="custom_model_from_code", help="(default: custom_model_from_code)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--rows", type=positive_int, default=5, help="test rows to predict (default: 5)")
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

    experiment = mlflow.set_experiment(args.experiment_name)
    with tempfile.TemporaryDirectory() as scratch, mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_path = Path(scratch, "model.joblib")
        joblib.dump(model, model_path)

        # Log the model as code: python_model is the file's path, not an object
        # MLflow before 2.13: only python_model=WineQualityModel(), pickled with cloudpickle.
        model_info = mlflow.pyfunc.log_model(
            name="wine_model_from_code",
            python_model=str(MODEL_CODE),
            artifacts={"model": str(model_path)},
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=test_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "joblib")],
        )

    # MLmodel names the code file (where it came from) instead of a python_model.pkl
    pyfunc = model_info.flavors["python_function"]
    code_file = Path(pyfunc["model_code_path"]).name  # copied into the model's root folder
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print(f"  model: {model_info.model_uri}")
    print(f"  python_function flavor: loader {pyfunc['loader_module']}, model code {code_file}")

    # Load it back: MLflow runs the copied file, set_model() hands over the object, load_context() runs
    loaded = mlflow.pyfunc.load_model(model_info.model_uri)
    rows = test_x.head(args.rows)
    predictions = loaded.predict(rows)
    difference = abs(predictions - model.predict(rows)).max()
    print(f"first {args.rows} test wines, loaded model vs fitted ElasticNet (max difference {difference:.1e}):")
    for actual, predicted in zip(test_y.head(args.rows), predictions, strict=True):
        print(f"  actual {actual}  predicted {predicted:.4f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
