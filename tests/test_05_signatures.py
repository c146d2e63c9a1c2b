"""examples/05_signatures: hand-written and inferred signatures, and their enforcement."""

import json
import re
from pathlib import Path

import mlflow
import pytest
from harness import assert_rejected, expected_metrics, predict_fresh, read_mlmodel, signature_inputs

from winelab import FEATURES, TARGET, load_wine, split

MANUAL = "05_signatures/manual_signature.py"
INFERRED = "05_signatures/infer_signature.py"
ENFORCEMENT = "05_signatures/enforcement.py"
EXPERIMENT = "signatures"


def logged_model_of(store, run):
    [model] = store.client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return model


def input_example(store, model) -> dict:
    path = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{model.artifact_location}/input_example.json", tracking_uri=store.uri
    )
    return json.loads(Path(path).read_text())


def expected_predictions(alpha: float, l1_ratio: float, rows: int) -> list[float]:
    """The first ``rows`` test wines predicted by a model fitted here, independently of the scripts."""
    from sklearn.linear_model import ElasticNet

    train_x, test_x, train_y, _ = split(load_wine(), test_size=0.25, seed=42)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=42).fit(train_x, train_y)
    return [float(value) for value in model.predict(test_x.head(rows))]


def check_run_and_model(store, alpha, l1_ratio, stdout):
    [run] = store.runs(EXPERIMENT)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": str(alpha), "l1_ratio": str(l1_ratio)}
    for name, value in expected_metrics(alpha, l1_ratio).items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)
    model = logged_model_of(store, run)
    assert model.name == "wine_model"
    # The script says where the MLmodel file is and prints its signature section.
    assert f"MLmodel: {model.artifact_location}/MLmodel" in stdout
    assert "signature:\n  inputs:" in stdout
    return run, model, read_mlmodel(store, model)


def test_manual_signature_has_11_double_inputs_and_a_double_output(store, run_script):
    result = run_script(MANUAL, "--alpha", "0.5", "--l1-ratio", "0.1")
    _, model, mlmodel = check_run_and_model(store, 0.5, 0.1, result.stdout)

    inputs = signature_inputs(mlmodel)
    assert [column["name"] for column in inputs] == FEATURES
    assert TARGET not in [column["name"] for column in inputs]  # the guide listed quality as an input
    assert {column["type"] for column in inputs} == {"double"}
    outputs = json.loads(mlmodel["signature"]["outputs"])
    assert [column["type"] for column in outputs] == ["double"]  # the guide said long
    assert mlmodel["signature"]["inputs"] in result.stdout.replace("\n    ", " ")

    assert mlmodel["saved_input_example_info"]["artifact_path"] == "input_example.json"
    example = input_example(store, model)
    assert example["columns"] == FEATURES
    assert len(example["data"]) == 3

    predictions = predict_fresh(store, model.model_uri, n=4)
    assert len(predictions) == 4
    assert all(3 <= value <= 8 for value in predictions)


def test_inferred_signature_matches_the_training_columns(store, run_script):
    result = run_script(INFERRED, "--alpha", "0.4", "--l1-ratio", "0.2")
    _, model, mlmodel = check_run_and_model(store, 0.4, 0.2, result.stdout)

    inputs = signature_inputs(mlmodel)
    assert [column["name"] for column in inputs] == FEATURES
    assert {column["type"] for column in inputs} == {"double"}
    assert "Unnamed: 0" not in mlmodel["signature"]["inputs"]
    # A numpy prediction array is inferred as a float64 tensor (a double per row).
    [output] = json.loads(mlmodel["signature"]["outputs"])
    assert output["tensor-spec"]["dtype"] == "float64"

    example = input_example(store, model)
    assert example["columns"] == FEATURES
    assert len(example["data"]) == 2
    assert len(predict_fresh(store, model.model_uri, n=3)) == 3


def parse_enforcement(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^(?:accepted|rejected) {2}(.+?): (.*)$", stdout, re.MULTILINE))


def test_enforcement_accepts_good_batches_and_rejects_bad_ones(store, run_script):
    run_script(MANUAL)  # default alpha=0.7, l1_ratio=0.7
    result = run_script(ENFORCEMENT, "--rows", "4")
    [model] = store.client.search_logged_models(experiment_ids=[store.experiment(EXPERIMENT).experiment_id])
    assert f"model {model.model_uri}" in result.stdout

    lines = parse_enforcement(result.stdout)
    assert len(lines) == 5
    expected = expected_predictions(0.7, 0.7, rows=4)
    good = [float(value) for value in lines["well-formed batch"].removeprefix("predictions ").split(", ")]
    assert good == pytest.approx(expected, abs=1e-4)
    assert "accepted  'free sulfur dioxide' as int32" in result.stdout  # cast to double silently
    assert lines["'free sulfur dioxide' as int64"] == (
        "Incompatible input types for column free sulfur dioxide. Can not safely convert int64 to float64."
    )
    assert lines["missing column 'alcohol'"] == "Model is missing inputs ['alcohol']."
    assert re.fullmatch(
        r"Incompatible input types for column pH\. Can not safely convert \w+ to float64\.", lines["'pH' as text"]
    )
    assert result.stdout.count("rejected  ") == 3
    assert result.error_lines == []  # rejections are caught, printed, and the script exits 0


def test_enforcement_of_an_inferred_signature_by_model_uri(store, run_script):
    run_script(INFERRED, "--alpha", "0.1", "--l1-ratio", "0.9")
    [run] = store.runs(EXPERIMENT)
    model = logged_model_of(store, run)
    result = run_script(ENFORCEMENT, "--model-uri", model.model_uri, "--rows", "2")
    lines = parse_enforcement(result.stdout)
    good = [float(value) for value in lines["well-formed batch"].removeprefix("predictions ").split(", ")]
    assert good == pytest.approx(expected_predictions(0.1, 0.9, rows=2), abs=1e-4)
    assert lines["missing column 'alcohol'"] == "Model is missing inputs ['alcohol']."
    assert result.stdout.count("rejected  ") == 3


def test_enforcement_without_a_logged_model_fails_in_one_line(store, run_script):
    result = run_script(ENFORCEMENT, "--experiment-name", "empty", ok=False)
    assert result.returncode == 1
    assert result.error_lines == ["error: no model logged in experiment 'empty'; run manual_signature.py first"]
    assert store.all_runs() == []


@pytest.mark.parametrize(
    "script, option, value",
    [
        (MANUAL, "--alpha", "-1"),
        (INFERRED, "--l1-ratio", "2"),
        (ENFORCEMENT, "--rows", "0"),
        (ENFORCEMENT, "--test-size", "1"),
    ],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, option, value):
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)
