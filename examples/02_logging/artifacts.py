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

import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw into files only; no window, works without a display

import matplotlib.pyplot as plt
import mlflow
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import tag_chapter

MAX_STEPS = 20


def main() -> None:
    parser = example_parser(__doc__, experiment="logging_artifacts")
    parser.add_argument(
        "--steps",
        type=int,
        default=10,
        help=f"points on the regularisation path, 1 to {MAX_STEPS} (default: %(default)s)",
    )
    args = parser.parse_args()
    if not 1 <= args.steps <= MAX_STEPS:
        parser.error(f"--steps must be between 1 and {MAX_STEPS}, got {args.steps}")

    # Fit and evaluate outside any run: if this fails, nothing is recorded
    wine = load_wine()
    train_x, test_x, train_y, test_y = split(wine, test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = regression_metrics(test_y, predicted)

    # The regularisation path: the same model with alpha halved at each step
    path = []
    for step in range(args.steps):
        alpha = args.alpha / 2**step
        weaker = ElasticNet(alpha=alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
        weaker.fit(train_x, train_y)
        path.append((alpha, regression_metrics(test_y, weaker.predict(test_x))["rmse"]))

    # The predicted-vs-actual figure
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(test_y, predicted, alpha=0.3)
    ax.plot([3, 8], [3, 8], color="grey", linestyle="--", label="perfect prediction")
    ax.set(xlabel="actual quality", ylabel="predicted quality", title=f"test rmse {metrics['rmse']:.3f}")
    ax.legend()

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
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
        train_x.assign(quality=train_y).to_csv(splits / "train.csv", index=False)
        test_x.assign(quality=test_y).to_csv(splits / "test.csv", index=False)
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
    run_example(main)
