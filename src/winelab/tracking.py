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


# The guide section each chapter folder follows (the README's chapter table says the same:
# tests/test_examples.py checks), for the experiment tags below.
GUIDE_SECTIONS = {
    "01_tracking": "3. Tracking",
    "02_logging": "4. Logging functions",
    "03_multiple_runs": "5. Multiple experiments and runs",
    "04_autolog": "6. Autologging",
    "05_signatures": "8. Model signatures",
    "06_custom_libraries": "9. Custom Python models",
    "07_evaluation": "10. Model evaluation",
    "08_registry": "11. Model registry",
    "09_projects": "12. Projects",
    "10_client": "13. MLflow client",
    "11_cli": "14. CLI",
    "12_tracking_server": "3. Quickstart with a server; 7. Tracking server",
    "13_serving": "8. Model component: serving",
    "14_remote_storage": "7. Scenario 4; 15. AWS integration",
    "15_auth": "beyond the guide: authentication",
    "16_model_format": "8. Storage format, Model API; 9. Custom flavors; pre-deployment checks",
    "17_sagemaker": "15. AWS integration: SageMaker",
    "18_logged_models": "beyond the guide: logged models (5. Multiple runs: checkpoints)",
    "19_tuning": "beyond the guide: hyperparameter tuning",
    "20_migration": "beyond the guide: migrating (3. Tracking: mlruns, mlflow ui)",
}


def chapter_tags(script: str) -> dict[str, str]:
    """``{"chapter": "01_tracking", "guide_section": "3. Tracking"}`` for a script's ``__file__``.

    Every experiment a script creates carries them, so the MLflow UI can filter by chapter
    (search experiments with ``tags.chapter = '01_tracking'``).
    """
    from pathlib import Path

    folder = next(part for part in reversed(Path(script).resolve().parts) if part[:2].isdigit() and part[2:3] == "_")
    return {"chapter": folder, "guide_section": GUIDE_SECTIONS[folder]}


def tag_chapter(experiment, script: str) -> None:
    """Tag ``experiment`` (an ``Experiment``, or its id) with :func:`chapter_tags`: the UI's chapter filter.

    A tag the experiment already has is not set again. Safe when several processes start on
    one new experiment at once: MLflow's SQL store sets an experiment tag by looking for the
    row, then inserting it, so two first writers can both insert and the second fails with
    ``UNIQUE constraint failed: experiment_tags``. The loser tries once more, which then
    updates the row the winner wrote (tests/test_robustness.py replays that collision).
    """
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    if isinstance(experiment, str):
        experiment = client.get_experiment(experiment)
    for key, value in chapter_tags(script).items():
        if experiment.tags.get(key) == value:
            continue
        try:
            client.set_experiment_tag(experiment.experiment_id, key, value)
        except MlflowException:
            client.set_experiment_tag(experiment.experiment_id, key, value)
