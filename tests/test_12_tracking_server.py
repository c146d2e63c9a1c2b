"""examples/12_tracking_server: a local tracking server, the quickstart, the four scenarios, the UI.

The module's tracking server is the chapter's own ``server.py`` (``tracking_server``,
tests/services.py), stopped at the end with a plain ``kill``; tests that run scripts
against it ask for ``tracking_server_store``, so ``run_script`` points
``MLFLOW_TRACKING_URI`` at it.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import urllib.request
from pathlib import Path

import pytest
import requests
from _suite import runner
from harness import assert_rejected, clean_env, expected_metrics, script_path
from services import SERVER_READY, assert_gone, assert_port_refused, kill_leftovers, start_script, stop_script

from winelab.errors import UserError
from winelab.servers import background, free_port

SERVER = "12_tracking_server/server.py"
QUICKSTART = "12_tracking_server/quickstart_iris.py"
SCENARIOS = "12_tracking_server/four_scenarios.py"
CHAPTER_01 = "01_tracking/basic_regression_mlflow.py"
SCREENSHOT = Path(__file__).resolve().parents[1] / "examples" / "12_tracking_server" / "ui_screenshot.png"

READY = re.compile(SERVER_READY)


# helpers


def refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/health", timeout=2)
    except OSError:
        return True
    return False


def iris_expectations(test_size: float = 0.2, seed: int = 42):
    """The quickstart's model, fitted here independently: (test rows, predictions, accuracy)."""
    from sklearn import datasets
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split

    features, target = datasets.load_iris(return_X_y=True)
    train_x, test_x, train_y, test_y = train_test_split(features, target, test_size=test_size, random_state=seed)
    model = LogisticRegression(solver="lbfgs", max_iter=1000, random_state=8888).fit(train_x, train_y)
    predictions = model.predict(test_x)
    return test_x, predictions, accuracy_score(test_y, predictions)


# the quickstart and chapter 01 against the server


def test_quickstart_registers_a_version_and_predicts(tracking_server, tracking_server_store, run_script, monkeypatch):
    result = run_script(QUICKSTART, "--experiment-name", "quickstart-test", "--model-name", "qs-iris")
    test_x, expected_predictions, accuracy = iris_expectations()

    [run] = tracking_server_store.runs("quickstart-test")
    assert run.data.params == {"solver": "lbfgs", "max_iter": "1000", "random_state": "8888"}
    assert run.data.metrics["accuracy"] == pytest.approx(accuracy, rel=1e-12)
    assert run.data.tags["Training Info"] == "Basic LR model for iris data"

    # The registry on the server has version 1, made from this run's logged model.
    client = tracking_server.client
    [version] = client.search_model_versions("name = 'qs-iris'")
    assert version.version == "1"
    assert version.run_id == run.info.run_id
    [logged_model] = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert logged_model.name == "iris_model"
    assert version.source == f"models:/{logged_model.model_id}"
    assert logged_model.artifact_location.startswith("mlflow-artifacts:/")
    assert (tracking_server.on_disk(logged_model.artifact_location) / "MLmodel").is_file()

    # The script's own predictions: all 30 test rows, iris classes only.
    assert f"predicted {len(test_x)} rows; classes [0, 1, 2]" in result.stdout

    # Loading the registered version back from the server gives the independent model's predictions.
    import mlflow.pyfunc

    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
    served = mlflow.pyfunc.load_model("models:/qs-iris/1").predict(test_x)
    assert len(served) == len(test_x)
    assert set(served) <= {0, 1, 2}
    assert list(served) == list(expected_predictions)


def test_chapter_01_runs_unchanged_against_the_server(tracking_server, tracking_server_store, run_script):
    result = run_script(CHAPTER_01, "--experiment-name", "ch01-on-server", "--alpha", "0.4", "--l1-ratio", "0.2")
    assert f"tracking URI: {tracking_server.url}" in result.stdout

    # Read the run back over the REST API, as any HTTP client could.
    experiment = requests.get(
        f"{tracking_server.url}/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": "ch01-on-server"},
        timeout=30,
    ).json()["experiment"]
    found = requests.post(
        f"{tracking_server.url}/api/2.0/mlflow/runs/search",
        json={"experiment_ids": [experiment["experiment_id"]]},
        timeout=30,
    ).json()["runs"]
    [run] = found
    assert run["info"]["status"] == "FINISHED"
    assert {param["key"]: param["value"] for param in run["data"]["params"]} == {"alpha": "0.4", "l1_ratio": "0.2"}
    metrics = {metric["key"]: metric["value"] for metric in run["data"]["metrics"]}
    for name, value in expected_metrics(0.4, 0.2).items():
        assert metrics[name] == pytest.approx(value, rel=1e-9)
    assert run["info"]["artifact_uri"].startswith("mlflow-artifacts:/")

    # The model's files were uploaded through the server into its artifacts folder ...
    [model] = tracking_server.client.search_logged_models(experiment_ids=[experiment["experiment_id"]])
    folder = tracking_server.on_disk(model.artifact_location)
    assert folder.is_relative_to(tracking_server.artifacts)
    assert {"MLmodel", "input_example.json", "requirements.txt"} <= {path.name for path in folder.iterdir()}
    # ... and nothing was written next to the client.
    assert list(tracking_server_store.workdir.iterdir()) == []


def test_ui_shows_the_experiment_and_its_run(
    tracking_server, tracking_server_store, run_script, browser_page, tmp_path
):
    run_script(CHAPTER_01, "--experiment-name", "ui-check", "--alpha", "0.5", "--l1-ratio", "0.1")
    [run] = tracking_server_store.runs("ui-check")
    experiment_id = run.info.experiment_id

    page = browser_page
    # MLflow 3's UI opens experiments in its GenAI view; the runs table lives under "Model training".
    page.goto(f"{tracking_server.url}/#/experiments/{experiment_id}/runs?workflowType=machine_learning")
    page.get_by_text(run.info.run_name, exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("ui-check", exact=True).first.wait_for(timeout=10_000)
    assert "1 matching run" in page.inner_text("body")

    target = SCREENSHOT if os.environ.get("UPDATE_SCREENSHOT") == "1" else tmp_path / "ui_screenshot.png"
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000


# the four scenarios


# Two halves, one server each, so that `pytest -n 2` runs them side by side.
@pytest.mark.parametrize("scenarios", [("1", "3"), ("2", "4")], ids=lambda numbers: "scenarios-" + "+".join(numbers))
def test_four_scenarios_land_where_they_say(store, run_script, monkeypatch, scenarios):
    port = free_port()  # the servers' port, given in one half and picked by the script in the other
    given = ("--port", str(port)) if "4" in scenarios else ()
    args = ("--alpha", "0.4", "--l1-ratio", "0.2", "--scenarios", *scenarios, *given)
    result = run_script(SCENARIOS, *args, timeout=400)
    base = store.workdir / "four-scenarios"  # the script's default --dir
    blocks = re.split(r"^scenario (\d): .*$", result.stdout, flags=re.MULTILINE)[1:]
    printed = {
        int(number): {
            "uri": re.search(r"tracking URI: (\S+)", block).group(1),
            "metadata": Path(re.search(r"metadata: +(\S+)", block).group(1)),
            "artifacts": Path(re.search(r"artifacts: +(\S+)", block).group(1)),
            "files": re.search(r"the model's files: ([^)]*)\)", block).group(1).split(", "),
            "run_id": (re.search(r"run_uuid=(\w+)", block) or [None, None])[1],
        }
        for number, block in zip(blocks[::2], blocks[1::2], strict=True)
    }
    assert sorted(printed) == [int(number) for number in scenarios]

    # Where each scenario keeps the run's metadata and the model's files, and how to read them back.
    layout = {
        # 1: metadata and artifacts side by side in mlruns/.
        1: (base / "scenario1" / "mlruns", base / "scenario1" / "mlruns", "file://"),
        # 2: its own SQLite file and artifact folder.
        2: (base / "scenario2" / "mlflow.db", base / "scenario2" / "artifacts", "file://"),
        # 3: the server's SQLite; artifacts proxied (uploaded through the server) into its folder.
        3: (base / "scenario3" / "mlflow.db", base / "scenario3" / "mlartifacts", "mlflow-artifacts:/"),
        # 4: a separate metadata database; the client wrote the artifacts directly.
        4: (base / "scenario4" / "metadata-db" / "mlflow.db", base / "scenario4" / "artifact-store", "file://"),
    }
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    expected = expected_metrics(0.4, 0.2)
    for number, where in printed.items():
        metadata_root, artifact_root, scheme = layout[number]
        assert where["metadata"].exists(), f"scenario {number}: {where['metadata']}"
        assert where["metadata"].is_relative_to(metadata_root)
        assert (where["artifacts"] / "MLmodel").is_file(), f"scenario {number}: {where['artifacts']}"
        assert where["artifacts"].is_relative_to(artifact_root)
        assert where["uri"].startswith("http://") == (number >= 3)
        if number == 4:
            assert where["uri"] == f"http://127.0.0.1:{port}"
        # The files it names are the folder's (MLflow 3 saves scikit-learn models as model.skops, not model.pkl).
        assert where["files"] == sorted(path.name for path in where["artifacts"].iterdir())
        assert {"MLmodel", "model.skops"} <= set(where["files"]) and "model.pkl" not in where["files"]

        # Each store holds the run (the servers are gone, their databases are not).
        uri = metadata_root.as_uri() if number == 1 else f"sqlite:///{metadata_root}"
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name("four_scenarios")
        [run] = client.search_runs([experiment.experiment_id])
        assert run.info.run_id == (where["run_id"] or where["metadata"].name)
        assert run.data.params == {"alpha": "0.4", "l1_ratio": "0.2"}
        assert run.data.metrics["rmse"] == pytest.approx(expected["rmse"], rel=1e-9)
        [model] = client.search_logged_models(experiment_ids=[experiment.experiment_id])
        assert model.artifact_location.startswith(scheme), (number, model.artifact_location)
        if number == 1:
            assert (where["metadata"] / "meta.yaml").is_file()
            assert (where["metadata"] / "params" / "alpha").read_text() == "0.4"
    # Nothing went to the store MLFLOW_TRACKING_URI pointed at.
    assert store.all_runs() == []


# server.py itself


def test_server_script_runs_a_command_against_the_server_then_stops(tmp_path):
    check = (
        "import os, urllib.request; url = os.environ['MLFLOW_TRACKING_URI']; "
        "print('health', urllib.request.urlopen(url + '/health').read().decode(), url)"
    )
    result = runner.current().run(
        # --dir: the script's default folder name, which .gitignore knows (a learner runs it in the repository)
        [str(script_path(SERVER)), "--dir", "mlflow-server", "--run", "--", sys.executable, "-c", check],
        cwd=tmp_path,
        env=clean_env(),
        timeout=240,
    )
    url, pid = READY.search(result.stdout).groups()
    assert f"health OK {url}" in result.stdout
    assert f"export MLFLOW_TRACKING_URI={url}" in result.stdout
    assert "server stopped" in result.stdout
    assert_gone(int(pid))
    assert refused(url)
    assert (tmp_path / "mlflow-server" / "mlflow.db").is_file()


def test_server_script_stops_cleanly_on_ctrl_c(tmp_path):
    """Ctrl-C in the terminal: SIGINT to the script's process group; the server and its group go (the
    module's server covers a plain `kill`, SIGTERM)."""
    work = tmp_path / "work"
    work.mkdir()
    port = free_port()
    started = start_script(SERVER, "--port", str(port), cwd=work, env=clean_env(), ready=SERVER_READY)
    url, pid = started.ready.group(1), int(started.ready.group(2))
    try:
        assert url == f"http://127.0.0.1:{port}"
        assert urllib.request.urlopen(url + "/health", timeout=10).read() == b"OK"
        result = stop_script(started, signal.SIGINT, group=True)  # exit 0, and the checks every script run gets
        assert "interrupted" in result.stdout and "server stopped" in result.stdout
        assert_gone(pid)
        assert refused(url)
    finally:
        if started.process.poll() is None:
            started.process.kill()
        kill_leftovers(pid)


# a port another program holds: refused before anything starts


@pytest.mark.parametrize("script", [SERVER, SCENARIOS])
def test_a_taken_port_is_refused_before_anything_starts(store, run_script, taken_port, script):
    result = run_script(script, "--port", str(taken_port), ok=False)
    assert_port_refused(result, taken_port)
    assert list(store.workdir.iterdir()) == []  # no server folder, no scenario folders
    assert store.all_runs() == []
    assert result.stdout == ""  # nothing trained, no command printed


@pytest.mark.parametrize("taken_port", ["http-200"], indirect=True)
def test_an_answer_from_another_program_is_not_taken_for_the_server(taken_port, tmp_path):
    """The port taken between the check and the bind: /health answers 200, but not from the process just
    started (here one that never binds), so it is not reported ready; once it exits, one line says why."""
    never_binds = [sys.executable, "-c", "import time; time.sleep(1.5)"]
    with pytest.raises(UserError) as raised:
        with background("mlflow server", never_binds, port=taken_port, workdir=tmp_path, timeout=30):
            pytest.fail("reported ready although another program answered")
    assert str(raised.value) == (
        f"port {taken_port} on 127.0.0.1 was taken by another program while mlflow server started; "
        "choose another with --port, or leave --port out to get a free one"
    )


# bad input


@pytest.mark.parametrize(
    "script, args",
    [
        (SERVER, ("--port", "abc")),
        (SERVER, ("--seconds", "0")),
        (SERVER, ("--run",)),
        (SERVER, ("--", "python", "-V")),
        (QUICKSTART, ("--experiment-name",)),
        (SCENARIOS, ("--port", "70000")),
        (SCENARIOS, ("--scenarios", "5")),
    ],
)
def test_invalid_options_fail_with_one_line(store, run_script, script, args):
    result = run_script(script, *args, ok=False)
    assert_rejected(result, store)
    assert list(store.workdir.iterdir()) == []  # no server folder, no scenario folders


def test_out_of_range_alpha_is_refused_by_sklearn_before_anything_starts(store, run_script):
    """scikit-learn checks alpha at fit, before any folder, server or run: one line, exit 1."""
    result = run_script(SCENARIOS, "--alpha", "-1", ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and "'alpha'" in result.error_lines[0]
    assert result.stdout == "" and list(store.workdir.iterdir()) == []
    assert store.all_runs() == []


def test_quickstart_without_a_server_fails_in_one_line(store, run_script):
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_script(QUICKSTART, env={"MLFLOW_TRACKING_URI": dead}, ok=False)
    assert result.returncode == 1
    assert len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith(f"error: API request to {dead}/api/2.0/mlflow/"), result.error_lines
    assert "Connection refused" in result.error_lines[0]
