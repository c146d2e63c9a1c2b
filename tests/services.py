"""The services a test can ask for, by fixture name, and how the tests start, stop and check them.

Loaded by tests/conftest.py (``pytest_plugins``): a test module names a fixture as a
parameter and never imports or re-assigns it. Each service binds to 127.0.0.1 on a free
port, runs once per module (or per worker) because its start-up takes seconds, and is
stopped in the fixture's teardown, also when a test fails; the teardown then checks that
nothing of it is left (no process of its group, the port closed).

- ``worker_server``: the suite's own ``mlflow server`` (SQLite, proxied artifacts), one per
  xdist worker, behind conftest's ``any_store``/``module_store`` "server" variant;
- ``tracking_server`` and ``tracking_server_store``: chapter 12's ``server.py`` for the module,
  and a store that is that server (``run_script`` then points scripts at it);
- ``proxied_stack``: chapter 14's PostgreSQL + SeaweedFS S3 + ``mlflow server``;
- ``basic_auth_server``: chapter 15's ``auth_server.py``;
- ``browser_page``: a page in headless Chromium;
- ``taken_port``: a port held by another program (a bare socket, or an HTTP server answering 200);
- ``postgres``: for a test that starts PostgreSQL itself (``require_java()`` does the same
  for chapter 21's Spark tests).

Where a system service (PostgreSQL, Chromium, Java) is missing, the test is skipped with a
one-line reason naming what to install; under ``CI=true`` it fails with that line instead,
because CI proves every chapter. The helpers below (``start_script``, ``stop_script``,
``assert_gone``, ``assert_port_refused``, ...) are what a chapter's own server fixture uses
(test_13's model server, test_17's AWS stand-in).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
from _suite import runner
from harness import Result, Store, clean_env, script_path

from tools import screenshots
from tools.demo import java_found
from tools.screenshots import CHROMIUM_ARGS
from winelab.errors import UserError
from winelab.remote import Settings, pg_bin, remote_stack
from winelab.servers import NO_JOB_RUNNER, Service, background, free_port, taken_message

# --- What a test needs installed beyond requirements.txt ----------------------------------------

POSTGRES_HINT = (
    "`sudo make system-deps` (Debian/Ubuntu) or `brew install postgresql@16` with its bin folder on PATH (macOS)"
)
CHROMIUM_HINT = (
    "`sudo make system-deps` (Debian/Ubuntu) or `.venv/bin/playwright install chromium` (macOS, no root), "
    "or set CHROMIUM to a Chromium executable"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(what: str, found: bool, hint: str) -> None:
    """Skip the test (fail it under ``CI=true``) unless ``found``: ``needs <what>; install: <hint>``."""
    if found:
        return
    message = f"needs {what}; install: {hint}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def postgres_found() -> bool:
    """PostgreSQL's tools, looked up exactly as winelab.remote starts the cluster."""
    try:
        pg_bin("initdb")
        pg_bin("pg_ctl")
    except UserError:
        return False
    if os.geteuid() == 0:  # root runs them as the postgres user (runuser -u postgres)
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return shutil.which("runuser") is not None
    return True


JAVA_HINT = "`sudo make system-deps` (Debian/Ubuntu: openjdk-17-jre-headless), or set JAVA_HOME to a Java 17"


def require_java() -> None:
    """Java looked up as the demo does (``tools.demo.java_found``)."""
    require("Java 17 for Spark", java_found(), JAVA_HINT)


def require_postgres() -> None:
    require("PostgreSQL (initdb, pg_ctl)", postgres_found(), POSTGRES_HINT)


def chromium_executable() -> str | None:
    """The browser to launch: ``CHROMIUM`` if set, else Debian's ``chromium``; None: Playwright's own.

    The lookup is ``make screenshots``'s; a ``CHROMIUM`` that is not an executable file skips
    (or fails) the test rather than being ignored.
    """
    try:
        return screenshots.chromium_executable()
    except UserError:
        require(f"a Chromium at CHROMIUM={os.environ['CHROMIUM']}", False, CHROMIUM_HINT)


@pytest.fixture(scope="session")
def postgres() -> None:
    """For a test that starts PostgreSQL itself: skipped with a hint where it is missing (failed under CI)."""
    require_postgres()


# --- Processes: what is alive, what listens ------------------------------------------------------


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def group_members(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, ProcessLookupError):
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process.pid)
    return members


def assert_gone(pid: int, timeout: float = 15) -> None:
    """A server process (a group leader) and every process of its group have exited."""
    deadline = time.monotonic() + timeout
    while (alive(pid) or group_members(pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(pid), f"server process {pid} is still running"
    assert group_members(pid) == [], f"processes of the server's group are still running: {group_members(pid)}"


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def listeners(port: int) -> set[int]:
    """The processes listening on TCP ``port``."""
    return {
        connection.pid
        for connection in psutil.net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port
    }


def started_with_port(port: int) -> list[str]:
    """Command lines of running processes that were given ``port`` (``--port N``, ``-s3.port=N``, ...)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if re.search(rf"port[ =]{port}\b", line):
            found.append(line)
    return found


def kill_leftovers(pid: int) -> None:
    """Belt and braces after a failed test: no server group outlives the module."""
    if group_members(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


# --- A chapter's server script, kept running -----------------------------------------------------


@dataclass
class Started:
    """A server script running in its own session; ``ready`` is the match of its ready line."""

    process: runner.Process
    output: Path
    ready: re.Match

    @property
    def text(self) -> str:
        return self.output.read_text(errors="replace")


def start_script(
    relative: str, *args: str, cwd: Path, env: dict[str, str], ready: str, timeout: float = 240
) -> Started:
    """Start ``examples/<relative>`` (stdout and stderr to one file) and wait until its output matches ``ready``."""
    output = cwd.parent / f"{cwd.name}-{Path(relative).stem}.out"  # outside the script's working folder
    process = runner.current().start(
        [str(script_path(relative)), *args],
        cwd=cwd,
        env=env,
        stdout=output,
        merge_stderr=True,
        new_session=True,
        claim=True,
    )
    deadline = time.monotonic() + timeout
    while not (match := re.search(ready, output.read_text(errors="replace"))):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{relative} never printed {ready!r}:\n{output.read_text(errors='replace')}")
        time.sleep(0.2)
    return Started(process, output, match)


def stop_script(started: Started, sig: int, *, group: bool = False) -> Result:
    """Send ``sig`` to the script (``group``: to its whole process group, as a terminal's Ctrl-C does).

    Then it must exit 0 (checked like every run) after stopping what it started.
    """
    if group:
        os.killpg(started.process.pid, sig)
    else:
        started.process.send_signal(sig)
    return runner.current().finish(started.process, timeout=90)


def run_against(
    relative: str, *args: str, cwd: Path, env: dict[str, str], ok: bool = True, timeout: float = 180
) -> Result:
    """Run an example script through the suite's runner with ``env`` (MLFLOW_* from the caller are dropped)."""
    return runner.current().run(
        [str(script_path(relative)), *args], cwd=cwd, env=clean_env(**env), ok=ok, timeout=timeout
    )


# --- A taken port --------------------------------------------------------------------------------


class _Answer200(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's hook
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args):
        pass


@pytest.fixture(params=["bare-socket", "http-200"])
def taken_port(request) -> Iterator[int]:
    """A port on 127.0.0.1 held by this process: a listening socket that never answers, or an HTTP server
    answering 200 to every GET (so ``/health`` and ``/ping`` look fine)."""
    if request.param == "bare-socket":
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            yield sock.getsockname()[1]
        return
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer200)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def assert_port_refused(result: Result, port: int) -> None:
    """One line naming the port and what to do, exit 1, and nothing started on that port."""
    assert result.returncode == 1, result.stderr
    assert result.error_lines == [f"error: {taken_message(port)}"], result.stderr
    assert "--port" in result.error_lines[0] and str(port) in result.error_lines[0]
    assert listeners(port) == {os.getpid()}, "only the test's own holder listens there"
    assert started_with_port(port) == [], "no server was started for that port"


# --- Tracking servers: the suite's own, and chapter 12's server.py ------------------------------


@contextlib.contextmanager
def mlflow_server(root: Path) -> Iterator[Service]:
    """``mlflow server`` on a free port: SQLite ``root/mlflow.db``, proxied artifacts in ``root/mlartifacts``."""
    root = Path(root).resolve()
    port = free_port()
    command = ["mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
    command += ["--artifacts-destination", str(root / "mlartifacts")]
    with background("mlflow server", command, port=port, workdir=root, env=NO_JOB_RUNNER) as service:
        yield service


@pytest.fixture(scope="session")
def worker_server(tmp_path_factory, migrated_db):
    """One tracking server per test worker (SQLite, proxied artifacts), started on first use.

    Tests share it and keep apart by experiment names (``Store.name``), never by restarting it.
    """
    root = tmp_path_factory.mktemp("worker-server")
    shutil.copyfile(migrated_db, root / "mlflow.db")  # skips the schema migration at startup
    with mlflow_server(root) as service:
        yield service, root


@dataclass
class TrackingServer:
    """A running ``server.py``: ``mlflow server`` with SQLite metadata and proxied artifacts under ``root``."""

    url: str
    pid: int  # the mlflow server's (its process group)
    root: Path

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


SERVER_READY = r"ready at (http://127\.0\.0\.1:\d+) \(pid (\d+)\)"


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory, migrated_db) -> Iterator[TrackingServer]:
    """Chapter 12's ``server.py`` for the whole module; at the end a plain ``kill`` (SIGTERM) must stop it cleanly."""
    work = tmp_path_factory.mktemp("tracking-server")
    cwd = work / "cwd"
    cwd.mkdir()
    root = cwd / "mlflow-server"  # the script's default --dir (git-ignored, as a learner's run in the repo needs)
    root.mkdir()
    shutil.copyfile(migrated_db, root / "mlflow.db")  # skips the schema migration at startup
    started = start_script("12_tracking_server/server.py", cwd=cwd, env=clean_env(), ready=SERVER_READY)
    url, pid = started.ready.group(1), int(started.ready.group(2))
    try:
        yield TrackingServer(url, pid, root)
        result = stop_script(started, signal.SIGTERM)
        assert "interrupted" in result.stdout and "server stopped" in result.stdout
        assert_gone(pid)
        assert port_closed(int(url.rsplit(":", 1)[1]))
    finally:
        if started.process.poll() is None:
            started.process.kill()
        kill_leftovers(pid)


@pytest.fixture
def tracking_server_store(tracking_server, tmp_path) -> Store:
    """The module's ``server.py`` as the test's store: ``run_script`` runs a script with
    ``MLFLOW_TRACKING_URI=<server url>``, and ``store.client`` talks REST to the server."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    return Store("server", tracking_server.url, workdir)


# --- Chapter 14's PostgreSQL + S3 + mlflow server ------------------------------------------------


# Obviously local, test-only values (the stack binds to 127.0.0.1 and is deleted afterwards).
TEST_SETTINGS = Settings(
    pg_user="mlflow_test",
    pg_password="test-postgres-password",
    pg_database="mlflow_test",
    s3_access_key="test-access-key",
    s3_secret_key="test-secret-key",
    bucket="winelab-test",
)


@pytest.fixture(scope="module")
def proxied_stack(tmp_path_factory):
    require_postgres()  # skipped with a hint where PostgreSQL is missing (failed under CI)
    with remote_stack(tmp_path_factory.mktemp("stack") / "state", TEST_SETTINGS) as stack:
        yield stack


def parse_exports(text: str) -> dict[str, str]:
    """``export KEY=value`` lines (as ``stack.py env`` prints them) -> dict."""
    found = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            found[key] = shlex.split(value)[0]
    return found


# --- Chapter 15's auth server --------------------------------------------------------------------


@dataclass
class AuthServer:
    url: str
    pid: int  # the mlflow server's (its process group)
    folder: Path  # the script's temporary folder: ini file, users database, store


ADMIN = ("admin", "test-admin-password")  # the auth server's admin, as auth_server.py is told
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


# --- A browser -----------------------------------------------------------------------------------


@pytest.fixture
def browser_page():
    """A page in headless Chromium, driven by Playwright.

    The browser: ``CHROMIUM`` (an executable), else Debian's ``chromium``, else the one
    ``playwright install chromium`` downloads; none of them: skipped (failed under CI) with a hint.
    """
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()  # None: Playwright's own browser
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            if executable is not None or "Executable doesn't exist" not in str(error):
                raise
            browser = None  # Playwright's own browser was never downloaded
        require("a Chromium", browser is not None, CHROMIUM_HINT)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 800})
        finally:
            browser.close()
