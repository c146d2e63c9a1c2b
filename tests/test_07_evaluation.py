"""examples/07_evaluation: mlflow.models.evaluate, extra metrics and artifacts, validation against a baseline."""

import re

import numpy as np
import pytest
import reference
from harness import assert_rejected, expected_metrics
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import ElasticNet

EVALUATE = "07_evaluation/evaluate_model.py"
VALIDATE = "07_evaluation/validate_against_baseline.py"
EXPERIMENT = "wine_evaluation"


def fit_and_predict(model):
    """Fit ``model`` on the reference train split, independently of the scripts: (predictions, actual)."""
    train_x, test_x, train_y, test_y = reference.split()
    return model.fit(train_x, train_y).predict(test_x), test_y.to_numpy(dtype=float)


def elasticnet(alpha, l1_ratio):
    return ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42)


def test_evaluate_logs_default_and_extra_metrics_and_the_figure(store, run_script):
    result = run_script(EVALUATE, "--alpha", "0.1", "--l1-ratio", "0.9")

    [run] = store.runs(EXPERIMENT)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.1", "l1_ratio": "0.9"}

    # The built-in regressor metrics equal a computation from the same model's predictions.
    predicted, actual = fit_and_predict(elasticnet(0.1, 0.9))
    errors = actual - predicted
    expected = {
        "example_count": len(actual),
        "mean_squared_error": np.mean(errors**2),
        "root_mean_squared_error": np.sqrt(np.mean(errors**2)),
        "mean_absolute_error": np.mean(np.abs(errors)),
        "r2_score": 1 - np.sum(errors**2) / np.sum((actual - actual.mean()) ** 2),
        "max_error": np.max(np.abs(errors)),
        # The two make_metric metrics: share of wines within 0.5 and within 1 quality point.
        "within_half_point": np.mean(np.abs(errors) <= 0.5),
        "within_one_point": np.mean(np.abs(errors) <= 1.0),
    }
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9), name
    assert expected["root_mean_squared_error"] == pytest.approx(expected_metrics(0.1, 0.9)["rmse"], rel=1e-12)
    assert 0 < expected["within_half_point"] < expected["within_one_point"] < 1
    assert f"within_half_point        {expected['within_half_point']:.4f}" in result.stdout

    # The custom artifact is a PNG on the run.
    paths = [artifact.path for artifact in store.client.list_artifacts(run.info.run_id)]
    assert "residuals_plot.png" in paths
    local = store.client.download_artifacts(run.info.run_id, "residuals_plot.png", str(store.workdir))
    with open(local, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"

    # MLflow 3: the evaluation dataset is an input of the run, and the metrics are linked to the logged model.
    [dataset_input] = run.inputs.dataset_inputs
    assert '"num_rows": 400' in dataset_input.dataset.profile
    [model] = store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    model_metrics = {metric.key: metric.value for metric in model.metrics}
    assert model_metrics["root_mean_squared_error"] == pytest.approx(expected["root_mean_squared_error"], rel=1e-9)
    assert model_metrics["within_one_point"] == pytest.approx(expected["within_one_point"], rel=1e-9)


def baseline_and_candidate_rmse(store):
    runs = {run.info.run_name: run for run in store.runs(EXPERIMENT)}
    assert set(runs) == {"baseline_dummy", "candidate_elasticnet"}
    return runs["baseline_dummy"], runs["candidate_elasticnet"]


def rmse(predicted, actual):
    return float(np.sqrt(np.mean((actual - predicted) ** 2)))


def test_validation_passes_for_a_candidate_that_beats_the_baseline(store, run_script):
    result = run_script(VALIDATE, "--alpha", "0.1", "--l1-ratio", "0.9")

    baseline_run, candidate_run = baseline_and_candidate_rmse(store)
    baseline_rmse = rmse(*fit_and_predict(DummyRegressor(strategy="mean")))
    candidate_rmse = rmse(*fit_and_predict(elasticnet(0.1, 0.9)))
    assert baseline_run.data.metrics["root_mean_squared_error"] == pytest.approx(baseline_rmse, rel=1e-9)
    assert candidate_run.data.metrics["root_mean_squared_error"] == pytest.approx(candidate_rmse, rel=1e-9)
    # The default rules (rmse <= 0.75, >= 5 % better than the baseline) hold for this candidate.
    assert candidate_rmse <= 0.75 and (baseline_rmse - candidate_rmse) / baseline_rmse >= 0.05

    assert candidate_run.data.tags["validation"] == "passed"
    [line] = [line for line in result.stdout.splitlines() if line.startswith(("PASSED", "REJECTED"))]
    assert line.startswith("PASSED: ")
    assert line.removeprefix("PASSED: ") == candidate_run.data.tags["validation_reason"]


@pytest.mark.parametrize(
    "alpha, l1_ratio, max_rmse, strict",
    [
        ("0.7", "0.7", None, False),  # the guide's default model: barely better than the mean
        ("0.1", "0.9", "0.1", True),  # a good model, but an impossible ceiling; --strict exits 1
        ("0.1", "0.9", "-1", False),  # a negative ceiling is a rule no model meets (not an option error)
    ],
)
def test_validation_failure_is_caught_and_explained_on_one_line(store, run_script, alpha, l1_ratio, max_rmse, strict):
    args = ["--alpha", alpha, "--l1-ratio", l1_ratio]
    args += ["--max-rmse", max_rmse] if max_rmse else []
    args += ["--strict"] if strict else []
    result = run_script(VALIDATE, *args, ok=not strict)

    # Which checks fail, computed here: rmse above the ceiling, and/or less than 5 % better than the baseline.
    baseline_rmse = rmse(*fit_and_predict(DummyRegressor(strategy="mean")))
    candidate_rmse = rmse(*fit_and_predict(elasticnet(float(alpha), float(l1_ratio))))
    ceiling_fails = candidate_rmse > float(max_rmse or 0.75)
    improvement_fails = (baseline_rmse - candidate_rmse) / baseline_rmse < 0.05
    assert ceiling_fails or improvement_fails

    [line] = [line for line in result.stdout.splitlines() if line.startswith(("PASSED", "REJECTED"))]
    assert line.startswith("REJECTED: Metric root_mean_squared_error ")
    assert ("root_mean_squared_error value threshold check failed" in line) == ceiling_fails
    assert ("root_mean_squared_error minimum relative change check failed" in line) == improvement_fails
    reported = {float(value) for value in re.findall(r"candidate model root_mean_squared_error = ([\d.]+)", line)}
    assert reported and all(value == pytest.approx(candidate_rmse, rel=1e-9) for value in reported)

    _, candidate_run = baseline_and_candidate_rmse(store)
    assert candidate_run.data.tags["validation"] == "failed"
    assert candidate_run.data.tags["validation_reason"] == line.removeprefix("REJECTED: ")
    if strict:
        assert result.returncode == 1
        assert result.error_lines == ["error: candidate model rejected (see the REJECTED line above)"]
    else:
        assert result.error_lines == []


@pytest.mark.parametrize(
    "script, option, value",
    [
        (VALIDATE, "--max-rmse", "abc"),
        (VALIDATE, "--min-improvement", "x"),
        (EVALUATE, "--alpha", "abc"),
    ],
)
def test_unparsable_options_fail_with_one_line_and_no_run(store, run_script, script, option, value):
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)


@pytest.mark.parametrize(
    "script, option, value, named",
    [
        (EVALUATE, "--alpha", "-1", "'alpha'"),
        (VALIDATE, "--l1-ratio", "1.5", "'l1_ratio'"),
        # MetricThreshold refuses a relative change outside [0, 1]; the script builds it before any run.
        (VALIDATE, "--min-improvement", "1.5", "`min_relative_change` parameter must be between 0 and 1"),
    ],
)
def test_out_of_range_options_are_refused_before_any_run(store, run_script, script, option, value, named):
    """scikit-learn (at fit) or MLflow (MetricThreshold) refuses the value before a run opens: exit 1, one line."""
    result = run_script(script, option, value, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
