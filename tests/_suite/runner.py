"""The one way the tests run an example script: as a real process, or forked from a warm interpreter.

Every run, whichever way it goes, gets the same checks: the exit code the
test expects, no deprecation on stderr, and nothing written in its working
folder that ``.gitignore`` would let into ``git status``.

*Real*: ``python path/to/script.py args`` in a new process, as a learner runs it.
*Warm*: the same argv, working folder, environment, ``sys.path[0]``, stdin and
output files, but forked from ``tests/_suite/warm.py``, which imported MLflow,
scikit-learn and pandas once (see its docstring). That saves the 2-4 s of
imports each script spends before doing any work.

Which one: every script is run for real at least once per test session. The
first successful-looking run of a script (``ok=True``) anywhere in the session
claims that real run (a file created with ``O_EXCL`` in the session folder,
shared by the xdist workers); other runs are warm. A lesson script's real run is
*standalone*: its copy in a copy of ``examples/`` made outside the repository, run by
an interpreter that has every installed package but cannot import ``winelab`` (see
:meth:`Runner.standalone`), with ``-s`` and without ``PYTHONPATH``: exactly what a
learner who copied the chapter folder runs, checked by the test that asked for it. A
launcher (a script that starts services, and may use ``winelab``) runs for real from
the repository. A run whose environment
changes what the interpreter or MLflow read at start-up (``PYTHON*``, locale,
logging and thread settings) always runs for real, so the warm child never
differs from the process it stands for. Each run is written to the session's
ledger; at the end of a full session conftest.py fails the suite if any
script under ``examples/`` had no successful real run.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path

from harness import DEPRECATION, EXAMPLES, LAUNCHERS, Result, clean_env, not_ignored, script_path

WARM = Path(__file__).with_name("warm.py")
SUITE_DIR_ENV = "WINELAB_SUITE_DIR"

# Read by the interpreter, numpy/BLAS or MLflow while importing, before any script line runs:
# a run that sets them differently from the warm interpreter must start fresh.
STARTUP_PREFIXES = ("PYTHON", "LC_", "OPENBLAS_", "OMP_", "MKL_", "GIT_PYTHON_")
STARTUP_NAMES = {
    "LANG",
    "LANGUAGE",
    "HOME",
    "TZ",
    "MPLBACKEND",
    "MPLCONFIGDIR",
    "MLFLOW_CONFIGURE_LOGGING",
    "MLFLOW_LOGGING_LEVEL",
}


def startup_settings(env: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in env.items() if key.startswith(STARTUP_PREFIXES) or key in STARTUP_NAMES}


class WarmInterpreter:
    """``tests/_suite/warm.py`` running in the background: forks a child per request."""

    def __init__(self, log: Path, env: dict[str, str]):
        self.env = env
        self.log = open(log, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(WARM)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=self.env,
            cwd=log.parent,
        )
        self._buffer = b""
        self._exits: dict[int, int] = {}
        self._started: dict[str, int] = {}
        ready = self._next_message(timeout=180)
        assert ready is not None and "ready" in ready, f"warm interpreter did not start; see {log}"

    def _next_message(self, timeout: float | None) -> dict | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._buffer:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.process.stdout], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"the warm interpreter exited ({self.process.poll()}); see {self.log.name}")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        message = json.loads(line)
        if "exit" in message:
            self._exits[message["pid"]] = message["exit"]
        elif "token" in message:
            self._started[message["token"]] = message["pid"]
        return message

    def spawn(self, request: dict) -> int:
        token = os.urandom(8).hex()
        self.process.stdin.write((json.dumps({**request, "token": token}) + "\n").encode())
        self.process.stdin.flush()
        while token not in self._started:
            if self._next_message(timeout=60) is None:
                raise RuntimeError("the warm interpreter did not fork in 60 s")
        return self._started.pop(token)

    def exit_code(self, pid: int, timeout: float | None) -> int | None:
        """The child's exit code once it has ended; None if it is still running after ``timeout``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while pid not in self._exits:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            # With timeout=0 (poll) this still reads what has already arrived.
            if self._next_message(timeout=remaining) is None:
                return None
        return self._exits.pop(pid)

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.log.close()


class Process:
    """A started script, real or warm, with ``subprocess.Popen``'s few methods the tests use."""

    def __init__(self, mode: str, pid: int, stdout: Path, stderr: Path, argv: list[str], cwd: Path, before: set):
        self.mode, self.pid, self.argv, self.cwd = mode, pid, argv, cwd
        self.why = ""  # why a run is real (the ledger's)
        self.script = ""  # the ledger's name for it: examples/-relative for a script, even a copied one
        self.stdout_path, self.stderr_path = stdout, stderr
        self.returncode: int | None = None
        self._before = before
        self._popen: subprocess.Popen | None = None
        self._warm: WarmInterpreter | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._popen.poll() if self._popen else self._warm.exit_code(self.pid, timeout=0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """The exit code, as ``Popen.wait``: ``subprocess.TimeoutExpired`` if still running after ``timeout``."""
        if self.returncode is None:
            if self._popen:
                self.returncode = self._popen.wait(timeout=timeout)
            else:
                self.returncode = self._warm.exit_code(self.pid, timeout)
                if self.returncode is None:
                    raise subprocess.TimeoutExpired(self.argv, timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)
        if self._popen:
            self._popen.wait()
        else:
            self.returncode = self._warm.exit_code(self.pid, timeout=30)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def describe(self) -> str:
        shown = " ".join(self.argv)
        return f"{shown} ({self.mode})\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@dataclass
class Runner:
    """One per test worker: starts scripts, checks every run, keeps the session's ledger."""

    scratch: Path  # this worker's folder for output files and the warm interpreter's log
    suite_dir: Path  # shared by all workers of the session: claims and ledger
    warm_runs: bool = True  # False (pytest --no-warm): every run a real process, to compare

    def __post_init__(self):
        # The warm interpreter's environment: the session's, as it was when the runner was made
        # (a test's monkeypatched variables must not leak into it).
        self.base_env = clean_env()
        self._warm: WarmInterpreter | None = None
        self._standalone: tuple[str, Path] | None = None
        self._count = 0
        (self.suite_dir / "real").mkdir(parents=True, exist_ok=True)

    # -- choosing real or warm -----------------------------------------------------------------

    def _claim_real_run(self, script: str) -> bool:
        marker = self.suite_dir / "real" / hashlib.sha1(script.encode()).hexdigest()
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def _mode(
        self, argv: list[str], env: dict[str, str], real: bool | None, claim: bool, standalone: bool
    ) -> tuple[str, str]:
        """``("real" or "warm", why)``: why a run is real goes into the ledger (``make bench`` counts them)."""
        if standalone:
            return "real", "standalone"
        if real:
            return "real", "asked"
        if real is None and claim and argv[0].startswith(str(EXAMPLES)) and self._claim_real_run(argv[0]):
            return "real", "first" if Path(argv[0]).relative_to(EXAMPLES).as_posix() in LAUNCHERS else "standalone"
        ours, base = startup_settings(env), startup_settings(self.base_env)
        if ours != base:
            changed = sorted(key for key in ours.keys() | base.keys() if ours.get(key) != base.get(key))
            return "real", "start-up-settings " + ",".join(changed)
        if not self.warm_runs:
            return "real", "no-warm"
        return "warm", ""

    def standalone(self) -> tuple[str, Path]:
        """``(python, examples copy)``, made on first use: where a lesson script runs as a learner's copy.

        The interpreter is a venv whose only link to the project's venv is a ``.pth`` line naming
        its site-packages: every installed package imports, but the editable install's own
        ``.pth`` (the one that puts ``src/`` on the path) is never processed, so ``winelab`` does
        not. The copy of ``examples/`` keeps the folder's name, so a path's tail reads the same.
        """
        if self._standalone is None:
            root = self.scratch / "standalone"
            venv = root / "venv"
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
            python = str(venv / "bin" / "python")
            ask = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
            site = subprocess.run([python, "-c", ask], capture_output=True, text=True, check=True).stdout.strip()
            ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
            (Path(site) / "project_packages.pth").write_text("\n".join(ours) + "\n")
            copy = root / "elsewhere" / "examples"
            shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("__pycache__"))
            self._standalone = (python, copy)
        return self._standalone

    @property
    def warm(self) -> WarmInterpreter:
        if self._warm is None:
            self._warm = WarmInterpreter(self.scratch / "warm.log", self.base_env)
        return self._warm

    # -- starting and finishing ----------------------------------------------------------------

    def start(
        self,
        argv: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        real: bool | None = None,
        claim: bool = False,
        stdout: Path | None = None,
        merge_stderr: bool = False,
        new_session: bool = False,
        standalone: bool = False,
    ) -> Process:
        """Start ``python *argv`` in ``cwd`` with exactly ``env``; output goes to files (``stdout`` if given).

        ``standalone``: run the script's copy with the interpreter without ``winelab`` (:meth:`standalone`),
        as the real run a lesson script claims does.

        ``new_session``: its own session and process group (``start_new_session``), for a script
        that starts servers, so the test can stop the whole group. ``claim``: this run may be the
        script's real run of the session (``run`` passes it for runs expected to succeed).
        """
        self._count += 1
        folder = self.scratch / f"run-{self._count}"
        folder.mkdir()
        out = stdout or folder / "stdout"
        err = out if merge_stderr else folder / "stderr"
        mode, why = self._mode(argv, env, real, claim, standalone)
        python, script = sys.executable, ""
        if why == "standalone":  # the learner's copy, by an interpreter without winelab
            script = Path(argv[0]).relative_to(EXAMPLES).as_posix()
            python, copy = self.standalone()
            argv = ["-s", str(copy / script), *argv[1:]]
            env = {key: value for key, value in env.items() if key != "PYTHONPATH"}
        before = set(os.listdir(cwd))
        if mode == "real":
            with open(out, "wb") as out_file, open(err, "ab") as err_file:
                popen = subprocess.Popen(
                    [python, *argv],
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out_file,
                    stderr=err_file,
                    start_new_session=new_session,
                )
            process = Process("real", popen.pid, out, err, argv, cwd, before)
            process._popen, process.why = popen, why
            process.script = script
        else:
            for path in {out, err}:  # there at once, as with a real process, for a test that reads them
                path.write_bytes(b"")
            request = {"argv": argv, "cwd": str(cwd), "env": env, "stdout": str(out), "stderr": str(err)}
            request["new_session"] = new_session
            process = Process("warm", self.warm.spawn(request), out, err, argv, cwd, before)
            process._warm = self.warm
        return process

    def finish(self, process: Process, *, ok: bool | None = True, timeout: float = 180) -> Result:
        """Wait for ``process``, check it like every run, record it in the ledger, return its output."""
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise AssertionError(f"timed out after {timeout} s: {process.describe()}") from None
        result = Result(code, process.stdout, process.stderr)
        self._record(process, code)
        shown = process.describe()
        if ok is True:
            assert code == 0, f"script failed with exit {code}: {shown}"
        elif ok is False:
            assert code != 0, f"script should have failed: {shown}"
        deprecations = [line for line in result.stderr.splitlines() if DEPRECATION.search(line)]
        assert not deprecations, f"deprecation output: {deprecations}\n{shown}"
        written = [  # a trailing / lets .gitignore's folder patterns match
            name + "/" if (process.cwd / name).is_dir() else name
            for name in sorted(set(os.listdir(process.cwd)) - process._before)
        ]
        assert not not_ignored(written), f"wrote files that .gitignore misses: {not_ignored(written)}\n{shown}"
        return result

    def run(self, argv: list[str], *, cwd: Path, env: dict[str, str], ok: bool | None = True, timeout=180, **how):
        """Start and finish: ``runner.run([script, "--alpha", "0.4"], cwd=..., env=...)``.

        Only a run expected to succeed may claim a script's real run: a rejected option proves less.
        """
        how.setdefault("claim", ok is True)
        return self.finish(self.start(argv, cwd=cwd, env=env, **how), ok=ok, timeout=timeout)

    def _record(self, process: Process, code: int) -> None:
        script = process.script or process.argv[0]
        entry = {
            "script": Path(script).relative_to(EXAMPLES).as_posix() if script.startswith(str(EXAMPLES)) else script,
            "mode": process.mode,
            "exit": code,
            "why": process.why,
        }
        with open(self.suite_dir / "ledger.jsonl", "a") as ledger:
            ledger.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        if self._warm is not None:
            self._warm.close()
            self._warm = None


# This worker's runner, for helpers called without fixtures (harness.predict_fresh); set by conftest.
CURRENT: Runner | None = None


def current() -> Runner:
    assert CURRENT is not None, "the runner fixture is not active (use the run_script or runner fixture)"
    return CURRENT


def run_script_in(store, relative: str, *args: str, env: dict | None = None, **how) -> Result:
    """Run ``examples/<relative>`` against ``store`` (a harness.Store) in its working folder.

    The script's environment is the test's, less its MLflow and pytest settings, plus the store's
    (``MLFLOW_TRACKING_URI`` and the file-store opt-in), plus ``env`` (None unsets a variable).
    Keywords go to :meth:`Runner.run` (``ok``, ``timeout``, ``real``).
    """
    argv = [str(script_path(relative)), *args]
    full_env = clean_env(**{"MLFLOW_TRACKING_URI": store.uri, **store.env, **(env or {})})
    return current().run(argv, cwd=store.workdir, env=full_env, **how)


def read_ledger(suite_dir: Path) -> list[dict]:
    path = suite_dir / "ledger.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
