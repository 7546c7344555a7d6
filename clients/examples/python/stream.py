"""Stream a response: print its text as it arrives, then what the final response says (the async stub,
on grpclib, with the stream helper).

REJOINDER_URL, REJOINDER_API_KEY, REJOINDER_MODEL: as in create.py
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import closing

from grpclib.exceptions import GRPCError

from rejoinder_client.helpers import async_channel, status_of, stream_create
from rejoinder_client.rejoinder.responses.v1 import CreateRequest, Input, ResponsesServiceAsyncStub


async def main() -> None:
    target = os.environ.get("REJOINDER_URL", "127.0.0.1:50051")
    # A grpclib channel belongs to the event loop it is made in: make it inside the coroutine.
    with closing(async_channel(target, api_key=os.environ.get("REJOINDER_API_KEY"))) as channel:
        stub = ResponsesServiceAsyncStub(channel)
        request = CreateRequest(
            model=os.environ.get("REJOINDER_MODEL", "m"), input=Input(text="Tell me a very short story.")
        )
        deltas = 0
        try:
            async with stream_create(stub, request) as stream:
                async for event in stream:
                    # Each event sets one field of its `event` oneof; the others are None.
                    if event.output_text_delta is not None:
                        deltas += 1
                        print(event.output_text_delta.delta, end="", flush=True)
                    elif event.error is not None:
                        print(f"\nerror: {event.error.message}", file=sys.stderr)
                response = await stream.final_response()
        except GRPCError as error:
            status = status_of(error)
            sys.exit(f"\nstream failed: {status.code.name}: {status.message}")
        tokens = response.usage.output_tokens if response.usage else 0
        print(f"\n[{deltas} deltas; response {response.id} {response.status}, {tokens} output tokens]")


if __name__ == "__main__":
    asyncio.run(main())
