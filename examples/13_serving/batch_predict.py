"""Batch scoring without a server: ``mlflow models predict`` on a CSV file.

The offline counterpart of ``serve_model.py``: the same registered model
(``models:/wine-serving@champion`` by default, run ``serve_model.py`` first)
scores a CSV file of wine rows in one go and writes ``{"predictions": [...]}``
to a JSON file. The script writes the input file, prints the command a learner
would type and runs it (the click command behind ``mlflow``, in this process:
``winelab.cli.mlflow_cli``), and prints the predictions.

    python examples/13_serving/batch_predict.py --rows 5
    # which runs:
    mlflow models predict -m models:/wine-serving@champion -i batch-input.csv -t csv \\
        -o batch-predictions.json --env-manager local
"""

import json
from pathlib import Path

from winelab import FEATURES, load_wine, run_example
from winelab.cli import mlflow_cli, positive_int, server_parser


def main() -> None:
    parser = server_parser(__doc__)  # no model options: this script trains nothing
    parser.add_argument("--model-uri", default="models:/wine-serving@champion", help="model (default: %(default)s)")
    parser.add_argument("--rows", type=positive_int, default=5, help="wine rows to score (default: %(default)s)")
    parser.add_argument("--input", default="batch-input.csv", help="CSV file to write (default: %(default)s)")
    parser.add_argument("--output", default="batch-predictions.json", help="JSON result (default: %(default)s)")
    args = parser.parse_args()

    # The input: plain CSV with the signature's column names, no index column
    load_wine()[FEATURES].head(args.rows).to_csv(args.input, index=False)

    # The batch command; it resolves models:/ URIs through MLFLOW_TRACKING_URI like the Python API
    mlflow_cli(
        "models", "predict", "-m", args.model_uri, "-i", args.input, "-t", "csv",
        "-o", args.output, "--env-manager", "local",
    )  # fmt: skip

    predictions = json.loads(Path(args.output).read_text())["predictions"]
    print(f"{len(predictions)} predictions in {args.output}: {json.dumps(predictions)}")


if __name__ == "__main__":
    run_example(main)
