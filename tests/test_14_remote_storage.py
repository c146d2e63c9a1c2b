"""examples/14_remote_storage: PostgreSQL backend store + S3 artifact store behind mlflow server.

What a run leaves is checked in the three places it lands: MLflow's REST API,
the rows in PostgreSQL (psycopg2) and the objects in the bucket (boto3).
"""

import importlib.util
import json
import time
from pathlib import Path

import pytest
import reference
import requests
from harness import Store as HarnessStore
from harness import expected_metrics, predict_fresh, script_path
from reference import FEATURES
from services import assert_port_refused, parse_exports, port_closed, run_against

from winelab.remote import Settings, Stack, server_command, stop_stack
from winelab.servers import free_port

STACK = "14_remote_storage/stack.py"
TRACKED = "01_tracking/basic_regression_mlflow.py"
MULTIPLE = "03_multiple_runs/multiple_runs.py"
MODEL_FILES = {"MLmodel", "model.skops", "requirements.txt", "python_env.yaml", "input_example.json"}


def rest(url: str, endpoint: str, payload: dict) -> dict:
    """POST to MLflow's REST API (``/api/2.0/mlflow/<endpoint>``) and return the JSON answer."""
    response = requests.post(f"{url}/api/2.0/mlflow/{endpoint}", json=payload, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def rest_runs(url: str, experiment_name: str) -> tuple[dict, list[dict]]:
    experiment = requests.get(
        f"{url}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": experiment_name}, timeout=30
    ).json()["experiment"]
    runs = rest(url, "runs/search", {"experiment_ids": [experiment["experiment_id"]]}).get("runs", [])
    return experiment, runs


def as_dict(items: list[dict]) -> dict:
    return {item["key"]: item["value"] for item in items}


def pg_rows(stack: Stack, query: str, *params) -> list[tuple]:
    connection = stack.pg_connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall()
    finally:
        connection.close()


def bucket_keys(stack: Stack, prefix: str) -> list[str]:
    answer = stack.s3_client().list_objects_v2(Bucket=stack.settings.bucket, Prefix=prefix)
    return [item["Key"] for item in answer.get("Contents", [])]


def listed_with(exported: dict[str, str], bucket: str) -> list[str]:
    """The README's ``aws --endpoint-url $MLFLOW_S3_ENDPOINT_URL s3 ls --recursive s3://<bucket>/``, with only
    the variables ``stack.py env`` exported (boto3 reads the same AWS_* settings as the aws CLI)."""
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=exported["MLFLOW_S3_ENDPOINT_URL"],
        aws_access_key_id=exported["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=exported["AWS_SECRET_ACCESS_KEY"],
        region_name=exported["AWS_DEFAULT_REGION"],
    )
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_chapters_01_and_03_run_unchanged_against_postgres_and_s3(proxied_stack, tmp_path):
    stack, url = proxied_stack, proxied_stack.url
    # Chapter 01: one run with a model
    run_against(TRACKED, "--alpha", "0.4", "--l1-ratio", "0.2", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": url})
    assert list(tmp_path.iterdir()) == []  # nothing local: no mlflow.db, mlruns or mlartifacts

    experiment, [run] = rest_runs(url, "experiment_1")
    experiment_id, run_id = experiment["experiment_id"], run["info"]["run_id"]
    assert experiment["artifact_location"] == f"mlflow-artifacts:/{experiment_id}"  # proxied by the server
    assert run["info"]["status"] == "FINISHED"
    assert as_dict(run["data"]["params"]) == {"alpha": "0.4", "l1_ratio": "0.2"}
    expected = expected_metrics(0.4, 0.2)
    metrics = as_dict(run["data"]["metrics"])
    assert metrics == pytest.approx(expected, rel=1e-9)

    # The same run, as rows in PostgreSQL.
    assert pg_rows(stack, "SELECT status, experiment_id FROM runs WHERE run_uuid = %s", run_id) == [
        ("FINISHED", int(experiment_id))
    ]
    assert dict(pg_rows(stack, "SELECT key, value FROM params WHERE run_uuid = %s", run_id)) == {
        "alpha": "0.4",
        "l1_ratio": "0.2",
    }
    assert dict(pg_rows(stack, "SELECT key, value FROM latest_metrics WHERE run_uuid = %s", run_id)) == pytest.approx(
        expected, rel=1e-9
    )

    # The model, as objects in the bucket under the server's artifact prefix.
    [model] = HarnessStore("remote", url, tmp_path).client.search_logged_models(experiment_ids=[experiment_id])
    assert model.source_run_id == run_id
    prefix = f"mlartifacts/{experiment_id}/models/{model.model_id}/artifacts/"
    assert {key.removeprefix(prefix) for key in bucket_keys(stack, prefix)} >= MODEL_FILES
    mlmodel = stack.s3_client().get_object(Bucket=stack.settings.bucket, Key=prefix + "MLmodel")["Body"].read()
    assert f"model_id: {model.model_id}".encode() in mlmodel
    assert all(name.encode() in mlmodel for name in FEATURES)  # the signature

    # stack.py env: a proxied client needs only the URI; --s3 adds what looking into the bucket needs,
    # and the README's listing shows the model under mlartifacts/<experiment id>/models/<model id>/.
    state = ("--state-dir", stack.state_dir)
    assert parse_exports(run_against(STACK, "env", *state, cwd=tmp_path, env={}).stdout) == {"MLFLOW_TRACKING_URI": url}
    exported = parse_exports(run_against(STACK, "env", "--s3", *state, cwd=tmp_path, env={}).stdout)
    assert exported["MLFLOW_S3_ENDPOINT_URL"] == stack.s3_endpoint
    listed = listed_with(exported, stack.settings.bucket)
    assert {key.removeprefix(prefix) for key in listed if key.startswith(prefix)} >= MODEL_FILES
    assert all(key.startswith("mlartifacts/") for key in listed), listed

    # Loaded back through the server (which reads it from S3) in a fresh process.
    predictions = predict_fresh(HarnessStore("remote", url, tmp_path), model.model_uri, n=4)
    assert predictions == pytest.approx(reference.expected_predictions(0.4, 0.2, 4), rel=1e-9)  # an independent refit

    # Chapter 03: several experiments and runs in one process
    run_against(
        MULTIPLE, "--alphas", "0.1", "0.5", "--l1-ratios", "0.3", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": url}
    )
    grids = {"multiple_runs_alpha": [(0.1, 0.7), (0.5, 0.7)], "multiple_runs_l1_ratio": [(0.7, 0.3)]}
    for name, grid in grids.items():
        experiment, runs = rest_runs(url, name)
        by_params = {
            (float(as_dict(r["data"]["params"])["alpha"]), float(as_dict(r["data"]["params"])["l1_ratio"])): r
            for r in runs
        }
        assert sorted(by_params) == sorted(grid)
        for (alpha, l1_ratio), found in by_params.items():
            assert as_dict(found["data"]["metrics"])["rmse"] == pytest.approx(
                expected_metrics(alpha, l1_ratio)["rmse"], rel=1e-9
            )
        rows = pg_rows(
            stack,
            "SELECT count(*) FROM runs r JOIN experiments e ON r.experiment_id = e.experiment_id WHERE e.name = %s",
            name,
        )
        assert rows == [(len(grid),)]


def test_stack_command_direct_mode_up_env_status_down(postgres, tmp_path):
    """The learner's commands, with credentials from a .env file; clients write to S3 themselves."""
    work, state = tmp_path / "work", tmp_path / "state"
    work.mkdir()
    (work / ".env").write_text(
        "WINELAB_PG_USER=cli_user\nWINELAB_PG_PASSWORD=cli-postgres-password\nWINELAB_PG_DB=cli_db\n"
        "WINELAB_S3_ACCESS_KEY=cli-access\nWINELAB_S3_SECRET_KEY=cli-secret-key\nWINELAB_S3_BUCKET=cli-bucket\n"
    )
    no_settings = {key: None for key in ("WINELAB_PG_PASSWORD", "WINELAB_S3_ACCESS_KEY", "WINELAB_S3_SECRET_KEY")}
    try:
        port = free_port()
        up = run_against(
            STACK,
            "up",
            "--direct",
            "--port",
            str(port),
            "--state-dir",
            str(state),
            cwd=work,
            env=no_settings,
            timeout=300,
        )
        assert "--no-serve-artifacts --default-artifact-root s3://cli-bucket/direct" in up.stdout
        assert "cli-postgres-password" not in up.stdout  # masked
        stack = Stack.load(state)
        assert stack.settings.pg_user == "cli_user" and stack.direct
        assert stack.url == f"http://127.0.0.1:{port}"

        status = run_against(STACK, "status", "--state-dir", str(state), cwd=work, env={})
        assert status.stdout.count(": running") == 3

        exported = parse_exports(run_against(STACK, "env", "--state-dir", str(state), cwd=work, env={}).stdout)
        assert exported == {
            "MLFLOW_TRACKING_URI": stack.url,
            "AWS_ACCESS_KEY_ID": "cli-access",
            "AWS_SECRET_ACCESS_KEY": "cli-secret-key",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MLFLOW_S3_ENDPOINT_URL": stack.s3_endpoint,
        }

        run_against(TRACKED, "--alpha", "0.3", cwd=work, env=exported)
        experiment, [run] = rest_runs(stack.url, "experiment_1")
        assert experiment["artifact_location"] == f"s3://cli-bucket/direct/{experiment['experiment_id']}"
        assert as_dict(run["data"]["metrics"])["rmse"] == pytest.approx(expected_metrics(0.3, 0.7)["rmse"], rel=1e-9)
        assert pg_rows(stack, "SELECT count(*) FROM runs") == [(1,)]
        keys = bucket_keys(stack, f"direct/{experiment['experiment_id']}/models/")
        assert {key.rsplit("/", 1)[-1] for key in keys} >= MODEL_FILES
        # The README's listing, with the variables `env` printed (direct mode prints them without --s3).
        listed = listed_with(exported, "cli-bucket")
        assert set(keys) <= set(listed)
        assert all(key.startswith("direct/") for key in listed), listed  # not mlartifacts/: the README says so

        down = run_against(STACK, "down", "--state-dir", str(state), cwd=work, env={})
        assert "nothing is left running" in down.stdout
        assert not state.exists()
        assert not Path(stack.pg_root).exists()
        assert all(port_closed(port) for port in (stack.server_port, stack.s3_port, stack.pg_port))
        again = run_against(STACK, "down", "--state-dir", str(state), cwd=work, env={})
        assert "nothing to stop" in again.stdout
    finally:
        stop_stack(state)  # whatever a failed assertion left running


def test_a_taken_port_is_refused_before_anything_starts(tmp_path, taken_port):
    state = tmp_path / "state"
    example = ("--env-file", str(script_path(STACK).with_name(".env.example")))
    result = run_against(
        STACK, "up", "--port", str(taken_port), "--state-dir", str(state), *example, cwd=tmp_path, env={}, ok=False
    )
    assert_port_refused(result, taken_port)
    assert result.stdout == ""
    assert not state.exists()  # no PostgreSQL cluster, no S3 server, no state recorded


def test_stack_needs_credentials(tmp_path):
    unset = {key: None for key in ("WINELAB_PG_PASSWORD", "WINELAB_S3_ACCESS_KEY", "WINELAB_S3_SECRET_KEY")}
    state = tmp_path / "state"
    result = run_against(
        STACK,
        "up",
        "--state-dir",
        str(state),
        "--env-file",
        str(tmp_path / "none.env"),
        cwd=tmp_path,
        env=unset,
        ok=False,
    )
    assert result.returncode == 1
    assert len(result.error_lines) == 1
    assert "WINELAB_PG_PASSWORD" in result.error_lines[0] and ".env.example" in result.error_lines[0]
    assert not state.exists()


def test_stack_bad_usage_is_one_line(tmp_path):
    for args in (["sideways"], ["up", "--", "echo"], ["run"], [], ["up", "--s3"], ["down", "--port", "5000"]):
        result = run_against(STACK, *args, cwd=tmp_path, env={}, ok=False)
        assert result.returncode == 2 and len(result.error_lines) == 1, (args, result.stderr)


def test_unreachable_server_fails_fast_with_one_line(tmp_path):
    """A dead tracking server: one line naming the URI, within 10 s (MLflow alone would retry ~2 min).

    On a busy machine importing MLflow and scikit-learn alone can take longer, so
    the bound is 10 s or the script's measured start-up (``--help``) plus 6 s.
    """
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    run_against(TRACKED, "--help", cwd=tmp_path, env={"MLFLOW_TRACKING_URI": uri})
    startup = time.monotonic() - start
    start = time.monotonic()
    result = run_against(TRACKED, cwd=tmp_path, env={"MLFLOW_TRACKING_URI": uri}, ok=False, timeout=60)
    elapsed = time.monotonic() - start
    print(json.dumps({"unreachable_server_seconds": round(elapsed, 2), "startup_seconds": round(startup, 2)}))
    assert result.returncode == 1
    assert len(result.error_lines) == 1, result.stderr
    assert uri in result.error_lines[0]
    assert elapsed < max(10, startup + 6)


@pytest.mark.parametrize("direct", [False, True], ids=["proxied", "direct"])
def test_stack_script_spells_out_the_server_command_the_fixture_runs(direct):
    """stack.py builds its own `mlflow server` line; the suite's proxied_stack uses winelab.remote's: the same."""
    spec = importlib.util.spec_from_file_location("chapter14_stack", script_path(STACK))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    settings = Settings("user", "pw-secret", "db", "key", "secret", "bucket")
    stack = Stack("/nowhere", direct, settings, pg_port=5433, s3_port=8333)
    command = module.mlflow_server_command(stack, 5123)
    assert command == server_command(stack, 5123)
    assert command[:2] == ["mlflow", "server"] and "postgresql+psycopg2://user:pw-secret@127.0.0.1:5433/db" in command
    expected = ["--no-serve-artifacts", "--default-artifact-root", "s3://bucket/direct"] if direct else [
        "--artifacts-destination", "s3://bucket/mlartifacts"]  # fmt: skip
    assert command[-len(expected) :] == expected
