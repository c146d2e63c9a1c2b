"""examples/04_autolog: generic autologging and a GridSearchCV with child runs."""

from pathlib import Path
from urllib.parse import urlparse

import pytest
import reference
from harness import assert_rejected, expected_metrics, predict_fresh, read_mlmodel, signature_inputs

GENERIC = "04_autolog/autolog_generic.py"
GRIDSEARCH = "04_autolog/autolog_gridsearch.py"


def stored_files(store, artifact_uri: str) -> Path:
    """The local folder of ``artifact_uri``, after checking it is where this kind of store puts files."""
    folder = store.on_disk(artifact_uri).resolve()
    if store.kind == "server":
        assert artifact_uri.startswith("mlflow-artifacts:/"), "the server proxies artifacts"
        assert folder.is_relative_to(store.artifacts_root.resolve()), "...into its own artifact folder"
        assert not (store.workdir / "mlruns").exists(), "the client wrote no files of its own"
    elif store.kind == "sqlite":
        assert folder.is_relative_to(store.workdir.resolve() / "mlruns"), "SQLite keeps files in ./mlruns"
    else:
        assert folder.is_relative_to(Path(urlparse(store.uri).path).resolve()), "the file store keeps them inside"
    return folder


def test_generic_autolog_records_params_metrics_datasets_and_model(any_store, run_script):
    result = run_script(
        GENERIC, "--alpha", "0.4", "--l1-ratio", "0.2", "--experiment-name", any_store.name("autolog_generic")
    )

    [run] = any_store.runs("autolog_generic")
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert len(any_store.all_runs()) == 1  # autologging opened one run, in the chosen experiment

    # Every constructor argument of the estimator, not just the two we chose.
    model, (train_x, _, train_y, _) = reference.refit(0.4, 0.2)
    assert len(model.get_params()) == 11
    assert run.data.params == {name: str(value) for name, value in model.get_params().items()}

    # Training metrics, computed here (by their formulas) on the same training split.
    training = reference.metrics(train_y, model.predict(train_x))
    assert run.data.metrics["training_root_mean_squared_error"] == pytest.approx(training["rmse"], rel=1e-9)
    assert run.data.metrics["training_mean_absolute_error"] == pytest.approx(training["mae"], rel=1e-9)
    assert run.data.metrics["training_r2_score"] == pytest.approx(training["r2"], rel=1e-9)
    assert run.data.metrics["training_score"] == pytest.approx(training["r2"], rel=1e-9)  # ElasticNet.score is r2
    # The sklearn.metrics call after predict() is autologged under the function and variable names.
    test_rmse = run.data.metrics["root_mean_squared_error_test_x"]
    assert test_rmse == pytest.approx(expected_metrics(0.4, 0.2)["rmse"], rel=1e-9)
    assert 0.5 < test_rmse < 1.0

    contexts = sorted(tag.value for dataset in run.inputs.dataset_inputs for tag in dataset.tags)
    assert contexts == ["eval", "train"]
    # What the script printed is what the store holds.
    assert f"run {run.info.run_id} ({run.info.run_name!r})" in result.stdout
    assert f"metric root_mean_squared_error_test_x = {test_rmse:.4f}" in result.stdout
    for dataset in run.inputs.dataset_inputs:
        assert f"digest {dataset.dataset.digest}" in result.stdout
    # The WARNING the README announces (cloudpickle). Spark's datasource autologging, which a bare
    # mlflow.autolog() arms now that pyspark is installed, is excluded and warns about nothing.
    warned = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert any(" WARNING mlflow.sklearn: " in line for line in warned), result.stderr
    assert not any("mlflow.spark" in line or "PYSPARK" in line for line in warned), result.stderr

    [logged] = any_store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert logged.name == "model"
    assert logged.source_run_id == run.info.run_id
    assert f"model: 'model' {logged.model_uri}, files in {logged.artifact_location}" in result.stdout
    mlmodel = read_mlmodel(any_store, logged)
    assert {"sklearn", "python_function"} <= set(mlmodel["flavors"])
    assert [column["name"] for column in signature_inputs(mlmodel)] == reference.FEATURES
    assert (stored_files(any_store, logged.artifact_location) / "MLmodel").is_file()
    # Loaded in a new process, the autologged model predicts what an independent refit predicts.
    predictions = predict_fresh(any_store, logged.model_uri, n=7)
    assert predictions == pytest.approx(reference.expected_predictions(0.4, 0.2, 7), rel=1e-9)


def independent_search(alphas, l1_ratios, cv):
    from sklearn.linear_model import ElasticNet
    from sklearn.model_selection import GridSearchCV

    train_x, _, train_y, _ = reference.split()
    search = GridSearchCV(
        ElasticNet(random_state=42),
        {"alpha": alphas, "l1_ratio": l1_ratios},
        cv=cv,
        scoring="neg_root_mean_squared_error",
    )
    return search.fit(train_x, train_y)


@pytest.mark.parametrize(
    "alphas, l1_ratios, max_tuning_runs",
    [
        ([0.1, 0.5, 1.0], [0.2, 0.8], 2),  # 6 candidates, only the best 2 get child runs
        ([0.2, 0.6], [0.5], 5),  # fewer candidates than max_tuning_runs: one child each
    ],
    ids=["capped", "whole-grid"],
)
def test_gridsearch_parent_children_and_manual_metric(any_store, run_script, alphas, l1_ratios, max_tuning_runs):
    import pandas as pd

    args = ["--alphas", *map(str, alphas), "--l1-ratios", *map(str, l1_ratios), "--cv", "3"]
    result = run_script(
        GRIDSEARCH,
        *args,
        *("--max-tuning-runs", str(max_tuning_runs), "--experiment-name", any_store.name("autolog_gridsearch")),
    )

    runs = any_store.runs("autolog_gridsearch")
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1 == min(max_tuning_runs, len(alphas) * len(l1_ratios))
    assert len(any_store.all_runs()) == len(runs)
    assert parent.info.run_name == "elasticnet-gridsearch"
    assert parent.info.status == "FINISHED"

    search = independent_search(alphas, l1_ratios, cv=3)
    best = search.best_params_
    assert parent.data.params["best_alpha"] == str(best["alpha"])
    assert parent.data.params["best_l1_ratio"] == str(best["l1_ratio"])
    assert parent.data.params["cv"] == "3"
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_, rel=1e-9)
    # Training metrics of the refitted best estimator, on the training split.
    best_model, (train_x, _, train_y, _) = reference.refit(best["alpha"], best["l1_ratio"])
    training_rmse = reference.metrics(train_y, best_model.predict(train_x))["rmse"]
    assert parent.data.metrics["training_root_mean_squared_error"] == pytest.approx(training_rmse, rel=1e-9)

    # The metric logged by hand beside autologging: test rmse of the refitted best model.
    test_rmse = parent.data.metrics["test_rmse"]
    assert test_rmse == pytest.approx(expected_metrics(best["alpha"], best["l1_ratio"])["rmse"], rel=1e-9)
    assert 0.5 < test_rmse < 1.0

    # Children are the best-ranked candidates, with their cross-validation scores.
    ranked = sorted(
        zip(search.cv_results_["rank_test_score"], search.cv_results_["params"], strict=True), key=lambda x: x[0]
    )
    expected_children = {(str(p["alpha"]), str(p["l1_ratio"])) for _, p in ranked[: len(children)]}
    assert {(run.data.params["alpha"], run.data.params["l1_ratio"]) for run in children} == expected_children
    for child in children:
        assert child.data.params["random_state"] == "42"
        assert {"mean_test_score", "std_test_score", "rank_test_score"} <= set(child.data.metrics)
    assert max(child.data.metrics["mean_test_score"] for child in children) == pytest.approx(search.best_score_)
    # The script read the children back and printed them, best first.
    printed = [line.split(":")[0].removeprefix("  child ") for line in result.stdout.splitlines() if "  child " in line]
    by_rank = sorted(children, key=lambda child: child.data.metrics["rank_test_score"])
    assert printed == [child.info.run_name for child in by_rank]
    assert f"'best_alpha': '{best['alpha']}', 'best_l1_ratio': '{best['l1_ratio']}'" in result.stdout

    # cv_results.csv: every candidate with its score, in the store's artifact folder.
    artifacts = {item.path for item in any_store.client.list_artifacts(parent.info.run_id)}
    assert "cv_results.csv" in artifacts
    cv_results = pd.read_csv(stored_files(any_store, parent.info.artifact_uri) / "cv_results.csv")
    assert len(cv_results) == len(alphas) * len(l1_ratios)
    assert sorted(cv_results["mean_test_score"]) == pytest.approx(sorted(search.cv_results_["mean_test_score"]))

    [logged] = any_store.client.search_logged_models(experiment_ids=[parent.info.experiment_id])
    assert logged.name == "best_estimator"
    assert logged.source_run_id == parent.info.run_id
    assert [column["name"] for column in signature_inputs(read_mlmodel(any_store, logged))] == reference.FEATURES
    assert (stored_files(any_store, logged.artifact_location) / "MLmodel").is_file()
    # The hand-logged best estimator, loaded in a new process, predicts what an independent refit predicts.
    predictions = predict_fresh(any_store, logged.model_uri, n=7)
    assert predictions == pytest.approx(reference.expected_predictions(best["alpha"], best["l1_ratio"], 7), rel=1e-9)


# Both scripts fit inside a run (autologging's own, or the search's), so every value is checked
# when the command line is read: argparse's exit 2, one line, nothing recorded.
@pytest.mark.parametrize(
    "script, args",
    [
        (GRIDSEARCH, ("--cv", "1")),
        (GRIDSEARCH, ("--max-tuning-runs", "0")),
        (GRIDSEARCH, ("--alphas", "-0.5")),
        (GRIDSEARCH, ("--l1-ratios", "0.5", "1.5")),
        (GENERIC, ("--alpha", "abc")),
        (GENERIC, ("--alpha", "-1")),
        (GENERIC, ("--l1-ratio", "nan")),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value.split("/")[1],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, args):
    result = run_script(script, *args, ok=False)
    assert_rejected(result, store, args[0])
