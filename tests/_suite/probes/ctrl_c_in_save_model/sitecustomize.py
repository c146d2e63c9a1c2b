"""Test hook: press Ctrl-C at a known point of a script, instead of racing it from outside.

Python imports ``sitecustomize`` at start-up from ``sys.path``; a test puts this folder on
``PYTHONPATH``. The script then runs unchanged, and the moment MLflow starts writing the
model's files inside ``mlflow.sklearn.log_model`` (the LoggedModel exists, the run's params
and metrics are logged), the process sends itself SIGINT, exactly what Ctrl-C in a terminal
does. Python turns it into ``KeyboardInterrupt`` right there.
"""

import os
import signal

import mlflow.sklearn

_save_model = mlflow.sklearn.save_model


def _save_model_then_get_interrupted(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return _save_model(*args, **kwargs)


mlflow.sklearn.save_model = _save_model_then_get_interrupted
