"""Tag a run with set_tag / set_tags, and see the tags MLflow sets by itself.

Tags are free-form string labels on a run, good for grouping and searching
(``tags.environment = 'dev'`` in the UI's search box). Besides yours, MLflow
adds system tags whose keys start with ``mlflow.``: the run name, the user,
the source file and its type, and the git commit when the script lives in a
git repository. The script reads the finished run back and prints both kinds.

    python examples/02_logging/tags.py --version 1.0 --environment dev
"""

import argparse
import os
import sys

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="logging_tags", help="(default: logging_tags)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--version", default="1.0", help="value of the run tag 'version' (default: 1.0)")
    parser.add_argument("--environment", default="dev", help="value of the run tag 'environment' (default: dev)")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Fit and evaluate outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)

    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metric("rmse", root_mean_squared_error(test_y, predicted))
        mlflow.log_metric("mae", mean_absolute_error(test_y, predicted))
        mlflow.log_metric("r2", r2_score(test_y, predicted))
        # Tags belong to a run, so they are set while it is active; values become strings
        mlflow.set_tag("algorithm", "ElasticNet")
        mlflow.set_tags({"version": args.version, "environment": args.environment})

    # Read the finished run back: your tags and MLflow's system tags side by side
    tags = mlflow.get_run(run.info.run_id).data.tags
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("your tags:")
    for key in sorted(key for key in tags if not key.startswith("mlflow.")):
        print(f"  {key} = {tags[key]}")
    print("system tags (set by MLflow):")
    for key in sorted(key for key in tags if key.startswith("mlflow.")):
        print(f"  {key} = {tags[key]}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
