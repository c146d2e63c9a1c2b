"""examples/08_registry: registering versions, tags and descriptions, champion/challenger aliases."""

import re

import mlflow.artifacts
import mlflow.sklearn
import pytest
import reference
from harness import assert_rejected, expected_metrics, predict_fresh

REGISTER = "08_registry/register_at_log_time.py"
PROMOTE = "08_registry/promote_challenger.py"
USE = "08_registry/use_champion.py"
EXPERIMENT = "wine_registry"
DESCRIPTION = "ElasticNet predicting red wine quality (0-10) from 11 physico-chemical features."


def versions(store, name):
    """All versions of ``name``, oldest first."""
    found = store.client.search_model_versions(filter_string=f"name = '{name}'")
    return sorted(found, key=lambda mv: int(mv.version))


def alias_map(store, name):
    """``{alias: version number}`` of a registered model."""
    return {alias: int(version) for alias, version in store.client.get_registered_model(name).aliases.items()}


def test_register_at_log_time_adds_documented_versions(store, run_script):
    settings = [("0.5", "0.1"), ("0.1", "0.9")]
    for alpha, l1_ratio in settings:
        run_script(REGISTER, "--alpha", alpha, "--l1-ratio", l1_ratio)

    registered = store.client.get_registered_model("wine_quality")
    assert registered.description == DESCRIPTION
    assert registered.aliases == {}  # aliases are promote_challenger.py's job

    runs = store.runs(EXPERIMENT)
    logged = store.client.search_logged_models(experiment_ids=[runs[0].info.experiment_id])
    model_of_run = {model.source_run_id: model for model in logged}
    registered_versions = versions(store, "wine_quality")
    assert [int(mv.version) for mv in registered_versions] == [1, 2]
    for mv, run, (alpha, l1_ratio) in zip(registered_versions, runs, settings, strict=True):
        expected_rmse = expected_metrics(float(alpha), float(l1_ratio))["rmse"]
        # The version points at the run and at the logged model (MLflow 3: models:/m-...).
        assert mv.run_id == run.info.run_id
        assert mv.source == f"models:/{model_of_run[run.info.run_id].model_id}"
        assert mv.tags["alpha"] == alpha and mv.tags["l1_ratio"] == l1_ratio
        assert float(mv.tags["rmse"]) == pytest.approx(expected_rmse, rel=1e-12)
        assert run.data.metrics["rmse"] == pytest.approx(expected_rmse, rel=1e-9)
        assert mv.description == (
            f"ElasticNet(alpha={alpha}, l1_ratio={l1_ratio}), registered at log time; test rmse {expected_rmse:.4f}."
        )

    # Without a champion there is nothing to serve: one line, exit 1.
    result = run_script(USE, ok=False)
    assert result.returncode == 1
    assert result.error_lines == ["error: 'wine_quality' has no @champion alias yet; run promote_challenger.py first"]


def test_each_run_adds_a_version_and_moves_the_aliases(store, run_script):
    name = "wine_ab"
    settings = [("0.7", "0.7"), ("0.1", "0.9"), ("0.5", "0.1")]
    rmses = [expected_metrics(float(alpha), float(l1_ratio))["rmse"] for alpha, l1_ratio in settings]
    # The settings exercise both outcomes: one challenger wins, a later one loses.
    assert rmses[1] < rmses[0] and rmses[2] > rmses[1]

    for number, (alpha, l1_ratio) in enumerate(settings, 1):
        result = run_script(PROMOTE, "--model-name", name, "--alpha", alpha, "--l1-ratio", l1_ratio)
        assert len(versions(store, name)) == number

        # Champion: the best rmse so far (the first one wins ties); challenger: the newest, unless it won.
        best = 1 + min(range(number), key=lambda index: rmses[index])
        expected_aliases = {"champion": best}
        if best != number:
            expected_aliases["challenger"] = number
        assert alias_map(store, name) == expected_aliases
        assert int(store.client.get_model_version_by_alias(name, "champion").version) == best

        newest = store.client.get_model_version(name, str(number))
        assert newest.tags["decision"] == ("promoted to champion" if best == number else "kept as challenger")
        assert f"version {number} {newest.tags['decision']}" in result.stdout

    # Tags and descriptions read back, and each version's run holds the rmse that was compared.
    runs = store.runs(EXPERIMENT)
    for mv, run, (alpha, l1_ratio), expected_rmse in zip(versions(store, name), runs, settings, rmses, strict=True):
        assert mv.run_id == run.info.run_id
        assert run.data.params == {"alpha": alpha, "l1_ratio": l1_ratio}
        assert run.data.metrics["rmse"] == pytest.approx(expected_rmse, rel=1e-9)
        assert float(mv.tags["rmse"]) == pytest.approx(expected_rmse, rel=1e-12)
        assert mv.description == f"ElasticNet(alpha={alpha}, l1_ratio={l1_ratio}); test rmse {expected_rmse:.4f}."
        assert mv.source.startswith("models:/m-")
    assert store.client.get_registered_model(name).description == DESCRIPTION

    # Predictions through the alias equal those of the version it points to and of the same model fitted here.
    best_alpha, best_l1_ratio = settings[best - 1]
    rows = reference.first_rows(6)
    via_alias = predict_fresh(store, f"models:/{name}@champion", n=len(rows))
    source = store.client.get_model_version(name, str(best)).source  # models:/m-...
    logged_model = store.client.get_logged_model(source.removeprefix("models:/"))
    version_model = mlflow.sklearn.load_model(
        mlflow.artifacts.download_artifacts(artifact_uri=logged_model.artifact_location, tracking_uri=store.uri)
    )
    assert via_alias == version_model.predict(rows).tolist()
    refit, (_, test_x, _, test_y) = reference.refit(float(best_alpha), float(best_l1_ratio))
    assert via_alias == pytest.approx(refit.predict(rows).tolist(), rel=1e-12)

    # use_champion.py lists the versions with their aliases and predicts with the champion.
    result = run_script(USE, "--model-name", name, "--rows", "4")
    listed = dict(re.findall(r"^  v(\d+)\s.*?(@\S+.*)?$", result.stdout, flags=re.MULTILINE))
    assert set(listed) == {"1", "2", "3"}
    assert listed[str(best)] == "@champion"
    assert f"@champion -> version {best}: logged model {source}, run {runs[best - 1].info.run_id}" in result.stdout
    assert f"models:/{name}@champion is version {best};" in result.stdout
    printed = [float(value) for value in re.findall(r"predicted (-?[\d.]+)", result.stdout)]
    assert printed == pytest.approx(refit.predict(test_x.head(4)).tolist(), abs=5e-4)
    actual = [int(value) for value in re.findall(r"actual (\d+)", result.stdout)]
    assert actual == test_y.head(4).tolist()


def test_use_champion_without_a_registered_model_fails_with_one_line(store, run_script):
    result = run_script(USE, "--model-name", "nothing_here", ok=False)
    assert result.returncode == 1
    assert result.error_lines == [
        "error: no registered model named 'nothing_here'; run register_at_log_time.py or promote_challenger.py"
    ]


@pytest.mark.parametrize(
    "script, option, value",
    [
        (PROMOTE, "--model-name", "team/wine"),
        (REGISTER, "--model-name", " "),
        (PROMOTE, "--alpha", "abc"),
        (USE, "--rows", "0"),
    ],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, option, value):
    result = run_script(script, option, value, ok=False)
    assert_rejected(result, store, option)
    assert store.client.search_registered_models() == []


@pytest.mark.parametrize(
    "script, option, value, named",
    [(PROMOTE, "--alpha", "-1", "'alpha'"), (REGISTER, "--l1-ratio", "1.5", "'l1_ratio'")],
)
def test_out_of_range_option_is_refused_by_sklearn_before_any_run(store, run_script, script, option, value, named):
    """scikit-learn checks the ranges at fit, before the run opens: one line, exit 1, nothing recorded or registered."""
    result = run_script(script, option, value, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
    assert store.client.search_registered_models() == []
