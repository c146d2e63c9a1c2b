"""Test harness: run example scripts as a learner does, then read back what MLflow stored.

Every test gets its own tracking store and working folder under ``tmp_path``,
so the suite runs in parallel (``pytest -n auto``). Scripts run in a fresh
``python path/to/script.py`` process with ``cwd`` set to that folder and
``MLFLOW_TRACKING_URI`` pointing at the store.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import DEPRECATION, Store, clean_env, make_store, not_ignored, run_python, script_path


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """An empty SQLite store with MLflow's schema already migrated.

    Migrating a fresh store takes ~1.5 s; copying this file takes a millisecond.
    """
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


def activate(store: Store, monkeypatch) -> Store:
    """Give the test process the store's settings too (its MlflowClient needs the file-store opt-in)."""
    for key, value in store.env.items():
        monkeypatch.setenv(key, value)
    return store


@pytest.fixture
def store(tmp_path, migrated_db) -> Store:
    """A fresh, migrated SQLite store (MLflow 3's default backend)."""
    return make_store("sqlite", tmp_path, migrated_db)


@pytest.fixture(params=["sqlite", "file"])
def any_store(request, tmp_path, migrated_db, monkeypatch) -> Store:
    """The same test on the default SQLite store and on the legacy ./mlruns file store."""
    return activate(make_store(request.param, tmp_path, migrated_db), monkeypatch)


@pytest.fixture
def file_store(tmp_path, migrated_db, monkeypatch) -> Store:
    """The legacy ./mlruns file store, with MLflow 3.13's opt-in set."""
    return activate(make_store("file", tmp_path, migrated_db), monkeypatch)


# The store a test asks for is the one run_script points the script at.
STORE_FIXTURES = ("any_store", "file_store", "store")


@pytest.fixture
def run_script(request):
    """Run an example script against the test's store: ``run_script("01_tracking/x.py", "--alpha", "0.4")``.

    ``ok=True`` (default) asserts a zero exit; ``ok=False`` asserts a non-zero one.
    Either way it asserts that nothing on stderr mentions a deprecation.
    """

    def run(relative: str, *args: str, ok: bool = True, env: dict | None = None, timeout: float = 180):
        chosen = next((name for name in STORE_FIXTURES if name in request.fixturenames), "store")
        active = request.getfixturevalue(chosen)
        full_env = clean_env(**{"MLFLOW_TRACKING_URI": active.uri, **active.env, **(env or {})})
        before = set(os.listdir(active.workdir))
        result = run_python([str(script_path(relative)), *args], cwd=active.workdir, env=full_env, timeout=timeout)
        written = [  # a trailing / lets .gitignore's folder patterns match
            name + "/" if (active.workdir / name).is_dir() else name
            for name in sorted(set(os.listdir(active.workdir)) - before)
        ]
        assert not not_ignored(written), f"{relative} wrote files that .gitignore misses: {not_ignored(written)}"
        context = f"{relative} {' '.join(args)}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        if ok:
            assert result.returncode == 0, f"script failed: {context}"
        else:
            assert result.returncode != 0, f"script should have failed: {context}"
        deprecations = [line for line in result.stderr.splitlines() if DEPRECATION.search(line)]
        assert not deprecations, f"deprecation output from {relative}: {deprecations}"
        return result

    return run


@pytest.fixture(scope="session")
def wine():
    """The verified wine data (the tests never download: make/CI fill the cache first)."""
    from winelab import load_wine

    return load_wine()
