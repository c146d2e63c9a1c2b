"""Fixtures that start servers, shared by the server chapters' test modules.

Import them into a test module (``from servers_fixtures import tracking_server``)
or re-export them from conftest.py. Each server runs once per test module (its
startup takes seconds) and is stopped in the fixture's teardown, also when a
test fails.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import services
from harness import Store, make_store

from winelab.servers import Service, mlflow_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class TrackingServer:
    """A running ``mlflow server`` with SQLite metadata and proxied artifacts under ``root``."""

    service: Service
    root: Path

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def database(self) -> Path:
        return self.root / "mlflow.db"

    @property
    def artifacts(self) -> Path:
        """Where the server writes proxied artifacts (``mlflow-artifacts:/X`` is ``artifacts / X``)."""
        return self.root / "mlartifacts"

    @property
    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.url)

    def on_disk(self, artifact_uri: str) -> Path:
        prefix = "mlflow-artifacts:/"
        assert artifact_uri.startswith(prefix), f"not a proxied artifact URI: {artifact_uri}"
        return self.artifacts / artifact_uri[len(prefix) :].lstrip("/")


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory, migrated_db) -> TrackingServer:
    """One tracking server per test module (tests use their own experiment names)."""
    root = tmp_path_factory.mktemp("tracking-server")
    shutil.copyfile(migrated_db, root / "mlflow.db")  # skips the schema migration at startup
    # Without MLflow 3's GenAI job runner: five fewer Python processes, a faster start.
    with mlflow_server(root, env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}) as service:
        yield TrackingServer(service, root)


@pytest.fixture
def store(request, tmp_path, migrated_db) -> Store:
    """Like conftest's ``store``, but tests that also use ``tracking_server`` get the server as their store.

    So ``run_script`` runs a script with ``MLFLOW_TRACKING_URI=<server url>`` and ``store.client``
    talks REST to the server.
    """
    if "tracking_server" in request.fixturenames:
        server = request.getfixturevalue("tracking_server")
        workdir = tmp_path / "work"
        workdir.mkdir()
        return Store("server", server.url, workdir)
    return make_store("sqlite", tmp_path, migrated_db)


@pytest.fixture
def browser_page():
    """A page in headless Chromium, driven by Playwright.

    The browser: ``CHROMIUM`` (an executable), else Debian's ``chromium``, else the one
    ``playwright install chromium`` downloads; none of them: skipped (failed under CI) with a hint.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = services.chromium_executable()  # None: Playwright's own browser
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            if executable is not None or "Executable doesn't exist" not in str(error):
                raise
            browser = None  # Playwright's own browser was never downloaded
        services.require("a Chromium", browser is not None, services.CHROMIUM_HINT)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 800})
        finally:
            browser.close()
