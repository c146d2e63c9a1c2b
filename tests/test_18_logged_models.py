"""examples/18_logged_models: checkpoints as logged models, dataset tracking, a pipeline as one model.

Chapters 16+ run on the SQLite store only. Each script runs once into one module-scoped
store (its own experiment each); the tests below read back what it recorded and compare
it with values computed here with pandas, scikit-learn and ``mlflow.data`` on frames
built from tests/reference.py, never with the scripts' own code.
"""

import json
import re
from pathlib import Path

import mlflow.artifacts
import mlflow.data
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pytest
import reference
from _suite import runner
from harness import read_mlmodel, signature_inputs
from mlflow.entities import LoggedModelStatus
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

CHECKPOINTS = "18_logged_models/checkpoints.py"
DATASETS = "18_logged_models/datasets.py"
PIPELINE = "18_logged_models/pipeline.py"

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
COLUMNS = reference.FEATURES + [reference.TARGET]

# checkpoints.py: alphas given out of order (the script walks them from the largest down), ranked by r2
# (higher is better, so a ranking in the wrong direction shows), into a registered model of our own.
ALPHAS = ["0.05", "1.0", "0.01", "0.2"]
PATH = sorted(map(float, ALPHAS), reverse=True)
L1_RATIO = 0.5  # the script's default
MODEL_NAME = "best_checkpoint"

OTHER_SEED = 11  # datasets.py --other-seed
PIPELINE_SETTINGS = (0.1, 0.3)  # pipeline.py --alpha --l1-ratio


@pytest.fixture(scope="module")
def checkpoints(chapter_store):
    args = ["--alphas", *ALPHAS, "--rank-by", "r2", "--model-name", MODEL_NAME]
    return runner.run_script_in(chapter_store, CHECKPOINTS, *args)


@pytest.fixture(scope="module")
def datasets(chapter_store):
    return runner.run_script_in(chapter_store, DATASETS, "--other-seed", str(OTHER_SEED))


@pytest.fixture(scope="module")
def pipeline(chapter_store):
    alpha, l1_ratio = PIPELINE_SETTINGS
    return runner.run_script_in(chapter_store, PIPELINE, "--alpha", str(alpha), "--l1-ratio", str(l1_ratio))


def split_frames(frame, seed=42, test_size=0.25):
    """train and test rows of ``frame`` (all columns) as the scripts log them: quality as float."""
    train, test = train_test_split(frame, test_size=test_size, random_state=seed)
    return tuple(part[COLUMNS].astype({reference.TARGET: float}) for part in (train, test))


def digest(frame) -> str:
    return mlflow.data.from_pandas(frame).digest


def only_run(store, experiment):
    [run] = store.runs(experiment)
    assert run.info.status == "FINISHED"
    return run


def inputs_by_context(run) -> dict:
    """``{context: dataset}`` of a run's dataset inputs (each has one context tag)."""
    found = {}
    for dataset_input in run.inputs.dataset_inputs:
        [context] = [tag.value for tag in dataset_input.tags if tag.key == "mlflow.data.context"]
        found[context] = dataset_input.dataset
    assert len(found) == len(run.inputs.dataset_inputs)
    return found


def check_dataset(dataset, name, frame):
    """A stored dataset: its name, digest, source URL, schema and row count, against ``frame``."""
    assert dataset.name == name
    assert dataset.digest == digest(frame)
    assert dataset.source_type == "http"
    assert json.loads(dataset.source) == {"url": UCI_URL}
    schema = json.loads(dataset.schema)["mlflow_colspec"]
    assert [column["name"] for column in schema] == COLUMNS
    assert {column["type"] for column in schema} == {"double"}
    assert json.loads(dataset.profile) == {"num_rows": len(frame), "num_elements": frame.size}


# --- checkpoints.py ----------------------------------------------------------------------------


def walk_path():
    """The path fitted here: one warm-started ElasticNet through PATH, its test metrics and coefficients."""
    train_x, test_x, train_y, test_y = reference.split()
    model = ElasticNet(l1_ratio=L1_RATIO, random_state=42, warm_start=True)
    walked = []
    for alpha in PATH:
        model.set_params(alpha=alpha).fit(train_x, train_y)
        walked.append((reference.metrics(test_y, model.predict(test_x)), model.coef_.copy(), model.intercept_))
    return walked


def checkpoint_models(store):
    run = only_run(store, "wine_checkpoints")
    models = store.client.search_logged_models(
        experiment_ids=[run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return run, {model.model_id: model for model in models}


def test_one_logged_model_per_alpha_with_params_step_and_metrics_on_the_eval_dataset(chapter_store, checkpoints):
    run, models = checkpoint_models(chapter_store)
    assert run.data.params == {"alphas": str(PATH), "l1_ratio": str(L1_RATIO)}
    _, test = split_frames(reference.wine())
    eval_digest = digest(test)

    # Each checkpoint's step is its place on the path; its params say its alpha.
    step_of = {output.model_id: output.step for output in run.outputs.model_outputs}
    assert set(step_of) == set(models) and len(models) == len(PATH)
    walked = walk_path()
    for model_id, model in models.items():
        step = step_of[model_id]
        assert model.name == f"checkpoint-{step}"
        # log_model(params=...) plus the run's own params, which a logged model inherits.
        assert model.params == {"alpha": str(PATH[step]), "l1_ratio": str(L1_RATIO), "alphas": str(PATH)}
        assert model.status == LoggedModelStatus.READY
        # Its metrics: on the evaluation dataset (name and digest), at its step, equal to the refit here.
        expected, _, _ = walked[step]
        assert {metric.key for metric in model.metrics} == set(expected)
        for metric in model.metrics:
            assert (metric.dataset_name, metric.dataset_digest) == ("wine_test", eval_digest), metric
            assert metric.step == step and metric.run_id == run.info.run_id and metric.model_id == model_id
            assert metric.value == pytest.approx(expected[metric.key], rel=1e-9)

    # The run holds the same metrics as a history over the steps (its chart of the path).
    history = chapter_store.client.get_metric_history(run.info.run_id, "rmse")
    assert [(point.step, point.value) for point in sorted(history, key=lambda point: point.step)] == [
        (step, pytest.approx(metrics["rmse"], rel=1e-9)) for step, (metrics, _, _) in enumerate(walked)
    ]

    # Both splits are inputs of the run, with their role.
    train, _ = split_frames(reference.wine())
    by_context = inputs_by_context(run)
    assert set(by_context) == {"training", "evaluation"}
    check_dataset(by_context["training"], "wine_train", train)
    check_dataset(by_context["evaluation"], "wine_test", test)


def test_the_ranking_and_the_registered_version_are_the_best_checkpoint(chapter_store, checkpoints):
    run, models = checkpoint_models(chapter_store)
    step_of = {output.model_id: output.step for output in run.outputs.model_outputs}
    walked = walk_path()

    # Ranked here by r2 on the test rows, highest first; the script printed its search_logged_models order.
    expected_steps = sorted(range(len(PATH)), key=lambda step: -walked[step][0]["r2"])
    assert len({walked[step][0]["r2"] for step in expected_steps}) == len(PATH), "no ties: the order is defined"
    printed = re.findall(r"^  (\d+)\. checkpoint-(\d+)\s+alpha (\S+)\s+r2 (\S+)$", checkpoints.stdout, re.MULTILINE)
    assert [int(rank) for rank, *_ in printed] == list(range(1, len(PATH) + 1))
    assert [int(step) for _, step, _, _ in printed] == expected_steps
    assert [float(alpha) for _, _, alpha, _ in printed] == [PATH[step] for step in expected_steps]
    assert [float(r2) for *_, r2 in printed] == pytest.approx(
        [walked[step][0]["r2"] for step in expected_steps], abs=5e-5
    )

    # One version of MODEL_NAME, made from the best checkpoint (and the checkpoint links back to it).
    best_step = expected_steps[0]
    [best_id] = [model_id for model_id, step in step_of.items() if step == best_step]
    [version] = chapter_store.client.search_model_versions(filter_string=f"name = '{MODEL_NAME}'")
    assert str(version.version) == "1" and version.run_id == run.info.run_id
    assert version.source == f"models:/{best_id}"
    linked = {model_id: model.tags.get("mlflow.modelVersions") for model_id, model in models.items()}
    assert json.loads(linked.pop(best_id)) == [{"name": MODEL_NAME, "version": 1}]
    assert set(linked.values()) == {None}
    assert f"as {MODEL_NAME} version 1" in checkpoints.stdout

    # The registered model is the warm-started fit at that alpha: same coefficients as the walk here.
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=models[best_id].artifact_location, tracking_uri=chapter_store.uri
    )
    registered = mlflow.sklearn.load_model(local)
    _, coef, intercept = walked[best_step]
    assert registered.alpha == PATH[best_step]
    np.testing.assert_allclose(registered.coef_, coef, rtol=1e-12, atol=1e-15)
    assert registered.intercept_ == pytest.approx(intercept, rel=1e-12)


# --- datasets.py -------------------------------------------------------------------------------


def test_each_run_records_its_splits_with_digests_that_follow_the_data(chapter_store, datasets):
    runs = {run.info.run_name: run for run in chapter_store.runs("wine_datasets")}
    names = ["seed-42", "seed-42-again", f"seed-{OTHER_SEED}", "deduplicated"]
    assert sorted(runs) == sorted(names)

    # The frames each run should have logged, built here from the CSV; two separate reads for the same split.
    expected = {
        "seed-42": split_frames(reference.wine()),
        "seed-42-again": split_frames(reference.wine()),
        f"seed-{OTHER_SEED}": split_frames(reference.wine(), seed=OTHER_SEED),
        "deduplicated": split_frames(reference.wine().drop_duplicates()),
    }
    assert len(expected["deduplicated"][0]) + len(expected["deduplicated"][1]) == 1599 - 240

    stored = {}
    for name in names:
        run = runs[name]
        assert run.info.status == "FINISHED"
        by_context = inputs_by_context(run)
        assert set(by_context) == {"training", "evaluation"}
        train, test = expected[name]
        check_dataset(by_context["training"], "wine_train", train)
        check_dataset(by_context["evaluation"], "wine_test", test)
        stored[name] = (by_context["training"].digest, by_context["evaluation"].digest)

        # The run's model was fitted on that split: its test rmse equals a fit here on the same rows.
        model = ElasticNet(alpha=0.7, l1_ratio=0.7).fit(train[reference.FEATURES], train[reference.TARGET])
        rmse = reference.metrics(test[reference.TARGET], model.predict(test[reference.FEATURES]))["rmse"]
        assert run.data.metrics["rmse"] == pytest.approx(rmse, rel=1e-9)

    # The claims: the same rows keep their digests; another split or dropped rows change both.
    first = stored["seed-42"]
    assert stored["seed-42-again"] == first
    for changed in (f"seed-{OTHER_SEED}", "deduplicated"):
        assert stored[changed][0] != first[0] and stored[changed][1] != first[1], changed
    assert len({digest for pair in stored.values() for digest in pair}) == 6

    # The script's table says the same.
    rows = dict(re.findall(r"^  (\S+)\s+([0-9a-f]{8}\s+\d+.*)$", datasets.stdout, re.MULTILINE))
    assert set(rows) == set(names)
    for name, (train_digest, test_digest) in stored.items():
        verdict = "" if name == "seed-42" else "same" if name == "seed-42-again" else "changed"
        cells = re.split(r"\s{2,}(?=[0-9a-f]{8} )", rows[name].strip())
        rows_train, rows_test = (len(part) for part in expected[name])
        assert cells == [
            f"{train_digest} {rows_train:>4} {verdict}".rstrip(),
            f"{test_digest} {rows_test:>4} {verdict}".rstrip(),
        ]


# --- pipeline.py -------------------------------------------------------------------------------


def test_the_autologged_pipeline_takes_raw_features(chapter_store, pipeline):
    alpha, l1_ratio = PIPELINE_SETTINGS
    run = only_run(chapter_store, "wine_pipeline")
    assert run.data.params["model__alpha"] == str(alpha)
    assert run.data.params["model__l1_ratio"] == str(l1_ratio)
    assert run.data.params["scaler__with_mean"] == "True"

    # Autolog recorded the training features, then each later predict() input: the 5 rows and the test split.
    recorded = sorted(
        ([tag.value for tag in item.tags], json.loads(item.dataset.profile)["num_rows"])
        for item in run.inputs.dataset_inputs
    )
    assert recorded == [(["eval"], 5), (["eval"], 400), (["train"], 1199)]

    # The same pipeline fitted here on the raw training rows.
    train_x, test_x, train_y, _ = reference.split()
    scaler = StandardScaler()
    expected = Pipeline([("scaler", scaler), ("model", ElasticNet(alpha=alpha, l1_ratio=l1_ratio))]).fit(
        train_x, train_y
    )
    training_rmse = reference.metrics(train_y, expected.predict(train_x))["rmse"]
    assert run.data.metrics["training_root_mean_squared_error"] == pytest.approx(training_rmse, rel=1e-9)

    # One logged model; its signature is the 11 raw features, no target.
    [model] = chapter_store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    mlmodel = read_mlmodel(chapter_store, model)
    inputs = signature_inputs(mlmodel)
    assert [column["name"] for column in inputs] == reference.FEATURES
    assert {column["type"] for column in inputs} == {"double"}
    assert mlmodel["flavors"]["sklearn"]["serialization_format"] == "skops"

    # Loaded as a pyfunc, it predicts raw rows exactly as the pipeline fitted here.
    local = mlflow.artifacts.download_artifacts(artifact_uri=model.artifact_location, tracking_uri=chapter_store.uri)
    # Its input example: the first raw training rows, as autolog saw them (log_input_examples=True).
    example = json.loads((Path(local) / "input_example.json").read_text())
    assert example["columns"] == reference.FEATURES and len(example["data"]) >= 1
    assert example["data"] == train_x.head(len(example["data"])).to_numpy().tolist()
    rows = reference.first_rows(8)
    predictions = mlflow.pyfunc.load_model(local).predict(rows)
    np.testing.assert_allclose(predictions, expected.predict(rows), rtol=1e-12)
    # The scaling is inside the model: its first step holds the training rows' means and deviations.
    loaded = mlflow.sklearn.load_model(local)
    assert list(loaded.named_steps) == ["scaler", "model"]
    np.testing.assert_allclose(loaded.named_steps["scaler"].mean_, train_x.mean().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(loaded.named_steps["scaler"].scale_, train_x.std(ddof=0).to_numpy(), rtol=1e-12)

    # The script printed the same signature and the predictions of the first test rows.
    assert f"signature inputs (11 raw features): {', '.join(reference.FEATURES)}" in pipeline.stdout
    printed = re.findall(r"-> (\S+) / (\S+)$", pipeline.stdout, re.MULTILINE)
    assert len(printed) == 5
    for (mine, theirs), value in zip(printed, expected.predict(test_x.head(5)), strict=True):
        assert mine == theirs == f"{value:.4f}"
