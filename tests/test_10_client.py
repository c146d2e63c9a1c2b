"""examples/10_client: MlflowClient, read back through MlflowClient."""

import json
import re

import mlflow
import pandas as pd
import pytest
from harness import assert_rejected, expected_metrics
from mlflow.entities import ViewType
from reference import FEATURES

TOUR = "10_client/client_tour.py"
LIFECYCLE = "10_client/client_lifecycle.py"


def by_alpha(runs) -> dict[float, object]:
    return {float(run.data.params["alpha"]): run for run in runs}


def test_tour_logs_searches_downloads_tags_and_exports(store, run_script):
    alphas = [0.1, 0.5, 1.0]
    run_script(TOUR, "--alphas", *map(str, alphas), "--l1-ratio", "0.5")

    experiment = store.experiment("client_tour")
    assert experiment.tags == {"data": "wine quality (red)"}
    runs = by_alpha(store.runs("client_tour"))
    assert set(runs) == set(alphas)
    expected = {alpha: expected_metrics(alpha, 0.5) for alpha in alphas}
    for alpha, run in runs.items():
        assert run.info.status == "FINISHED" and run.info.end_time is not None  # set_terminated
        assert run.info.run_name == f"alpha={alpha}"
        assert run.data.params == {"alpha": str(alpha), "l1_ratio": "0.5"}
        for name in ("rmse", "mae", "r2"):
            assert run.data.metrics[name] == pytest.approx(expected[alpha][name], rel=1e-9)
        assert run.data.tags["model_family"] == "ElasticNet"
        history = store.client.get_metric_history(run.info.run_id, "rmse_by_train_rows")
        steps = [metric.step for metric in history]
        assert len(steps) == 5 and steps == sorted(steps) and steps[-1] == 1199  # 75 % of 1,599 wines
        assert history[-1].value == pytest.approx(run.data.metrics["rmse"], rel=1e-12)

    # The best run, found independently: the alpha with the lowest recomputed rmse.
    best_alpha = min(alphas, key=lambda alpha: expected[alpha]["rmse"])
    best = runs[best_alpha]
    assert best.data.tags["best"] == "true"
    assert "draft" not in best.data.tags  # deleted
    assert all(run.data.tags["draft"] == "true" and "best" not in run.data.tags
               for alpha, run in runs.items() if alpha != best_alpha)  # fmt: skip

    # The downloaded artifact is the one stored with the best run.
    downloaded = json.loads((store.workdir / "client_tour_files" / "coefficients.json").read_text())
    artifacts = [info.path for info in store.client.list_artifacts(best.info.run_id, "fit")]
    assert artifacts == ["fit/coefficients.json"]
    stored = mlflow.artifacts.load_dict(f"{best.info.artifact_uri}/fit/coefficients.json")
    assert downloaded == stored
    assert set(downloaded) == {"intercept", *FEATURES}

    # The CSV export: one row per run, the param and metric columns, values as logged.
    frame = pd.read_csv(store.workdir / "client_tour_files" / "runs.csv")
    assert len(frame) == len(alphas)
    assert {"run_id", "params.alpha", "params.l1_ratio", "metrics.rmse", "metrics.mae", "metrics.r2"} <= set(
        frame.columns
    )
    assert set(frame["run_id"]) == {run.info.run_id for run in runs.values()}
    by_id = frame.set_index("run_id")
    for run in runs.values():
        assert by_id.loc[run.info.run_id, "metrics.rmse"] == pytest.approx(run.data.metrics["rmse"], rel=1e-12)
    assert frame["metrics.rmse"].is_monotonic_increasing  # exported best first


def test_rerun_reuses_the_experiment_and_moves_the_best_tag(store, run_script):
    run_script(TOUR, "--alphas", "1.0")
    run_script(TOUR, "--alphas", "0.1")

    assert len(store.client.search_experiments(filter_string="name = 'client_tour'")) == 1
    runs = by_alpha(store.runs("client_tour"))
    assert set(runs) == {0.1, 1.0}
    assert [alpha for alpha, run in runs.items() if run.data.tags.get("best") == "true"] == [0.1]
    assert len(pd.read_csv(store.workdir / "client_tour_files" / "runs.csv")) == 2


def test_lifecycle_deletes_restores_and_renames(store, run_script):
    run_script(TOUR, "--alphas", "0.1", "1.0")
    before = {run.info.run_id for run in store.runs("client_tour")}
    result = run_script(LIFECYCLE)

    # The worst run (highest recomputed rmse: alpha 1.0) went to `deleted`, then back to `active`.
    worst = by_alpha(store.runs("client_tour"))[1.0]
    assert expected_metrics(1.0, 0.5)["rmse"] > expected_metrics(0.1, 0.5)["rmse"]
    stages = re.findall(rf"run {worst.info.run_id}: lifecycle_stage=(\w+)", result.stdout)
    assert stages == ["deleted", "active"]
    assert "searches now see 1 active and 1 deleted run(s)" in result.stdout
    assert store.client.get_run(worst.info.run_id).info.lifecycle_stage == "active"
    assert {run.info.run_id for run in store.runs("client_tour")} == before  # all active again

    # The scratch experiment: renamed (old name gone), deleted, restored, deleted again.
    [scratch] = [
        experiment
        for experiment in store.client.search_experiments(view_type=ViewType.ALL)
        if experiment.name.startswith("client_tour-scratch-")
    ]
    assert scratch.name.endswith("-renamed")
    assert store.client.get_experiment_by_name(scratch.name.removesuffix("-renamed")) is None
    assert store.client.get_experiment_by_name(scratch.name).experiment_id == scratch.experiment_id
    assert scratch.lifecycle_stage == "deleted"
    assert scratch.tags == {"purpose": "lifecycle demo"}
    stages = re.findall(rf"experiment {scratch.experiment_id}: lifecycle_stage=(\w+)", result.stdout)
    assert stages == ["deleted", "active", "deleted"]
    [scratch_run] = store.client.search_runs([scratch.experiment_id], run_view_type=ViewType.ALL)
    assert scratch_run.info.status == "FINISHED"


def test_lifecycle_without_the_tour_fails_with_one_line(store, run_script):
    result = run_script(LIFECYCLE, ok=False)
    assert result.returncode == 1
    assert len(result.error_lines) == 1 and "client_tour.py first" in result.error_lines[0]
    assert store.all_runs() == []


@pytest.mark.parametrize("args", [("--alphas", "x"), ("--alphas", "0.1", "x"), ("--l1-ratio", "half")])
def test_unparsable_options_fail_with_one_line_and_no_run(store, run_script, args):
    result = run_script(TOUR, *args, ok=False)
    assert_rejected(result, store, args[0])


@pytest.mark.parametrize("args, named", [(("--alphas", "0.1", "-1"), "'alpha'"), (("--l1-ratio", "2"), "'l1_ratio'")])
def test_out_of_range_values_are_refused_by_sklearn_before_the_store_is_touched(store, run_script, args, named):
    """Every model is fitted before the experiment is made: a refused value leaves no run and no experiment."""
    result = run_script(TOUR, *args, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
    assert not (store.workdir / "client_tour_files").exists()
