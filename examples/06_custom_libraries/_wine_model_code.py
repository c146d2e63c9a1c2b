"""The model that ``log_model_from_code.py`` logs *as code* (MLflow's "models from code"; not a script).

``log_model(python_model="path/to/this/file.py")`` copies this file into the
model, and every ``load_model`` runs it again: ``mlflow.models.set_model(...)``
at the bottom names the object MLflow serves. No Python object is pickled with
cloudpickle, so loading does not depend on the class being importable under the
same name, and what the model does is readable in the model's files.

The fitted ElasticNet itself comes in as an artifact (``context.artifacts["model"]``).
"""

import joblib
import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class WineQualityFromCode(PythonModel):
    """A joblib-saved scikit-learn regressor behind MLflow's python_function interface."""

    def load_context(self, context):
        # The keys are those given to log_model(artifacts=...), the values local copies.
        self.model = joblib.load(context.artifacts["model"])

    # The DataFrame hint keeps the signature in charge of checking and ordering the columns.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        return self.model.predict(model_input)


# The object MLflow logs and serves: the line that makes this file a model.
mlflow.models.set_model(WineQualityFromCode())
