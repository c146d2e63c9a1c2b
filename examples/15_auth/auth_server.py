"""Start an MLflow tracking server that asks who you are (the basic-auth app).

``mlflow server --app-name basic-auth`` adds users, passwords and per-experiment
permissions to the tracking server. Its settings live in an ini file named by
``MLFLOW_AUTH_CONFIG_PATH``: the users database (SQLite here), the permission
everybody gets by default (READ) and the admin's user name. MLflow ships no
admin password: the server creates the admin from ``MLFLOW_AUTH_ADMIN_PASSWORD``
the first time it starts, and refuses to start without one (12+ characters).
It also wants ``MLFLOW_FLASK_SERVER_SECRET_KEY`` (it signs the UI's CSRF tokens).

The server, its SQLite stores and the ini file live in a temporary folder on
127.0.0.1 and are gone when this script stops: on Ctrl-C, on SIGTERM, or when
the command after ``--`` ends. Credentials come from the environment or a
``.env`` file (``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``: the
admin; see ``.env.example``). ``--port`` is checked first (default: a free one).

    python examples/15_auth/auth_server.py -- python examples/15_auth/users_and_permissions.py
"""

import os
import secrets
import shlex
import tempfile
from pathlib import Path

from dotenv import load_dotenv

from winelab.cli import add_port_option, run_example, server_parser, split_command
from winelab.errors import UserError
from winelab.servers import NO_JOB_RUNNER, background, claim_port, run_or_wait, stop_on_signals

# The basic-auth app's settings (MLflow's own default file, mlflow/server/auth/basic_auth.ini, has the same keys).
BASIC_AUTH_INI = """\
[mlflow]
default_permission = READ
database_uri = sqlite:///{users_database}
admin_username = {admin}
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
# Remember a checked user name and password for 60 s. Off by default, and then every request
# hashes the password again (scrypt: about 0.1 s of CPU; a logged model takes ~30 requests).
# With one worker (--workers 1) nothing goes stale: a password changed through the API is
# forgotten at once.
auth_cache_ttl_seconds = 60
"""


def main() -> int:
    parser = server_parser(__doc__)  # no model options: this script trains nothing
    add_port_option(parser)
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="credentials file (default: ./.env)")
    options, command = split_command()
    args = parser.parse_args(options)
    port = claim_port(args.port)  # a taken port stops us here, before anything starts
    stop_on_signals()  # Ctrl-C and a plain `kill` both stop the server and delete its folder

    # Credentials: the environment first, then the .env file (never in the repository)
    load_dotenv(args.env_file)
    admin = os.environ.get("MLFLOW_TRACKING_USERNAME", "admin")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not password or len(password) < 12:
        raise UserError("set MLFLOW_TRACKING_PASSWORD (12+ characters) for the admin, in the environment or ./.env")

    with tempfile.TemporaryDirectory(prefix="mlflow-auth-") as folder:
        workdir = Path(folder)
        # The ini file, named by MLFLOW_AUTH_CONFIG_PATH; the password stays out of it (environment only)
        config = workdir / "basic_auth.ini"
        config.write_text(BASIC_AUTH_INI.format(users_database=workdir / "basic_auth.db", admin=admin))
        auth_env = {
            "MLFLOW_AUTH_CONFIG_PATH": str(config),
            "MLFLOW_AUTH_ADMIN_PASSWORD": password,  # creates the admin on first start
            # Signs the UI's CSRF tokens; the server refuses to start without one. Made up per server here.
            "MLFLOW_FLASK_SERVER_SECRET_KEY": os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY") or secrets.token_hex(16),
        }

        # The tracking server with the basic-auth app in front (SQLite metadata, proxied artifacts)
        server_command = [
            "mlflow", "server",
            "--app-name", "basic-auth",
            "--host", "127.0.0.1",
            "--port", str(port),
            "--workers", "1",
            "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
            "--artifacts-destination", str(workdir / "mlartifacts"),
        ]  # fmt: skip
        # As you would type it (the secrets not shown): the variables, then the command.
        shown_env = {
            "MLFLOW_AUTH_CONFIG_PATH": shlex.quote(str(config)),
            "MLFLOW_AUTH_ADMIN_PASSWORD": '"$MLFLOW_TRACKING_PASSWORD"',
            "MLFLOW_FLASK_SERVER_SECRET_KEY": "<secret>",
            **NO_JOB_RUNNER,
        }
        print("$ " + " ".join(f"{key}={value}" for key, value in shown_env.items()) + " " + shlex.join(server_command))
        env = {**auth_env, **NO_JOB_RUNNER}
        with background("mlflow server", server_command, port=port, workdir=workdir, env=env, timeout=180) as server:
            print(f"mlflow server --app-name basic-auth at {server.url} (pid {server.process.pid}); admin: {admin!r}")
            print(f"  data in {workdir} (deleted when this stops)")
            print(f"  export MLFLOW_TRACKING_URI={server.url}")
            print(f"  export MLFLOW_TRACKING_USERNAME={shlex.quote(admin)}  # and MLFLOW_TRACKING_PASSWORD")
            if not command:
                print("Ctrl-C stops it", flush=True)
            credentials = {"MLFLOW_TRACKING_USERNAME": admin, "MLFLOW_TRACKING_PASSWORD": password}
            status = run_or_wait(server, command, {"MLFLOW_TRACKING_URI": server.url, **credentials})
    print("server stopped; its folder is deleted")
    return status


if __name__ == "__main__":
    run_example(main)
