"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from winelab.servers import FAIL_FAST

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

# Scripts that only start and stop services: they may use the project's process control
# (winelab), so they run from the repository. Every other script is a standalone lesson.
LAUNCHERS = frozenset(
    {
        "12_tracking_server/server.py",
        "13_serving/serve_model.py",
        "14_remote_storage/stack.py",
        "15_auth/auth_server.py",
        "17_sagemaker/aws_standin.py",
    }
)

# What a learner must never see from a script: MLflow (or anyone) telling them
# the call they just learned is on its way out.
DEPRECATION = re.compile(r"FutureWarning|DeprecationWarning|\bdeprecated\b", re.IGNORECASE)


def script_path(relative: str) -> Path:
    """``"01_tracking/basic_regression_mlflow.py"`` -> absolute path under examples/."""
    path = EXAMPLES / relative
    assert path.is_file(), f"no such example: {path}"
    return path


@dataclass
class Store:
    """One tracking store and the working folder the scripts run in.

    ``kind`` is the parametrize id: ``mlruns`` (the guide's file store, opted into since
    MLflow 3.13), ``sqlite`` (MLflow 3's default) or ``server`` (a tracking server shared by
    the tests of one worker). On a shared server a test keeps to its own experiments:
    :meth:`name` adds the test's ``suffix`` to an experiment name, and the look-ups below
    take the plain name and add it themselves.
    """

    kind: str
    uri: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    suffix: str = ""
    artifacts_root: Path | None = None  # a server's proxied-artifact folder

    @property
    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def name(self, experiment_name: str) -> str:
        """The experiment name a script should use in this store (pass it as ``--experiment-name``)."""
        return experiment_name + self.suffix

    def experiment(self, name: str):
        experiment = self.client.get_experiment_by_name(self.name(name))
        assert experiment is not None, f"experiment {self.name(name)!r} was not created"
        return experiment

    def runs(self, experiment_name: str, **kwargs):
        """All runs of an experiment, oldest first."""
        experiment = self.experiment(experiment_name)
        runs = self.client.search_runs([experiment.experiment_id], max_results=1000, **kwargs)
        return sorted(runs, key=lambda run: run.info.start_time)

    def experiments(self, **kwargs):
        """This test's experiments (on a shared server, those with its suffix)."""
        found = self.client.search_experiments(**kwargs)
        return [experiment for experiment in found if experiment.name.endswith(self.suffix)] if self.suffix else found

    def all_runs(self):
        from mlflow.entities import ViewType

        ids = [experiment.experiment_id for experiment in self.experiments(view_type=ViewType.ALL)]
        return self.client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000) if ids else []

    def on_disk(self, artifact_uri: str) -> Path:
        """Where an artifact URI of this store lies on this machine."""
        from urllib.parse import urlparse

        if artifact_uri.startswith("mlflow-artifacts:"):
            assert self.artifacts_root is not None, artifact_uri
            return self.artifacts_root / urlparse(artifact_uri).path.lstrip("/")
        return Path(urlparse(artifact_uri).path) if "://" in artifact_uri else Path(artifact_uri)


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr lines that are not MLflow's own INFO logging."""
        return [line for line in self.stderr.splitlines() if line.strip() and " INFO " not in line]


# Scripts under test send no usage telemetry, as MLflow already decides by itself on CI. Offline,
# MLflow 3.17's telemetry thread also removes a variable from os.environ while other threads read
# it (a rare KeyError in an artifact download); with telemetry off that thread never starts.
NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true"}


def data_env() -> dict[str, str]:
    """Scripts read the verified local CSV (``--data``'s default), never UCI's URL: the tests are offline."""
    import reference

    return {"WINE_QUALITY_CSV": str(reference.csv_path())}


def clean_env(**overrides: str | None) -> dict[str, str]:
    """os.environ without the caller's MLFLOW_* and pytest's settings, plus ``overrides`` (None unsets).

    pytest's ``PYTEST_CURRENT_TEST`` would switch on MLflow's own test-only checks in the
    script, which a learner's run never has.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "PYTEST_"))}
    env.update(NO_TELEMETRY)
    # MLflow's documented settings for a dead server to fail in seconds, not minutes: the demo's, which
    # the server chapters' READMEs and docs/stores.md give to learners.
    env.update(FAIL_FAST)
    env.update(data_env())
    env.update(overrides)
    return {key: value for key, value in env.items() if value is not None}


def not_ignored(names: list[str]) -> list[str]:
    """Those of ``names`` (files a script wrote in its working folder) that .gitignore would not ignore.

    Learners run scripts from inside the repository; what they write must not show in ``git status``.
    """
    if not names:
        return []
    completed = subprocess.run(
        ["git", "-C", str(REPO), "check-ignore", "--no-index", "--stdin"],
        input="\n".join(names),
        capture_output=True,
        text=True,
    )
    ignored = set(completed.stdout.splitlines())
    return [name for name in names if name not in ignored]


def run_python(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 180) -> Result:
    completed = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return Result(completed.returncode, completed.stdout, completed.stderr)


def make_store(kind: str, tmp_path: Path, migrated_db: Path) -> Store:
    workdir = tmp_path / "work"
    workdir.mkdir()
    if kind == "sqlite":
        db = tmp_path / "mlflow.db"
        shutil.copyfile(migrated_db, db)
        # The template's Default experiment points into the folder it was made in. A store created
        # by a script points it at <working folder>/mlruns/0: give the copy that value.
        with contextlib.closing(sqlite3.connect(db)) as connection, connection:
            connection.execute(
                "UPDATE experiments SET artifact_location = ? WHERE experiment_id = 0",
                (str(workdir.resolve() / "mlruns" / "0"),),
            )
        return Store(kind, f"sqlite:///{db}", workdir)
    if kind == "mlruns":
        # The guide's ./mlruns layout: refused since MLflow 3.13 unless opted into.
        return Store(kind, (tmp_path / "mlruns").as_uri(), workdir, {"MLFLOW_ALLOW_FILE_STORE": "true"})
    raise ValueError(kind)


# The rows come straight from the CSV with pandas (not winelab), in the columns tests/reference.py lists.
PREDICT_SNIPPET = """
import json, sys
import mlflow.pyfunc
import pandas as pd
model_uri, csv, columns, n = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])
model = mlflow.pyfunc.load_model(model_uri)
rows = pd.read_csv(csv, sep=";")[columns].head(n)
print(json.dumps([float(value) for value in model.predict(rows)]))
"""


def predict_fresh(store: Store, model_uri: str, n: int = 5) -> list[float]:
    """Load ``model_uri`` from ``store`` in a fresh Python process and predict the first ``n`` wines."""
    import reference
    from _suite import runner

    env = clean_env(MLFLOW_TRACKING_URI=store.uri, **store.env)
    args = [model_uri, str(reference.csv_path()), json.dumps(reference.FEATURES), str(n)]
    result = runner.current().run(["-c", PREDICT_SNIPPET, *args], cwd=store.workdir, env=env)
    return json.loads(result.stdout.strip().splitlines()[-1])


def expected_metrics(alpha: float, l1_ratio: float, test_size: float = 0.25, seed: int = 42) -> dict[str, float]:
    """Metrics computed independently of the script and of winelab (see reference.py), same model and split."""
    import reference

    return reference.expected_metrics(alpha, l1_ratio, test_size=test_size, seed=seed)


def read_mlmodel(store: Store, logged_model) -> dict:
    """The MLmodel file of a ``LoggedModel`` (from ``search_logged_models``), parsed."""
    import mlflow
    import yaml

    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"{logged_model.artifact_location}/MLmodel", tracking_uri=store.uri
    )
    return yaml.safe_load(Path(local).read_text())


def signature_inputs(mlmodel: dict) -> list[dict]:
    return json.loads(mlmodel["signature"]["inputs"])


def assert_rejected(result: Result, store: Store, option: str | None = None) -> None:
    """A bad option: argparse's exit 2, one stderr line (naming ``option``), and no run recorded."""
    assert result.returncode == 2, result.stderr
    assert len(result.error_lines) == 1, result.stderr
    if option:
        assert option in result.error_lines[0], result.error_lines
    assert store.all_runs() == []
