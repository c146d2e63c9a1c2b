"""Log a custom python_function model from code, MLflow's recommended way.

``model_customization.py`` hands ``log_model`` a ``PythonModel`` *object*, which
MLflow pickles with cloudpickle (and warns about). Here ``python_model`` is the
*path* of a Python file, ``_wine_model_code.py``, that ends with
``mlflow.models.set_model(WineQualityFromCode())``. MLflow copies the file into
the model and runs it again at every load; nothing but the fitted ElasticNet
(an artifact, saved with joblib) is serialized.

The script logs the model, loads it back with ``mlflow.pyfunc.load_model`` and
checks that it predicts exactly what the fitted ElasticNet predicts.

    python examples/06_custom_libraries/log_model_from_code.py --alpha 0.1 --l1-ratio 0.9
"""

import tempfile
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import positive_int
from winelab.tracking import pip_requirements, tag_chapter

MODEL_CODE = Path(__file__).resolve().with_name("_wine_model_code.py")


def main() -> None:
    parser = example_parser(__doc__, experiment="custom_model_from_code")
    parser.add_argument("--rows", type=positive_int, default=5, help="test rows to predict (default: %(default)s)")
    args = parser.parse_args()

    # Fit and evaluate outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with tempfile.TemporaryDirectory() as scratch, mlflow.start_run(experiment_id=experiment.experiment_id) as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_path = Path(scratch, "model.joblib")
        joblib.dump(model, model_path)

        # Log the model as code: python_model is the file's path, not an object
        # MLflow 2.x (before 2.12): python_model=WineQualityModel(), pickled with cloudpickle.
        model_info = mlflow.pyfunc.log_model(
            name="wine_model_from_code",
            python_model=str(MODEL_CODE),
            artifacts={"model": str(model_path)},
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=test_x.head(2),
            pip_requirements=pip_requirements("joblib"),
        )

    # MLmodel names the code file (where it came from) instead of a python_model.pkl
    pyfunc = model_info.flavors["python_function"]
    code_file = Path(pyfunc["model_code_path"]).name  # copied into the model's root folder
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print(f"  model: {model_info.model_uri}")
    print(f"  python_function flavor: loader {pyfunc['loader_module']}, model code {code_file}")

    # Load it back: MLflow runs the copied file, set_model() hands over the object, load_context() runs
    loaded = mlflow.pyfunc.load_model(model_info.model_uri)
    rows = test_x.head(args.rows)
    predictions = loaded.predict(rows)
    difference = abs(predictions - model.predict(rows)).max()
    print(f"first {args.rows} test wines, loaded model vs fitted ElasticNet (max difference {difference:.1e}):")
    for actual, predicted in zip(test_y.head(args.rows), predictions, strict=True):
        print(f"  actual {actual}  predicted {predicted:.4f}")


if __name__ == "__main__":
    run_example(main)
