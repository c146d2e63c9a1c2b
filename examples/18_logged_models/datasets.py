"""Dataset tracking: which data a run used, and a digest that changes when the data does.

``mlflow.data.from_pandas(df, source=..., name=..., targets=...)`` describes a
DataFrame: a name (a label you choose), its source (here the UCI file's URL),
its schema, a profile (rows, cells) and a *digest*, a short hash of its
contents. ``mlflow.log_input(dataset, context=...)`` records it as an input of
the run, as ``training`` or ``evaluation`` data.

The script fits the same ElasticNet in four runs, each logging its training and
evaluation splits, and prints their digests:

1. ``seed-42``: the usual split (seed 42);
2. ``seed-42-again``: the file read and split again: the same digests;
3. ``seed-7``: another split (``--other-seed``): new digests, same names;
4. ``deduplicated``: the 240 repeated rows dropped first: new digests.

Only the contents decide the digest: the same name can carry different data,
so compare digests, not names, to know whether two runs saw the same rows.

    python examples/18_logged_models/datasets.py --other-seed 7
"""

import argparse
import os
import sys

import mlflow
import mlflow.data
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def not_42(text):
    value = int(text)
    if value == 42:
        raise argparse.ArgumentTypeError("must differ from 42, the first split's seed")
    return value


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_datasets", help="(default: %(default)s)")
    parser.add_argument("--other-seed", type=not_42, default=7, help="seed of another split (default: 7)")
    return parser.parse_args()


def main():
    args = parse_args()

    # quality is a whole number; as float, MLflow's dataset schema does not warn about integer columns
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    wine = wine.astype({"quality": float})
    again = pd.read_csv(args.data, sep=";").astype({"quality": float})  # a new DataFrame, the same rows

    # Four ways to get the data: the first two hold the same rows, the last two do not
    variants = {
        "seed-42": train_test_split(wine, test_size=0.25, random_state=42),
        "seed-42-again": train_test_split(again, test_size=0.25, random_state=42),
        f"seed-{args.other_seed}": train_test_split(wine, test_size=0.25, random_state=args.other_seed),
        "deduplicated": train_test_split(wine.drop_duplicates(), test_size=0.25, random_state=42),
    }

    experiment = mlflow.set_experiment(args.experiment_name)
    logged = {}
    for run_name, (train, test) in variants.items():
        # Each split as an MLflow dataset, traced to the UCI file (the source does not enter the digest)
        train_ds = mlflow.data.from_pandas(train, source=UCI_URL, name="wine_train", targets="quality")
        eval_ds = mlflow.data.from_pandas(test, source=UCI_URL, name="wine_test", targets="quality")

        with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=run_name):
            # Record both splits as inputs of the run, with their role
            mlflow.log_input(train_ds, context="training")
            mlflow.log_input(eval_ds, context="evaluation")

            model = ElasticNet(alpha=0.7, l1_ratio=0.7, random_state=42)
            model.fit(train.drop(columns="quality"), train["quality"])
            predicted = model.predict(test.drop(columns="quality"))
            mlflow.log_params({"alpha": 0.7, "l1_ratio": 0.7})
            # A run's metrics do not keep a dataset= link; a logged model's do (checkpoints.py)
            mlflow.log_metrics(
                {
                    "rmse": root_mean_squared_error(test["quality"], predicted),
                    "mae": mean_absolute_error(test["quality"], predicted),
                    "r2": r2_score(test["quality"], predicted),
                }
            )
        logged[run_name] = (train_ds, eval_ds)

    # Compare the digests with the first run's
    first_train, first_eval = logged["seed-42"]
    print(f"experiment {experiment.name!r}, source {UCI_URL}")
    print(f"  {'run':<16} {'wine_train (digest, rows)':<30} wine_test (digest, rows)")
    for run_name, (train_ds, eval_ds) in logged.items():
        cells = []
        for dataset, first in ((train_ds, first_train), (eval_ds, first_eval)):
            verdict = "" if dataset is first else "same" if dataset.digest == first.digest else "changed"
            cells.append(f"{dataset.digest} {dataset.profile['num_rows']:>4} {verdict}".rstrip())
        print(f"  {run_name:<16} {cells[0]:<30} {cells[1]}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, not the wine CSV, no server
        sys.exit(f"error: {exc}")
