"""examples/17_sagemaker: deploy the champion to SageMaker, against moto's server standing in for AWS.

One stand-in (``aws_standin.py``, started once for the module and stopped with SIGTERM at
the end) and one run of the whole flow (module fixture ``flow``) on one SQLite store:

1. ``deploy_sagemaker.py``: no champion yet, so it registers version 1 and creates the deployment;
2. chapter 08's ``promote_challenger.py`` makes a better version 2 the champion;
3. ``deploy_sagemaker.py``: updates the deployment to version 2 (MLflow waits 20 s here);
4. ``deploy_sagemaker.py``: nothing to do;
5. ``deploy_sagemaker.py --delete``.

After each step the test reads what exists in moto through boto3 (endpoints, endpoint
configurations, SageMaker models and their tags, the objects in the bucket and the files
inside each ``model.tar.gz``), and compares it with the registry.
"""

from __future__ import annotations

import io
import logging
import re
import signal
import socket
import tarfile
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import mlflow.artifacts
import mlflow.pyfunc
import pytest
import reference
import yaml
from _suite import runner
from harness import Result, Store, assert_rejected, clean_env, make_store, script_path
from services import port_closed

from winelab.servers import free_port

STANDIN = "17_sagemaker/aws_standin.py"
DEPLOY = "17_sagemaker/deploy_sagemaker.py"
PROMOTE = "08_registry/promote_challenger.py"
REGION, BUCKET, ACCOUNT = "eu-west-1", "winelab-test-models", "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/mlflow-pyfunc:{metadata.version('mlflow')}"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/mlflow-sagemaker-test"
NAME, DEPLOYMENT = "wine_sagemaker_test", "wine-test"
AWS_ARGS = ("--region", REGION, "--image-url", IMAGE, "--execution-role-arn", ROLE, "--bucket", BUCKET)
DEPLOY_ARGS = (*AWS_ARGS, "--model-name", NAME, "--deployment-name", DEPLOYMENT, "--instance-type", "ml.c5.xlarge")
MODEL_FILES = {"MLmodel", "model.skops", "conda.yaml", "python_env.yaml", "requirements.txt", "input_example.json"}


@dataclass
class Standin:
    url: str
    port: int
    env: dict[str, str | None]  # what the scripts get: the endpoint, dummy credentials, the region
    process: object  # runner.Process
    startup: str  # what it printed once ready

    def client(self, service: str):
        import boto3

        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """``aws_standin.py --region eu-west-1 --bucket ...`` in the background until the module ends."""
    workdir = tmp_path_factory.mktemp("aws-standin")
    port = free_port()
    argv = [str(script_path(STANDIN)), "--port", str(port), "--region", REGION, "--bucket", BUCKET]
    process = runner.current().start(argv, cwd=workdir, env=clean_env(), claim=True, new_session=True)
    deadline = time.monotonic() + 120
    # Ready once the whole start-up text is out: its last line is the deploy command, ending in the bucket
    # (with PYTHONUNBUFFERED=1, as on CI, the lines arrive one by one).
    while f"--bucket {BUCKET}\n" not in process.stdout:
        assert process.poll() is None and time.monotonic() < deadline, process.describe()
        time.sleep(0.1)
    url = f"http://127.0.0.1:{port}"
    env = {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_PROFILE": None,
        "AWS_SESSION_TOKEN": None,
    }
    the_standin = Standin(url, port, env, process, process.stdout)
    yield the_standin

    # A plain `kill` stops it, and moto with it: exit 0, the port closed, nothing left in the folder.
    process.send_signal(signal.SIGTERM)
    result = runner.current().finish(process, ok=True, timeout=60)
    assert "AWS stand-in stopped" in result.stdout
    assert port_closed(port)
    assert list(workdir.iterdir()) == []


def aws_state(standin: Standin) -> dict:
    """Everything the deployment can leave in the stand-in, read back through boto3."""
    sagemaker, s3 = standin.client("sagemaker"), standin.client("s3")

    def described(answer: dict) -> dict:
        answer.pop("ResponseMetadata", None)  # a request id of its own each time
        return answer

    endpoints, configs = {}, {}
    for summary in sagemaker.list_endpoints()["Endpoints"]:
        name = summary["EndpointName"]
        endpoints[name] = described(sagemaker.describe_endpoint(EndpointName=name))
    for summary in sagemaker.list_endpoint_configs()["EndpointConfigs"]:
        name = summary["EndpointConfigName"]
        configs[name] = described(sagemaker.describe_endpoint_config(EndpointConfigName=name))
    models = {}
    for summary in sagemaker.list_models()["Models"]:
        model = described(sagemaker.describe_model(ModelName=summary["ModelName"]))
        model["Tags"] = {t["Key"]: t["Value"] for t in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]}
        models[summary["ModelName"]] = model
    objects = {}
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            objects[item["Key"]] = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    buckets = [bucket["Name"] for bucket in s3.list_buckets()["Buckets"]]
    return {"endpoints": endpoints, "configs": configs, "models": models, "objects": objects, "buckets": buckets}


@dataclass
class Flow:
    store: Store
    created: Result
    after_create: dict
    promoted: Result
    updated: Result
    after_update: dict
    unchanged: Result
    after_unchanged: dict
    deleted: Result
    after_delete: dict


@pytest.fixture(scope="module")
def flow(standin, tmp_path_factory, migrated_db) -> Flow:
    store = make_store("sqlite", tmp_path_factory.mktemp("sagemaker-flow"), migrated_db)
    assert aws_state(standin)["endpoints"] == {}

    def deploy(*args: str) -> Result:
        return runner.run_script_in(store, DEPLOY, *args, env=standin.env)

    created = deploy(*DEPLOY_ARGS)  # no champion yet: registers version 1 (alpha 0.7, l1_ratio 0.7)
    after_create = aws_state(standin)
    promoted = runner.run_script_in(store, PROMOTE, "--model-name", NAME, "--alpha", "0.1", "--l1-ratio", "0.9")
    updated = deploy(*DEPLOY_ARGS)
    after_update = aws_state(standin)
    unchanged = deploy(*DEPLOY_ARGS)
    after_unchanged = aws_state(standin)
    deleted = deploy("--delete", "--region", REGION, "--deployment-name", DEPLOYMENT, "--bucket", BUCKET)
    after_delete = aws_state(standin)
    return Flow(
        store, created, after_create, promoted, updated, after_update, unchanged, after_unchanged, deleted, after_delete
    )


def logged_model_files(store: Store, version: str) -> dict[str, bytes]:
    """The files of the logged model behind a registry version, as the tracking store holds them."""
    mv = store.client.get_model_version(NAME, version)
    logged = store.client.get_logged_model(mv.source.removeprefix("models:/"))
    root = Path(mlflow.artifacts.download_artifacts(artifact_uri=logged.artifact_location, tracking_uri=store.uri))
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def the_one(mapping: dict):
    assert len(mapping) == 1, list(mapping)
    return next(iter(mapping.items()))


def test_standin_prints_what_a_client_needs(standin):
    text = standin.startup
    assert f"$ python _moto_server.py -H 127.0.0.1 -p {standin.port}" in text
    assert f"AWS stand-in (moto) ready at {standin.url}" in text
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        assert f"export {key}={standin.env[key]}" in text
    assert f"bucket s3://{BUCKET} created" in text
    # The deploy command it suggests carries the stand-in's region in the image URL, as --image-url requires.
    assert f"--region {REGION} --image-url {IMAGE}" in text


def test_create_deployment_registers_a_champion_and_creates_model_config_endpoint(flow):
    state, out = flow.after_create, flow.created.stdout
    # The registry: version 1 trained with the defaults is the champion.
    assert f"{NAME!r} had no champion: registered version 1" in out
    [run] = flow.store.runs("sagemaker_deploy")
    assert flow.store.client.get_model_version(NAME, "1").run_id == run.info.run_id
    assert run.data.params == {"alpha": "0.7", "l1_ratio": "0.7"}
    assert run.data.metrics == pytest.approx(reference.expected_metrics(0.7, 0.7), rel=1e-9)

    # SageMaker: one endpoint, in service, on one configuration with one variant and one model.
    endpoint_name, endpoint = the_one(state["endpoints"])
    assert endpoint_name == DEPLOYMENT and endpoint["EndpointStatus"] == "InService"
    config_name, config = the_one(state["configs"])
    assert endpoint["EndpointConfigName"] == config_name and config_name.startswith(f"{DEPLOYMENT}-config-")
    [variant] = config["ProductionVariants"]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.c5.xlarge", 1)
    model_name, model = the_one(state["models"])
    assert variant["ModelName"] == model_name and model_name.startswith(f"{DEPLOYMENT}-model-")
    assert model["ExecutionRoleArn"] == ROLE
    container = model["PrimaryContainer"]
    assert container["Image"] == IMAGE
    assert container["ModelDataUrl"] == f"s3://{BUCKET}/{model_name}/model.tar.gz"
    assert container["Environment"]["MLFLOW_DEPLOYMENT_FLAVOR_NAME"] == "python_function"
    assert model["Tags"] == {
        "model_uri": f"models:/{NAME}@champion",
        "registered_model": NAME,
        "model_version": "1",
    }

    # The bucket: exactly that model.tar.gz, holding the registered version's files byte for byte.
    key, files = the_one(state["objects"])
    assert key == f"{model_name}/model.tar.gz"
    assert MODEL_FILES <= set(files)
    registered = logged_model_files(flow.store, "1")
    assert {name: files[name] for name in MODEL_FILES} == {name: registered[name] for name in MODEL_FILES}
    assert yaml.safe_load(files["MLmodel"])["run_id"] == run.info.run_id

    # What the script printed: get_deployment, list_deployments and the bucket listing.
    assert f"created deployment {DEPLOYMENT!r} serving {NAME} version 1" in out
    assert f"list_deployments in {REGION}: {DEPLOYMENT} (InService)" in out
    assert f"get_deployment({DEPLOYMENT!r}): InService, endpoint config {config_name}" in out
    assert f"model data s3://{BUCKET}/{model_name}/model.tar.gz, role {ROLE}" in out
    listed = re.search(rf"^  {re.escape(key)} \(\d+ bytes\): (.*)$", out, flags=re.MULTILINE)
    assert listed and MODEL_FILES <= set(listed[1].split(", "))


def test_update_deployment_replaces_model_and_config_and_deletes_the_old_ones(flow):
    before, after, out = flow.after_create, flow.after_update, flow.updated.stdout
    assert "version 2 promoted to champion" in flow.promoted.stdout
    assert str(flow.store.client.get_model_version_by_alias(NAME, "champion").version) == "2"
    assert f"updated deployment {DEPLOYMENT!r} from version 1 to version 2" in out

    # The same endpoint, on a new configuration and a new model; the old ones and their tarball are gone.
    (_, old_config), (_, old_model) = the_one(before["configs"]), the_one(before["models"])
    endpoint_name, endpoint = the_one(after["endpoints"])
    assert endpoint_name == DEPLOYMENT and endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointArn"] == before["endpoints"][DEPLOYMENT]["EndpointArn"]
    config_name, config = the_one(after["configs"])
    model_name, model = the_one(after["models"])
    assert config_name != old_config["EndpointConfigName"] and model_name != old_model["ModelName"]
    assert endpoint["EndpointConfigName"] == config_name
    assert [variant["ModelName"] for variant in config["ProductionVariants"]] == [model_name]
    assert model["Tags"]["model_version"] == "2"
    key, files = the_one(after["objects"])
    assert key == f"{model_name}/model.tar.gz"

    # The tarball is version 2's model: its MLmodel names the promoted run, and it predicts like a refit.
    version_2 = flow.store.client.get_model_version(NAME, "2")
    assert yaml.safe_load(files["MLmodel"])["run_id"] == version_2.run_id
    assert files["model.skops"] == logged_model_files(flow.store, "2")["model.skops"]
    assert files["model.skops"] != the_one(before["objects"])[1]["model.skops"]
    predictions = predict_from_tarball(files, rows=5)
    assert predictions == pytest.approx(reference.expected_predictions(0.1, 0.9, 5), rel=1e-12)


def unpack(files: dict[str, bytes], folder: Path) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def predict_from_tarball(files: dict[str, bytes], rows: int) -> list[float]:
    """Unpack the uploaded model folder and predict with it, as the serving container would load it."""
    with tempfile.TemporaryDirectory() as folder:
        model = mlflow.pyfunc.load_model(str(unpack(files, Path(folder))))
        return [float(value) for value in model.predict(reference.first_rows(rows))]


def test_config_bucket_name_as_in_the_guide_repository_is_ignored(flow, standin, monkeypatch, tmp_path):
    """The guide repository's deploy.py passes ``bucket_name``: MLflow reads ``bucket``, so it uses its own bucket."""
    import boto3
    from mlflow.deployments import get_deploy_client

    for key, value in standin.env.items():  # this process, pointed at the stand-in like the scripts
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # a session made now, from these variables
    model_folder = unpack(the_one(flow.after_update["objects"])[1], tmp_path / "model")
    config = {"bucket_name": BUCKET, "image_url": IMAGE, "execution_role_arn": ROLE, "region_name": REGION}
    default_bucket = f"mlflow-sagemaker-{REGION}-{ACCOUNT}"  # MLflow's own, created on the fly
    deployer = get_deploy_client(f"sagemaker:/{REGION}")
    records = []  # what MLflow logs (its own handlers do not reach pytest's caplog)
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logging.getLogger("mlflow.sagemaker").addHandler(handler)
    try:
        deployer.create_deployment("bucket-name-check", str(model_folder), flavor="python_function", config=config)
    finally:
        logging.getLogger("mlflow.sagemaker").removeHandler(handler)
    # The key is skipped without a warning; MLflow says only, at INFO, that it uses (and creates) its own bucket.
    logged = [record.getMessage() for record in records]
    assert "No model data bucket specified, using the default bucket" in logged
    assert f"Default bucket `{default_bucket}` not found. Creating..." in logged
    assert not [record for record in records if record.levelno >= logging.WARNING]
    try:
        state = aws_state(standin)
        assert state["objects"] == {}, "nothing went to the bucket named by bucket_name"
        assert sorted(state["buckets"]) == sorted([BUCKET, default_bucket])
        [model] = state["models"].values()
        assert model["PrimaryContainer"]["ModelDataUrl"].startswith(f"s3://{default_bucket}/")
    finally:
        deployer.delete_deployment("bucket-name-check", config={"region_name": REGION})
        standin.client("s3").delete_bucket(Bucket=default_bucket)
    assert aws_state(standin)["buckets"] == [BUCKET]


def test_standin_endpoint_answers_a_canned_body_that_predict_refuses(standin, monkeypatch):
    """What the README says of moto's endpoint: invoke_endpoint gets b"body", deployer.predict an MlflowException."""
    import boto3
    from mlflow.deployments import get_deploy_client
    from mlflow.exceptions import MlflowException

    for key, value in standin.env.items():  # this process, pointed at the stand-in like the scripts
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    answer = standin.client("sagemaker-runtime").invoke_endpoint(EndpointName=DEPLOYMENT, Body=b"{}")
    assert (answer["Body"].read(), answer["ContentType"]) == (b"body", "content_type")
    with pytest.raises(MlflowException, match="Predictions response contents are not valid JSON"):
        get_deploy_client(f"sagemaker:/{REGION}").predict(DEPLOYMENT, reference.first_rows(2))


def test_deploying_the_same_champion_again_changes_nothing(flow):
    assert f"deployment {DEPLOYMENT!r} already serves version 2; nothing to update" in flow.unchanged.stdout
    assert flow.after_unchanged == flow.after_update


def test_delete_deployment_removes_endpoint_config_model_and_tarball(flow):
    assert f"deleted deployment {DEPLOYMENT!r}" in flow.deleted.stdout
    assert f"list_deployments in {REGION}: (none)" in flow.deleted.stdout
    assert f"bucket s3://{BUCKET}: no object(s)" in flow.deleted.stdout
    state = flow.after_delete
    assert (state["endpoints"], state["configs"], state["models"], state["objects"]) == ({}, {}, {}, {})
    assert state["buckets"] == [BUCKET], "the bucket itself is yours: it stays"
    # The registry is untouched by a deletion.
    assert str(flow.store.client.get_model_version_by_alias(NAME, "champion").version) == "2"


def test_deleting_a_missing_deployment_fails_in_one_line(standin, store):
    result = runner.run_script_in(
        store, DEPLOY, "--delete", "--region", REGION, "--deployment-name", "nothing-here", env=standin.env, ok=False
    )
    assert result.returncode == 1
    assert result.error_lines == [f"error: no deployment named 'nothing-here' in {REGION}; nothing to delete"]


@pytest.mark.parametrize(
    "option, args",
    [
        ("--image-url", ("--image-url", "docker.io/library/nginx:latest")),  # not an ECR image
        ("--image-url", ("--image-url", IMAGE.replace(REGION, "us-east-1"))),  # ECR, but another region
        ("--image-url", ()),  # missing
        ("--region", ("--region", "eu-nowhere-1")),
        ("--execution-role-arn", ("--execution-role-arn", "mlflow-sagemaker")),  # a name, not an ARN
    ],
    ids=["not-ecr", "image-in-another-region", "missing-image", "unknown-region", "role-not-an-arn"],
)
def test_bad_aws_settings_fail_in_one_line_and_create_nothing(standin, store, option, args):
    before = aws_state(standin)
    given = dict(zip(AWS_ARGS[::2], AWS_ARGS[1::2], strict=True))
    given.pop(option)
    argv = [item for pair in given.items() for item in pair] + list(args)
    result = runner.run_script_in(store, DEPLOY, *argv, "--model-name", NAME, env=standin.env, ok=False)
    assert_rejected(result, store, option)  # exit 2, one line naming the option, no run
    assert store.client.search_registered_models() == []
    assert aws_state(standin) == before


def test_standin_refuses_a_taken_port_before_starting_anything(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = runner.current().run(
            [str(script_path(STANDIN)), "--port", str(port)], cwd=tmp_path, env=clean_env(), ok=False, timeout=60
        )
    assert result.returncode == 1
    assert result.error_lines == [
        f"error: port {port} on 127.0.0.1 is already in use by another program; "
        "choose another with --port, or leave --port out to get a free one"
    ]
    assert "moto" not in result.stdout and list(tmp_path.iterdir()) == []
