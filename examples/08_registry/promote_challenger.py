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

Compare like with like: every version should use the same --test-size and --seed.
"""

import mlflow
import mlflow.sklearn
from _options import add_model_name
from mlflow import MlflowClient
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import UserError, example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter

MODEL_DESCRIPTION = "ElasticNet predicting red wine quality (0-10) from 11 physico-chemical features."
CHAMPION, CHALLENGER = "champion", "challenger"


def main() -> None:
    args = add_model_name(example_parser(__doc__, experiment="wine_registry")).parse_args()
    name = args.model_name

    # Fit and evaluate outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    rmse = metrics["rmse"]

    # Log the run and the model, without registering it yet
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="challenger") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
        )

    # Register it afterwards, from the logged model's URI (models:/m-...), with version tags
    # MLflow 2.x: register_model("runs:/<run_id>/<artifact_path>", name); 3.x logged models have their own URI.
    version = mlflow.register_model(
        model_info.model_uri,
        name,
        tags={"alpha": str(args.alpha), "l1_ratio": str(args.l1_ratio), "rmse": str(rmse)},
    ).version
    client = MlflowClient()
    client.update_registered_model(name, description=MODEL_DESCRIPTION)
    client.update_model_version(
        name,
        version,
        description=f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio}); test rmse {rmse:.4f}.",
    )

    # The new version is the challenger
    # MLflow 2.x: transition_model_version_stage(name, version, "Staging"); stages are deprecated, use aliases.
    client.set_registered_model_alias(name, CHALLENGER, version)

    # Compare with the champion: its rmse comes from the run that produced its version
    aliases = client.get_registered_model(name).aliases  # {alias: version}
    if CHAMPION in aliases:
        champion = client.get_model_version_by_alias(name, CHAMPION)
        champion_metrics = client.get_run(champion.run_id).data.metrics if champion.run_id else {}
        if "rmse" not in champion_metrics:
            raise UserError(f"champion version {champion.version} of {name!r} has no run with an rmse metric")
        champion_rmse = champion_metrics["rmse"]
        print(f"champion: version {champion.version}, rmse {champion_rmse:.4f}")
    else:
        champion_rmse = None
        print(f"{name!r} has no champion yet")
    print(f"challenger: version {version}, rmse {rmse:.4f} (alpha={args.alpha}, l1_ratio={args.l1_ratio})")

    # Promote the challenger if it is better (lower rmse)
    if champion_rmse is None or rmse < champion_rmse:
        client.set_registered_model_alias(name, CHAMPION, version)
        client.delete_registered_model_alias(name, CHALLENGER)
        decision = "promoted to champion"
    else:
        decision = "kept as challenger"
    client.set_model_version_tag(name, version, "decision", decision)

    aliases = client.get_registered_model(name).aliases
    print(
        f"version {version} {decision}; aliases now: " + ", ".join(f"@{a} -> v{v}" for a, v in sorted(aliases.items()))
    )
    print(f"  (run {run.info.run_id}, logged model {model_info.model_uri})")


if __name__ == "__main__":
    run_example(main)
