"""Robustness: parallel writers, Ctrl-C, failures inside a run, bad options, a dead server.

Every test checks that nothing was lost or left half-written, by reading the
store back through MLflow's API (or, while a script is still running, by
peeking at the SQLite file directly). Scripts are discovered by a glob, never
listed by hand; the few that cannot take part in a check are declared below
with a reason, and a stale declaration fails.

The bad-option sweep covers every numeric (and choice) option of every script,
found by introspecting each script's real ``argparse`` parser. Starting a fresh
interpreter per case would cost ~2 s of imports each (hundreds of cases), so one
driver process imports everything once, then runs each case in a ``fork()``ed
child exactly as ``python script.py --opt value`` would (the script's own
``__main__`` guard, ``run_example`` and parser; stdout/stderr captured at the
file-descriptor level; its own working folder and fresh SQLite store). The
dead-server check, where timing and network behaviour matter, uses real fresh
processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from harness import EXAMPLES, Result, clean_env, expected_metrics, make_store, script_path

from winelab.demo import PLAN
from winelab.servers import free_port, mlflow_server

SCRIPTS = sorted(path for path in EXAMPLES.glob("*/*.py") if not path.name.startswith("_"))
TRACKED = "01_tracking/basic_regression_mlflow.py"
PARALLEL = 8


def relative(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def launch(relative_script: str, *args: str, cwd: Path, uri: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script_path(relative_script)), *args],
        cwd=cwd,
        env=clean_env(MLFLOW_TRACKING_URI=uri),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> Result:
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    return Result(process.returncode, stdout, stderr)


# --- Concurrency: many processes logging at once lose nothing ---------------------------------


def assert_parallel_runs_complete(client, alphas: list[float]) -> None:
    experiment = client.get_experiment_by_name("experiment_1")
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


def run_in_parallel(workdir: Path, uri: str) -> list[float]:
    """Start PARALLEL copies of the tracked script at once, all into ``uri`` (same experiment, new store)."""
    alphas = [round(0.1 * (index + 1), 1) for index in range(PARALLEL)]
    processes = [launch(TRACKED, "--alpha", str(alpha), cwd=workdir, uri=uri) for alpha in alphas]
    results = [finish(process) for process in processes]
    for alpha, result in zip(alphas, results, strict=True):
        assert result.returncode == 0, f"--alpha {alpha} failed:\n{result.stderr}"
        assert "database is locked" not in result.stderr
    return alphas


def test_parallel_processes_into_one_sqlite_store(store):
    # All of them also race to create the same experiment: set_experiment must absorb that.
    alphas = run_in_parallel(store.workdir, store.uri)
    assert_parallel_runs_complete(store.client, alphas)
    db = Path(store.uri.removeprefix("sqlite:///"))
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_parallel_processes_into_one_tracking_server(tmp_path):
    from mlflow import MlflowClient

    workdir = tmp_path / "work"
    workdir.mkdir()
    with mlflow_server(tmp_path / "server") as server:
        alphas = run_in_parallel(workdir, server.url)
        assert_parallel_runs_complete(MlflowClient(tracking_uri=server.url), alphas)
    assert not (workdir / "mlruns").exists(), "artifacts went through the server, not to the client's folder"


# --- Ctrl-C in the middle of a run ------------------------------------------------------------


def logged_metric_keys(db: Path) -> tuple[str | None, int]:
    """(status of the newest run, how many metric keys it has) read straight from the SQLite file."""
    # Closed at once (``with connection`` alone would keep it open), so the script's writers never wait on us.
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)) as connection:
            rows = connection.execute(
                "SELECT status, (SELECT COUNT(DISTINCT key) FROM metrics WHERE metrics.run_uuid = runs.run_uuid) "
                "FROM runs ORDER BY start_time DESC LIMIT 1"
            ).fetchall()
    except sqlite3.OperationalError:  # busy: a writer holds the lock right now
        return None, 0
    return (rows[0][0], rows[0][1]) if rows else (None, 0)


def test_ctrl_c_inside_a_run_leaves_it_failed_not_running(tmp_path, migrated_db):
    """SIGINT while the model is being logged: the run ends FAILED, params and metrics already logged stay."""
    for attempt in range(3):  # if the script wins the race and finishes first, try again
        (tmp_path / f"attempt{attempt}").mkdir()
        store = make_store("sqlite", tmp_path / f"attempt{attempt}", migrated_db)
        db = Path(store.uri.removeprefix("sqlite:///"))
        process = launch(TRACKED, "--alpha", "0.3", cwd=store.workdir, uri=store.uri)
        interrupted = False
        while process.poll() is None:
            status, metrics = logged_metric_keys(db)
            if status == "RUNNING" and metrics == 3:  # all metrics logged: now inside log_model
                process.send_signal(signal.SIGINT)
                interrupted = True
                break
            time.sleep(0.05)
        result = finish(process, timeout=120)
        if interrupted and result.returncode != 0:
            break
    else:
        pytest.fail("the script never stayed inside its run long enough to be interrupted")

    assert result.returncode == 130, result.stderr
    assert result.error_lines == ["interrupted"], result.stderr
    [run] = store.runs("experiment_1")
    assert run.info.status in ("FAILED", "KILLED")
    assert run.info.end_time, "the run was ended, not abandoned"
    assert run.data.params == {"alpha": "0.3", "l1_ratio": "0.7"}
    expected = expected_metrics(0.3, 0.7)
    assert {name: run.data.metrics[name] for name in expected} == pytest.approx(expected, rel=1e-9)
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone() == ("ok",)


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

SWEEP_DRIVER = r'''
import argparse, json, os, re, runpy, shutil, signal, sqlite3, sys, tempfile, time, traceback

request = json.load(sys.stdin)
EXAMPLES = request["examples"]
PROBES = ("-1", "0", "2", "70000", "nan")  # out-of-range candidates, tried in this order
COUNT = re.compile(r"--(n|num|number)[-_]|(count|runs|steps|epochs|trials|workers|jobs|folds|rows|cv)$")
REAL = argparse.ArgumentParser.parse_known_args


class Parsed(BaseException):
    def __init__(self, parser):
        self.parser = parser


def capture(self, args=None, namespace=None):
    raise Parsed(self)


def forget_example_modules():
    """Chapter helpers (``_options.py``...) of different chapters may share a name."""
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(EXAMPLES):
            del sys.modules[name]


def parser_of(script):
    """Run the script as __main__ up to its argument parsing; return its parser."""
    forget_example_modules()
    sys.argv, sys.path[0] = [script], os.path.dirname(script)
    argparse.ArgumentParser.parse_known_args = capture
    try:
        runpy.run_path(script, run_name="__main__")
    except Parsed as parsed:
        return parsed.parser, None
    except BaseException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        argparse.ArgumentParser.parse_known_args = REAL
    return None, "the script ended without parsing any arguments"


def accepts(action, text):
    try:
        value = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return False, None
    return (action.choices is None or value in action.choices), value


def invalid_values(parser):
    """{option: [invalid values]} for the numeric and choice options."""
    options = {}
    for action in parser._actions:
        names = [name for name in action.option_strings if name.startswith("--")]
        if not names or action.nargs == 0 or action.option_strings == ["-h", "--help"]:
            continue
        name = names[0]
        numeric = False
        for sample in ("1", "0.5"):
            ok, value = accepts(action, sample)
            numeric = numeric or (ok and isinstance(value, (int, float)) and not isinstance(value, bool))
        if numeric:
            values = ["abc"]
            out_of_range = next((probe for probe in PROBES if not accepts(action, probe)[0]), None)
            if out_of_range is not None:
                values.append(out_of_range)
            elif COUNT.search(name):
                values.append("0")  # a count of zero must be refused
        elif action.choices is not None:
            values = ["no-such-choice"]
        else:
            continue
        repeat = action.nargs if isinstance(action.nargs, int) else 1
        options[name] = [[name, *[value] * repeat] for value in values]
    return options


def run_case(script, args, template, timeout=60):
    root = tempfile.mkdtemp(prefix="case-")
    work, db = os.path.join(root, "work"), os.path.join(root, "mlflow.db")
    os.mkdir(work)
    shutil.copyfile(template, db)
    out, err = os.path.join(root, "stdout"), os.path.join(root, "stderr")
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: as if `python script.py *args` had started in `work`
        code = 1
        try:
            os.chdir(work)
            os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{db}"
            for fd, path in ((1, out), (2, err)):
                target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(target, fd)
                os.close(target)
            forget_example_modules()
            sys.argv, sys.path[0] = [script, *args], os.path.dirname(script)
            try:
                runpy.run_path(script, run_name="__main__")
                code = 0
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:
                    print(exc.code, file=sys.stderr)
            except BaseException:
                traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = start + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGTERM)
            time.sleep(5)
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code = "timeout"
            break
        time.sleep(0.005)
    with sqlite3.connect(db) as connection:
        runs = connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        experiments = connection.execute("SELECT COUNT(*) FROM experiments").fetchone()[0]
    case = {
        "args": args,
        "code": code,
        "stdout": open(out).read(),
        "stderr": open(err).read(),
        "runs": runs,
        "experiments": experiments,
        "created": sorted(os.listdir(work)),
        "seconds": round(time.perf_counter() - start, 3),
    }
    shutil.rmtree(root, ignore_errors=True)
    return case


results = {}
for script in request["scripts"]:
    parser, error = parser_of(script)
    entry = {"error": error, "options": {}}
    if parser is not None:
        entry["options"] = invalid_values(parser)
        if request["run"]:
            cases = {name: [run_case(script, args, request["template"]) for args in argsets]
                     for name, argsets in entry["options"].items()}
            cases["--no-such-option"] = [run_case(script, ["--no-such-option"], request["template"])]
            entry["cases"] = cases
    results[script] = entry
forget_example_modules()
print(json.dumps(results))
'''


def sweep(scripts: list[Path], *, run: bool, template: Path | None = None) -> dict:
    """Introspect (and with ``run``, execute the bad-option cases of) ``scripts`` in one driver process."""
    request = {
        "examples": str(EXAMPLES),
        "scripts": [str(script) for script in scripts],
        "run": run,
        "template": str(template) if template else None,
    }
    with tempfile.TemporaryDirectory(prefix="sweep-") as folder:
        env = clean_env(MLFLOW_TRACKING_URI=f"sqlite:///{folder}/introspection.db")
        completed = subprocess.run(
            [sys.executable, "-c", SWEEP_DRIVER],
            input=json.dumps(request),
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if completed.returncode:
        raise RuntimeError(f"sweep driver failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def bad_option_params():
    """(script, option) pairs found at collection time by introspecting every script's parser."""
    try:
        found = sweep(SCRIPTS, run=False)
    except Exception as exc:  # surface it as a failing test, not a collection crash
        return [pytest.param("introspection", str(exc), id="introspection-failed")]
    params = []
    for script in SCRIPTS:
        entry = found.get(str(script), {"error": "missing from the driver's answer", "options": {}})
        if entry["error"]:
            params.append(pytest.param(relative(script), f"error: {entry['error']}", id=f"{relative(script)}::error"))
            continue
        for option in [*entry["options"], "--no-such-option"]:
            params.append(pytest.param(relative(script), option, id=f"{relative(script)}::{option}"))
    return params


@pytest.fixture(scope="session")
def bad_option_results(migrated_db, tmp_path_factory):
    """Every script's bad-option cases, run once per test session (xdist workers share the answer)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp().parent  # this session's folder, common to all workers
        with open(shared / "bad-options.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker runs the sweep, the others wait and read it
            answer = shared / "bad-options.json"
            if not answer.exists():
                answer.write_text(json.dumps(sweep(SCRIPTS, run=True, template=migrated_db)))
            results = json.loads(answer.read_text())
    else:
        results = sweep(SCRIPTS, run=True, template=migrated_db)
    return {relative(Path(script)): entry for script, entry in results.items()}


@pytest.mark.parametrize("script, option", bad_option_params())
def test_invalid_option_fails_with_one_line_and_records_nothing(bad_option_results, script, option):
    assert not option.startswith("error: "), f"cannot introspect {script}'s options: {option}"
    entry = bad_option_results[script]
    assert not entry["error"], entry["error"]
    assert option in entry["cases"], f"{option} is not an option of {script} any more"
    for case in entry["cases"][option]:
        shown = f"{script} {' '.join(case['args'])} -> exit {case['code']}\n{case['stderr']}"
        assert case["code"] not in (0, "timeout"), f"accepted: {shown}"
        lines = [line for line in case["stderr"].splitlines() if line.strip() and " INFO " not in line]
        assert len(lines) == 1, f"not one line: {shown}"
        assert option in lines[0], f"the message does not name {option}: {shown}"
        assert case["runs"] == 0 and case["experiments"] == 1, f"recorded something: {shown}"
        assert case["created"] == [], f"wrote {case['created']} in its working folder: {shown}"


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
}


def talks_to_tracking(script: Path) -> bool:
    return relative(script) not in NOT_TRACKING


def test_not_tracking_entries_are_real_scripts():
    for name, reason in NOT_TRACKING.items():
        assert (EXAMPLES / name).is_file(), f"stale NOT_TRACKING entry: {name}"
        assert reason.strip()


def plan_args(script: str) -> tuple[str, ...]:
    return next((step.args for step in PLAN if step.script == script), ())


@pytest.mark.parametrize("script", [s for s in SCRIPTS if talks_to_tracking(s)], ids=relative)
def test_dead_server_fails_fast_with_one_line(script, tmp_path, record_property):
    url = f"http://127.0.0.1:{free_port()}"
    args = plan_args(relative(script))
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        # Credentials too, so scripts that insist on them (chapter 15) get as far as the server.
        env=clean_env(MLFLOW_TRACKING_URI=url, MLFLOW_TRACKING_USERNAME="nobody", MLFLOW_TRACKING_PASSWORD="x" * 12),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    record_property("dead_server_seconds", round(seconds, 2))
    print(f"dead server: {relative(script)} gave up after {seconds:.1f} s")
    result = Result(completed.returncode, completed.stdout, completed.stderr)
    shown = f"exit {result.returncode} after {seconds:.1f} s\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode != 0, f"succeeded against a dead server (add it to NOT_TRACKING?): {shown}"
    assert len(result.error_lines) == 1, shown
    assert url in result.error_lines[0], shown
