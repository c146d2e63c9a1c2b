"""Find registered models and versions, then predict with the champion.

Reading the registry: ``search_registered_models`` finds the registered model
(with its description and aliases), ``search_model_versions`` lists its
versions with their tags and the runs they came from.

Using it: ``mlflow.pyfunc.load_model("models:/NAME@champion")`` loads
whichever version the ``champion`` alias points to right now, so the code
that serves predictions does not change when a better model is promoted.

    python examples/08_registry/use_champion.py --rows 5
"""

import mlflow.pyfunc
from _options import add_model_name
from mlflow import MlflowClient

from winelab import UserError, example_parser, load_wine, run_example, split
from winelab.cli import positive_int


def main() -> None:
    parser = add_model_name(example_parser(__doc__, model=False))
    parser.add_argument("--rows", type=positive_int, default=5, help="test rows to predict (default: %(default)s)")
    args = parser.parse_args()
    name = args.model_name

    # Search the registry for the model and list its versions
    client = MlflowClient()
    found = client.search_registered_models(filter_string=f"name = '{name}'")
    if not found:
        raise UserError(f"no registered model named {name!r}; run register_at_log_time.py or promote_challenger.py")
    registered = found[0]
    print(f"{registered.name}: {registered.description}")
    version_aliases = {}
    for alias, version in registered.aliases.items():
        version_aliases.setdefault(str(version), []).append(f"@{alias}")

    versions = client.search_model_versions(filter_string=f"name = '{name}'", order_by=["version_number ASC"])
    for mv in versions:
        labels = " ".join(version_aliases.get(str(mv.version), []))
        print(f"  v{mv.version:<3} rmse {float(mv.tags.get('rmse', 'nan')):.4f}  run {mv.run_id}  {labels}".rstrip())

    if "champion" not in registered.aliases:
        raise UserError(f"{name!r} has no @champion alias yet; run promote_challenger.py first")

    # Load whatever version @champion points to, and predict
    champion_uri = f"models:/{name}@champion"
    model = mlflow.pyfunc.load_model(champion_uri)
    _, test_x, _, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    predictions = model.predict(test_x.head(args.rows))

    print(f"{champion_uri} is version {registered.aliases['champion']}; first {args.rows} test wines:")
    for actual, predicted in zip(test_y.head(args.rows), predictions, strict=True):
        print(f"  actual {actual}  predicted {predicted:.3f}")


if __name__ == "__main__":
    run_example(main)
