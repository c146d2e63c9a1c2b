"""The session's own checks, run in the controlling process (loaded by tests/conftest.py).

- The session folder (``$WINELAB_SUITE_DIR``) the xdist workers share: the runner's ledger of
  every script run, the claims on each script's real run, the scheduler's groups.
- The real-run check: after a whole-suite session, every script under examples/ had a
  successful real ``python script.py`` run, and every lesson script a standalone one
  (copied out of the repository, an interpreter without ``winelab``).
- The tree check: the suite left nothing in the repository (``git status``, ignored files
  too, before and after).
- A summary line: how many script runs were real processes (and why), how many warm.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from harness import EXAMPLES, LAUNCHERS, REPO

from _suite.runner import SUITE_DIR_ENV, read_ledger

# Left alone by the tree check: caches and the virtual environments the Makefile builds.
NOT_CHECKED = ("__pycache__", ".pytest_cache", ".ruff_cache")
ENVIRONMENTS = (".venv",)


# --- The session: its shared folder, the tree check and the real-run check -------------------


def tree_state() -> dict[str, tuple]:
    """Every file git does not track (ignored ones too) with its size and mtime, and the tracked changes."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain=v1", "-z", "--ignored", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    state: dict[str, tuple] = {}
    for entry in filter(None, listed.split("\0")):
        code, path = entry[:2], entry[3:]
        top = path.split("/", 1)[0]
        if top.startswith(ENVIRONMENTS) or any(part in NOT_CHECKED for part in path.split("/")):
            continue
        full = REPO / path
        if code in ("??", "!!"):
            files = [full] if not full.is_dir() else [p for p in full.rglob("*") if not p.is_dir()]
            for file in files:
                relative = file.relative_to(REPO).as_posix()
                if any(part in NOT_CHECKED for part in relative.split("/")):
                    continue
                stat = file.lstat()
                state[relative] = ("untracked", stat.st_size, stat.st_mtime_ns)
        else:
            stat = full.lstat() if full.exists() else None
            state[path] = (code, stat and stat.st_size, stat and stat.st_mtime_ns)
    return state


def is_controller(config) -> bool:
    return not hasattr(config, "workerinput")


def pytest_addoption(parser):
    parser.addoption(
        "--no-warm",
        action="store_true",
        help="run every script as a real process, none forked from the warm interpreter (tests/_suite/README.md)",
    )


def pytest_configure(config):
    # Scripts run as from a terminal, where Ctrl-C works. A shell without job control starts
    # background commands (`make test &`) with SIGINT ignored, and every process inherits
    # that: Python then installs no KeyboardInterrupt handler, and the Ctrl-C tests fail.
    # A handler (unlike "ignore") is reset to the default in every program this one starts.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if is_controller(config):
        suite_dir = Path(tempfile.mkdtemp(prefix="winelab-suite-"))
        os.environ[SUITE_DIR_ENV] = str(suite_dir)  # the xdist workers start after this and inherit it
        config.stash[SUITE] = (suite_dir, tree_state())


SUITE = pytest.StashKey[tuple]()


def whole_suite(config) -> bool:
    """True when this session ran every test: no selection by path, keyword, mark or last failure."""
    testpaths = {str(REPO / path) for path in config.getini("testpaths")}
    chosen = {str(Path(arg.split("::")[0]).resolve()) for arg in config.args}
    return (
        not config.getoption("collectonly")
        and chosen <= testpaths | {str(REPO)}
        and not config.getoption("keyword")
        and not config.getoption("markexpr")
        and not config.getoption("lf", default=False)
        and not config.getoption("deselect", default=None)
    )


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not is_controller(config) or SUITE not in config.stash:
        return
    suite_dir, before = config.stash[SUITE]
    problems = []

    ledger = read_ledger(suite_dir)
    if whole_suite(config) and exitstatus != pytest.ExitCode.INTERRUPTED:
        scripts = sorted(p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.glob("*/*.py") if p.name[0] != "_")
        real_ok = {entry["script"] for entry in ledger if entry["mode"] == "real" and entry["exit"] == 0}
        missing = [script for script in scripts if script not in real_ok]
        if missing:
            problems.append(f"no successful real `python script.py` run of: {', '.join(missing)}")
        # A lesson script's real run must be its standalone one: copied out, without winelab.
        standalone_ok = {entry["script"] for entry in ledger if entry["why"] == "standalone" and entry["exit"] == 0}
        not_copied = [script for script in scripts if script not in LAUNCHERS and script not in standalone_ok]
        if not_copied:
            problems.append(f"no successful standalone run (copied, no winelab) of: {', '.join(not_copied)}")

    after = tree_state()
    leaked = sorted(path for path, state in after.items() if before.get(path) != state)
    if leaked:
        problems.append(f"the suite left files in the repository: {', '.join(leaked[:20])}")

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and ledger:
        reasons = Counter(entry["why"].split(" ")[0] for entry in ledger if entry["mode"] == "real")
        real = sum(reasons.values())
        why = ", ".join(f"{count} {reason}" for reason, count in reasons.most_common())
        reporter.write("\n")
        reporter.write_line(f"script runs: {real} real processes ({why}), {len(ledger) - real} warm (forked)")
    for problem in problems:
        if reporter is not None:
            reporter.write_line(f"SUITE CHECK FAILED: {problem}", red=True)
    if problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    shutil.rmtree(suite_dir, ignore_errors=True)
