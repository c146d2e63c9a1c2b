"""Tag a run with set_tag / set_tags, and see the tags MLflow sets by itself.

Tags are free-form string labels on a run, good for grouping and searching
(``tags.environment = 'dev'`` in the UI's search box). Besides yours, MLflow
adds system tags whose keys start with ``mlflow.``: the run name, the user,
the source file and its type, and the git commit when the script lives in a
git repository. The script reads the finished run back and prints both kinds.

    python examples/02_logging/tags.py --version 1.0 --environment dev
"""

import mlflow
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import tag_chapter


def main() -> None:
    parser = example_parser(__doc__, experiment="logging_tags")
    parser.add_argument("--version", default="1.0", help="value of the run tag 'version' (default: %(default)s)")
    parser.add_argument(
        "--environment", default="dev", help="value of the run tag 'environment' (default: %(default)s)"
    )
    args = parser.parse_args()

    # Fit and evaluate outside any run: if this fails, nothing is recorded
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        # Tags belong to a run, so they are set while it is active; values become strings
        mlflow.set_tag("algorithm", "ElasticNet")
        mlflow.set_tags({"version": args.version, "environment": args.environment})

    # Read the finished run back: your tags and MLflow's system tags side by side
    tags = mlflow.get_run(run.info.run_id).data.tags
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("your tags:")
    for key in sorted(key for key in tags if not key.startswith("mlflow.")):
        print(f"  {key} = {tags[key]}")
    print("system tags (set by MLflow):")
    for key in sorted(key for key in tags if key.startswith("mlflow.")):
        print(f"  {key} = {tags[key]}")


if __name__ == "__main__":
    run_example(main)
