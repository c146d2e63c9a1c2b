"""Small MLflow settings shared by all scripts (none of them is a lesson itself)."""

from __future__ import annotations

import os
from importlib import metadata

# MLflow retries an unreachable server for minutes by default. These documented
# settings make a dead server fail in a few seconds; a user's own values win.
FAIL_FAST = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}

# What an sklearn model needs to be loaded again. Passing it to log_model skips
# MLflow's requirement inference (a ~3 s subprocess per call) and pins exactly
# the versions this project installs.
MODEL_PACKAGES = ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops", "cloudpickle")


def fail_fast_defaults() -> None:
    for key, value in FAIL_FAST.items():
        os.environ.setdefault(key, value)


def pip_requirements(*extra: str) -> list[str]:
    """Pinned requirements for a logged model: ``["mlflow==3.x", "scikit-learn==1.x", ...]``."""
    pins = []
    for name in (*MODEL_PACKAGES, *extra):
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return pins
