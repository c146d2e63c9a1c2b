"""What a script can see of the process it runs in, as JSON on stdout (for tests/test_runner.py)."""

import json
import logging
import os
import signal
import sys
import threading
import warnings

import __main__


def handler_name(sig):
    handler = signal.getsignal(sig)
    return getattr(handler, "__name__", str(handler))


def telemetry():
    from mlflow.telemetry import get_telemetry_client

    client = get_telemetry_client()
    if client is None:
        return None
    info = dict(client.info)
    same_session = info.pop("session_id") == os.environ.get("_MLFLOW_TELEMETRY_SESSION_ID")
    return {**info, "session id in environment": same_session}


def main():
    import mlflow
    import pandas  # noqa: F401 (what the examples import, so the same warning filters are installed)
    import sklearn.linear_model  # noqa: F401

    logger = logging.getLogger("mlflow")
    print(
        json.dumps(
            {
                "argv": sys.argv,
                "orig_argv": sys.orig_argv[1:],
                "executable": sys.executable,
                "path": sys.path,
                "cwd": os.getcwd(),
                "env": dict(os.environ),
                "stdin": sys.stdin.read(),
                "isatty": [os.isatty(fd) for fd in (0, 1, 2)],
                "stdout": [sys.stdout.encoding, sys.stdout.line_buffering, sys.stdout.write_through],
                "main": sorted(vars(__main__)),
                "main_file": getattr(__main__, "__file__", None),
                "main_meta": [repr(__main__.__spec__), repr(__main__.__package__), type(__main__.__loader__).__name__],
                "signals": {
                    name: handler_name(getattr(signal, name)) for name in ("SIGINT", "SIGTERM", "SIGPIPE", "SIGCHLD")
                },
                "warning_filters": sorted(repr(item) for item in warnings.filters),
                "mlflow_logger": [logger.level, [type(h).__name__ for h in logger.handlers], logger.propagate],
                "threads": threading.active_count(),
                "flags": repr(sys.flags),
                "umask": os.umask(0o22),
                "tracking_uri": mlflow.get_tracking_uri(),
                "exc_info": repr(sys.exc_info()),
                "telemetry": telemetry(),
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
