"""Several experiments, each with several named runs, from one Python process.

Two questions, one experiment each:

* ``multiple_runs_alpha``: how does the regularisation strength matter?
  One run per ``--alphas`` value, ``l1_ratio`` fixed at ``--l1-ratio``.
* ``multiple_runs_l1_ratio``: how does the L1/L2 mix matter?
  One run per ``--l1-ratios`` value, ``alpha`` fixed at ``--alpha``.

(``--experiment-prefix`` changes the common start of both names.)

Nothing special is needed to do this: ``mlflow.set_experiment`` switches the
experiment new runs go to, and every run is started and ended in turn. Each
run gets a readable name built from its parameters (``alpha-0.5_l1-0.1``),
so the runs table in the UI says what each run was.

    python examples/03_multiple_runs/multiple_runs.py --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.9
"""

import mlflow
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import add_grid_options
from winelab.tracking import tag_chapter


def fit_and_evaluate(data, alpha: float, l1_ratio: float, seed: int) -> dict[str, float]:
    train_x, test_x, train_y, test_y = data
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed).fit(train_x, train_y)
    return regression_metrics(test_y, model.predict(test_x))


def main() -> None:
    parser = example_parser(__doc__, experiment=None, model=True)
    add_grid_options(
        parser,
        alphas_help="alphas tried in the first experiment",
        l1_ratios_help="l1_ratios tried in the second experiment",
    )
    parser.add_argument(
        "--experiment-prefix",
        default="multiple_runs",
        metavar="PREFIX",
        help="the two experiments are PREFIX_alpha and PREFIX_l1_ratio (default: %(default)s)",
    )
    args = parser.parse_args()

    data = split(load_wine(), test_size=args.test_size, seed=args.seed)
    plan = {
        f"{args.experiment_prefix}_alpha": [(alpha, args.l1_ratio) for alpha in args.alphas],
        f"{args.experiment_prefix}_l1_ratio": [(args.alpha, l1_ratio) for l1_ratio in args.l1_ratios],
    }

    for experiment_name, settings in plan.items():
        # Switch experiment: the runs started from now on are recorded in it
        experiment = mlflow.set_experiment(experiment_name)
        tag_chapter(experiment, __file__)
        print(f"experiment {experiment.name!r} (id {experiment.experiment_id})")

        for alpha, l1_ratio in settings:
            # Fit and evaluate first, then record the run under a readable name
            metrics = fit_and_evaluate(data, alpha, l1_ratio, args.seed)
            run_name = f"alpha-{alpha}_l1-{l1_ratio}"
            # Same as mlflow.start_run(run_name=...) ... mlflow.end_run(), but ended even on errors.
            with mlflow.start_run(run_name=run_name) as run:
                mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
                mlflow.log_metrics(metrics)
            print(f"  run {run_name:<20} rmse={metrics['rmse']:.4f}  ({run.info.run_id})")

    print(f"tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    run_example(main)
