"""The house rules of tests/ and src/, read from the source (CONTRIBUTING.md, tests/_suite/README.md).

- a fixture has one definition: none of conftest.py's or services.py's is defined again in a
  test module, and none is shared by re-assignment (``x = other_module.x``);
- conftest.py holds fixtures, not hooks (the session's hooks are in tests/_suite/);
- ``winelab`` (what launchers and tests share) never imports the maintainers' ``tools``.
"""

from __future__ import annotations

import ast
from pathlib import Path

from harness import REPO

TESTS = REPO / "tests"
SHARED = [TESTS / "conftest.py", TESTS / "services.py"]


def fixtures(path: Path) -> set[str]:
    """Names of the functions decorated with ``pytest.fixture`` (called or not) in ``path``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) == "pytest.fixture":
                    found.add(node.name)
    return found


def test_every_shared_fixture_has_one_definition_and_is_never_reassigned():
    shared = {name: path.name for path in SHARED for name in fixtures(path)}
    assert {"store", "run_script", "tracking_server", "taken_port"} <= set(shared)  # the reader sees them
    problems = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text())
        problems += [f"{path.name} defines {name} again" for name in fixtures(path) if name in shared]
        for node in tree.body:  # module level: `tracking_server = servers_fixtures.tracking_server`
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute):
                if node.value.attr in shared:
                    problems.append(f"{path.name} re-assigns {ast.unparse(node.value)}")
    assert problems == []


def test_the_checker_above_sees_a_redefinition_and_a_reassignment(tmp_path):
    module = tmp_path / "test_x.py"
    module.write_text("import pytest\nimport services\n\n@pytest.fixture(scope='module')\ndef store():\n    pass\n")
    assert fixtures(module) == {"store"}
    tree = ast.parse("tracking_server = services.tracking_server\n")
    assert isinstance(tree.body[0].value, ast.Attribute) and tree.body[0].value.attr == "tracking_server"


def test_conftest_holds_fixtures_and_no_hooks():
    tree = ast.parse((TESTS / "conftest.py").read_text())
    hooks = [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("pytest_")]
    assert hooks == [], "session hooks belong in tests/_suite/ (session.py, scheduler.py)"


def test_winelab_never_imports_the_maintainers_tools():
    for path in sorted((REPO / "src" / "winelab").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom | ast.Import):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(name.split(".")[0] == "tools" for name in names), f"{path.name} imports tools"
