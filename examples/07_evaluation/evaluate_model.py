"""Evaluate a logged model with mlflow.models.evaluate.

Instead of computing and logging rmse/mae/r2 by hand, hand MLflow the logged
model and the test rows (features plus the ``quality`` column): the built-in
regressor evaluator predicts, computes its standard metrics (mean squared
error, root mean squared error, mean absolute error, r2, max error, ...) and
logs them on the active run, linked to the logged model and to the
evaluation dataset.

On top of the defaults it computes two extra metrics made with
``mlflow.models.make_metric`` (the share of wines predicted within half a
quality point and within one point) and logs a custom artifact: a figure of
predicted vs actual quality and of the residuals.

Where it lands: ``$MLFLOW_TRACKING_URI``, or ``sqlite:///mlflow.db`` in the
current folder; experiment ``wine_evaluation``, run ``evaluate_elasticnet``.

    python examples/07_evaluation/evaluate_model.py --alpha 0.1 --l1-ratio 0.9
"""

import argparse
import os
import sys
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature, make_metric
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_evaluation", help="(default: wine_evaluation)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    return parser.parse_args()


# Extra metrics: eval_fn gets the predictions and targets as pandas Series
def within_half_point(predictions, targets, metrics):
    """Share of wines whose predicted quality is within 0.5 of the true score."""
    return float(np.mean(np.abs(predictions - targets) <= 0.5))


def within_one_point(predictions, targets, metrics):
    """Share of wines whose predicted quality is within 1 of the true score."""
    return float(np.mean(np.abs(predictions - targets) <= 1.0))


# A custom artifact: a function of the evaluation table that returns {name: file}
def residual_plots(eval_df, builtin_metrics, artifacts_dir):
    """Predicted vs actual quality, and the residuals (actual - predicted)."""
    actual, predicted = eval_df["target"], eval_df["prediction"]
    # A bare Figure (no pyplot) renders with the Agg backend: no display, no global state.
    figure = Figure(figsize=(9, 4), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.scatter(actual, predicted, s=8, alpha=0.4)
    left.plot([3, 8], [3, 8], color="grey", linestyle="--", linewidth=1)
    left.set(xlabel="actual quality", ylabel="predicted quality", title="Predicted vs actual")
    right.hist(actual - predicted, bins=30)
    right.set(xlabel="residual (actual - predicted)", ylabel="wines", title="Residuals")
    path = Path(artifacts_dir) / "residuals.png"
    figure.savefig(path, dpi=100)
    return {"residuals_plot": str(path)}


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]

    # Fit outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    signature = infer_signature(train_x, model.predict(train_x))

    # The evaluation data: the test rows, features and target column together.
    # quality is a whole number; as float, MLflow's dataset schema does not warn about integer columns.
    eval_data = test.astype({"quality": float})

    # greater_is_better tells validation (see validate_against_baseline.py) which way is better.
    extra_metrics = [
        make_metric(eval_fn=within_half_point, greater_is_better=True),
        make_metric(eval_fn=within_one_point, greater_is_better=True),
    ]

    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="evaluate_elasticnet") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
        # Evaluate the logged model (by its models:/m-... URI) on the test rows
        # MLflow 2.x: mlflow.evaluate(..., custom_metrics=[...]); 3.0 moved it here and kept only extra_metrics=.
        result = mlflow.models.evaluate(
            model=model_info.model_uri,
            data=eval_data,
            targets="quality",
            model_type="regressor",
            extra_metrics=extra_metrics,
            custom_artifacts=[residual_plots],
            # SHAP explanations are optional (the shap package is not installed here).
            evaluator_config={"log_model_explainability": False},
        )

    print(f"run {run.info.run_id} in experiment {experiment.name!r}, model {model_info.model_uri}")
    for name in (
        "root_mean_squared_error",
        "mean_absolute_error",
        "r2_score",
        "max_error",
        "within_half_point",
        "within_one_point",
    ):
        print(f"  {name:<24} {result.metrics[name]:.4f}")
    for name, artifact in result.artifacts.items():
        print(f"  artifact {name}: {artifact.uri}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
