"""Start and end a run by hand: start_run, active_run, end_run(status), last_active_run.

Outside a ``with`` block nothing ends the run for you, so this script does it
itself, with the status you choose (``--status FINISHED|KILLED|FAILED``). If
anything goes wrong between start and end, the ``except`` branch ends the run
as FAILED: otherwise MLflow's exit hook would quietly mark the crashed run
FINISHED. ``--fail`` simulates such a crash after the run has started.

The run gets a name (``--run-name``; MLflow invents one like "traveling-tern-43"
if you give none), tags, and a description (stored as the ``mlflow.note.content``
tag, shown as the run's description in the UI).

    python examples/02_logging/run.py --run-name first-try --status KILLED
"""

import mlflow
from sklearn.linear_model import ElasticNet

from winelab import UserError, example_parser, load_wine, regression_metrics, run_example, split
from winelab.tracking import tag_chapter

END_STATUSES = ("FINISHED", "KILLED", "FAILED")


def main() -> None:
    parser = example_parser(__doc__, experiment="logging_runs")
    parser.add_argument("--run-name", default=None, help="name of the run (default: one MLflow makes up)")
    parser.add_argument(
        "--description",
        default="ElasticNet run started and ended without a with block",
        help="run description (default: %(default)r)",
    )
    parser.add_argument(
        "--status",
        type=str.upper,
        choices=END_STATUSES,
        default="FINISHED",
        help="status passed to end_run (default: %(default)s)",
    )
    parser.add_argument("--fail", action="store_true", help="raise an error after the run started (to see FAILED)")
    args = parser.parse_args()

    # Fit and evaluate outside any run: if this fails, nothing is recorded
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    # Start a run without `with`: start_run returns an ActiveRun
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    mlflow.start_run(
        experiment_id=experiment.experiment_id,
        run_name=args.run_name,
        tags={"lesson": "start and end a run by hand", "script": "run.py"},
        description=args.description,
    )
    try:
        # Everything between start_run and end_run belongs to the active run
        active = mlflow.active_run()
        print(f"active run: {active.info.run_id} ({active.info.run_name}), status {active.info.status}")
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        if args.fail:
            raise UserError("simulated failure after start_run (--fail); the run was ended as FAILED")
    except BaseException:
        # Outside `with`, ending a crashed run is our job; MLflow's atexit hook would say FINISHED.
        mlflow.end_run(status="FAILED")
        raise
    # End it with the chosen status (end_run's default is FINISHED)
    mlflow.end_run(status=args.status)

    # After end_run there is no active run, but last_active_run() fetches the one that just ended
    print(f"active run after end_run: {mlflow.active_run()}")
    run = mlflow.last_active_run()
    print(f"last active run: {run.info.run_id}")
    print(f"  name: {run.info.run_name}")
    print(f"  status: {run.info.status}")
    print(f"  description: {run.data.tags.get('mlflow.note.content')}")
    print("  " + ", ".join(f"{name}={value:.4f}" for name, value in run.data.metrics.items()))


if __name__ == "__main__":
    run_example(main)
