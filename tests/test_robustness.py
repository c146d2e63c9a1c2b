"""Robustness: parallel writers, Ctrl-C, failures inside a run, bad options, a dead server.

Every test checks that nothing was lost or left half-written, by reading the
store back through MLflow's API. Scripts are discovered by a glob, never
listed by hand; the few that cannot take part in a check are declared below
with a reason, and a stale declaration fails.

The bad-option sweep covers every numeric (and choice) option of every script,
found at collection time by introspecting each script's real ``argparse``
parser (``tests/_suite/introspection.py``: one driver process per test session runs
each script up to its argument parsing). Each
case then runs through the suite's runner like any other script run: forked
from the warm interpreter, exactly as ``python script.py --opt value`` in its
own working folder. The cases of a test worker share one empty SQLite store:
a case that leaves its file unchanged, byte for byte, recorded nothing; one
that changed it is read back through MLflow, and the store is reset.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

import pytest
from _suite import runner
from _suite.introspection import SCRIPTS, parsers
from harness import EXAMPLES, Store, clean_env, expected_metrics, make_store, script_path

from tools.demo import PLAN
from winelab.servers import free_port

TRACKED = "01_tracking/basic_regression_mlflow.py"
PARALLEL = 8


def relative(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def launch(relative_script: str, *args: str, cwd: Path, uri: str):
    """Start a script in the background through the suite's runner (warm: its own forked process)."""
    return runner.current().start(
        [str(script_path(relative_script)), *args], cwd=cwd, env=clean_env(MLFLOW_TRACKING_URI=uri)
    )


# --- Concurrency: many processes logging at once lose nothing ---------------------------------


def assert_parallel_runs_complete(client, alphas: list[float], experiment_name: str) -> None:
    experiment = client.get_experiment_by_name(experiment_name)
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], max_results=100)
    assert len(runs) == len(alphas), "one run per process, none lost and none duplicated"
    assert all(run.info.status == "FINISHED" and run.info.end_time for run in runs)
    by_alpha = {float(run.data.params["alpha"]): run for run in runs}
    assert sorted(by_alpha) == sorted(alphas)
    for alpha, run in by_alpha.items():
        assert run.data.params == {"alpha": str(alpha), "l1_ratio": "0.7"}
        expected = expected_metrics(alpha, 0.7)
        assert set(run.data.metrics) == set(expected)
        for name, value in expected.items():
            assert run.data.metrics[name] == pytest.approx(value, rel=1e-9), (alpha, name)
    models = client.search_logged_models(experiment_ids=[experiment.experiment_id], max_results=100)
    assert sorted(model.source_run_id for model in models) == sorted(run.info.run_id for run in runs)
    assert all(str(model.status).endswith("READY") for model in models)


def run_in_parallel(workdir: Path, uri: str, experiment_name: str) -> list[float]:
    """Start PARALLEL copies of the tracked script at once, all into ``uri`` and one new experiment."""
    alphas = [round(0.1 * (index + 1), 1) for index in range(PARALLEL)]
    name = ("--experiment-name", experiment_name)
    processes = [launch(TRACKED, "--alpha", str(alpha), *name, cwd=workdir, uri=uri) for alpha in alphas]
    assert len({process.pid for process in processes}) == PARALLEL, "each copy is a process of its own"
    results = [runner.current().finish(process, timeout=600) for process in processes]  # each must exit 0
    for result in results:
        assert "database is locked" not in result.stderr
    return alphas


def test_parallel_processes_into_one_sqlite_store(store):
    # All of them also race to create the same experiment: set_experiment must absorb that.
    alphas = run_in_parallel(store.workdir, store.uri, "experiment_1")
    assert_parallel_runs_complete(store.client, alphas, "experiment_1")
    db = Path(store.uri.removeprefix("sqlite:///"))
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_parallel_processes_into_one_tracking_server(worker_server, tmp_path):
    """The worker's shared tracking server (SQLite behind it, proxied artifacts), one new experiment."""
    from mlflow import MlflowClient

    service, _ = worker_server
    workdir = tmp_path / "work"
    workdir.mkdir()
    experiment_name = f"parallel-{tmp_path.name}"
    alphas = run_in_parallel(workdir, service.url, experiment_name)
    assert_parallel_runs_complete(MlflowClient(tracking_uri=service.url), alphas, experiment_name)
    assert not (workdir / "mlruns").exists(), "artifacts went through the server, not to the client's folder"


# --- Ctrl-C in the middle of a run ------------------------------------------------------------

# On PYTHONPATH, this folder's sitecustomize.py presses Ctrl-C inside log_model (see its docstring).
CTRL_C_IN_LOG_MODEL = Path(__file__).parent / "_suite" / "probes" / "ctrl_c_in_save_model"


def test_ctrl_c_inside_a_run_leaves_it_failed_not_running(store, run_script):
    """SIGINT while the model is being saved: exit 1, one line, the run ended FAILED, what was logged stays.

    The interruption comes at a known point (a start-up hook, not a poller racing the script), so the
    test is deterministic and never reads the SQLite file while the script writes it.
    """
    result = run_script(TRACKED, "--alpha", "0.3", ok=False, env={"PYTHONPATH": str(CTRL_C_IN_LOG_MODEL)})

    assert result.returncode == 1, result.stderr  # the script's own `sys.exit("interrupted")`
    assert result.error_lines == ["interrupted"], result.stderr
    [run] = store.runs("experiment_1")
    assert run.info.status in ("FAILED", "KILLED")
    assert run.info.end_time, "the run was ended, not abandoned"
    assert run.data.params == {"alpha": "0.3", "l1_ratio": "0.7"}
    expected = expected_metrics(0.3, 0.7)
    assert {name: run.data.metrics[name] for name in expected} == pytest.approx(expected, rel=1e-9)
    # The interruption came inside log_model: its LoggedModel exists, and does not claim to be complete.
    [model] = store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert model.source_run_id == run.info.run_id
    assert not str(model.status).endswith("READY"), model.status
    db = Path(store.uri.removeprefix("sqlite:///"))
    with contextlib.closing(sqlite3.connect(db)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


# --- An exception inside a run is recorded as a failure ---------------------------------------


def test_failure_inside_a_run_is_recorded_as_failed(store, run_script, tmp_path):
    """log_model cannot write (the artifact root lies under a regular file, which stops root too): FAILED."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where a folder should be\n")
    store.client.create_experiment("experiment_1", artifact_location=(blocker / "artifacts").as_uri())

    result = run_script(TRACKED, "--alpha", "0.2", ok=False)

    assert "Not a directory" in result.stderr or "NotADirectoryError" in result.stderr, result.stderr
    [run] = store.runs("experiment_1")
    assert run.info.status == "FAILED"
    assert run.info.end_time
    assert run.data.params == {"alpha": "0.2", "l1_ratio": "0.7"}, "what was logged before the failure stays"
    expected = expected_metrics(0.2, 0.7)
    assert {name: run.data.metrics[name] for name in expected} == pytest.approx(expected, rel=1e-9)
    models = store.client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert not any(str(model.status).endswith("READY") for model in models), "no model claims to be complete"


# --- Bad options: one line, non-zero exit, nothing recorded, for every option of every script --


def bad_option_params():
    """(script, option, argv) cases found at collection time by introspecting every script's parser."""
    try:
        found = parsers()
    except Exception as exc:  # surface it as a failing test, not a collection crash
        return [pytest.param("introspection", str(exc), [], id="introspection-failed")]
    params = []
    for script in SCRIPTS:
        name = relative(script)
        entry = found.get(name, {"error": "missing from the driver's answer", "invalid": {}})
        if entry["error"]:
            params.append(pytest.param(name, f"error: {entry['error']}", [], id=f"{name}::error"))
            continue
        cases = [(option, args) for option, argsets in entry["invalid"].items() for args in argsets]
        for option, args in [*cases, ("--no-such-option", ["--no-such-option"])]:
            params.append(pytest.param(name, option, args, id=f"{name}::{' '.join(args)}"))
    return params


@pytest.fixture(scope="module")
def untouched_store(tmp_path_factory, migrated_db):
    """One SQLite store for this worker's bad-option cases, and its bytes while it is empty.

    It holds only the Default experiment and no run (read back here through MLflow). A case whose
    script leaves the file byte for byte as it was has therefore recorded nothing; only a file
    that changed needs reading back, and is then reset for the next case.
    """
    from mlflow.entities import ViewType

    store = make_store("sqlite", tmp_path_factory.mktemp("bad-options"), migrated_db)
    assert [experiment.name for experiment in store.experiments(view_type=ViewType.ALL)] == ["Default"]
    assert store.all_runs() == []
    db = Path(store.uri.removeprefix("sqlite:///"))
    return store, db, db.read_bytes()


def assert_recorded_nothing(store: Store, db: Path, empty: bytes, shown: str) -> None:
    """The shared store holds no run and no experiment but Default; it is reset if the case wrote to it."""
    if db.read_bytes() != empty or any(db.parent.glob(db.name + "-*")):  # a write, or a journal left
        try:
            assert store.all_runs() == [], f"recorded a run: {shown}"
            made = [experiment.name for experiment in store.experiments()]
            assert made == ["Default"], f"made an experiment: {shown}"
        finally:
            db.write_bytes(empty)
            for journal in db.parent.glob(db.name + "-*"):
                journal.unlink()


@pytest.mark.parametrize("script, option, args", bad_option_params())
def test_invalid_option_fails_with_one_line_and_records_nothing(untouched_store, tmp_path, script, option, args):
    assert not option.startswith("error: "), f"cannot introspect {script}'s options: {option}"
    shared, db, empty = untouched_store
    store = Store("sqlite", shared.uri, tmp_path)  # the case's own, empty, working folder
    result = runner.run_script_in(store, script, *args, ok=False)  # a forked process, its checks included
    shown = f"{script} {' '.join(args)} -> exit {result.returncode}\n{result.stderr}"
    lines = result.error_lines
    assert len(lines) == 1, f"not one line: {shown}"
    assert option in lines[0], f"the message does not name {option}: {shown}"
    assert list(tmp_path.iterdir()) == [], f"wrote in its working folder: {shown}"
    assert_recorded_nothing(store, db, empty, shown)


# --- Bad data: a missing, corrupt or unreachable CSV gets one line, and nothing is recorded -----


def data_scripts() -> list[str]:
    """Every script with a ``--data`` option (its parser, introspected), read at collection time."""
    try:
        found = parsers()
    except Exception:  # the bad-option sweep reports the introspection failure
        return []
    return [relative(script) for script in SCRIPTS if "--data" in found.get(relative(script), {}).get("options", [])]


def bad_data(problem: str, folder: Path) -> str:
    """A ``--data`` value: a file that is not there, a download cut short, a server that is not there."""
    if problem == "missing":
        return str(folder / "no-such-winequality-red.csv")
    if problem == "truncated":
        import reference

        cut = folder / "winequality-red.csv"
        cut.write_bytes(reference.csv_path().read_bytes()[:150])  # the header line, cut off mid-name
        return str(cut)
    return f"http://127.0.0.1:{free_port()}/winequality-red.csv"


def test_the_data_sweep_covers_the_lessons():
    assert len(data_scripts()) >= 30, data_scripts()


def bad_data_params():
    """A missing and a cut-short file for every script; an unreachable URL for one (pandas reads URLs alike)."""
    scripts = data_scripts()
    params = [(script, problem) for script in scripts for problem in ("missing", "truncated")]
    return params + [(script, "unreachable") for script in scripts[:1]]


@pytest.mark.parametrize("script, problem", bad_data_params())
def test_bad_data_fails_with_one_line_and_records_nothing(untouched_store, tmp_path, script, problem):
    shared, db, empty = untouched_store
    workdir = tmp_path / "work"
    workdir.mkdir()
    store = Store("sqlite", shared.uri, workdir)
    data = bad_data(problem, tmp_path)
    args = list(plan_args(script))
    at = args.index("--") if "--" in args else len(args)  # a launcher's own options come before its command
    args[at:at] = ["--data", data]
    result = runner.run_script_in(store, script, *args, ok=False, timeout=60)
    shown = f"{script} --data {data} -> exit {result.returncode}\n{result.stderr}"
    assert result.returncode == 1, shown
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("error: "), shown
    if problem == "missing":
        assert data in result.error_lines[0], f"the message does not name the file: {shown}"
    assert list(workdir.iterdir()) == [], f"wrote in its working folder: {shown}"
    assert_recorded_nothing(store, db, empty, shown)


# --- A dead tracking server: a prompt one-line failure naming the URI -------------------------

# Scripts that never talk to the tracking server named by MLFLOW_TRACKING_URI,
# with the reason. Keep it minimal: every other script, including new ones, must
# fail fast against a dead server.
NOT_TRACKING: dict[str, str] = {
    "01_tracking/basic_regression.py": "the untracked baseline: no MLflow at all",
    "12_tracking_server/server.py": "starts its own tracking server; its URI is what it prints",
    "12_tracking_server/four_scenarios.py": "the lesson is four tracking URIs it sets itself, with its own servers",
    "13_serving/client.py": "talks to a model scoring server (--url), not to a tracking server",
    "14_remote_storage/stack.py": "starts its own PostgreSQL + S3 + tracking server stack",
    "15_auth/auth_server.py": "starts its own basic-auth tracking server",
    "17_sagemaker/deploy_sagemaker.py": (
        "refuses to start without its AWS options; its dead-server case runs inside aws_standin.py's demo step"
    ),
    "20_migration/migrate_store.py": "reads its own file store and writes its own SQLite file, both named explicitly",
}


def talks_to_tracking(script: Path) -> bool:
    return relative(script) not in NOT_TRACKING


def test_not_tracking_entries_are_real_scripts():
    for name, reason in NOT_TRACKING.items():
        assert (EXAMPLES / name).is_file(), f"stale NOT_TRACKING entry: {name}"
        assert reason.strip()


def plan_args(script: str) -> tuple[str, ...]:
    """The demo's arguments for ``script``: its own step's, or those its launcher's step hands it."""
    for step in PLAN:
        if step.script == script:
            return step.args
        path = str(EXAMPLES / script)
        if path in step.args:
            return step.args[step.args.index(path) + 1 :]
    return ()


DEAD_SERVER_SCRIPTS = [script for script in SCRIPTS if talks_to_tracking(script)]


@pytest.fixture(scope="module")
def dead_server_runs(tmp_path_factory):
    """Every tracking script started at once against one dead URL; the tests below each finish one.

    They spend their seconds waiting on MLflow's (capped) retries, so running them side by side
    costs the suite seconds, not minutes. Each has its own working folder.
    """
    url = f"http://127.0.0.1:{free_port()}"
    # Credentials too, so scripts that insist on them (chapter 15) get as far as the server.
    env = clean_env(MLFLOW_TRACKING_URI=url, MLFLOW_TRACKING_USERNAME="nobody", MLFLOW_TRACKING_PASSWORD="x" * 12)
    started = {}
    for script in DEAD_SERVER_SCRIPTS:
        workdir = tmp_path_factory.mktemp("dead-server")
        argv = [str(script), *plan_args(relative(script))]
        started[relative(script)] = (time.perf_counter(), runner.current().start(argv, cwd=workdir, env=env))
    yield url, started
    for _, process in started.values():  # a test that failed early leaves no process behind
        if process.poll() is None:
            process.kill()


@pytest.mark.parametrize("script", DEAD_SERVER_SCRIPTS, ids=relative)
def test_dead_server_fails_fast_with_one_line(script, dead_server_runs, record_property):
    url, started = dead_server_runs
    start, process = started[relative(script)]
    # ok=None: the exit code is checked below. The bound (60 s from the start, with all of them sharing
    # the CPU) enforces "seconds, not minutes": MLflow's own retries would take over 4 minutes.
    result = runner.current().finish(process, ok=None, timeout=max(1.0, 60 - (time.perf_counter() - start)))
    seconds = time.perf_counter() - start
    record_property("dead_server_seconds", round(seconds, 2))
    print(f"dead server: {relative(script)} gave up within {seconds:.1f} s")
    shown = f"exit {result.returncode} after {seconds:.1f} s\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode != 0, f"succeeded against a dead server (add it to NOT_TRACKING?): {shown}"
    assert len(result.error_lines) == 1, shown
    assert url in result.error_lines[0], shown
