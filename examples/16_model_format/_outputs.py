"""Where the chapter's scripts write their files (a helper, not a script)."""

import argparse
import shutil
from pathlib import Path


def add_output_dir(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("model_format_files") / default,
        help="folder for the models and files this script writes (default: %(default)s)",
    )


def fresh(folder: Path) -> Path:
    """``folder``, emptied of what a previous run wrote there (save_model refuses a non-empty folder)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder
