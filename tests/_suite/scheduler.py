"""xdist scheduling by shared setup (loaded by tests/conftest.py).

Tests that share a module-scoped fixture (a served model, a remote stack, one script run read
by several tests) go to one worker, so that setup runs once; every other test is spread as
xdist's ``load`` scheduling spreads it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from _suite.runner import SUITE_DIR_ENV


def shared_setup_group(item) -> str | None:
    """The group of a test that uses a module-scoped fixture: its module, plus that fixture's params.

    A module-scoped fixture (a served model, a remote stack, a script run shared by several
    tests) runs once per worker that needs it, so its tests belong on one worker. Tests of the
    same module on different stores (``module_store``'s params) form different groups, and
    still spread over the workers.
    """
    fixtureinfo = getattr(item, "_fixtureinfo", None)
    if fixtureinfo is None:
        return None
    shared = sorted(name for name, defs in fixtureinfo.name2fixturedefs.items() if defs and defs[-1].scope == "module")
    if not shared:
        return None
    params = getattr(getattr(item, "callspec", None), "params", {})
    return "-".join([item.module.__name__, *(str(params[name]) for name in shared if name in params)])


def pytest_collection_modifyitems(config, items):
    """Each xdist worker writes down the groups of what it collected, for the scheduler below."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get(SUITE_DIR_ENV):
        groups = {item.nodeid: group for item in items if (group := shared_setup_group(item))}
        (Path(os.environ[SUITE_DIR_ENV]) / f"groups-{worker}.json").write_text(json.dumps(groups))


def pytest_xdist_make_scheduler(config, log):
    """xdist's ``load`` scheduling, but the tests of one shared-setup group go to one worker.

    (xdist's own ``--dist loadgroup`` marks do not reach its scheduler with pytest 9.)
    Groups are handed out first, largest first; every other test is a unit of its own.
    """
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    suite_dir = Path(os.environ[SUITE_DIR_ENV])

    class SharedSetupScheduling(LoadScopeScheduling):
        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:  # called once every worker has collected (and written its groups)
                self.groups = {}
                for path in suite_dir.glob("groups-*.json"):
                    self.groups.update(json.loads(path.read_text()))
            return self.groups.get(nodeid, nodeid)

    return SharedSetupScheduling(config, log)
