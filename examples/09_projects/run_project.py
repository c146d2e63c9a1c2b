"""Run the wine project twice: with the ``mlflow run`` command, then with ``mlflow.projects.run``.

Both do the same: MLflow reads ``wine_project/MLproject``, creates a run in the
chosen experiment, logs the entry point's parameters and the project's source
tags on it, runs ``python train.py ...`` in the project folder with
``MLFLOW_RUN_ID`` set, and marks the run FINISHED (or FAILED) when the command
exits. The script prints the command (``$ mlflow run ...``) and runs it as you
would in a shell with the venv active, makes the same call from Python, and
reads both runs back: the same parameters, tags and metrics.

``--env-manager local`` (``env_manager="local"``) uses the current environment;
without it MLflow builds a virtualenv from ``python_env.yaml`` (which needs
pyenv and the internet).

    python examples/09_projects/run_project.py --alpha 0.4 --l1-ratio 0.2
"""

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import mlflow.projects
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
PROJECT = Path(__file__).resolve().parent / "wine_project"


# The options are checked here, before anything starts: MLflow opens the project's run before
# train.py reads its options, so a value train.py refused would leave a FAILED run behind.
def non_negative(text):
    if float(text) >= 0:
        return float(text)
    raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")


def fraction(text):
    if 0 <= float(text) <= 1:
        return float(text)
    raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_project", help="(default: wine_project)")
    parser.add_argument("--alpha", type=non_negative, default=0.7, help="regularisation strength (default: 0.7)")
    parser.add_argument("--l1-ratio", type=fraction, default=0.7, help="share of L1 in the penalty (default: 0.7)")
    return parser.parse_args()


def main():
    args = parse_args()
    # The entry point runs in the project folder: give it the data file's absolute path
    data = args.data if "://" in args.data else os.path.abspath(args.data)
    # Check it here too: the entry point reads it only after MLflow has opened a run
    if "quality" not in pd.read_csv(data, sep=";", nrows=5).columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    parameters = {"alpha": args.alpha, "l1_ratio": args.l1_ratio, "data": data}
    # With --env-manager local the entry point's `python` comes from PATH: make it this interpreter's
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"

    # 1. The command line: `mlflow run`, one -P per MLproject parameter
    command = ["mlflow", "run", str(PROJECT)]
    for name, value in parameters.items():
        command += ["-P", f"{name}={value}"]
    command += ["--experiment-name", args.experiment_name, "--env-manager", "local"]
    print("$ " + shlex.join(command), flush=True)
    # `python -m mlflow` is the `mlflow` command of this interpreter, as when the venv is active
    completed = subprocess.run([sys.executable, "-m", *command], stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        # A failure ends in a traceback: say the entry point's own error, else the traceback's last line
        lines = completed.stderr.strip().splitlines() or ["no message"]
        reason = next((line for line in lines if line.startswith("error: ")), lines[-1])
        raise MlflowException(f"mlflow run failed: {reason.removeprefix('error: ')}")
    sys.stderr.write(completed.stderr)  # MLflow's progress messages
    # MLflow's last message names the run it made: "=== Run (ID '...') succeeded ==="
    cli_run_id = re.search(r"Run \(ID '(\w+)'\) succeeded", completed.stderr).group(1)

    # 2. The same from Python; it waits for the command (synchronous=True, the default)
    print(f"\n>>> mlflow.projects.run({str(PROJECT)!r}, parameters={parameters}, ...)", flush=True)
    submitted = mlflow.projects.run(
        uri=str(PROJECT),
        entry_point="main",
        parameters=parameters,
        experiment_name=args.experiment_name,
        env_manager="local",
    )

    # Read both runs back: MLflow logged the parameters and the tags, train.py the metrics and model
    client = MlflowClient()
    for how, run_id in [("mlflow run", cli_run_id), ("mlflow.projects.run", submitted.run_id)]:
        run = client.get_run(run_id)
        print(f"\n{how}: run {run_id}, {run.info.status}, in experiment {args.experiment_name!r}")
        print(f"  params: {run.data.params}")
        print("  metrics: " + ", ".join(f"{name}={value:.4f}" for name, value in sorted(run.data.metrics.items())))
        for tag in sorted(name for name in run.data.tags if name.startswith(("mlflow.project.", "mlflow.source."))):
            print(f"  {tag}: {run.data.tags.get(tag)}")
        [model] = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
        print(f"  model: models:/{model.model_id}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a failed entry point, no server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
