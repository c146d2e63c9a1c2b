"""Command-line options shared by the example scripts, and their error handling.

Every script builds its parser with :func:`example_parser` (a script that
trains the wine model) or :func:`server_parser` (one that trains nothing), so
``--help`` shows the script's docstring and the same option names everywhere,
and starts with :func:`run_example`, which turns the problems a learner can fix
into one line on stderr and a non-zero exit instead of a traceback.

Scripts that start a server take ``--port`` (:func:`add_port_option`), and
``--seconds`` / ``--run -- <command>`` (:func:`add_server_options`, parsed with
:func:`command_from_argv`); :func:`split_command` splits ``options -- command``.

Scripts that teach ``mlflow`` commands run them with :func:`mlflow_cli`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence

from winelab.errors import UserError

__all__ = [
    "UserError",
    "example_parser",
    "mlflow_cli",
    "server_parser",
    "add_grid_options",
    "add_port_option",
    "add_server_options",
    "command_from_argv",
    "split_command",
    "fraction",
    "interval_seconds",
    "n_jobs",
    "non_negative_float",
    "open_fraction",
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


def open_fraction(text: str) -> float:
    """A number strictly between 0 and 1 (e.g. a test-set share)."""
    value = _number(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be strictly between 0 and 1")
    return value


def interval_seconds(text: str) -> float:
    """A time interval in seconds, 0.01 to 3600 (e.g. how often to sample the machine)."""
    value = _number(text)
    if not 0.01 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text} must be between 0.01 and 3600 seconds")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be >= 1")
    return value


def at_least_two(text: str) -> int:
    """A whole number >= 2 (e.g. cross-validation folds)."""
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"{text} must be >= 2")
    return value


def registered_model_name(text: str) -> str:
    """A registry name: not empty, no '/' or ':' (MLflow refuses them) and no quotes (search filters)."""
    name = text.strip()
    if not name or any(char in name for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid registered model name (no / : or quotes)")
    return name


def n_jobs(text: str) -> int:
    """joblib's ``n_jobs``: a positive number of workers, or -1 for one per CPU."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"{text} must be >= 1, or -1 for one worker per CPU")
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


class _Distinct(argparse.Action):
    """A ``nargs="+"`` option whose values must not repeat (a grid point would run twice)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if len(set(values)) != len(values):
            parser.error(f"argument {option_string}: repeated values {values}")
        setattr(namespace, self.dest, values)


def add_grid_options(
    parser: argparse.ArgumentParser,
    *,
    alphas_help: str = "alpha values of the grid",
    l1_ratios_help: str = "l1_ratio values of the grid",
) -> None:
    """``--alphas`` and ``--l1-ratios``: lists of distinct ElasticNet settings for a sweep."""
    parser.add_argument(
        "--alphas",
        nargs="+",
        type=non_negative_float,
        action=_Distinct,
        default=[0.1, 0.5, 1.0],
        help=f"{alphas_help}, each >= 0 (default: %(default)s)",
    )
    parser.add_argument(
        "--l1-ratios",
        "--l1_ratios",
        dest="l1_ratios",
        nargs="+",
        type=fraction,
        action=_Distinct,
        default=[0.1, 0.5, 0.9],
        help=f"{l1_ratios_help}, each in [0, 1] (default: %(default)s)",
    )


def example_parser(
    doc: str | None,
    *,
    experiment: str | None = None,
    model: bool = True,
) -> argparse.ArgumentParser:
    """A parser whose ``--help`` shows ``doc`` (the script's docstring).

    ``experiment``: default for ``--experiment-name`` (omit for scripts that
    do not choose one). ``model``: add ``--alpha`` and ``--l1-ratio`` for the
    ElasticNet. ``--test-size`` and ``--seed`` are always there.
    """
    parser = _OneLineParser(
        description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if experiment is not None:
        parser.add_argument(
            "--experiment-name",
            default=experiment,
            help="MLflow experiment to log into (default: %(default)s)",
        )
    if model:
        parser.add_argument(
            "--alpha",
            type=non_negative_float,
            default=0.7,
            help="ElasticNet regularisation strength, >= 0 (default: %(default)s)",
        )
        parser.add_argument(
            "--l1-ratio",
            "--l1_ratio",
            dest="l1_ratio",
            type=fraction,
            default=0.7,
            help="ElasticNet mix of L1 and L2, in [0, 1] (default: %(default)s)",
        )
    parser.add_argument(
        "--test-size",
        type=open_fraction,
        default=0.25,
        help="share of rows held out for evaluation (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=42, help="random seed for the split and the model (default: %(default)s)"
    )
    return parser


def server_parser(doc: str | None) -> argparse.ArgumentParser:
    """For scripts that train nothing: ``--help`` shows ``doc``, errors take one line (as :func:`example_parser`)."""
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


def mlflow_cli(*args: str, show: int | None = None) -> str:
    """Print ``$ mlflow <args>``, run it, print its output (the first ``show`` lines), return that output.

    It runs the click command behind the ``mlflow`` executable in this process: the same
    code as typing the printed line in a shell with the venv active, reading the same
    ``MLFLOW_TRACKING_URI``, without a new MLflow start-up (about 3 s) per command. What the
    command logs goes to stderr as usual. A command that fails raises :class:`UserError`
    with its message; an MLflow error stays an ``MlflowException`` (one line from
    :func:`run_example`).
    """
    import contextlib
    import io
    import shlex

    import click
    from mlflow.cli import cli

    print(f"\n$ mlflow {shlex.join(args)}", flush=True)
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output):
            code = cli.main(list(args), prog_name="mlflow", standalone_mode=False)
    except click.ClickException as exc:
        raise UserError(f"`mlflow {shlex.join(args[:2])}` failed: {exc.format_message()}") from None
    except click.Abort:
        raise KeyboardInterrupt from None
    finally:  # what it printed, also when it failed
        lines = output.getvalue().rstrip().splitlines()
        more = [f"... ({len(lines) - show} more lines)"] if show is not None and len(lines) > show else []
        if lines:
            print("\n".join(lines[:show] + more), flush=True)
    if code:  # a command that ends with ctx.exit(code)
        raise UserError(f"`mlflow {shlex.join(args[:2])}` failed with exit code {code}")
    return output.getvalue()


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
