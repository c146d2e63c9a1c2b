"""Shared plumbing for the MLflow examples: data, splits, metrics, CLI options.

Nothing in here is about MLflow's API itself (apart from the small
``tracking`` helpers): every MLflow call a chapter teaches stays visible in
that chapter's scripts.

The data and metrics helpers are imported on first use, so scripts that only
need the CLI or the server helpers do not pay for pandas and scikit-learn.
"""

import importlib

from winelab.cli import UserError, example_parser, run_example

_LAZY = {
    "FEATURES": "winelab.data",
    "TARGET": "winelab.data",
    "load_wine": "winelab.data",
    "split": "winelab.data",
    "regression_metrics": "winelab.metrics",
}

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


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'winelab' has no attribute {name!r}")
