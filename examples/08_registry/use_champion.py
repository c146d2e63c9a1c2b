"""Find registered models and versions, then predict with the champion.

Reading the registry: ``search_registered_models`` finds the registered model
(with its description and aliases), ``search_model_versions`` lists its
versions with their tags and the runs they came from.

Using it: ``mlflow.pyfunc.load_model("models:/NAME@champion")`` loads
whichever version the ``champion`` alias points to right now, so the code
that serves predictions does not change when a better model is promoted.
It predicts the first --rows wines of the same held-out quarter the training
scripts tested on. The registry is that of ``$MLFLOW_TRACKING_URI`` (else
``sqlite:///mlflow.db`` in the current folder); nothing is written.

    python examples/08_registry/use_champion.py --rows 5
"""

import argparse
import os
import sys

import mlflow.pyfunc
import pandas as pd
from mlflow import MlflowClient
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
    parser.add_argument("--model-name", default="wine_quality", help="(default: wine_quality)")
    parser.add_argument("--rows", type=positive_int, default=5, help="test wines to predict (default: 5)")
    return parser.parse_args()


def main():
    args = parse_args()
    name = args.model_name

    # The test wines the training scripts held out (the same split): the first --rows of them
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    _, test = train_test_split(wine, test_size=0.25, random_state=42)
    test = test.head(args.rows)

    # Search the registry for the model and list its versions
    client = MlflowClient()
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    if not found:
        sys.exit(f"error: no registered model named {name!r}; run register_at_log_time.py or promote_challenger.py")
    registered = found[0]
    print(f"{registered.name}: {registered.description}")
    version_aliases = {}
    for alias, version in registered.aliases.items():
        version_aliases.setdefault(str(version), []).append(f"@{alias}")

    versions = client.search_model_versions(filter_string=f"name = '{name}'", order_by=["version_number ASC"])
    for mv in versions:
        labels = " ".join(version_aliases.get(str(mv.version), []))
        print(f"  v{mv.version:<3} rmse {float(mv.tags.get('rmse', 'nan')):.4f}  run {mv.run_id}  {labels}".rstrip())

    if "champion" not in registered.aliases:
        sys.exit(f"error: {name!r} has no @champion alias yet; run promote_challenger.py first")

    # Load whatever version @champion points to (the registry resolves the alias to a version)
    champion_uri = f"models:/{name}@champion"
    champion = client.get_model_version_by_alias(name, "champion")
    print(f"@champion -> version {champion.version}: logged model {champion.source}, run {champion.run_id}")
    model = mlflow.pyfunc.load_model(champion_uri)

    # Predict the first few test wines
    predictions = model.predict(test.drop(columns="quality"))

    print(f"{champion_uri} is version {champion.version}; first {args.rows} test wines:")
    for actual, predicted in zip(test["quality"], predictions, strict=True):
        print(f"  actual {actual}  predicted {predicted:.3f}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, no server, a model that fails to load
        sys.exit(f"error: {exc}")
