"""A custom flavor: the ElasticNet saved as JSON by a flavor module of your own.

MLflow's flavors (``mlflow.sklearn``, ...) decide how a model is written to
files and read back. A custom flavor does the same for a format of your
choice. ``_json_flavor.py``, next to this script, stores the ElasticNet's
settings, coefficients and intercept as JSON: readable, diffable, and no
pickle to trust. The script

* saves the model with the flavor's ``save_model`` and shows the files, the
  ``MLmodel`` flavors (``elasticnet_json`` and ``python_function``, whose
  ``loader_module`` is ``_json_flavor``) and the JSON;
* logs it with the flavor's ``log_model``, passing the flavor module in
  ``code_paths`` so the model carries the code that loads it;
* loads it natively (the flavor's ``load_model``: an ElasticNet again);
* predicts with ``mlflow models predict`` in a fresh process, where this
  folder is not on ``sys.path``: only the model's own copy of ``_json_flavor``
  can be imported.

Files go to ``--output-dir``; the run to ``$MLFLOW_TRACKING_URI`` (else ``./mlflow.db``).

    python examples/16_model_format/custom_flavor.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import _json_flavor
import mlflow
import numpy as np
import pandas as pd
import yaml
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="model_format", help="(default: model_format)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--rows", type=positive_int, default=5, help="test wines to predict (default: 5)")
    parser.add_argument("--output-dir", type=Path, default=Path("model_format_files/custom_flavor"),
                        help="folder for the files this script writes (default: %(default)s)")  # fmt: skip
    return parser.parse_args()


def main():
    args = parse_args()
    out = args.output_dir.resolve()
    flavor_module = str(Path(_json_flavor.__file__).resolve())  # the file the model must carry in code/
    # MLflow's own switch: no "Downloading artifacts" progress bars (here and in `mlflow models predict`)
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"

    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    rows = test.drop(columns="quality").head(args.rows)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    signature = infer_signature(train_x, model.predict(train_x))
    # Saving needs no tracking store; logging (below) does. Chosen now, so a bad store fails at once.
    experiment = mlflow.set_experiment(args.experiment_name)

    # Save with the custom flavor: model.json, the flavor's code, the environment, MLmodel
    model_dir = out / "elasticnet_json"
    shutil.rmtree(model_dir, ignore_errors=True)  # save_model refuses a folder that is not empty
    _json_flavor.save_model(model, model_dir, code_paths=[flavor_module], signature=signature)
    files = sorted(str(path.relative_to(model_dir)) for path in model_dir.rglob("*") if path.is_file())
    print(f"saved with _json_flavor.save_model into {model_dir}:\n  {', '.join(files)}")
    flavors = yaml.safe_load((model_dir / "MLmodel").read_text())["flavors"]
    print("MLmodel flavors:\n  " + yaml.safe_dump(flavors, sort_keys=False).rstrip().replace("\n", "\n  "))
    head = (model_dir / _json_flavor.MODEL_FILE).read_text().splitlines()[:8]
    print(f"{_json_flavor.MODEL_FILE} (start):\n  " + "\n  ".join(head))

    # Log it like any flavor: Model.log calls the flavor's save_model, then uploads the folder
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="custom_flavor") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model_info = _json_flavor.log_model(
            model, name="elasticnet_json", code_paths=[flavor_module], signature=signature
        )
    print(f"\nrun {run.info.run_id}: logged {model_info.model_uri} (flavors: {', '.join(model_info.flavors)})")

    # Load natively: the flavor rebuilds an ElasticNet from the JSON
    native = _json_flavor.load_model(model_info.model_uri)
    same = np.array_equal(native.predict(rows), model.predict(rows))
    print(f"_json_flavor.load_model -> {type(native).__name__}; predicts as the fitted model: {same}")

    # Predict in a fresh process: pyfunc imports _json_flavor from the model's own code/ folder
    rows.to_csv(out / "input.csv", index=False)
    command = [
        "models", "predict", "-m", model_info.model_uri, "-i", str(out / "input.csv"), "-t", "csv",
        "-o", str(out / "predictions.json"), "--env-manager", "local",
    ]  # fmt: skip
    print(f"\n$ mlflow {shlex.join(command)}", flush=True)
    # `python -m mlflow` is the `mlflow` command of this Python; MLflow's own switch keeps its INFO lines out.
    # It reads the same store: MLFLOW_TRACKING_URI, or ./mlflow.db in the same working folder.
    env = {**os.environ, "MLFLOW_LOGGING_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "mlflow", *command], env=env, check=True, stdin=subprocess.DEVNULL)
    predictions = json.loads((out / "predictions.json").read_text())["predictions"]
    print(f"predictions: {predictions}")
    print(f"equal to the fitted model's: {np.array_equal(predictions, model.predict(rows))}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException, subprocess.CalledProcessError) as exc:  # also: predict failed
        sys.exit(f"error: {str(exc).splitlines()[0]}")
