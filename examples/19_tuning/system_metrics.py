"""Record the machine's CPU, memory, disk and network use next to a run's metrics.

``mlflow.enable_system_metrics_logging()`` makes every run started afterwards
launch a background thread (it needs ``psutil``) that samples the machine and
logs ``system/cpu_utilization_percentage``, ``system/system_memory_usage_megabytes``,
``system/disk_usage_percentage``, ``system/network_receive_megabytes``, ...
(GPU ones too where there is a GPU), with step = sample number. Its default
interval, 10 s, suits hours of training; a fit of a few seconds would get no
sample at all, so ``mlflow.set_system_metrics_sampling_interval`` shortens it.
(One run only: ``mlflow.start_run(log_system_metrics=True)``.)

The work being watched: a regularisation path, the ElasticNet (l1_ratio 0.5)
scored by 5-fold cross-validation at ``--n-alphas`` alphas from 1e-4 to 10
(``cv_rmse``, step = alpha index); the best alpha is then refitted and scored
on the test rows.
Afterwards the script reads the system metrics back with
``MlflowClient.get_metric_history`` and prints what was sampled.

    python examples/19_tuning/system_metrics.py --sampling-interval 0.2
"""

import argparse
import os
import sys

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import KFold, train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def seconds(text):
    if not 0.01 <= float(text) <= 3600:
        raise argparse.ArgumentTypeError(f"must be 0.01 to 3600 seconds, got {text}")
    return float(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="system_metrics", help="(default: %(default)s)")
    parser.add_argument("--n-alphas", type=positive_int, default=40, help="alphas from 1e-4 to 10 (default: 40)")
    parser.add_argument(
        "--sampling-interval", type=seconds, default=0.2, help="seconds between samples (default: 0.2; MLflow's: 10)"
    )
    return parser.parse_args()


def main():
    args = parse_args()

    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    alphas = np.logspace(-4, 1, args.n_alphas)

    # Switch system metrics on for every run from now on (it needs psutil), sampled every --sampling-interval s
    mlflow.enable_system_metrics_logging()
    mlflow.set_system_metrics_sampling_interval(args.sampling_interval)
    mlflow.set_system_metrics_samples_before_logging(1)  # log each sample (default: 1; more = averaged)

    # The run: the monitor thread starts with it and stops when it ends
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(run_name="regularisation-path") as run:
        mlflow.log_params({"l1_ratio": 0.5, "n_alphas": args.n_alphas, "folds": 5})
        folds = list(KFold(n_splits=5, shuffle=True, random_state=42).split(train_x))
        cv_rmses = []
        for step, alpha in enumerate(alphas):
            fold_rmses = []
            for fit_rows, score_rows in folds:
                model = ElasticNet(alpha=alpha, l1_ratio=0.5, random_state=42)
                model.fit(train_x.iloc[fit_rows], train_y.iloc[fit_rows])
                predicted = model.predict(train_x.iloc[score_rows])
                fold_rmses.append(root_mean_squared_error(train_y.iloc[score_rows], predicted))
            cv_rmses.append(float(np.mean(fold_rmses)))
            mlflow.log_metrics({"alpha": float(alpha), "cv_rmse": cv_rmses[-1]}, step=step)

        best = int(np.argmin(cv_rmses))
        best_alpha = float(alphas[best])
        model = ElasticNet(alpha=best_alpha, l1_ratio=0.5, random_state=42).fit(train_x, train_y)
        predicted = model.predict(test_x)
        mlflow.log_param("best_alpha", best_alpha)
        mlflow.log_metrics(
            {
                "best_cv_rmse": cv_rmses[best],
                "rmse": root_mean_squared_error(test_y, predicted),
                "mae": mean_absolute_error(test_y, predicted),
                "r2": r2_score(test_y, predicted),
            }
        )

    # Read the samples back: one history per system/ metric, one entry per sample
    client = MlflowClient()
    names = sorted(key for key in client.get_run(run.info.run_id).data.metrics if key.startswith("system/"))
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print(f"best alpha {best_alpha:.4g} of {args.n_alphas} (cv_rmse {cv_rmses[best]:.4f})")
    if not names:
        print(f"no system metrics sampled: the run ended within {args.sampling_interval} s; lower --sampling-interval")
    for name in names:
        history = client.get_metric_history(run.info.run_id, name)
        values = [metric.value for metric in history]
        print(f"  {name:<45} {len(values):>3} samples, mean {np.mean(values):.1f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, not the wine CSV, no server
        sys.exit(f"error: {exc}")
