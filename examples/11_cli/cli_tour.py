"""A tour of the ``mlflow`` command line, run from Python so you can read along.

Each command is printed (``$ mlflow ...``) as you would type it in a shell with
the venv active, then run, with its output shown. ``mlflow_cli`` below runs the
click command behind the ``mlflow`` executable (``mlflow.cli.cli``) in this
process: the same code as the shell, without the ~3 s of CPU that every new
``mlflow`` process spends starting up. The CLI reads ``MLFLOW_TRACKING_URI``
like the Python API, so both see the same store. The script

* creates an experiment (``mlflow experiments create``) unless it exists, and
  lists experiments (``mlflow experiments search``);
* logs one run with a model and a small text artifact, with the Python API;
* lists and describes runs (``mlflow runs list`` / ``describe``);
* lists and downloads the artifact (``mlflow artifacts list`` / ``download``);
* scores a CSV of test wines with the logged model (``mlflow models predict``);
* deletes a throwaway run (``mlflow runs delete``) and purges it for good
  (``mlflow gc``, which opens the store itself).

The files the commands write (input CSV, predictions, downloads) go to
``--output-dir``.

    python examples/11_cli/cli_tour.py --rows 5
"""

import argparse
import contextlib
import io
import os
import shlex
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
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
SHOWN = 12  # lines of each command's output printed here


def positive_int(text):
    if int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="cli_tour", help="(default: cli_tour)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--rows", type=positive_int, default=5, help="test wines to score (default: 5)")
    parser.add_argument("--output-dir", type=Path, default=Path("cli_tour_files"), help="(default: cli_tour_files)")
    return parser.parse_args()


def mlflow_cli(*args):
    """Print ``$ mlflow <args>``, run that command in this process, print the first lines of its output."""
    print(f"\n$ mlflow {shlex.join(args)}", flush=True)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            # standalone_mode=False: click raises a usage error instead of exiting the process
            code = cli.main(list(args), prog_name="mlflow", standalone_mode=False)
    except click.ClickException as exc:  # e.g. a missing option: click's message, naming the command
        raise click.ClickException(f"`mlflow {shlex.join(args[:2])}` failed: {exc.format_message()}") from None
    finally:  # what it printed, also when it failed
        lines = output.getvalue().rstrip().splitlines()
        print("\n".join(lines[:SHOWN] + [f"... ({len(lines) - SHOWN} more lines)"] * (len(lines) > SHOWN)))
    if code:  # a command that ended with ctx.exit(code)
        raise click.ClickException(f"`mlflow {shlex.join(args[:2])}` failed with exit code {code}")


def main():
    args = parse_args()

    # A model to look at, fitted first: if this fails (a bad --alpha, say), nothing is recorded
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # Experiments: create (only if missing: create fails on an existing name), then list
    if mlflow.get_experiment_by_name(args.experiment_name) is None:
        mlflow_cli("experiments", "create", "--experiment-name", args.experiment_name)
    mlflow_cli("experiments", "search")
    experiment = mlflow.get_experiment_by_name(args.experiment_name)

    # A run to look at, logged with the Python API: metrics, a text artifact and the model
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="cli_tour") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        summary = f"ElasticNet alpha={args.alpha} l1_ratio={args.l1_ratio}: rmse={metrics['rmse']:.4f}\n"
        mlflow.log_text(summary, "notes/summary.txt")
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
    run_id = run.info.run_id

    # Runs: list the experiment's runs, describe one (JSON: info, params, metrics, tags)
    mlflow_cli("runs", "list", "--experiment-id", experiment.experiment_id)
    mlflow_cli("runs", "describe", "--run-id", run_id)

    # Artifacts: list the run's files, download one into <output-dir>/downloads
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    mlflow_cli("artifacts", "list", "--run-id", run_id, "--artifact-path", "notes")
    mlflow_cli(
        "artifacts", "download", "--run-id", run_id, "--artifact-path", "notes/summary.txt",
        "--dst-path", str(out / "downloads"),
    )  # fmt: skip

    # Batch scoring: a CSV of test wines in, a JSON of predictions out
    test_x.head(args.rows).to_csv(out / "input.csv", index=False)
    # MLflow 2.x: -m runs:/<run_id>/model; 3.x logged models have their own URI (models:/m-...).
    mlflow_cli(
        "models", "predict", "-m", model_info.model_uri, "-i", str(out / "input.csv"), "-t", "csv",
        "-o", str(out / "predictions.json"), "--env-manager", "local",
    )  # fmt: skip
    print((out / "predictions.json").read_text())

    # Delete a throwaway run, then purge it: `runs delete` only moves it to the trash
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="throwaway") as scratch:
        mlflow.log_text("gc removes this file with the run\n", "note.txt")
    mlflow_cli("runs", "delete", "--run-id", scratch.info.run_id)
    uri = mlflow.get_tracking_uri()
    if uri.startswith(("http://", "https://")):
        print(f"\n(skipping `mlflow gc`: it opens the server's own backend store, not {uri})")
    else:
        # gc opens the store itself: --backend-store-uri (omitted: $MLFLOW_TRACKING_URI's since 3.7, ./mlruns
        # before). Since 3.0 it also refuses to run unless --tracking-uri or $MLFLOW_TRACKING_URI is set.
        mlflow_cli("gc", "--backend-store-uri", uri, "--tracking-uri", uri, "--run-ids", scratch.info.run_id)
    print(f"\nrun {run_id}: files in {out}; model {model_info.model_uri}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException, click.ClickException) as exc:  # no data, a bad --alpha, no server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
