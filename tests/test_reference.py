"""The independent reference (tests/reference.py): golden numbers, and sklearn.metrics agreeing with it.

Every chapter test compares logged metrics with ``harness.expected_metrics``, which comes from
reference.py, never from the scripts. The golden numbers below pin the reference itself; the
last test checks that the scripts' sklearn.metrics calls and the reference's formulas agree.
(The CSV's sha256 is checked in tests/test_data.py.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reference
from harness import PREDICT_SNIPPET, clean_env, expected_metrics

# The UCI file's columns, in order: 11 physico-chemical features, then the 3-8 quality score.
UCI_COLUMNS = [
    "fixed acidity",
    "volatile acidity",
    "citric acid",
    "residual sugar",
    "chlorides",
    "free sulfur dioxide",
    "total sulfur dioxide",
    "density",
    "pH",
    "sulphates",
    "alcohol",
    "quality",
]

GOLDEN = reference.GOLDEN

# Other settings the chapter tests use, for the agreement checks: (alpha, l1_ratio, test_size, seed).
SETTINGS = [(0.7, 0.7, 0.25, 42), (0.5, 0.1, 0.25, 42), (0.4, 0.2, 0.3, 7), (0.1, 0.9, 0.25, 42)]


@pytest.mark.parametrize(("alpha", "l1_ratio"), list(GOLDEN))
def test_golden_metrics(alpha, l1_ratio):
    assert reference.expected_metrics(alpha, l1_ratio, test_size=0.25, seed=42) == pytest.approx(
        GOLDEN[alpha, l1_ratio], abs=1e-6
    )


def test_harness_expected_metrics_is_the_reference():
    assert expected_metrics(0.7, 0.7) == pytest.approx(GOLDEN[0.7, 0.7], abs=1e-6)
    assert expected_metrics(0.4, 0.2, test_size=0.3, seed=7) == reference.expected_metrics(0.4, 0.2, 0.3, 7)


def test_reference_columns_and_split_sizes():
    frame = reference.wine()
    assert list(frame.columns) == UCI_COLUMNS
    assert reference.FEATURES + [reference.TARGET] == UCI_COLUMNS
    assert len(frame) == 1599
    train_x, test_x, train_y, test_y = reference.split(test_size=0.25, seed=42)
    assert (len(train_x), len(test_x), len(train_y), len(test_y)) == (1199, 400, 1199, 400)
    assert sorted([*train_x.index, *test_x.index]) == list(range(1599))
    train_x, test_x, _, _ = reference.split(test_size=0.3, seed=7)
    assert (len(train_x), len(test_x)) == (1119, 480)


def test_expected_predictions_are_the_refit_on_the_first_wines():
    model, _ = reference.refit(0.5, 0.1)
    rows = pd.read_csv(reference.csv_path(), sep=";").head(6).drop(columns=["quality"])
    by_count = reference.expected_predictions(0.5, 0.1, 6)
    assert by_count == reference.expected_predictions(0.5, 0.1, rows)
    assert by_count == model.predict(rows).tolist()
    assert all(3 <= value <= 8 for value in by_count)


def test_reference_and_predict_snippet_never_import_winelab():
    code = (
        "import sys, reference\n"
        "reference.expected_metrics(0.7, 0.7)\n"
        "reference.expected_predictions(0.7, 0.7, 3)\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] == 'winelab')\n"
        "assert not loaded, loaded\n"
    )
    tests = Path(__file__).resolve().parent
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=tests, env=clean_env(), capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    assert "winelab" not in PREDICT_SNIPPET


# The scripts compute their metrics with sklearn.metrics: it agrees with the reference's formulas.


def test_sklearn_metrics_agree_with_the_reference_formulas():
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    rng = np.random.default_rng(0)
    actual = rng.integers(3, 9, size=200).astype(float)
    predicted = actual + rng.normal(0, 0.8, size=200)
    got = {
        "rmse": root_mean_squared_error(actual, predicted),
        "mae": mean_absolute_error(actual, predicted),
        "r2": r2_score(actual, predicted),
    }
    assert got == pytest.approx(reference.metrics(actual, predicted), abs=1e-12, rel=0)
    # By hand: residuals 1, -1, 0, 2 -> rmse sqrt(6/4), mae 1, r2 1 - 6/5 (actual's mean 4.5, SS 5).
    hand = {"rmse": np.sqrt(1.5), "mae": 1.0, "r2": 1 - 6 / 5}
    assert reference.metrics([5, 4, 3, 6], [4, 5, 3, 4]) == pytest.approx(hand, abs=1e-12, rel=0)
