"""Create a response and print its text (the sync stub, on grpcio).

REJOINDER_URL      the gRPC address, host:port (default 127.0.0.1:50051; Envoy's 127.0.0.1:8080 works too)
REJOINDER_API_KEY  the API key, when the service has keys
REJOINDER_MODEL    the model (default "m")
"""

from __future__ import annotations

import os
import sys

import grpc

from rejoinder_client.helpers import output_text, status_of, sync_channel
from rejoinder_client.rejoinder.responses.v1 import CreateRequest, Input, ResponsesServiceStub


def main() -> None:
    target = os.environ.get("REJOINDER_URL", "127.0.0.1:50051")
    with sync_channel(target, api_key=os.environ.get("REJOINDER_API_KEY")) as channel:
        stub = ResponsesServiceStub(channel)
        request = CreateRequest(
            model=os.environ.get("REJOINDER_MODEL", "m"),
            input=Input(text="Say hello in five words."),
            instructions="Be brief.",
        )
        try:
            response = stub.create(request).response
        except grpc.RpcError as error:
            # status_of reads the code, the message and the typed details (ErrorInfo, BadRequest).
            status = status_of(error)
            reason = f" ({status.error_info.reason})" if status.error_info else ""
            sys.exit(f"create failed: {status.code.name}{reason}: {status.message}")
        if response is None:
            sys.exit("create failed: no response")
        print(f"{response.id} {response.status}: {output_text(response)}")


if __name__ == "__main__":
    main()
