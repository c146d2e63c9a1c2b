"""Print where a logged model's MLmodel file is and its signature section (a helper, not a script)."""

from pathlib import Path

import mlflow
import yaml


def show_mlmodel(model_info, run, experiment) -> None:
    """The MLmodel file is the model's description: flavors, environment, signature, input example."""
    logged_model = mlflow.get_logged_model(model_info.model_id)
    mlmodel_path = mlflow.artifacts.download_artifacts(artifact_uri=f"{logged_model.artifact_location}/MLmodel")
    mlmodel = yaml.safe_load(Path(mlmodel_path).read_text())
    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print(f"  model: {model_info.model_uri}")
    print(f"  MLmodel: {logged_model.artifact_location}/MLmodel")
    print(f"  input example: {mlmodel['saved_input_example_info']['artifact_path']} next to it")
    print(yaml.safe_dump({"signature": mlmodel["signature"]}, sort_keys=False, width=100).rstrip())
