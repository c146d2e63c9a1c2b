"""Run the test suite against the newest versions of every dependency.

    python -m tools.newest                  # fresh .venv-newest, newest packages, pytest -n auto
    python -m tools.newest --reuse          # keep .venv-newest if it exists (only upgrade)
    python -m tools.newest -- tests/test_01_tracking.py -n 2    # pytest arguments after --

``requirements.in`` is installed with every version specifier removed
(``mlflow[auth]==3.17.2`` becomes ``mlflow[auth]``), so pip picks the newest
release the index serves whose dependencies it can also get. An announced
release with a missing dependency (e.g. mlflow 3.18.0, which requires
mlflow-tracing==3.18.0, not served yet) makes pip's resolver fall back to the
previous one; the script prints the newest version the index lists next to the
one installed and, in one line, the package that blocks it, so such a fallback
is visible. Then ``winelab`` is installed in editable mode and the suite runs
with the new venv's Python. The exit status is pytest's.

Only the standard library is used here: the script runs before the venv exists.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from winelab.servers import mlflow_free_env

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VENV = REPO / ".venv-newest"
# The packages whose versions matter most for the examples; the summary shows them.
WATCHED = ("mlflow", "mlflow-skinny", "scikit-learn", "pandas", "numpy", "scipy", "skops", "pytest")

_SPECIFIER = re.compile(r"\s*(===|==|~=|!=|<=|>=|<|>).*$")


def unpinned(requirements_in: Path) -> list[str]:
    """The requirement names (with extras, without versions, markers or comments) of ``requirements_in``."""
    names = []
    for raw in requirements_in.read_text().splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        names.append(_SPECIFIER.sub("", line).strip())
    return names


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, **kwargs)


def base_python() -> str:
    """The interpreter to build the venv from (a venv's own base, not the venv)."""
    return getattr(sys, "_base_executable", None) or sys.executable


def index_versions(python: Path, package: str) -> list[str]:
    """Versions the index lists for ``package``, newest first (empty if pip cannot say)."""
    completed = subprocess.run(
        [str(python), "-m", "pip", "index", "versions", package],
        capture_output=True,
        text=True,
    )
    match = re.search(r"Available versions: (.+)", completed.stdout)
    return [version.strip() for version in match.group(1).split(",")] if match else []


# pip's messages for a requirement the index cannot serve; the first group is the requirement
_UNSERVED = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies the requirement)\s+(\S+)"
)


def blocker(pip_errors: str, package: str, version: str) -> str:
    """One line naming what blocks ``package==version``, from pip's error output.

    >>> blocker("ERROR: No matching distribution found for mlflow-tracing==3.18.0", "mlflow", "3.18.0")
    'blocked by mlflow-tracing==3.18.0, which the index does not serve'
    """
    errors = [line.removeprefix("ERROR: ").strip() for line in pip_errors.splitlines() if line.startswith("ERROR:")]
    for line in errors:
        match = _UNSERVED.search(line)
        if match and match.group(1) != f"{package}=={version}":
            return f"blocked by {match.group(1)}, which the index does not serve"
    return errors[-1] if errors else "installable alone; another installed package's pin holds it back"


def why_not(python: Path, package: str, version: str) -> str:
    """Why pip does not install ``package==version``: the blocking requirement, else pip's last error line."""
    completed = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            f"{package}=={version}",
        ],
        capture_output=True,
        text=True,
    )
    return blocker(completed.stderr, package, version)


def differences(python: Path, requirements_txt: Path) -> list[str]:
    """Installed packages whose version differs from the pin in ``requirements_txt``."""
    pins = {}
    for line in requirements_txt.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line.strip())
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    listing = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True, check=True
    ).stdout
    installed = {item["name"].lower().replace("_", "-"): item["version"] for item in json.loads(listing)}
    return [
        f"{name} {pin} -> {installed[name]}" for name, pin in sorted(pins.items()) if installed.get(name, pin) != pin
    ]


def installed_versions(python: Path, packages) -> dict[str, str]:
    code = (
        "import sys\nfrom importlib import metadata\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n        print(name, metadata.version(name))\n"
        "    except metadata.PackageNotFoundError:\n        print(name, '-')\n"
    )
    completed = subprocess.run([str(python), "-c", code, *packages], capture_output=True, text=True, check=True)
    return dict(line.split(" ", 1) for line in completed.stdout.splitlines())


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = []
    if "--" in argv:
        at = argv.index("--")
        argv, pytest_args = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(
        prog="python -m tools.newest", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="venv folder (default: %(default)s)")
    parser.add_argument("--reuse", action="store_true", help="upgrade an existing venv instead of rebuilding it")
    parser.add_argument("--no-tests", action="store_true", help="only build the venv and print the versions")
    args = parser.parse_args(argv)
    pytest_args = pytest_args or ["-n", "auto"]

    venv = args.venv.resolve()
    python = venv / "bin" / "python"
    started = time.perf_counter()

    # A fresh venv, ignored by git from the inside (Python 3.13's venv does this itself)
    if venv.exists() and not args.reuse:
        shutil.rmtree(venv)
    if not python.exists():
        if run([base_python(), "-m", "venv", str(venv)]).returncode:
            return 1
    (venv / ".gitignore").write_text("# created by python -m tools.newest\n*\n")

    # requirements.in without version pins: pip resolves to the newest installable set
    names = unpinned(REPO / "requirements.in")
    print(f"installing {len(names)} direct requirements unpinned: {' '.join(names)}", flush=True)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    if run([*pip, "--upgrade", "pip"]).returncode:
        return 1
    if run([*pip, "--upgrade", "--upgrade-strategy", "eager", *names]).returncode:
        print("error: pip could not install the newest requirements (see above)", file=sys.stderr)
        return 1
    if run([*pip, "--no-deps", "-e", str(REPO)]).returncode:
        return 1
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True)
    print(f"pip check: {(check.stdout or check.stderr).strip()}")

    # What was installed, next to the newest version the index lists
    versions = installed_versions(python, WATCHED)
    fallback = ""
    print(f"\nbuilt {venv} in {time.perf_counter() - started:.0f} s; versions:")
    for name, version in versions.items():
        listed = index_versions(python, name)
        note = ""
        if listed and listed[0] != version:
            reason = why_not(python, name, listed[0])
            note = f"  (index lists {listed[0]}, not installable: {reason})"
            if name == "mlflow":  # the fallback from the newest MLflow, and what blocks it, in one line
                fallback = f"pip fell back from mlflow {listed[0]} to {version}: {reason}"
        print(f"  {name:<14} {version}{note}")
    newer = differences(python, REPO / "requirements.txt")
    print("newer than requirements.txt: " + (", ".join(newer) if newer else "nothing (the pins are the newest)"))
    print(f"MLflow {versions['mlflow']}", flush=True)
    if fallback:
        print(fallback, flush=True)
    if args.no_tests:
        return 0

    # The whole suite with the new venv's Python (scripts run with the same interpreter)
    env = mlflow_free_env(VIRTUAL_ENV=str(venv))
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    started = time.perf_counter()
    status = run([str(python), "-m", "pytest", *pytest_args], cwd=REPO, env=env).returncode
    verdict = "passed" if status == 0 else f"FAILED (pytest exit {status})"
    print(f"\ntest suite with MLflow {versions['mlflow']}: {verdict} in {time.perf_counter() - started:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
