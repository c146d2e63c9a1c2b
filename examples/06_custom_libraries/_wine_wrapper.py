"""The custom model class logged by ``model_customization.py`` (not a script).

It lives in its own module so that ``log_model(code_paths=[...])`` can ship it
with the model: whoever loads the model gets this file on ``sys.path`` and
can unpickle the wrapper without having this repository.
"""

import joblib
import mlflow.pyfunc
import pandas as pd


class WineQualityModel(mlflow.pyfunc.PythonModel):
    """A joblib-saved scikit-learn regressor behind MLflow's python_function interface."""

    def load_context(self, context):
        # context.artifacts maps the keys given to log_model(artifacts=...) to local copies.
        self.model = joblib.load(context.artifacts["model"])
        self.data_dir = context.artifacts["data"]

    # MLflow 3 reads predict's type hints; a DataFrame hint keeps the signature in charge of checks.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        # The signature has already checked and ordered the columns.
        return self.model.predict(model_input)

    def load_split(self, name):
        """One of the data splits shipped with the model (``"train"`` or ``"test"``)."""
        return pd.read_csv(f"{self.data_dir}/{name}.csv")
