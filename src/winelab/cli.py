"""Command-line options of the launchers (the scripts that start services), and their error handling.

A launcher builds its parser with :func:`server_parser`, so ``--help`` shows its
docstring and a bad option is one line, and starts with :func:`run_example`,
which turns the problems a learner can fix into one line on stderr and a
non-zero exit instead of a traceback. (Lesson scripts do the same with plain
argparse and a visible ``try``/``except``: they never import this package.)

Launchers take ``--port`` (:func:`add_port_option`), and ``--seconds`` /
``--run -- <command>`` (:func:`add_server_options`, parsed with
:func:`command_from_argv`); :func:`split_command` splits ``options -- command``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

from winelab.errors import UserError

__all__ = [
    "UserError",
    "server_parser",
    "add_port_option",
    "add_server_options",
    "command_from_argv",
    "split_command",
    "fraction",
    "non_negative_float",
    "port_number",
    "positive_int",
    "run_example",
]


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad option is reported on one line (no usage block)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def non_negative_float(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be >= 0")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1]."""
    value = _number(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be >= 1")
    return value


def port_number(text: str) -> int:
    """A TCP port, 1-65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port number (1-65535)")
    return value


def server_parser(doc: str | None) -> argparse.ArgumentParser:
    """A launcher's parser: ``--help`` shows ``doc``, a bad option is one line (no usage block)."""
    return _OneLineParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)


def add_port_option(parser: argparse.ArgumentParser, what: str = "the server") -> None:
    """``--port``: where ``what`` listens on 127.0.0.1; default None (a free one, picked by the OS)."""
    parser.add_argument(
        "--port",
        type=port_number,
        default=None,
        help=f"port of {what} on 127.0.0.1; it must be free (default: a free one picked by the OS)",
    )


def add_server_options(parser: argparse.ArgumentParser, *, default_dir: str | None = None) -> None:
    """``--port``, ``--seconds``, ``--run`` (and ``--dir`` when ``default_dir`` is given)."""
    if default_dir is not None:
        parser.add_argument(
            "--dir",
            default=default_dir,
            help="folder for the server's database, artifacts and log (default: %(default)s)",
        )
    add_port_option(parser)
    parser.add_argument(
        "--seconds", type=positive_int, default=None, help="stop after this many seconds (default: wait for Ctrl-C)"
    )
    parser.add_argument(
        "--run",
        action="store_true",
        help="run the command given after `--` against the server, then stop it (exit with the command's status)",
    )


def split_command(argv: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """``[options..., "--", command...]`` -> ``(options, command)``; no ``--`` means no command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def command_from_argv(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None):
    """Parse ``argv`` split at ``--``: returns ``(args, command)``; ``--run`` and the command go together."""
    options, command = split_command(argv)
    args = parser.parse_args(options)
    if args.run and not command:
        parser.error("--run needs a command after `--`, e.g. --run -- python script.py")
    if command and not args.run:
        parser.error("a command after `--` needs --run")
    if args.run and args.seconds is not None:
        parser.error("--run and --seconds exclude each other")
    return args, command


def _is_connection_error(exc: BaseException) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        text = str(exc)
        if isinstance(exc, ConnectionError) or any(
            marker in text for marker in ("Max retries exceeded", "Connection refused", "Failed to establish")
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def run_example(main: Callable[[], int | None]) -> None:
    """Run a launcher's ``main()`` and exit with a one-line message on known errors."""
    try:
        code = main()
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:
        from mlflow.exceptions import MlflowException

        if not isinstance(exc, MlflowException) and not _is_connection_error(exc):
            raise  # a bug: keep the traceback
        import mlflow

        uri = mlflow.get_tracking_uri()
        if _is_connection_error(exc):
            print(
                f"error: cannot reach the MLflow tracking server at {uri}; start it or fix MLFLOW_TRACKING_URI",
                file=sys.stderr,
            )
        else:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            print(f"error: MLflow ({uri}): {first_line}", file=sys.stderr)
        sys.exit(1)
    sys.exit(code or 0)
