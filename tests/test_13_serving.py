"""examples/13_serving: a registered model behind ``mlflow models serve``, its REST client, batch scoring.

``serve_model.py`` runs once per module (model serving starts slowly) against a
SQLite store that already holds version 1 of the model, so the alias it sets
must resolve to the new version 2.
"""

from __future__ import annotations

import json
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
import reference
import requests
from _suite import runner
from _suite.runner import run_script_in
from harness import Store, assert_rejected, clean_env
from services import assert_gone, assert_port_refused, kill_leftovers, port_closed, start_script, stop_script

from winelab.servers import free_port

SERVE = "13_serving/serve_model.py"
CLIENT = "13_serving/client.py"
BATCH = "13_serving/batch_predict.py"
NAME = "wine-serving"
FORMATS = ["dataframe_split", "dataframe_records", "inputs", "csv"]

# Version 1 of the registered model: a different ElasticNet than the one serve_model.py registers.
REGISTER_V1 = """
import sys
import mlflow, mlflow.sklearn
import reference
from sklearn.linear_model import ElasticNet
train_x, _, train_y, _ = reference.split()
model = ElasticNet(alpha=0.1, l1_ratio=0.9, random_state=42).fit(train_x, train_y)
with mlflow.start_run():
    mlflow.sklearn.log_model(model, name="wine_model", input_example=train_x.head(2),
                             registered_model_name=sys.argv[1], pip_requirements=["scikit-learn"])
"""


@dataclass
class Served:
    url: str
    port: int
    pid: int  # the model server's (its process group)


def run(store: Store, relative: str, *args: str, ok: bool = True):
    """Run an example against ``store`` (like conftest's run_script, for the module-wide store)."""
    return run_script_in(store, relative, *args, ok=ok, timeout=240)


@pytest.fixture(scope="module")
def served(tmp_path_factory, migrated_db):
    """``serve_model.py --alpha 0.4 --l1-ratio 0.2`` serving ``models:/wine-serving@champion`` (version 2).

    At the end, Ctrl-C as a terminal sends it (SIGINT to the script's process group) must stop
    the model server, and the script must say so and exit 0.
    """
    root = tmp_path_factory.mktemp("serving")
    shutil.copyfile(migrated_db, root / "mlflow.db")
    store = Store("sqlite", f"sqlite:///{root / 'mlflow.db'}", root / "work")
    store.workdir.mkdir()
    env = clean_env(MLFLOW_TRACKING_URI=store.uri, PYTHONPATH=str(Path(reference.__file__).parent))
    runner.current().run(["-c", REGISTER_V1, NAME], cwd=store.workdir, env=env)

    port = free_port()
    args = ("--port", str(port), "--alpha", "0.4", "--l1-ratio", "0.2")
    env = clean_env(MLFLOW_TRACKING_URI=store.uri)
    started = start_script(SERVE, *args, cwd=store.workdir, env=env, ready=r"serving (\S+) at (\S+) \(pid (\d+)\)")
    model_uri, url, pid = started.ready.group(1), started.ready.group(2), int(started.ready.group(3))
    try:
        assert url == f"http://127.0.0.1:{port}"
        yield Served(url, port, pid), store, model_uri
        result = stop_script(started, signal.SIGINT, group=True)
        assert "interrupted" in result.stdout and "model server stopped" in result.stdout
        assert_gone(pid)
        assert port_closed(port)
    finally:
        if started.process.poll() is None:
            started.process.kill()
        kill_leftovers(pid)


def pyfunc_predictions(store: Store, model_uri: str, rows, monkeypatch) -> list[float]:
    import mlflow.pyfunc

    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    return [float(value) for value in mlflow.pyfunc.load_model(model_uri).predict(rows)]


def expected_predictions(rows) -> list[float]:
    """serve_model.py's model, fitted here independently (tests/reference.py)."""
    return reference.expected_predictions(0.4, 0.2, rows)


def test_every_payload_format_gets_the_pyfunc_predictions(served, monkeypatch):
    service, store, model_uri = served
    result = run(store, CLIENT, "--url", service.url, "--rows", "5")
    rows = reference.first_rows(5)
    loaded = pyfunc_predictions(store, model_uri, rows, monkeypatch)
    assert loaded == pytest.approx(expected_predictions(rows), rel=1e-12)

    printed = dict(re.findall(r"^(\w+) +-> (\[.*\])$", result.stdout, flags=re.MULTILINE))
    assert sorted(printed) == sorted(FORMATS)
    for name in FORMATS:
        assert json.loads(printed[name]) == pytest.approx(loaded, rel=1e-12), name

    import mlflow

    assert f"GET /ping -> 200; GET /version -> {mlflow.__version__}" in result.stdout


def test_schema_violations_get_4xx_and_mlflows_message(served):
    service, store, _ = served
    rows = reference.first_rows(2)
    invocations = f"{service.url}/invocations"
    direct = {
        "missing column": requests.post(
            invocations, json={"dataframe_split": rows.drop(columns=["alcohol"]).to_dict(orient="split")}, timeout=60
        ),
        "wrong type": requests.post(
            invocations,
            json={"dataframe_records": [{**rows.iloc[0].to_dict(), "pH": "acidic"}]},
            timeout=60,
        ),
        "malformed JSON": requests.post(
            invocations, data='{"dataframe_split": {', headers={"Content-Type": "application/json"}, timeout=60
        ),
    }
    for case, response in direct.items():
        assert 400 <= response.status_code < 500, (case, response.status_code)
    assert "Model is missing inputs ['alcohol']" in direct["missing column"].json()["message"]
    assert "could not convert string to float: 'acidic'" in direct["wrong type"].json()["message"]
    assert "JSONDecodeError" in direct["malformed JSON"].json()["message"]

    # The client makes the same three mistakes and prints one line for each, with MLflow's reason.
    result = run(store, CLIENT, "--url", service.url)
    lines = {line.split(" -> ")[0].strip(): line for line in result.stdout.splitlines() if " -> HTTP 4" in line}
    assert sorted(lines) == sorted(direct)
    assert "Model is missing inputs ['alcohol']" in lines["missing column"]
    assert "could not convert string to float: 'acidic'" in lines["wrong type"]
    assert "JSONDecodeError" in lines["malformed JSON"]
    for case, line in lines.items():
        assert f"HTTP {direct[case].status_code} {direct[case].json()['error_code']}" in line


def test_the_alias_serves_the_version_it_points_at(served, monkeypatch):
    service, store, model_uri = served
    assert model_uri == f"models:/{NAME}@champion"
    champion = store.client.get_model_version_by_alias(NAME, "champion")
    assert str(champion.version) == "2"  # version 1 was registered before serve_model.py ran
    assert store.client.get_run(champion.run_id).data.params == {"alpha": "0.4", "l1_ratio": "0.2"}

    rows = reference.first_rows(4)
    response = requests.post(
        f"{service.url}/invocations", json={"dataframe_split": rows.to_dict(orient="split")}, timeout=60
    )
    served_predictions = response.json()["predictions"]
    assert served_predictions == pytest.approx(pyfunc_predictions(store, f"models:/{NAME}/2", rows, monkeypatch))
    assert served_predictions != pytest.approx(pyfunc_predictions(store, f"models:/{NAME}/1", rows, monkeypatch))


def test_batch_predict_scores_a_csv_like_the_server(served, monkeypatch):
    _, store, model_uri = served
    result = run(store, BATCH, "--rows", "6", "--output", "batch-predictions-6rows.json")
    saved = json.loads((store.workdir / "batch-predictions-6rows.json").read_text())["predictions"]
    rows = reference.first_rows(6)
    assert saved == pytest.approx(pyfunc_predictions(store, model_uri, rows, monkeypatch), rel=1e-12)
    assert f"6 predictions in batch-predictions-6rows.json: {json.dumps(saved)}" in result.stdout
    assert "$ mlflow models predict -m models:/wine-serving@champion -i batch-input.csv -t csv" in result.stdout
    # The alias resolved to the version serve_model.py registered, and the Python API agrees with the CLI.
    champion = store.client.get_model_version_by_alias(NAME, "champion")
    assert f"{model_uri} is version {champion.version} of {NAME!r}, from run {champion.run_id}" in result.stdout
    assert "predict(rows) gives the same: True" in result.stdout
    assert (store.workdir / "batch-input.csv").read_text().splitlines()[0] == ",".join(reference.FEATURES)


# bad input


@pytest.mark.parametrize(
    "script, args",
    [
        (SERVE, ("--port", "70000")),
        (SERVE, ("--alpha", "-1")),
        (SERVE, ("--run",)),
        (SERVE, ("--model-name",)),
        (CLIENT, ("--rows", "0")),
        (BATCH, ("--rows", "x")),
        (BATCH, ("--rows", "0")),
    ],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, args):
    result = run_script(script, *args, ok=False)
    assert_rejected(result, store)


def test_a_taken_port_is_refused_before_training(store, run_script, taken_port):
    result = run_script(SERVE, "--port", str(taken_port), ok=False)
    assert_port_refused(result, taken_port)
    assert result.stdout == ""  # nothing trained, registered or served
    assert store.all_runs() == []
    assert store.client.search_registered_models() == []
    assert list(store.workdir.iterdir()) == []


def test_client_without_a_server_and_batch_without_a_model_fail_in_one_line(store, run_script):
    dead = f"http://127.0.0.1:{free_port()}"
    result = run_script(CLIENT, "--url", dead, ok=False)
    assert result.error_lines == [f"error: no model server at {dead}; start one with serve_model.py"]
    result = run_script(BATCH, "--model-uri", "models:/no-such-model@champion", ok=False)
    assert len(result.error_lines) == 1
    assert "no-such-model" in result.error_lines[0]
