"""The warm runner stands in for a real process: what a script sees, and how it ends, are the same.

Each check runs a probe script (tests/_suite/probes/) once as a real ``python probe.py``
process and once forked from the warm interpreter, and compares the two.
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest
from harness import clean_env

PROBES = Path(__file__).parent / "_suite" / "probes"


def both(runner, tmp_path, *args: str, env: dict | None = None):
    """The same run, real then warm, each in its own copy of the working folder."""
    results = {}
    for mode in ("real", "warm"):
        workdir = tmp_path / mode
        workdir.mkdir()
        results[mode] = runner.run(
            [str(PROBES / args[0]), *args[1:]],
            cwd=workdir,
            env=env or clean_env(),
            ok=None,
            real=(mode == "real"),
        )
    return results["real"], results["warm"]


def test_warm_child_sees_what_a_process_sees(runner, tmp_path):
    # One working folder for both, so paths compare equal.
    env = clean_env(MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db", WINELAB_PROBE="x y")
    seen = {}
    for real in (True, False):
        result = runner.run([str(PROBES / "fingerprint.py")], cwd=tmp_path, env=env, real=real)
        seen[real] = json.loads(result.stdout)
    real, warm = seen[True], seen[False]
    # MLflow puts a fresh telemetry session id into each process's environment (when telemetry is on).
    for process in (real, warm):
        process["env"].pop("_MLFLOW_TELEMETRY_SESSION_ID", None)
    differing = {key: (real[key], warm[key]) for key in real if real[key] != warm[key]}
    assert differing == {}
    assert real["argv"] == [str(PROBES / "fingerprint.py")]
    assert real["path"][0] == str(PROBES)
    assert real["cwd"] == str(tmp_path)
    assert real["env"]["WINELAB_PROBE"] == "x y"
    assert not any(key.startswith("PYTEST_") for key in real["env"]), "pytest's variables never reach a script"


@pytest.mark.parametrize(
    "mode, code",
    [
        ("exit2", 2),
        ("exit3", 3),
        ("exit-message", 1),
        ("raise", 1),
        ("keyboard", -signal.SIGINT),
        ("sigterm", -signal.SIGTERM),
        ("atexit", 0),
        ("thread", 0),
        ("run-example-ctrl-c", 130),
        ("stdin", 0),
        ("left-open", 0),
    ],
)
def test_warm_child_ends_like_a_process(runner, tmp_path, mode, code):
    real, warm = both(runner, tmp_path, "exits.py", mode)
    assert real.returncode == warm.returncode == code, (real, warm)
    assert real.stdout == warm.stdout
    # Tracebacks name the same lines (the warm child's starts at the script, as a real one does).
    assert re.sub(r"0x[0-9a-f]+", "", real.stderr) == re.sub(r"0x[0-9a-f]+", "", warm.stderr)
    if mode == "raise":
        assert warm.stderr.splitlines()[1].strip().startswith(f'File "{PROBES / "exits.py"}"'), warm.stderr
        assert warm.stderr.splitlines()[-1] == "ValueError: a bug"
    if mode == "exit-message":
        assert warm.stderr == "bye\n"
    if mode in ("atexit", "thread"):
        assert ("atexit ran" if mode == "atexit" else "thread done") in warm.stdout
    if mode == "stdin":
        assert warm.stdout.startswith("''\n"), "stdin is empty (/dev/null), not the runner's pipe"
    if mode == "left-open":  # what the interpreter finalizes at exit: the script's file and objects
        assert warm.stdout.endswith("finalized\n"), warm.stdout
        written = [(tmp_path / mode / "mlflow-left-open.log").read_text() for mode in ("real", "warm")]
        assert written == ["written, never closed\n"] * 2


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_from_outside_ends_both_alike(runner, tmp_path, sig):
    codes = []
    for real in (True, False):
        workdir = tmp_path / str(real)
        workdir.mkdir()
        process = runner.start([str(PROBES / "exits.py"), "wait-for-signal"], cwd=workdir, env=clean_env(), real=real)
        deadline = time.monotonic() + 60
        while "ready" not in process.stdout:
            assert process.poll() is None and time.monotonic() < deadline, process.describe()
            time.sleep(0.02)
        process.send_signal(sig)
        codes.append(runner.finish(process, ok=None).returncode)
    assert codes == [-sig, -sig]


@pytest.mark.parametrize("real", [True, False], ids=["real", "warm"])
def test_poll_sees_the_end_without_waiting(runner, tmp_path, real):
    """``poll()`` (what a test's wait-for-ready loop calls) reports a finished script, real or warm."""
    process = runner.start([str(PROBES / "exits.py"), "exit3"], cwd=tmp_path, env=clean_env(), real=real)
    deadline = time.monotonic() + 60
    while process.poll() is None:
        assert time.monotonic() < deadline, f"poll() never saw the end: {process.describe()}"
        time.sleep(0.02)
    assert process.returncode == 3
    assert runner.finish(process, ok=None).returncode == 3
