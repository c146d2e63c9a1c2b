"""Register a new challenger and promote it to champion if it is better.

Each run trains an ElasticNet with the given alpha and l1_ratio, logs it
(without registering), and only then registers the logged model with
``mlflow.register_model(model_info.model_uri, NAME)``: registering
afterwards is how you add a model you have already looked at.

The new version gets the alias ``challenger``. Its test rmse is compared with
the rmse recorded in the run behind the current ``champion`` version; if the
challenger is better (or there is no champion yet) the ``champion`` alias
moves to it and ``challenger`` is removed. Otherwise the champion stays and
the new version keeps ``challenger``. Run it again with other settings: each
run adds a version and moves the aliases.

Code that serves the model loads ``models:/NAME@champion`` and never needs to
know a version number (see use_champion.py).

    python examples/08_registry/promote_challenger.py --alpha 0.7 --l1-ratio 0.7
    python examples/08_registry/promote_challenger.py --alpha 0.1 --l1-ratio 0.9

Every version is tested on the same held-out quarter of the wines (a fixed
seed), so their rmse values compare. The runs land in experiment
``wine_registry`` of ``$MLFLOW_TRACKING_URI`` (else ``sqlite:///mlflow.db``).
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
MODEL_DESCRIPTION = "ElasticNet predicting red wine quality (0-10) from 11 physico-chemical features."
CHAMPION, CHALLENGER = "champion", "challenger"


def registered_model_name(text):
    """MLflow refuses '/' and ':' only when it registers (after the run); quotes would break a search filter."""
    if not text.strip() or any(char in text for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"{text!r} is not a registered model name (no / : or quotes)")
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="wine_registry", help="(default: wine_registry)")
    parser.add_argument(
        "--model-name", type=registered_model_name, default="wine_quality", help="(default: wine_quality)"
    )
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    return parser.parse_args()


def main():
    args = parse_args()
    model_name = args.model_name

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # Fit and evaluate outside any run: if this fails (a bad --alpha, say), nothing is recorded
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }
    rmse = metrics["rmse"]

    # Log the run and the model, without registering it yet
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="challenger") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )

    # Register it afterwards, from the logged model's URI (models:/m-...), with version tags
    # MLflow 2.x: register_model("runs:/<run_id>/<artifact_path>", name); 3.x logged models have their own URI.
    model_version = mlflow.register_model(
        model_info.model_uri,
        model_name,
        tags={"alpha": str(args.alpha), "l1_ratio": str(args.l1_ratio), "rmse": str(rmse)},
    ).version
    client = MlflowClient()
    client.update_registered_model(model_name, description=MODEL_DESCRIPTION)
    client.update_model_version(
        model_name,
        model_version,
        description=f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio}); test rmse {rmse:.4f}.",
    )

    # The new version is the challenger
    # MLflow 2.x: transition_model_version_stage(name, version, "Staging"); stages are deprecated, use aliases.
    client.set_registered_model_alias(model_name, CHALLENGER, model_version)

    # Compare with the champion: its rmse comes from the run that produced its version
    aliases = client.get_registered_model(model_name).aliases  # {alias: version}
    if CHAMPION in aliases:
        champion = client.get_model_version_by_alias(model_name, CHAMPION)
        champion_rmse = client.get_run(champion.run_id).data.metrics.get("rmse") if champion.run_id else None
        if champion_rmse is None:
            sys.exit(f"error: champion version {champion.version} of {model_name!r} has no run with an rmse metric")
        print(f"champion: version {champion.version}, rmse {champion_rmse:.4f}")
    else:
        champion_rmse = None
        print(f"{model_name!r} has no champion yet")
    print(f"challenger: version {model_version}, rmse {rmse:.4f} (alpha={args.alpha}, l1_ratio={args.l1_ratio})")

    # Promote the challenger if it is better (lower rmse)
    if champion_rmse is None or rmse < champion_rmse:
        client.set_registered_model_alias(model_name, CHAMPION, model_version)
        client.delete_registered_model_alias(model_name, CHALLENGER)
        decision = "promoted to champion"
    else:
        decision = "kept as challenger"
    client.set_model_version_tag(model_name, model_version, "decision", decision)

    aliases = client.get_registered_model(model_name).aliases
    print(
        f"version {model_version} {decision}; aliases now: "
        + ", ".join(f"@{a} -> v{v}" for a, v in sorted(aliases.items()))
    )
    print(f"  (run {run.info.run_id}, logged model {model_info.model_uri})")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no server
        sys.exit(f"error: {exc}")
