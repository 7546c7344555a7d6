"""A `file_search_call` item, as OpenAI returns it, sent back in `input` (as clients replaying a
conversation do): accepted, stored and listed exactly, with the SDK's own types."""

from __future__ import annotations

from openai import OpenAI

from tests.scripted_upstream import Script, ScriptedUpstream


def test_a_file_search_call_sent_back_as_input_is_kept(client: OpenAI, upstream: ScriptedUpstream) -> None:
    upstream.enqueue(Script(text="ok"))
    call = {
        "type": "file_search_call",
        "id": "fs_replayed",
        "queries": ["refund policy"],
        "status": "completed",
        "results": [
            {
                "file_id": "file-1",
                "filename": "policy.md",
                "score": 0.5,
                "text": "30 days",
                "attributes": {"v": 2},
            }
        ],
    }
    made = client.responses.create(
        model="m",
        input=[call, {"role": "user", "content": "And in short?"}],  # type: ignore[list-item]
    )
    assert made.status == "completed"
    items = client.responses.input_items.list(made.id, order="asc").data
    assert items[0].type == "file_search_call"
    replayed = items[0].model_dump()
    assert {k: replayed[k] for k in ("id", "queries", "status")} == {
        "id": "fs_replayed",
        "queries": ["refund policy"],
        "status": "completed",
    }
    assert replayed["results"][0]["attributes"] == {"v": 2}
