"""A function tool round trip: the model asks for get_weather, this program runs it and sends the result
back as a function_call_output on the next response, chained with previous_response_id (the sync stub).

REJOINDER_URL, REJOINDER_API_KEY, REJOINDER_MODEL: as in create.py
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import grpc

from rejoinder_client.helpers import output_text, status_of, sync_channel
from rejoinder_client.rejoinder.responses.v1 import (
    CreateRequest,
    FunctionCallOutput,
    FunctionOutput,
    FunctionTool,
    Input,
    InputItem,
    InputItemList,
    Response,
    ResponsesServiceStub,
    Tool,
)

TOOLS = [
    Tool(
        function=FunctionTool(
            name="get_weather",
            description="The current weather in a city.",
            # JSON Schema, as a JSON string.
            parameters=json.dumps(
                {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "additionalProperties": False,
                }
            ),
            strict=True,
        )
    )
]


def get_weather(city: str) -> dict[str, Any]:
    """The local function the model may call."""
    return {"city": city, "celsius": 18, "sky": "sunny"}


def create(stub: ResponsesServiceStub, request: CreateRequest) -> Response:
    try:
        response = stub.create(request).response
    except grpc.RpcError as error:
        status = status_of(error)
        sys.exit(f"create failed: {status.code.name}: {status.message}")
    if response is None:
        sys.exit("create failed: no response")
    return response


def main() -> None:
    target = os.environ.get("REJOINDER_URL", "127.0.0.1:50051")
    model = os.environ.get("REJOINDER_MODEL", "m")
    with sync_channel(target, api_key=os.environ.get("REJOINDER_API_KEY")) as channel:
        stub = ResponsesServiceStub(channel)
        first = create(
            stub, CreateRequest(model=model, input=Input(text="What is the weather in Paris?"), tools=TOOLS)
        )
        # Each output item sets one field of its `item` oneof: the calls are those with `function_call`.
        calls = [item.function_call for item in first.output if item.function_call is not None]
        if not calls:
            print(f"the model answered without the tool: {output_text(first)}")
            return
        outputs: list[InputItem] = []
        for call in calls:
            print(f"model called {call.name}({call.arguments}) as {call.call_id}")
            arguments = json.loads(call.arguments)
            result = get_weather(arguments["city"])
            output = FunctionOutput(text=json.dumps(result, separators=(",", ":")))
            answer = FunctionCallOutput(call_id=call.call_id, output=output)
            outputs.append(InputItem(function_call_output=answer))
        # The server keeps the first response's input and output: previous_response_id brings them back,
        # so only the outputs travel.
        second = create(
            stub,
            CreateRequest(
                model=model,
                previous_response_id=first.id,
                input=Input(items=InputItemList(items=outputs)),
                tools=TOOLS,
            ),
        )
        print(f"answer: {output_text(second)}")


if __name__ == "__main__":
    main()
