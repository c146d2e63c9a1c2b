"""The wine project's shared code: the data and the train/test split.

Both entry points import it (``from wine import ...``): MLflow runs their commands
in this folder, so this file is on their path. Like them it uses only packages that
``python_env.yaml`` lists, so the environment ``mlflow run`` builds can run it.
"""

import pandas as pd
from sklearn.model_selection import train_test_split


def load_split(data):
    """The 1,599 red wines read from ``data`` (a CSV file or URL), split 75/25 with a fixed seed.

    Both entry points split the same way, so ``register`` checks a model on the wines
    ``main`` held out: ``train_x, test_x, train_y, test_y``.
    """
    # 11 measurements and the quality score, ';'-separated
    wine = pd.read_csv(data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    return train.drop(columns="quality"), test.drop(columns="quality"), train["quality"], test["quality"]
