"""Shared plumbing for the MLflow examples: data, splits, metrics, CLI options.

Nothing in here is about MLflow's API itself (apart from the small
``tracking`` helpers): every MLflow call a chapter teaches stays visible in
that chapter's scripts.
"""

from winelab.cli import UserError, example_parser, run_example
from winelab.data import FEATURES, TARGET, load_wine, split
from winelab.metrics import regression_metrics

__all__ = [
    "FEATURES",
    "TARGET",
    "UserError",
    "example_parser",
    "load_wine",
    "regression_metrics",
    "run_example",
    "split",
]
