"""Output that a response shows only when `include` asks for it, though it is always made and stored.

`file_search_call.results`: a search's results stay on its `file_search_call` item (the model reads
them on later turns, through `previous_response_id` or a conversation), and are shown in the events,
the response and a later retrieve only when that request's `include` has the value, as OpenAI does.

Shown, an empty list prints `[]`; withheld, it prints `null`. A repeated field cannot tell the two
apart, so `withhold` clears what is not shown and `shown_fields` names what is, for the JSON codec
(`OpenAIJson.showing`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from rejoinder.responses.v1.items_pb2 import OutputItem

SHOWN_WHEN_INCLUDED = {"file_search_call.results": ("file_search_call", "results")}
"""include value -> (the `OutputItem` case, its field shown only then)."""


def withhold(output: Iterable[OutputItem], include: Collection[str]) -> None:
    """Clear, in place, what `include` did not ask to see."""
    hidden = [where for value, where in SHOWN_WHEN_INCLUDED.items() if value not in include]
    if not hidden:
        return
    for item in output:
        case = item.WhichOneof("item")
        for item_case, field in hidden:
            if case == item_case:
                getattr(item, case).ClearField(field)


def _full_name(case: str, field: str) -> str:
    message = OutputItem.DESCRIPTOR.fields_by_name[case].message_type
    assert message is not None
    return str(message.fields_by_name[field].full_name)


def shown_fields(include: Collection[str]) -> frozenset[str]:
    """The full proto names of the fields `include` asks to see (`...FileSearchCall.results`): printed
    `[]` when empty, where a withheld one prints `null`."""
    if not include:
        return frozenset()
    return frozenset(_full_name(*where) for value, where in SHOWN_WHEN_INCLUDED.items() if value in include)
