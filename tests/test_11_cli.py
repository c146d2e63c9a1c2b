"""examples/11_cli: the mlflow command line, checked by the effects of its commands.

11_cli/cli_tour.py runs nine `mlflow` commands, so one test runs it once and
then checks each command's effect with a helper.
"""

import importlib.util
import json
import re
from types import SimpleNamespace

import mlflow.pyfunc
import pandas as pd
import pytest
import reference
from _suite import runner
from harness import EXAMPLES, assert_rejected, clean_env, expected_metrics
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from reference import FEATURES

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
    check_the_run_logged_the_models_metrics(tour)
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


def check_the_run_logged_the_models_metrics(tour):
    assert tour.run.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
    assert tour.run.data.metrics == pytest.approx(expected_metrics(0.4, 0.2), rel=1e-9)


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
    _, test_x, _, _ = reference.split()
    pd.testing.assert_frame_equal(inputs, test_x.head(ROWS).reset_index(drop=True))
    assert list(inputs.columns) == FEATURES

    predictions = json.loads((tour.out / "predictions.json").read_text())["predictions"]
    assert len(predictions) == ROWS
    own = mlflow.pyfunc.load_model(tour.model.model_uri).predict(inputs)
    assert predictions == pytest.approx([float(value) for value in own], rel=1e-12)
    assert predictions == pytest.approx(reference.expected_predictions(0.4, 0.2, inputs), rel=1e-9)
    assert f"-m {tour.model.model_uri} " in tour.result.stdout


def check_gc_purged_the_deleted_run(tour):
    [deleted_id] = re.findall(r"^\$ mlflow runs delete --run-id (\w+)$", tour.result.stdout, re.M)
    assert f"Run with ID {deleted_id} has been permanently deleted" in tour.result.stdout
    # 3.x: the store by --backend-store-uri, and --tracking-uri (or $MLFLOW_TRACKING_URI) or gc refuses to run
    uri = tour.store.uri
    assert f"$ mlflow gc --backend-store-uri {uri} --tracking-uri {uri} --run-ids {deleted_id}" in tour.result.stdout
    with pytest.raises(MlflowException, match="not found"):
        tour.store.client.get_run(deleted_id)
    everything = tour.store.client.search_runs([tour.run.info.experiment_id], run_view_type=ViewType.ALL)
    assert [run.info.run_id for run in everything] == [tour.run.info.run_id]
    experiment = tour.store.experiment("cli_tour")
    runs_folder = tour.store.workdir / "mlruns" / experiment.experiment_id
    assert (runs_folder / tour.run.info.run_id / "artifacts" / "notes" / "summary.txt").is_file()
    assert not (runs_folder / deleted_id / "artifacts").exists()  # its note.txt went with it


def test_unparsable_or_zero_rows_fail_with_one_line_and_no_run(store, run_script):
    assert_rejected(run_script(TOUR, "--rows", "0", ok=False), store, "--rows")
    assert_rejected(run_script(TOUR, "--alpha", "abc", ok=False), store, "--alpha")


def test_out_of_range_alpha_is_refused_by_sklearn_before_any_command(store, run_script):
    """The model is fitted first: scikit-learn's refusal is one line, exit 1, no experiment, no run."""
    result = run_script(TOUR, "--alpha", "-1", ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and "'alpha'" in result.error_lines[0]
    assert "$ mlflow" not in result.stdout
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]


def test_a_command_mlflow_rejects_is_one_line_naming_it(capsys):
    """The tour's own in-process runner: click's refusal becomes one ClickException naming the command."""
    import click

    spec = importlib.util.spec_from_file_location("cli_tour", EXAMPLES / TOUR)
    tour = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tour)  # defines mlflow_cli; main() runs only as __main__

    with pytest.raises(click.ClickException, match=r"^`mlflow runs describe` failed: Missing option '--run-id'"):
        tour.mlflow_cli("runs", "describe")
    with pytest.raises(click.ClickException, match=r"^`mlflow runs lst` failed: No such command 'lst'"):
        tour.mlflow_cli("runs", "lst")
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("$ ")]
    assert printed == ["$ mlflow runs describe", "$ mlflow runs lst"]


def test_gc_store_is_the_tracking_uri_and_gc_refuses_without_one(store, tmp_path):
    """The README's claims about `mlflow gc` (3.0: refuses without a tracking URI; 3.7: that URI is its store)."""
    client = store.client
    deleted = client.create_run("0").info.run_id
    client.delete_run(deleted)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def gc(*args, **env):  # `mlflow gc ...`, forked from the warm interpreter (tests/_suite/runner.py)
        command = ["-c", "from mlflow.cli import cli; cli(prog_name='mlflow')", "gc", *args, "--run-ids", deleted]
        return runner.current().run(command, cwd=elsewhere, env=clean_env(**env), ok=None)

    refused = gc()  # neither --tracking-uri nor $MLFLOW_TRACKING_URI
    assert refused.returncode != 0
    assert "Tracking URL is not set. Please set MLFLOW_TRACKING_URI environment variable" in refused.stderr
    wrong_store = gc("--tracking-uri", store.uri)  # the store was opened before --tracking-uri applied
    assert wrong_store.returncode != 0 and f"Run with id={deleted} not found" in wrong_store.stderr
    assert (elsewhere / "mlflow.db").is_file()  # the default store it opened instead
    assert client.get_run(deleted).info.lifecycle_stage == "deleted"

    purged = gc(MLFLOW_TRACKING_URI=store.uri)  # no --backend-store-uri: $MLFLOW_TRACKING_URI's store
    assert purged.returncode == 0, purged.stderr
    assert f"Run with ID {deleted} has been permanently deleted" in purged.stdout
    with pytest.raises(MlflowException, match="not found"):
        client.get_run(deleted)
