"""The fixtures a chapter's test asks for: the runner, the stores, ``run_script``.

Every test gets its own working folder and store, so the suite runs in parallel
(``pytest -n auto``). ``run_script`` runs an example as a learner does (each script once
per session as a real ``python path/to/script.py`` process, its other runs forked from a
warm interpreter: tests/_suite/README.md); the test then reads back what MLflow stored
(tests/harness.py) and compares it with what tests/reference.py computes on its own.

Loaded from here: the services a test can ask for (tests/services.py: tracking servers,
the model server, the PostgreSQL + S3 stack, the auth server, the AWS stand-in, a browser,
a taken port), and the suite's engine (tests/_suite/: the session's own checks and the
scheduler).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from pathlib import Path

import pytest

# This process too (its MlflowClient and model loads): set before anything imports MLflow.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

from _suite import runner as runner_module  # noqa: E402
from _suite.runner import SUITE_DIR_ENV, Runner, run_script_in  # noqa: E402
from harness import Store, make_store  # noqa: E402

pytest_plugins = ("_suite.session", "_suite.scheduler", "services")


# --- Running scripts --------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def runner(tmp_path_factory, pytestconfig):
    """This worker's runner (tests/_suite/runner.py): real or warm, with the checks every run gets."""
    suite_dir = Path(os.environ[SUITE_DIR_ENV])  # made by _suite/session.py's pytest_configure
    the_runner = Runner(tmp_path_factory.mktemp("runner"), suite_dir, warm_runs=not pytestconfig.getoption("no_warm"))
    runner_module.CURRENT = the_runner
    yield the_runner
    runner_module.CURRENT = None
    the_runner.close()


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """An empty SQLite store with MLflow's schema already migrated.

    Migrating a fresh store takes ~1.5 s; copying this file takes a millisecond.
    It is made in a folder of its own, so nothing resolves against the repository.
    """
    from mlflow import MlflowClient

    folder = tmp_path_factory.mktemp("template")
    path = folder / "mlflow.db"
    here = os.getcwd()
    os.chdir(folder)
    try:
        MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    finally:
        os.chdir(here)
    with contextlib.closing(sqlite3.connect(path)) as connection:
        [(location,)] = connection.execute("SELECT artifact_location FROM experiments WHERE experiment_id = 0")
    assert location.startswith(str(folder)), location
    return path


# --- Stores -----------------------------------------------------------------------------------


def activate(store: Store, monkeypatch) -> Store:
    """Give the test process the store's settings too (its MlflowClient needs the file-store opt-in)."""
    for key, value in store.env.items():
        monkeypatch.setenv(key, value)
    return store


@pytest.fixture
def store(tmp_path, migrated_db) -> Store:
    """A fresh, migrated SQLite store (MLflow 3's default backend)."""
    return make_store("sqlite", tmp_path, migrated_db)


def server_store(request, tmp_path) -> Store:
    service, root = request.getfixturevalue("worker_server")
    workdir = tmp_path / "work"
    workdir.mkdir()
    suffix = f"-{uuid.uuid4().hex[:8]}"
    return Store("server", service.url, workdir, suffix=suffix, artifacts_root=root / "mlartifacts")


@pytest.fixture(params=["mlruns", "sqlite", "server"])
def any_store(request, tmp_path, migrated_db, monkeypatch) -> Store:
    """The same test on the guide's ./mlruns file store, the default SQLite store and a tracking server."""
    if request.param == "server":
        return server_store(request, tmp_path)
    return activate(make_store(request.param, tmp_path, migrated_db), monkeypatch)


@pytest.fixture(scope="module", params=["mlruns", "sqlite", "server"])
def module_store(request, tmp_path_factory, migrated_db) -> Store:
    """Like ``any_store``, for a module-scoped fixture that runs a script once for several tests."""
    folder = tmp_path_factory.mktemp(f"{request.module.__name__}-{request.param}")
    if request.param == "server":
        yield server_store(request, folder)
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield activate(make_store(request.param, folder, migrated_db), monkeypatch)


@pytest.fixture(scope="module")
def chapter_store(request, tmp_path_factory, migrated_db) -> Store:
    """One SQLite store and working folder for a whole test module (its script runs, read by several tests)."""
    return make_store("sqlite", tmp_path_factory.mktemp(request.module.__name__), migrated_db)


@pytest.fixture
def file_store(tmp_path, migrated_db, monkeypatch) -> Store:
    """The legacy ./mlruns file store, with MLflow 3.13's opt-in set."""
    return activate(make_store("mlruns", tmp_path, migrated_db), monkeypatch)


# The store a test asks for is the one run_script points the script at.
STORE_FIXTURES = ("tracking_server_store", "any_store", "file_store", "store")


@pytest.fixture
def run_script(request, runner):
    """Run an example script against the test's store: ``run_script("01_tracking/x.py", "--alpha", "0.4")``.

    ``ok=True`` (default) asserts a zero exit; ``ok=False`` a non-zero one; the runner adds its
    checks (no deprecation on stderr, nothing written that .gitignore misses). ``env`` adds to
    (None: removes from) the script's environment; ``real=True`` forces a real process.
    """

    def run(relative: str, *args: str, **how):
        chosen = next((name for name in STORE_FIXTURES if name in request.fixturenames), "store")
        return run_script_in(request.getfixturevalue(chosen), relative, *args, **how)

    return run
