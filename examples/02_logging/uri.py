"""Get and set the tracking URI: where MLflow keeps runs, and where their files go.

The same ElasticNet run as chapter 01, recorded into a store you choose:

  --store env       whatever ``$MLFLOW_TRACKING_URI`` says (the default when it is set)
  --store default   MLflow's own default: ``sqlite:///mlflow.db`` in the current folder
                    (the default when ``$MLFLOW_TRACKING_URI`` is not set)
  --store folder    a plain folder, ``./my_tracking``: the guide's file store (like ./mlruns)
  --store file-uri  the same kind of store named by a ``file:///...`` URI, ``./file_tracking``

It prints ``mlflow.get_tracking_uri()``, the run's artifact URI and the model's
artifact location, and where each of them is on disk: run metadata (params,
metrics, tags) live in the tracking store, files (artifacts, models) in the
experiment's artifact location.

    python examples/02_logging/uri.py --store folder
    MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri ./my_tracking
"""

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="logging_uri", help="(default: logging_uri)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument(
        "--store",
        choices=("env", "default", "folder", "file-uri"),
        default="env" if os.environ.get("MLFLOW_TRACKING_URI") else "default",
        help="where to record the run (default: env if MLFLOW_TRACKING_URI is set, else default)",
    )
    args = parser.parse_args()
    if args.store == "env" and not os.environ.get("MLFLOW_TRACKING_URI"):
        parser.error("--store env: MLFLOW_TRACKING_URI is not set")
    return args


def on_disk(uri):
    """The local path behind a store or artifact URI, or where it lives if it is not local."""
    scheme = urlparse(uri).scheme
    if scheme == "sqlite":
        path = uri[len("sqlite:///") :]  # sqlite:///relative.db or sqlite:////absolute.db
    elif scheme == "file":
        path = url2pathname(urlparse(uri).path)
    elif len(scheme) <= 1:  # a plain path (a Windows drive letter parses as a scheme)
        path = uri
    else:
        return f"not on this disk ({scheme}: the server or database keeps it)"
    return str(Path(path).resolve())


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
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }
    signature = infer_signature(train_x, model.predict(train_x))

    # Choose the store; set_tracking_uri() beats $MLFLOW_TRACKING_URI for this process
    if args.store == "default":
        # What MLflow uses when nothing is set (since 3.7; 2.x used ./mlruns). A relative
        # sqlite path is relative to the current folder. The guide's set_tracking_uri("")
        # now means the legacy ./mlruns file store instead.
        mlflow.set_tracking_uri("sqlite:///mlflow.db")
    elif args.store in ("folder", "file-uri"):
        # MLflow 3.13+ refuses file stores unless opted in: this lesson shows one on purpose.
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        if args.store == "folder":
            mlflow.set_tracking_uri("./my_tracking")
        else:
            mlflow.set_tracking_uri(Path.cwd().joinpath("file_tracking").as_uri())
    tracking_uri = mlflow.get_tracking_uri()

    # Record the run as in chapter 01
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    # Where everything went
    print(f"store: {args.store}")
    print(f"tracking URI: {tracking_uri}")
    print(f"  metadata (params, metrics, tags) on disk: {on_disk(tracking_uri)}")
    print(f"experiment {experiment.name!r} artifact location: {experiment.artifact_location}")
    print(f"run {run.info.run_id} artifact URI: {run.info.artifact_uri}")
    print(f"  run files (log_artifact) on disk: {on_disk(run.info.artifact_uri)}")
    print(f"model {model_info.model_uri} artifact location: {model_info.artifact_path}")
    print(f"  model files on disk: {on_disk(model_info.artifact_path)}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    opt_in = "MLFLOW_ALLOW_FILE_STORE=true " if args.store in ("folder", "file-uri") else ""
    print(f"look at it: {opt_in}mlflow ui --backend-store-uri {tracking_uri}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
