"""Manage the cached wine data: ``python -m winelab {fetch,seed FILE,where}``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from winelab import data
from winelab.errors import UserError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m winelab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download the CSV into the cache unless a verified copy is there")
    seed_cmd = sub.add_parser("seed", help="check a local copy's sha256 and copy it into the cache")
    seed_cmd.add_argument("file", type=Path)
    sub.add_parser("where", help="print where the CSV is cached")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            print(data.fetch())
        elif args.command == "seed":
            print(data.seed(args.file))
        else:
            print(data.cached_path())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
