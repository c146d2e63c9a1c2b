"""Running several MLflow runs at once (chapter 03's parallel sweep)."""

from __future__ import annotations

import argparse


def n_jobs(text: str) -> int:
    """joblib's ``n_jobs``: a positive number of workers, or -1 for one per CPU."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"{text} must be >= 1, or -1 for one worker per CPU")
    return value
