"""A tour of the ``mlflow`` command line, run from Python so you can read along.

Each command is printed (``$ mlflow ...``) and then run, exactly as you would
type it in a shell with the venv active. The CLI reads ``MLFLOW_TRACKING_URI``
like the Python API, so both see the same store. The script

* creates an experiment (``mlflow experiments create``) unless it exists, and
  lists experiments (``mlflow experiments search``);
* logs one run with a model and a small text artifact, with the Python API;
* lists and describes runs (``mlflow runs list`` / ``describe``);
* lists and downloads the artifact (``mlflow artifacts list`` / ``download``);
* scores a CSV of test wines with the logged model (``mlflow models predict``);
* deletes a throwaway run (``mlflow runs delete``) and purges it for good
  (``mlflow gc``, which works on the store directly: ``--backend-store-uri``).

The files the commands write (input CSV, predictions, downloads) go to
``--output-dir``.

    python examples/11_cli/cli_tour.py --rows 5
"""

import os
import shlex
import subprocess
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import UserError, example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import positive_int
from winelab.servers import MLFLOW  # the venv's `mlflow` executable
from winelab.tracking import pip_requirements, tag_chapter

MAX_LINES = 12  # of each command's output shown here


def mlflow_cli(*args: str, env: dict[str, str]) -> str:
    """Print ``$ mlflow <args>``, run it, show (the start of) its output, return its stdout."""
    print(f"\n$ mlflow {shlex.join(args)}", flush=True)
    completed = subprocess.run([MLFLOW, *args], env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"`mlflow {args[0]} {args[1]}` failed (exit {completed.returncode}): {last}")
    lines = completed.stdout.rstrip().splitlines()
    more = [f"... ({len(lines) - MAX_LINES} more lines)"] if len(lines) > MAX_LINES else []
    if lines:
        print("\n".join(lines[:MAX_LINES] + more))
    return completed.stdout


def main() -> None:
    parser = example_parser(__doc__, experiment="cli_tour")
    parser.add_argument("--rows", type=positive_int, default=5, help="test wines to score (default: %(default)s)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("cli_tour_files"),
        help="for the input CSV, predictions and downloads (default: %(default)s)",
    )
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    # The CLI gets the same store through MLFLOW_TRACKING_URI (here resolved: no relative default).
    uri = mlflow.get_tracking_uri()
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}

    # Experiments: create (only if missing: create fails on an existing name), then list
    if mlflow.get_experiment_by_name(args.experiment_name) is None:
        mlflow_cli("experiments", "create", "--experiment-name", args.experiment_name, env=env)
    mlflow_cli("experiments", "search", env=env)
    experiment = mlflow.get_experiment_by_name(args.experiment_name)
    tag_chapter(experiment.experiment_id, __file__)  # set_experiment_tag: to filter by chapter in the UI

    # A run to look at, logged with the Python API: metrics, a text artifact and the model
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="cli_tour") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        mlflow.log_text(
            f"ElasticNet alpha={args.alpha} l1_ratio={args.l1_ratio}: rmse={metrics['rmse']:.4f}\n", "notes/summary.txt"
        )
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            pip_requirements=pip_requirements(),
        )
    run_id = run.info.run_id

    # Runs: list the experiment's runs, describe one (JSON: info, params, metrics, tags)
    mlflow_cli("runs", "list", "--experiment-id", experiment.experiment_id, env=env)
    mlflow_cli("runs", "describe", "--run-id", run_id, env=env)

    # Artifacts: list the run's files, download one into <output-dir>/downloads
    mlflow_cli("artifacts", "list", "--run-id", run_id, "--artifact-path", "notes", env=env)
    mlflow_cli(
        "artifacts", "download", "--run-id", run_id, "--artifact-path", "notes/summary.txt",
        "--dst-path", str(out / "downloads"), env=env,
    )  # fmt: skip

    # Batch scoring: a CSV of test wines in, a JSON of predictions out
    test_x.head(args.rows).to_csv(out / "input.csv", index=False)
    # MLflow 2.x: -m runs:/<run_id>/model; 3.x logged models have their own URI (models:/m-...).
    mlflow_cli(
        "models", "predict", "-m", model_info.model_uri, "-i", str(out / "input.csv"), "-t", "csv",
        "-o", str(out / "predictions.json"), "--env-manager", "local", env=env,
    )  # fmt: skip
    print((out / "predictions.json").read_text())

    # Delete a throwaway run, then purge it: `runs delete` only moves it to the trash
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="throwaway") as scratch:
        mlflow.log_text("gc removes this file with the run\n", "note.txt")
    mlflow_cli("runs", "delete", "--run-id", scratch.info.run_id, env=env)
    if uri.startswith(("http://", "https://")):
        print(f"\n(skipping `mlflow gc`: it needs the server's own backend store, not {uri})")
    else:
        mlflow_cli("gc", "--backend-store-uri", uri, "--run-ids", scratch.info.run_id, env=env)
    print(f"\nrun {run_id}: files in {out}; model {model_info.model_uri}")


if __name__ == "__main__":
    run_example(main)
