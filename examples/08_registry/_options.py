"""The ``--model-name`` option shared by this chapter's scripts (a helper, not a script)."""

import argparse

from winelab.cli import registered_model_name

DEFAULT_MODEL_NAME = "wine_quality"


def add_model_name(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--model-name",
        type=registered_model_name,
        default=DEFAULT_MODEL_NAME,
        help="registered model name (default: %(default)s)",
    )
    return parser
