"""examples/05_signatures: hand-written and inferred signatures, and their enforcement.

The chapter's scripts run once per store (module fixture ``chapter``), in the order a
learner follows: ``infer_signature.py``, then ``manual_signature.py`` into the same
experiment, then ``enforcement.py`` twice: without ``--model-uri`` (it must pick the
newest model, the manual one) and with the inferred model's URI.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import reference
from _suite import runner
from harness import Result, Store, assert_rejected, expected_metrics, predict_fresh, read_mlmodel, signature_inputs

MANUAL = "05_signatures/manual_signature.py"
INFERRED = "05_signatures/infer_signature.py"
ENFORCEMENT = "05_signatures/enforcement.py"
EXPERIMENT = "signatures"

# The manual run leaves --alpha at its default (0.7) and sets --l1-ratio: one run checks both.
MANUAL_SETTINGS = (0.7, 0.1)
INFERRED_SETTINGS = (0.4, 0.2)


@dataclass
class Chapter:
    store: Store
    inferred: Result  # infer_signature.py --alpha 0.4 --l1-ratio 0.2
    manual: Result  # manual_signature.py --l1-ratio 0.1
    newest: Result  # enforcement.py --rows 4: the experiment's newest model
    by_uri: Result  # enforcement.py --model-uri <the inferred model> --rows 2


def run_named(store: Store, run_name: str):
    [run] = [run for run in store.runs(EXPERIMENT) if run.info.run_name == run_name]
    return run


def logged_model_of(store, run):
    [model] = store.client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return model


@pytest.fixture(scope="module")
def chapter(module_store) -> Chapter:
    store = module_store
    experiment = ("--experiment-name", store.name(EXPERIMENT))
    alpha, l1_ratio = INFERRED_SETTINGS
    inferred = runner.run_script_in(store, INFERRED, "--alpha", str(alpha), "--l1-ratio", str(l1_ratio), *experiment)
    manual = runner.run_script_in(store, MANUAL, "--l1-ratio", str(MANUAL_SETTINGS[1]), *experiment)
    newest = runner.run_script_in(store, ENFORCEMENT, "--rows", "4", *experiment)
    inferred_model = logged_model_of(store, run_named(store, "infer_signature"))
    by_uri = runner.run_script_in(store, ENFORCEMENT, "--model-uri", inferred_model.model_uri, "--rows", "2")
    return Chapter(store, inferred, manual, newest, by_uri)


def input_example(store, model) -> dict:
    path = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{model.artifact_location}/input_example.json", tracking_uri=store.uri
    )
    return json.loads(Path(path).read_text())


def check_run_and_model(store, run_name, alpha, l1_ratio, stdout):
    assert sorted(run.info.run_name for run in store.runs(EXPERIMENT)) == ["infer_signature", "manual_signature"]
    run = run_named(store, run_name)
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": str(alpha), "l1_ratio": str(l1_ratio)}
    for name, value in expected_metrics(alpha, l1_ratio).items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9)
    model = logged_model_of(store, run)
    assert model.name == "wine_model"
    # The script says where the MLmodel file is and prints its signature section.
    assert f"run {run.info.run_id} in experiment {store.name(EXPERIMENT)!r}" in stdout
    assert f"MLmodel: {model.artifact_location}/MLmodel" in stdout
    assert "signature:\n  inputs:" in stdout
    mlmodel = read_mlmodel(store, model)
    # Both example files MLflow wrote, as the MLmodel file names them (serving_input_example.json since 2.16).
    examples = mlmodel["saved_input_example_info"]
    assert (examples["artifact_path"], examples["serving_input_path"]) == (
        "input_example.json",
        "serving_input_example.json",
    )
    assert "  input example: input_example.json, serving_input_example.json next to it" in stdout

    # Where the model's files went: beside the store, or through the server into its artifact folder.
    assert (store.on_disk(model.artifact_location) / "MLmodel").is_file()
    if store.kind == "server":
        assert model.artifact_location.startswith("mlflow-artifacts:/"), "the server proxies artifacts"
        assert not (store.workdir / "mlruns").exists(), "the client wrote no files of its own"
    elif store.kind == "sqlite":
        assert store.on_disk(model.artifact_location).is_relative_to(store.workdir.resolve() / "mlruns")
    return run, model, mlmodel


def test_manual_signature_has_11_double_inputs_and_a_double_output(chapter):
    store, result = chapter.store, chapter.manual
    _, model, mlmodel = check_run_and_model(store, "manual_signature", *MANUAL_SETTINGS, result.stdout)

    inputs = signature_inputs(mlmodel)
    assert [column["name"] for column in inputs] == reference.FEATURES
    assert reference.TARGET not in [column["name"] for column in inputs]  # the guide listed quality as an input
    assert {column["type"] for column in inputs} == {"double"}
    outputs = json.loads(mlmodel["signature"]["outputs"])
    assert [column["type"] for column in outputs] == ["double"]  # the guide said long
    assert mlmodel["signature"]["inputs"] in result.stdout.replace("\n    ", " ")

    # The input example: the first three test wines of the seeded split.
    assert mlmodel["saved_input_example_info"]["artifact_path"] == "input_example.json"
    example = input_example(store, model)
    assert example["columns"] == reference.FEATURES
    _, test_x, _, _ = reference.split()
    assert example["data"] == test_x.head(3).to_numpy().tolist()

    # Loaded in a new process, the model predicts what an independent refit predicts.
    predictions = predict_fresh(store, model.model_uri, n=4)
    assert predictions == pytest.approx(reference.expected_predictions(*MANUAL_SETTINGS, 4), rel=1e-9)
    assert all(3 <= value <= 8 for value in predictions)


def test_inferred_signature_matches_the_training_columns(chapter):
    store, result = chapter.store, chapter.inferred
    _, model, mlmodel = check_run_and_model(store, "infer_signature", *INFERRED_SETTINGS, result.stdout)

    inputs = signature_inputs(mlmodel)
    assert [column["name"] for column in inputs] == reference.FEATURES
    assert {column["type"] for column in inputs} == {"double"}
    assert "Unnamed: 0" not in mlmodel["signature"]["inputs"]
    # A numpy prediction array is inferred as a float64 tensor (a double per row).
    [output] = json.loads(mlmodel["signature"]["outputs"])
    assert output["tensor-spec"]["dtype"] == "float64"

    # The input example: the first two training wines of the seeded split.
    example = input_example(store, model)
    assert example["columns"] == reference.FEATURES
    train_x, _, _, _ = reference.split()
    assert example["data"] == train_x.head(2).to_numpy().tolist()

    predictions = predict_fresh(store, model.model_uri, n=3)
    assert predictions == pytest.approx(reference.expected_predictions(*INFERRED_SETTINGS, 3), rel=1e-9)


def parse_enforcement(stdout: str) -> dict[str, str]:
    return dict(re.findall(r"^(?:accepted|rejected) {2}(.+?): (.*)$", stdout, re.MULTILINE))


def well_formed_predictions(lines: dict[str, str]) -> list[float]:
    return [float(value) for value in lines["well-formed batch"].removeprefix("predictions ").split(", ")]


def assert_columns_matched_by_name(lines: dict[str, str], result: Result) -> None:
    """Reordered columns are put back in order; an extra column is dropped with MLflow's WARNING."""
    assert lines["columns in reverse order"] == lines["well-formed batch"]
    assert lines["extra column 'quality'"] == lines["well-formed batch"]
    # The only line on stderr (besides a server store's download progress bars).
    [warning] = [line for line in result.error_lines if not line.startswith("Downloading artifacts")]
    assert re.search(
        r" WARNING mlflow\.models\.utils: Found extra inputs in the model input that are not defined in the model "
        r"signature: `\['quality'\]`\. These inputs will be ignored\.$",
        warning,
    )


def first_test_wines(rows: int):
    _, test_x, _, _ = reference.split()
    return test_x.head(rows)


def test_enforcement_accepts_good_batches_and_rejects_bad_ones(chapter):
    store, result = chapter.store, chapter.newest
    # Without --model-uri: the newest model of the experiment, the manual one (logged second).
    manual = logged_model_of(store, run_named(store, "manual_signature"))
    inferred = logged_model_of(store, run_named(store, "infer_signature"))
    assert manual.creation_timestamp > inferred.creation_timestamp
    assert f"model {manual.model_uri}" in result.stdout
    assert inferred.model_uri not in result.stdout

    lines = parse_enforcement(result.stdout)
    assert len(lines) == 7
    expected = reference.expected_predictions(*MANUAL_SETTINGS, first_test_wines(4))
    assert well_formed_predictions(lines) == pytest.approx(expected, abs=1e-4)
    assert "accepted  'free sulfur dioxide' as int32" in result.stdout  # cast to double silently
    assert lines["'free sulfur dioxide' as int64"] == (
        "Incompatible input types for column free sulfur dioxide. Can not safely convert int64 to float64."
    )
    assert lines["missing column 'alcohol'"] == "Model is missing inputs ['alcohol']."
    assert re.fullmatch(
        r"Incompatible input types for column pH\. Can not safely convert \w+ to float64\.", lines["'pH' as text"]
    )
    assert result.stdout.count("rejected  ") == 3  # caught and printed: the script exits 0
    assert_columns_matched_by_name(lines, result)


def test_enforcement_of_an_inferred_signature_by_model_uri(chapter):
    store, result = chapter.store, chapter.by_uri
    inferred = logged_model_of(store, run_named(store, "infer_signature"))
    assert f"model {inferred.model_uri}" in result.stdout
    lines = parse_enforcement(result.stdout)
    expected = reference.expected_predictions(*INFERRED_SETTINGS, first_test_wines(2))
    assert well_formed_predictions(lines) == pytest.approx(expected, abs=1e-4)
    assert lines["missing column 'alcohol'"] == "Model is missing inputs ['alcohol']."
    assert result.stdout.count("rejected  ") == 3
    assert_columns_matched_by_name(lines, result)


def test_enforcement_without_a_logged_model_fails_in_one_line(store, run_script):
    result = run_script(ENFORCEMENT, "--experiment-name", "empty", ok=False)
    assert result.returncode == 1
    assert result.error_lines == ["error: no model logged in experiment 'empty'; run manual_signature.py first"]
    assert store.all_runs() == []


def test_unparsable_or_zero_options_fail_with_one_line_and_no_run(store, run_script):
    assert_rejected(run_script(MANUAL, "--alpha", "abc", ok=False), store, "--alpha")
    assert_rejected(run_script(ENFORCEMENT, "--rows", "0", ok=False), store, "--rows")


@pytest.mark.parametrize(
    "script, option, value, named", [(MANUAL, "--alpha", "-1", "'alpha'"), (INFERRED, "--l1-ratio", "2", "'l1_ratio'")]
)
def test_out_of_range_option_is_refused_by_sklearn_before_any_run(store, run_script, script, option, value, named):
    """scikit-learn checks the ranges, at fit, before the run opens: one line, exit 1, nothing recorded."""
    result = run_script(script, option, value, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]


def test_unknown_model_uri_fails_in_one_line(store, run_script):
    result = run_script(ENFORCEMENT, "--model-uri", "models:/m-0123456789abcdef", ok=False)
    assert result.returncode == 1
    assert result.error_lines == ["error: Logged model with ID 'm-0123456789abcdef' not found."]
    assert store.all_runs() == []
