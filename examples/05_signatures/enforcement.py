"""See MLflow enforce a logged model's signature at prediction time.

A model loaded with ``mlflow.pyfunc.load_model`` checks every batch against
its signature before the model sees it: columns are matched by name (and
reordered), and types are cast only when that is lossless. This script loads
the newest model in the experiment (or ``--model-uri``) and sends it:

- a well-formed batch of test wines: predicted;
- the same columns in reverse order: put back in order, same predictions;
- an extra column (``quality``, the target): dropped with a WARNING from
  MLflow on stderr, same predictions;
- whole numbers as int32: cast to double silently, predicted;
- whole numbers as int64 (what pandas reads from a CSV column of whole
  numbers): rejected, because a double cannot hold every int64 exactly;
- a batch without the ``alcohol`` column: rejected;
- ``pH`` as text (``"3.51"``): rejected, MLflow does not parse strings.

Each rejection is an ``MlflowException``; the script catches it and prints
MLflow's reason on one line. It records nothing.

    python examples/05_signatures/manual_signature.py    # log a model first
    python examples/05_signatures/enforcement.py
    python examples/05_signatures/enforcement.py --model-uri models:/m-...
"""

import argparse
import os
import sys

import mlflow
import mlflow.pyfunc
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.model_selection import train_test_split

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
    parser.add_argument("--model-uri", help="model to load (default: the newest model logged in the experiment)")
    parser.add_argument("--experiment-name", default="signatures", help="where to look without --model-uri")
    parser.add_argument("--rows", type=positive_int, default=3, help="rows per batch (default: 3)")
    return parser.parse_args()


def main():
    args = parse_args()

    # Test wines of the usual split: the first --rows of them make the well-formed batch
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    _, test = train_test_split(wine, test_size=0.25, random_state=42)
    good = test.drop(columns="quality").head(args.rows)

    # Which model: the given URI, or the newest logged model of the experiment
    model_uri = args.model_uri
    if model_uri is None:
        experiment = mlflow.get_experiment_by_name(args.experiment_name)
        newest = []
        if experiment:
            newest = mlflow.search_logged_models(
                experiment_ids=[experiment.experiment_id],
                order_by=[{"field_name": "creation_time", "ascending": False}],
                max_results=1,
                output_format="list",
            )
        if not newest:
            sys.exit(f"error: no model logged in experiment {args.experiment_name!r}; run manual_signature.py first")
        model_uri = newest[0].model_uri

    # Load it as a generic python_function model: this is what enforces the signature
    model = mlflow.pyfunc.load_model(model_uri)
    print(f"model {model_uri}")
    print(f"  expects: {model.metadata.get_input_schema()}")

    # Batches: one good, the others with a typical mistake each
    whole = good["free sulfur dioxide"].round()
    batches = {
        "well-formed batch": good,
        "columns in reverse order": good[good.columns[::-1]],
        "extra column 'quality'": good.assign(quality=test["quality"].head(args.rows)),
        "'free sulfur dioxide' as int32": good.assign(**{"free sulfur dioxide": whole.astype("int32")}),
        "'free sulfur dioxide' as int64": good.assign(**{"free sulfur dioxide": whole.astype("int64")}),
        "missing column 'alcohol'": good.drop(columns=["alcohol"]),
        # A string column (pandas' "string" dtype; pandas 2 would keep plain str values as objects)
        "'pH' as text": good.assign(pH=good["pH"].map(str).astype("string")),
    }

    # Predict each batch; MLflow checks it against the signature first
    for label, batch in batches.items():
        try:
            predictions = model.predict(batch)
        except MlflowException as exc:
            # The message repeats the whole batch and schema; the part after "Error: " is the reason.
            reason = str(exc).rsplit("Error: ", 1)[-1].strip().replace("\n", " ")
            print(f"rejected  {label}: {reason}", flush=True)
        else:
            print(f"accepted  {label}: predictions {', '.join(f'{value:.4f}' for value in predictions)}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --model-uri, no server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
