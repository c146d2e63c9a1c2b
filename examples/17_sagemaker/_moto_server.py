"""moto's server with SageMaker's UpdateEndpoint added (run by ``aws_standin.py``; not a script).

moto (5.2) emulates CreateModel, CreateEndpointConfig, CreateEndpoint, DescribeEndpoint,
DeleteEndpoint, ... and S3, but answers UpdateEndpoint with "not implemented", and
``update_deployment`` needs it. The few lines below do what AWS does on UpdateEndpoint:
the endpoint takes the new endpoint configuration and its production variants. (AWS shows
``Updating`` for minutes first; here the endpoint is ``InService`` again at once.)
It also ends by itself when the process that started it is gone, even killed hard.

    python _moto_server.py -H 127.0.0.1 -p 5001     # the same options as moto_server
"""

import os
import threading
import time

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.server import main


def update_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str):
    self.describe_endpoint(endpoint_name)  # AWS's ValidationException for an unknown endpoint
    config = self.describe_endpoint_config(endpoint_config_name)  # ... and for an unknown configuration
    endpoint = self.endpoints[endpoint_name]
    endpoint.endpoint_config_name = endpoint_config_name
    endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
    endpoint.data_capture_config = config.get("DataCaptureConfig")
    endpoint.last_modified_time = utcnow()
    return endpoint


def update_endpoint_action(self: SageMakerResponse) -> ActionResult:
    endpoint = self.sagemaker_backend.update_endpoint(
        self._get_param("EndpointName"), self._get_param("EndpointConfigName")
    )
    return ActionResult({"EndpointArn": endpoint.arn})


if not hasattr(SageMakerModelBackend, "update_endpoint"):  # a later moto may have its own
    SageMakerModelBackend.update_endpoint = update_endpoint
    SageMakerResponse.update_endpoint = update_endpoint_action


def exit_with_parent() -> None:
    """End when the process that started us is gone (even SIGKILLed): a stand-in never outlives its script."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


if __name__ == "__main__":
    threading.Thread(target=exit_with_parent, daemon=True).start()
    main()
