"""Create an experiment with tags and its own artifact location, then set it.

``mlflow.create_experiment`` returns the new experiment's id and fails if the
name is taken, so the script first looks the name up: the first run creates
the experiment, later runs find it and reuse it. ``mlflow.get_experiment``
reads it back (name, id, artifact location, tags, lifecycle stage, creation
time) and ``mlflow.set_experiment`` makes it the active one, returning the
Experiment itself rather than an id. The run logged into it stores its model
under ``./myartifacts`` (the experiment's artifact location), not ``./mlruns``.

    python examples/02_logging/experiment.py --version v1 --priority p1
"""

from datetime import datetime, timezone
from pathlib import Path

import mlflow
import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import UserError, example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import chapter_tags, pip_requirements


def main() -> None:
    parser = example_parser(__doc__, experiment="exp_create_exp_artifact")
    parser.add_argument("--version", default="v1", help="value of the experiment tag 'version' (default: %(default)s)")
    parser.add_argument(
        "--priority", default="p1", help="value of the experiment tag 'priority' (default: %(default)s)"
    )
    args = parser.parse_args()

    # Fit and evaluate outside any run: if this fails, nothing is recorded
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    signature = infer_signature(train_x, model.predict(train_x))

    # Create the experiment unless it exists; the artifact location must be a URI (file:///...)
    artifact_location = Path.cwd().joinpath("myartifacts").as_uri()
    existing = mlflow.get_experiment_by_name(args.experiment_name)
    if existing is None:
        experiment_id = mlflow.create_experiment(
            name=args.experiment_name,
            artifact_location=artifact_location,
            tags={"version": args.version, "priority": args.priority, **chapter_tags(__file__)},
        )
        print(f"created experiment {args.experiment_name!r}")
    elif existing.lifecycle_stage == "deleted":
        raise UserError(
            f"experiment {args.experiment_name!r} is deleted; restore it with "
            f"'mlflow experiments restore --experiment-id {existing.experiment_id}' or pick another name"
        )
    else:
        experiment_id = existing.experiment_id
        # Tags and artifact location are fixed at creation; this run keeps the old ones.
        print(f"found experiment {args.experiment_name!r}: reusing it, its tags and artifact location")

    # Read it back by id
    experiment = mlflow.get_experiment(experiment_id)
    created = datetime.fromtimestamp(experiment.creation_time / 1000, tz=timezone.utc)
    print(f"  name: {experiment.name}")
    print(f"  experiment_id: {experiment.experiment_id}")
    print(f"  artifact location: {experiment.artifact_location}")
    print(f"  tags: {experiment.tags}")
    print(f"  lifecycle stage: {experiment.lifecycle_stage}")
    print(f"  creation time: {experiment.creation_time} ({created:%Y-%m-%d %H:%M:%S} UTC)")

    # Make it the active experiment: set_experiment returns the Experiment, not its id
    experiment = mlflow.set_experiment(experiment_name=args.experiment_name)
    with mlflow.start_run() as run:  # no experiment_id needed: the active one is used
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
        )

    print(f"run {run.info.run_id} in experiment {experiment.experiment_id}")
    print(f"  run artifact URI: {run.info.artifact_uri}")
    print(f"  model files: {model_info.artifact_path}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))


if __name__ == "__main__":
    run_example(main)
