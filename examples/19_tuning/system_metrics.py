"""Record the machine's CPU, memory, disk and network use next to a run's metrics.

``mlflow.enable_system_metrics_logging()`` makes every run started afterwards
launch a background thread (it needs ``psutil``) that samples the machine and
logs ``system/cpu_utilization_percentage``, ``system/system_memory_usage_megabytes``,
``system/disk_usage_percentage``, ``system/network_receive_megabytes``, ...
(GPU ones too where there is a GPU), with step = sample number. Its default
interval, 10 s, suits hours of training; a fit of a few seconds would get no
sample at all, so ``mlflow.set_system_metrics_sampling_interval`` shortens it.
(One run only: ``mlflow.start_run(log_system_metrics=True)``.)

The work being watched: a regularisation path, the ElasticNet scored by k-fold
cross-validation at ``--n-alphas`` alphas from 1e-4 to 10 (``cv_rmse``, step =
alpha index); the best alpha is then refitted and scored on the test rows.
Afterwards the script reads the system metrics back with
``MlflowClient.get_metric_history`` and prints what was sampled.

    python examples/19_tuning/system_metrics.py --sampling-interval 0.2
"""

import importlib.util

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import KFold

from winelab import UserError, example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import at_least_two, fraction, interval_seconds, positive_int
from winelab.tracking import tag_chapter


def main() -> None:
    parser = example_parser(__doc__, experiment="system_metrics", model=False)
    parser.add_argument(
        "--l1-ratio", type=fraction, default=0.5, help="ElasticNet l1_ratio along the path (default: %(default)s)"
    )
    parser.add_argument(
        "--n-alphas", type=positive_int, default=40, help="alphas on the path, 1e-4 to 10 (default: %(default)s)"
    )
    parser.add_argument(
        "--folds", type=at_least_two, default=5, help="cross-validation folds per alpha, >= 2 (default: %(default)s)"
    )
    parser.add_argument(
        "--sampling-interval",
        type=interval_seconds,
        default=0.2,
        help="seconds between two samples of the machine (default: %(default)s; MLflow's own default is 10)",
    )
    args = parser.parse_args()
    if importlib.util.find_spec("psutil") is None:  # start_run would fail only after creating the run
        raise UserError("system metrics need psutil: pip install psutil")

    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    alphas = np.logspace(-4, 1, args.n_alphas)

    # Switch system metrics on for every run from now on, sampled every --sampling-interval seconds
    mlflow.enable_system_metrics_logging()
    mlflow.set_system_metrics_sampling_interval(args.sampling_interval)
    mlflow.set_system_metrics_samples_before_logging(1)  # log each sample (default: 1; more = averaged)

    # The run: the monitor thread starts with it and stops when it ends
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(run_name="regularisation-path") as run:
        mlflow.log_params({"l1_ratio": args.l1_ratio, "n_alphas": args.n_alphas, "folds": args.folds})
        folds = list(KFold(n_splits=args.folds, shuffle=True, random_state=args.seed).split(train_x))
        cv_rmses = []
        for step, alpha in enumerate(alphas):
            fold_rmses = []
            for fit_rows, score_rows in folds:
                model = ElasticNet(alpha=alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
                model.fit(train_x.iloc[fit_rows], train_y.iloc[fit_rows])
                predicted = model.predict(train_x.iloc[score_rows])
                fold_rmses.append(regression_metrics(train_y.iloc[score_rows], predicted)["rmse"])
            cv_rmses.append(float(np.mean(fold_rmses)))
            mlflow.log_metrics({"alpha": float(alpha), "cv_rmse": cv_rmses[-1]}, step=step)

        best = int(np.argmin(cv_rmses))
        best_alpha = float(alphas[best])
        model = ElasticNet(alpha=best_alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
        mlflow.log_param("best_alpha", best_alpha)
        mlflow.log_metrics({"best_cv_rmse": cv_rmses[best], **regression_metrics(test_y, model.predict(test_x))})

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
    run_example(main)
