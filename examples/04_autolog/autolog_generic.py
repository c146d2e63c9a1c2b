"""Autologging: one ``mlflow.autolog()`` call instead of the log_* calls.

``mlflow.autolog()`` is called once, before the model is defined and fitted.
It detects scikit-learn and patches ``fit``: since no run is active, the fit
opens a run, records it and ends it. What lands in that run:

* params: every constructor argument of the ElasticNet (``get_params()``),
  not only alpha and l1_ratio;
* metrics: ``training_*`` scores computed on the training data
  (rmse, mae, r2, ``training_score``), plus any ``sklearn.metrics`` function
  called later on the model's predictions (here the test-set rmse, logged
  as ``root_mean_squared_error_test_x``);
* the model, as a logged model named ``model`` with an inferred signature;
* the training data (and, once predicted on, the test data) as datasets.

    python examples/04_autolog/autolog_generic.py --alpha 0.5 --l1-ratio 0.1
"""

import mlflow
import sklearn.metrics
from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, run_example, split
from winelab.tracking import tag_chapter


def main() -> None:
    args = example_parser(__doc__, experiment="autolog_generic", model=True).parse_args()
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)

    # Choose the experiment, then switch autologging on *before* fitting
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    # Saves the model with cloudpickle, so MLflow 3 prints a WARNING recommending skops;
    # mlflow.sklearn.autolog(serialization_format="skops") would choose the safe format.
    mlflow.autolog()

    # Fit as usual: autologging opens a run, records it and ends it
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    run = mlflow.last_active_run()

    # A metric from sklearn.metrics on the model's predictions is autologged too,
    # named after the function and the variable holding the inputs ("test_x")
    test_rmse = sklearn.metrics.root_mean_squared_error(test_y, model.predict(test_x))

    # Read back what autologging recorded
    recorded = mlflow.get_run(run.info.run_id)
    logged_model = mlflow.last_logged_model()
    print(f"run {run.info.run_id} ({run.info.run_name!r}) in experiment {experiment.name!r}")
    print(f"  params ({len(recorded.data.params)}): " + ", ".join(sorted(recorded.data.params)))
    for name, value in sorted(recorded.data.metrics.items()):
        print(f"  metric {name} = {value:.4f}")
    print(f"  test rmse computed here: {test_rmse:.4f}")
    contexts = [tag.value for dataset in recorded.inputs.dataset_inputs for tag in dataset.tags]
    print("  datasets: " + ", ".join(contexts))
    print(f"  model: {logged_model.name!r} {logged_model.model_uri}")
    print(f"  tracking URI: {mlflow.get_tracking_uri()}")


if __name__ == "__main__":
    run_example(main)
