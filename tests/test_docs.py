"""The READMEs and docs/ pages say what happens, and the "What changed since the guide" table holds.

One test per README (root, data/, every chapter) and per page of docs/, found by a glob,
with the file's path as the test id. In each:

- every ``python examples/...`` command names an existing script, and every ``--option`` it
  uses is in that script's parser (read once per session by ``tests/_suite/introspection.py``,
  which runs every script up to its argument parsing, all in one process);
- every file the README names (a relative link, or a path in backticks) exists;
- every ``make`` target it names is in the Makefile.

The top README stays a front door (100 lines at most); the MLflow version docs/changes.md
calls current is the installed one. Then the claims of the change table (docs/changes.md)
that a test can pin against the installed MLflow: a default, a parameter, a raised warning,
a file's content.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
from _suite import introspection
from harness import EXAMPLES, REPO

DOCS = REPO / "docs"
CONTRIBUTING = REPO / "CONTRIBUTING.md"
SUITE_README = REPO / "tests" / "_suite" / "README.md"
READMES = sorted(
    [REPO / "README.md", REPO / "data" / "README.md", *EXAMPLES.glob("*/README.md"), *DOCS.glob("*.md")]
    + [CONTRIBUTING, SUITE_README]
)
README_MAX_LINES = 100
# pages a newcomer reads whole: their length is part of the promise
SHORT_PAGES = {CONTRIBUTING: 80, SUITE_README: 60}

# `python examples/x/y.py --a 1 --b` up to the end of the command (a backtick, a comment, a pipe...).
COMMAND = re.compile(r"(?<![\w/.-])(?:python3?|\S*/bin/python)\s+(examples/[\w./-]+\.py)([^\n`|#;&<>]*)")
MAKE = re.compile(r"(?:^|`|\$ |sudo |&& )\s*make\s+([a-z][\w-]*)", re.MULTILINE)
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
PLACEHOLDER = re.compile(r"[<>*{}$…]|\.\.\.|\bNN\b|NN_topic|^~|^/|://")
SOURCE_SUFFIXES = (".py", ".md", ".yaml", ".yml", ".ini", ".toml", ".cfg", ".txt", ".json")


def readme_id(readme: Path) -> str:
    return str(readme.relative_to(REPO))


def readme_text(readme: Path) -> str:
    return readme.read_text().replace("\\\n", " ")  # shell line continuations


def commands(text: str) -> list[tuple[str, list[str]]]:
    """``[(script, [--option, ...]), ...]``; options after a bare ``--`` belong to another command."""
    found = []
    for script, tail in COMMAND.findall(text):
        tokens = tail.split()
        if "--" in tokens:
            tokens = tokens[: tokens.index("--")]
        options = [token.split("=")[0].rstrip(")\"'") for token in tokens if token.startswith("--")]
        found.append((script, options))
    return found


def named_files(readme: Path, text: str) -> set[str]:
    """Relative link targets, and paths in backticks that point into the repository's sources."""
    names = {target.split("#")[0] for target in LINK.findall(text)}
    names = {name for name in names if name and not re.match(r"[a-z]+:", name)}
    # A chapter folder holds only sources (scripts write elsewhere); the root also holds .venv/, demo-store/...
    in_chapter = readme.parent.parent == EXAMPLES
    folder_entries = (
        {path.name for path in readme.parent.iterdir() if path.name != "__pycache__"} if in_chapter else set()
    )
    for span in CODE_SPAN.findall(text):
        for token in span.split():
            token = token.strip("\"'(),:;")
            if PLACEHOLDER.search(token) or "=" in token or token.startswith("-"):
                continue
            first = token.split("/")[0]
            if "/" not in token:
                if token.endswith(".py"):  # a script or helper of this course
                    names.add(token)
            elif first in {
                "examples",
                "src",
                "tools",
                "tests",
                "data",
                ".ci",
                "winelab",
                "mlflow",
            } | folder_entries and (token.endswith(("/", *SOURCE_SUFFIXES)) or "." not in Path(token).name):
                names.add(token)  # a path into this repository, or into MLflow's source
    return names


def exists(readme: Path, name: str) -> bool:
    import mlflow

    if "/" not in name:  # a bare file name: next to the page, or a chapter's ("chapter 09's register.py")
        return (readme.parent / name).exists() or any(EXAMPLES.rglob(name))
    site_packages = Path(mlflow.__file__).parents[1]
    return any((base / name).exists() for base in (readme.parent, REPO, REPO / "src", site_packages))


def makefile_targets() -> set[str]:
    targets = set()
    for line in (REPO / "Makefile").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\- ]+?)\s*:(?![=:])", line)
        if match:
            targets.update(match.group(1).split())
    return targets


@pytest.fixture(scope="module")
def parsers() -> dict[str, dict]:
    """``{"examples/...py": {"error": ..., "options": [...]}}`` for every example script."""
    return {f"examples/{script}": entry for script, entry in introspection.parsers().items()}


@pytest.mark.parametrize("readme", READMES, ids=readme_id)
def test_readme_commands_files_and_make_targets_exist(readme, parsers):
    text = readme_text(readme)
    problems = []
    for script, options in commands(text):
        if script not in parsers:
            problems.append(f"`python {script}`: no such script")
            continue
        entry = parsers[script]
        if entry["error"]:
            problems.append(f"`python {script}`: cannot read its options ({entry['error']})")
        problems += [
            f"`python {script} {option}`: no such option" for option in options if option not in entry["options"]
        ]
    problems += [
        f"names `{name}`, which does not exist"
        for name in sorted(named_files(readme, text))
        if not exists(readme, name)
    ]
    targets = makefile_targets()
    problems += [
        f"`make {target}`: no such target in the Makefile" for target in MAKE.findall(text) if target not in targets
    ]
    assert not problems, f"{readme_id(readme)}:\n  " + "\n  ".join(problems)


def test_the_checks_above_can_fail(tmp_path):
    """The extractors find what a README names (so an empty result above is not a blind spot)."""
    readme = tmp_path / "README.md"
    text = (
        "```bash\npython examples/01_tracking/basic_regression_mlflow.py --alpha 0.5 \\\n    --no-such --seed=1"
        " -- mlflow ui --port 1  # a comment --ignored\nmake demo\nsudo make no-such-target\n```\n"
        "See [`data`](data/README.md), [gone](missing.md#part), `wine_project/wine.py`, `x/<id>/y.py`, `run.py`.\n"
    )
    readme.write_text(text)
    assert commands(readme_text(readme)) == [
        ("examples/01_tracking/basic_regression_mlflow.py", ["--alpha", "--no-such", "--seed"])
    ]
    assert MAKE.findall(text) == ["demo", "no-such-target"]
    assert "demo" in makefile_targets() and "no-such-target" not in makefile_targets()
    assert named_files(readme, text) == {"data/README.md", "missing.md", "run.py"}  # wine_project/: not here
    assert not exists(readme, "missing.md") and exists(readme, "data/README.md")
    assert exists(readme, "run.py") and not exists(readme, "no_such_script.py")
    readme_09 = EXAMPLES / "09_projects" / "README.md"
    assert "wine_project/wine.py" in named_files(readme_09, text) and exists(readme_09, "wine_project/wine.py")
    assert not exists(readme_09, "wine_project/gone.py")


def test_docs_pages_are_checked_and_linked_from_the_readme():
    """The pages the README moved its details to exist, are checked above, and are linked from it."""
    pages = {"changes.md", "testing.md", "teaching.md", "stores.md"}
    assert pages <= {page.name for page in DOCS.glob("*.md")}
    assert {DOCS / page for page in pages} <= set(READMES)
    linked = set(LINK.findall(readme_text(REPO / "README.md")))
    assert {f"docs/{page}" for page in pages} <= linked, f"the README links {sorted(linked)}"


def test_readme_is_a_front_door_of_at_most_100_lines():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it to {README_MAX_LINES} and move details to docs/"
    )


CURRENT_MLFLOW = re.compile(r"current pin,\s+\*\*MLflow (\d+\.\d+\.\d+)\*\*")


@pytest.mark.parametrize("page", sorted(SHORT_PAGES), ids=readme_id)
def test_contributing_and_the_suite_readme_stay_short(page):
    lines = page.read_text().splitlines()
    assert len(lines) <= SHORT_PAGES[page], f"{readme_id(page)} has {len(lines)} lines; keep it to {SHORT_PAGES[page]}"


def test_the_mlflow_version_the_docs_call_current_is_installed():
    """docs/changes.md names the MLflow it describes; that is the installed one (and the pin)."""
    import mlflow

    text = (DOCS / "changes.md").read_text()
    found = CURRENT_MLFLOW.findall(text)
    assert found, "docs/changes.md no longer says which MLflow is current ('current pin, **MLflow X.Y.Z**')"
    assert set(found) == {mlflow.__version__}, f"docs/changes.md calls MLflow {found} current"
    pin = re.search(r"^mlflow==(\S+)", (REPO / "requirements.txt").read_text(), re.M).group(1)
    major_minor = ".".join(mlflow.__version__.split(".")[:2])
    assert f"| now ({major_minor}) |" in text, f"the change table's header names another MLflow than {major_minor}"
    if mlflow.__version__ == pin:  # make test-newest installs a newer MLflow than the pin
        assert f"The pin is MLflow {pin}" in text, "docs/changes.md's pin section names another version"


# --- The change table's claims, pinned against the installed MLflow (see docs/changes.md) ---


def parameters(function) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(function).parameters)


def test_default_store_is_sqlite_unless_mlruns_already_holds_experiments(tmp_path, monkeypatch):
    from mlflow.tracking._tracking_service.utils import _get_default_tracking_uri

    monkeypatch.chdir(tmp_path)
    assert _get_default_tracking_uri() == "sqlite:///mlflow.db"
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")
    assert _get_default_tracking_uri() == "./mlruns"  # kept for old folders (then refused without the opt-in)


def test_set_experiment_takes_experiment_name_not_name():
    import mlflow

    assert "experiment_name" in parameters(mlflow.set_experiment)
    assert "name" not in parameters(mlflow.set_experiment)  # the guide's name= was never a parameter


def test_autolog_logs_datasets_by_default():
    import mlflow
    import mlflow.sklearn

    assert parameters(mlflow.autolog)["log_datasets"].default is True
    assert parameters(mlflow.sklearn.autolog)["log_datasets"].default is True


def test_log_model_takes_name_and_code_paths():
    import mlflow.pyfunc
    import mlflow.sklearn

    assert {"name", "code_paths"} <= set(parameters(mlflow.pyfunc.log_model))
    assert "code_path" not in parameters(mlflow.pyfunc.log_model)
    assert "name" in parameters(mlflow.sklearn.log_model)


def test_evaluate_moved_and_custom_metrics_are_gone():
    import mlflow
    import mlflow.models
    from mlflow.exceptions import MlflowException

    evaluate = parameters(mlflow.models.evaluate)
    assert "extra_metrics" in evaluate
    assert not {"custom_metrics", "baseline_model", "validation_thresholds"} & set(evaluate)
    with pytest.warns(FutureWarning, match="deprecated as of MLflow 3.0"), pytest.raises(MlflowException):
        mlflow.evaluate()  # the old name warns, then fails for want of data


def test_register_model_takes_tags_and_stages_are_deprecated_since_2_9():
    import mlflow
    from mlflow import MlflowClient

    assert "tags" in parameters(mlflow.register_model)
    assert "deprecated since 2.9.0" in MlflowClient.transition_model_version_stage.__doc__


def test_models_predict_defaults_to_virtualenv():
    from mlflow.models.cli import predict

    [env_manager] = [param for param in predict.params if param.name == "env_manager"]
    assert env_manager.default == "virtualenv"


def test_server_proxies_artifacts_unless_given_a_default_artifact_root():
    from mlflow.utils import cli_args
    from mlflow.utils.server_cli_utils import resolve_default_artifact_root

    serve = next(param for param in cli_args.SERVE_ARTIFACTS(lambda: None).__click_params__)
    assert serve.default is True
    assert resolve_default_artifact_root(True, None, "sqlite:///mlflow.db") == "mlflow-artifacts:/"
    assert resolve_default_artifact_root(True, "./dir", "sqlite:///mlflow.db") == "./dir"  # clients write there


def test_basic_auth_ships_no_admin_password():
    import configparser

    import mlflow

    config = configparser.ConfigParser()  # the file the basic-auth app reads when none is given
    config.read(Path(mlflow.__file__).parent / "server" / "auth" / "basic_auth.ini")
    assert config["mlflow"]["admin_username"] == "admin"
    assert "admin_password" not in config["mlflow"]


def test_logistic_regression_multi_class_went_with_scikit_learn_1_8():
    import sklearn
    from sklearn.linear_model import LogisticRegression

    major_minor = tuple(int(part) for part in sklearn.__version__.split(".")[:2])
    assert ("multi_class" in parameters(LogisticRegression)) == (major_minor < (1, 8))


def test_predict_accepts_int64_only_when_it_holds_0_and_1():
    """int64 against a double column: refused, except 0/1 columns (2.16.1+); int32 is cast."""
    import numpy as np
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from mlflow.models.utils import _enforce_schema
    from mlflow.types import ColSpec, Schema

    schema = Schema([ColSpec("double", "x")])
    for values in (np.array([0, 1, 1], dtype="int64"), np.array([0, 2], dtype="int32")):
        assert _enforce_schema(pd.DataFrame({"x": values}), schema)["x"].dtype == np.float64
    with pytest.raises(MlflowException, match="Can not safely convert int64 to float64"):
        _enforce_schema(pd.DataFrame({"x": np.array([0, 2], dtype="int64")}), schema)


def test_validate_serving_input_warns_as_deprecated_since_3_13(tmp_path, monkeypatch):
    """Deprecated as of 3.13.0, but the decorator (and so the FutureWarning) first ships in 3.14.0."""
    import mlflow.models
    from mlflow.exceptions import MlflowException

    monkeypatch.chdir(tmp_path)
    # The warning comes first; then the model is not found
    with pytest.warns(FutureWarning, match="deprecated since 3.13.0"), pytest.raises((MlflowException, OSError)):
        mlflow.models.validate_serving_input(str(tmp_path / "no-such-model"), {})


def test_gc_refuses_without_a_tracking_uri(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from mlflow.cli import gc
    from mlflow.exceptions import MlflowException
    from mlflow.tracking._tracking_service import utils

    monkeypatch.chdir(tmp_path)  # gc opens the default store (./mlflow.db here) before it refuses
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setattr(utils, "_tracking_uri", None)
    [tracking_uri] = [param for param in gc.params if param.name == "tracking_uri"]
    [backend_store] = [param for param in gc.params if param.name == "backend_store_uri"]
    assert backend_store.default is None  # then the store is MLFLOW_TRACKING_URI's (3.7+)
    if tracking_uri.default is not None:  # read from MLFLOW_TRACKING_URI when mlflow.cli was imported
        monkeypatch.setattr(tracking_uri, "default", None)
    result = CliRunner().invoke(gc, [])
    assert isinstance(result.exception, MlflowException)
    assert "Tracking URL is not set" in str(result.exception)


def test_scoring_server_is_uvicorn_and_fastapi():
    import inspect

    from mlflow.pyfunc import scoring_server

    command, _ = scoring_server.get_cmd("/tmp/model", port=5001)
    assert command.startswith("uvicorn ") and "gunicorn" not in command
    assert "FastAPI()" in inspect.getsource(scoring_server.init)
