"""A preprocessing pipeline logged as one model: whoever loads it passes raw features.

ElasticNet's penalty treats every coefficient alike, so features measured on
very different scales (total sulfur dioxide in the tens, chlorides below 0.1)
are penalised unevenly unless they are standardised first. If the scaling
lives outside the model, every caller must remember to repeat it, with the
training set's means and deviations. A scikit-learn ``Pipeline`` makes the
scaler part of the model:

    Pipeline([("scaler", StandardScaler()), ("model", ElasticNet(...))])

``mlflow.sklearn.autolog()`` logs the whole pipeline as ONE logged model, with
the params of both steps (``scaler__with_mean``, ``model__alpha``, ...), and a
signature inferred from the raw training rows: the 11 wine features as they are
in the file. The script then loads the logged model back with
``mlflow.pyfunc.load_model`` and checks that its predictions on raw rows equal
the fitted pipeline's own.

    python examples/18_logged_models/pipeline.py --alpha 0.05 --l1-ratio 0.5
"""

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
from sklearn.linear_model import ElasticNet
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from winelab import example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import positive_int
from winelab.tracking import tag_chapter


def parse_args():
    parser = example_parser(__doc__, experiment="wine_pipeline")
    # On standardised features the guide's alpha=0.7 leaves almost nothing: a weaker default.
    parser.set_defaults(alpha=0.05, l1_ratio=0.5)
    parser.add_argument(
        "--rows",
        type=positive_int,
        default=5,
        help="raw test rows to predict with the loaded model (default: %(default)s)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)

    # Autologging on before the fit; skops saves the pipeline without pickle
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    mlflow.sklearn.autolog(log_input_examples=True, serialization_format="skops")

    # The scaler and the model, fitted together on the raw features: autolog opens and ends a run
    pipeline = Pipeline(
        [
            ("scaler", StandardScaler()),
            ("model", ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)),
        ]
    )
    pipeline.fit(train_x, train_y)
    run = mlflow.last_active_run()
    logged_model = mlflow.last_logged_model()

    # Load the logged model as a generic pyfunc and predict on raw rows: no scaling by the caller
    loaded = mlflow.pyfunc.load_model(logged_model.model_uri)
    rows = test_x.head(args.rows)
    from_mlflow = loaded.predict(rows)
    from_pipeline = pipeline.predict(rows)

    test_metrics = regression_metrics(test_y, pipeline.predict(test_x))
    inputs = loaded.metadata.get_input_schema().input_names()
    print(f"run {run.info.run_id} ({run.info.run_name!r}) in experiment {experiment.name!r}")
    print(f"  model {logged_model.name!r} {logged_model.model_uri}: steps {list(pipeline.named_steps)}")
    print(f"  signature inputs ({len(inputs)} raw features): {', '.join(inputs)}")
    print(f"  test rmse {test_metrics['rmse']:.4f}, r2 {test_metrics['r2']:.4f}")
    difference = float(np.max(np.abs(from_mlflow - from_pipeline)))
    print(f"  raw rows -> loaded model / fitted pipeline (largest difference {difference:.1e}):")
    for (_, row), mine, theirs in zip(rows.iterrows(), from_mlflow, from_pipeline, strict=True):
        print(f"    alcohol {row['alcohol']:>5.2f} sulphates {row['sulphates']:.2f} -> {mine:.4f} / {theirs:.4f}")


if __name__ == "__main__":
    run_example(main)
