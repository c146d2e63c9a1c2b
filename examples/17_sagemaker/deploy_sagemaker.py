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
the model files in the bucket.

It talks to whatever AWS the environment points at (credentials, and
``AWS_ENDPOINT_URL`` for a stand-in). Offline, run it inside ``aws_standin.py``:

    python examples/17_sagemaker/aws_standin.py --run -- python examples/17_sagemaker/deploy_sagemaker.py \\
        --image-url 123456789012.dkr.ecr.us-west-2.amazonaws.com/mlflow-pyfunc:3.17.2 \\
        --execution-role-arn arn:aws:iam::123456789012:role/mlflow-sagemaker --bucket winelab-sagemaker
"""

import argparse
import contextlib
import io
import os
import re
import tarfile

import mlflow
import mlflow.sklearn
from mlflow import MlflowClient
from mlflow.deployments import get_deploy_client
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet

from winelab import UserError, example_parser, load_wine, regression_metrics, run_example, split
from winelab.cli import positive_int, registered_model_name
from winelab.tracking import pip_requirements, tag_chapter

# What SageMaker accepts, checked before anything is created (its own checks come after the upload).
ECR_IMAGE = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?"
    r"/[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127}|@sha256:[0-9a-f]{64})?"
)
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")


def matching(pattern: re.Pattern, what: str):
    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return text

    return check


def sagemaker_region(text: str) -> str:
    import boto3

    # botocore's own list of regions (no network): a typo fails here, not after the upload.
    known = boto3.session.Session().get_available_regions("sagemaker")
    if text not in known:
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS region with SageMaker (e.g. us-west-2, eu-west-1)")
    return text


def parse_args() -> argparse.Namespace:
    parser = example_parser(__doc__, experiment="sagemaker_deploy")
    aws = parser.add_argument_group("AWS (required for a deployment; the same for real AWS and the stand-in)")
    aws.add_argument(
        "--image-url",
        type=matching(ECR_IMAGE, "an ECR image URL (ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPOSITORY:TAG)"),
        help="the serving image, pushed by `mlflow sagemaker build-and-push-container` (required)",
    )
    aws.add_argument(
        "--execution-role-arn",
        type=matching(ROLE_ARN, "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"),
        help="IAM role SageMaker assumes to pull the image and read the bucket (required)",
    )
    aws.add_argument(
        "--bucket", type=matching(BUCKET, "an S3 bucket name"), help="S3 bucket for model.tar.gz (required)"
    )
    aws.add_argument(
        "--region", type=sagemaker_region, default="us-west-2", help="AWS region to deploy in (default: %(default)s)"
    )
    aws.add_argument(
        "--instance-type",
        type=matching(INSTANCE_TYPE, "a SageMaker instance type (ml.FAMILY.SIZE)"),
        default="ml.m5.large",
        help="instance type of the endpoint (default: %(default)s)",
    )
    aws.add_argument(
        "--instance-count", type=positive_int, default=1, help="instances behind the endpoint (default: %(default)s)"
    )
    parser.add_argument(
        "--deployment-name",
        type=matching(ENDPOINT_NAME, "a SageMaker endpoint name (letters, digits, hyphens; at most 63)"),
        default="wine-quality",
        help="SageMaker endpoint name (default: %(default)s)",
    )
    parser.add_argument(
        "--model-name",
        type=registered_model_name,
        default="wine_quality_sagemaker",
        help="registered model whose @champion is deployed (default: %(default)s)",
    )
    parser.add_argument("--delete", action="store_true", help="delete the deployment instead (only --region needed)")
    args = parser.parse_args()
    if not args.delete:
        given = {
            "--image-url": args.image_url,
            "--execution-role-arn": args.execution_role_arn,
            "--bucket": args.bucket,
        }
        missing = [option for option, value in given.items() if value is None]
        if missing:
            parser.error(f"a deployment needs {', '.join(missing)} (see --help)")
        image_region = ECR_IMAGE.fullmatch(args.image_url)["region"]
        if image_region != args.region:
            parser.error(
                f"argument --image-url: the image is in {image_region}; SageMaker in {args.region} needs one there"
            )
    return args


@contextlib.contextmanager
def aws_errors():
    """AWS refusing or unreachable: one line naming where we talked to, instead of a traceback."""
    from botocore.exceptions import BotoCoreError, ClientError

    where = os.environ.get("AWS_ENDPOINT_URL") or "AWS"
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise UserError(f"{where}: {str(exc).strip().splitlines()[0]}") from None
    except MlflowException as exc:
        raise UserError(f"SageMaker deployment ({where}): {str(exc).strip().splitlines()[0]}") from None


def register_first_champion(args) -> str:
    """Train, log and register a version of ``args.model_name``, and make it the champion (chapter 08's way)."""
    train_x, test_x, train_y, test_y = split(load_wine(), test_size=args.test_size, seed=args.seed)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, random_state=args.seed).fit(train_x, train_y)
    metrics = regression_metrics(test_y, model.predict(test_x))
    experiment = mlflow.set_experiment(args.experiment_name)
    tag_chapter(experiment, __file__)
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        mlflow.log_params({"alpha": args.alpha, "l1_ratio": args.l1_ratio})
        mlflow.log_metrics(metrics)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            pip_requirements=pip_requirements(),
            registered_model_name=args.model_name,
        )
    version = str(model_info.registered_model_version)
    MlflowClient().set_registered_model_alias(args.model_name, "champion", version)
    print(
        f"{args.model_name!r} had no champion: registered version {version} (rmse {metrics['rmse']:.4f}) as @champion"
    )
    return version


def deployed_version(deployer, sagemaker, deployment_name: str) -> str | None:
    """The registry version the endpoint serves: the ``model_version`` tag this script put on its SageMaker model."""
    deployment = deployer.get_deployment(deployment_name)  # SageMaker's DescribeEndpoint
    config = sagemaker.describe_endpoint_config(EndpointConfigName=deployment["EndpointConfigName"])
    model = sagemaker.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]}
    return tags.get("model_version")


def show(deployer, sagemaker, s3, args) -> None:
    """get_deployment / list_deployments, the SageMaker model behind the endpoint, the files in the bucket."""
    names = [f"{d['EndpointName']} ({d['EndpointStatus']})" for d in deployer.list_deployments()]
    print(f"list_deployments in {args.region}: {', '.join(names) or '(none)'}")
    if any(name.startswith(f"{args.deployment_name} (") for name in names):
        deployment = deployer.get_deployment(args.deployment_name)
        print(
            f"get_deployment({args.deployment_name!r}): {deployment['EndpointStatus']}, "
            f"endpoint config {deployment['EndpointConfigName']}"
        )
        config = sagemaker.describe_endpoint_config(EndpointConfigName=deployment["EndpointConfigName"])
        for variant in config["ProductionVariants"]:
            model = sagemaker.describe_model(ModelName=variant["ModelName"])
            container = model["PrimaryContainer"]
            tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=model["ModelArn"])["Tags"]}
            print(f"  variant {variant['VariantName']}: {variant['InitialInstanceCount']} x {variant['InstanceType']}")
            print(f"    SageMaker model {variant['ModelName']}: image {container['Image']}")
            print(f"      model data {container['ModelDataUrl']}, role {model['ExecutionRoleArn']}")
            print("      tags " + ", ".join(f"{key}={value}" for key, value in sorted(tags.items())))
    # The model folder MLflow uploaded: one model.tar.gz per SageMaker model.
    objects = s3.list_objects_v2(Bucket=args.bucket).get("Contents", []) if args.bucket else []
    print(f"bucket s3://{args.bucket}: {len(objects) or 'no'} object(s)" if args.bucket else "bucket: not given")
    for item in objects:
        body = s3.get_object(Bucket=args.bucket, Key=item["Key"])["Body"].read()
        with tarfile.open(fileobj=io.BytesIO(body)) as tar:
            members = sorted(member.name for member in tar.getmembers() if "/" not in member.name.strip("./"))
        print(f"  {item['Key']} ({item['Size']} bytes): {', '.join(members)}")


def main() -> None:
    args = parse_args()
    name, champion_uri = args.model_name, f"models:/{args.model_name}@champion"

    # The champion to deploy (registered here first if NAME has none yet)
    if not args.delete:
        client = MlflowClient()
        try:
            version = client.get_model_version_by_alias(name, "champion").version
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                raise
            version = register_first_champion(args)
        print(f"champion: {champion_uri} is version {version}")

    import boto3

    with aws_errors():
        # MLflow's deployment client for SageMaker, in one region (MLflow 2.x: mlflow.sagemaker.deploy(...))
        deployer = get_deploy_client(f"sagemaker:/{args.region}")
        sagemaker, s3 = boto3.client("sagemaker", region_name=args.region), boto3.client("s3", region_name=args.region)
        existing = [d for d in deployer.list_deployments() if d["EndpointName"] == args.deployment_name]

        if args.delete:
            # delete_deployment: the endpoint, then its configuration, its models and their model.tar.gz
            if not existing:
                raise UserError(f"no deployment named {args.deployment_name!r} in {args.region}; nothing to delete")
            deployer.delete_deployment(args.deployment_name, config={"region_name": args.region})
            print(f"deleted deployment {args.deployment_name!r}")
        else:
            # What every deployment needs; the tags record the registry version on the SageMaker model
            def config() -> dict:  # a fresh dict per call: MLflow adds its own tag (model_uri) to the one it gets
                return {
                    "image_url": args.image_url,
                    "execution_role_arn": args.execution_role_arn,
                    "bucket": args.bucket,
                    "region_name": args.region,
                    "instance_type": args.instance_type,
                    "instance_count": args.instance_count,
                    "tags": {"registered_model": name, "model_version": str(version)},
                }

            if not existing:
                # create_deployment: upload, SageMaker model, endpoint configuration, endpoint; waits for InService
                deployer.create_deployment(
                    args.deployment_name, champion_uri, flavor="python_function", config=config()
                )
                print(f"created deployment {args.deployment_name!r} serving {name} version {version}")
            elif (serving := deployed_version(deployer, sagemaker, args.deployment_name)) == str(version):
                print(f"deployment {args.deployment_name!r} already serves version {version}; nothing to update")
            else:
                # update_deployment, mode "replace": new model + configuration, switch, delete the old ones.
                # It waits at least 20 s before it checks the endpoint (MLflow's own delay).
                deployer.update_deployment(
                    args.deployment_name,
                    champion_uri,
                    flavor="python_function",
                    config={**config(), "mode": "replace"},
                )
                print(f"updated deployment {args.deployment_name!r} from version {serving} to version {version}")

        # What is there now: get_deployment, list_deployments, the SageMaker model, the bucket
        show(deployer, sagemaker, s3, args)


if __name__ == "__main__":
    run_example(main)
