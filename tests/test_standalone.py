"""Every lesson script runs when its chapter folder is copied out of the repository.

What a learner does: copy ``examples/NN_topic/`` anywhere, make a venv from
requirements.txt alone (no ``pip install -e .``), run the scripts. Here:

- **what they import** (read from the source, for every file in examples/): the standard
  library, packages of requirements.txt, and modules of the script's own folder; a launcher
  (a script that only starts and stops services) may also use the project's ``winelab``.
- **they run copied**: each lesson script's real run of the session is its copy in a copy of
  examples/ outside the repository, run by an interpreter that has every installed package but
  cannot import ``winelab``, with ``-s`` and without ``PYTHONPATH`` (tests/_suite/runner.py,
  ``Runner.standalone``). The chapter test that makes that run checks what it recorded, as for
  any run; conftest.py fails a full session in which a lesson script had no successful
  standalone run. The tests below check the arrangement itself.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from harness import EXAMPLES, LAUNCHERS, REPO, clean_env

SOURCES = sorted(EXAMPLES.rglob("*.py"))


def relative(path: Path) -> str:
    return path.relative_to(EXAMPLES).as_posix()


def requirement_modules() -> set[str]:
    """Top-level import names of every distribution requirements.txt pins (and their dependencies)."""
    names = set()
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(line.split("==")[0].split("[")[0].strip().lower().replace("_", "-"))
    modules = set()
    for module, distributions in metadata.packages_distributions().items():
        if any(distribution.lower().replace("_", "-") in names for distribution in distributions):
            modules.add(module)
    return modules


def imported_modules(source: Path) -> set[str]:
    """The top-level names a file imports (``from . import`` excluded: none of ours does that)."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


@pytest.fixture(scope="module")
def allowed_packages() -> set[str]:
    return set(sys.stdlib_module_names) | requirement_modules()


@pytest.mark.parametrize("source", SOURCES, ids=relative)
def test_imports_only_public_packages_and_its_own_folder(source, allowed_packages):
    own_folder = {path.stem for path in source.parent.glob("*.py")}
    allowed = allowed_packages | own_folder | ({"winelab"} if relative(source) in LAUNCHERS else set())
    strays = sorted(imported_modules(source) - allowed)
    assert not strays, f"{relative(source)} imports {strays}: not in requirements.txt nor in its folder"


def test_winelab_is_not_a_requirement(allowed_packages):
    """The check above means something: the project's own package is not among what a copy may import."""
    assert "winelab" not in allowed_packages
    assert {"mlflow", "sklearn", "pandas", "numpy"} <= allowed_packages


# --- The copies, run -------------------------------------------------------------------------
#
# Every lesson script's real run of a session is a standalone one (tests/_suite/runner.py): the first
# chapter test that runs it successfully runs its copy, outside the repository, with an
# interpreter that cannot import winelab, and then checks what it recorded as usual. At the
# end of a full session, conftest.py fails the suite if a lesson script had no successful
# standalone run. The tests below check the arrangement itself.


def test_the_standalone_interpreter_has_the_packages_but_not_winelab(runner):
    python, copy = runner.standalone()
    probe = "import importlib.util as u; print([bool(u.find_spec(n)) for n in ('mlflow', 'sklearn', 'winelab')])"
    result = subprocess.run(
        [python, "-s", "-c", probe], capture_output=True, text=True, env=clean_env(PYTHONPATH=None), check=True
    )
    assert result.stdout.strip() == "[True, True, False]"
    assert not copy.is_relative_to(REPO), "the copy lies outside the repository"
    copied = sorted(path.relative_to(copy).as_posix() for path in copy.rglob("*") if path.is_file())
    ours = sorted(
        path.relative_to(EXAMPLES).as_posix()
        for path in EXAMPLES.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    assert set(ours) <= set(copied), "every chapter folder is copied whole"


def test_a_copied_lesson_script_runs_and_records(runner, store):
    """Chapter 01's tracked run from the copy, by the interpreter without winelab: the run is in the store."""
    _, copy = runner.standalone()
    script = "01_tracking/basic_regression_mlflow.py"
    env = clean_env(MLFLOW_TRACKING_URI=store.uri)
    argv = [str(EXAMPLES / script), "--alpha", "0.3"]
    result = runner.finish(runner.start(argv, cwd=store.workdir, env=env, standalone=True))
    assert "No module named" not in result.stderr
    [run] = store.runs("experiment_1")
    assert run.info.status == "FINISHED" and run.data.params == {"alpha": "0.3", "l1_ratio": "0.7"}
    assert run.data.tags["mlflow.source.name"] == str(copy / script), "it ran from the copy"
