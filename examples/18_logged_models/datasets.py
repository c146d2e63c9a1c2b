"""Dataset tracking: which data a run used, and a digest that changes when the data does.

``mlflow.data.from_pandas(df, source=..., name=..., targets=...)`` describes a
DataFrame: a name (a label you choose), its source (here the UCI file's URL),
its schema, a profile (rows, cells) and a *digest*, a short hash of its
contents. ``mlflow.log_input(dataset, context=...)`` records it as an input of
the run, as ``training`` or ``evaluation`` data.

The script fits the same ElasticNet in four runs, each logging its training and
evaluation splits, and prints their digests:

1. ``seed-42``: the usual split (``--seed``);
2. ``seed-42-again``: the file read and split again: the same digests;
3. ``seed-7``: another split (``--other-seed``): new digests, same names;
4. ``deduplicated``: the 240 repeated rows dropped first: new digests.

Only the contents decide the digest: the same name can carry different data,
so compare digests, not names, to know whether two runs saw the same rows.

    python examples/18_logged_models/datasets.py
"""

import mlflow
import mlflow.data
from sklearn.linear_model import ElasticNet

from winelab import TARGET, example_parser, load_wine, regression_metrics, run_example, split
from winelab.data import URL
from winelab.tracking import tag_chapter


def parse_args():
    parser = example_parser(__doc__, experiment="wine_datasets")
    parser.add_argument(
        "--other-seed", type=int, default=7, help="seed of the second, different split (default: %(default)s)"
    )
    args = parser.parse_args()
    if args.other_seed == args.seed:
        parser.error(f"argument --other-seed: must differ from --seed ({args.seed}) to give another split")
    return args


def as_dataset(features, target, name):
    """The split's rows, target included, as an MLflow dataset traced to the UCI file."""
    # quality is a whole number; as float, MLflow's dataset schema does not warn about integer columns.
    frame = features.assign(**{TARGET: target.astype(float)})
    return mlflow.data.from_pandas(frame, source=URL, name=name, targets=TARGET)


def main() -> None:
    args = parse_args()
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)

    # Four ways to get the data: the first two hold the same rows, the last two do not
    variants = {
        f"seed-{args.seed}": split(load_wine(), test_size=args.test_size, seed=args.seed),
        # The file read and split again: a new DataFrame holding the same rows.
        f"seed-{args.seed}-again": split(load_wine(), test_size=args.test_size, seed=args.seed),
        f"seed-{args.other_seed}": split(load_wine(), test_size=args.test_size, seed=args.other_seed),
        "deduplicated": split(load_wine().drop_duplicates(), test_size=args.test_size, seed=args.seed),
    }

    logged = {}
    for run_name, (train_x, test_x, train_y, test_y) in variants.items():
        train_ds = as_dataset(train_x, train_y, "wine_train")
        eval_ds = as_dataset(test_x, test_y, "wine_test")

        with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=run_name):
            # Record both splits as inputs of the run, with their role
            mlflow.log_input(train_ds, context="training")
            mlflow.log_input(eval_ds, context="evaluation")

            model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
            model.fit(train_x, train_y)
            mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
            # A run's metrics do not keep a dataset= link; a logged model's do (checkpoints.py).
            mlflow.log_metrics(regression_metrics(test_y, model.predict(test_x)))
        logged[run_name] = (train_ds, eval_ds)

    # Compare the digests with the first run's
    first_train, first_eval = next(iter(logged.values()))
    print(f"experiment {experiment.name!r}, source {URL}")
    print(f"  {'run':<16} {'wine_train (digest, rows)':<30} wine_test (digest, rows)")
    for run_name, (train_ds, eval_ds) in logged.items():
        cells = []
        for dataset, first in ((train_ds, first_train), (eval_ds, first_eval)):
            verdict = "" if dataset is first else "same" if dataset.digest == first.digest else "changed"
            cells.append(f"{dataset.digest} {dataset.profile['num_rows']:>4} {verdict}".rstrip())
        print(f"  {run_name:<16} {cells[0]:<30} {cells[1]}")


if __name__ == "__main__":
    run_example(main)
