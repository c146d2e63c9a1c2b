"""Delete, restore and rename with ``MlflowClient``: the lifecycle of runs and experiments.

Nothing in MLflow is deleted at once: ``delete_run`` and ``delete_experiment``
move things to the ``deleted`` lifecycle stage (the UI's trash), where
searches skip them and ``restore_*`` brings them back; only ``mlflow gc``
removes them for good (chapter 11_cli). This script reads back every change:

* the worst run of ``client_tour.py``'s experiment is deleted, found only
  with ``ViewType.DELETED_ONLY``, then restored;
* a scratch experiment (unique name, so re-runs work) gets a run, is
  renamed, deleted and restored, and finally deleted again to tidy up.

Run ``client_tour.py`` first, against the same store: ``$MLFLOW_TRACKING_URI``,
else ``sqlite:///mlflow.db`` in the current folder.

    python examples/10_client/client_lifecycle.py --experiment-name client_tour
"""

import argparse
import sys
import uuid

from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--experiment-name", default="client_tour", help="client_tour.py's experiment (default: client_tour)"
    )
    return parser.parse_args()


def main():
    args = parse_args()
    client = MlflowClient()

    experiment = client.get_experiment_by_name(args.experiment_name)
    if experiment is None or experiment.lifecycle_stage != "active":
        sys.exit(f"error: no active experiment {args.experiment_name!r}: run client_tour.py first")
    ids = [experiment.experiment_id]

    # Delete the worst run: it leaves searches but stays in the store
    [worst] = client.search_runs(ids, order_by=["metrics.rmse DESC"], max_results=1)
    run_id = worst.info.run_id
    client.delete_run(run_id)
    print(f"run {run_id}: lifecycle_stage={client.get_run(run_id).info.lifecycle_stage}")
    active = client.search_runs(ids, run_view_type=ViewType.ACTIVE_ONLY)
    deleted = client.search_runs(ids, run_view_type=ViewType.DELETED_ONLY)
    print(f"  searches now see {len(active)} active and {len(deleted)} deleted run(s)")

    # Restore it
    client.restore_run(run_id)
    print(f"run {run_id}: lifecycle_stage={client.get_run(run_id).info.lifecycle_stage}")

    # A scratch experiment with one run, then rename it
    name = f"{args.experiment_name}-scratch-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(name, tags={"purpose": "lifecycle demo"})
    scratch_run = client.create_run(experiment_id, run_name="scratch")
    client.set_terminated(scratch_run.info.run_id)
    new_name = f"{name}-renamed"
    client.rename_experiment(experiment_id, new_name)
    print(f"experiment {experiment_id}: renamed to {client.get_experiment(experiment_id).name!r}")
    renamed = client.get_experiment_by_name(new_name)
    print(f"  by old name: {client.get_experiment_by_name(name)}, by new name: id {renamed.experiment_id}")

    # Delete and restore the experiment (its runs go and come back with it)
    client.delete_experiment(experiment_id)
    print(f"experiment {experiment_id}: lifecycle_stage={client.get_experiment(experiment_id).lifecycle_stage}")
    trash = client.search_experiments(view_type=ViewType.DELETED_ONLY, filter_string=f"name = '{new_name}'")
    print(f"  in the trash: {[e.name for e in trash]}")
    client.restore_experiment(experiment_id)
    print(f"experiment {experiment_id}: lifecycle_stage={client.get_experiment(experiment_id).lifecycle_stage}")
    print(f"  its run: {client.get_run(scratch_run.info.run_id).info.lifecycle_stage}")

    # Tidy up: back to the trash (`mlflow gc` would purge it for good)
    client.delete_experiment(experiment_id)
    print(f"experiment {experiment_id}: lifecycle_stage={client.get_experiment(experiment_id).lifecycle_stage}")


if __name__ == "__main__":
    try:
        main()
    except MlflowException as exc:  # no server, or a store that refuses a change
        sys.exit(f"error: {exc}")
