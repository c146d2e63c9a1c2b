"""Run the wine project with the ``mlflow run`` command.

Prints the command, then runs it, as you would type it in a shell with the
venv active:

    mlflow run examples/09_projects/wine_project -P alpha=0.4 -P l1_ratio=0.2 \\
        --experiment-name wine_project --env-manager local

``--env-manager local`` uses the current environment; without it MLflow
tries to build a virtualenv from ``python_env.yaml`` (which needs pyenv).
The tracking URI comes from ``MLFLOW_TRACKING_URI`` as for every script.

    python examples/09_projects/run_cli.py --alpha 0.4 --l1-ratio 0.2
"""

import os
import shlex
import subprocess
import sys
from pathlib import Path

from mlflow import MlflowClient

from winelab import UserError, example_parser, run_example
from winelab.servers import BIN, MLFLOW
from winelab.tracking import tag_chapter

PROJECT = Path(__file__).resolve().parent / "wine_project"


def main() -> None:
    args = example_parser(__doc__, experiment="wine_project").parse_args()

    # The command: one -P per MLproject parameter
    command = [MLFLOW, "run", str(PROJECT)]  # MLFLOW: the venv's own `mlflow`
    for name, value in [("alpha", args.alpha), ("l1_ratio", args.l1_ratio), ("test_size", args.test_size)]:
        command += ["-P", f"{name}={value}"]
    command += ["-P", f"seed={args.seed}", "--experiment-name", args.experiment_name, "--env-manager", "local"]

    # Run it; the entry point's `python` must be the venv's, as when the venv is active
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    print("$ " + shlex.join(command), flush=True)
    completed = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if completed.returncode != 0:
        # The CLI ends a failure with a traceback; its last line says what went wrong.
        last_line = next((line for line in reversed(completed.stderr.splitlines()) if line.strip()), "")
        raise UserError(f"mlflow run exited with status {completed.returncode}: {last_line.strip()}")
    sys.stderr.write(completed.stderr)  # MLflow's own progress messages

    # `mlflow run` created the experiment: tag it with the chapter, to filter by chapter in the UI
    experiment = MlflowClient().get_experiment_by_name(args.experiment_name)
    tag_chapter(experiment.experiment_id, __file__)


if __name__ == "__main__":
    run_example(main)
