"""One Optuna study, several worker processes, every trial a child run of one MLflow parent run.

Chapter 19 ran a study in one process, its storage in memory. To spread a study
over processes (or machines), Optuna keeps it in a database, its *RDB storage*:
every worker loads the same study, asks it for the next trial (Optuna numbers
trials atomically in the database, so no number is handed out twice) and
reports the result back. Here the storage is a SQLite file (``--storage``,
default ``sqlite:///scale_out_files/optuna.db``); any SQLAlchemy URL works the
same way, e.g. the PostgreSQL of chapter 14's stack
(``postgresql+psycopg2://user:password@127.0.0.1:5432/mlflow``), which is what
workers on several hosts would share.

This script is both the launcher and the worker:

- the launcher opens the parent run (``shared-study``), creates the study
  (named after the parent run) and starts ``--workers`` copies of itself:
  ``python shared_study.py --worker K --parent-run-id ID --study-name NAME``,
  exactly what you would start on K machines. Ctrl-C stops them all;
- each worker runs ``--trials`` trials; every trial is an MLflow child run
  (``mlflow.start_run(parent_run_id=ID)``) named ``trial-N``, tagged ``worker``
  and ``optuna.trial_number``, holding ``alpha``, ``l1_ratio`` and the 3-fold
  cross-validated ``cv_rmse`` on the training rows;
- once every worker is done, the launcher records the study's best trial on
  the parent: ``best_alpha``, ``best_l1_ratio``, ``best_cv_rmse`` and tags
  ``best_trial_number``, ``best_run_id``.

    python examples/21_scale_out/shared_study.py --workers 2 --trials 5
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pandas as pd
import sqlalchemy.engine
import sqlalchemy.exc
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import root_mean_squared_error
from sklearn.model_selection import KFold, train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
FOLDS = 3


def at_least_one(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def worker_number(text):
    if int(text) < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return int(text)


def database_url(text):
    try:
        sqlalchemy.engine.make_url(text)
    except sqlalchemy.exc.ArgumentError:
        raise argparse.ArgumentTypeError(f"not a SQLAlchemy database URL: {text!r}") from None
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="scale_out", help="(default: %(default)s)")
    parser.add_argument(
        "--storage", type=database_url, default="sqlite:///scale_out_files/optuna.db", help="Optuna's DB: %(default)s"
    )
    parser.add_argument("--workers", type=at_least_one, default=2, help="worker processes (default: 2)")
    parser.add_argument("--trials", type=at_least_one, default=5, help="trials per worker (default: 5)")
    parser.add_argument("--seed", type=int, default=42, help="worker K's sampler gets seed + K (default: 42)")
    # What the launcher passes to each worker (and what you would pass on another host)
    parser.add_argument("--worker", type=worker_number, help="run as worker K of --parent-run-id's study")
    parser.add_argument("--parent-run-id", help="the launcher's run: the trials become its child runs")
    parser.add_argument("--study-name", help="the study to load from --storage")
    return parser.parse_args()


def read_training_rows(data):
    wine = pd.read_csv(data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{data} is not the red wine CSV: it has no 'quality' column")
    train, _ = train_test_split(wine, test_size=0.25, random_state=42)  # the test rows stay out of the search
    return train.drop(columns="quality"), train["quality"]


def cv_rmse(alpha, l1_ratio, train_x, train_y):
    """Mean rmse over 3 folds of the training rows (the same folds for every trial)."""
    rmses = []
    for fit_rows, score_rows in KFold(n_splits=FOLDS, shuffle=True, random_state=42).split(train_x):
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)
        model.fit(train_x.iloc[fit_rows], train_y.iloc[fit_rows])
        rmses.append(root_mean_squared_error(train_y.iloc[score_rows], model.predict(train_x.iloc[score_rows])))
    return float(np.mean(rmses))


def work(args):
    """A worker: load the shared study and run --trials trials, each a child run of the parent run."""
    train_x, train_y = read_training_rows(args.data)
    parent = MlflowClient().get_run(args.parent_run_id)  # its experiment is where the children go
    sampler = optuna.samplers.TPESampler(seed=args.seed + args.worker)  # workers must not propose alike
    study = optuna.load_study(study_name=args.study_name, storage=args.storage, sampler=sampler)

    def objective(trial):
        alpha = trial.suggest_float("alpha", 1e-4, 10.0, log=True)
        l1_ratio = trial.suggest_float("l1_ratio", 0.0, 1.0)
        with mlflow.start_run(
            experiment_id=parent.info.experiment_id,
            parent_run_id=args.parent_run_id,  # sets the tag mlflow.parentRunId: nested in the UI
            run_name=f"trial-{trial.number}",
            tags={"worker": str(args.worker), "optuna.trial_number": str(trial.number)},
        ) as child:
            trial.set_user_attr("mlflow_run_id", child.info.run_id)
            trial.set_user_attr("worker", args.worker)
            mlflow.log_params(trial.params)
            value = cv_rmse(alpha, l1_ratio, train_x, train_y)
            mlflow.log_metric("cv_rmse", value)
        print(
            f"worker {args.worker}: trial {trial.number:>2} alpha={alpha:<10.4g} l1_ratio={l1_ratio:.3f} {value:.5f}",
            flush=True,
        )
        return value

    # Ctrl-C (the terminal's, or the launcher's): finish the trial under way, then stop. A trial cut
    # off inside an MLflow call could leave its child run RUNNING; a finished one is FINISHED.
    def stop_after_this_trial(signum, frame):
        print(f"worker {args.worker}: stopping after the trial under way", flush=True)
        study.stop()

    signal.signal(signal.SIGINT, stop_after_this_trial)
    study.optimize(objective, n_trials=args.trials)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def launch(args):
    """The launcher: the parent run, the study, N workers, then the best trial on the parent."""
    read_training_rows(args.data)  # a bad --data fails here, before anything is recorded

    experiment = mlflow.set_experiment(args.experiment_name)
    if args.storage.startswith("sqlite:///"):  # SQLite makes the file, not its folder
        Path(args.storage.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    storage = optuna.storages.RDBStorage(args.storage)  # creates Optuna's tables on first use
    with mlflow.start_run(run_name="shared-study") as parent:
        study_name = f"wine-{parent.info.run_id}"
        optuna.create_study(study_name=study_name, storage=storage, direction="minimize")
        mlflow.set_tags({"tuner": "optuna", "optuna.study_name": study_name})
        mlflow.log_params({"workers": args.workers, "trials_per_worker": args.trials, "storage": args.storage})

        # The workers: this script again, as you would start it on other hosts
        argv = [sys.executable, __file__, "--data", args.data, "--storage", args.storage, "--trials", str(args.trials)]
        argv += ["--seed", str(args.seed), "--parent-run-id", parent.info.run_id, "--study-name", study_name]
        workers = [subprocess.Popen([*argv, "--worker", str(k)]) for k in range(args.workers)]
        try:
            failed = [k for k, worker in enumerate(workers) if worker.wait() != 0]
        finally:  # Ctrl-C (or an error) here: Ctrl-C the workers too; each stops after its trial under way
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGINT)
            for worker in workers:
                worker.wait()
        if failed:
            raise ValueError(f"worker {', '.join(map(str, failed))} failed; the trials so far stay recorded")

        # Every worker is done: the study's best trial, recorded on the parent
        study = optuna.load_study(study_name=study_name, storage=storage)
        best = study.best_trial
        mlflow.log_params({"best_alpha": best.params["alpha"], "best_l1_ratio": best.params["l1_ratio"]})
        mlflow.log_metric("best_cv_rmse", best.value)
        mlflow.set_tags({"best_trial_number": str(best.number), "best_run_id": best.user_attrs["mlflow_run_id"]})

    print(f"parent run {parent.info.run_id} in experiment {experiment.name!r}: {len(study.trials)} trials")
    print(f"study {study_name!r} in {args.storage}")
    print(
        f"best: trial {best.number} (worker {best.user_attrs['worker']}, run {best.user_attrs['mlflow_run_id']}) "
        f"alpha={best.params['alpha']:.4g} l1_ratio={best.params['l1_ratio']:.3f} cv_rmse={best.value:.5f}"
    )


def main():
    args = parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # the script prints one line per trial itself
    if args.worker is None:
        launch(args)
    elif not (args.parent_run_id and args.study_name):
        raise ValueError("--worker needs --parent-run-id and --study-name (the launcher passes them)")
    else:
        work(args)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: the workers stopped after their trials, the parent run ended FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException, sqlalchemy.exc.SQLAlchemyError) as exc:  # bad data or storage
        sys.exit(f"error: {exc}")
