"""Start an MLflow tracking server that asks who you are (the basic-auth app).

``mlflow server --app-name basic-auth`` adds users, passwords and per-experiment
permissions to the tracking server. Its settings live in an ini file named by
``MLFLOW_AUTH_CONFIG_PATH``: the users database (SQLite here), the permission
everybody gets by default (READ) and the admin's user name. MLflow ships no
admin password: the server creates the admin from ``MLFLOW_AUTH_ADMIN_PASSWORD``
the first time it starts, and refuses to start without one (12+ characters).

The server, its SQLite stores and the ini file live in a temporary folder on
127.0.0.1 and are gone when this script stops (Ctrl-C, or when the command after
``--`` ends). Credentials come from the environment or a ``.env`` file
(``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``: the admin; see
``.env.example``).

    python examples/15_auth/auth_server.py -- python examples/15_auth/users_and_permissions.py
"""

import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dotenv import load_dotenv

from winelab import example_parser, run_example
from winelab.errors import UserError
from winelab.remote import auth_server


def main() -> int:
    parser = example_parser(__doc__, model=False)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="credentials file (default: ./.env)")
    argv = sys.argv[1:]
    split_at = argv.index("--") if "--" in argv else len(argv)
    args, command = parser.parse_args(argv[:split_at]), argv[split_at + 1 :]

    # %% Credentials: the environment first, then the .env file (never in the repository)
    load_dotenv(args.env_file)
    admin = os.environ.get("MLFLOW_TRACKING_USERNAME", "admin")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if not password or len(password) < 12:
        raise UserError("set MLFLOW_TRACKING_PASSWORD (12+ characters) for the admin, in the environment or ./.env")

    # %% The server: basic_auth.ini + MLFLOW_AUTH_ADMIN_PASSWORD, then --app-name basic-auth
    with (
        tempfile.TemporaryDirectory(prefix="mlflow-auth-") as workdir,
        auth_server(Path(workdir), admin, password, port=args.port or None) as server,
    ):
        print(f"mlflow server --app-name basic-auth at {server.url} (admin user: {admin!r}); data in {workdir}")
        print(f"  export MLFLOW_TRACKING_URI={server.url}")
        print(f"  export MLFLOW_TRACKING_USERNAME={shlex.quote(admin)}  # and MLFLOW_TRACKING_PASSWORD")
        if command:
            print(f"running: {shlex.join(command)}", flush=True)
            env = {**os.environ, "MLFLOW_TRACKING_URI": server.url, "MLFLOW_TRACKING_USERNAME": admin}
            return subprocess.run(command, env={**env, "MLFLOW_TRACKING_PASSWORD": password}).returncode
        print("Ctrl-C stops it", flush=True)
        while True:
            time.sleep(1)


if __name__ == "__main__":
    run_example(main)
