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

    python examples/16_model_format/custom_flavor.py --alpha 0.5 --l1-ratio 0.1
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import _json_flavor
import mlflow
import numpy as np
import yaml
from _outputs import add_output_dir, fresh
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import UserError, example_parser, load_wine, run_example, split
from winelab.cli import positive_int
from winelab.tracking import tag_chapter

FLAVOR_MODULE = Path(_json_flavor.__file__).resolve()
MLFLOW = Path(sys.executable).with_name("mlflow")  # the venv's `mlflow` executable


def main() -> None:
    parser = example_parser(__doc__, experiment="model_format")
    parser.add_argument("--rows", type=positive_int, default=5, help="test wines to predict (default: %(default)s)")
    add_output_dir(parser, "custom_flavor")
    args = parser.parse_args()
    out = args.output_dir.resolve()
    # Saving needs no tracking store; logging (below) does. Checked first, so a bad one fails at once.
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)

    train_x, test_x, train_y, _ = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    signature = infer_signature(train_x, model.predict(train_x))

    # Save with the custom flavor: model.json, the flavor's code, the environment, MLmodel
    model_dir = fresh(out / "elasticnet_json")
    _json_flavor.save_model(model, model_dir, code_paths=[str(FLAVOR_MODULE)], signature=signature)
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
            model, name="elasticnet_json", code_paths=[str(FLAVOR_MODULE)], signature=signature
        )
    print(f"\nrun {run.info.run_id}: logged {model_info.model_uri} (flavors: {', '.join(model_info.flavors)})")

    # Load natively: the flavor rebuilds an ElasticNet from the JSON
    rows = test_x.head(args.rows)
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
    # The CLI reads the same store through MLFLOW_TRACKING_URI (unset: ./mlflow.db, as here).
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow.get_tracking_uri()}
    completed = subprocess.run(
        [str(MLFLOW), *command], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"`mlflow models predict` failed (exit {completed.returncode}): {last}")
    predictions = json.loads((out / "predictions.json").read_text())["predictions"]
    print(f"predictions: {predictions}")
    print(f"equal to the fitted model's: {np.array_equal(predictions, model.predict(rows))}")


if __name__ == "__main__":
    run_example(main)
