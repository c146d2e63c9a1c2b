"""Baseline: an ElasticNet on the red wine data, without MLflow.

The starting point of the guide: train scikit-learn's ElasticNet to predict
the quality score (3-8) of a red wine from 11 physico-chemical measurements,
and print RMSE, MAE and R². Nothing is recorded anywhere; the next script
does the same work and tracks it with MLflow.

    python examples/01_tracking/basic_regression.py --alpha 0.5 --l1-ratio 0.1
"""

from sklearn.linear_model import ElasticNet

from winelab import example_parser, load_wine, regression_metrics, run_example, split


def main() -> None:
    args = example_parser(__doc__).parse_args()

    # Load the data and hold out a test split (fixed seed, so runs compare)
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)

    # Fit and evaluate
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed)
    model.fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))

    print(f"ElasticNet(alpha={args.alpha}, l1_ratio={args.l1_ratio})")
    for name, value in metrics.items():
        print(f"  {name}: {value:.4f}")


if __name__ == "__main__":
    run_example(main)
