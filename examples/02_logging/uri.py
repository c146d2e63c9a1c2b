"""Get and set the tracking URI: where MLflow keeps runs, and where their files go.

The same ElasticNet run as chapter 01, recorded into a store you choose:

  --store env       whatever ``$MLFLOW_TRACKING_URI`` says (the default when it is set)
  --store default   MLflow's own default: ``sqlite:///mlflow.db`` in the current folder
                    (the default when ``$MLFLOW_TRACKING_URI`` is not set)
  --store folder    a plain folder, ``./my_tracking``: the legacy file store
  --store file-uri  the same kind of store named by a ``file:///...`` URI, ``./file_tracking``

It prints ``mlflow.get_tracking_uri()``, the run's artifact URI and the model's
artifact location, and where each of them is on disk: run metadata (params,
metrics, tags) live in the tracking store, files (artifacts, models) in the
experiment's artifact location.

    python examples/02_logging/uri.py --store folder
    mlflow ui --backend-store-uri ./my_tracking     # with MLFLOW_ALLOW_FILE_STORE=true
"""

import os
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter

STORES = ("env", "default", "folder", "file-uri")


def on_disk(uri: str) -> str:
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


def main() -> None:
    parser = example_parser(__doc__, experiment="logging_uri")
    parser.add_argument(
        "--store",
        choices=STORES,
        default=None,
        help="where to record the run (default: env if MLFLOW_TRACKING_URI is set, else default)",
    )
    args = parser.parse_args()
    store = args.store or ("env" if os.environ.get("MLFLOW_TRACKING_URI") else "default")
    if store == "env" and not os.environ.get("MLFLOW_TRACKING_URI"):
        parser.error("--store env: MLFLOW_TRACKING_URI is not set")

    # Fit and evaluate outside any run: if this fails, nothing is recorded
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    signature = infer_signature(train_x, model.predict(train_x))

    # Choose the store; set_tracking_uri() beats $MLFLOW_TRACKING_URI for this process
    if store == "default":
        # What MLflow uses when nothing is set (since 3.7; 2.x used ./mlruns). A relative
        # sqlite path is relative to the current folder. The guide's set_tracking_uri("")
        # now means the legacy ./mlruns file store instead.
        mlflow.set_tracking_uri("sqlite:///mlflow.db")
    elif store in ("folder", "file-uri"):
        # MLflow 3.13+ refuses file stores unless opted in: this lesson shows one on purpose.
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        if store == "folder":
            mlflow.set_tracking_uri("./my_tracking")
        else:
            mlflow.set_tracking_uri(Path.cwd().joinpath("file_tracking").as_uri())
    tracking_uri = mlflow.get_tracking_uri()

    # Record the run as in chapter 01
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
        )

    # Where everything went
    print(f"store: {store}")
    print(f"tracking URI: {tracking_uri}")
    print(f"  metadata (params, metrics, tags) on disk: {on_disk(tracking_uri)}")
    print(f"experiment {experiment.name!r} artifact location: {experiment.artifact_location}")
    print(f"run {run.info.run_id} artifact URI: {run.info.artifact_uri}")
    print(f"  run files (log_artifact) on disk: {on_disk(run.info.artifact_uri)}")
    print(f"model {model_info.model_uri} artifact location: {model_info.artifact_path}")
    print(f"  model files on disk: {on_disk(model_info.artifact_path)}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    opt_in = "MLFLOW_ALLOW_FILE_STORE=true " if store in ("folder", "file-uri") else ""
    print(f"look at it: {opt_in}mlflow ui --backend-store-uri {tracking_uri}")


if __name__ == "__main__":
    run_example(main)
