"""A custom MLflow flavor: a fitted ElasticNet stored as readable JSON, no pickle (a helper, not a script).

A flavor is a module with four functions, the shape of ``mlflow.sklearn``:

- ``save_model(model, path, ...)`` writes the model's files and an ``MLmodel``
  that names this flavor and ``python_function`` (with this module as the
  ``loader_module``), so every MLflow tool can load it;
- ``log_model(model, name, ...)`` hands ``save_model`` to ``Model.log``, which
  saves into a temporary folder and uploads it as a logged model;
- ``load_model(model_uri)`` gives back the library's own object (an ElasticNet);
- ``_load_pyfunc(path)`` is what ``mlflow.pyfunc.load_model`` calls: it returns
  an object with ``predict(model_input, params=None)``.

``mlflow.pyfunc.load_model`` imports the ``loader_module`` by name, so the
module must be importable where the model is loaded: pass this file in
``code_paths`` and the model carries it in ``code/``, which MLflow puts on
``sys.path`` before the import.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import yaml
from mlflow import pyfunc
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from sklearn.linear_model import ElasticNet

FLAVOR_NAME = "elasticnet_json"
MODEL_FILE = "model.json"
REQUIREMENTS = ("mlflow", "numpy", "pandas", "scikit-learn", "pyyaml")


def save_model(sk_model, path, code_paths=None, signature=None, mlflow_model=None) -> None:
    """Save a fitted ElasticNet to the local folder ``path`` as an MLflow model of this flavor."""
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise MlflowException(f"cannot save the model into {path}: the folder is not empty")
    if not isinstance(sk_model, ElasticNet) or not hasattr(sk_model, "coef_"):
        raise MlflowException(f"{FLAVOR_NAME} saves a fitted ElasticNet, not {type(sk_model).__name__}")
    path.mkdir(parents=True, exist_ok=True)

    # The model itself: its settings and what fit() learned. JSON floats round-trip exactly.
    spec = {
        "params": sk_model.get_params(),
        "feature_names": [str(name) for name in sk_model.feature_names_in_],
        "coef": sk_model.coef_.tolist(),
        "intercept": float(sk_model.intercept_),
    }
    (path / MODEL_FILE).write_text(json.dumps(spec, indent=2) + "\n")

    # The code the model needs to be loaded (this module), copied into code/.
    code = None
    if code_paths:
        code = "code"
        (path / code).mkdir()
        for code_path in code_paths:
            shutil.copy(code_path, path / code)

    # The environment, as the files MLflow's own flavors write.
    requirements = [f"{name}=={metadata.version(name)}" for name in REQUIREMENTS]
    (path / "requirements.txt").write_text("\n".join(requirements) + "\n")
    python = platform.python_version()
    python_env = {"python": python, "build_dependencies": ["pip"], "dependencies": ["-r requirements.txt"]}
    (path / "python_env.yaml").write_text(yaml.safe_dump(python_env, sort_keys=False))
    dependencies = [f"python={python}", "pip", {"pip": requirements}]
    conda_env = {"name": "mlflow-env", "channels": ["conda-forge"], "dependencies": dependencies}
    (path / "conda.yaml").write_text(yaml.safe_dump(conda_env, sort_keys=False))

    # MLmodel: this flavor, and python_function pointing back at this module.
    mlflow_model = mlflow_model or Model()
    if signature is not None:
        mlflow_model.signature = signature
    pyfunc.add_to_model(
        mlflow_model,
        loader_module=__name__,
        data=MODEL_FILE,
        code=code,
        conda_env="conda.yaml",
        python_env="python_env.yaml",
    )
    mlflow_model.add_flavor(FLAVOR_NAME, data=MODEL_FILE, code=code, sklearn_version=metadata.version("scikit-learn"))
    mlflow_model.save(str(path / "MLmodel"))


def log_model(sk_model, name, code_paths=None, signature=None, **kwargs):
    """Log the model to the active run (or a new one); returns MLflow's ``ModelInfo``."""
    return Model.log(
        artifact_path=None,
        name=name,
        flavor=sys.modules[__name__],
        sk_model=sk_model,
        code_paths=code_paths,
        signature=signature,
        **kwargs,
    )


def load_model(model_uri, dst_path=None) -> ElasticNet:
    """The ElasticNet back from any model URI (a folder, ``models:/...``, ``runs:/...``)."""
    from mlflow.artifacts import download_artifacts

    local = Path(download_artifacts(artifact_uri=model_uri, dst_path=dst_path))
    conf = Model.load(str(local / "MLmodel")).flavors[FLAVOR_NAME]
    return _read(local / conf["data"])


def _read(json_path) -> ElasticNet:
    spec = json.loads(Path(json_path).read_text())
    model = ElasticNet(**spec["params"])
    # What predict() needs of a fitted model, set from the file instead of by fit().
    model.coef_ = np.asarray(spec["coef"], dtype=float)
    model.intercept_ = np.float64(spec["intercept"])
    model.feature_names_in_ = np.asarray(spec["feature_names"], dtype=object)
    model.n_features_in_ = len(spec["feature_names"])
    return model


class _ElasticNetPyfunc:
    def __init__(self, model: ElasticNet):
        self.model = model

    def predict(self, model_input, params=None):
        return self.model.predict(model_input)


def _load_pyfunc(path) -> _ElasticNetPyfunc:
    """Called by mlflow.pyfunc.load_model with the python_function flavor's ``data`` path (model.json)."""
    return _ElasticNetPyfunc(_read(path))
