"""Users and per-experiment permissions on a basic-auth tracking server.

Against a server started with ``--app-name basic-auth`` (``auth_server.py``),
with the admin's credentials in ``MLFLOW_TRACKING_USERNAME`` /
``MLFLOW_TRACKING_PASSWORD``, this walks through:

1. a request without credentials: 401 Unauthorized;
2. the admin creates a user (the basic-auth app's REST API);
3. the admin creates an experiment and gives the user READ on it;
4. as the user: reading the experiment works, starting a run in it is
   refused with 403 Forbidden;
5. the admin replaces READ by EDIT; the user logs a run
   (parameters, metrics and the model, proxied to the server's artifact store).

Every MLflow client (this script, ``mlflow`` CLI, the examples of other chapters)
sends the user from ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``;
step 4 and 5 switch those variables to act as the new user.

    python examples/15_auth/auth_server.py -- python examples/15_auth/users_and_permissions.py --username alice
"""

import argparse
import contextlib
import os
import secrets
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import pandas as pd
import requests
from mlflow.exceptions import MlflowException
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def long_password(text):
    if len(text) < 12:
        raise argparse.ArgumentTypeError("must have 12 or more characters")
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="auth_demo", help="(default: %(default)s)")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    parser.add_argument("--username", default="alice", help="the user to create (default: %(default)s)")
    parser.add_argument("--password", type=long_password, help="the new user's password, 12+ characters "
                        "(default: a random one)")  # fmt: skip
    return parser.parse_args()


def admin_api(uri: str, method: str, path: str, payload: dict) -> requests.Response:
    """Call the basic-auth app's REST API as the admin (credentials from the environment)."""
    admin = (os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"])
    where = {"params" if method == "GET" else "json": payload}
    response = requests.request(method, f"{uri}/api/{path}", auth=admin, timeout=30, **where)
    if response.status_code in (401, 403):
        raise PermissionError(f"{admin[0]!r} is not an admin of {uri} ({response.status_code}); check the credentials")
    return response


def set_permission(uri: str, username: str, experiment_id: str, permission: str) -> None:
    """Grant ``permission``; a grant never overwrites another, so revoke the old one first."""
    target = {"username": username, "resource_type": "experiment", "resource_id": experiment_id}
    admin_api(uri, "POST", "3.0/mlflow/users/permissions/revoke", target)  # 404 if there was none
    admin_api(
        uri, "POST", "3.0/mlflow/users/permissions/grant", {**target, "permission": permission}
    ).raise_for_status()


@contextlib.contextmanager
def credentials(username: str, password: str):
    """Act as another user: MLflow reads these two variables on every request."""
    saved = {key: os.environ.get(key) for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}
    os.environ.update(MLFLOW_TRACKING_USERNAME=username, MLFLOW_TRACKING_PASSWORD=password)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def main():
    args = parse_args()
    password = args.password or secrets.token_urlsafe(12)

    # Fit and evaluate before anything is recorded, as always
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    metrics = {
        "rmse": root_mean_squared_error(test_y, predicted),
        "mae": mean_absolute_error(test_y, predicted),
        "r2": r2_score(test_y, predicted),
    }

    # The server and the admin's credentials come from the environment
    uri = mlflow.get_tracking_uri()
    if not uri.startswith("http"):
        raise ValueError(f"MLFLOW_TRACKING_URI must point at a basic-auth server (start auth_server.py), not {uri}")
    if not os.environ.get("MLFLOW_TRACKING_PASSWORD"):
        raise ValueError("set MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD to the admin's credentials")

    # 1. No credentials, no access: 401 (the REST API, called directly)
    search = f"{uri}/api/2.0/mlflow/experiments/search"
    try:
        anonymous = requests.post(search, json={"max_results": 1}, timeout=10)
    except requests.ConnectionError:
        raise ConnectionError(f"no tracking server answers at {uri}; start auth_server.py") from None
    print(f"1. anonymous request            -> {anonymous.status_code} {anonymous.reason}")
    if anonymous.status_code != 401:
        raise ValueError(f"{uri} let an anonymous request in: is it running with --app-name basic-auth?")

    # 2. The admin creates a user through the basic-auth app's REST API
    # The Python client wraps these calls: auth = mlflow.server.get_app_client("basic-auth", tracking_uri=uri),
    # then auth.create_user(name, password), auth.grant_user_permission(...). Importing it loads MLflow's
    # server app, which (with Starlette 1.10) prints a deprecation warning, so this script calls the API.
    created = admin_api(uri, "POST", "2.0/mlflow/users/create", {"username": args.username, "password": password})
    if created.ok:
        user = created.json()["user"]
        print(f"2. admin created user {user['username']!r} (id {user['id']}, admin: {user['is_admin']})")
    elif created.json().get("error_code") == "RESOURCE_ALREADY_EXISTS":
        update = {"username": args.username, "password": password}
        admin_api(uri, "PATCH", "2.0/mlflow/users/update-password", update).raise_for_status()
        print(f"2. user {args.username!r} exists already; admin reset the password")
    else:
        raise ValueError(f"creating user {args.username!r} failed: {created.text.strip()}")
    if not args.password:
        print(f"   its password (generated): {password}")

    # 3. The admin creates the experiment and gives the user READ on it
    # (MLflow 2.x: POST 2.0/mlflow/experiments/permissions/create; 3.x: one grant API for all resources)
    experiment = mlflow.set_experiment(args.experiment_name)
    set_permission(uri, args.username, experiment.experiment_id, "READ")
    target = {"username": args.username, "resource_type": "experiment", "resource_id": experiment.experiment_id}
    granted = admin_api(uri, "GET", "3.0/mlflow/users/permissions/get", target).json()["permission"]
    print(f"3. experiment {experiment.name!r} (id {experiment.experiment_id}): {args.username} has {granted}")

    # 4. As the user with READ: reading works, writing is refused with 403
    with credentials(args.username, password):
        seen = mlflow.get_experiment(experiment.experiment_id)
        print(f"4. {args.username} reads experiment {seen.name!r}: ok")
        try:
            with mlflow.start_run(experiment_id=experiment.experiment_id):
                pass
            raise ValueError(f"{args.username} could start a run with READ only")
        except MlflowException as exc:
            print(f"   {args.username} starts a run -> {exc.get_http_status_code()} {exc.error_code}")

    # 5. The admin grants EDIT; now the user's run is recorded
    set_permission(uri, args.username, experiment.experiment_id, "EDIT")
    with credentials(args.username, password):
        with mlflow.start_run(experiment_id=experiment.experiment_id) as run:
            mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
            mlflow.log_metrics(metrics)
            mlflow.sklearn.log_model(
                sk_model=model,
                name="wine_model",
                # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
                pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
            )
    print(f"5. with EDIT, {args.username} logged run {run.info.run_id}: rmse={metrics['rmse']:.4f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the run FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no server, not basic-auth, wrong credentials, bad --alpha
        sys.exit(f"error: {str(exc).splitlines()[0]}")
