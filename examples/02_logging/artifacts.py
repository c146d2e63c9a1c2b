"""Log parameters, metrics (once and over steps), files, folders and a figure.

One ElasticNet run that uses each logging call of the guide once:

* ``log_param`` / ``log_params``: the hyperparameters and the split settings;
* ``log_metric`` / ``log_metrics``: rmse, mae and r2 on the test split;
* ``log_metric(..., step=i)``: a regularisation path, the test rmse when
  ``alpha`` is halved at each of ``--steps`` steps (step 0 is ``--alpha``
  itself); the UI draws it as a chart over steps;
* ``log_artifact`` / ``log_artifacts``: the wine data and its train/test split
  as CSV files (written without the pandas index column);
* ``get_artifact_uri``: where the run's files are, and where one file is;
* ``log_figure``: a predicted-vs-actual plot, straight from matplotlib.

    python examples/02_logging/artifacts.py --steps 10
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw into files only; no window, works without a display

import matplotlib.pyplot as plt
import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def one_to_twenty(text):
    if not 1 <= int(text) <= 20:  # alpha halves at each step: by step 20 it is a millionth, the curve is flat
        raise argparse.ArgumentTypeError(f"must be between 1 and 20, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="logging_artifacts", help="(default: logging_artifacts)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--test-size", type=float, default=0.25, help="share of wines held out (default: 0.25)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the model (default: 42)")
    parser.add_argument("--steps", type=one_to_twenty, default=10, help="points on the regularisation path, 1-20")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=args.test_size, random_state=args.seed)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Fit and evaluate outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # The regularisation path: the same model with alpha halved at each step
    path = []
    for step in range(args.steps):
        alpha = args.alpha / 2**step
        weaker = ElasticNet(alpha=alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
        path.append((alpha, root_mean_squared_error(test_y, weaker.predict(test_x))))

    # The predicted-vs-actual figure
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(test_y, predicted, alpha=0.3)
    ax.plot([3, 8], [3, 8], color="grey", linestyle="--", label="perfect prediction")
    ax.set(xlabel="actual quality", ylabel="predicted quality", title=f"test rmse {metrics['rmse']:.3f}")
    ax.legend()

    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run, tempfile.TemporaryDirectory() as tmp:
        # Parameters: one at a time, or a dict at once
        mlflow.log_param("alpha", args.alpha)
        mlflow.log_params({"l1_ratio": args.l1_ratio, "test_size": args.test_size, "seed": args.seed})

        # Metrics: one value, a dict of values, and one metric over steps
        mlflow.log_metric("rmse", metrics["rmse"])
        mlflow.log_metrics({"mae": metrics["mae"], "r2": metrics["r2"]})
        for step, (alpha, rmse) in enumerate(path):
            mlflow.log_metric("path_rmse", rmse, step=step)
            mlflow.log_metric("path_alpha", alpha, step=step)  # so the chart can show which alpha

        # Files: MLflow copies them, so a temporary folder is enough
        data_file = Path(tmp, "red-wine-quality.csv")
        wine.to_csv(data_file, index=False)  # index=False: no unnamed index column
        mlflow.log_artifact(str(data_file), artifact_path="data")
        splits = Path(tmp, "splits")
        splits.mkdir()
        train.to_csv(splits / "train.csv", index=False)
        test.to_csv(splits / "test.csv", index=False)
        mlflow.log_artifacts(str(splits), artifact_path="data/splits")

        # A figure goes straight from memory to an artifact
        mlflow.log_figure(fig, "plots/predicted_vs_actual.png")
        plt.close(fig)

        # Where the files are: the run's artifact root, or one file in it
        root_uri = mlflow.get_artifact_uri()
        train_uri = mlflow.get_artifact_uri(artifact_path="data/splits/train.csv")

    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print("  regularisation path (alpha: rmse): " + ", ".join(f"{alpha:.4g}: {rmse:.4f}" for alpha, rmse in path))
    print(f"  artifact URI: {root_uri}")
    print(f"  train split URI: {train_uri}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha or --test-size, no server
        sys.exit(f"error: {exc}")
