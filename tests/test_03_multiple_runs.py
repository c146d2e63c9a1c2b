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


def test_two_experiments_with_named_runs(store, run_script):
    run_script(MULTIPLE, "--alphas", "0.1", "1.0", "--l1-ratios", "0.2", "0.8", "--alpha", "0.3", "--l1-ratio", "0.4")

    plan = {
        "multiple_runs_alpha": [(0.1, 0.4), (1.0, 0.4)],
        "multiple_runs_l1_ratio": [(0.3, 0.2), (0.3, 0.8)],
    }
    for experiment_name, settings in plan.items():
        runs = store.runs(experiment_name)
        assert [run.info.run_name for run in runs] == [f"alpha-{a}_l1-{r}" for a, r in settings]
        for run, (alpha, l1_ratio) in zip(runs, settings, strict=True):
            assert run.info.status == "FINISHED"
            assert run.data.params == {"alpha": str(alpha), "l1_ratio": str(l1_ratio)}
            assert_metrics_match(run, alpha, l1_ratio)
    assert len(store.all_runs()) == 4


def test_parallel_sweep_records_every_grid_point(store, run_script):
    alphas, l1_ratios = [0.1, 0.3, 0.5, 1.0], [0.1, 0.9]
    result = run_script(PARALLEL, "--n-jobs", "2", "--alphas", *map(str, alphas), "--l1-ratios", *map(str, l1_ratios))

    runs = store.runs("parallel_sweep")
    grid = {(alpha, l1_ratio) for alpha in alphas for l1_ratio in l1_ratios}
    assert len(runs) == len(grid) == 8
    recorded = {(float(run.data.params["alpha"]), float(run.data.params["l1_ratio"])): run for run in runs}
    assert set(recorded) == grid
    for (alpha, l1_ratio), run in recorded.items():
        assert run.info.status == "FINISHED"
        assert run.info.run_name == f"alpha-{alpha}_l1-{l1_ratio}"
        assert run.data.params == {"alpha": str(alpha), "l1_ratio": str(l1_ratio)}
        assert_metrics_match(run, alpha, l1_ratio)

    # The closing table lists every run, best (lowest rmse) first.
    table = re.findall(r"^\s+\S+\s+\S+\s+([\d.]+)\s+[\d.]+\s+-?[\d.]+\s+([0-9a-f]{32})$", result.stdout, re.MULTILINE)
    assert [run_id for _, run_id in table] == [
        run.info.run_id for run in sorted(runs, key=lambda run: run.data.metrics["rmse"])
    ]
    assert "database is locked" not in result.stderr


def test_nested_runs_link_children_and_record_the_best(store, run_script):
    alphas, l1_ratios = [0.1, 0.5], [0.2, 0.8]
    run_script(NESTED, "--alphas", *map(str, alphas), "--l1-ratios", *map(str, l1_ratios))

    runs = store.runs("nested_runs")
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == len(runs) - 1 == len(alphas) * len(l1_ratios)
    assert parent.info.run_name == "elasticnet-sweep"
    assert parent.info.status == "FINISHED"

    settings = sorted((float(run.data.params["alpha"]), float(run.data.params["l1_ratio"])) for run in children)
    assert settings == sorted((a, r) for a in alphas for r in l1_ratios)
    for child in children:
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
        (PARALLEL, ("--alphas", "-1", "0.5")),
        (PARALLEL, ("--l1-ratios",)),
        (NESTED, ("--l1-ratios", "0.5", "1.5")),
        (NESTED, ("--alphas", "0.1", "0.1")),
        (MULTIPLE, ("--alphas", "nan")),
        (MULTIPLE, ("--l1-ratios", "abc")),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else value.split("/")[1],
)
def test_invalid_options_fail_with_one_line_and_no_run(store, run_script, script, args):
    result = run_script(script, *args, ok=False)
    assert_rejected(result, store, args[0])
