"""A local stand-in for AWS (S3 + SageMaker), to try deploy_sagemaker.py offline.

Starts moto's server (``moto[s3,sagemaker]``, an emulator of the AWS APIs) on
127.0.0.1, creates the S3 bucket the model will be uploaded to, and prints the
variables that point boto3, and so MLflow, at it:

    AWS_ENDPOINT_URL=http://127.0.0.1:<port>   every AWS client of boto3 talks to moto
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY   dummy credentials (moto accepts any)
    AWS_DEFAULT_REGION                           the region

Nothing else changes: the deployment code is the one you run against real AWS.
moto keeps everything in memory and runs no container, so an endpoint it reports
as ``InService`` serves no predictions (see the README).

With ``--run``, the command after ``--`` runs with those variables and moto stops
when it ends; otherwise moto runs until Ctrl-C / SIGTERM (or ``--seconds``).

    python examples/17_sagemaker/aws_standin.py --run -- python examples/17_sagemaker/deploy_sagemaker.py \\
        --image-url 123456789012.dkr.ecr.us-west-2.amazonaws.com/mlflow-pyfunc:3.17.2 \\
        --execution-role-arn arn:aws:iam::123456789012:role/mlflow-sagemaker --bucket winelab-sagemaker
"""

import os
import shlex
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from winelab import UserError, run_example
from winelab.cli import add_server_options, command_from_argv, server_parser
from winelab.servers import HOST, background, claim_port, run_or_wait, stop_on_signals

MOTO_SERVER = Path(__file__).resolve().with_name("_moto_server.py")
MOTO_ACCOUNT = "123456789012"  # the account id moto answers with
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def main() -> int:
    parser = server_parser(__doc__)
    add_server_options(parser)
    parser.add_argument("--region", default="us-west-2", help="the AWS region to emulate (default: %(default)s)")
    parser.add_argument(
        "--bucket", default="winelab-sagemaker", help="S3 bucket to create for the model (default: %(default)s)"
    )
    args, command = command_from_argv(parser)
    port = claim_port(args.port)  # a taken port stops us here, before anything starts
    stop_on_signals()  # Ctrl-C and a plain `kill` both stop moto below

    # moto's server on 127.0.0.1 (moto_server, plus SageMaker's UpdateEndpoint: see _moto_server.py)
    moto_command = [sys.executable, str(MOTO_SERVER), "-H", HOST, "-p", str(port)]
    print(f"$ python {MOTO_SERVER.name} -H {HOST} -p {port}   # = moto_server -H {HOST} -p {port}, + UpdateEndpoint")
    with (
        tempfile.TemporaryDirectory(prefix="aws-standin-") as workdir,
        background(
            "moto server", moto_command, port=port, workdir=Path(workdir), health_path="/moto-api/data.json"
        ) as moto,
    ):
        # What a client needs: the endpoint, dummy credentials, the region (real AWS: leave out the endpoint)
        aws_env = {"AWS_ENDPOINT_URL": moto.url, **DUMMY_CREDENTIALS, "AWS_DEFAULT_REGION": args.region}
        for variable in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):  # a real profile or session must not mix in
            os.environ.pop(variable, None)

        # The bucket the deployment uploads the model to (on AWS you create it once, in the same region)
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        s3 = boto3.client("s3", region_name=args.region, endpoint_url=moto.url, **lower(DUMMY_CREDENTIALS))
        where = {} if args.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": args.region}}
        try:
            s3.create_bucket(Bucket=args.bucket, **where)
        except (BotoCoreError, ClientError) as exc:
            raise UserError(f"cannot create bucket {args.bucket!r} in the stand-in: {exc}") from None

        print(f"AWS stand-in (moto) ready at {moto.url} (pid {moto.process.pid}), region {args.region}")
        print(f"  bucket s3://{args.bucket} created; account {MOTO_ACCOUNT}")
        print("Point a shell at it (these lines), then deploy:")
        for key, value in aws_env.items():
            print(f"  export {key}={shlex.quote(value)}")
        print("  unset AWS_PROFILE AWS_SESSION_TOKEN")
        # The image URL and role only have to look right: moto runs no container and checks no role.
        image = f"{MOTO_ACCOUNT}.dkr.ecr.{args.region}.amazonaws.com/mlflow-pyfunc:{metadata.version('mlflow')}"
        print(
            "  python examples/17_sagemaker/deploy_sagemaker.py"
            f" --region {args.region}"
            f" --image-url {image}"
            f" --execution-role-arn arn:aws:iam::{MOTO_ACCOUNT}:role/mlflow-sagemaker --bucket {args.bucket}",
            flush=True,
        )
        status = run_or_wait(moto, command, aws_env, seconds=args.seconds)
    print("AWS stand-in stopped; everything it held is gone")
    return status


def lower(credentials: dict[str, str]) -> dict[str, str]:
    """``AWS_ACCESS_KEY_ID`` -> ``aws_access_key_id`` (boto3's keyword names)."""
    return {key.lower(): value for key, value in credentials.items()}


if __name__ == "__main__":
    run_example(main)
