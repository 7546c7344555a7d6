"""`include: ["file_search_call.results"]` decides how an empty result list prints: `[]` when asked
for (the search found nothing), `null` when withheld, as OpenAI does; in a response, its events' SSE
frames and a retrieve alike."""

from __future__ import annotations

import orjson
from openai.types.responses import ResponseFileSearchToolCall

from rejoinder.core.include import shown_fields, withhold
from rejoinder.responses.v1 import events_pb2 as ev
from rejoinder.responses.v1.items_pb2 import FileSearchCall, FileSearchResult, OutputItem
from rejoinder.responses.v1.response_pb2 import Response
from rejoinder.wire.openai_json import OpenAIJson
from rejoinder.wire.sse import EventFrames

RESULTS = "file_search_call.results"


def _item(*results: FileSearchResult) -> OutputItem:
    call = FileSearchCall(id="fs_1", queries=["nothing"], status="completed", results=results)
    return OutputItem(file_search_call=call)


def test_shown_fields_name_the_proto_fields_include_asks_for() -> None:
    assert shown_fields([RESULTS]) == {"rejoinder.responses.v1.FileSearchCall.results"}
    assert shown_fields(["message.output_text.logprobs"]) == frozenset()
    assert shown_fields(()) == frozenset()


def test_empty_results_print_an_empty_list_when_included_and_null_when_withheld() -> None:
    codec = OpenAIJson()
    included = codec.showing(shown_fields([RESULTS]))
    shown = included.encode(_item())
    assert isinstance(shown, dict) and shown["results"] == []
    assert ResponseFileSearchToolCall.model_validate(shown).results == []
    withheld = codec.encode(_item())
    assert isinstance(withheld, dict) and withheld["results"] is None
    assert codec.showing(frozenset()) is codec and codec.showing(shown_fields([RESULTS])) is included


def test_results_found_print_the_same_either_way() -> None:
    found = _item(FileSearchResult(file_id="file-1", filename="a.md", score=0.5, text="t"))
    codec = OpenAIJson()
    assert codec.showing(shown_fields([RESULTS])).encode(found) == codec.encode(found)


def test_a_response_and_its_done_events_as_sse_frames() -> None:
    response = Response(id="resp_1", status="completed", output=[_item()])
    include = [RESULTS]
    withhold(response.output, include)
    codec = OpenAIJson().showing(shown_fields(include))
    encoded = codec.encode(response)
    assert isinstance(encoded, dict) and encoded["output"][0]["results"] == []
    frames = EventFrames(codec)
    done = ev.ResponseStreamEvent(
        sequence_number=5, output_item_done=ev.OutputItemDoneEvent(output_index=0, item=_item())
    )
    completed = ev.ResponseStreamEvent(
        sequence_number=6, response_completed=ev.ResponseCompletedEvent(response=response)
    )
    done_data = orjson.loads(frames.frame(done).split(b"data: ", 1)[1])
    completed_data = orjson.loads(frames.frame(completed).split(b"data: ", 1)[1])
    assert done_data["item"]["results"] == []
    assert completed_data["response"]["output"][0]["results"] == []
    plain = orjson.loads(EventFrames(OpenAIJson()).frame(done).split(b"data: ", 1)[1])
    assert plain["item"]["results"] is None
