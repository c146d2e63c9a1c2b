"""examples/19_tuning: an Optuna study as nested runs, and system metrics during a fit.

Each script runs once, on the SQLite store, in a module fixture; the tests read back what it
recorded and compare it with values computed here: every trial's cross-validation redone with
plain scikit-learn/numpy (tests/reference.py), the median pruner's rule replayed on the logged
histories, the best model refitted independently.
"""

import re
from dataclasses import dataclass
from importlib import metadata

import mlflow.artifacts
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
import reference
from _suite import runner
from harness import Result, Store, assert_rejected, expected_metrics

OPTUNA = "19_tuning/optuna_search.py"
SYSTEM = "19_tuning/system_metrics.py"
TUNING_EXPERIMENT = "optuna_tuning"
SYSTEM_EXPERIMENT = "system_metrics"
MODEL_NAME = "wine_quality_optuna"
N_TRIALS, FOLDS, SEED = 15, 5, 42  # the script's defaults, which the fixture runs
RUN_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "KILLED", "FAIL": "FAILED"}


def independent_cv(alpha: float, l1_ratio: float) -> list[tuple[float, bool]]:
    """Per fold: (rmse on the held-out rows, whether every coefficient came out zero), all folds."""
    return [(rmse, not np.any(model.coef_)) for rmse, model in reference.cross_validate(alpha, l1_ratio, FOLDS, SEED)]


# --- optuna_search.py ---------------------------------------------------------------------------


@dataclass
class Trial:
    run: object
    number: int
    state: str
    alpha: float
    l1_ratio: float
    cv_rmse: list[float]  # the running mean logged after each fold (step = fold)
    fold_rmse: list[float]


@dataclass
class Study:
    store: Store
    result: Result
    parent: object
    trials: list[Trial]  # by trial number

    def best(self) -> Trial:
        """The completed trial with the lowest final cv_rmse, found here."""
        return min((t for t in self.trials if t.state == "COMPLETE"), key=lambda t: t.cv_rmse[-1])


def history(client, run_id: str, key: str) -> list[float]:
    metrics = sorted(client.get_metric_history(run_id, key), key=lambda metric: metric.step)
    assert [metric.step for metric in metrics] == list(range(len(metrics))), key
    return [metric.value for metric in metrics]


@pytest.fixture(scope="module")
def study(chapter_store) -> Study:
    store = chapter_store
    result = runner.run_script_in(store, OPTUNA)
    runs = store.runs(TUNING_EXPERIMENT)
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    client = store.client
    trials = []
    for run in runs:
        if run is parent:
            continue
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        trials.append(
            Trial(
                run=run,
                number=int(run.data.tags["optuna.trial_number"]),
                state=run.data.tags["optuna.state"],
                alpha=float(run.data.params["alpha"]),
                l1_ratio=float(run.data.params["l1_ratio"]),
                cv_rmse=history(client, run.info.run_id, "cv_rmse"),
                fold_rmse=history(client, run.info.run_id, "fold_rmse"),
            )
        )
    return Study(store, result, parent, sorted(trials, key=lambda trial: trial.number))


def test_one_nested_child_run_per_trial_under_an_optuna_parent(study):
    parent = study.parent
    assert parent.info.status == "FINISHED"
    assert parent.info.run_name == "optuna-study"
    assert parent.data.tags["tuner"] == "optuna"
    assert parent.data.tags["optuna.version"] == metadata.version("optuna")
    assert parent.data.params["n_trials"] == str(N_TRIALS) and parent.data.params["folds"] == str(FOLDS)
    assert parent.data.params["sampler"] == f"TPESampler(seed={SEED})"

    assert [trial.number for trial in study.trials] == list(range(N_TRIALS))
    for trial in study.trials:
        assert trial.run.info.run_name == f"trial-{trial.number}"
        assert set(trial.run.data.params) == {"alpha", "l1_ratio"}
        assert 1e-4 <= trial.alpha <= 100 and 0 <= trial.l1_ratio <= 1
        assert trial.run.info.end_time, "every child run was ended"
    # The sampler explored: no two trials share their params.
    assert len({(trial.alpha, trial.l1_ratio) for trial in study.trials}) == N_TRIALS
    printed = re.findall(r"^ [ *] trial +(\d+) (COMPLETE|PRUNED|FAIL) ", study.result.stdout, flags=re.MULTILINE)
    assert printed == [(str(trial.number), trial.state) for trial in study.trials]


def test_each_trial_logged_its_own_cross_validation(study):
    """Fold by fold, the logged rmse and running mean equal a CV redone here; failures are the zero-coef fits."""
    for trial in study.trials:
        folds = independent_cv(trial.alpha, trial.l1_ratio)
        steps = len(trial.cv_rmse)
        assert len(trial.fold_rmse) == steps
        expected_rmse = [rmse for rmse, _ in folds[:steps]]
        assert trial.fold_rmse == pytest.approx(expected_rmse, rel=1e-9)
        assert trial.cv_rmse == pytest.approx(np.cumsum(expected_rmse) / np.arange(1, steps + 1), rel=1e-9)
        assert not any(zero for _, zero in folds[:steps]), "a fold with all-zero coefficients went on"
        if trial.state == "COMPLETE":
            assert steps == FOLDS
            assert trial.run.data.metrics["cv_rmse"] == trial.cv_rmse[-1]
        elif trial.state == "FAIL":
            assert steps < FOLDS and folds[steps][1], "failed on the first fold whose coefficients were all zero"
            assert trial.run.data.tags["error"] == f"every coefficient is zero on fold {steps} (alpha too strong)"
        else:
            assert trial.state == "PRUNED" and 1 <= steps < FOLDS


def test_failed_and_pruned_trials_carry_their_status(study):
    states = [trial.state for trial in study.trials]
    # The seeded study of the defaults has all three outcomes, so the claims below are not vacuous.
    assert {"COMPLETE", "PRUNED", "FAIL"} <= set(states)
    for trial in study.trials:
        assert trial.run.info.status == RUN_STATUS[trial.state], trial
    counts = {
        name: states.count(state)
        for name, state in [("complete", "COMPLETE"), ("pruned", "PRUNED"), ("failed", "FAIL")]
    }
    assert {name: study.parent.data.metrics[f"n_{name}"] for name in counts} == counts


def test_pruned_trials_are_exactly_those_the_median_rule_stops(study):
    """Replay MedianPruner on the logged histories: a trial is stopped at the first fold where its best
    running mean so far is worse than the median, at that fold, of the trials completed before it."""
    settings = re.fullmatch(
        r"MedianPruner\(n_startup_trials=(\d+), n_warmup_steps=(\d+)\)", study.parent.data.params["pruner"]
    )
    startup, warmup = int(settings[1]), int(settings[2])
    completed: list[Trial] = []
    pruned_somewhere = False
    for trial in study.trials:
        verdicts = []
        for step in range(len(trial.cv_rmse)):
            if step < warmup or len(completed) < startup:
                verdicts.append(False)
                continue
            median = float(np.median([done.cv_rmse[step] for done in completed]))
            verdicts.append(min(trial.cv_rmse[: step + 1]) > median)
        if trial.state == "PRUNED":
            assert verdicts[-1] and not any(verdicts[:-1]), (trial.number, verdicts)
            pruned_somewhere = True
        else:
            assert not any(verdicts), (trial.number, verdicts)
        if trial.state == "COMPLETE":
            completed.append(trial)
    assert pruned_somewhere


def test_parent_records_the_best_trial(study, tmp_path):
    parent, best = study.parent, study.best()
    # The parent's best is the minimum over the completed children, computed here.
    assert parent.data.metrics["best_cv_rmse"] == best.cv_rmse[-1]
    assert parent.data.params["best_alpha"] == best.run.data.params["alpha"]
    assert parent.data.params["best_l1_ratio"] == best.run.data.params["l1_ratio"]
    assert parent.data.tags["best_run_id"] == best.run.info.run_id
    assert parent.data.tags["best_trial_number"] == str(best.number)
    # ... and equals an independent cross-validation of those params.
    assert parent.data.metrics["best_cv_rmse"] == pytest.approx(
        np.mean([rmse for rmse, _ in independent_cv(best.alpha, best.l1_ratio)]), rel=1e-9
    )
    # The refit on all training rows, scored on the test rows.
    expected = expected_metrics(best.alpha, best.l1_ratio)
    assert {name: parent.data.metrics[name] for name in expected} == pytest.approx(expected, rel=1e-9)
    assert f"best: trial {best.number} (run {best.run.info.run_id})" in study.result.stdout

    # Optuna's own table, logged on the parent, agrees with the child runs.
    local = mlflow.artifacts.download_artifacts(
        run_id=parent.info.run_id,
        artifact_path="optuna_trials.csv",
        dst_path=str(tmp_path),
        tracking_uri=study.store.uri,
    )
    table = pd.read_csv(local)
    assert table["number"].tolist() == [trial.number for trial in study.trials]
    assert table["state"].tolist() == [trial.state for trial in study.trials]
    assert table["params_alpha"].tolist() == [trial.alpha for trial in study.trials]
    assert table["user_attrs_mlflow_run_id"].tolist() == [trial.run.info.run_id for trial in study.trials]


def test_registered_version_traces_back_to_the_best_trial(study):
    client, best, parent = study.store.client, study.best(), study.parent
    [version] = client.search_model_versions(filter_string=f"name = '{MODEL_NAME}'")
    assert version.run_id == parent.info.run_id
    assert version.tags["best_run_id"] == best.run.info.run_id
    assert version.tags["optuna.trial_number"] == str(best.number)

    logged = client.get_logged_model(version.source.removeprefix("models:/"))
    assert logged.source_run_id == parent.info.run_id
    # The logged model's params: the best trial's, plus (MLflow 3) a copy of the parent run's params.
    assert logged.params == {
        **parent.data.params,
        "alpha": best.run.data.params["alpha"],
        "l1_ratio": best.run.data.params["l1_ratio"],
    }
    assert logged.tags["best_run_id"] == best.run.info.run_id
    assert f"registered '{MODEL_NAME}' version {version.version} from {version.source}" in study.result.stdout

    # The registered model is the best params refitted: same predictions as a refit done here.
    model = mlflow.sklearn.load_model(
        mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location, tracking_uri=study.store.uri)
    )
    refit, _ = reference.refit(best.alpha, best.l1_ratio, seed=SEED)
    rows = reference.first_rows(8)
    assert model.predict(rows).tolist() == pytest.approx(refit.predict(rows).tolist(), rel=1e-12)


def test_invalid_model_name_fails_with_one_line_and_no_run(store, run_script):
    # (tests/test_robustness.py sweeps the numeric options; a name is checked here.)
    assert_rejected(run_script(OPTUNA, "--model-name", "team/wine", ok=False), store, "--model-name")


# --- system_metrics.py --------------------------------------------------------------------------

SYSTEM_ARGS = {"--n-alphas": 30, "--sampling-interval": 0.1}
SYSTEM_L1_RATIO = 0.5  # system_metrics.py's fixed l1_ratio


@pytest.fixture(scope="module")
def system_run(chapter_store):
    args = [str(item) for pair in SYSTEM_ARGS.items() for item in pair]
    result = runner.run_script_in(chapter_store, SYSTEM, *args)
    [run] = chapter_store.runs(SYSTEM_EXPERIMENT)
    return chapter_store, result, run


def test_system_metrics_were_sampled_during_the_run(system_run):
    store, result, run = system_run
    names = sorted(name for name in run.data.metrics if name.startswith("system/"))
    # CPU, memory, disk and network are sampled on every machine (GPU ones only where there is one).
    for expected in ("cpu_utilization_percentage", "system_memory_usage_megabytes", "disk_usage_percentage"):
        assert f"system/{expected}" in names
    assert any(name.startswith("system/network_") for name in names)
    # Values are the shared machine's business; the samples are what we check: each metric has
    # at least one, numbered 0, 1, ..., and all of them were logged at the same steps.
    steps = {name: [metric.step for metric in store.client.get_metric_history(run.info.run_id, name)] for name in names}
    first = steps[names[0]]
    assert len(first) >= 1 and sorted(first) == list(range(len(first)))
    assert all(sorted(found) == sorted(first) for found in steps.values())
    printed = dict(re.findall(r"^  (system/\S+) +(\d+) samples", result.stdout, flags=re.MULTILINE))
    assert {name: int(count) for name, count in printed.items()} == {name: len(found) for name, found in steps.items()}


def test_system_metrics_run_holds_its_own_path_and_best_alpha(system_run):
    store, _, run = system_run
    n_alphas, l1_ratio = SYSTEM_ARGS["--n-alphas"], SYSTEM_L1_RATIO
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "l1_ratio": str(l1_ratio),
        "n_alphas": str(n_alphas),
        "folds": str(FOLDS),
        "best_alpha": run.data.params["best_alpha"],
    }
    alphas = history(store.client, run.info.run_id, "alpha")
    cv_rmse = history(store.client, run.info.run_id, "cv_rmse")
    assert alphas == pytest.approx(np.geomspace(1e-4, 10, n_alphas).tolist(), rel=1e-12)
    assert len(cv_rmse) == n_alphas
    best = int(np.argmin(cv_rmse))
    best_alpha = float(run.data.params["best_alpha"])
    assert best_alpha == pytest.approx(alphas[best], rel=1e-12)
    assert run.data.metrics["best_cv_rmse"] == min(cv_rmse)
    assert min(cv_rmse) == pytest.approx(np.mean([rmse for rmse, _ in independent_cv(best_alpha, l1_ratio)]), rel=1e-9)
    expected = expected_metrics(best_alpha, l1_ratio)
    assert {name: run.data.metrics[name] for name in expected} == pytest.approx(expected, rel=1e-9)
