"""Fixtures and helpers for the server chapters: import them into a test module.

    from remote_fixtures import proxied_stack, run_against  # noqa: F401 (fixtures)

``proxied_stack``: PostgreSQL + SeaweedFS S3 + ``mlflow server`` (proxied
artifacts), started once per module and stopped afterwards, also on failure.
``basic_auth_server``: ``mlflow server --app-name basic-auth`` on SQLite.
``postgres``: skips (fails under CI) a test where PostgreSQL is missing (see services.py).
"""

from __future__ import annotations

import shlex
import socket
from pathlib import Path

import pytest
import runner
import services
from harness import Result, clean_env, script_path

from winelab.remote import Settings, auth_server, remote_stack

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


@pytest.fixture(scope="module")
def basic_auth_server(tmp_path_factory):
    with auth_server(tmp_path_factory.mktemp("auth"), *ADMIN) as server:
        yield server


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


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0
