"""Bring up the guide's remote setup on your machine: PostgreSQL + S3 + mlflow server.

Scenario 4 of the guide, offline: the backend store (experiments, runs, params,
metrics) is a PostgreSQL database, the artifact store (models, files) an S3
bucket, and ``mlflow server`` sits in front. Here they are a throwaway
PostgreSQL cluster and SeaweedFS (a real S3 server), on 127.0.0.1, with all
their data in one temporary state folder.

Actions:

  up      start everything and leave it running (pids recorded in the state folder)
  env     print the variables a client needs: eval "$(python stack.py env)";
          with --s3 also the bucket's endpoint and keys, to look inside it (aws s3 ls)
  status  say what is running
  down    stop what ``up`` started and delete the state folder
  run     up, run the command after ``--`` with those variables, then down

Two artifact modes:

* proxied (default): ``mlflow server --artifacts-destination s3://...``; clients
  only know the server's URL, the server holds the S3 keys.
* ``--direct``: ``mlflow server --no-serve-artifacts --default-artifact-root s3://...``;
  clients write to the bucket themselves and need ``MLFLOW_S3_ENDPOINT_URL``
  and ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``.

The ``mlflow server`` command line is built here (``mlflow_server_command``);
starting, watching and stopping the three services is the project's process
control (``winelab.remote``). The chapter's README shows the same by hand.

Credentials come from the environment or a ``.env`` file (see ``.env.example``).
``--port`` (checked before anything starts) fixes the tracking server's port;
Ctrl-C or SIGTERM during ``up`` or ``run`` stops whatever was started.

    python examples/14_remote_storage/stack.py run -- python examples/01_tracking/basic_regression_mlflow.py
"""

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from winelab.cli import add_port_option, run_example, server_parser, split_command
from winelab.errors import UserError
from winelab.remote import Stack, remote_stack, settings_from_env, stack_status, start_stack, stop_stack
from winelab.servers import claim_port, stop_on_signals

CHAPTER = Path(__file__).resolve().parent
ACTIONS = ("up", "env", "status", "down", "run")


def default_env_file() -> Path:
    """``.env`` in the current folder, else next to this script."""
    here = Path.cwd() / ".env"
    return here if here.is_file() else CHAPTER / ".env"


def mlflow_server_command(stack: Stack, port: int) -> list[str]:
    """The ``mlflow server`` in front of the stack, built once PostgreSQL and the bucket are up.

    It runs with the bucket's keys in its environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``MLFLOW_S3_ENDPOINT_URL``) and ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` (no GenAI job runner).
    """
    s = stack.settings
    # SQLAlchemy 2.1 reads plain postgresql:// as psycopg 3; name the driver requirements.txt installs.
    backend_store_uri = f"postgresql+psycopg2://{s.pg_user}:{s.pg_password}@127.0.0.1:{stack.pg_port}/{s.pg_database}"
    command = [
        "mlflow", "server",
        "--host", "127.0.0.1",
        "--port", str(port),
        "--workers", "1",
        "--backend-store-uri", backend_store_uri,
    ]  # fmt: skip
    if stack.direct:
        # Clients write to S3 themselves: the server only hands out s3:// locations (the guide's scenario 4).
        return command + ["--no-serve-artifacts", "--default-artifact-root", f"s3://{s.bucket}/direct"]
    # Proxied: clients send artifacts to the server, which writes them to the bucket.
    return command + ["--artifacts-destination", f"s3://{s.bucket}/mlartifacts"]


def describe(stack: Stack) -> None:
    mode = "direct (clients write to S3)" if stack.direct else "proxied (the server writes to S3)"
    print(f"stack up, artifacts {mode}; state in {stack.state_dir}")
    s = stack.settings
    print(f"  backend store : postgresql://{s.pg_user}:***@127.0.0.1:{stack.pg_port}/{s.pg_database}")
    print(f"  artifact store: {stack.artifact_root}  (SeaweedFS S3 at {stack.s3_endpoint})")
    print(f"  tracking URI  : {stack.url}")
    print(f"  server command: {stack.shown_server_command()}")


def print_env(stack: Stack, s3: bool) -> None:
    """``export`` lines for a client; ``s3``: also what ``aws``/boto3 need to look inside the bucket."""
    variables = {**stack.client_env(), **(stack.s3_env() if s3 else {})}
    for key, value in variables.items():
        print(f"export {key}={shlex.quote(value)}")


def main() -> int:
    parser = server_parser(__doc__)  # no model options: this script trains nothing
    parser.add_argument(
        "action", nargs="?", choices=ACTIONS, help="what to do (see above); run takes a command after --"
    )
    parser.add_argument("--direct", action="store_true", help="clients write artifacts to S3 themselves")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / f"winelab-stack-{os.getuid()}",
        help="folder for the stack's data, logs and pids (default: %(default)s)",
    )
    parser.add_argument("--env-file", type=Path, help="credentials file (default: ./.env, else the chapter's .env)")
    parser.add_argument(
        "--s3", action="store_true", help="env: also print the S3 endpoint and keys (to look inside the bucket)"
    )
    add_port_option(parser, "the tracking server (up, run)")
    options, command = split_command()
    args = parser.parse_args(options)
    if args.action is None:
        parser.error(f"choose an action: {', '.join(ACTIONS)}")
    if (args.action == "run") != bool(command):
        parser.error("a command after -- goes with run, and only with run")
    if args.s3 and args.action != "env":
        parser.error("--s3 goes with env")
    if args.port is not None and args.action not in ("up", "run"):
        parser.error("--port goes with up and run")

    if args.action in ("env", "status", "down"):
        stack = Stack.load(args.state_dir)
        if stack is None:
            if args.action == "down":
                print(f"no stack recorded in {args.state_dir}; nothing to stop")
                return 0
            raise UserError(f"no stack recorded in {args.state_dir}; start one with: stack.py up")
        if args.action == "env":
            print_env(stack, args.s3)
        elif args.action == "status":
            describe(stack)
            for name, running in stack_status(stack).items():
                print(f"  {name}: {'running' if running else 'NOT running'}")
        else:
            stop_stack(args.state_dir)
            print(f"stopped the stack in {args.state_dir}; nothing is left running")
        return 0

    port = claim_port(args.port)  # a taken port stops us here, before anything starts
    stop_on_signals()  # Ctrl-C and a plain `kill` both stop what was started so far
    settings = settings_from_env(args.env_file or default_env_file())
    if args.action == "up":
        stack = start_stack(args.state_dir, settings, direct=args.direct, port=port, command=mlflow_server_command)
        describe(stack)
        here = shlex.quote(os.path.relpath(__file__))
        if args.state_dir != parser.get_default("state_dir"):
            here += f" --state-dir {shlex.quote(str(args.state_dir))}"
        print(f'use it : eval "$(python {here} env)"   (then run any example)')
        print(f"stop it: python {here} down")
        return 0

    # run: the stack lives exactly as long as the command
    with remote_stack(args.state_dir, settings, direct=args.direct, port=port, command=mlflow_server_command) as stack:
        describe(stack)
        print(f"running: {shlex.join(command)}", flush=True)
        completed = subprocess.run(command, env={**os.environ, **stack.client_env()})
    print(f"stack stopped; the command exited with {completed.returncode}")
    return completed.returncode


if __name__ == "__main__":
    run_example(main)
