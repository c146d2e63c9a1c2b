"""Log a custom python_function model: your own wrapper, artifacts and code.

When MLflow has no flavor for what you need, wrap it in a
``mlflow.pyfunc.PythonModel`` (here ``_wine_wrapper.WineQualityModel``) and
log it with ``mlflow.pyfunc.log_model``. The model package then holds:

- ``artifacts``: files the wrapper needs, here the ElasticNet saved with
  joblib and a ``data`` folder with the train/test splits as CSV;
- ``code_paths``: the module that defines the wrapper, so it can be loaded
  anywhere;
- an explicit environment (a conda env dict with pinned pip packages);
- a signature and an input example.

Load it from another process with ``load_custom_model.py``.

    python examples/06_custom_libraries/model_customization.py --alpha 0.5 --l1-ratio 0.1
    python examples/06_custom_libraries/load_custom_model.py
"""

import platform
import tempfile
from pathlib import Path

import joblib
import mlflow
import mlflow.pyfunc
from _wine_wrapper import WineQualityModel
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import TARGET, example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import pip_requirements, tag_chapter

WRAPPER_MODULE = Path(__file__).resolve().with_name("_wine_wrapper.py")


def main() -> None:
    args = example_parser(__doc__, experiment="custom_model").parse_args()

    # Fit and evaluate outside any run
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    signature = infer_signature(train_x, model.predict(train_x))

    # The environment the model needs, as a conda env with pinned pip packages
    conda_env = {
        "name": "wine_custom_model",
        "channels": ["conda-forge"],
        # The guide wrote f"python={sys.version}", which also holds the compiler and build date.
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": pip_requirements("joblib")}],
    }

    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with tempfile.TemporaryDirectory() as scratch:
        # Artifacts: the model saved with joblib, and the data splits as CSV (no index column)
        model_path = Path(scratch, "model.joblib")
        joblib.dump(model, model_path)
        data_dir = Path(scratch, "data")
        data_dir.mkdir()
        train_x.assign(**{TARGET: train_y}).to_csv(data_dir / "train.csv", index=False)
        test_x.assign(**{TARGET: test_y}).to_csv(data_dir / "test.csv", index=False)
        artifacts = {"model": str(model_path), "data": str(data_dir)}

        # Log the wrapper with its artifacts, its code and its environment
        with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
            mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
            mlflow.log_metrics(metrics)
            # MLflow 2.x: code_path=[...]; 3.x: code_paths=[...].
            model_info = mlflow.pyfunc.log_model(
                name="custom_mlflow_pyfunc",
                python_model=WineQualityModel(),
                artifacts=artifacts,
                code_paths=[str(WRAPPER_MODULE)],
                conda_env=conda_env,
                signature=signature,
                input_example=test_x.head(2),
            )

    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    print(f"  model: {model_info.model_uri}")
    print(f"  load it: python {Path(__file__).with_name('load_custom_model.py')} --run-id {run.info.run_id}")


if __name__ == "__main__":
    run_example(main)
