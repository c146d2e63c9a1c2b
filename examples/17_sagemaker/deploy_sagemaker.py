"""Deploy the registry's champion to Amazon SageMaker, follow it to newer versions, delete it.

``mlflow.deployments.get_deploy_client("sagemaker:/REGION")`` turns a registered
model into a SageMaker real-time endpoint: it packs the model folder into
``model.tar.gz`` in your S3 bucket, then creates a SageMaker *model* (the
serving image + that tarball + an execution role), an *endpoint configuration*
(instance type and count) and the *endpoint*.

Each run deploys ``models:/NAME@champion``:

- no deployment of that name yet: ``create_deployment``;
- the deployment serves an older version: ``update_deployment`` (mode
  ``replace``: a new model and configuration, then the old ones are deleted);
- it already serves the champion: nothing to do.

If NAME has no champion yet, the script trains one (``--alpha``, ``--l1-ratio``)
and registers it, as chapter 08 does. Promote a better version (chapter 08's
``promote_challenger.py --model-name NAME``) and run this again to update the
endpoint. ``--delete`` removes the deployment with ``delete_deployment``.
Every run shows ``get_deployment``, ``list_deployments``, the SageMaker model and
the model files in the bucket. The registry is ``$MLFLOW_TRACKING_URI`` (else
``./mlflow.db``).

It talks to whatever AWS the environment points at (credentials, and
``AWS_ENDPOINT_URL`` for a stand-in). Offline, run it inside ``aws_standin.py``:

    python examples/17_sagemaker/aws_standin.py --run -- python examples/17_sagemaker/deploy_sagemaker.py \\
        --image-url 123456789012.dkr.ecr.us-west-2.amazonaws.com/mlflow-pyfunc:3.17.2 \\
        --execution-role-arn arn:aws:iam::123456789012:role/mlflow-sagemaker --bucket winelab-sagemaker
"""

import argparse
import io
import logging
import os
import re
import sys
import tarfile
from importlib.metadata import version

import boto3
import mlflow
import mlflow.sklearn
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from mlflow import MlflowClient
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"

# What SageMaker accepts, checked before anything is created (its own checks come after the upload).
ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?"
    r"/[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?"
)
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")


def matching(pattern, what):
    def check(text):
        if not pattern.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    return check


def sagemaker_region(text):
    # botocore's own list of regions (no network): a typo fails here, not after the upload.
    if text not in boto3.session.Session().get_available_regions("sagemaker"):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region with SageMaker (e.g. us-west-2, eu-west-1)")
    return text


def positive_int(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return int(text)


def model_name(text):
    if not text.strip() or any(char in text for char in "/:'\""):  # MLflow refuses / and :, but only at registering
        raise argparse.ArgumentTypeError(f"{text!r} is not a registered model name (no / : or quotes)")
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="sagemaker_deploy", help="(default: sagemaker_deploy)")
    parser.add_argument("--alpha", type=float, default=0.7, help="a first champion's alpha, >= 0 (default: 0.7)")
    parser.add_argument("--l1-ratio", type=float, default=0.7, help="a first champion's l1_ratio, 0-1 (default: 0.7)")
    parser.add_argument(
        "--image-url", type=matching(ECR_IMAGE, "an ECR image URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG)"),
        help="the serving image, pushed by `mlflow sagemaker build-and-push-container` (required)",
    )  # fmt: skip
    parser.add_argument(
        "--execution-role-arn", type=matching(ROLE_ARN, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
        help="IAM role SageMaker assumes to pull the image and read the bucket (required)",
    )  # fmt: skip
    parser.add_argument("--bucket", type=matching(BUCKET, "an S3 bucket name"), help="S3 bucket for model.tar.gz")
    parser.add_argument("--region", type=sagemaker_region, default="us-west-2", help="(default: us-west-2)")
    parser.add_argument(
        "--instance-type", type=matching(INSTANCE_TYPE, "a SageMaker instance type (ml.FAMILY.SIZE)"),
        default="ml.m5.large", help="instance type of the endpoint (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--instance-count", type=positive_int, default=1, help="instances (default: 1)")
    parser.add_argument(
        "--deployment-name", type=matching(ENDPOINT_NAME, "a SageMaker endpoint name (letters, digits, hyphens)"),
        default="wine-quality", help="SageMaker endpoint name (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--model-name", type=model_name, default="wine_quality_sagemaker",
                        help="registered model whose @champion is deployed (default: %(default)s)")  # fmt: skip
    parser.add_argument("--delete", action="store_true", help="delete the deployment instead (only --region needed)")
    args = parser.parse_args()
    if not args.delete:
        needed = {
            "--image-url": args.image_url,
            "--execution-role-arn": args.execution_role_arn,
            "--bucket": args.bucket,
        }
        missing = [option for option, value in needed.items() if value is None]
        if missing:
            parser.error(f"a deployment needs {', '.join(missing)} (see --help)")
        image_region = ECR_IMAGE.fullmatch(args.image_url)["region"]
        if image_region != args.region:
            parser.error(
                f"argument --image-url: the image is in {image_region}; SageMaker in {args.region} needs one there"
            )
    return args


def register_first_champion(args):
    """Train, log and register a version of ``args.model_name``, and make it the champion (chapter 08's way)."""
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=42).fit(train_x, train_y)
    predicted = model.predict(test_x)
    rmse = root_mean_squared_error(test_y, predicted)

    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(
            {"rmse": rmse, "mae": mean_absolute_error(test_y, predicted), "r2": r2_score(test_y, predicted)}
        )
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
            registered_model_name=args.model_name,
        )
    champion = str(model_info.registered_model_version)
    MlflowClient().set_registered_model_alias(args.model_name, "champion", champion)
    print(f"{args.model_name!r} had no champion: registered version {champion} (rmse {rmse:.4f}) as @champion")
    return champion


def serving_model(sagemaker, deployment):
    """The SageMaker model behind a deployment (get_deployment's answer), and its tags."""
    config = sagemaker.describe_endpoint_config(EndpointConfigName=deployment["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]}
    return config["ProductionVariants"][0], model, tags


def main():
    args = parse_args()
    name, champion_uri = args.model_name, f"models:/{args.model_name}@champion"
    # MLflow logs each S3 tagging response in full ("tag response: {...}"): keep its other INFO lines only
    logging.getLogger("mlflow.sagemaker").addFilter(lambda record: not record.getMessage().startswith("tag response"))

    # The champion to deploy (registered here first if NAME has none yet)
    if not args.delete:
        try:
            champion = str(MlflowClient().get_model_version_by_alias(name, "champion").version)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            champion = register_first_champion(args)
        print(f"champion: {champion_uri} is version {champion}")

    # MLflow's deployment client for SageMaker, in one region (MLflow 1.x: mlflow.sagemaker.deploy(...))
    deployer = get_deploy_client(f"sagemaker:/{args.region}")
    sagemaker, s3 = boto3.client("sagemaker", region_name=args.region), boto3.client("s3", region_name=args.region)
    existing = [d for d in deployer.list_deployments() if d["EndpointName"] == args.deployment_name]

    if args.delete:
        # delete_deployment: the endpoint, then its configuration, its models and their model.tar.gz
        if not existing:
            sys.exit(f"error: no deployment named {args.deployment_name!r} in {args.region}; nothing to delete")
        deployer.delete_deployment(args.deployment_name, config={"region_name": args.region})
        print(f"deleted deployment {args.deployment_name!r}")
    else:
        # What every deployment needs; the tags record the registry version on the SageMaker model
        config = {
            "image_url": args.image_url,
            "execution_role_arn": args.execution_role_arn,
            "bucket": args.bucket,  # the guide's repository says "bucket_name": MLflow skips that key
            "region_name": args.region,
            "instance_type": args.instance_type,
            "instance_count": args.instance_count,
            "tags": {"registered_model": name, "model_version": champion},
        }
        if not existing:
            # create_deployment: upload, SageMaker model, endpoint configuration, endpoint; waits for InService
            deployer.create_deployment(args.deployment_name, champion_uri, flavor="python_function", config=config)
            print(f"created deployment {args.deployment_name!r} serving {name} version {champion}")
        else:
            # The version it serves: this script's model_version tag on the SageMaker model behind the endpoint
            serving = serving_model(sagemaker, deployer.get_deployment(args.deployment_name))[2].get("model_version")
            if serving == champion:
                print(f"deployment {args.deployment_name!r} already serves version {champion}; nothing to update")
            else:
                # update_deployment, mode "replace": new model + configuration, switch, delete the old ones.
                # It waits at least 20 s before it checks the endpoint (MLflow's own delay).
                deployer.update_deployment(
                    args.deployment_name, champion_uri, flavor="python_function", config={**config, "mode": "replace"}
                )
                print(f"updated deployment {args.deployment_name!r} from version {serving} to version {champion}")

    # What is there now: list_deployments, get_deployment, the SageMaker model behind it, the bucket
    names = [f"{d['EndpointName']} ({d['EndpointStatus']})" for d in deployer.list_deployments()]
    print(f"list_deployments in {args.region}: {', '.join(names) or '(none)'}")
    if any(name.startswith(f"{args.deployment_name} (") for name in names):
        deployment = deployer.get_deployment(args.deployment_name)
        status, config_name = deployment["EndpointStatus"], deployment["EndpointConfigName"]
        print(f"get_deployment({args.deployment_name!r}): {status}, endpoint config {config_name}")
        variant, model, tags = serving_model(sagemaker, deployment)
        print(f"  variant {variant['VariantName']}: {variant['InitialInstanceCount']} x {variant['InstanceType']}")
        print(f"    SageMaker model {variant['ModelName']}: image {model['PrimaryContainer']['Image']}")
        print(f"      model data {model['PrimaryContainer']['ModelDataUrl']}, role {model['ExecutionRoleArn']}")
        print("      tags " + ", ".join(f"{key}={value}" for key, value in sorted(tags.items())))
    # The model folder MLflow uploaded: one model.tar.gz per SageMaker model
    if args.bucket:
        objects = s3.list_objects_v2(Bucket=args.bucket).get("Contents", [])
        print(f"bucket s3://{args.bucket}: {len(objects) or 'no'} object(s)")
        for item in objects:
            body = s3.get_object(Bucket=args.bucket, Key=item["Key"])["Body"].read()
            with tarfile.open(fileobj=io.BytesIO(body)) as tar:
                members = sorted(member.name for member in tar.getmembers() if "/" not in member.name.strip("./"))
            print(f"  {item['Key']} ({item['Size']} bytes): {', '.join(members)}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: a run in progress is marked FAILED; AWS keeps what it has created
        sys.exit("interrupted")
    except (BotoCoreError, ClientError) as exc:  # AWS refused, or is unreachable (no credentials, no stand-in)
        sys.exit(f"error: {os.environ.get('AWS_ENDPOINT_URL', 'AWS')}: {str(exc).strip().splitlines()[0]}")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, a bad --alpha, no tracking server
        sys.exit(f"error: {str(exc).strip().splitlines()[0]}")
