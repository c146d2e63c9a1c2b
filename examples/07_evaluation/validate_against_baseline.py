"""Validate a candidate model against a baseline before trusting it.

A model is only worth shipping if it beats something trivial. This script
evaluates two models on the same test rows, each in its own run:

- the baseline: a DummyRegressor that always predicts the mean training quality;
- the candidate: the ElasticNet with the given alpha and l1_ratio.

Then ``mlflow.validate_evaluation_results`` checks the candidate's root mean
squared error against ``MetricThreshold`` rules: at most ``--max-rmse``, and at
least ``--min-improvement`` (a share, 0.05 = 5 %) better than the baseline's.
A failed check raises ``ModelValidationFailedException``; the script catches
it, prints the reason on one line and records the verdict as tags on the
candidate's run (``validation`` = passed/failed, ``validation_reason``).

    python examples/07_evaluation/validate_against_baseline.py --alpha 0.1 --l1-ratio 0.9  # passes
    python examples/07_evaluation/validate_against_baseline.py --alpha 0.7 --l1-ratio 0.7  # rejected
    python examples/07_evaluation/validate_against_baseline.py --max-rmse 0.1              # rejected

With ``--strict`` a rejected candidate also ends the script with exit status 1,
as a CI gate would. Both runs land in experiment ``wine_evaluation`` of
``$MLFLOW_TRACKING_URI`` (else ``sqlite:///mlflow.db`` in the current folder).
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold, infer_signature
from mlflow.models.evaluation.validation import ModelValidationFailedException
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
METRIC = "root_mean_squared_error"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_evaluation", help="(default: wine_evaluation)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--max-rmse", type=float, default=0.75, help="highest rmse accepted (default: 0.75)")
    parser.add_argument(
        "--min-improvement", type=float, default=0.05, help="required rmse gain over the baseline, 0-1 (default: 0.05)"
    )
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when the candidate is rejected")
    return parser.parse_args()


def log_and_evaluate(model, run_name, params, train_x, eval_data):
    """Log ``model`` in a new run and evaluate it there; returns (run id, EvaluationResult)."""
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(params)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
        # MLflow 2.x: mlflow.evaluate(..., baseline_model=..., validation_thresholds=...) did both steps.
        result = mlflow.models.evaluate(
            model=model_info.model_uri,
            data=eval_data,
            targets="quality",
            model_type="regressor",
            evaluator_config={"log_model_explainability": False},
        )
    return run.info.run_id, result


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    # The evaluation data: test features and target together (as float: no integer-column warning)
    eval_data = test.astype({"quality": float})

    # Fit both models outside any run: a bad --alpha stops here, with nothing recorded
    baseline = DummyRegressor(strategy="mean").fit(train_x, train_y)
    candidate = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    candidate.fit(train_x, train_y)

    # The rules: lower rmse is better; an absolute ceiling and a required gain over the baseline.
    # MetricThreshold refuses a --min-improvement outside 0-1 here, before any run.
    thresholds = {
        METRIC: MetricThreshold(
            threshold=args.max_rmse,
            min_relative_change=args.min_improvement,
            greater_is_better=False,
        )
    }

    # Evaluate each model on the same rows, in its own run
    experiment = mlflow.set_experiment(args.experiment_name)
    _, baseline_result = log_and_evaluate(baseline, "baseline_dummy", {"strategy": "mean"}, train_x, eval_data)
    candidate_run_id, candidate_result = log_and_evaluate(
        candidate, "candidate_elasticnet", {"alpha": args.alpha, "l1_ratio": args.l1_ratio}, train_x, eval_data
    )

    # Validate: raises ModelValidationFailedException (one message line per failed check)
    candidate_rmse, baseline_rmse = candidate_result.metrics[METRIC], baseline_result.metrics[METRIC]
    print(
        f"experiment {experiment.name!r}: candidate rmse {candidate_rmse:.4f}, baseline (mean) rmse {baseline_rmse:.4f}"
    )
    try:
        mlflow.validate_evaluation_results(thresholds, candidate_result, baseline_result)
    except ModelValidationFailedException as exc:
        verdict, reason = "failed", " | ".join(line.strip() for line in exc.message.splitlines() if line.strip())
        print(f"REJECTED: {reason}")
    else:
        verdict = "passed"
        reason = (
            f"rmse {candidate_rmse:.4f} <= {args.max_rmse} and at least "
            f"{args.min_improvement:.0%} below the baseline's {baseline_rmse:.4f}"
        )
        print(f"PASSED: {reason}")

    # Record the verdict on the candidate's run (the run has ended: use the client)
    client = mlflow.MlflowClient()
    client.set_tag(candidate_run_id, "validation", verdict)
    client.set_tag(candidate_run_id, "validation_reason", reason)
    print(f"  tags on run {candidate_run_id}: validation={verdict}, validation_reason")

    if verdict == "failed" and args.strict:
        sys.exit("error: candidate model rejected (see the REJECTED line above)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha or --min-improvement, no server
        sys.exit(f"error: {exc}")
