"""Log a custom python_function model: your own wrapper, artifacts and code.

When MLflow has no flavor for what you need, wrap it in a
``mlflow.pyfunc.PythonModel`` (here ``_wine_wrapper.WineQualityModel``) and
log it with ``mlflow.pyfunc.log_model``. The model package then holds:

- ``artifacts``: files the wrapper needs, here the ElasticNet saved with
  joblib and a ``data`` folder with the train/test splits as CSV;
- ``code_paths``: the module that defines the wrapper, so it can be loaded
  anywhere;
- an explicit environment (a conda env dict with pinned pip packages);
- a signature and an input example.

Load it from another process with ``load_custom_model.py``.

    python examples/06_custom_libraries/model_customization.py --alpha 0.5 --l1-ratio 0.1
    python examples/06_custom_libraries/load_custom_model.py
"""

import argparse
import os
import platform
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
import pandas as pd
from _wine_wrapper import WineQualityModel  # the wrapper class, in the module code_paths ships
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="custom_model", help="(default: custom_model)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--test-size", type=float, default=0.25, help="share of wines held out, 0-1 (default: 0.25)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the model (default: 42)")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=args.test_size, random_state=args.seed)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Fit and evaluate outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }
    signature = infer_signature(train_x, model.predict(train_x))

    # The environment the model needs, as a conda env with pinned pip packages
    pins = [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "cloudpickle", "joblib")]
    conda_env = {
        "name": "wine_custom_model",
        "channels": ["conda-forge"],
        # The guide wrote f"python={sys.version}", which also holds the compiler and build date.
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": pins}],
    }

    experiment = mlflow.set_experiment(args.experiment_name)
    with tempfile.TemporaryDirectory() as scratch:
        # Artifacts: the model saved with joblib, and the data splits as CSV (no index column)
        model_path = Path(scratch, "model.joblib")
        joblib.dump(model, model_path)
        data_dir = Path(scratch, "data")
        data_dir.mkdir()
        train.to_csv(data_dir / "train.csv", index=False)
        test.to_csv(data_dir / "test.csv", index=False)
        artifacts = {"model": str(model_path), "data": str(data_dir)}

        # Log the wrapper with its artifacts, its code and its environment
        with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
            mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
            mlflow.log_metrics(metrics)
            # MLflow 2.x: log_model(artifact_path=..., code_path=[...]); 3.x: name=..., code_paths=[...].
            model_info = mlflow.pyfunc.log_model(
                name="custom_mlflow_pyfunc",
                python_model=WineQualityModel(),
                artifacts=artifacts,
                # The wrapper's module goes into the model's code/ folder, on sys.path when it loads
                code_paths=[str(Path(__file__).with_name("_wine_wrapper.py"))],
                conda_env=conda_env,
                signature=signature,
                input_example=test_x.head(2),
            )

    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print(f"  model: {model_info.model_uri}")
    print(f"  load it: python {Path(__file__).with_name('load_custom_model.py')} --run-id {run.info.run_id}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha or --test-size, no server
        sys.exit(f"error: {exc}")
