"""Run every chapter's scripts in order into one local tracking store.

    python -m tools.demo                 # all chapters, into ./demo-store/ (wiped first)
    python -m tools.demo --only 01 03    # just some chapters
    python -m tools.demo --keep          # add to the existing store instead of wiping it

Each script runs as a learner would run it (``python examples/.../x.py``), with
its working folder and ``MLFLOW_TRACKING_URI`` set to the demo store,
``WINE_QUALITY_CSV`` set to the verified local copy of the data (``make data``)
and MLflow's fail-fast HTTP settings. At the end a table shows every script's
status and time, followed by the command that opens the MLflow UI on what was
recorded.

The instructor's tags: after each step, every experiment that step created in the
demo store gets ``chapter`` (the step's chapter folder) and ``guide_section`` (the
guide section it follows, as the README's chapter table gives it), so the UI can
filter by chapter (``tags.chapter = '01_tracking'``). The scripts themselves tag
nothing; the demo fails if an experiment ends up without the tags.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from winelab.servers import FAIL_FAST, MLFLOW, mlflow_free_env

# The guide section each chapter folder follows (the README's chapter table says the same:
# tests/test_examples.py checks), for the experiment tags.
GUIDE_SECTIONS = {
    "01_tracking": "3. Tracking",
    "02_logging": "4. Logging functions",
    "03_multiple_runs": "5. Multiple experiments and runs",
    "04_autolog": "6. Autologging",
    "05_signatures": "8. Model signatures",
    "06_custom_libraries": "9. Custom Python models",
    "07_evaluation": "10. Model evaluation",
    "08_registry": "11. Model registry",
    "09_projects": "12. Projects",
    "10_client": "13. MLflow client",
    "11_cli": "14. CLI",
    "12_tracking_server": "3. Quickstart with a server; 7. Tracking server",
    "13_serving": "8. Model component: serving",
    "14_remote_storage": "7. Scenario 4; 15. AWS integration",
    "15_auth": "beyond the guide: authentication",
    "16_model_format": "8. Storage format, Model API; 9. Custom flavors; pre-deployment checks",
    "17_sagemaker": "15. AWS integration: SageMaker",
    "18_logged_models": "beyond the guide: logged models (5. Multiple runs: checkpoints)",
    "19_tuning": "beyond the guide: hyperparameter tuning",
    "20_migration": "beyond the guide: migrating (3. Tracking: mlruns, mlflow ui)",
    "21_scale_out": "beyond the guide: scaling out",
}

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
DEFAULT_STORE = REPO / "demo-store"


def java_found() -> bool:
    """Java as chapter 21's spark_score.py looks for it: ``$JAVA_HOME/bin/java``, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    return bool(java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)) or bool(shutil.which("java"))


@dataclass(frozen=True)
class Step:
    script: str  # relative to examples/
    args: tuple[str, ...] = ()
    needs_postgres: bool = False  # skipped, with a hint, where Debian's postgresql is missing
    needs_java: bool = False  # skipped, with a hint, where there is no Java 17 (Spark)

    def missing(self) -> str | None:
        """Why this step cannot run on this machine, or None."""
        if self.needs_postgres:
            from winelab.errors import UserError
            from winelab.remote import pg_bin

            try:
                pg_bin("initdb")
            except UserError:
                return "needs PostgreSQL's initdb (Debian: make system-deps)"
        if self.needs_java and not java_found():
            return "needs Java 17 for Spark (Debian: make system-deps, openjdk-17-jre-headless)"
        return None

    @property
    def chapter(self) -> str:
        return self.script.split("/")[0]

    @property
    def label(self) -> str:
        shown = ("python" if arg == sys.executable else arg.replace(f"{EXAMPLES}/", "") for arg in self.args)
        return " ".join((self.script.split("/", 1)[1], *shown))


# The order matters where a script reads what an earlier one recorded.
PLAN: list[Step] = [
    Step("01_tracking/basic_regression.py"),
    # The guide's three runs with different hyperparameters.
    Step("01_tracking/basic_regression_mlflow.py"),
    Step("01_tracking/basic_regression_mlflow.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),
    Step("01_tracking/basic_regression_mlflow.py", ("--alpha", "0.1", "--l1-ratio", "0.9")),
    Step("02_logging/uri.py"),
    Step("02_logging/experiment.py"),
    Step("02_logging/experiment.py", ("--version", "v2")),  # the second run reuses the experiment
    Step("02_logging/run.py", ("--run-name", "by-hand", "--description", "started and ended without a with block")),
    Step("02_logging/run.py", ("--status", "KILLED")),
    Step("02_logging/artifacts.py"),
    Step("02_logging/tags.py"),
    Step("03_multiple_runs/multiple_runs.py"),
    Step("03_multiple_runs/parallel_sweep.py", ("--n-jobs", "2")),
    Step("03_multiple_runs/nested_runs.py"),
    Step("04_autolog/autolog_generic.py"),
    Step("04_autolog/autolog_gridsearch.py"),
    Step("05_signatures/manual_signature.py"),
    Step("05_signatures/infer_signature.py"),
    Step("05_signatures/enforcement.py"),  # checks the newest model: the inferred one
    Step("06_custom_libraries/model_customization.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),
    Step("06_custom_libraries/load_custom_model.py"),
    Step("06_custom_libraries/log_model_from_code.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),
    Step("07_evaluation/evaluate_model.py", ("--alpha", "0.1", "--l1-ratio", "0.9")),
    Step("07_evaluation/validate_against_baseline.py", ("--alpha", "0.1", "--l1-ratio", "0.9")),  # passes
    Step("07_evaluation/validate_against_baseline.py", ("--alpha", "0.7", "--l1-ratio", "0.7")),  # rejected, printed
    Step("08_registry/register_at_log_time.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),
    Step("08_registry/promote_challenger.py", ("--alpha", "0.7", "--l1-ratio", "0.7")),  # first: champion
    Step("08_registry/promote_challenger.py", ("--alpha", "0.1", "--l1-ratio", "0.9")),  # better: new champion
    Step("08_registry/promote_challenger.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),  # worse: challenger
    Step("08_registry/use_champion.py", ("--rows", "5")),
    Step("09_projects/run_project.py", ("--alpha", "0.4", "--l1-ratio", "0.2")),  # `mlflow run`, then the API
    Step("09_projects/workflow.py", ("--alpha", "0.1", "--l1-ratio", "0.5")),
    Step("10_client/client_tour.py", ("--alphas", "0.05", "0.2", "0.5", "1.0")),
    Step("10_client/client_lifecycle.py"),
    Step("11_cli/cli_tour.py", ("--rows", "5")),
    # Each server step starts a server, runs the client against it and stops the server.
    Step(
        "12_tracking_server/server.py",
        ("--run", "--", sys.executable, str(EXAMPLES / "12_tracking_server/quickstart_iris.py")),
    ),
    Step("12_tracking_server/four_scenarios.py"),
    Step("13_serving/serve_model.py", ("--run", "--", sys.executable, str(EXAMPLES / "13_serving/client.py"))),
    Step("13_serving/batch_predict.py"),  # uses the model the step before registered
    # Throwaway PostgreSQL + S3 + server, chapter 01 run against it, all stopped again.
    Step(
        "14_remote_storage/stack.py",
        (
            *("--env-file", str(EXAMPLES / "14_remote_storage/.env.example")),
            *("run", "--", sys.executable, str(EXAMPLES / "01_tracking/basic_regression_mlflow.py")),
        ),
        needs_postgres=True,
    ),
    Step(
        "15_auth/auth_server.py",
        (
            *("--env-file", str(EXAMPLES / "15_auth/.env.example")),
            *("--", sys.executable, str(EXAMPLES / "15_auth/users_and_permissions.py")),
        ),
    ),
    Step("16_model_format/storage_format.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),
    Step("16_model_format/predeploy_checks.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),  # no Docker needed
    Step("16_model_format/custom_flavor.py", ("--alpha", "0.5", "--l1-ratio", "0.1")),
    # moto standing in for AWS: the champion deployed to "SageMaker" (model, config, endpoint, S3), then moto stops.
    Step(
        "17_sagemaker/aws_standin.py",
        (
            *("--run", "--", sys.executable, str(EXAMPLES / "17_sagemaker/deploy_sagemaker.py")),
            *("--image-url", "123456789012.dkr.ecr.us-west-2.amazonaws.com/mlflow-pyfunc:3.17.2"),
            *("--execution-role-arn", "arn:aws:iam::123456789012:role/mlflow-sagemaker"),
            *("--bucket", "winelab-sagemaker"),
        ),
    ),
    Step("18_logged_models/checkpoints.py"),  # five checkpoints ranked, the best registered
    Step("18_logged_models/datasets.py"),
    Step("18_logged_models/pipeline.py"),
    Step("19_tuning/optuna_search.py"),  # 15 trials: completed, pruned (KILLED) and failed child runs
    Step("19_tuning/system_metrics.py"),
    # A guide-era ./mlruns (MLflow 2.10.2) migrated to SQLite, then: which store does what read?
    Step("20_migration/migrate_store.py", ("--replace",)),
    Step("20_migration/where_are_my_runs.py"),
    # Chapter 08's champion scored on Spark (local[2]) and with pandas; one Optuna study run by two workers
    Step("21_scale_out/spark_score.py", ("--rows", "200000"), needs_java=True),
    Step("21_scale_out/shared_study.py", ("--workers", "2", "--trials", "5")),
]

# Scripts the demo leaves out, with the reason (the discovery test requires one or the other).
NOT_IN_DEMO: dict[str, str] = {}


def run_step(step: Step, store: Path, env: dict[str, str]) -> tuple[bool, float, str]:
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / step.script), *step.args],
        cwd=store,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-5:])
    return completed.returncode == 0, seconds, tail


def script_env(uri: str | None = None) -> dict[str, str]:
    """What every script the demo (or ``make bench``) runs gets: no MLflow settings of the caller's but
    the store's ``uri``, :data:`FAIL_FAST`, and the verified local CSV as ``--data``'s default."""
    from winelab.data import fetch

    env = mlflow_free_env(**({"MLFLOW_TRACKING_URI": uri} if uri else {}), **FAIL_FAST)
    env.setdefault("WINE_QUALITY_CSV", str(fetch()))
    return env


def chapter_tags(chapter: str) -> dict[str, str]:
    """``{"chapter": "01_tracking", "guide_section": "3. Tracking"}``."""
    return {"chapter": chapter, "guide_section": GUIDE_SECTIONS[chapter]}


def experiment_ids(uri: str) -> set[str]:
    """The ids of every experiment in the store (none while its database does not exist yet)."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return set()  # a client would create it, and its Default experiment, relative to this folder
    return {e.experiment_id for e in MlflowClient(tracking_uri=uri).search_experiments(view_type=ViewType.ALL)}


def tag_new_experiments(uri: str, chapter: str, before: set[str]) -> list[str]:
    """Tag the active experiments not in ``before`` (those a step created) with its chapter; their names."""
    from mlflow import MlflowClient

    new = sorted(experiment_ids(uri) - before)
    if not new:  # also: no client, which would create a store that does not exist yet
        return []
    client = MlflowClient(tracking_uri=uri)
    tagged = []
    for experiment_id in new:
        experiment = client.get_experiment(experiment_id)
        if experiment.lifecycle_stage == "deleted" or experiment.name == "Default":
            continue  # made and deleted by the step (chapter 10's scratch); the store's own, made with it
        for key, value in chapter_tags(chapter).items():
            if experiment.tags.get(key) != value:
                client.set_experiment_tag(experiment_id, key, value)
        tagged.append(experiment.name)
    return tagged


def untagged_experiments(uri: str) -> list[str]:
    """Active experiments in the demo store, other than Default, missing the ``chapter``/``guide_section`` tags."""
    from mlflow import MlflowClient

    found = MlflowClient(tracking_uri=uri).search_experiments()  # active ones: what the UI lists
    return [e.name for e in found if e.name != "Default" and not {"chapter", "guide_section"} <= set(e.tags)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store", type=Path, default=DEFAULT_STORE, help="folder of the demo store (default: %(default)s)"
    )
    parser.add_argument("--only", nargs="+", metavar="NN", help="chapter numbers to run, e.g. 01 02")
    parser.add_argument("--keep", action="store_true", help="keep what the store already holds")
    args = parser.parse_args(argv)

    steps = [step for step in PLAN if not args.only or step.chapter[:2] in args.only]
    if not steps:
        parser.error(f"no chapter matches {args.only}")
    store = args.store.resolve()
    if store.exists() and not args.keep:
        shutil.rmtree(store)
    store.mkdir(parents=True, exist_ok=True)
    uri = f"sqlite:///{store / 'mlflow.db'}"
    env = script_env(uri)

    print(f"Running {len(steps)} scripts into {uri}\n")
    results = []
    width = len(str(len(steps)))
    for number, step in enumerate(steps, 1):
        print(f"[{number:>{width}}/{len(steps)}] {step.chapter}/{step.label} ...", end=" ", flush=True)
        reason = step.missing()
        if reason:
            print(f"skipped: {reason}")
            results.append((step, "skipped", 0.0))
            continue
        before = experiment_ids(uri)
        ok, seconds, tail = run_step(step, store, env)
        tag_new_experiments(uri, step.chapter, before)
        print(f"{'ok' if ok else 'FAILED'} ({seconds:.1f} s)")
        if not ok:
            print("    " + tail.replace("\n", "\n    "))
        results.append((step, "ok" if ok else "FAILED", seconds))

    rows = [(step.chapter, step.label, status, f"{seconds:.1f}") for step, status, seconds in results]
    headers = ("chapter", "script", "status", "seconds")
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in widths[:3]) + f"  {{:>{widths[3]}}}"
    print("\n" + line.format(*headers))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))
    counts = {status: sum(result[1] == status for result in results) for status in ("ok", "FAILED", "skipped")}
    total = sum(seconds for _, _, seconds in results)
    print(f"\n{counts['ok']} ok, {counts['FAILED']} failed, {counts['skipped']} skipped, {total:.0f} s in all")
    untagged = untagged_experiments(uri)
    if untagged:
        print(f"FAILED: experiments without chapter tags (made outside a step?): {', '.join(untagged)}")
        counts["FAILED"] += 1
    print("\nSee what was recorded: make ui (then open http://127.0.0.1:5000), or")
    print(f"  {MLFLOW} ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000")
    return 1 if counts["FAILED"] else 0


if __name__ == "__main__":
    sys.exit(main())
