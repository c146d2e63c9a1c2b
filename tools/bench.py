"""Time every example script against the cost of just importing MLflow, then the test suite.

    python -m tools.bench                  # every script, then pytest -n auto
    python -m tools.bench --only 01 03     # some chapters
    python -m tools.bench --repeat 3       # median of 3 runs per script
    python -m tools.bench --no-suite       # skip the test suite
    python -m tools.bench --suite-only     # only the test suite: wall, CPU, the 10 slowest tests

Each script runs as a learner runs it, ``python examples/NN_topic/x.py`` with the
arguments its first step in ``tools.demo.PLAN`` gives, in a fresh process, a
fresh temporary working folder and a fresh copy of an already-migrated SQLite
store (migrating a new store is a one-off cost, measured and shown separately).
If a script fails on a fresh store because it reads what an earlier script of
its chapter recorded, those earlier PLAN steps are replayed (untimed) first.

The yardstick is the *import floor*: ``python -c "import mlflow, mlflow.sklearn,
sklearn, pandas"``, measured in the same run (median of 3). Targets: the median
script within 1.5x the floor, no script over 15 s, the suite within 3 minutes on
2 cores. Figures depend on the machine's load, which is printed alongside.

While the suite runs, a sampler reads ``/proc`` every 100 ms (Linux) and prints
where the CPU went: the scripts' real runs, their warm runs, the processes the
scripts start (servers, ``mlflow`` commands, joblib workers...), the suite's own
helpers, and pytest itself. A process that lives less than 100 ms may be missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tools.demo import EXAMPLES, NOT_IN_DEMO, PLAN, REPO, Step

FLOOR_CODE = "import mlflow, mlflow.sklearn, sklearn, pandas"
TARGET_MEDIAN_RATIO = 1.5
TARGET_SCRIPT_S = 15.0
TARGET_SUITE_S = 180.0
TIMEOUT_S = 300


@dataclass
class Timing:
    script: str
    args: tuple[str, ...]
    seconds: float | None = None  # median over repeats; None if it failed or was skipped
    note: str = ""
    failed: bool = False


def discover() -> list[str]:
    """Every runnable example script (``examples/*/*.py`` not starting with ``_``), relative to examples/."""
    return sorted(
        path.relative_to(EXAMPLES).as_posix() for path in EXAMPLES.glob("*/*.py") if not path.name.startswith("_")
    )


def clean_env(uri: str | None = None) -> dict[str, str]:
    """The environment the demo gives a script (``tools.demo.script_env``), against store ``uri``."""
    from tools.demo import script_env

    return script_env(uri)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT_S
    )
    return time.perf_counter() - start, completed


def make_template(folder: Path) -> tuple[Path, float]:
    """An empty SQLite store with MLflow's schema migrated, and how long the migration took."""
    path = folder / "template.db"
    code = "import sys; from mlflow import MlflowClient; MlflowClient(tracking_uri=sys.argv[1]).search_experiments()"
    import_only, _ = timed([sys.executable, "-c", "import mlflow"], folder, clean_env())
    seconds, completed = timed([sys.executable, "-c", code, f"sqlite:///{path}"], folder, clean_env())
    if completed.returncode:
        sys.exit(f"error: could not create a migrated SQLite store: {completed.stderr.strip().splitlines()[-1]}")
    return path, max(seconds - import_only, 0.0)


def fresh_store(root: Path, template: Path) -> tuple[Path, str]:
    """A new working folder and a copy of the template store beside it."""
    folder = Path(tempfile.mkdtemp(dir=root))
    work = folder / "work"
    work.mkdir()
    db = folder / "mlflow.db"
    shutil.copyfile(template, db)
    return work, f"sqlite:///{db}"


def run_step(step: Step, work: Path, uri: str) -> tuple[float, subprocess.CompletedProcess]:
    return timed([sys.executable, str(EXAMPLES / step.script), *step.args], work, clean_env(uri))


def tail(completed: subprocess.CompletedProcess) -> str:
    lines = (completed.stderr or completed.stdout or "").strip().splitlines()
    return lines[-1] if lines else f"exit {completed.returncode}"


def time_script(script: str, steps: list[Step], root: Path, template: Path, repeat: int) -> Timing:
    step = steps[0]
    earlier = [s for s in PLAN[: PLAN.index(step)] if s.chapter == step.chapter]
    timing = Timing(script, step.args)
    samples = []
    setup = False
    for _ in range(repeat):
        work, uri = fresh_store(root, template)
        if setup:
            for before in earlier:
                run_step(before, work, uri)
        seconds, completed = run_step(step, work, uri)
        if completed.returncode and not setup and earlier:
            # It may read what an earlier step of its chapter recorded: replay those, untimed.
            setup = True
            work, uri = fresh_store(root, template)
            for before in earlier:
                run_step(before, work, uri)
            seconds, completed = run_step(step, work, uri)
        if completed.returncode:
            timing.failed = True
            timing.note = f"FAILED: {tail(completed)}"
            return timing
        samples.append(seconds)
    timing.seconds = statistics.median(samples)
    if setup:
        timing.note = f"after {len(earlier)} untimed earlier step(s) of its chapter"
    return timing


def measure_floor(root: Path, times: int = 3) -> list[float]:
    samples = []
    for _ in range(times):
        seconds, completed = timed([sys.executable, "-c", FLOOR_CODE], root, clean_env())
        if completed.returncode:
            sys.exit(f"error: the import floor failed: {tail(completed)}")
        samples.append(seconds)
    return samples


# The suite's budget is counted in the CPU seconds of one cold import of this line (DEVELOPERS.md):
# make test's duration at most 120 of them, the goal 80. (Its CPU is printed as the same multiple.)
BUDGET_CODE = "import mlflow, mlflow.sklearn, sklearn.linear_model, pandas"
BUDGET, BUDGET_GOAL = 120, 80


def import_cpu(times: int = 3) -> list[float]:
    """CPU seconds (user + system) of ``times`` cold ``python -c BUDGET_CODE`` processes, one by one."""
    samples = []
    with tempfile.TemporaryDirectory(prefix="winelab-floor-") as folder:
        for _ in range(times):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            _, completed = timed([sys.executable, "-c", BUDGET_CODE], Path(folder), clean_env())
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if completed.returncode:
                sys.exit(f"error: the budget's import failed: {tail(completed)}")
            samples.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return samples


def load() -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count() or 1
    flag = "  (LOADED: other work is running, figures are pessimistic)" if one > cores else ""
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min) on {cores} cores{flag}"


def run_suite(sampler: CpuSampler | None) -> tuple[float, float, int, list[str]]:
    """Run ``pytest -n auto`` as ``make test`` does: (wall s, CPU s of everything it ran, exit code, output lines)."""
    command = [sys.executable, "-m", "pytest", "-n", "auto", "-q", "-p", "no:cacheprovider", "--durations=10"]
    print("$ " + " ".join(command[2:]) + "   (as in README.md / make test, plus --durations)", flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    if sampler is not None:
        sampler.start()
    completed = subprocess.run(command, cwd=REPO, env=clean_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if sampler is not None:
        sampler.stop.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = completed.stdout.strip().splitlines() or tail(completed).splitlines()
    return seconds, cpu, completed.returncode, lines


class CpuSampler(threading.Thread):
    """Polls ``/proc`` while the suite runs: CPU seconds and command line of every process it starts."""

    def __init__(self, interval: float = 0.1):
        super().__init__(daemon=True)
        self.interval = interval
        self.seen: dict[tuple[int, int], dict] = {}  # (pid, start tick) -> ppid, cmd, cpu
        self.stop = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.own_cpu = 0.0
        self.before = {key for key, _ in self._read()}  # processes already running are not the suite's

    def _read(self, known: dict | None = None):
        """(pid, start tick) -> (ppid, command line, CPU s) of every process; a known one's command is not re-read."""
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                key = (int(name), int(fields[19]))
                cmd = known[key]["cmd"] if known and known.get(key, {}).get("cmd") else None
                if cmd is None:
                    cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError):
                continue
            yield key, (int(fields[1]), cmd.strip(), (int(fields[11]) + int(fields[12])) / self.tick)

    def run(self) -> None:
        start = time.process_time()
        while not self.stop.wait(self.interval):
            for key, (ppid, cmd, cpu) in self._read(self.seen):
                if key in self.before:
                    continue
                entry = self.seen.setdefault(key, {"ppid": ppid, "cmd": cmd, "cpu": 0.0})
                entry["cpu"] = cpu
                entry["cmd"] = cmd or entry["cmd"]  # a zombie's command line reads empty
        self.own_cpu = time.process_time() - start  # this process's, sampling included

    def kinds(self) -> dict[str, dict[str, list[float]]]:
        """{kind: {command: [count, CPU s]}} for the five kinds the docstring names."""
        by_pid = {pid: entry for (pid, _), entry in self.seen.items()}
        examples = str(EXAMPLES) + "/"

        def script_of(words: list[str]) -> str | None:
            """The examples/ script a command line runs: from the repository, or a standalone copy."""
            for word in words[1:3]:
                if word.startswith(examples):
                    return word.removeprefix(examples)
                if word.endswith(".py") and "/examples/" in word and not word.startswith(str(REPO)):
                    return word.rsplit("/examples/", 1)[1]  # the standalone copy outside the repository
            return None

        def is_script(entry):
            return script_of(entry["cmd"].split()) is not None or WARM in entry["cmd"]

        result: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
        for entry in by_pid.values():
            cmd, parent = entry["cmd"], by_pid.get(entry["ppid"])
            words = cmd.split()
            if WARM in cmd:
                forked = parent is not None and WARM in parent["cmd"]
                kind, name = ("warm script runs (forked)", "script") if forked else ("pytest", "warm interpreter")
            elif (script := script_of(words)) is not None:
                kind, name = "real script runs", script
            else:
                ancestor, kind = parent, None
                while ancestor is not None and kind is None:
                    if is_script(ancestor):
                        kind = "processes the scripts start"
                    ancestor = by_pid.get(ancestor["ppid"])
                pytest = words[1:3] == ["-m", "pytest"] or "exec(eval" in cmd  # the controller, xdist workers
                kind = kind or ("pytest" if pytest else "suite helpers")
                name = _command_name(words)
            result[kind][name][0] += 1
            result[kind][name][1] += entry["cpu"]
        return result


WARM = "tests/_suite/warm.py"  # the suite's warm interpreter and the children it forks
MARKERS = (("loky", "joblib loky worker"), ("uvicorn", "uvicorn (a server's worker)"), ("exec(eval", "xdist worker"))


def _command_name(words: list[str]) -> str:
    """``mlflow server``, ``python -m winelab``, ``joblib loky worker``... for a command line."""
    if not words:
        return "(ended before it was seen)"
    text = " ".join(words)
    for marker, name in MARKERS:
        if marker in text:
            return name
    if len(words) > 2 and words[1] in ("-m", "-c"):
        return f"python {words[1]} {words[2] if words[1] == '-m' else '...'}"
    program = [Path(word).name for word in words[:3]]
    if program[0].startswith("python") and len(program) > 1:
        program = program[1:]
    return " ".join(program[:2]) if program[0] == "mlflow" else program[0]


def print_cpu(sampler: CpuSampler) -> None:
    kinds = sampler.kinds()
    total = sum(cpu for commands in kinds.values() for _, cpu in commands.values())
    how = f"reading /proc every {sampler.interval * 1000:.0f} ms, which took {sampler.own_cpu:.0f} s"
    print(f"  where the CPU went ({total:.0f} s seen; {how}):")
    for kind, commands in sorted(kinds.items(), key=lambda item: -sum(cpu for _, cpu in item[1].values())):
        count = sum(int(n) for n, _ in commands.values())
        print(f"    {sum(cpu for _, cpu in commands.values()):6.0f} s  {kind} ({count} processes)")
        top = sorted(commands.items(), key=lambda item: -item[1][1])[:6]
        for name, (n, cpu) in top:
            if cpu >= 1:
                print(f"      {cpu:6.1f} s  {int(n):4d} x  {name}")


def slowest_tests(lines: list[str]) -> list[str]:
    """The lines of pytest's ``slowest 10 durations`` section."""
    start = next((index for index, line in enumerate(lines) if "slowest" in line and "durations" in line), None)
    if start is None:
        return []
    section = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.startswith("="):
            break
        section.append(line)
    return section


def time_scripts(scripts: list[str], repeat: int) -> int:
    """Time each script against the import floor; 1 if one failed."""
    with tempfile.TemporaryDirectory(prefix="winelab-bench-") as tmp:
        root = Path(tmp)
        template, migration = make_template(root)
        floor_samples = measure_floor(root)
        floor = statistics.median(floor_samples)
        samples = ", ".join(f"{sample:.2f}" for sample in floor_samples)
        print(f'import floor: python -c "{FLOOR_CODE}" = {floor:.2f} s (median of {samples})')
        print(f"migrating an empty SQLite store costs {migration:.2f} s; each run below gets a copy of a migrated one")
        print(
            f"each script: a fresh process, a fresh temporary working folder, a fresh SQLite store; "
            f"args from tools.demo.PLAN; median of {repeat} run(s)\n"
        )

        timings = []
        width = max(len(script) for script in scripts)
        print(f"{'script':<{width}}  {'seconds':>7}  {'x floor':>7}  note")
        for script in scripts:
            steps = [step for step in PLAN if step.script == script]
            if not steps:
                host = next((step.script for step in PLAN if any(arg.endswith(script) for arg in step.args)), None)
                reason = NOT_IN_DEMO.get(script) or (
                    f"timed inside {host}, which runs it" if host else "not in tools.demo.PLAN yet"
                )
                timing = Timing(script, (), note=f"skipped: {reason}")
            else:
                timing = time_script(script, steps, root, template, repeat)
            timings.append(timing)
            shown = "-" if timing.seconds is None else f"{timing.seconds:.2f}"
            ratio = "-" if timing.seconds is None else f"{timing.seconds / floor:.2f}"
            note = timing.note
            if timing.args:
                note = f"args: {' '.join(timing.args)}" + (f"; {note}" if note else "")
            print(f"{script:<{width}}  {shown:>7}  {ratio:>7}  {note}", flush=True)

        measured = [timing for timing in timings if timing.seconds is not None]
        failed = [timing for timing in timings if timing.failed]
        skipped = len(timings) - len(measured) - len(failed)
        print()
        if measured:
            median_ratio = statistics.median(timing.seconds / floor for timing in measured)
            slowest = max(measured, key=lambda timing: timing.seconds)
            verdict = "ok" if median_ratio <= TARGET_MEDIAN_RATIO else "OVER TARGET"
            print(
                f"median ratio to the import floor: {median_ratio:.2f}x over {len(measured)} scripts "
                f"(target <= {TARGET_MEDIAN_RATIO}x: {verdict})"
            )
            over = [timing.script for timing in measured if timing.seconds > TARGET_SCRIPT_S]
            print(
                f"slowest: {slowest.script} {slowest.seconds:.1f} s "
                f"(target: none over {TARGET_SCRIPT_S:.0f} s: {'ok' if not over else 'OVER: ' + ', '.join(over)})"
            )
        print(f"{len(measured)} timed, {len(failed)} failed, {skipped} skipped")
        # The ratios assume the machine's speed did not change during the run: check the floor again.
        after = statistics.median(measure_floor(root))
        drift = abs(after - floor) / floor
        print(f"import floor again at the end: {after:.2f} s ({drift:.0%} from the start)", end="")
        print("  (CHANGED: the machine's load varied, ratios are unreliable)" if drift > 0.25 else "")

    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", metavar="NN", help="chapter numbers to time, e.g. 01 03")
    parser.add_argument("--repeat", type=int, default=1, help="runs per script, the median counts (default: 1)")
    parser.add_argument("--no-suite", action="store_true", help="do not time the test suite")
    parser.add_argument("--suite-only", action="store_true", help="time only the test suite")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")

    scripts = discover()
    if args.only:
        scripts = [script for script in scripts if script.split("_", 1)[0] in args.only]
    if not scripts:
        parser.error(f"no example scripts for chapters {args.only}")

    print(load())
    print(f"python {sys.version.split()[0]}, {sys.executable}")
    status = 0 if args.suite_only else time_scripts(scripts, args.repeat)
    if not args.no_suite:
        print()
        sampler = CpuSampler() if Path("/proc/self/stat").exists() else None
        imports = import_cpu()
        seconds, cpu, code, lines = run_suite(sampler)
        imports += import_cpu()  # before and after: the machine's load can drift while the suite runs
        verdict = "ok" if seconds <= TARGET_SUITE_S else "OVER TARGET"
        print(f"test suite: {seconds:.0f} s wall, {cpu:.0f} s CPU with -n auto on {os.cpu_count()} cores ({lines[-1]})")
        print(
            f"  CPU/wall {cpu / seconds:.2f} (parallelism); wall/target {seconds / TARGET_SUITE_S:.2f} "
            f"(target <= {TARGET_SUITE_S:.0f} s on 2 cores: {verdict})"
        )
        floor = statistics.median(imports)
        ratio = seconds / floor
        verdict = "ok" if ratio <= BUDGET else "OVER BUDGET"
        print(
            f'  budget: its {seconds:.0f} s are {ratio:.0f}x the CPU of one cold `python -c "{BUDGET_CODE}"` '
            f"({floor:.2f} s, median of {len(imports)}: {min(imports):.2f}-{max(imports):.2f}); "
            f"at most {BUDGET}x: {verdict}; goal {BUDGET_GOAL}x; its CPU is {cpu / floor:.0f}x"
        )
        print("\n".join(f"  {line}" for line in lines if line.startswith(("script runs:", "FAILED", "ERROR"))))
        if sampler is not None:
            print_cpu(sampler)
        slowest = slowest_tests(lines)
        if slowest:
            print("  the 10 slowest tests (setup/call/teardown):")
            print("\n".join(f"    {line}" for line in slowest))
        status = status or (1 if code else 0)
    print(load())
    return status


if __name__ == "__main__":
    sys.exit(main())
