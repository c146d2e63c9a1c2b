"""What a saved MLflow model is made of, and the Model API that writes and reads it.

``mlflow.sklearn.save_model`` writes a model into a local folder: no run, no
tracking store. The script

* saves the wine ElasticNet into ``<output-dir>/wine_model`` with
  ``pip_requirements`` (exactly these lines go into ``requirements.txt``) and
  lists every file MLflow wrote there, each with what it is for;
* loads it back natively (``mlflow.sklearn.load_model``: the ElasticNet itself,
  its ``coef_`` printed) and as a generic ``python_function``
  (``mlflow.pyfunc.load_model``), and predicts a few test wines with both;
* saves it again with ``extra_pip_requirements`` instead of
  ``pip_requirements``: MLflow infers the requirements, then appends yours;
* saves a classifier (is the wine good, quality >= 7?) with
  ``pyfunc_predict_fn="predict_proba"``: its pyfunc predicts probabilities;
* logs the ElasticNet to the tracking store (experiment ``model_format``) and
  downloads the logged model with ``mlflow.artifacts.download_artifacts(..., dst_path=...)``.

The folders go to ``--output-dir`` (each replaced on the next run); the run to
``$MLFLOW_TRACKING_URI``, or ``sqlite:///mlflow.db`` in the current folder.

    python examples/16_model_format/storage_format.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import os
import shutil
import sys
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"

# What each file of a saved model is for.
FILES = {
    "MLmodel": "the model's description (YAML): its flavors and how to load each, signature, input example, versions",
    "model.skops": "the fitted ElasticNet, serialized with skops (MLflow 2.x pickled it into model.pkl)",
    "conda.yaml": "the environment for conda: Python version and pip packages",
    "python_env.yaml": "the environment for virtualenv/uv: Python version, build tools, -r requirements.txt",
    "requirements.txt": "the pip requirements: pip_requirements as given, or what MLflow inferred",
    "input_example.json": "the input example as given (2 rows, pandas 'split' orient)",
    "serving_input_example.json": "the same rows as a request body for the scoring server's /invocations",
    "registered_model_meta": "added by a download from models:/...: registry name and version (null: not registered)",
}


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="model_format", help="(default: model_format)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--rows", type=positive_int, default=3, help="test wines to predict (default: 3)")
    parser.add_argument("--extra-requirement", default=f"joblib=={version('joblib')}",
                        help="the requirement given as extra_pip_requirements (default: %(default)s)")  # fmt: skip
    parser.add_argument("--output-dir", type=Path, default=Path("model_format_files/storage_format"),
                        help="folder for the saved models (default: %(default)s)")  # fmt: skip
    return parser.parse_args()


def show_files(folder):
    for path in sorted(folder.iterdir()):
        print(f"  {path.name:<28} {FILES.get(path.name, '(not described here)')}")


def main():
    args = parse_args()
    out = args.output_dir
    # MLflow's own switch: no "Downloading artifacts" progress bars between the lines this script prints
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"

    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    rows = test.drop(columns="quality").head(args.rows)

    # Fit outside any run: a bad --alpha fails here, before anything is written
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    signature = infer_signature(train_x, model.predict(train_x))
    # Saving needs no tracking store; logging (at the end) does. Chosen now, so a bad store fails at once.
    experiment = mlflow.set_experiment(args.experiment_name)
    for folder in ("wine_model", "wine_model_extra_requirements", "good_wine_classifier", "downloaded"):
        shutil.rmtree(out / folder, ignore_errors=True)  # save_model refuses a folder that is not empty

    # Pinned requirements: exactly these lines go into requirements.txt, and MLflow need not infer them
    requirements = [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")]
    # MLflow 2.x: mlflow.sklearn.save_model pickled the model (model.pkl); 3.x writes model.skops by default.
    mlflow.sklearn.save_model(
        model,
        path=str(out / "wine_model"),
        signature=signature,
        input_example=train_x.head(2),
        pip_requirements=requirements,
    )
    print(f"saved with mlflow.sklearn.save_model into {out / 'wine_model'}:")
    show_files(out / "wine_model")

    # Load natively (the scikit-learn object) and as pyfunc (any flavor, one predict)
    native = mlflow.sklearn.load_model(str(out / "wine_model"))
    print(f"\nmlflow.sklearn.load_model -> {type(native).__name__}; coef_:")
    for name, coef in zip(native.feature_names_in_, native.coef_, strict=True):
        print(f"  {name:<22} {coef:+.6f}")
    print(f"  intercept_              {native.intercept_:+.6f}")
    pyfunc_model = mlflow.pyfunc.load_model(str(out / "wine_model"))
    print(f"mlflow.pyfunc.load_model -> {type(pyfunc_model).__name__} (loader_module {pyfunc_model.loader_module})")
    print(f"  native predictions: {[round(float(v), 6) for v in native.predict(rows)]}")
    print(f"  pyfunc predictions: {[round(float(v), 6) for v in pyfunc_model.predict(rows)]}")

    # extra_pip_requirements: MLflow infers the requirements (a few seconds), then adds yours
    mlflow.sklearn.save_model(
        model, path=str(out / "wine_model_extra_requirements"), signature=signature,
        extra_pip_requirements=[args.extra_requirement],
    )  # fmt: skip
    pinned = (out / "wine_model" / "requirements.txt").read_text().splitlines()
    inferred = (out / "wine_model_extra_requirements" / "requirements.txt").read_text().splitlines()
    print(f"\nrequirements.txt with pip_requirements=[...] (exactly the list given):\n  {pinned}")
    print(f"requirements.txt with extra_pip_requirements=[{args.extra_requirement!r}]:\n  {inferred}")

    # pyfunc_predict_fn: which method the pyfunc's predict calls (here a classifier's probabilities)
    classifier = make_pipeline(StandardScaler(), LogisticRegression()).fit(train_x, train_y >= 7)
    mlflow.sklearn.save_model(
        classifier, path=str(out / "good_wine_classifier"), pyfunc_predict_fn="predict_proba",
        pip_requirements=requirements,
    )  # fmt: skip
    probabilities = mlflow.pyfunc.load_model(str(out / "good_wine_classifier")).predict(rows)
    print('\npyfunc of the classifier saved with pyfunc_predict_fn="predict_proba": P(not good), P(good) per wine')
    for pair in probabilities:
        print(f"  {[round(float(p), 6) for p in pair]}")

    # Log the model to the tracking store, then download it to a folder of your choice (dst_path)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="storage_format") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model_info = mlflow.sklearn.log_model(
            model, name="wine_model", signature=signature, input_example=train_x.head(2),
            pip_requirements=requirements,
        )  # fmt: skip
    downloaded = mlflow.artifacts.download_artifacts(model_info.model_uri, dst_path=str(out / "downloaded"))
    print(f"\nrun {run.info.run_id}: logged {model_info.model_uri}, downloaded into {downloaded}:")
    show_files(Path(downloaded))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no tracking server
        sys.exit(f"error: {str(exc).splitlines()[0]}")
