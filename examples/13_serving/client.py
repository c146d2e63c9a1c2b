"""Query a model served by ``mlflow models serve`` over plain HTTP.

The scoring server's REST protocol, request by request:

- ``GET /ping`` (health) and ``GET /version`` (MLflow's version);
- ``POST /invocations`` with the same wine rows in each accepted format:
  JSON ``dataframe_split`` (columns + data), JSON ``dataframe_records``
  (one object per row), JSON ``inputs`` and CSV (``Content-Type: text/csv``);
  every answer is ``{"predictions": [...]}``;
- three requests the model's signature rejects (a missing column, a text
  value in a number column, broken JSON): each gets a 4xx status and MLflow's
  error message, printed on one line.

The URL comes from ``--url`` or ``$MODEL_SERVER_URL`` (set by ``serve_model.py --run``).

    python examples/13_serving/client.py --url http://127.0.0.1:5001 --rows 3
"""

import argparse
import json
import os
import sys

import pandas as pd
import requests

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--url", default=os.environ.get("MODEL_SERVER_URL", "http://127.0.0.1:5001"),
                        help="the model server (default: $MODEL_SERVER_URL or %(default)s)")  # fmt: skip
    parser.add_argument("--rows", type=positive_int, default=3, help="wine rows to score (default: %(default)s)")
    return parser.parse_args()


def show_error(case: str, response: requests.Response) -> None:
    """One line per rejected request: status, MLflow's error code and the gist of its message."""
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    message = " ".join(str(body.get("message", "")).split())
    gist = message.rsplit("Error: ", 1)[-1]  # MLflow nests the root cause last
    print(f"{case:<18} -> HTTP {response.status_code} {body.get('error_code', '')}: {gist[:240]}")


def main():
    args = parse_args()
    url = args.url.rstrip("/")
    # The model's input: the 11 measurements of the first wines (no 'quality': that is what it predicts)
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    rows = wine.drop(columns="quality").head(args.rows)

    # Is it up, and which MLflow serves it?
    try:
        ping = requests.get(f"{url}/ping", timeout=10)
    except requests.ConnectionError:
        raise ConnectionError(f"no model server at {url}; start one with serve_model.py") from None
    version = requests.get(f"{url}/version", timeout=10)
    print(f"GET /ping -> {ping.status_code}; GET /version -> {version.text.strip()}")

    # The same rows in each format /invocations accepts
    invocations = f"{url}/invocations"
    payloads = {
        "dataframe_split": {"dataframe_split": rows.to_dict(orient="split")},
        "dataframe_records": {"dataframe_records": rows.to_dict(orient="records")},
        "inputs": {"inputs": rows.to_dict(orient="list")},
    }
    for name, payload in payloads.items():
        response = requests.post(invocations, json=payload, timeout=60)
        response.raise_for_status()
        print(f"{name:<18} -> {json.dumps(response.json()['predictions'])}")
    csv = rows.to_csv(index=False)
    response = requests.post(invocations, data=csv, headers={"Content-Type": "text/csv"}, timeout=60)
    response.raise_for_status()
    print(f"{'csv':<18} -> {json.dumps(response.json()['predictions'])}")

    # Requests that break the model's signature: 4xx and MLflow's reason
    missing = rows.drop(columns=["alcohol"])
    wrong_type = rows.astype(object)
    wrong_type.loc[wrong_type.index[0], "pH"] = "acidic"
    bad_requests = {
        "missing column": {"json": {"dataframe_split": missing.to_dict(orient="split")}},
        "wrong type": {"json": {"dataframe_records": wrong_type.to_dict(orient="records")}},
        "malformed JSON": {
            "data": '{"dataframe_split": {"columns": [',
            "headers": {"Content-Type": "application/json"},
        },
    }
    for case, request in bad_requests.items():
        response = requests.post(invocations, timeout=60, **request)
        if response.ok:
            raise ValueError(f"{case}: expected a 4xx answer, got {response.status_code}")
        show_error(case, response)


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as exc:  # no data file, no server at --url, an unexpected answer
        sys.exit(f"error: {exc}")
