"""Every example script's argument parser, read once per test session.

A driver process runs each script as ``__main__`` up to its ``parse_args`` (all in one
process: importing MLflow once) and reports, per script: the error if it never parsed,
every option string (``test_docs``: a README command uses only options the script has),
and invalid values for its numeric and choice options (``test_robustness``: the
bad-option sweep). The first xdist worker that asks writes the answer into the session
folder under a lock; the other workers and modules read it.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import EXAMPLES, clean_env

from _suite.runner import SUITE_DIR_ENV

SCRIPTS = sorted(path for path in EXAMPLES.glob("*/*.py") if not path.name.startswith("_"))

DRIVER = r'''
import argparse, json, os, re, runpy, shutil, signal, sqlite3, sys, tempfile, time, traceback

request = json.load(sys.stdin)
EXAMPLES = request["examples"]
PROBES = ("-1", "0", "2", "70000", "nan")  # out-of-range candidates, tried in this order
COUNT = re.compile(r"--(n|num|number)[-_]|(count|runs|steps|epochs|trials|workers|jobs|folds|rows|cv)$")
REAL = argparse.ArgumentParser.parse_known_args


class Parsed(BaseException):
    def __init__(self, parser):
        self.parser = parser


def capture(self, args=None, namespace=None):
    raise Parsed(self)


def forget_example_modules():
    """Chapter helpers (``_options.py``...) of different chapters may share a name."""
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(EXAMPLES):
            del sys.modules[name]


def parser_of(script):
    """Run the script as __main__ up to its argument parsing; return its parser."""
    forget_example_modules()
    sys.argv, sys.path[0] = [script], os.path.dirname(script)
    argparse.ArgumentParser.parse_known_args = capture
    try:
        runpy.run_path(script, run_name="__main__")
    except Parsed as parsed:
        return parsed.parser, None
    except BaseException as exc:
        return None, f"{type(exc).__name__}: {exc}"
    finally:
        argparse.ArgumentParser.parse_known_args = REAL
    return None, "the script ended without parsing any arguments"


def accepts(action, text):
    try:
        value = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, TypeError, ValueError):
        return False, None
    return (action.choices is None or value in action.choices), value


def invalid_values(parser):
    """{option: [invalid values]} for the numeric and choice options."""
    options = {}
    for action in parser._actions:
        names = [name for name in action.option_strings if name.startswith("--")]
        if not names or action.nargs == 0 or action.option_strings == ["-h", "--help"]:
            continue
        name = names[0]
        numeric = False
        for sample in ("1", "0.5"):
            ok, value = accepts(action, sample)
            numeric = numeric or (ok and isinstance(value, (int, float)) and not isinstance(value, bool))
        if numeric:
            values = ["abc"]
            out_of_range = next((probe for probe in PROBES if not accepts(action, probe)[0]), None)
            if out_of_range is not None:
                values.append(out_of_range)
            elif COUNT.search(name):
                values.append("0")  # a count of zero must be refused
        elif action.choices is not None:
            values = ["no-such-choice"]
        else:
            continue
        repeat = action.nargs if isinstance(action.nargs, int) else 1
        options[name] = [[name, *[value] * repeat] for value in values]
    return options


def option_strings(parser):
    """Every option string of the parser and of its subcommands' parsers."""
    names = set()
    for action in parser._actions:
        names.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                names.update(option_strings(subparser))
    return sorted(names)


results = {}
for script in request["scripts"]:
    parser, error = parser_of(script)
    entry = {"error": error, "options": [], "invalid": {}}
    if parser is not None:
        entry["options"] = option_strings(parser)
        entry["invalid"] = invalid_values(parser)
    results[script] = entry
forget_example_modules()
print(json.dumps(results))
'''


def _introspect() -> dict[str, dict]:
    request = {"examples": str(EXAMPLES), "scripts": [str(script) for script in SCRIPTS]}
    with tempfile.TemporaryDirectory(prefix="introspect-") as folder:
        completed = subprocess.run(
            [sys.executable, "-c", DRIVER],
            input=json.dumps(request),
            cwd=folder,
            env=clean_env(MLFLOW_TRACKING_URI=f"sqlite:///{folder}/introspection.db"),
            capture_output=True,
            text=True,
            timeout=300,
        )
    if completed.returncode:
        raise RuntimeError(f"introspection driver failed:\n{completed.stderr[-3000:]}")
    found = json.loads(completed.stdout.strip().splitlines()[-1])
    return {Path(path).relative_to(EXAMPLES).as_posix(): entry for path, entry in found.items()}


def parsers() -> dict[str, dict]:
    """``{"01_tracking/basic_regression.py": {"error": None, "options": [...], "invalid": {...}}, ...}``.

    ``invalid`` maps an option to argument lists that must be refused (``[["--alpha", "abc"], ...]``).
    A failed introspection raises and is not remembered: the next caller tries again.
    """
    suite_dir = os.environ.get(SUITE_DIR_ENV)
    if not suite_dir:
        return _introspect()
    answer = Path(suite_dir) / "parsers.json"
    with open(Path(suite_dir) / "parsers.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not answer.exists():
            answer.write_text(json.dumps(_introspect()))
    return json.loads(answer.read_text())
