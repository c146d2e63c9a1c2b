"""A tour of the ``mlflow`` command line, run from Python so you can read along.

Each command is printed (``$ mlflow ...``) as you would type it in a shell
with the venv active, then run, with its output shown. It runs the click
command behind the ``mlflow`` executable in this process (``winelab.cli.mlflow_cli``):
the same code as the shell, without an MLflow start-up of about 3 s per
command. The CLI reads ``MLFLOW_TRACKING_URI`` like the Python API, so both
see the same store. The script

* creates an experiment (``mlflow experiments create``) unless it exists, and
  lists experiments (``mlflow experiments search``);
* logs one run with a model and a small text artifact, with the Python API;
* lists and describes runs (``mlflow runs list`` / ``describe``);
* lists and downloads the artifact (``mlflow artifacts list`` / ``download``);
* scores a CSV of test wines with the logged model (``mlflow models predict``);
* deletes a throwaway run (``mlflow runs delete``) and purges it for good
  (``mlflow gc``, which works on the store directly: ``--backend-store-uri``).

The files the commands write (input CSV, predictions, downloads) go to
``--output-dir``.

    python examples/11_cli/cli_tour.py --rows 5
"""

from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import mlflow_cli, positive_int
from winelab.tracking import pip_requirements, tag_chapter

SHOWN = 12  # lines of each command's output printed here


def main() -> None:
    parser = example_parser(__doc__, experiment="cli_tour")
    parser.add_argument("--rows", type=positive_int, default=5, help="test wines to score (default: %(default)s)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("cli_tour_files"),
        help="for the input CSV, predictions and downloads (default: %(default)s)",
    )
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    uri = mlflow.get_tracking_uri()  # the store the commands use too

    # Experiments: create (only if missing: create fails on an existing name), then list
    if mlflow.get_experiment_by_name(args.experiment_name) is None:
        mlflow_cli("experiments", "create", "--experiment-name", args.experiment_name, show=SHOWN)
    mlflow_cli("experiments", "search", show=SHOWN)
    experiment = mlflow.get_experiment_by_name(args.experiment_name)
    tag_chapter(experiment.experiment_id, __file__)  # set_experiment_tag: to filter by chapter in the UI

    # A run to look at, logged with the Python API: metrics, a text artifact and the model
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="cli_tour") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        mlflow.log_text(
            f"ElasticNet alpha={args.alpha} l1_ratio={args.l1_ratio}: rmse={metrics['rmse']:.4f}\n", "notes/summary.txt"
        )
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            pip_requirements=pip_requirements(),
        )
    run_id = run.info.run_id

    # Runs: list the experiment's runs, describe one (JSON: info, params, metrics, tags)
    mlflow_cli("runs", "list", "--experiment-id", experiment.experiment_id, show=SHOWN)
    mlflow_cli("runs", "describe", "--run-id", run_id, show=SHOWN)

    # Artifacts: list the run's files, download one into <output-dir>/downloads
    mlflow_cli("artifacts", "list", "--run-id", run_id, "--artifact-path", "notes", show=SHOWN)
    mlflow_cli(
        "artifacts", "download", "--run-id", run_id, "--artifact-path", "notes/summary.txt",
        "--dst-path", str(out / "downloads"), show=SHOWN,
    )  # fmt: skip

    # Batch scoring: a CSV of test wines in, a JSON of predictions out
    test_x.head(args.rows).to_csv(out / "input.csv", index=False)
    # MLflow 2.x: -m runs:/<run_id>/model; 3.x logged models have their own URI (models:/m-...).
    mlflow_cli(
        "models", "predict", "-m", model_info.model_uri, "-i", str(out / "input.csv"), "-t", "csv",
        "-o", str(out / "predictions.json"), "--env-manager", "local", show=SHOWN,
    )  # fmt: skip
    print((out / "predictions.json").read_text())

    # Delete a throwaway run, then purge it: `runs delete` only moves it to the trash
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="throwaway") as scratch:
        mlflow.log_text("gc removes this file with the run\n", "note.txt")
    mlflow_cli("runs", "delete", "--run-id", scratch.info.run_id, show=SHOWN)
    if uri.startswith(("http://", "https://")):
        print(f"\n(skipping `mlflow gc`: it needs the server's own backend store, not {uri})")
    else:
        mlflow_cli("gc", "--backend-store-uri", uri, "--run-ids", scratch.info.run_id, show=SHOWN)
    print(f"\nrun {run_id}: files in {out}; model {model_info.model_uri}")


if __name__ == "__main__":
    run_example(main)
