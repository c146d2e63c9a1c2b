"""The ``--model-name`` option shared by this chapter's scripts (a helper, not a script)."""

import argparse

DEFAULT_MODEL_NAME = "wine_quality"


def registered_model_name(text: str) -> str:
    """A registry name: not empty, no '/' or ':' (MLflow refuses them) and no quotes (search filters)."""
    name = text.strip()
    if not name or any(char in name for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"{text!r} is not a valid registered model name (no / : or quotes)")
    return name


def add_model_name(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--model-name",
        type=registered_model_name,
        default=DEFAULT_MODEL_NAME,
        help="registered model name (default: %(default)s)",
    )
    return parser
