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

The commands are printed (``$ mlflow ...``) as you would type them in a shell;
the script runs the same click commands in its own process
(``winelab.cli.mlflow_cli``), which saves an MLflow start-up per command.
Files go to ``--output-dir``.

    python examples/16_model_format/predeploy_checks.py --alpha 0.5 --l1-ratio 0.1
"""

import json
from importlib import metadata
from pathlib import Path

import mlflow
import mlflow.sklearn
from _outputs import add_output_dir, fresh
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, run_example, split
from winelab.cli import mlflow_cli
from winelab.tracking import pip_requirements, tag_chapter


def main() -> None:
    parser = example_parser(__doc__, experiment="model_format")
    parser.add_argument(
        "--add",
        default=f"joblib=={metadata.version('joblib')}",
        help="requirement to add to the logged model (default: %(default)s)",
    )
    parser.add_argument(
        "--remove",
        default="cloudpickle",
        help="requirement to remove; a skops-format model does not need cloudpickle (default: %(default)s)",
    )
    add_output_dir(parser, "predeploy_checks")
    args = parser.parse_args()
    out = args.output_dir

    # Log the model with an input example: MLflow also stores it as a request body
    train_x, _, train_y, _ = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="predeploy_checks") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model_info = mlflow.sklearn.log_model(
            model, name="wine_model", signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2), pip_requirements=pip_requirements(),
        )  # fmt: skip
    # The logged model's folder in the artifact store (update-pip-requirements refuses models:/ URIs).
    location = mlflow.get_logged_model(model_info.model_id).artifact_location
    print(f"run {run.info.run_id}: logged {model_info.model_uri}\n  files at {location}")
    out.mkdir(parents=True, exist_ok=True)

    # Validate the model's own request example, as the scoring server would parse it, then predict
    serving_input = mlflow.artifacts.download_artifacts(f"{location}/serving_input_example.json", dst_path=str(out))
    # MLflow 2.x-3.12: mlflow.models.validate_serving_input(model_uri, serving_input); deprecated in 3.13.
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
    mlflow_cli("models", "update-pip-requirements", "-m", location, "add", args.add)
    mlflow_cli("models", "update-pip-requirements", "-m", location, "remove", args.remove)
    after = mlflow.artifacts.load_text(f"{location}/requirements.txt").splitlines()
    print("\nrequirements.txt, before -> after:")
    for line in sorted(set(before) | set(after)):
        print(f"  {'+' if line not in before else '-' if line not in after else ' '} {line}")

    # A Docker build folder: Dockerfile + model_dir/ (building the image needs Docker: see the README)
    docker_dir = fresh(out / "docker")
    mlflow_cli("models", "generate-dockerfile", "-m", model_info.model_uri, "-d", str(docker_dir))
    print(f"\n{docker_dir / 'Dockerfile'} (without comments):")
    for line in (docker_dir / "Dockerfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            print(f"  {line}")
    print(f"{docker_dir / 'model_dir'}: {', '.join(sorted(p.name for p in (docker_dir / 'model_dir').iterdir()))}")
    print(f"\nwhere Docker exists, build and run the image:\n  docker build -t wine-model {docker_dir}")
    print(f"  (or in one step: mlflow models build-docker -m {model_info.model_uri} -n wine-model)")
    print("  docker run --rm -p 5001:8080 wine-model")


if __name__ == "__main__":
    run_example(main)
