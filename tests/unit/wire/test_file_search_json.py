"""The file_search call item and its events print as OpenAI's JSON (and parse into the SDK's types)."""

from __future__ import annotations

from google.protobuf.struct_pb2 import Struct
from openai.types.responses import (
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFileSearchToolCall,
)
from pydantic import BaseModel

from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.items_pb2 import FileSearchCall, FileSearchResult, InputItem, OutputItem
from rejoinder.wire.openai_json import OpenAIJson


def test_results_are_null_unless_included() -> None:
    item = OutputItem(file_search_call=FileSearchCall(id="fs_1", queries=["refunds"], status="completed"))
    out = OpenAIJson().encode(item)
    assert out == {
        "type": "file_search_call",
        "id": "fs_1",
        "queries": ["refunds"],
        "status": "completed",
        "results": None,
    }
    assert ResponseFileSearchToolCall.model_validate(out).results is None


def test_results_with_attributes() -> None:
    attributes = Struct()
    attributes.update({"author": "ann", "year": 2024, "draft": False})
    result = FileSearchResult(file_id="file-1", filename="a.md", score=0.75, text="t", attributes=attributes)
    call = FileSearchCall(id="fs_1", queries=["q"], status="completed", results=[result])
    out = OpenAIJson().encode(OutputItem(file_search_call=call))
    assert out["results"] == [  # type: ignore[index]
        {
            "file_id": "file-1",
            "filename": "a.md",
            "score": 0.75,
            "text": "t",
            "attributes": {"author": "ann", "year": 2024, "draft": False},
        }
    ]
    parsed = ResponseFileSearchToolCall.model_validate(out)
    assert parsed.results is not None and parsed.results[0].attributes == {
        "author": "ann",
        "year": 2024,
        "draft": False,
    }


def test_item_sent_back_as_input() -> None:
    data = {
        "type": "file_search_call",
        "id": "fs_1",
        "queries": ["q"],
        "status": "completed",
        "results": None,
    }
    item = OpenAIJson().decode(data, InputItem)
    assert item.WhichOneof("item") == "file_search_call"
    assert list(item.file_search_call.queries) == ["q"]
    assert not item.file_search_call.results


def test_events() -> None:
    codec = OpenAIJson()
    events = (
        ev.ResponseStreamEvent(
            sequence_number=4,
            file_search_call_in_progress=ev.FileSearchCallInProgressEvent(output_index=1, item_id="fs_1"),
        ),
        ev.ResponseStreamEvent(
            sequence_number=4,
            file_search_call_searching=ev.FileSearchCallSearchingEvent(output_index=1, item_id="fs_1"),
        ),
        ev.ResponseStreamEvent(
            sequence_number=4,
            file_search_call_completed=ev.FileSearchCallCompletedEvent(output_index=1, item_id="fs_1"),
        ),
    )
    types = ("in_progress", "searching", "completed")
    sdk_types: tuple[type[BaseModel], ...] = (
        ResponseFileSearchCallInProgressEvent,
        ResponseFileSearchCallSearchingEvent,
        ResponseFileSearchCallCompletedEvent,
    )
    for event, kind, sdk in zip(events, types, sdk_types, strict=True):
        out = codec.encode(event)
        assert isinstance(out, dict)
        assert out == {
            "type": f"response.file_search_call.{kind}",
            "sequence_number": 4,
            "output_index": 1,
            "item_id": "fs_1",
        }
        sdk.model_validate(out)
