"""Process control for the scripts that start servers: check the port, start, wait, stop.

The commands themselves (``mlflow server ...``, ``mlflow models serve ...``, the
basic-auth settings) are spelled out in the chapter scripts that teach them;
this module only runs them, the same way for every chapter:

* :func:`claim_port`: before a script starts or trains anything, the port it
  will listen on must be free on 127.0.0.1 (or the OS picks a free one);
* :func:`background`: run a command in its own process group (``mlflow server``
  forks uvicorn), wait until it answers HTTP *and* is the process listening on
  the port (so another server there is never taken for it), and stop the whole
  group when the ``with`` block ends, also when the caller fails;
* :func:`stop_on_signals`: SIGTERM (a plain ``kill``) raises the same
  ``KeyboardInterrupt`` as Ctrl-C, so those ``with`` blocks run on both;
* :func:`run_or_wait`: run a learner's command against the server, or wait.

    port = claim_port(args.port)
    stop_on_signals()
    with background("mlflow server", ["mlflow", "server", "--port", str(port), ...], port=port, workdir=d) as server:
        run_or_wait(server, command, {"MLFLOW_TRACKING_URI": server.url})
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from winelab.errors import UserError

# MLflow retries an unreachable server for minutes by default; with these documented settings
# a script facing a dead server fails in seconds. The demo, make bench and the test suite run
# every script with them; the server chapters' READMEs show them too.
FAIL_FAST = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}

HOST = "127.0.0.1"

# This environment's bin folder: its `mlflow`, and the `uvicorn` that `mlflow models serve` runs from PATH.
BIN = Path(sys.executable).parent
MLFLOW = str(BIN / "mlflow") if (BIN / "mlflow").exists() else "mlflow"

# MLflow 3's `mlflow server` also starts a job runner for GenAI features (five more Python
# processes, seconds of start-up); tracking does not need it.
NO_JOB_RUNNER = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}

HELD = (signal.SIGINT, signal.SIGTERM)  # what a terminal's Ctrl-C and a plain `kill` send


def mlflow_free_env(**overrides: str) -> dict[str, str]:
    """``os.environ`` without any ``MLFLOW_*`` setting, plus ``overrides`` (a child sees only the settings given)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env.update(overrides)
    return env


# --------------------------------------------------------------------------- ports


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    """Whether something on this machine holds ``port`` on 127.0.0.1 (listening there or on all addresses)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        if sock.connect_ex((HOST, port)) == 0:
            return True  # somebody accepts connections (an HTTP server, or a bare socket's backlog)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers bind (uvicorn sets it too): a port a stopped server left in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def taken_message(port: int) -> str:
    return (
        f"port {port} on {HOST} is already in use by another program; "
        "choose another with --port, or leave --port out to get a free one"
    )


def claim_port(port: int | None) -> int:
    """The port a server will listen on: ``port`` if nothing holds it, else :class:`UserError`; None: a free one.

    Scripts call it before they start or train anything, so a taken port costs nothing.
    """
    if port is None:
        return free_port()
    if port_in_use(port):
        raise UserError(taken_message(port))
    return port


# --------------------------------------------------------------------------- services


@dataclass
class Service:
    """A background process serving HTTP at ``url``; its output goes to ``log``."""

    name: str
    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def last_log_line(self) -> str:
        try:
            lines = [line.strip() for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return lines[-1] if lines else ""

    def owns_port(self) -> bool:
        """Whether this process, or one it forked (uvicorn), is the one listening on ``port``."""
        import psutil

        try:
            root = psutil.Process(self.process.pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return False
        for member in family:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                for connection in member.net_connections(kind="tcp"):
                    if connection.status == psutil.CONN_LISTEN and connection.laddr.port == self.port:
                        return True
        return False

    def exited_error(self) -> UserError:
        """Why it stopped, in one line: another program took the port, or the end of its log."""
        if port_in_use(self.port):
            return UserError(
                f"port {self.port} on {HOST} was taken by another program while {self.name} started; "
                "choose another with --port, or leave --port out to get a free one"
            )
        return UserError(
            f"{self.name} exited with code {self.process.returncode}: {self.last_log_line()} (log: {self.log})"
        )


def start(
    name: str, command: Sequence[str], *, port: int, workdir: Path, env: Mapping[str, str] | None = None
) -> Service:
    """Start ``command`` in ``workdir``, in its own session and process group; output to ``workdir/<name>-<port>.log``.

    The command runs with this environment's bin folder first on PATH (as an activated venv
    would), so ``mlflow`` and the ``uvicorn`` it starts are this environment's.
    It keeps running until :func:`stop` (or another process) stops it.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name.replace(' ', '-')}-{port}.log"
    path = os.pathsep.join((str(BIN), os.environ.get("PATH", "")))
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            list(command),
            cwd=workdir,
            env={**os.environ, "PATH": path, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one
        )
    return Service(name, f"http://{HOST}:{port}", port, process, log)


def wait_for_http(service: Service, path: str = "/health", timeout: float = 90, ok_codes=(200,)) -> None:
    """Poll ``service.url + path`` until it answers with one of ``ok_codes`` *from this service's processes*.

    An answer only counts while the service is alive and listens on its port itself: another
    program on that port (taken between :func:`claim_port` and the bind) is never mistaken for it.
    Fails early, in one line, if the process exits.
    """
    deadline = time.monotonic() + timeout
    answered_by_another = False
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise service.exited_error()
        try:
            with urllib.request.urlopen(service.url + path, timeout=2) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError):
            status = None
        if status in ok_codes:
            if service.owns_port():
                return
            answered_by_another = True
        time.sleep(0.25)
    if answered_by_another:
        raise UserError(
            f"{service.url} answers, but not from the {service.name} just started: {taken_message(service.port)}"
        )
    raise UserError(f"{service.name} did not answer {service.url + path} within {timeout:.0f} s; see {service.log}")


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while servers are being stopped, so a second one cannot cut the cleanup short.

    A signal that came meanwhile is delivered again afterwards. (Blocking them instead would
    leave them blocked in every program started meanwhile, e.g. ``pg_ctl stop``.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals in Python
        return
    caught: list[int] = []
    previous = {signum: signal.signal(signum, lambda number, frame: caught.append(number)) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


def stop(service: Service, grace: float = 10) -> None:
    """Stop the service's whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    process = service.process
    with signals_held():
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=grace)
        # Children that outlived their parent (e.g. uvicorn workers) share the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def background(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    workdir: Path,
    health_path: str = "/health",
    env: Mapping[str, str] | None = None,
    timeout: float = 90,
    ok_codes=(200,),
) -> Iterator[Service]:
    """Run ``command`` (see :func:`start`) until the ``with`` block ends; ready when ``health_path`` answers."""
    service = start(name, command, port=port, workdir=workdir, env=env)
    try:
        wait_for_http(service, health_path, timeout=timeout, ok_codes=ok_codes)
        yield service
    finally:
        stop(service)


# --------------------------------------------------------------------------- scripts that keep a server up


def stop_on_signals() -> None:
    """Ctrl-C (SIGINT) and a plain ``kill`` (SIGTERM) both raise ``KeyboardInterrupt`` in the main thread.

    So the ``with`` blocks that started servers stop them either way. SIGINT is set too, because
    a shell starts background jobs (``script.py &``) with Ctrl-C ignored.
    """

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def wait_until_interrupted(service: Service, seconds: float | None = None) -> None:
    """Block until Ctrl-C/SIGTERM, until ``seconds`` have passed, or until ``service`` dies."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise service.exited_error()
        time.sleep(0.2)


def run_or_wait(service: Service, command: Sequence[str], env: Mapping[str, str], seconds: float | None = None) -> int:
    """Run ``command`` with ``env`` added to its environment, or wait for Ctrl-C / SIGTERM / ``seconds``.

    Returns the command's exit status; 0 when there was none, 130 when it was interrupted.
    The caller's ``with`` block then stops the service, whatever happened here.
    """
    sys.stdout.flush()  # what the script printed so far shows now, also through a pipe or into a file
    status = 0
    try:
        if command:
            print("$ " + shlex.join(command), flush=True)
            status = subprocess.run(list(command), env={**os.environ, **env}).returncode
            print(f"command exited with status {status}")
        else:
            wait_until_interrupted(service, seconds=seconds)
    except KeyboardInterrupt:
        print("interrupted")
        status = 130 if command else 0
    print(f"stopping the {service.name} ...", flush=True)
    return status
