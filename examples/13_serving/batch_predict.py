"""Batch scoring without a server: ``mlflow models predict`` on a CSV file.

The offline counterpart of ``serve_model.py``: the same registered model
(``models:/wine-serving@champion`` by default, run ``serve_model.py`` first)
scores a CSV file of wine rows in one go and writes ``{"predictions": [...]}``
to a JSON file. The script writes the input file, prints the command a learner
would type and runs it: the click command behind the ``mlflow`` executable,
called in this process (``mlflow.cli.cli``), so MLflow starts only once.
Then it prints the predictions next to the wines' real scores, and checks them
against the same model loaded with ``mlflow.pyfunc.load_model``.

    python examples/13_serving/batch_predict.py --rows 5
    # which runs:
    mlflow models predict -m models:/wine-serving@champion -i batch-input.csv -t csv \\
        -o batch-predictions.json --env-manager local
"""

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import click
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.cli import cli
from mlflow.exceptions import MlflowException

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--model-uri", default="models:/wine-serving@champion", help="model (default: %(default)s)")
    parser.add_argument("--rows", type=positive_int, default=5, help="wine rows to score (default: %(default)s)")
    parser.add_argument("--output", default="batch-predictions.json", help="JSON result (default: %(default)s)")
    return parser.parse_args()


def main():
    args = parse_args()

    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")

    # Which version an alias points at right now: a batch job scores whatever version that is
    if "@" in args.model_uri:
        name, alias = args.model_uri.removeprefix("models:/").split("@")
        found = MlflowClient().get_model_version_by_alias(name, alias)
        print(f"{args.model_uri} is version {found.version} of {name!r}, from run {found.run_id}")

    # The input: plain CSV whose header names the signature's columns (no 'quality', no index column)
    model = mlflow.pyfunc.load_model(args.model_uri)
    print(f"{args.model_uri} takes the columns {model.metadata.get_input_schema().input_names()}")
    rows = wine.drop(columns="quality").head(args.rows)
    rows.to_csv("batch-input.csv", index=False)
    print(f"batch-input.csv: {len(rows)} rows under the header {', '.join(rows.columns)}")

    # The batch command; it resolves models:/ URIs through MLFLOW_TRACKING_URI like the Python API.
    # --env-manager local: this Python environment (MLflow's default, virtualenv, builds a new one first).
    command = ["models", "predict", "-m", args.model_uri, "-i", "batch-input.csv", "-t", "csv",
               "-o", args.output, "--env-manager", "local"]  # fmt: skip
    print("$ mlflow " + shlex.join(command), flush=True)
    # The same as typing that line: `mlflow` is this click group (standalone_mode=False: errors raise)
    cli.main(command, prog_name="mlflow", standalone_mode=False)

    # What came back: one predicted quality per row, here next to the score the wine really got
    predictions = json.loads(Path(args.output).read_text())["predictions"]
    print(f"{len(predictions)} predictions in {args.output}: {json.dumps(predictions)}")
    scored = wine.head(args.rows)[["alcohol", "pH", "quality"]].assign(predicted_quality=predictions)
    print(scored.to_string())

    # The model loaded above, through the Python API, gives the same numbers
    agrees = np.allclose(model.predict(rows), predictions)
    print(f"mlflow.pyfunc.load_model({args.model_uri!r}).predict(rows) gives the same: {agrees}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException, click.ClickException) as exc:  # no data, no such model
        sys.exit(f"error: {str(exc).splitlines()[0]}")
