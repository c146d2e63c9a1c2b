"""Every lesson script runs when its chapter folder is copied out of the repository.

What a learner does: copy ``examples/NN_topic/`` anywhere, make a venv from
requirements.txt alone (no ``pip install -e .``), run the scripts. Here:

- **what they import** (read from the source, for every file in examples/): the standard
  library, packages of requirements.txt, and modules of the script's own folder; a launcher
  (a script that only starts and stops services) may also use the project's ``winelab``.
- **they run copied**: examples/ is copied into a temporary folder, and each lesson script runs
  there through an interpreter that has every installed package but cannot import ``winelab``
  (a venv whose only link to the project's venv is a ``.pth`` line naming its site-packages, so
  the editable install's own ``.pth`` is never processed), started with ``-E -s`` and without
  ``PYTHONPATH``. Each chapter runs the demo's steps (``winelab.demo.PLAN``), each script once,
  in order (later scripts read what earlier ones recorded), into a fresh SQLite store, and the
  store is read back. A lesson script that needs a service runs the way the demo runs it: its
  launcher starts the service from the repository and runs the copied script against it.

These are the lesson scripts' real ``python script.py`` runs of a session (tests/runner.py);
their runs in the chapter tests are forked from the warm interpreter.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

import pytest
import runner
from harness import EXAMPLES, LAUNCHERS, REPO, clean_env, make_store

from winelab.demo import PLAN, Step

SCRIPTS = sorted(path for path in EXAMPLES.glob("*/*.py") if not path.name.startswith("_"))
LESSONS = [path for path in SCRIPTS if path.relative_to(EXAMPLES).as_posix() not in LAUNCHERS]
SOURCES = sorted(EXAMPLES.rglob("*.py"))
# Chapters whose demo steps only start services for scripts of other chapters (14 runs 01's).
NO_LESSON_OF_ITS_OWN = {"14_remote_storage"}
# Chapters whose runs land in a store that is gone when the step ends; their own tests read it live.
THROWAWAY_STORE = {"15_auth": "auth_server.py keeps its server's store in a temporary folder it deletes on exit"}


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


@pytest.fixture(scope="session")
def standalone(tmp_path_factory) -> tuple[str, Path]:
    """``(python, copied examples folder)``: an interpreter that cannot import winelab, and the copy."""
    root = tmp_path_factory.mktemp("standalone")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site) / "project_packages.pth").write_text("\n".join(sorted(ours)) + "\n")
    probe = subprocess.run(
        [str(python), "-E", "-s", "-c", "import mlflow, sklearn, pandas\nimport winelab"],
        capture_output=True,
        text=True,
        env=clean_env(PYTHONPATH=None),
    )
    assert "No module named 'winelab'" in probe.stderr, f"winelab is importable: {probe.stderr}"
    copy = root / "somewhere-else"
    shutil.copytree(EXAMPLES, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return str(python), copy


def chapter_steps(chapter: str) -> list[Step]:
    """The demo's steps of a chapter, each script's first one only (its later ones vary options)."""
    seen, steps = set(), []
    for step in PLAN:
        if step.chapter == chapter and step.script not in seen:
            seen.add(step.script)
            steps.append(step)
    return steps


def lessons_run_by(step: Step) -> list[str]:
    """The lesson scripts a step runs: its own script, or those a launcher hands to it."""
    if step.script not in LAUNCHERS:
        return [step.script]
    return [relative(Path(arg)) for arg in step.args if arg.startswith(str(EXAMPLES)) and arg.endswith(".py")]


CHAPTERS = sorted({step.chapter for step in PLAN} - NO_LESSON_OF_ITS_OWN)


def recorded_runs(store) -> list:
    """The runs in the chapter's store, and in the stores its scripts or servers made in the working folder.

    Chapter 12's and 15's servers keep their own ``mlflow.db``, and chapter 20 migrates into one.
    """
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    runs = list(store.all_runs())
    for db in sorted(store.workdir.rglob("mlflow.db")):
        client = MlflowClient(tracking_uri=f"sqlite:///{db}")
        ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
        runs += client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000) if ids else []
    return runs


def test_every_lesson_script_has_a_standalone_run():
    covered = {script for chapter in CHAPTERS for step in chapter_steps(chapter) for script in lessons_run_by(step)}
    assert {relative(path) for path in LESSONS} <= covered


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_copied_out_of_the_repository(chapter, standalone, tmp_path, migrated_db):
    python, copy = standalone
    store = make_store("sqlite", tmp_path, migrated_db)
    # A learner's activated venv puts `mlflow` on PATH (chapters 09 and 11 call it).
    path = f"{Path(sys.executable).parent}:{clean_env().get('PATH', '')}"
    env = clean_env(MLFLOW_TRACKING_URI=store.uri, PYTHONPATH=None, PATH=path, **store.env)
    the_runner = runner.current()
    for step in chapter_steps(chapter):
        copied_args = [python if arg == sys.executable else arg.replace(str(EXAMPLES), str(copy)) for arg in step.args]
        if step.script in LAUNCHERS:
            # The service from the repository; the lesson script it runs, copied, by `python`.
            argv = [str(EXAMPLES / step.script), *copied_args]
            result = the_runner.run(argv, cwd=store.workdir, env=env, timeout=300, new_session=True)
            for script in lessons_run_by(step):
                the_runner.record(script, "real", 0, "standalone (by its launcher)")
        else:
            argv = ["-E", "-s", str(copy / step.script), *copied_args]
            process = the_runner.start(argv, cwd=store.workdir, env=env, python=python, script=step.script)
            result = the_runner.finish(process, timeout=300)
        assert "No module named" not in result.stderr, result.stderr
    runs = recorded_runs(store)
    assert runs or chapter in THROWAWAY_STORE, f"{chapter}: the copied scripts recorded no run"
    assert all(run.info.status in ("FINISHED", "KILLED", "FAILED") for run in runs), "no run left RUNNING"
    assert not list(copy.rglob("mlflow.db")), "nothing was written into the copied chapter folders"
