"""System services some tests need beyond requirements.txt: PostgreSQL (chapter 14) and a Chromium (chapter 12's UI).

Where one is missing, the test is skipped with a one-line reason naming what to
install, and everything else runs. Under ``CI=true`` a missing service fails the
test with the same line instead: CI proves every chapter, it never skips one.
"""

from __future__ import annotations

import os
import pwd
import shutil

import pytest

POSTGRES_HINT = (
    "`sudo make system-deps` (Debian/Ubuntu) or `brew install postgresql@16` with its bin folder on PATH (macOS)"
)
CHROMIUM_HINT = (
    "`sudo make system-deps` (Debian/Ubuntu) or `.venv/bin/playwright install chromium` (macOS, no root), "
    "or set CHROMIUM to a Chromium executable"
)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require(what: str, found: bool, hint: str) -> None:
    """Skip the test (fail it under ``CI=true``) unless ``found``: ``needs <what>; install: <hint>``."""
    if found:
        return
    message = f"needs {what}; install: {hint}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def postgres_found() -> bool:
    """PostgreSQL's tools, looked up exactly as winelab.remote starts the cluster."""
    from winelab.errors import UserError
    from winelab.remote import pg_bin

    try:
        pg_bin("initdb")
        pg_bin("pg_ctl")
    except UserError:
        return False
    if os.geteuid() == 0:  # root runs them as the postgres user (runuser -u postgres)
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return False
        return shutil.which("runuser") is not None
    return True


def require_postgres() -> None:
    require("PostgreSQL (initdb, pg_ctl)", postgres_found(), POSTGRES_HINT)


def chromium_executable() -> str | None:
    """The browser to launch: ``CHROMIUM`` if set, else Debian's ``chromium``; None: Playwright's own.

    The lookup is ``make screenshots``'s; a ``CHROMIUM`` that is not an executable file skips
    (or fails) the test rather than being ignored.
    """
    from winelab import screenshots
    from winelab.errors import UserError

    try:
        return screenshots.chromium_executable()
    except UserError:
        require(f"a Chromium at CHROMIUM={os.environ['CHROMIUM']}", False, CHROMIUM_HINT)
