"""Test harness: run example scripts as a learner does, then read back what MLflow stored.

Every test gets its own working folder and store, so the suite runs in parallel
(``pytest -n auto``). Scripts run through one runner (tests/runner.py): each
script once per session as a real ``python path/to/script.py`` process, its
other runs forked from a warm interpreter, all with the same checks.

The session also checks two things about itself, in the controlling process:
that every script under examples/ had a successful real run (when the whole
suite ran), and that the suite left nothing behind in the repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import pytest

# This process too (its MlflowClient and model loads): set before anything imports MLflow.
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"

import runner as runner_module  # noqa: E402
from harness import EXAMPLES, LAUNCHERS, REPO, Store, make_store
from runner import SUITE_DIR_ENV, Runner, read_ledger, run_script_in  # noqa: E402

# Left alone by the tree check: caches and the virtual environments the Makefile builds.
NOT_CHECKED = ("__pycache__", ".pytest_cache", ".ruff_cache")
ENVIRONMENTS = (".venv",)


# --- The session: its shared folder, the tree check and the real-run check -------------------


def tree_state() -> dict[str, tuple]:
    """Every file git does not track (ignored ones too) with its size and mtime, and the tracked changes."""
    import subprocess

    listed = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state: dict[str, tuple] = {}
    for entry in filter(None, listed.split("\0")):
        code, path = entry[:2], entry[3:]
        top = path.split("/", 1)[0]
        if top.startswith(ENVIRONMENTS) or any(part in NOT_CHECKED for part in path.split("/")):
            continue
        full = REPO / path
        if code in ("??", "!!"):
            files = [full] if not full.is_dir() else [p for p in full.rglob("*") if not p.is_dir()]
            for file in files:
                relative = file.relative_to(REPO).as_posix()
                if any(part in NOT_CHECKED for part in relative.split("/")):
                    continue
                stat = file.lstat()
                state[relative] = ("untracked", stat.st_size, stat.st_mtime_ns)
        else:
            stat = full.lstat() if full.exists() else None
            state[path] = (code, stat and stat.st_size, stat and stat.st_mtime_ns)
    return state


def is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_configure(config):
    # Scripts run as from a terminal, where Ctrl-C works. A shell without job control starts
    # background commands (`make test &`) with SIGINT ignored, and every process inherits
    # that: Python then installs no KeyboardInterrupt handler, and the Ctrl-C tests fail.
    # A handler (unlike "ignore") is reset to the default in every program this one starts.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if is_controller(config):
        suite_dir = Path(tempfile.mkdtemp(prefix="winelab-suite-"))
        os.environ[SUITE_DIR_ENV] = str(suite_dir)  # the xdist workers start after this and inherit it
        config.stash[SUITE] = (suite_dir, tree_state())


SUITE = pytest.StashKey[tuple]()


def whole_suite(config) -> bool:
    """True when this session ran every test: no selection by path, keyword, mark or last failure."""
    testpaths = {str(REPO / path) for path in config.getini("testpaths")}
    chosen = {str(Path(arg.split("::")[0]).resolve()) for arg in config.args}
    return (
        chosen <= testpaths | {str(REPO)}
        and not config.getoption("keyword")
        and not config.getoption("markexpr")
        and not config.getoption("lf", default=False)
        and not config.getoption("deselect", default=None)
    )


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not is_controller(config) or SUITE not in config.stash:
        return
    suite_dir, before = config.stash[SUITE]
    problems = []

    ledger = read_ledger(suite_dir)
    if whole_suite(config) and exitstatus != pytest.ExitCode.INTERRUPTED:
        scripts = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.glob("*/*.py") if p.name[0] != "_")
        real_ok = {entry["script"] for entry in ledger if entry["mode"] == "real" and entry["exit"] == 0}
        missing = [script for script in scripts if script not in real_ok]
        if missing:
            problems.append(f"no successful real `python script.py` run of: {', '.join(missing)}")
        # A lesson script's real run must be its standalone one: copied out, without winelab.
        standalone_ok = {entry["script"] for entry in ledger if entry["why"] == "standalone" and entry["exit"] == 0}
        not_copied = [script for script in scripts if script not in LAUNCHERS and script not in standalone_ok]
        if not_copied:
            problems.append(f"no successful standalone run (copied, no winelab) of: {', '.join(not_copied)}")

    after = tree_state()
    leaked = sorted(path for path, state in after.items() if before.get(path) != state)
    if leaked:
        problems.append(f"the suite left files in the repository: {', '.join(leaked[:20])}")

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and ledger:
        reasons = Counter(entry["why"].split(" ")[0] for entry in ledger if entry["mode"] == "real")
        real = sum(reasons.values())
        why = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
        reporter.write("\n")
        reporter.write_line(f"script runs: {real} real processes ({why}), {len(ledger) - real} warm (forked)")
    for problem in problems:
        if reporter is not None:
            reporter.write_line(f"SUITE CHECK FAILED: {problem}", red=True)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(suite_dir, ignore_errors=True)


def shared_setup_group(item) -> str | None:
    """The group of a test that uses a module-scoped fixture: its module, plus that fixture's params.

    A module-scoped fixture (a served model, a remote stack, a script run shared by several
    tests) runs once per worker that needs it, so its tests belong on one worker. Tests of the
    same module on different stores (``module_store``'s params) form different groups, and
    still spread over the workers.
    """
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is None:
        return None
    shared = sorted(name for name, defs in fixtureinfo.name2fixturedefs.items() if defs and defs[-1].scope == "module")
    if not shared:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "-".join([item.module.__name__, *(str(params[name]) for name in shared if name in params)])


def pytest_collection_modifyitems(config, items):
    """Each xdist worker writes down the groups of what it collected, for the scheduler below."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get(SUITE_DIR_ENV):
        groups = {item.nodeid: group for item in items if (group := shared_setup_group(item))}
        (Path(os.environ[SUITE_DIR_ENV]) / f"groups-{worker}.json").write_text(json.dumps(groups))


def pytest_xdist_make_scheduler(config, log):
    """xdist's ``load`` scheduling, but the tests of one shared-setup group go to one worker.

    (xdist's own ``--dist loadgroup`` marks do not reach its scheduler with pytest 9.)
    Groups are handed out first, largest first; every other test is a unit of its own.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    suite_dir = Path(os.environ[SUITE_DIR_ENV])

    class SharedSetupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # called once every worker has collected (and written its groups)
                self.groups = {}
                for path in suite_dir.glob("groups-*.json"):
                    self.groups.update(json.loads(path.read_text()))
            return self.groups.get(nodeid, nodeid)

    return SharedSetupScheduling(config, log)


# --- Running scripts --------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def runner(tmp_path_factory):
    """This worker's runner (tests/runner.py): real or warm, with the checks every run gets."""
    the_runner = Runner(tmp_path_factory.mktemp("runner"), Path(os.environ[SUITE_DIR_ENV]))  # pytest_configure's
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


@pytest.fixture(scope="session")
def worker_server(tmp_path_factory, migrated_db):
    """One tracking server per test worker (SQLite, proxied artifacts), started on first use.

    Tests share it and keep apart by experiment names (``Store.name``), never by restarting it.
    """
    from servers_fixtures import mlflow_server

    root = tmp_path_factory.mktemp("worker-server")
    shutil.copyfile(migrated_db, root / "mlflow.db")  # skips the schema migration at startup
    with mlflow_server(root) as service:
        yield service, root


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


@pytest.fixture
def file_store(tmp_path, migrated_db, monkeypatch) -> Store:
    """The legacy ./mlruns file store, with MLflow 3.13's opt-in set."""
    return activate(make_store("mlruns", tmp_path, migrated_db), monkeypatch)


# The store a test asks for is the one run_script points the script at.
STORE_FIXTURES = ("any_store", "file_store", "store")


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
