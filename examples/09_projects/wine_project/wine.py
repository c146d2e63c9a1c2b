"""What both entry points share: the wine data, the split, the metrics, the option checks.

The project uses only the packages its ``python_env.yaml`` lists, so the
environment ``mlflow run`` builds for it on any machine can run it. (The
course's scripts get the same things from this repository's ``winelab``
package, which is not on PyPI.)

The data: ``--data`` is a CSV file, or the UCI address (the default). The
address is downloaded once, checked against the file's sha256, and cached
where the course's ``winelab`` keeps it (``$WINELAB_DATA_DIR`` or pooch's
per-user cache, ``~/.cache/winelab`` on Linux): run from this repository, the
project reads the copy the course already verified.
"""

import argparse
import math
import os
import sys
from importlib import metadata

import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
SHA256 = "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e"
TARGET = "quality"


def load_wine(data: str) -> pd.DataFrame:
    """The 1,599 red wines: 11 features and ``quality``, from a file or a checked download."""
    if data.startswith(("http://", "https://")):
        import pooch

        cache = os.environ.get("WINELAB_DATA_DIR") or pooch.os_cache("winelab")
        try:  # reuses a cached copy whose sha256 matches; else downloads and checks
            data = pooch.retrieve(data, known_hash=f"sha256:{SHA256}", fname="winequality-red.csv", path=cache)
        except Exception as exc:  # network errors, or a download whose sha256 does not match
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            sys.exit(f"error: wine data not available from {data}: {first_line}")
    if not os.path.isfile(data):
        sys.exit(f"error: no such data file: {data} (give an absolute path, or the UCI address)")
    frame = pd.read_csv(data, sep=";")  # `;`-separated, no index column
    if TARGET not in frame.columns:
        sys.exit(f"error: {data} has no {TARGET!r} column; is it the UCI wine CSV?")
    return frame


def split(frame: pd.DataFrame, test_size: float, seed: int):
    """Train/test split with a fixed seed: ``train_x, test_x, train_y, test_y``."""
    train, test = train_test_split(frame, test_size=test_size, random_state=seed)
    return train.drop(columns=TARGET), test.drop(columns=TARGET), train[TARGET], test[TARGET]


def regression_metrics(actual, predicted) -> dict[str, float]:
    return {
        "rmse": math.sqrt(mean_squared_error(actual, predicted)),
        "mae": float(mean_absolute_error(actual, predicted)),
        "r2": float(r2_score(actual, predicted)),
    }


def pip_requirements() -> list[str]:
    """The logged model's pins (this environment's versions); skips MLflow's slower inference."""
    return [f"{name}=={metadata.version(name)}" for name in ("mlflow", "scikit-learn", "pandas", "numpy", "skops")]


# MLflow passes -P values through unchecked (MLproject types are not enforced): the parsers check them.
def number(text: str, low: float = 0.0, high: float = math.inf) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} must be between {low} and {high}")
    return value


def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--data``, ``--test-size`` and ``--seed``: which rows a model is trained and checked on."""
    parser.add_argument("--data", default=UCI_URL, help="CSV file, or the UCI address (default: %(default)s)")
    parser.add_argument(
        "--test-size",
        type=lambda text: number(text, 0.01, 0.99),
        default=0.25,
        help="share of rows held out (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
