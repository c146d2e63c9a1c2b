"""Make the chapter's guide-era store: a small ./mlruns folder written by MLflow 2.10.2, the guide's version.

Not a lesson script: it ran once, with MLflow 2.10.2 in a throwaway venv, and
its ./mlruns is committed as ``guide_era/mlruns-2.10.2.tar.gz`` (a tarball: git
would drop the empty folders, e.g. a run's ``artifacts/``, that MLflow 3's file
store requires). The commands that made it (Python 3.11, 2026-11-27), from the
repository root::

    python3.11 -m venv /tmp/mlflow210
    /tmp/mlflow210/bin/pip install mlflow==2.10.2 scikit-learn pandas
    rm -rf /tmp/guide-era-project && mkdir /tmp/guide-era-project
    (cd /tmp/guide-era-project && /tmp/mlflow210/bin/python "$OLDPWD/examples/20_migration/guide_era/make_store.py" \\
        --csv ~/.cache/winelab/winequality-red.csv)
    tar -C /tmp/guide-era-project --sort=name --owner=0 --group=0 --numeric-owner \\
        -czf examples/20_migration/guide_era/mlruns-2.10.2.tar.gz mlruns

No tracking URI is set, so MLflow 2.10 writes to ./mlruns, as in the guide. The
file store records absolute paths (``file:///tmp/guide-era-project/mlruns/...``)
in every meta.yaml; ``migrate_store.py`` shows what to do about that.

What it records, as a learner following the guide would have (no model
binaries, to keep the fixture a few KB):

* experiment ``experiment_1`` (guide chapter 01): three ElasticNet runs with
  params ``alpha``/``l1_ratio``, metrics ``rmse``/``mae``/``r2``, tags and a text
  artifact ``notes/summary.txt``; a fourth run deleted afterwards (as in the UI);
* experiment ``regularisation_path`` (with an experiment tag): a parent run
  logging ``rmse`` at one step per alpha and the path as ``path.csv``, and a
  nested child run for the best alpha.
"""

import argparse
import math

import mlflow
import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

GUIDE_RUNS = [(0.7, 0.7), (0.5, 0.1), (0.1, 0.9)]  # the guide's three runs of chapter 01
PATH_ALPHAS = [1.0, 0.5, 0.2, 0.1, 0.05]


def fit(data, alpha, l1_ratio):
    train, test = train_test_split(data, test_size=0.25, random_state=42)
    x_train, y_train = train.drop(columns="quality"), train["quality"]
    x_test, y_test = test.drop(columns="quality"), test["quality"]
    predicted = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(x_train, y_train).predict(x_test)
    return {
        "rmse": math.sqrt(mean_squared_error(y_test, predicted)),
        "mae": mean_absolute_error(y_test, predicted),
        "r2": r2_score(y_test, predicted),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--csv", required=True, help="the UCI red wine CSV (';'-separated)")
    args = parser.parse_args()
    assert mlflow.__version__ == "2.10.2", f"run this with MLflow 2.10.2, not {mlflow.__version__}"
    data = pd.read_csv(args.csv, sep=";")

    # Guide chapter 01: three runs of the same script with different hyperparameters.
    mlflow.set_experiment("experiment_1")
    for alpha, l1_ratio in GUIDE_RUNS:
        metrics = fit(data, alpha, l1_ratio)
        with mlflow.start_run(run_name=f"elasticnet-{alpha}-{l1_ratio}"):
            mlflow.log_param("alpha", alpha)
            mlflow.log_param("l1_ratio", l1_ratio)
            mlflow.log_metrics(metrics)
            mlflow.set_tags({"guide_chapter": "01_tracking", "model": "ElasticNet"})
            mlflow.log_text(
                f"ElasticNet alpha={alpha} l1_ratio={l1_ratio}: rmse={metrics['rmse']:.4f}\n", "notes/summary.txt"
            )
    with mlflow.start_run(run_name="mistake") as mistake:
        mlflow.log_param("alpha", -1)
    mlflow.delete_run(mistake.info.run_id)  # the UI's delete: lifecycle_stage "deleted", files stay

    # A regularisation path: one metric, one step per alpha; the best alpha as a nested run.
    experiment_id = mlflow.create_experiment("regularisation_path", tags={"purpose": "metric history with steps"})
    path = [(alpha, fit(data, alpha, 0.5)["rmse"]) for alpha in PATH_ALPHAS]
    with mlflow.start_run(experiment_id=experiment_id, run_name="path"):
        mlflow.log_param("l1_ratio", 0.5)
        mlflow.log_param("alphas", " ".join(str(alpha) for alpha in PATH_ALPHAS))
        for step, (alpha, rmse) in enumerate(path):
            mlflow.log_metric("rmse", rmse, step=step)
            mlflow.log_metric("alpha", alpha, step=step)
        mlflow.log_text("alpha,rmse\n" + "".join(f"{alpha},{rmse}\n" for alpha, rmse in path), "path.csv")
        best_alpha, best_rmse = min(path, key=lambda point: point[1])
        with mlflow.start_run(experiment_id=experiment_id, run_name="best", nested=True):
            mlflow.log_params({"alpha": best_alpha, "l1_ratio": 0.5})
            mlflow.log_metric("rmse", best_rmse)
            mlflow.set_tag("mlflow.note.content", "the best alpha of the path")
    print(f"wrote {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    main()
