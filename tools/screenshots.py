"""Take the README's screenshots of the MLflow UI on the demo store, in headless Chromium.

    python -m tools.screenshots --store demo-store --out docs/screenshots   # make screenshots

Starts ``mlflow ui`` on the store (127.0.0.1, a free port), closes the MLflow
Assistant side panel, and saves three PNGs (1400x800):

* ``runs_table.png``: chapter 01's runs with their metric columns (rmse, mae, r2);
* ``runs_chart.png``: the chart view comparing those runs;
* ``registry_aliases.png``: chapter 08's registered model, its ``@champion`` and ``@challenger``.

The server stops at the end, also on an error or Ctrl-C. The browser is ``CHROMIUM``
if set, else Debian's ``chromium``, else the one ``playwright install chromium`` downloads.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

from winelab.cli import run_example
from winelab.errors import UserError
from winelab.servers import HOST, MLFLOW, NO_JOB_RUNNER, background, claim_port, stop_on_signals

REPO = Path(__file__).resolve().parents[1]
DEBIAN_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 800}
EXPERIMENT = "experiment_1"  # chapter 01's default --experiment-name
MODEL = "wine_quality"  # chapter 08's default --model-name
METRICS = ("rmse", "mae", "r2")
ALIASES = ("champion", "challenger")
WAIT_MS = 60_000


def chromium_executable() -> str | None:
    """The browser to launch: ``CHROMIUM`` if set, else Debian's ``chromium``; None: Playwright's own.

    A ``CHROMIUM`` that is not an executable file is a :class:`UserError`, not ignored.
    """
    if explicit := os.environ.get("CHROMIUM"):
        if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
            raise UserError(f"CHROMIUM={explicit} is not an executable file")
        return explicit
    if found := shutil.which("chromium"):
        return found
    if os.path.isfile(DEBIAN_CHROMIUM) and os.access(DEBIAN_CHROMIUM, os.X_OK):
        return DEBIAN_CHROMIUM
    return None


def what_to_show(db: Path) -> tuple[str, list[str]]:
    """Chapter 01's experiment id and its run names; fails in one line if the store lacks chapter 01 or 08."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{db}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        raise UserError(f"no experiment {EXPERIMENT!r} in {db}: run make demo first")
    runs = client.search_runs([experiment.experiment_id], max_results=50)
    if len(runs) < 2:
        raise UserError(f"{EXPERIMENT!r} has {len(runs)} run(s) in {db}; the chart needs chapter 01's three")
    model = client.search_registered_models(f"name = '{MODEL}'")
    missing = set(ALIASES) - set(model[0].aliases if model else {})
    if missing:
        raise UserError(f"registered model {MODEL!r} in {db} lacks alias(es) {sorted(missing)}: run make demo first")
    return experiment.experiment_id, [run.info.run_name for run in runs]


def assistant(page):
    """The open Assistant panel's question box (the closed panel leaves only a round button labelled the same)."""
    return page.get_by_placeholder("Ask a question").first


def close_assistant(page, wait_ms: int = 0) -> None:
    """Close the MLflow Assistant side panel if it is open (MLflow 3 opens it on a first visit).

    ``wait_ms``: how long to give it to appear (it slides in after the page loads).
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        assistant(page).wait_for(state="visible", timeout=max(wait_ms, 1))
    except PlaywrightTimeout:
        return  # not open
    page.get_by_role("button", name="Close").first.click()
    assistant(page).wait_for(state="hidden", timeout=10_000)


def shoot(page, path: Path) -> None:
    close_assistant(page)
    page.mouse.move(VIEWPORT["width"] - 1, 1)  # no hover highlight on a row or chart
    page.wait_for_timeout(800)  # let charts and column widths settle
    if assistant(page).is_visible():
        raise UserError(f"the MLflow Assistant panel is still open; {path} not saved")
    page.screenshot(path=str(path))
    print(f"saved {path}")


def take(url: str, experiment_id: str, run_names: list[str], out: Path, executable: str | None) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        except PlaywrightError as error:
            raise UserError(
                "cannot start Chromium: install Debian's chromium, run `.venv/bin/playwright install chromium`, "
                f"or set CHROMIUM ({str(error).splitlines()[0]})"
            ) from None
        try:
            page = browser.new_page(viewport=VIEWPORT)
            runs = f"{url}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"

            # 1. The runs table, with the metric columns on (they are off by default) and Dataset off.
            page.goto(runs)
            page.get_by_text(run_names[0], exact=True).first.wait_for(timeout=WAIT_MS)
            close_assistant(page, wait_ms=5_000)
            page.get_by_role("button", name="Columns").click()
            tree = page.get_by_test_id("column-selector-tree")
            for group in ("Dataset", "Models", "Metrics (3)", "Parameters (2)"):  # off, off, on, on
                tree.locator(f'span[title="{group}"]').click()
            page.keyboard.press("Escape")
            for metric in METRICS:
                header = page.get_by_role("columnheader", name=re.compile(rf"^{metric}$")).first
                header.wait_for(timeout=10_000)
                box = header.bounding_box()
                if box is None or box["x"] + box["width"] > VIEWPORT["width"]:
                    raise UserError(f"the runs table's {metric} column is off screen")
            shoot(page, out / "runs_table.png")

            # 2. The chart view: one bar chart per metric, a bar per run.
            page.goto(runs + "&compareRunsMode=CHART")
            for metric in METRICS:
                page.get_by_text(metric, exact=True).first.wait_for(timeout=WAIT_MS)
            shoot(page, out / "runs_chart.png")

            # 3. The registered model's versions and their aliases.
            page.goto(f"{url}/#/models/{MODEL}")
            for alias in ALIASES:
                page.get_by_text(re.compile(rf"@\s*{alias}$")).first.wait_for(timeout=WAIT_MS)
            shoot(page, out / "registry_aliases.png")
        except PlaywrightError as error:  # a timeout: the UI did not show what was expected
            raise UserError(f"the MLflow UI at {url}: {str(error).splitlines()[0]}") from None
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--store", type=Path, default=REPO / "demo-store", help="folder of the store (default: %(default)s)"
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "docs" / "screenshots", help="folder for the PNGs (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=None, help="port for mlflow ui (default: a free one)")
    args = parser.parse_args()

    db = args.store.resolve() / "mlflow.db"
    if not db.is_file():
        raise UserError(f"no store at {db}: run make demo first")
    experiment_id, run_names = what_to_show(db)
    executable = chromium_executable()  # None: Playwright's own
    port = claim_port(args.port)
    args.out.mkdir(parents=True, exist_ok=True)
    stop_on_signals()
    command = [MLFLOW, "ui", "--backend-store-uri", f"sqlite:///{db}", "--host", HOST, "--port", str(port)]
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", **NO_JOB_RUNNER}  # no telemetry banner in the pictures
    with tempfile.TemporaryDirectory(prefix="winelab-screenshots-") as workdir:  # the server's log and cwd
        with background("mlflow ui", command, port=port, workdir=Path(workdir), env=env) as server:
            take(server.url, experiment_id, run_names, args.out.resolve(), executable)
    return 0


if __name__ == "__main__":
    run_example(main)
