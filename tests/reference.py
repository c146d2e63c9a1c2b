"""Expected values computed with plain pandas, numpy and scikit-learn: never with winelab.

The chapter tests compare what a script logged with what this module computes. If
the expected values came from winelab's own ``load_wine``/``split``/``regression_metrics``,
a bug there would move both sides together and pass everywhere; so everything here
is written out again from the data's documentation: the ``;``-separated UCI file and
its twelve column names, scikit-learn's ``train_test_split`` on the whole frame, the
ElasticNet, and the three metrics by their formulas in numpy.

Only the location of the cached CSV is shared with winelab (the same rule, written
again here): ``$WINELAB_DATA_DIR/winequality-red.csv`` if that variable is set, else
pooch's per-user cache for "winelab". The tests never download: ``make data`` (or
``python -m winelab fetch``) fills the cache first.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

FILENAME = "winequality-red.csv"
# The published sha256 of the UCI file (tests/test_data.py checks winelab verifies it);
# here it only guards against reading some other file that happens to sit in the cache.
SHA256 = "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e"

# Golden numbers: test-set rmse, mae and r2 of ElasticNet(alpha, l1_ratio, random_state=42) on the
# 75/25 split with seed 42, computed once with tests/reference.py (scikit-learn 1.9.1, numpy 2.4.6)
# and hard-coded. These are the values a silent change in data handling (a dropped row, an index
# column read as a feature, a different split) would move. (0.7, 0.7) is chapter 01's default run.
GOLDEN = {
    (0.7, 0.7): {"rmse": 0.7849687559787488, "mae": 0.6440875818810957, "r2": 0.003908546016146319},
    (0.5, 0.1): {"rmse": 0.7025347060869581, "mae": 0.5629071101693538, "r2": 0.2021338507595838},
}

# The UCI column names, in the file's order: 11 physico-chemical features, then the score.
FEATURES = [
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
]
TARGET = "quality"


def csv_path() -> Path:
    """Where the verified CSV is cached: ``$WINELAB_DATA_DIR`` if set, else pooch's cache for "winelab"."""
    if os.environ.get("WINELAB_DATA_DIR"):
        return Path(os.environ["WINELAB_DATA_DIR"]).expanduser() / FILENAME
    import pooch

    return Path(pooch.os_cache("winelab")) / FILENAME


@functools.lru_cache(maxsize=4)
def _read(path: Path) -> pd.DataFrame:
    assert path.is_file(), f"no wine data at {path}: run `make data` (python -m winelab fetch) first"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == SHA256, f"{path} has sha256 {digest}, not the UCI file's {SHA256}"
    frame = pd.read_csv(path, sep=";")
    assert list(frame.columns) == FEATURES + [TARGET], f"unexpected columns in {path}: {list(frame.columns)}"
    return frame


def wine() -> pd.DataFrame:
    """All 1,599 wines as read from the CSV (a copy: callers may modify it)."""
    return _read(csv_path()).copy()


def split(test_size: float = 0.25, seed: int = 42):
    """``train_x, test_x, train_y, test_y``: ``train_test_split`` of the whole frame, then columns."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(wine(), test_size=test_size, random_state=seed)
    return train[FEATURES], test[FEATURES], train[TARGET], test[TARGET]


def refit(alpha: float, l1_ratio: float, test_size: float = 0.25, seed: int = 42):
    """The chapter's model fitted here: ``(model, (train_x, test_x, train_y, test_y))``."""
    from sklearn.linear_model import ElasticNet

    parts = split(test_size=test_size, seed=seed)
    train_x, _, train_y, _ = parts
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed).fit(train_x, train_y)
    return model, parts


def cross_validate(alpha: float, l1_ratio: float, folds: int, seed: int = 42) -> list[tuple[float, object]]:
    """Per fold of a shuffled ``KFold`` over the training rows: ``(rmse on the held-out rows, the fitted model)``."""
    from sklearn.linear_model import ElasticNet
    from sklearn.model_selection import KFold

    train_x, _, train_y, _ = split()  # the scripts split with seed 42, whatever seed their folds use
    found = []
    for fit_rows, score_rows in KFold(n_splits=folds, shuffle=True, random_state=seed).split(train_x):
        model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=seed)
        model.fit(train_x.iloc[fit_rows], train_y.iloc[fit_rows])
        found.append((metrics(train_y.iloc[score_rows], model.predict(train_x.iloc[score_rows]))["rmse"], model))
    return found


def metrics(actual, predicted) -> dict[str, float]:
    """rmse, mae and r2 by their formulas (not sklearn.metrics, not winelab.metrics)."""
    actual = np.asarray(actual, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    residual = actual - predicted
    return {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(1.0 - np.sum(residual**2) / np.sum((actual - np.mean(actual)) ** 2)),
    }


def expected_metrics(alpha: float, l1_ratio: float, test_size: float = 0.25, seed: int = 42) -> dict[str, float]:
    """Test-set rmse, mae and r2 of ``ElasticNet(alpha, l1_ratio)`` on the seeded split."""
    model, (_, test_x, _, test_y) = refit(alpha, l1_ratio, test_size=test_size, seed=seed)
    return metrics(test_y, model.predict(test_x))


def first_rows(n: int) -> pd.DataFrame:
    """The feature columns of the first ``n`` wines in the file (what ``predict_fresh`` predicts on)."""
    return wine()[FEATURES].head(n)


def expected_predictions(
    alpha: float, l1_ratio: float, rows: int | pd.DataFrame, test_size: float = 0.25, seed: int = 42
) -> list[float]:
    """Predictions of an independent refit for ``rows``: a frame of features, or ``n`` for the first ``n`` wines."""
    if isinstance(rows, (int, np.integer)):
        rows = first_rows(rows)
    model, _ = refit(alpha, l1_ratio, test_size=test_size, seed=seed)
    return [float(value) for value in model.predict(rows[FEATURES])]
