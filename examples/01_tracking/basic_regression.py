"""Baseline: an ElasticNet on the red wine data, without MLflow.

The starting point of the guide: train scikit-learn's ElasticNet to predict
the quality score (3-8) of a red wine from 11 physico-chemical measurements,
and print RMSE, MAE and R² (with the RMSE of always guessing the mean, for
scale) and the coefficients. Nothing is recorded anywhere; the next script
does the same work and tracks it with MLflow.

The data is UCI's red wine CSV, read from --data: a local copy (the
$WINE_QUALITY_CSV variable; `make data` keeps a verified one) or UCI's URL.

    python examples/01_tracking/basic_regression.py --alpha 0.5 --l1-ratio 0.1
"""

import argparse
import os
import sys

import pandas as pd
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--alpha", type=float, default=0.7, help="regularisation strength, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="share of L1 in the penalty, 0-1 (default: 0.7)")
    return parser.parse_args()


def main():
    args = parse_args()

    # 1,599 wines: 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")

    # Hold out a quarter of the wines for testing (a fixed seed, so runs compare)
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    print(f"{len(wine)} wines: {len(train)} to train on, {len(test)} to test")

    # Fit, then evaluate on the held-out wines
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42)
    model.fit(train_x, train_y)
    predicted = model.predict(test_x)

    print(f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio})")
    print(f"  rmse: {root_mean_squared_error(test_y, predicted):.4f}")
    print(f"  mae: {mean_absolute_error(test_y, predicted):.4f}")
    print(f"  r2: {r2_score(test_y, predicted):.4f}")

    # For scale: a "model" that always predicts the mean quality of the training wines
    always_the_mean = [train_y.mean()] * len(test_y)
    print(f"  rmse when always predicting the mean: {root_mean_squared_error(test_y, always_the_mean):.4f}")

    # What the model leans on: the L1 part of the penalty sets some coefficients to exactly 0
    for feature, coefficient in zip(train_x.columns, model.coef_, strict=True):
        print(f"  {feature:>20}: {coefficient:+.4f}")


if __name__ == "__main__":
    try:
        main()
    except (OSError, ValueError) as exc:  # no such file or no network; a corrupt file or a bad --alpha
        sys.exit(f"error: {exc}")
