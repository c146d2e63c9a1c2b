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
as a CI gate would.
"""

import mlflow
import mlflow.sklearn
from mlflow.models import MetricThreshold, infer_signature
from mlflow.models.evaluation.validation import ModelValidationFailedException
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import ElasticNet

from winelab import TARGET, UserError, example_parser, load_wine, run_example, split
from winelab.cli import fraction, non_negative_float
from winelab.tracking import pip_requirements, tag_chapter

METRIC = "root_mean_squared_error"


def parse_args():
    parser = example_parser(__doc__, experiment="wine_evaluation")
    parser.add_argument(
        "--max-rmse",
        type=non_negative_float,
        default=0.75,
        help="the candidate's rmse must be at most this (default: %(default)s)",
    )
    parser.add_argument(
        "--min-improvement",
        type=fraction,
        default=0.05,
        help="required relative rmse improvement over the baseline, 0-1 (default: %(default)s)",
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
            pip_requirements=pip_requirements(),
        )
        # MLflow 2.x: mlflow.evaluate(..., baseline_model=..., validation_thresholds=...) did both steps.
        result = mlflow.models.evaluate(
            model=model_info.model_uri,
            data=eval_data,
            targets=TARGET,
            model_type="regressor",
            evaluator_config={"log_model_explainability": False},
        )
    return run.info.run_id, result


def main() -> None:
    args = parse_args()

    # Fit both models outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    baseline = DummyRegressor(strategy="mean").fit(train_x, train_y)
    candidate = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    candidate.fit(train_x, train_y)
    eval_data = test_x.assign(**{TARGET: test_y.astype(float)})

    # Evaluate each one on the same rows, in its own run
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    _, baseline_result = log_and_evaluate(baseline, "baseline_dummy", {"strategy": "mean"}, train_x, eval_data)
    candidate_run_id, candidate_result = log_and_evaluate(
        candidate, "candidate_elasticnet", {"alpha": args.alpha, "l1_ratio": args.l1_ratio}, train_x, eval_data
    )

    # The rules: lower rmse is better; an absolute ceiling and a required gain over the baseline
    thresholds = {
        METRIC: MetricThreshold(
            threshold=args.max_rmse,
            min_relative_change=args.min_improvement,
            greater_is_better=False,
        )
    }

    # Validate: raises ModelValidationFailedException (one message line per failed check)
    candidate_rmse, baseline_rmse = candidate_result.metrics[METRIC], baseline_result.metrics[METRIC]
    print(f"candidate rmse {candidate_rmse:.4f}, baseline (mean) rmse {baseline_rmse:.4f}")
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

    if verdict == "failed" and args.strict:
        raise UserError("candidate model rejected (see the REJECTED line above)")


if __name__ == "__main__":
    run_example(main)
