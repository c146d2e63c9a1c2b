"""Let MLflow infer the model signature from the data (the usual way).

``infer_signature(inputs, outputs)`` reads the column names and dtypes of the
training features and the type of the predictions, so the signature always
matches the data the model was really trained on. The model is logged with
it and a two-row input example; the script then prints where the MLmodel
file is and its ``signature`` section (compare it with
``manual_signature.py``'s).

    python examples/05_signatures/infer_signature.py
"""

import mlflow
import mlflow.sklearn
from _mlmodel import show_mlmodel  # the chapter's own helper, beside this script
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter


def main() -> None:
    args = example_parser(__doc__, experiment="signatures").parse_args()

    # Fit and evaluate outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # Inputs: the training features (a DataFrame: names + dtypes); outputs: the predictions
    signature = infer_signature(train_x, model.predict(train_x))

    # The input example is a DataFrame too (the guide's {"columns": ..., "data": ...} dict
    # would be read as two columns named "columns" and "data")
    input_example = train_x.head(2)

    # Log the model
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="infer_signature") as run:
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
