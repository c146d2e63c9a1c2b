"""Fixtures and helpers for the server chapters: import them into a test module.

    from remote_fixtures import proxied_stack, run_against  # noqa: F401 (fixtures)

``proxied_stack``: PostgreSQL + SeaweedFS S3 + ``mlflow server`` (proxied
artifacts), started once per module and stopped afterwards, also on failure.
``basic_auth_server``: chapter 15's ``auth_server.py`` (``mlflow server --app-name
basic-auth`` on SQLite) for the module, stopped at the end with a plain ``kill``.
``postgres``: skips (fails under CI) a test where PostgreSQL is missing (see services.py).
"""

from __future__ import annotations

import shlex
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest
import runner
import services
from harness import Result, clean_env, script_path
from servers_fixtures import assert_gone, kill_leftovers, port_closed, start_script, stop_script

from winelab.remote import Settings, remote_stack

# Obviously local, test-only values (the stack binds to 127.0.0.1 and is deleted afterwards).
TEST_SETTINGS = Settings(
    pg_user="mlflow_test",
    pg_password="test-postgres-password",
    pg_database="mlflow_test",
    s3_access_key="test-access-key",
    s3_secret_key="test-secret-key",
    bucket="winelab-test",
)
ADMIN = ("admin", "test-admin-password")


@pytest.fixture(scope="module")
def proxied_stack(tmp_path_factory):
    services.require_postgres()  # skipped with a hint where PostgreSQL is missing (failed under CI)
    with remote_stack(tmp_path_factory.mktemp("stack") / "state", TEST_SETTINGS) as stack:
        yield stack


@pytest.fixture(scope="session")
def postgres() -> None:
    """For a test that starts PostgreSQL itself: skipped with a hint where it is missing (failed under CI)."""
    services.require_postgres()


@dataclass
class AuthServer:
    url: str
    pid: int  # the mlflow server's (its process group)
    folder: Path  # the script's temporary folder: ini file, users database, store


AUTH_READY = r"--app-name basic-auth at (http://127\.0\.0\.1:(\d+)) \(pid (\d+)\).*\n +data in (\S+)"


@pytest.fixture(scope="module")
def basic_auth_server(tmp_path_factory):
    """``auth_server.py`` with the admin ``ADMIN``; a plain ``kill`` at the end must leave nothing behind."""
    cwd = tmp_path_factory.mktemp("auth")
    env = clean_env(MLFLOW_TRACKING_USERNAME=ADMIN[0], MLFLOW_TRACKING_PASSWORD=ADMIN[1])
    started = start_script("15_auth/auth_server.py", cwd=cwd, env=env, ready=AUTH_READY)
    url, port, pid, folder = started.ready.groups()
    pid = int(pid)
    try:
        yield AuthServer(url, pid, Path(folder))
        result = stop_script(started, signal.SIGTERM)  # `kill <pid>`: the leak the issue reported
        assert "interrupted" in result.stdout and "server stopped" in result.stdout
        assert_gone(pid)  # mlflow server and its uvicorn
        assert port_closed(int(port))
        assert not Path(folder).exists(), "the temporary folder (ini, users database, store) is deleted"
    finally:
        if started.process.poll() is None:
            started.process.kill()
        kill_leftovers(pid)


def run_against(
    relative: str, *args: str, cwd: Path, env: dict[str, str], ok: bool = True, timeout: float = 180
) -> Result:
    """Run an example script through the suite's runner with ``env`` (MLFLOW_* from the caller are dropped)."""
    return runner.current().run(
        [str(script_path(relative)), *args], cwd=cwd, env=clean_env(**env), ok=ok, timeout=timeout
    )


def parse_exports(text: str) -> dict[str, str]:
    """``export KEY=value`` lines (as ``stack.py env`` prints them) -> dict."""
    found = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            found[key] = shlex.split(value)[0]
    return found
