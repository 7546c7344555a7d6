"""A background response, read for a while, left, and picked up again after the last sequence number
read (StreamGet): the run goes on on the server while nobody reads it (the sync stub and stream helper).

REJOINDER_URL, REJOINDER_API_KEY, REJOINDER_MODEL: as in create.py
"""

from __future__ import annotations

import os
import sys

import grpc

from rejoinder_client.helpers import status_of, stream_create, stream_get, sync_channel
from rejoinder_client.rejoinder.responses.v1 import CreateRequest, Input, ResponsesServiceStub

LEAVE_AFTER_DELTAS = 3


def main() -> None:
    target = os.environ.get("REJOINDER_URL", "127.0.0.1:50051")
    with sync_channel(target, api_key=os.environ.get("REJOINDER_API_KEY")) as channel:
        stub = ResponsesServiceStub(channel)
        request = CreateRequest(
            model=os.environ.get("REJOINDER_MODEL", "m"),
            input=Input(text="Tell me a long story."),
            background=True,
        )
        try:
            follow(stub, request)
        except grpc.RpcError as error:
            status = status_of(error)
            sys.exit(f"failed: {status.code.name}: {status.message}")


def follow(stub: ResponsesServiceStub, request: CreateRequest) -> None:
    text = ""
    events = deltas = 0
    left_at: int | None = None
    with stream_create(stub, request) as stream:
        for event in stream:
            events += 1
            left_at = event.sequence_number
            if event.output_text_delta is not None:
                text += event.output_text_delta.delta
                deltas += 1
                if deltas == LEAVE_AFTER_DELTAS:
                    break
        # Leaving the `with` block ends this call; a background response keeps running on the server.
        response_id = stream.response.id if stream.response else None
    if response_id is None or left_at is None:
        sys.exit("the stream ended before it began")
    print(f"read {events} events, left at sequence number {left_at}: {text}")

    # Later (another process, or another replica, would do the same with the ID and the number):
    # the events after `left_at`, those already made first, then each as it happens, to the end.
    with stream_get(stub, response_id, starting_after=left_at) as rest:
        for position, event in enumerate(rest):
            if position == 0:
                print(f"resumed after {left_at}: first event {event.sequence_number}")
            if event.output_text_delta is not None:
                text += event.output_text_delta.delta
        response = rest.final_response()
    print(f"{response.status}: {text}")


if __name__ == "__main__":
    main()
