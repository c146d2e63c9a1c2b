"""What a saved MLflow model is made of, and the Model API that writes and reads it.

``mlflow.sklearn.save_model`` writes a model into a local folder: no run, no
tracking store. The script

* saves the wine ElasticNet into ``<output-dir>/wine_model`` and lists every
  file MLflow wrote there, each with what it is for;
* loads it back natively (``mlflow.sklearn.load_model``: the ElasticNet itself,
  its ``coef_`` printed) and as a generic ``python_function``
  (``mlflow.pyfunc.load_model``), and predicts a few test wines with both;
* saves it again with ``extra_pip_requirements`` instead of
  ``pip_requirements``: MLflow infers the requirements, then appends yours;
* saves a classifier (is the wine good, quality >= 7?) with
  ``pyfunc_predict_fn="predict_proba"``: its pyfunc predicts probabilities;
* logs the ElasticNet to the tracking store and downloads the logged model
  with ``mlflow.artifacts.download_artifacts(..., dst_path=...)``.

    python examples/16_model_format/storage_format.py --alpha 0.5 --l1-ratio 0.1
"""

from importlib import metadata
from pathlib import Path

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
from _outputs import add_output_dir, fresh
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from winelab import example_parser, load_wine, run_example, split
from winelab.cli import positive_int
from winelab.tracking import pip_requirements, tag_chapter

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


def show_files(folder: Path) -> None:
    for path in sorted(folder.iterdir()):
        print(f"  {path.name:<28} {FILES.get(path.name, '(not described here)')}")


def main() -> None:
    parser = example_parser(__doc__, experiment="model_format")
    parser.add_argument("--rows", type=positive_int, default=3, help="test wines to predict (default: %(default)s)")
    parser.add_argument(
        "--extra-requirement",
        default=f"joblib=={metadata.version('joblib')}",
        help="the requirement added with extra_pip_requirements (default: %(default)s)",
    )
    add_output_dir(parser, "storage_format")
    args = parser.parse_args()
    out = args.output_dir
    # Saving needs no tracking store; logging (at the end) does. Checked first, so a bad one fails at once.
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)

    train_x, test_x, train_y, _ = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    signature = infer_signature(train_x, model.predict(train_x))
    rows = test_x.head(args.rows)

    # Save to a folder. pip_requirements: exactly these lines go into requirements.txt
    # The sklearn flavor saves with skops (model.skops), which loads without running pickled code.
    model_dir = fresh(out / "wine_model")
    mlflow.sklearn.save_model(
        model,
        path=str(model_dir),
        signature=signature,
        input_example=train_x.head(2),
        pip_requirements=pip_requirements(),
    )
    print(f"saved with mlflow.sklearn.save_model into {model_dir}:")
    show_files(model_dir)

    # Load natively (the scikit-learn object) and as pyfunc (any flavor, one predict)
    native = mlflow.sklearn.load_model(str(model_dir))
    print(f"\nmlflow.sklearn.load_model -> {type(native).__name__}; coef_:")
    for name, coef in zip(native.feature_names_in_, native.coef_, strict=True):
        print(f"  {name:<22} {coef:+.6f}")
    print(f"  intercept_              {native.intercept_:+.6f}")
    pyfunc_model = mlflow.pyfunc.load_model(str(model_dir))
    print(f"mlflow.pyfunc.load_model -> {type(pyfunc_model).__name__} (loader_module {pyfunc_model.loader_module})")
    print(f"  native predictions: {[round(float(v), 6) for v in native.predict(rows)]}")
    print(f"  pyfunc predictions: {[round(float(v), 6) for v in pyfunc_model.predict(rows)]}")

    # extra_pip_requirements: MLflow infers the requirements (a few seconds), then adds yours
    extra_dir = fresh(out / "wine_model_extra_requirements")
    mlflow.sklearn.save_model(
        model, path=str(extra_dir), signature=signature, extra_pip_requirements=[args.extra_requirement]
    )
    print(f"\nrequirements.txt with pip_requirements=[...] (exactly the list given):\n  {read_lines(model_dir)}")
    print(f"requirements.txt with extra_pip_requirements=[{args.extra_requirement!r}]:\n  {read_lines(extra_dir)}")

    # pyfunc_predict_fn: which method the pyfunc's predict calls (here a classifier's probabilities)
    good = train_y >= 7
    classifier = make_pipeline(StandardScaler(), LogisticRegression()).fit(train_x, good)
    classifier_dir = fresh(out / "good_wine_classifier")
    mlflow.sklearn.save_model(
        classifier, path=str(classifier_dir), pyfunc_predict_fn="predict_proba", pip_requirements=pip_requirements()
    )
    probabilities = mlflow.pyfunc.load_model(str(classifier_dir)).predict(rows)
    print('\npyfunc of the classifier saved with pyfunc_predict_fn="predict_proba": P(not good), P(good) per wine')
    for pair in probabilities:
        print(f"  {[round(float(p), 6) for p in pair]}")

    # Log the model to the tracking store, then download it to a folder of your choice (dst_path)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name="storage_format") as run:
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        model_info = mlflow.sklearn.log_model(
            model, name="wine_model", signature=signature, input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
        )  # fmt: skip
    downloaded = mlflow.artifacts.download_artifacts(
        artifact_uri=model_info.model_uri, dst_path=str(fresh(out / "downloaded"))
    )
    print(f"\nrun {run.info.run_id}: logged {model_info.model_uri}, downloaded into {downloaded}:")
    show_files(Path(downloaded))


def read_lines(folder: Path) -> list[str]:
    return (folder / "requirements.txt").read_text().splitlines()


if __name__ == "__main__":
    run_example(main)
