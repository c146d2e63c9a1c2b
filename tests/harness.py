"""Helpers shared by the test modules (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"

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
    """One tracking store and the working folder the scripts run in."""

    kind: str  # "sqlite" or "file"
    uri: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def experiment(self, name: str):
        experiment = self.client.get_experiment_by_name(name)
        assert experiment is not None, f"experiment {name!r} was not created"
        return experiment

    def runs(self, experiment_name: str, **kwargs):
        """All runs of an experiment, oldest first."""
        experiment = self.experiment(experiment_name)
        runs = self.client.search_runs([experiment.experiment_id], max_results=1000, **kwargs)
        return sorted(runs, key=lambda run: run.info.start_time)

    def all_runs(self):
        from mlflow.entities import ViewType

        experiments = self.client.search_experiments(view_type=ViewType.ALL)
        ids = [experiment.experiment_id for experiment in experiments]
        return self.client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000) if ids else []


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr lines that are not MLflow's own INFO logging."""
        return [line for line in self.stderr.splitlines() if line.strip() and " INFO " not in line]


def clean_env(**overrides: str | None) -> dict[str, str]:
    """os.environ without the caller's MLFLOW_* settings, plus ``overrides`` (None unsets)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
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
        return Store(kind, f"sqlite:///{db}", workdir)
    if kind == "file":
        # The guide's ./mlruns layout: refused since MLflow 3.13 unless opted into.
        return Store(kind, (tmp_path / "mlruns").as_uri(), workdir, {"MLFLOW_ALLOW_FILE_STORE": "true"})
    raise ValueError(kind)


PREDICT_SNIPPET = """
import json, sys
import mlflow.pyfunc
from winelab import load_wine, FEATURES
model = mlflow.pyfunc.load_model(sys.argv[1])
rows = load_wine()[FEATURES].head(int(sys.argv[2]))
print(json.dumps([float(value) for value in model.predict(rows)]))
"""


def predict_fresh(store: Store, model_uri: str, n: int = 5) -> list[float]:
    """Load ``model_uri`` from ``store`` in a fresh Python process and predict the first ``n`` wines."""
    env = clean_env(MLFLOW_TRACKING_URI=store.uri, **store.env)
    result = run_python(["-c", PREDICT_SNIPPET, model_uri, str(n)], cwd=store.workdir, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def expected_metrics(alpha: float, l1_ratio: float, test_size: float = 0.25, seed: int = 42) -> dict[str, float]:
    """Metrics computed here, independently of the script, for the same model and split."""
    from sklearn.linear_model import ElasticNet

    from winelab import load_wine, regression_metrics, split

    train_x, test_x, train_y, test_y = split(load_wine(), test_size=test_size, seed=seed)
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed).fit(train_x, train_y)
    return regression_metrics(test_y, model.predict(test_x))


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
