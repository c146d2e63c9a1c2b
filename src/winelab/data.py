"""The UCI red wine quality data: download, verify, cache (``make data``).

The file is fetched once from UCI with pooch, which checks its sha256 and
keeps it in a per-user cache. A cached file whose hash does not match is
never used: pooch downloads it again, and if that is impossible we stop with
a one-line message saying where a good copy must go.

The scripts themselves never come here: they read the CSV with pandas from
their ``--data`` option, whose default is ``$WINE_QUALITY_CSV`` (the demo, the
benchmark and the tests point it at this cache's verified copy) or UCI's URL.

Command line (used by ``make`` and CI): ``python -m winelab --help``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

from winelab.errors import UserError

URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
SHA256 = "4a402cf041b025d4566d954c3b9ba8635a3a8a01e039005d97d6a710278cf05e"
FILENAME = "winequality-red.csv"

# Environment overrides: tests point these at temporary folders and a loopback server.
DATA_DIR_ENV = "WINELAB_DATA_DIR"
URL_ENV = "WINELAB_DATA_URL"
DOWNLOAD_TIMEOUT_S = 15


def cache_dir() -> Path:
    """Where the verified CSV is cached (``$WINELAB_DATA_DIR`` or the user cache)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    import pooch

    return Path(pooch.os_cache("winelab"))


def cached_path() -> Path:
    return cache_dir() / FILENAME


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def fetch() -> Path:
    """Return the path of a verified copy of the CSV, downloading it if needed."""
    import pooch

    target = cached_path()
    if target.is_file() and sha256_of(target) == SHA256:
        return target  # fast path: no network, no pooch logging
    url = os.environ.get(URL_ENV, URL)
    stale = " (the cached copy failed its sha256 check)" if target.exists() else ""
    pooch.get_logger().setLevel("WARNING")  # we report the outcome ourselves, in one line
    try:
        path = pooch.retrieve(
            url,
            known_hash=f"sha256:{SHA256}",
            fname=FILENAME,
            path=target.parent,
            downloader=pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT_S),
        )
    except ValueError:  # pooch's hash mismatch: it has already deleted the download
        raise UserError(
            f"downloaded {url} but its sha256 is not {SHA256}, so it was discarded; "
            f"put a good copy of {FILENAME} at {target}"
        ) from None
    except Exception as exc:  # network errors come in many types (requests, OSError)
        raise UserError(
            f"wine data not available{stale}: could not download {url} "
            f"({type(exc).__name__}); put a copy of {FILENAME} at {target} "
            f"(sha256 {SHA256}) or run: python -m winelab seed FILE"
        ) from None
    print(f"winelab: downloaded {url} to {path} (sha256 verified)", file=sys.stderr)
    return Path(path)


def seed(source: Path) -> Path:
    """Copy a local copy of the CSV into the cache after checking its sha256."""
    source = Path(source)
    if not source.is_file():
        raise UserError(f"no such file: {source}")
    digest = sha256_of(source)
    if digest != SHA256:
        raise UserError(f"{source} has sha256 {digest}, expected {SHA256}; not seeding the cache")
    target = cached_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
