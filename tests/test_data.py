"""The wine data: make data's download with sha256 check, cache, offline and corrupt-file errors; a URL as --data."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import threading
from pathlib import Path

import pytest
import reference
from harness import clean_env, run_python

from winelab import data
from winelab.servers import free_port

SHARED_COPY = Path(__file__).resolve().parents[2] / "shared" / "data" / data.FILENAME


@pytest.fixture(scope="module")
def good_bytes() -> bytes:
    source = SHARED_COPY if SHARED_COPY.is_file() else data.fetch()
    content = source.read_bytes()
    assert hashlib.sha256(content).hexdigest() == data.SHA256
    return content


@contextlib.contextmanager
def serve_bytes(tmp_path: Path, content: bytes):
    """A loopback HTTP server serving ``content`` as /winequality-red.csv; yields its URL."""
    root = tmp_path / "www"
    root.mkdir()
    (root / data.FILENAME).write_bytes(content)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{data.FILENAME}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


def winelab(args: list[str], cache: Path, url: str, cwd: Path):
    env = clean_env(WINELAB_DATA_DIR=str(cache), WINELAB_DATA_URL=url)
    return run_python(["-m", "winelab", *args], cwd=cwd, env=env, timeout=60)


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}/{data.FILENAME}"


def test_download_verifies_and_caches(tmp_path, good_bytes):
    cache = tmp_path / "cache"
    with serve_bytes(tmp_path, good_bytes) as url:
        first = winelab(["fetch"], cache, url, tmp_path)
    assert first.returncode == 0, first.stderr
    assert (cache / data.FILENAME).read_bytes() == good_bytes
    assert "sha256 verified" in first.stderr
    # Second fetch: served from the cache, no server needed any more.
    second = winelab(["fetch"], cache, dead_url(), tmp_path)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == str(cache / data.FILENAME)


def test_corrupt_download_is_discarded(tmp_path, good_bytes):
    cache = tmp_path / "cache"
    corrupt = good_bytes.replace(b"9.4", b"9.5", 1)
    with serve_bytes(tmp_path, corrupt) as url:
        result = winelab(["fetch"], cache, url, tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert "sha256" in line and "discarded" in line
    assert not (cache / data.FILENAME).exists()


def test_offline_without_cache_says_where_to_put_the_file(tmp_path):
    cache = tmp_path / "cache"
    result = winelab(["fetch"], cache, dead_url(), tmp_path)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert str(cache / data.FILENAME) in line
    assert data.SHA256 in line


def test_corrupt_cache_offline_is_never_used(tmp_path, good_bytes):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / data.FILENAME).write_bytes(good_bytes[:-100])
    result = winelab(["fetch"], cache, dead_url(), tmp_path)
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert "failed its sha256 check" in line and str(cache / data.FILENAME) in line
    assert result.stdout == "", "no path is printed for a copy that failed its check"


def test_corrupt_cache_is_replaced_by_a_good_download(tmp_path, good_bytes):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / data.FILENAME).write_bytes(b"not the wine data")
    with serve_bytes(tmp_path, good_bytes) as url:
        result = winelab(["fetch"], cache, url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (cache / data.FILENAME).read_bytes() == good_bytes


def test_seed_refuses_a_bad_copy(tmp_path, good_bytes):
    cache = tmp_path / "cache"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good_bytes + b"\n")
    result = winelab(["seed", str(bad)], cache, dead_url(), tmp_path)
    assert result.returncode == 1
    assert "expected" in result.stderr and not (cache / data.FILENAME).exists()
    good = tmp_path / "good.csv"
    good.write_bytes(good_bytes)
    result = winelab(["seed", str(good)], cache, dead_url(), tmp_path)
    assert result.returncode == 0, result.stderr
    assert (cache / data.FILENAME).read_bytes() == good_bytes


def test_a_script_reads_the_data_from_a_url(tmp_path, good_bytes, store, run_script):
    """--data takes a URL as pandas does (UCI's is the default): here a loopback server's copy."""
    with serve_bytes(tmp_path, good_bytes) as url:
        result = run_script("01_tracking/basic_regression_mlflow.py", "--data", url, env={"WINE_QUALITY_CSV": None})
    assert "rmse=" in result.stdout
    [run] = store.runs("experiment_1")
    assert run.data.metrics == pytest.approx(reference.expected_metrics(0.7, 0.7), rel=1e-9)


def test_the_default_data_is_wine_quality_csv_else_ucis_url(tmp_path, store, run_script):
    """The one documented choice: $WINE_QUALITY_CSV when set, else UCI's URL (--help shows which)."""

    def data_default(env) -> str:
        result = run_script("01_tracking/basic_regression.py", "--help", env=env, claim=False)
        return "".join(result.stdout.split())  # argparse wraps long help lines

    assert data.URL in data_default({"WINE_QUALITY_CSV": None})
    elsewhere = tmp_path / "my-copy.csv"
    assert f"wineCSV:{elsewhere}" in data_default({"WINE_QUALITY_CSV": str(elsewhere)})
