"""The warm runner: an interpreter that has imported the heavy libraries once, then forks per script run.

Started by ``tests/_suite/runner.py`` as ``python tests/_suite/warm.py`` with a clean environment.
It imports MLflow, scikit-learn, pandas, skops and the store back ends (2-4 s,
paid once per test worker), then serves requests, one JSON object per line on
its standard input::

    {"argv": ["/abs/examples/01_tracking/x.py", "--alpha", "0.4"], "cwd": "...", "env": {...},
     "stdin": "/dev/null", "stdout": "/tmp/.../out", "stderr": "/tmp/.../err"}

For each request it forks. The child becomes what ``python x.py --alpha 0.4``
started in ``cwd`` with exactly ``env`` would be: file descriptors 0, 1 and 2
on the given files, the working folder, ``os.environ`` replaced, ``sys.argv``,
``sys.path[0]`` (the script's real folder), ``sys.orig_argv``, a fresh
``__main__`` module like the interpreter makes (``__file__``, ``__loader__``,
``__spec__ = None``), default signal handlers. It then leaves the serving loop
and runs the script at the top level of this file, then ends as the interpreter
ends a script: an uncaught exception prints its traceback and exits 1,
``SystemExit`` gives its code, an uncaught ``KeyboardInterrupt`` ends the
process by SIGINT, non-daemon threads are joined, ``atexit`` handlers run, the
script's own objects are finalized. Only the teardown of the preloaded modules
is skipped (see ``end``).

The parent answers ``{"pid": N}`` when a child starts and ``{"pid": N, "exit": code}``
when it ends (``code`` as ``subprocess`` reports it: negative for a signal).
It exits when its standard input closes. It never touches a tracking store
itself, so no MLflow client, store or connection exists before a fork. Besides
importing, it builds one cache that depends only on the installed packages
(MLflow's module-to-distribution map), then ``gc.freeze()``s what it holds so
that children do not copy the shared heap when they collect garbage or exit.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time

# What the example scripts import, and what MLflow imports lazily on their first
# logging call (the store back ends, the model flavours, skops).
PRELOAD = (
    "numpy",
    "pandas",
    "sklearn.linear_model",
    "sklearn.model_selection",
    "sklearn.metrics",
    "sklearn.dummy",
    "sklearn.pipeline",
    "sklearn.preprocessing",
    "joblib",
    "cloudpickle",
    "skops.io",
    "yaml",
    "requests",
    "matplotlib",
    "matplotlib.pyplot",  # the backend is chosen at the first figure, in the child
    "mlflow",
    "mlflow.sklearn",
    "mlflow.pyfunc",
    "mlflow.models",
    "mlflow.models.signature",
    "mlflow.data",
    "mlflow.tracking",
    "mlflow.store.tracking.sqlalchemy_store",
    "mlflow.store.tracking.file_store",
    "mlflow.store.tracking.rest_store",
    "mlflow.store.model_registry.sqlalchemy_store",
    "mlflow.store.model_registry.file_store",
    "mlflow.store.artifact.local_artifact_repo",
    "mlflow.store.artifact.mlflow_artifacts_repo",
    "mlflow.store.tracking.sqlalchemy_workspace_store",
    "mlflow.tracking.request_header",
    "mlflow.models.display_utils",
    "mlflow.pyfunc.scoring_server",
    "sqlalchemy.dialects.sqlite",
    "alembic.command",  # MLflow checks a SQLite store's schema with alembic
    "alembic.config",
    "netrc",  # requests reads ~/.netrc through it
    "git",  # GitPython: MLflow tags each run with the script's git commit
    "winelab",
    "winelab.cli",
    "winelab.servers",
)

# What MLflow or pandas import on first use when installed (not on every Python's pins): skipped if absent.
PRELOAD_IF_INSTALLED = ("pyarrow", "pyarrow.pandas_compat", "narwhals")

IMPORTED_ENV: dict[str, str] = {}


class Child(BaseException):
    """Raised in a freshly forked child to leave the serving loop for the top level."""

    def __init__(self, request: dict, control: tuple[int, int]):
        self.request = request
        self.control = control


def send(fd: int, message: dict) -> None:
    os.write(fd, (json.dumps(message) + "\n").encode())


def become(request: dict, control: tuple[int, int]) -> tuple[str | None, bytes | str]:
    """In the child: set up the process the script would have had; return its path (None for -c) and source."""
    for fd in control:
        os.close(fd)
    if request.get("new_session"):
        os.setsid()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    stdin = os.open(request.get("stdin") or os.devnull, os.O_RDONLY)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    stdout = os.open(request["stdout"], flags, 0o644)
    stderr = stdout if request["stderr"] == request["stdout"] else os.open(request["stderr"], flags, 0o644)
    for source, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(source, target)
    for fd in {stdin, stdout, stderr}:
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    for key, value in IMPORTED_ENV.items():
        os.environ.setdefault(key, value)
    # MLflow decides at import whether to send usage telemetry (MLFLOW_DISABLE_TELEMETRY, DO_NOT_TRACK,
    # CI) and puts a session id in the environment: decide again, as importing it here would.
    import mlflow.telemetry

    mlflow.telemetry.set_telemetry_client()
    argv = request["argv"]
    sys.orig_argv = [sys.orig_argv[0], *argv]
    if argv[0] == "-c":  # python -c CODE args: argv[0] is "-c", sys.path[0] is ""
        sys.argv = ["-c", *argv[2:]]
        sys.path[0] = ""
        return None, argv[1]
    sys.argv = list(argv)
    script = os.path.join(os.getcwd(), argv[0])
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    with open(script, "rb") as source:
        return script, source.read()


def serve() -> None:
    control_in, control_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # stray prints of the preloads go nowhere; stderr stays the runner's log
    os.close(devnull)

    started = time.perf_counter()
    import importlib

    environment = dict(os.environ)
    for name in PRELOAD:
        importlib.import_module(name)
    for name in PRELOAD_IF_INSTALLED:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # MLflow maps import names to installed distributions once per process, scanning every
    # package's file list (about 1 s) the first time a model is logged or loaded. The map
    # depends only on what is installed, which is the same for every script: build it here.
    from mlflow.utils import requirements_utils

    requirements_utils._init_modules_to_packages_map()
    # Everything imported so far lives until the interpreter exits, as it would in a script. Moving it
    # out of the garbage collector's sight (what gc.freeze is for, before fork) keeps a child's
    # collections and its exit from walking, and so copying, the whole shared heap: a child's exit
    # costs 0.2 s instead of 1.2 s.
    import gc

    gc.collect()
    gc.freeze()
    # What importing them put into the environment (scikit-learn's KMP_* settings, with setdefault):
    # a script importing them itself would get the same on top of the environment it was given.
    IMPORTED_ENV.update(
        (key, value)
        for key, value in os.environ.items()
        if environment.get(key) != value and key != "_MLFLOW_TELEMETRY_SESSION_ID"
    )
    send(control_out, {"ready": round(time.perf_counter() - started, 3), "pid": os.getpid()})

    buffer = b""
    children: set[int] = set()
    while True:
        readable, _, _ = select.select([control_in], [], [], 0.005 if children else None)
        if readable:
            chunk = os.read(control_in, 65536)
            if not chunk:
                return  # the runner went away
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    raise Child(request, (control_in, control_out))
                children.add(pid)
                send(control_out, {"pid": pid, "token": request.get("token")})
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                send(control_out, {"pid": pid, "exit": os.waitstatus_to_exitcode(status)})


def run_as_main(script: str | None, source: bytes | str) -> None:
    """Execute ``source`` as the interpreter runs ``python script.py`` (or ``python -c`` when script is None).

    Never returns: the child ends in :func:`end`, with the status a real process would have.
    """
    import builtins
    import importlib.machinery
    import types

    main = types.ModuleType("__main__")
    if script is None:
        main.__loader__ = importlib.machinery.BuiltinImporter
    else:
        main.__file__ = script
        main.__cached__ = None
        main.__loader__ = importlib.machinery.SourceFileLoader("__main__", script)
    main.__spec__ = None
    main.__package__ = None
    main.__builtins__ = builtins
    main.__annotations__ = {}
    sys.modules["__main__"] = main
    code = compile(source, script or "<string>", "exec", dont_inherit=True)
    try:
        exec(code, main.__dict__)
    except SystemExit as exc:
        end(exit_status(exc))
    except BaseException as exc:
        # The traceback a learner sees starts at the script, not in this runner.
        trimmed = exc.__traceback__.tb_next
        sys.excepthook(type(exc), exc.with_traceback(trimmed), trimmed)
        # After an uncaught KeyboardInterrupt the interpreter finishes as at any exit, then ends
        # itself by SIGINT, so the exit status says so.
        end(1, by_sigint=isinstance(exc, KeyboardInterrupt))
    end(0)


def exit_status(exc: SystemExit) -> int:
    """The status the interpreter makes of an uncaught ``SystemExit``, printing a non-int code as it does."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    try:
        print(exc.code, file=sys.stderr)
    except Exception:
        pass
    return 1


def end(status: int, by_sigint: bool = False) -> None:
    """Finish the child as the interpreter finishes a script, then leave without tearing down the heap.

    The interpreter's own order: join non-daemon threads, run ``atexit`` handlers, flush the
    standard streams (a failed flush makes the status 120), then tear down the modules. Of that
    teardown, what a script can observe is its own objects going away: its unclosed files get
    flushed, its ``__del__`` methods run. Clearing ``__main__`` and collecting does that. The rest
    would only drop references to the preloaded modules, page by page of memory this child shares
    with the warm interpreter: copying those pages took 0.18 s of CPU per run, skipping it takes none.
    """
    import atexit
    import gc
    import threading

    threading._shutdown()
    atexit._run_exitfuncs()
    flushed = flush_standard_streams()
    sys.modules["__main__"].__dict__.clear()
    gc.collect()
    flushed = flush_standard_streams() and flushed
    if by_sigint:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    os._exit(status if flushed else 120)


def flush_standard_streams() -> bool:
    ok = True
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None and not stream.closed:
                stream.flush()
        except Exception:
            ok = False
    return ok


if __name__ == "__main__":
    child = None
    try:
        serve()
    except Child as raised:
        child = raised
    if child is not None:
        # Only a forked child gets here, outside any exception handler (nothing chains onto Child);
        # the serving loop's frames are gone, the preloaded modules stay.
        child.__traceback__ = None
        run_as_main(*become(child.request, child.control))
