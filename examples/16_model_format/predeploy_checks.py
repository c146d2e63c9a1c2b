"""Checks before deploying a model: its request example, its requirements, its Docker image.

Most serving failures come from a request the model rejects or from the
model's environment. This script logs the wine ElasticNet (with an input
example, so MLflow also writes ``serving_input_example.json``) and then

* validates a request before any server runs: ``mlflow.models.predict(...,
  env_manager="local")`` parses the model's own ``serving_input_example.json``
  exactly as the scoring server would, and predicts; a broken request (a
  column missing) is rejected with MLflow's message;
* fixes the logged model's requirements without logging it again:
  ``mlflow models update-pip-requirements ... add`` and ``... remove``, and
  shows how ``requirements.txt`` changed;
* writes a Docker build folder with ``mlflow models generate-dockerfile``
  (a ``Dockerfile`` and the model in ``model_dir/``; no Docker needed).

The ``mlflow`` commands are printed (``$ mlflow ...``) as you would type them in
a shell; the script runs the same click command in its own process
(``mlflow.cli.cli.main([...])``), which saves an MLflow start-up per command.
Files go to ``--output-dir``; the run to ``$MLFLOW_TRACKING_URI`` (else ``./mlflow.db``).

    python examples/16_model_format/predeploy_checks.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import json
import logging
import os
import shlex
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

import click
import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.cli import cli
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="model_format", help="(default: model_format)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--add", default=f"joblib=={version('joblib')}",
                        help="requirement to add to the logged model (default: %(default)s)")  # fmt: skip
    parser.add_argument("--remove", default="cloudpickle",
                        help="requirement to remove (default: %(default)s: a skops model needs none)")  # fmt: skip
    parser.add_argument("--output-dir", type=Path, default=Path("model_format_files/predeploy_checks"),
                        help="folder for the files this script writes (default: %(default)s)")  # fmt: skip
    return parser.parse_args()


def mlflow_command(*args):
    """`mlflow ARGS` as typed in a shell, run in this process: the click command behind the executable."""
    print(f"\n$ mlflow {shlex.join(args)}", flush=True)
    cli.main(list(args), prog_name="mlflow", standalone_mode=False)


def main():
    args = parse_args()
    out = args.output_dir
    # MLflow's own switch: no "Downloading artifacts" progress bars between the lines this script prints
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    # env_manager="local" is the point below: silence MLflow's INFO advice to use uv instead
    logging.getLogger("mlflow.models.python_api").setLevel(logging.WARNING)

    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, _ = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)

    # Log the model with an input example: MLflow also stores it as a request body.
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="predeploy_checks") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned: MLflow need not infer them. cloudpickle is one too many (MLflow 2.x pickled
            # models; this one is skops): the update-pip-requirements step below removes it.
            pip_requirements=[
                f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "cloudpickle")
            ],
        )
    # The logged model's folder in the artifact store (update-pip-requirements refuses models:/ URIs).
    location = mlflow.get_logged_model(model_info.model_id).artifact_location
    print(f"run {run.info.run_id}: logged {model_info.model_uri}\n  files at {location}")
    out.mkdir(parents=True, exist_ok=True)

    # Validate the model's own request example, as the scoring server would parse it, then predict
    serving_input = mlflow.artifacts.download_artifacts(f"{location}/serving_input_example.json", dst_path=str(out))
    # MLflow 2.x-3.13: mlflow.models.validate_serving_input(model_uri, serving_input); it warns from 3.14.
    mlflow.models.predict(
        model_uri=model_info.model_uri,
        input_path=serving_input,
        content_type="json",
        env_manager="local",  # this environment; "uv" or "virtualenv" rebuild the model's own
        output_path=str(out / "predictions.json"),
    )
    predictions = json.loads((out / "predictions.json").read_text())["predictions"]
    print(f"\nserving_input_example.json: valid; predictions {predictions}")

    # A broken request: the same rows without the alcohol column
    request = json.loads(Path(serving_input).read_text())
    table = request["dataframe_split"]
    missing = table["columns"].index("alcohol")
    table["columns"].pop(missing)
    for row in table["data"]:
        row.pop(missing)
    (out / "broken_input.json").write_text(json.dumps(request))
    try:
        mlflow.models.predict(
            model_uri=model_info.model_uri, input_path=str(out / "broken_input.json"), content_type="json",
            env_manager="local", output_path=str(out / "broken_predictions.json"),
        )  # fmt: skip
        print("broken_input.json: accepted (unexpected)")
    except MlflowException as exc:
        # The message also shows the data and the schema; its last sentence says what is wrong.
        print(f"broken_input.json: REJECTED by MLflow: {exc.message.rsplit('Error: ', 1)[-1]}")

    # Fix the requirements of the logged model in place: add one, remove one
    before = mlflow.artifacts.load_text(f"{location}/requirements.txt").splitlines()
    mlflow_command("models", "update-pip-requirements", "-m", location, "add", args.add)
    mlflow_command("models", "update-pip-requirements", "-m", location, "remove", args.remove)
    after = mlflow.artifacts.load_text(f"{location}/requirements.txt").splitlines()
    print("\nrequirements.txt, before -> after:")
    for line in sorted(set(before) | set(after)):
        print(f"  {'+' if line not in before else '-' if line not in after else ' '} {line}")

    # A Docker build folder: Dockerfile + model_dir/ (building the image needs Docker: see the README)
    shutil.rmtree(out / "docker", ignore_errors=True)  # a fresh build folder each run
    mlflow_command("models", "generate-dockerfile", "-m", model_info.model_uri, "-d", str(out / "docker"))
    print(f"\n{out / 'docker' / 'Dockerfile'} (without comments):")
    for line in (out / "docker" / "Dockerfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            print(f"  {line}")
    print(f"{out / 'docker' / 'model_dir'}: {', '.join(sorted(p.name for p in (out / 'docker/model_dir').iterdir()))}")
    print(f"\nwhere Docker exists, build and run the image:\n  docker build -t wine-model {out / 'docker'}")
    print(f"  (or in one step: mlflow models build-docker -m {model_info.model_uri} -n wine-model)")
    print("  docker run --rm -p 5001:8080 wine-model")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no tracking server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
    except click.ClickException as exc:  # an `mlflow` command refused its arguments (a bad --add)
        sys.exit(f"error: {exc.format_message()}")
