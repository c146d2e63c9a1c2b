"""examples/03_multiple_runs: several experiments, a parallel sweep, nested runs."""

import re

import pytest
from harness import assert_rejected, expected_metrics

MULTIPLE = "03_multiple_runs/multiple_runs.py"
PARALLEL = "03_multiple_runs/parallel_sweep.py"
NESTED = "03_multiple_runs/nested_runs.py"


def assert_metrics_match(run, alpha, l1_ratio):
    expected = expected_metrics(alpha, l1_ratio)
    assert set(run.data.metrics) == {"rmse", "mae", "r2"}
    for name, value in expected.items():
        assert run.data.metrics[name] == pytest.approx(value, rel=1e-9), name
    assert 0.5 < run.data.metrics["rmse"] < 1.0


def own_experiments(store):
    """This test's experiments, by full name.

    All of a local store's; on the shared server, those with the test's suffix anywhere in the name
    (``store.experiments()`` wants it at the end, but ``--experiment-prefix`` puts it before ``_alpha``).
    """
    from mlflow.entities import ViewType

    found = store.client.search_experiments(view_type=ViewType.ALL)
    return {experiment.name: experiment for experiment in found if store.suffix in experiment.name}


def runs_in(store, experiments):
    from mlflow.entities import ViewType

    ids = [experiment.experiment_id for experiment in experiments]
    return store.client.search_runs(ids, run_view_type=ViewType.ALL, max_results=1000)


def runs_by_name(store, full_name):
    """All runs of the experiment named exactly ``full_name``, oldest first."""
    experiment = store.client.get_experiment_by_name(full_name)
    assert experiment is not None, f"experiment {full_name!r} was not created"
    runs = store.client.search_runs([experiment.experiment_id], max_results=1000)
    return sorted(runs, key=lambda run: run.info.start_time)


def test_two_experiments_with_named_runs(any_store, run_script):
    # The default prefix on the local stores; on the shared server, multiple_runs-<suffix>_alpha and so on.
    prefix = any_store.name("multiple_runs")
    naming = ["--experiment-prefix", prefix] if prefix != "multiple_runs" else []
    run_script(
        MULTIPLE,
        *("--alphas", "0.1", "1.0", "--l1-ratios", "0.2", "0.8", "--alpha", "0.3", "--l1-ratio", "0.4"),
        *naming,
    )

    plan = {
        f"{prefix}_alpha": [(0.1, 0.4), (1.0, 0.4)],
        f"{prefix}_l1_ratio": [(0.3, 0.2), (0.3, 0.8)],
    }
    experiments = own_experiments(any_store)
    # The file and SQLite stores also hold their (empty) Default experiment; the shared server's is not ours.
    assert set(experiments) == set(plan) | ({"Default"} if any_store.kind != "server" else set())
    for experiment_name, settings in plan.items():
        runs = runs_by_name(any_store, experiment_name)
        assert [run.info.run_name for run in runs] == [f"alpha-{a}_l1-{r}" for a, r in settings]
        for run, (alpha, l1_ratio) in zip(runs, settings, strict=True):
            assert run.info.status == "FINISHED"
            assert run.data.params == {"alpha": str(alpha), "l1_ratio": str(l1_ratio)}
            assert_metrics_match(run, alpha, l1_ratio)
    assert len(runs_in(any_store, experiments.values())) == 4


def test_parallel_sweep_records_every_grid_point(any_store, run_script):
    """Every joblib worker process opens its own run: into a file store, one SQLite file, or a server."""
    alphas, l1_ratios = [0.1, 0.3, 0.5, 1.0], [0.1, 0.9]
    result = run_script(
        PARALLEL,
        *("--n-jobs", "2", "--alphas", *map(str, alphas), "--l1-ratios", *map(str, l1_ratios)),
        *("--experiment-name", any_store.name("parallel_sweep")),
    )

    runs = any_store.runs("parallel_sweep")
    grid = {(alpha, l1_ratio) for alpha in alphas for l1_ratio in l1_ratios}
    assert len(runs) == len(grid) == 8
    recorded = {(float(run.data.params["alpha"]), float(run.data.params["l1_ratio"])): run for run in runs}
    assert set(recorded) == grid
    for (alpha, l1_ratio), run in recorded.items():
        assert run.info.status == "FINISHED"
        assert run.info.run_name == f"alpha-{alpha}_l1-{l1_ratio}"
        assert run.data.params == {"alpha": str(alpha), "l1_ratio": str(l1_ratio)}
        assert_metrics_match(run, alpha, l1_ratio)
    assert len(any_store.all_runs()) == 8  # nothing went to another experiment (e.g. Default)
    # Each run names the worker process that recorded it; the summary counts those processes.
    pids = {run.data.tags["worker_pid"] for run in runs}
    assert all(pid.isdigit() for pid in pids) and 1 <= len(pids) <= 2
    assert f"recorded by {len(pids)} worker processes" in result.stdout

    # The closing table lists every run, best (lowest rmse) first.
    table = re.findall(r"^\s+\S+\s+\S+\s+([\d.]+)\s+[\d.]+\s+-?[\d.]+\s+([0-9a-f]{32})$", result.stdout, re.MULTILINE)
    assert [run_id for _, run_id in table] == [
        run.info.run_id for run in sorted(runs, key=lambda run: run.data.metrics["rmse"])
    ]
    assert "database is locked" not in result.stderr


def test_nested_runs_link_children_and_record_the_best(any_store, run_script):
    alphas, l1_ratios = [0.1, 0.5], [0.2, 0.8]
    run_script(
        NESTED,
        *("--alphas", *map(str, alphas), "--l1-ratios", *map(str, l1_ratios)),
        *("--experiment-name", any_store.name("nested_runs")),
    )

    runs = any_store.runs("nested_runs")
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1 == len(alphas) * len(l1_ratios)
    assert parent.info.run_name == "elasticnet-sweep"
    assert parent.info.status == "FINISHED"
    assert len(any_store.all_runs()) == len(runs)

    settings = sorted((float(run.data.params["alpha"]), float(run.data.params["l1_ratio"])) for run in children)
    assert settings == sorted((a, r) for a in alphas for r in l1_ratios)
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.info.run_name == f"alpha-{child.data.params['alpha']}_l1-{child.data.params['l1_ratio']}"
        assert_metrics_match(child, float(child.data.params["alpha"]), float(child.data.params["l1_ratio"]))

    best = min(children, key=lambda run: run.data.metrics["rmse"])
    assert parent.data.metrics == {"best_rmse": best.data.metrics["rmse"]}
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.params["best_alpha"] == best.data.params["alpha"]
    assert parent.data.params["best_l1_ratio"] == best.data.params["l1_ratio"]
    assert parent.data.params["n_candidates"] == "4"
    # Independently: the lowest rmse over the grid is the parent's best_rmse.
    assert parent.data.metrics["best_rmse"] == pytest.approx(
        min(expected_metrics(a, r)["rmse"] for a in alphas for r in l1_ratios), rel=1e-9
    )


@pytest.mark.parametrize(
    "script, args",
    [
        (PARALLEL, ("--n-jobs", "0")),
        (PARALLEL, ("--n-jobs", "-2")),
        (PARALLEL, ("--n-jobs", "two")),
        (PARALLEL, ("--l1-ratios",)),
        (NESTED, ("--alphas", "0.1", "x")),
        (MULTIPLE, ("--l1-ratios", "abc")),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value.split("/")[1],
)
def test_unparsable_options_fail_with_one_line_and_no_run(store, run_script, script, args):
    """argparse refuses them: exit 2."""
    result = run_script(script, *args, ok=False)
    assert_rejected(result, store, args[0])


@pytest.mark.parametrize(
    "script, args, named",
    [
        (PARALLEL, ("--alphas", "0.5", "-1"), "'alpha'"),  # refused before the pool starts
        (PARALLEL, ("--alphas", "nan"), "'alpha'"),
        (PARALLEL, ("--l1-ratios", "0.5", "1.5"), "'l1_ratio'"),
        (NESTED, ("--l1-ratios", "0.5", "1.5"), "'l1_ratio'"),
        (MULTIPLE, ("--alphas", "nan"), "'alpha'"),
        (MULTIPLE, ("--l1-ratio", "-0.5"), "'l1_ratio'"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value.split("/")[-1],
)
def test_out_of_range_grid_is_refused_before_any_run(store, run_script, script, args, named):
    """Every grid point is fitted before the first run opens: one line, exit 1, no run and no experiment."""
    result = run_script(script, *args, ok=False)
    assert result.returncode == 1 and len(result.error_lines) == 1, result.stderr
    assert result.error_lines[0].startswith("error: ") and named in result.error_lines[0]
    assert store.all_runs() == [] and [e.name for e in store.experiments()] == ["Default"]
    assert list(store.workdir.iterdir()) == []
