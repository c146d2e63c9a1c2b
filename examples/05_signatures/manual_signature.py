"""Write a model signature by hand with ``Schema`` and ``ColSpec``.

A signature tells MLflow what a model takes and returns. Here it is spelled
out column by column: the 11 physico-chemical features, each a ``double``
(the target ``quality`` is *not* an input), and one ``double`` output, the
predicted quality. The model is logged with that signature and a three-row
input example, then the script shows where the MLmodel file is and prints
its ``signature`` section.

Writing a signature by hand is rarely needed (``infer_signature.py`` is the
usual way), but it shows exactly what MLflow stores.

    python examples/05_signatures/manual_signature.py
    python examples/05_signatures/enforcement.py     # then see it enforced
"""

import mlflow
import mlflow.sklearn
from _mlmodel import show_mlmodel  # the chapter's own helper, beside this script
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema
from sklearn.linear_model import ElasticNet

from winelab import FEATURES, example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter


def main() -> None:
    args = example_parser(__doc__, experiment="signatures").parse_args()

    # Fit and evaluate outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # The signature, by hand: one ColSpec(type, name) per input column, one unnamed output
    input_schema = Schema([ColSpec("double", name) for name in FEATURES])
    output_schema = Schema([ColSpec("double")])  # ElasticNet predicts floats, not longs
    signature = ModelSignature(inputs=input_schema, outputs=output_schema)

    # The input example: a few real rows with exactly the signature's columns
    input_example = test_x.head(3)

    # Log the model with both
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="manual_signature") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=signature,
            input_example=input_example,
            pip_requirements=pip_requirements(),
        )

    # Where the MLmodel file is, and what its signature section says (helper in _mlmodel.py)
    show_mlmodel(model_info, run, experiment)


if __name__ == "__main__":
    run_example(main)
