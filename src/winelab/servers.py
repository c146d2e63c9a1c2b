"""Start and stop local servers (``mlflow server``, ``mlflow models serve``, ...) for examples and tests.

Everything binds to 127.0.0.1 on a free port, runs in its own process group
(``mlflow server`` forks uvicorn and job runners) and is stopped as a group,
so nothing is left behind, also when the caller fails.

    with mlflow_server(workdir) as server:
        os.environ["MLFLOW_TRACKING_URI"] = server.url
        ...
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from winelab.errors import UserError

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def mlflow_cli() -> str:
    """The ``mlflow`` executable of the running interpreter's environment."""
    candidate = Path(sys.executable).with_name("mlflow")
    return str(candidate) if candidate.exists() else "mlflow"


@dataclass
class Service:
    """A background process serving HTTP at ``url``; its output goes to ``log``."""

    name: str
    url: str
    port: int
    process: subprocess.Popen
    log: Path

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_for_http(service: Service, path: str = "/health", timeout: float = 90, ok_codes=(200,)) -> None:
    """Poll ``service.url + path`` until it answers with one of ``ok_codes``.

    Fails early (with the end of the server's log) if the process exits.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise UserError(
                f"{service.name} exited with code {service.process.returncode} before answering; "
                f"its log {service.log} ends with:\n{service.log_tail()}"
            )
        try:
            with urllib.request.urlopen(service.url + path, timeout=2) as response:
                if response.status in ok_codes:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code in ok_codes:
                return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise UserError(f"{service.name} did not answer {service.url + path} within {timeout:.0f} s; see {service.log}")


def stop(service: Service, grace: float = 10) -> None:
    """Stop the service's whole process group: SIGTERM, then SIGKILL after ``grace`` seconds."""
    process = service.process
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)
    # Children that outlived their parent (e.g. uvicorn workers) share the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def background(
    name: str,
    command: Sequence[str],
    *,
    port: int,
    workdir: Path,
    health_path: str = "/health",
    env: dict[str, str] | None = None,
    timeout: float = 90,
    ok_codes=(200,),
) -> Iterator[Service]:
    """Run ``command`` in its own process group until the ``with`` block ends."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"{name.replace(' ', '-')}-{port}.log"
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            list(command),
            cwd=workdir,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, stopped as one
        )
    service = Service(name, f"http://{HOST}:{port}", port, process, log)
    try:
        wait_for_http(service, health_path, timeout=timeout, ok_codes=ok_codes)
        yield service
    finally:
        stop(service)


def mlflow_server_command(
    port: int,
    *,
    backend_store_uri: str,
    artifacts_destination: str | None = None,
    default_artifact_root: str | None = None,
    serve_artifacts: bool = True,
    app_name: str | None = None,
    extra_args: Sequence[str] = (),
) -> list[str]:
    command = [mlflow_cli(), "server", "--host", HOST, "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", backend_store_uri]
    if serve_artifacts:
        if artifacts_destination:
            command += ["--artifacts-destination", artifacts_destination]
    else:
        command.append("--no-serve-artifacts")
    if default_artifact_root:
        command += ["--default-artifact-root", default_artifact_root]
    if app_name:
        command += ["--app-name", app_name]
    return command + list(extra_args)


@contextlib.contextmanager
def mlflow_server(
    workdir: Path,
    *,
    backend_store_uri: str | None = None,
    artifacts_destination: str | None = None,
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 90,
    **options,
) -> Iterator[Service]:
    """A tracking server on 127.0.0.1 until the ``with`` block ends.

    Defaults: a SQLite backend ``workdir/mlflow.db`` and proxied artifacts in
    ``workdir/mlartifacts``. Other keywords go to :func:`mlflow_server_command`.
    """
    workdir = Path(workdir).resolve()
    port = port or free_port()
    # MLflow 3's server also starts a GenAI job runner (five more processes); these
    # chapters only track, so it is off unless the caller's environment says otherwise.
    env = {
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": os.environ.get("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false"),
        **(env or {}),
    }
    command = mlflow_server_command(
        port,
        backend_store_uri=backend_store_uri or f"sqlite:///{workdir / 'mlflow.db'}",
        artifacts_destination=artifacts_destination or str(workdir / "mlartifacts"),
        **options,
    )
    with background("mlflow server", command, port=port, workdir=workdir, env=env, timeout=timeout) as service:
        yield service


# --- Helpers for scripts that start a server and keep it up (chapters 12 and 13) ---


def raise_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so ``with``/``finally`` blocks still stop child servers."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def wait_until_interrupted(service: Service, seconds: float | None = None) -> None:
    """Block until Ctrl-C/SIGTERM, until ``seconds`` have passed, or until ``service`` dies."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise UserError(
                f"{service.name} exited with code {service.process.returncode}; "
                f"its log {service.log} ends with:\n{service.log_tail()}"
            )
        time.sleep(0.2)


def split_command(argv: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """``[options..., "--", command...]`` -> ``(options, command)``; no ``--`` means no command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def add_server_options(parser, *, default_dir: str | None = None) -> None:
    """``--port``, ``--seconds``, ``--run`` (and ``--dir`` when ``default_dir`` is given)."""
    from winelab.cli import positive_int

    def port_number(text: str) -> int:
        value = positive_int(text)
        if value > 65535:
            raise ValueError(text)
        return value

    if default_dir is not None:
        parser.add_argument(
            "--dir",
            default=default_dir,
            help="folder for the server's database, artifacts and log (default: %(default)s)",
        )
    parser.add_argument(
        "--port", type=port_number, default=None, help="port on 127.0.0.1 (default: a free one picked by the OS)"
    )
    parser.add_argument(
        "--seconds", type=positive_int, default=None, help="stop after this many seconds (default: wait for Ctrl-C)"
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="run the command given after `--` against the server, then stop it (exit with the command's status)",
    )


def command_from_argv(parser, argv: Sequence[str] | None = None):
    """Parse ``argv`` split at ``--``: returns ``(args, command)``; ``--run`` and the command go together."""
    options, command = split_command(argv)
    args = parser.parse_args(options)
    if args.run and not command:
        parser.error("--run needs a command after `--`, e.g. --run -- python script.py")
    if command and not args.run:
        parser.error("a command after `--` needs --run")
    if args.run and args.seconds is not None:
        parser.error("--run and --seconds exclude each other")
    return args, command


def run_with_uri(command: Sequence[str], uri_variable: str, url: str) -> int:
    """Run ``command`` (in the foreground) with ``uri_variable=url`` in its environment; return its status."""
    return subprocess.run(list(command), env={**os.environ, uri_variable: url}).returncode


def run_or_wait(service: Service, command: Sequence[str], uri_variable: str, seconds: float | None = None) -> int:
    """Run ``command`` against ``service`` (its URL in ``uri_variable``), or wait for Ctrl-C / ``seconds``.

    Returns the command's exit status (0 when there was none). The caller's ``with`` block
    then stops the service, whatever happened here.
    """
    status = 0
    try:
        if command:
            print("$ " + shlex.join(command), flush=True)
            status = run_with_uri(command, uri_variable, service.url)
            print(f"command exited with status {status}")
        else:
            wait_until_interrupted(service, seconds=seconds)
    except KeyboardInterrupt:
        print("interrupted")
    print(f"stopping the {service.name} ...")
    return status


def models_serve_command(model_uri: str, port: int, *, env_manager: str = "local", workers: int = 1) -> list[str]:
    return [
        mlflow_cli(),
        "models",
        "serve",
        "--model-uri",
        model_uri,
        "--env-manager",
        env_manager,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]


@contextlib.contextmanager
def model_server(
    model_uri: str,
    workdir: Path,
    *,
    port: int | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 180,
    **options,
) -> Iterator[Service]:
    """``mlflow models serve`` on 127.0.0.1 until the ``with`` block ends (ready when ``/ping`` answers).

    ``workdir`` is its working folder (relative tracking URIs resolve there) and holds its log.
    """
    port = port or free_port()
    command = models_serve_command(model_uri, port, **options)
    # The scoring server runs `uvicorn` from PATH: make it this environment's, also without an activated venv.
    path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    env = {"PATH": path, **(env or {})}
    with background(
        "mlflow models serve", command, port=port, workdir=workdir, health_path="/ping", env=env, timeout=timeout
    ) as service:
        yield service


def server_parser(doc: str | None):
    """An empty parser like :func:`winelab.cli.example_parser`'s (``--help`` shows ``doc``, one-line errors)."""
    import argparse

    from winelab.cli import _OneLineParser

    return _OneLineParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
