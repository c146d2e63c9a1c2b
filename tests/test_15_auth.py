"""examples/15_auth: mlflow server --app-name basic-auth, users and per-experiment permissions.

The module's basic-auth server is the chapter's own ``auth_server.py`` (``basic_auth_server``),
stopped at the end with a plain ``kill``, which must leave no process, port or folder behind.
"""

import re
import sys
from pathlib import Path

import pytest
import requests
from harness import expected_metrics, script_path
from services import ADMIN, AUTH_READY, assert_gone, assert_port_refused, port_closed, run_against

WALKTHROUGH = "15_auth/users_and_permissions.py"
SERVER = "15_auth/auth_server.py"
TRACKED = "01_tracking/basic_regression_mlflow.py"


@pytest.fixture
def admin(basic_auth_server, monkeypatch):
    """The test process acts as the admin (MlflowClient and the auth client read these variables)."""
    from mlflow import MlflowClient
    from mlflow.server import get_app_client

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    return MlflowClient(tracking_uri=basic_auth_server.url), get_app_client(
        "basic-auth", tracking_uri=basic_auth_server.url
    )


def user_env(url: str, username: str, password: str) -> dict[str, str]:
    return {"MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_USERNAME": username, "MLFLOW_TRACKING_PASSWORD": password}


def test_requests_without_or_with_wrong_credentials_get_401(basic_auth_server):
    search = f"{basic_auth_server.url}/api/2.0/mlflow/experiments/search"
    anonymous = requests.post(search, json={"max_results": 1}, timeout=30)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="mlflow"'
    wrong = requests.post(search, json={"max_results": 1}, auth=(ADMIN[0], "not-the-password"), timeout=30)
    assert wrong.status_code == 401
    assert requests.post(search, json={"max_results": 1}, auth=ADMIN, timeout=30).status_code == 200
    assert requests.get(f"{basic_auth_server.url}/health", timeout=30).status_code == 200  # left open


def test_a_changed_password_is_refused_at_once_despite_the_credential_cache(basic_auth_server, admin):
    """auth_server.py turns on the app's credential cache (60 s); changing a password clears it."""
    import configparser

    config = configparser.ConfigParser()
    config.read(basic_auth_server.folder / "basic_auth.ini")  # the file MLFLOW_AUTH_CONFIG_PATH names
    assert config.getint("mlflow", "auth_cache_ttl_seconds") == 60

    _, auth = admin
    search = f"{basic_auth_server.url}/api/2.0/mlflow/experiments/search"
    carol, new_password = ("carol", "carol-password-12"), "carol-password-34"
    auth.create_user(*carol)
    assert requests.post(search, json={"max_results": 1}, auth=carol, timeout=30).status_code == 200  # now cached
    auth.update_user_password("carol", new_password)
    assert requests.post(search, json={"max_results": 1}, auth=carol, timeout=30).status_code == 401
    assert requests.post(search, json={"max_results": 1}, auth=("carol", new_password), timeout=30).status_code == 200


def test_walkthrough_creates_user_denies_read_only_then_records_the_run(basic_auth_server, admin, tmp_path):
    client, auth = admin
    env = user_env(basic_auth_server.url, *ADMIN)
    args = ("--username", "alice", "--password", "alice-password-123", "--alpha", "0.3", "--l1-ratio", "0.6")
    result = run_against(WALKTHROUGH, *args, cwd=tmp_path, env=env)
    assert re.search(r"^1\. anonymous request +-> 401 Unauthorized$", result.stdout, re.MULTILINE)
    assert "alice has READ" in result.stdout
    assert "alice starts a run -> 403 PERMISSION_DENIED" in result.stdout

    user = auth.get_user("alice")
    assert not user.is_admin
    experiment = client.get_experiment_by_name("auth_demo")
    assert auth.get_user_permission("alice", "experiment", experiment.experiment_id).permission == "EDIT"
    [run] = client.search_runs([experiment.experiment_id])  # the refused run left nothing behind
    assert run.info.status == "FINISHED"
    assert run.data.params == {"alpha": "0.3", "l1_ratio": "0.6"}
    assert run.data.metrics == pytest.approx(expected_metrics(0.3, 0.6), rel=1e-9)
    assert run.data.tags["mlflow.user"] == "alice"  # the server records who logged it
    [model] = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    assert model.source_run_id == run.info.run_id
    assert {item.path for item in client.list_logged_model_artifacts(model.model_id)} >= {"MLmodel", "model.skops"}


def test_chapter_01_as_a_user_needs_edit_on_the_experiment(basic_auth_server, admin, tmp_path):
    client, auth = admin
    url, bob = basic_auth_server.url, ("bob", "bob-password-1234")
    auth.create_user(*bob)
    experiment_id = client.create_experiment("bobs_wine")
    auth.grant_user_permission("bob", "experiment", experiment_id, "READ")

    # REST, as bob: reading is allowed, creating a run is forbidden.
    base = f"{url}/api/2.0/mlflow"
    got = requests.get(f"{base}/experiments/get", params={"experiment_id": experiment_id}, auth=bob, timeout=30)
    assert got.status_code == 200
    created = requests.post(f"{base}/runs/create", json={"experiment_id": experiment_id}, auth=bob, timeout=30)
    assert created.status_code == 403

    # Chapter 01 unchanged, with bob's credentials in the environment: one error line, no run.
    refused = run_against(TRACKED, "--experiment-name", "bobs_wine", cwd=tmp_path, env=user_env(url, *bob), ok=False)
    assert refused.returncode == 1
    assert len(refused.error_lines) == 1, refused.stderr
    # Chapter 01 prints MLflow's own message (it names the endpoint, not the server).
    assert refused.error_lines[0].startswith("error: ") and "403" in refused.error_lines[0]
    # Refused at its first write: creating the run.
    assert "/api/2.0/mlflow/runs/create " in refused.error_lines[0]
    assert "Permission denied" in refused.error_lines[0]
    assert client.search_runs([experiment_id]) == []

    # EDIT instead of READ (a grant does not overwrite another: revoke first).
    auth.revoke_user_permission("bob", "experiment", experiment_id)
    auth.grant_user_permission("bob", "experiment", experiment_id, "EDIT")
    run_against(TRACKED, "--experiment-name", "bobs_wine", "--alpha", "0.2", cwd=tmp_path, env=user_env(url, *bob))
    [run] = client.search_runs([experiment_id])
    assert run.data.params == {"alpha": "0.2", "l1_ratio": "0.7"}
    assert run.data.metrics == pytest.approx(expected_metrics(0.2, 0.7), rel=1e-9)
    assert run.data.tags["mlflow.user"] == "bob"


def test_walkthrough_refuses_a_server_without_auth(tmp_path):
    """Against a plain store there is nothing to log in to: one line, exit 1."""
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}", "MLFLOW_TRACKING_PASSWORD": "x" * 12}
    result = run_against(WALKTHROUGH, cwd=tmp_path, env=env, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1
    assert "basic-auth" in result.error_lines[0]


def test_walkthrough_refuses_bad_options_before_touching_the_server(basic_auth_server, admin, tmp_path):
    """A short --password: argparse's exit 2. A negative --alpha: scikit-learn refuses it at fit, before
    any user, experiment or run exists (exit 1, one line)."""
    client, auth = admin
    env = user_env(basic_auth_server.url, *ADMIN)
    short = run_against(WALKTHROUGH, "--username", "dave", "--password", "short", cwd=tmp_path, env=env, ok=False)
    assert short.returncode == 2 and len(short.error_lines) == 1 and "--password" in short.error_lines[0]
    args = ("--username", "erin", "--experiment-name", "erins_wine", "--alpha", "-1")
    negative = run_against(WALKTHROUGH, *args, cwd=tmp_path, env=env, ok=False)
    assert negative.returncode == 1 and len(negative.error_lines) == 1, negative.stderr
    assert negative.error_lines[0].startswith("error: ") and "'alpha'" in negative.error_lines[0]
    assert client.get_experiment_by_name("erins_wine") is None
    for name in ("dave", "erin"):  # no user was created
        found = requests.get(f"{basic_auth_server.url}/api/2.0/mlflow/users/get", params={"username": name},
                             auth=ADMIN, timeout=30)  # fmt: skip
        assert found.status_code == 404, (name, found.text)


def test_auth_server_needs_an_admin_password(tmp_path):
    result = run_against(SERVER, cwd=tmp_path, env={"MLFLOW_TRACKING_PASSWORD": "short"}, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1
    assert "MLFLOW_TRACKING_PASSWORD" in result.error_lines[0]


def test_auth_server_runs_a_command_against_itself(tmp_path):
    probe = (
        "import os, requests\n"
        "url = os.environ['MLFLOW_TRACKING_URI'] + '/api/2.0/mlflow/experiments/search'\n"
        "admin = (os.environ['MLFLOW_TRACKING_USERNAME'], os.environ['MLFLOW_TRACKING_PASSWORD'])\n"
        "codes = [requests.post(url, json={'max_results': 1}, auth=auth, timeout=30).status_code"
        " for auth in (None, admin)]\n"
        "print(*codes)\n"
    )
    example = script_path(SERVER).with_name(".env.example")  # the admin's credentials, as a learner copies them
    result = run_against(
        SERVER, "--env-file", str(example), "--", sys.executable, "-c", probe, cwd=tmp_path, env={}, timeout=300
    )
    assert "\n401 200\n" in result.stdout  # the command's own output: anonymous refused, the admin let in
    assert "command exited with status 0" in result.stdout
    # The server, its port and its temporary folder are gone once the command has ended.
    _, port, pid, folder = re.search(AUTH_READY, result.stdout).groups()
    assert_gone(int(pid))
    assert port_closed(int(port))
    assert not Path(folder).exists()
    # The taught settings are printed, the admin's password is not.
    assert "MLFLOW_AUTH_CONFIG_PATH=" in result.stdout
    assert 'MLFLOW_AUTH_ADMIN_PASSWORD="$MLFLOW_TRACKING_PASSWORD"' in result.stdout
    assert "local-admin-example" not in result.stdout  # .env.example's admin password
    assert "--app-name basic-auth" in result.stdout


def test_a_taken_port_is_refused_before_anything_starts(tmp_path, taken_port):
    env = {"MLFLOW_TRACKING_USERNAME": ADMIN[0], "MLFLOW_TRACKING_PASSWORD": ADMIN[1]}
    result = run_against(SERVER, "--port", str(taken_port), "--", "echo", "never", cwd=tmp_path, env=env, ok=False)
    assert_port_refused(result, taken_port)
    assert result.stdout == ""  # no folder made, no server, no command
    assert list(tmp_path.iterdir()) == []
