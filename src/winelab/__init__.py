"""Shared plumbing for the MLflow examples: what a chapter uses but does not teach.

- ``winelab.cli``: the scripts' options (``example_parser``, ``server_parser``,
  ``--port``, ``--run -- <command>``) and ``run_example``, which turns a problem a
  learner can fix into one line on stderr and a non-zero exit;
- ``winelab.data`` and ``winelab.metrics``: the wine data, its split, the metrics;
- ``winelab.tracking``: small MLflow settings (fail fast on a dead server,
  pinned requirements for logged models);
- ``winelab.servers``: process control for scripts that start servers (a free
  port, start in a process group, wait for health, stop on Ctrl-C/SIGTERM);
  the ``mlflow server`` / ``mlflow models serve`` commands are spelled out in
  the chapter scripts, not here;
- ``winelab.remote``: chapter 14's throwaway PostgreSQL + S3 + ``mlflow server``;
- ``winelab.demo``, ``winelab.bench``, ``winelab.newest``: run every script
  (``make demo``), time them, try the newest MLflow.

Every MLflow call a chapter teaches stays visible in that chapter's scripts.
The data and metrics helpers are imported on first use, so scripts that only
need the CLI or the server helpers do not pay for pandas and scikit-learn.
"""

import importlib

from winelab.cli import UserError, example_parser, run_example, server_parser

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
    "server_parser",
    "split",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'winelab' has no attribute {name!r}")
