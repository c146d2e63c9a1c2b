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
so the runs table in the UI says what each run was. Every model is fitted
before the first run opens, so a bad value leaves nothing half-recorded.

    python examples/03_multiple_runs/multiple_runs.py --alphas 0.1 0.5 1.0 --l1-ratios 0.1 0.9
"""

import argparse
import os
import sys

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-prefix", default="multiple_runs", help="PREFIX_alpha and PREFIX_l1_ratio")
    parser.add_argument("--alphas", nargs="+", type=float, default=[0.1, 0.5, 1.0], help="tried with --l1-ratio")
    parser.add_argument("--l1-ratios", nargs="+", type=float, default=[0.1, 0.5, 0.9], help="tried with --alpha")
    parser.add_argument("--alpha", type=float, default=0.7, help="the fixed alpha (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="the fixed l1_ratio (default: 0.7)")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Two experiments, each a list of (alpha, l1_ratio) settings
    plan = {
        f"{args.experiment_prefix}_alpha": [(alpha, args.l1_ratio) for alpha in args.alphas],
        f"{args.experiment_prefix}_l1_ratio": [(args.alpha, l1_ratio) for l1_ratio in args.l1_ratios],
    }

    # Fit and evaluate every setting first: if one fails (a bad alpha, say), nothing is recorded
    results = {}
    for settings in plan.values():
        for alpha, l1_ratio in settings:
            model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(train_x, train_y)
            predicted = model.predict(test_x)
            results[alpha, l1_ratio] = {
                "rmse": root_mean_squared_error(test_y, predicted),
                "mae": mean_absolute_error(test_y, predicted),
                "r2": r2_score(test_y, predicted),
            }

    for experiment_name, settings in plan.items():
        # Switch experiment: the runs started from now on are recorded in it
        experiment = mlflow.set_experiment(experiment_name)
        print(f"experiment {experiment.name!r} (id {experiment.experiment_id})")

        for alpha, l1_ratio in settings:
            run_name = f"alpha-{alpha}_l1-{l1_ratio}"
            # Same as mlflow.start_run(run_name=...) ... mlflow.end_run(), but ended even on errors.
            with mlflow.start_run(run_name=run_name) as run:
                mlflow.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
                mlflow.log_metrics(results[alpha, l1_ratio])
            print(f"  run {run_name:<20} rmse={results[alpha, l1_ratio]['rmse']:.4f}  ({run.info.run_id})")

    print(f"tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad alpha, no server
        sys.exit(f"error: {exc}")
