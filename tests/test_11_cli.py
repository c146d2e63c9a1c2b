"""examples/11_cli: the mlflow command line, checked by the effects of its commands.

11_cli/cli_tour.py runs nine `mlflow` commands, so one test runs it once and
then checks each command's effect with a helper.
"""

import json
import re
from types import SimpleNamespace

import mlflow.pyfunc
import pandas as pd
import pytest
from harness import assert_rejected
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from winelab import FEATURES, load_wine, split

TOUR = "11_cli/cli_tour.py"
ROWS = 4
COMMANDS = [
    "experiments create",
    "experiments search",
    "runs list",
    "runs describe",
    "artifacts list",
    "artifacts download",
    "models predict",
    "runs delete",
    "gc",
]


def test_cli_tour_commands_and_their_effects(store, run_script, monkeypatch):
    """One run of the tour (its commands take a while), then each command's effect, read back."""
    result = run_script(TOUR, "--rows", str(ROWS), "--alpha", "0.4", "--l1-ratio", "0.2", timeout=600)
    [run] = store.runs("cli_tour")
    [model] = store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    tour = SimpleNamespace(store=store, result=result, run=run, model=model, out=store.workdir / "cli_tour_files")

    check_every_command_is_printed_before_it_runs(tour)
    check_cli_created_the_experiment_in_the_working_folder(tour)
    check_downloaded_artifact_equals_the_logged_one(tour)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)  # for loading the model here
    check_predictions_file_matches_the_models_own_predictions(tour)
    check_gc_purged_the_deleted_run(tour)


def check_every_command_is_printed_before_it_runs(tour):
    printed = re.findall(r"^\$ mlflow (\w+(?: \w+)?)", tour.result.stdout, re.M)
    assert [command for command in printed if command in COMMANDS] == COMMANDS
    assert f"$ mlflow runs describe --run-id {tour.run.info.run_id}" in tour.result.stdout
    assert "--env-manager local" in tour.result.stdout


def check_cli_created_the_experiment_in_the_working_folder(tour):
    experiment = tour.store.experiment("cli_tour")
    assert re.search(rf"Created experiment 'cli_tour' with id {experiment.experiment_id}", tour.result.stdout)
    assert experiment.artifact_location.startswith(str(tour.store.workdir / "mlruns"))
    # `experiments search` and `runs list` printed what the API sees.
    assert re.search(rf"^{experiment.experiment_id}\s+cli_tour\s", tour.result.stdout, re.M)
    assert re.search(rf"\scli_tour\s+{tour.run.info.run_id}$", tour.result.stdout, re.M)


def check_downloaded_artifact_equals_the_logged_one(tour):
    downloaded = (tour.out / "downloads" / "summary.txt").read_text()
    logged = mlflow.artifacts.load_text(f"{tour.run.info.artifact_uri}/notes/summary.txt")
    assert downloaded == logged
    rmse = tour.run.data.metrics["rmse"]
    assert downloaded == f"ElasticNet alpha=0.4 l1_ratio=0.2: rmse={rmse:.4f}\n"


def check_predictions_file_matches_the_models_own_predictions(tour):
    inputs = pd.read_csv(tour.out / "input.csv")
    _, test_x, _, _ = split(load_wine())
    pd.testing.assert_frame_equal(inputs, test_x.head(ROWS).reset_index(drop=True))
    assert list(inputs.columns) == FEATURES

    predictions = json.loads((tour.out / "predictions.json").read_text())["predictions"]
    assert len(predictions) == ROWS
    own = mlflow.pyfunc.load_model(tour.model.model_uri).predict(inputs)
    assert predictions == pytest.approx([float(value) for value in own], rel=1e-12)
    assert f"-m {tour.model.model_uri} " in tour.result.stdout


def check_gc_purged_the_deleted_run(tour):
    [deleted_id] = re.findall(r"^\$ mlflow runs delete --run-id (\w+)$", tour.result.stdout, re.M)
    assert f"Run with ID {deleted_id} has been permanently deleted" in tour.result.stdout
    with pytest.raises(MlflowException, match="not found"):
        tour.store.client.get_run(deleted_id)
    everything = tour.store.client.search_runs([tour.run.info.experiment_id], run_view_type=ViewType.ALL)
    assert [run.info.run_id for run in everything] == [tour.run.info.run_id]
    experiment = tour.store.experiment("cli_tour")
    runs_folder = tour.store.workdir / "mlruns" / experiment.experiment_id
    assert (runs_folder / tour.run.info.run_id / "artifacts" / "notes" / "summary.txt").is_file()
    assert not (runs_folder / deleted_id / "artifacts").exists()  # its note.txt went with it


@pytest.mark.parametrize("args", [("--rows", "0"), ("--alpha", "-1")])
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, args):
    result = run_script(TOUR, *args, ok=False)
    assert_rejected(result, store)


def test_a_command_mlflow_rejects_is_one_line_naming_it(capsys):
    """winelab.cli.mlflow_cli (this chapter's and 13's, 16's): click's refusal becomes a UserError."""
    from winelab.cli import mlflow_cli
    from winelab.errors import UserError

    with pytest.raises(UserError, match=r"^`mlflow runs describe` failed: Missing option '--run-id'"):
        mlflow_cli("runs", "describe")
    with pytest.raises(UserError, match=r"^`mlflow runs lst` failed: No such command 'lst'"):
        mlflow_cli("runs", "lst")
    assert capsys.readouterr().out.splitlines()[1::2] == ["$ mlflow runs describe", "$ mlflow runs lst"]
